//! The server loop: receive, dispatch, reply, forever.
//!
//! Notifications (messages from `TaskId::KERNEL`) go to the server's
//! `notified`; everything else goes through its dispatch and is answered
//! exactly once, with a reply or a reply fault.

use abi::{RecvMessage, ReplyFaultReason, TaskId, MAX_MESSAGE};

use crate::dispatch::{Call, Dispatch, DispatchOutcome};
use crate::transport::ServerTransport;

/// What one turn of the loop did.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Served {
    /// Notification bits arrived and were handed to the server.
    Notification(u32),
    /// A message was answered with this response code.
    Replied {
        /// Who sent it.
        sender: TaskId,
        /// The response code.
        code: u32,
    },
    /// A message was refused.
    Faulted {
        /// Who sent it.
        sender: TaskId,
        /// Why.
        reason: ReplyFaultReason,
    },
    /// `recv` itself failed with this kernel code.
    RecvFailed(u32),
}

/// Serves forever. Each answer and the next receive are one
/// [`ServerTransport::reply_recv`] (one syscall in the kernel). The loop is
/// written out (not through [`handle`]) so that a message's path from
/// receive to reply stays in registers: it is every call's cost.
pub fn serve<T, D>(transport: &mut T, server: &mut D, buffer: &mut [u8; MAX_MESSAGE]) -> !
where
    T: ServerTransport,
    D: Dispatch + ?Sized,
{
    let mut reply = [0u8; MAX_MESSAGE];
    // The answer still to send with the next receive: to whom, the code
    // and the length of the reply's body.
    let mut answer: Option<(TaskId, u32, usize)> = None;
    loop {
        let mask = server.notification_mask();
        let received = match answer.take() {
            Some((sender, code, len)) => {
                let body = reply.get(..len.min(MAX_MESSAGE)).unwrap_or(&[]);
                transport.reply_recv(sender, code, body, buffer, mask)
            }
            None => transport.recv(buffer, mask),
        };
        // A failed recv (only possible for closed receives, which this loop
        // does not use) leaves nothing to answer; wait again.
        let Ok(msg) = received else {
            continue;
        };
        if msg.sender == TaskId::KERNEL {
            server.notified(msg.operation);
            continue;
        }
        let outcome = match buffer.get(..msg.message_len) {
            Some(message) => {
                let call = Call {
                    caller: msg.sender,
                    op: msg.operation,
                    message,
                    reply_capacity: msg.reply_capacity,
                    lease_count: msg.lease_count,
                };
                server.dispatch(&call, &*transport, &mut reply)
            }
            None => DispatchOutcome::Fault(ReplyFaultReason::BadMessageSize),
        };
        match outcome {
            DispatchOutcome::Reply { code, len } => answer = Some((msg.sender, code, len)),
            DispatchOutcome::Fault(reason) => transport.reply_fault(msg.sender, reason),
        }
    }
}

/// Receives and answers one message (or takes one notification).
pub fn serve_once<T, D>(
    transport: &mut T,
    server: &mut D,
    buffer: &mut [u8],
    reply: &mut [u8],
) -> Served
where
    T: ServerTransport,
    D: Dispatch + ?Sized,
{
    let mask = server.notification_mask();
    let msg = match transport.recv(buffer, mask) {
        Ok(msg) => msg,
        Err(code) => return Served::RecvFailed(code),
    };
    let (served, answer) = handle(transport, server, &msg, buffer, reply);
    if let Some((sender, code, len)) = answer {
        transport.reply(sender, code, reply.get(..len).unwrap_or(&[]));
    }
    served
}

/// A reply still to send: to whom, the response code and the length of the
/// body at the start of the reply buffer.
type Answer = Option<(TaskId, u32, usize)>;

/// Hands one received message to the server: a notification is delivered,
/// a refused message is reply-faulted here, a reply is left to the caller
/// (so that it can be sent together with the next receive).
fn handle<T, D>(
    transport: &mut T,
    server: &mut D,
    msg: &RecvMessage,
    buffer: &[u8],
    reply: &mut [u8],
) -> (Served, Answer)
where
    T: ServerTransport,
    D: Dispatch + ?Sized,
{
    if msg.sender == TaskId::KERNEL {
        server.notified(msg.operation);
        return (Served::Notification(msg.operation), None);
    }
    let sender = msg.sender;
    let outcome = match buffer.get(..msg.message_len) {
        Some(message) => {
            let call = Call {
                caller: sender,
                op: msg.operation,
                message,
                reply_capacity: msg.reply_capacity,
                lease_count: msg.lease_count,
            };
            server.dispatch(&call, &*transport, reply)
        }
        None => DispatchOutcome::Fault(ReplyFaultReason::BadMessageSize),
    };
    match outcome {
        DispatchOutcome::Reply { code, len } => {
            (Served::Replied { sender, code }, Some((sender, code, len)))
        }
        DispatchOutcome::Fault(reason) => {
            transport.reply_fault(sender, reason);
            (Served::Faulted { sender, reason }, None)
        }
    }
}
