//! Kernel test image: runs each QEMU scenario of the kernel, logging
//! `TEST <name> start` and then `TEST <name> ok` or `TEST <name> FAIL <why>`
//! (xtask scores these), and finally asks the supervisor to end the machine
//! with the overall verdict.
#![no_std]
#![no_main]

mod scenarios;

use abi::{Generation, TaskId};
use idl_runtime::KernelTransport;
use idl_types::TaskIndex;
use task_supervisor::supervisor;
use userlib::*;

task_config!();

/// What a scenario returns: `Err(why)` fails it.
pub use test_harness::Outcome;

/// The runner's view of its peers (generations change as they restart).
pub struct Runner {
    pub server: TaskId,
    pub victim: TaskId,
    pub supervisor: TaskId,
}

impl Runner {
    /// Calls `target` (refreshing its generation on a dead code, once).
    pub fn call(&mut self, which: Peer, op: u32, msg: &[u8], reply: &mut [u8]) -> (u32, usize) {
        let target = self.peer(which);
        let (rc, len) = sys_send(*target, op, msg, reply, &[]);
        if let Some(gen) = abi::rc::dead_generation(rc) {
            *target = target.with_generation(Generation::new(gen));
        }
        (rc, len)
    }

    /// [`Runner::call`], once more if the peer answered with a dead code
    /// (it restarted since the runner last called it).
    pub fn call_live(
        &mut self,
        which: Peer,
        op: u32,
        msg: &[u8],
        reply: &mut [u8],
    ) -> (u32, usize) {
        let (rc, len) = self.call(which, op, msg, reply);
        if abi::rc::dead_generation(rc).is_some() {
            return self.call(which, op, msg, reply);
        }
        (rc, len)
    }

    /// The ID slot of a peer.
    pub fn peer(&mut self, which: Peer) -> &mut TaskId {
        match which {
            Peer::Server => &mut self.server,
            Peer::Victim => &mut self.victim,
            Peer::Supervisor => &mut self.supervisor,
        }
    }

    /// The supervisor, through its generated client (the runner is an
    /// operator in app.toml).
    pub fn supervisor(&self) -> supervisor::Client<KernelTransport> {
        supervisor::Client::new(KernelTransport::new(&[]), self.supervisor)
    }

    /// The supervisor's record of a task: fault count and last fault.
    pub fn record(&mut self, task: u16) -> (u32, (u32, u64, u64)) {
        match self.supervisor().task_report(TaskIndex(task)) {
            Ok(r) => (
                r.faults,
                (r.last_fault_kind, r.last_fault_a, r.last_fault_b),
            ),
            Err(_) => (0, (0, 0, 0)),
        }
    }

    /// The kernel's count of messages delivered to a task (through the
    /// supervisor's `message_count`), or `None` if it would not say.
    pub fn messages_delivered(&mut self, task: u16) -> Option<u32> {
        self.supervisor().message_count(TaskIndex(task)).ok()
    }
}

/// The peers the runner calls.
#[derive(Copy, Clone)]
pub enum Peer {
    Server,
    Victim,
    Supervisor,
}

#[export_name = "main"]
fn main() -> ! {
    let mut r = Runner {
        server: config::slots::SERVER,
        victim: config::slots::VICTIM,
        supervisor: config::slots::SUPERVISOR,
    };
    let failures = test_harness::run(&mut r, scenarios::ALL);
    test_harness::finish(config::slots::SUPERVISOR, failures)
}

/// A sender task's current ID.
pub fn sender(index: u16) -> TaskId {
    let id = TaskId::new(index, Generation::new(0));
    sys_refresh_task_id(id).unwrap_or(id)
}
