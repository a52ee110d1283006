//! The server loop: receive, dispatch, reply, forever.
//!
//! Notifications (messages from `TaskId::KERNEL`) go to the server's
//! `notified`; everything else goes through its dispatch and is answered
//! exactly once, with a reply or a reply fault.

use abi::{ReplyFaultReason, TaskId, MAX_MESSAGE};

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

/// Serves forever.
pub fn serve<T, D>(transport: &mut T, server: &mut D, buffer: &mut [u8; MAX_MESSAGE]) -> !
where
    T: ServerTransport,
    D: Dispatch + ?Sized,
{
    let mut reply = [0u8; MAX_MESSAGE];
    loop {
        // A failed recv (only possible for closed receives, which this loop
        // does not use) leaves nothing to answer; wait again.
        serve_once(transport, server, buffer, &mut reply);
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
    if msg.sender == TaskId::KERNEL {
        server.notified(msg.operation);
        return Served::Notification(msg.operation);
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
            transport.reply(sender, code, reply.get(..len).unwrap_or(&[]));
            Served::Replied { sender, code }
        }
        DispatchOutcome::Fault(reason) => {
            transport.reply_fault(sender, reason);
            Served::Faulted { sender, reason }
        }
    }
}
