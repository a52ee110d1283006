//! The server loop over a scripted server transport: each received message
//! is answered exactly once, with a reply or a reply fault, and
//! notifications reach the server.

mod common;

use std::cell::RefCell;
use std::collections::VecDeque;

use common::kitchen::Kitchen;
use common::TASKS;
use idl_runtime::abi::{Generation, RecvMessage, ReplyFaultReason, TaskId, MAX_MESSAGE};
use idl_runtime::{reply_code, serve_once, Served, ServerContext, ServerTransport};
use idl_tests::kitchen;

#[derive(Debug, PartialEq)]
enum Answer {
    Reply(TaskId, u32, Vec<u8>),
    Fault(TaskId, ReplyFaultReason),
}

/// Delivers queued messages and records the answers.
#[derive(Default)]
struct Script {
    inbox: VecDeque<(RecvMessage, Vec<u8>)>,
    answers: RefCell<Vec<Answer>>,
    masks: Vec<u32>,
}

impl Script {
    fn send(&mut self, sender: TaskId, op: u32, body: &[u8]) {
        self.inbox.push_back((
            RecvMessage {
                sender,
                operation: op,
                message_len: body.len(),
                reply_capacity: MAX_MESSAGE,
                lease_count: 0,
            },
            body.to_vec(),
        ));
    }
}

impl ServerContext for Script {
    fn borrow_read(&self, _: TaskId, _: usize, _: usize, _: &mut [u8]) -> Result<usize, u32> {
        Err(idl_runtime::abi::rc::BAD_LEASE)
    }
    fn borrow_write(&self, _: TaskId, _: usize, _: usize, _: &[u8]) -> Result<usize, u32> {
        Err(idl_runtime::abi::rc::BAD_LEASE)
    }
    fn borrow_info(&self, _: TaskId, _: usize) -> Result<(u32, usize), u32> {
        Err(idl_runtime::abi::rc::BAD_LEASE)
    }
    fn task_name(&self, task: TaskId) -> Option<&str> {
        TASKS.get(task.index()).copied()
    }
}

impl ServerTransport for Script {
    fn recv(&mut self, buf: &mut [u8], mask: u32) -> Result<RecvMessage, u32> {
        self.masks.push(mask);
        let (msg, body) = self.inbox.pop_front().ok_or(0xdead_u32)?;
        buf[..body.len()].copy_from_slice(&body);
        Ok(msg)
    }
    fn reply(&mut self, sender: TaskId, code: u32, msg: &[u8]) {
        self.answers
            .borrow_mut()
            .push(Answer::Reply(sender, code, msg.to_vec()));
    }
    fn reply_fault(&mut self, sender: TaskId, reason: ReplyFaultReason) {
        self.answers
            .borrow_mut()
            .push(Answer::Fault(sender, reason));
    }
}

fn task(name: &str) -> TaskId {
    let index = TASKS.iter().position(|t| *t == name).unwrap();
    TaskId::new(index as u16, Generation::new(0))
}

#[test]
fn each_message_gets_exactly_one_reply_or_fault_and_notifications_reach_the_server() {
    let mut script = Script::default();
    let mut server = kitchen::Endpoint(Kitchen::default());
    let alice = task("alice");
    // `fallible` travels in its fixed layout: a bool, then a u64, then
    // zeros to whole words.
    let mut body = vec![0u8; 16];
    let args = kitchen::FallibleArgs {
        fail: false,
        value: 41,
    };
    assert_eq!(idl_types::wire::encode_message(&args, &mut body), Some(16));
    assert_eq!(body, [0, 41, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    script.send(alice, kitchen::Op::Fallible as u32, &body);
    script.send(alice, 99, &[]);
    // 2 is not a bool.
    let mut bad = body.clone();
    bad[0] = 2;
    script.send(alice, kitchen::Op::Fallible as u32, &bad);
    script.send(task("console"), kitchen::Op::Nothing as u32, &[]);
    script.send(TaskId::KERNEL, 0b100, &[]);

    let mut buf = [0u8; MAX_MESSAGE];
    let mut reply = [0u8; MAX_MESSAGE];
    let mut turns = Vec::new();
    for _ in 0..6 {
        turns.push(serve_once(&mut script, &mut server, &mut buf, &mut reply));
    }
    assert_eq!(
        turns,
        [
            Served::Replied {
                sender: alice,
                code: reply_code::OK
            },
            Served::Faulted {
                sender: alice,
                reason: ReplyFaultReason::UndefinedOperation
            },
            Served::Faulted {
                sender: alice,
                reason: ReplyFaultReason::BadMessageContents
            },
            Served::Replied {
                sender: task("console"),
                code: reply_code::ACCESS_DENIED
            },
            Served::Notification(0b100),
            Served::RecvFailed(0xdead),
        ]
    );
    let answers = script.answers.into_inner();
    assert_eq!(
        answers.len(),
        4,
        "one answer per message, none for notifications"
    );
    assert_eq!(
        answers[0],
        Answer::Reply(alice, reply_code::OK, 42u64.to_le_bytes().to_vec())
    );
    assert_eq!(server.0.notified, 0b100);
    assert!(
        script.masks.iter().all(|m| *m == 0b101),
        "recv used the server's mask"
    );
}

/// Operation codes carry their interface's tag: the same `.idl` number of
/// another interface (here Pci's `config_dump`, number 3, against Kitchen,
/// which also has a number 3) is refused, never taken for Kitchen's own.
#[test]
fn an_operation_of_another_interface_is_refused_even_with_the_same_number() {
    let foreign = idl_tests::pci::Op::ConfigDump as u32;
    assert_eq!(foreign & 0xFFFF, 3);
    assert!(kitchen::Op::ALL.iter().any(|op| *op as u32 & 0xFFFF == 3));
    assert_ne!(idl_tests::pci::INTERFACE_ID, kitchen::INTERFACE_ID);

    let mut script = Script::default();
    let mut server = kitchen::Endpoint(Kitchen::default());
    let alice = task("alice");
    script.send(alice, foreign, &[]);
    let mut buf = [0u8; MAX_MESSAGE];
    let mut reply = [0u8; MAX_MESSAGE];
    assert_eq!(
        serve_once(&mut script, &mut server, &mut buf, &mut reply),
        Served::Faulted {
            sender: alice,
            reason: ReplyFaultReason::UndefinedOperation
        }
    );
}
