//! `Supervisor` as the supervisor task serves it: the broker's deaths, and
//! the operator's powers over other tasks (reports, message counts,
//! shutdown, fault injection), each bound to the kernel through
//! [`KernelPowers`] so this logic runs on the host too.
//!
//! Who may use which power is not decided here: the generated dispatch
//! checks each operation's `callers` (`@operators`, `@fault-injectors`:
//! app.toml's `operator` and `fault-injection` keys) before any of these
//! methods runs. What is decided here is what no caller may do: name a
//! task that does not exist, or fault the supervisor itself.

use abi::SchedState;
use abi::TaskId;
use idl_types::{DeathRecord, SupervisorError, TaskActivity, TaskIndex, TaskReport};

use crate::{supervisor, DeathLog, TaskRecord};

/// What the kernel says of a task (kipc `ReadTaskStatus`).
pub use abi::TaskStatus;

/// The kernel's scheduling state in the interface's terms.
pub fn activity_of(sched: SchedState) -> TaskActivity {
    match sched {
        SchedState::Runnable => TaskActivity::Runnable,
        SchedState::InSend(t) => TaskActivity::Sending(TaskIndex(t)),
        SchedState::InReply(t) => TaskActivity::AwaitingReply(TaskIndex(t)),
        SchedState::InRecv {
            from: None,
            notifications,
        } => TaskActivity::Receiving { notifications },
        SchedState::InRecv {
            from: Some(t),
            notifications,
        } => TaskActivity::ReceivingFrom {
            from: TaskIndex(t),
            notifications,
        },
        SchedState::Stopped => TaskActivity::Stopped,
    }
}

/// The kernel IPC the supervisor's powers need.
pub trait KernelPowers {
    /// The kernel's view of `task`; `None` if it does not answer.
    fn status(&mut self, task: u16) -> Option<TaskStatus>;
    /// Messages delivered to `task` since boot.
    fn message_count(&mut self, task: u16) -> Option<u32>;
    /// Faults `task` now; false if the kernel refused.
    fn fault(&mut self, task: u16) -> bool;
    /// Faults `task` as its `at_message`th message from now arrives (0
    /// disarms); false if the kernel refused.
    fn arm_fault(&mut self, task: u16, at_message: u16) -> bool;
    /// Stops the machine (returns only where that cannot be done).
    fn shutdown(&mut self, code: u8);
}

/// Everything the supervisor remembers, over its kernel.
pub struct Supervisor<K, const N: usize> {
    /// Per task, the restart policy's state.
    pub records: [TaskRecord; N],
    /// The deaths the broker pulls.
    pub deaths: DeathLog<N>,
    /// The kernel.
    pub kernel: K,
    /// The supervisor's own index.
    pub me: u16,
}

impl<K: KernelPowers, const N: usize> Supervisor<K, N> {
    /// A supervisor of `N` tasks that is task `me`.
    pub fn new(kernel: K, me: u16) -> Self {
        Supervisor {
            records: [TaskRecord::default(); N],
            deaths: DeathLog::new(),
            kernel,
            me,
        }
    }

    /// `task`'s index if it is one of the `N`.
    fn index(&self, task: TaskIndex) -> Result<usize, SupervisorError> {
        let i = usize::from(task.0);
        (i < N)
            .then_some(i)
            .ok_or(SupervisorError::NoSuchTask(task))
    }

    /// `task`'s index if it exists and may be faulted on purpose.
    fn injectable(&self, task: TaskIndex) -> Result<u16, SupervisorError> {
        self.index(task)?;
        if task.0 == self.me {
            return Err(SupervisorError::NotInjectable(task));
        }
        Ok(task.0)
    }
}

impl<K: KernelPowers, const N: usize> supervisor::Server for Supervisor<K, N> {
    fn death_after(
        &mut self,
        _caller: TaskId,
        args: supervisor::DeathAfterArgs,
    ) -> Option<DeathRecord> {
        self.deaths.after(args.after)
    }

    fn generation_of(&mut self, _caller: TaskId, args: supervisor::GenerationOfArgs) -> Option<u8> {
        self.deaths.generation_of(args.task)
    }

    fn task_report(
        &mut self,
        _caller: TaskId,
        args: supervisor::TaskReportArgs,
    ) -> Result<TaskReport, SupervisorError> {
        let i = self.index(args.task)?;
        let status = self
            .kernel
            .status(args.task.0)
            .ok_or(SupervisorError::KernelRefused)?;
        let r = &self.records[i];
        let (kind, a, b) = r.last_fault;
        Ok(TaskReport {
            generation: status.generation,
            faulted: status.fault.is_some(),
            faults: r.faults,
            restarts: r.restarts,
            last_fault_kind: kind,
            last_fault_a: a,
            last_fault_b: b,
            refusals: status.refusals,
            backoff_ms: u32::try_from(r.backoff_ms).unwrap_or(u32::MAX),
            activity: activity_of(status.sched),
            stack_used: status.stack_used,
            stack_size: status.stack_size,
        })
    }

    fn message_count(
        &mut self,
        _caller: TaskId,
        args: supervisor::MessageCountArgs,
    ) -> Result<u32, SupervisorError> {
        self.index(args.task)?;
        self.kernel
            .message_count(args.task.0)
            .ok_or(SupervisorError::KernelRefused)
    }

    fn shutdown(&mut self, _caller: TaskId, args: supervisor::ShutdownArgs) {
        self.kernel.shutdown(args.code)
    }

    fn fault_task(
        &mut self,
        _caller: TaskId,
        args: supervisor::FaultTaskArgs,
    ) -> Result<(), SupervisorError> {
        let task = self.injectable(args.task)?;
        self.kernel
            .fault(task)
            .then_some(())
            .ok_or(SupervisorError::KernelRefused)
    }

    fn arm_fault(
        &mut self,
        _caller: TaskId,
        args: supervisor::ArmFaultArgs,
    ) -> Result<(), SupervisorError> {
        let task = self.injectable(args.task)?;
        self.kernel
            .arm_fault(task, args.at_message)
            .then_some(())
            .ok_or(SupervisorError::KernelRefused)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use idl_runtime::{reply_code, Call, DispatchOutcome, ServerContext};
    use idl_types::wire::{decode_message, encode_message, Fixed};
    use std::vec::Vec;

    /// Task 0 supervisor, 1 console (operator, fault injector), 2 worker,
    /// 3 runner (operator only).
    const NAMES: [&str; 4] = ["supervisor", "console", "worker", "runner"];

    #[derive(Default)]
    struct FakeKernel {
        shutdowns: Vec<u8>,
        faulted: Vec<u16>,
        armed: Vec<(u16, u16)>,
    }

    impl KernelPowers for FakeKernel {
        fn status(&mut self, task: u16) -> Option<TaskStatus> {
            Some(TaskStatus {
                generation: task as u8 + 1,
                refusals: 7,
                sched: abi::SchedState::InSend(task + 1),
                stack_used: 1000 + u32::from(task),
                stack_size: 4096,
                ..TaskStatus::default()
            })
        }
        fn message_count(&mut self, task: u16) -> Option<u32> {
            Some(100 + u32::from(task))
        }
        fn fault(&mut self, task: u16) -> bool {
            self.faulted.push(task);
            true
        }
        fn arm_fault(&mut self, task: u16, at_message: u16) -> bool {
            self.armed.push((task, at_message));
            true
        }
        fn shutdown(&mut self, code: u8) {
            self.shutdowns.push(code);
        }
    }

    struct Context;

    impl ServerContext for Context {
        fn borrow_read(&self, _: TaskId, _: usize, _: usize, _: &mut [u8]) -> Result<usize, u32> {
            Err(abi::rc::BAD_LEASE)
        }
        fn borrow_write(&self, _: TaskId, _: usize, _: usize, _: &[u8]) -> Result<usize, u32> {
            Err(abi::rc::BAD_LEASE)
        }
        fn borrow_info(&self, _: TaskId, _: usize) -> Result<(u32, usize), u32> {
            Err(abi::rc::BAD_LEASE)
        }
        fn task_name(&self, t: TaskId) -> Option<&str> {
            NAMES.get(t.index()).copied()
        }
        fn in_group(&self, t: TaskId, group: &str) -> bool {
            match group {
                "operators" => matches!(t.index(), 1 | 3),
                "fault-injectors" => t.index() == 1,
                _ => false,
            }
        }
    }

    fn sup() -> Supervisor<FakeKernel, 4> {
        Supervisor::new(FakeKernel::default(), 0)
    }

    /// Sends `args` as `op` from task `from`: the outcome and reply body.
    fn ask<A: Fixed>(
        s: &mut Supervisor<FakeKernel, 4>,
        from: u16,
        op: supervisor::Op,
        args: &A,
    ) -> (DispatchOutcome, Vec<u8>) {
        let mut msg = [0u8; 64];
        let len = encode_message(args, &mut msg).unwrap();
        let msg = &msg[..len];
        let call = Call {
            caller: TaskId::new(from, abi::Generation::new(0)),
            op: op as u32,
            message: msg,
            reply_capacity: 64,
            lease_count: 0,
        };
        let mut reply = [0u8; 64];
        let out = supervisor::dispatch(s, &call, &Context, &mut reply);
        let len = match out {
            DispatchOutcome::Reply { len, .. } => len,
            _ => 0,
        };
        (out, reply[..len].to_vec())
    }

    fn denied() -> DispatchOutcome {
        DispatchOutcome::Reply {
            code: reply_code::ACCESS_DENIED,
            len: 0,
        }
    }

    fn code(out: DispatchOutcome) -> u32 {
        match out {
            DispatchOutcome::Reply { code, .. } => code,
            other => panic!("not a reply: {other:?}"),
        }
    }

    #[test]
    fn a_worker_shutdown_request_is_refused_and_the_machine_stays_up() {
        let mut s = sup();
        let (out, _) = ask(
            &mut s,
            2,
            supervisor::Op::Shutdown,
            &supervisor::ShutdownArgs { code: 0x11 },
        );
        assert_eq!(out, denied());
        assert!(s.kernel.shutdowns.is_empty());
        let (out, _) = ask(
            &mut s,
            3,
            supervisor::Op::Shutdown,
            &supervisor::ShutdownArgs { code: 0x10 },
        );
        assert_eq!(code(out), reply_code::OK);
        assert_eq!(s.kernel.shutdowns, [0x10]);
    }

    #[test]
    fn fault_injection_is_refused_to_workers_and_to_operators_without_the_power() {
        let mut s = sup();
        let args = supervisor::FaultTaskArgs { task: TaskIndex(2) };
        assert_eq!(ask(&mut s, 2, supervisor::Op::FaultTask, &args).0, denied());
        assert_eq!(ask(&mut s, 3, supervisor::Op::FaultTask, &args).0, denied());
        let arm = supervisor::ArmFaultArgs {
            task: TaskIndex(2),
            at_message: 1,
        };
        assert_eq!(ask(&mut s, 3, supervisor::Op::ArmFault, &arm).0, denied());
        assert!(s.kernel.faulted.is_empty() && s.kernel.armed.is_empty());
        assert_eq!(
            code(ask(&mut s, 1, supervisor::Op::FaultTask, &args).0),
            reply_code::OK
        );
        assert_eq!(
            code(ask(&mut s, 1, supervisor::Op::ArmFault, &arm).0),
            reply_code::OK
        );
        assert_eq!(s.kernel.faulted, [2]);
        assert_eq!(s.kernel.armed, [(2, 1)]);
    }

    #[test]
    fn nobody_faults_the_supervisor_or_a_task_that_does_not_exist() {
        let mut s = sup();
        for (task, want) in [
            (0, SupervisorError::NotInjectable(TaskIndex(0))),
            (9, SupervisorError::NoSuchTask(TaskIndex(9))),
        ] {
            let (out, body) = ask(
                &mut s,
                1,
                supervisor::Op::FaultTask,
                &supervisor::FaultTaskArgs {
                    task: TaskIndex(task),
                },
            );
            assert_eq!(code(out), reply_code::OP_ERROR);
            assert_eq!(
                decode_message::<SupervisorError>(&body).unwrap().unwrap(),
                want
            );
        }
        assert!(s.kernel.faulted.is_empty());
    }

    #[test]
    fn every_scheduling_state_has_its_activity() {
        use abi::SchedState::*;
        let cases = [
            (Runnable, TaskActivity::Runnable),
            (InSend(4), TaskActivity::Sending(TaskIndex(4))),
            (InReply(5), TaskActivity::AwaitingReply(TaskIndex(5))),
            (
                InRecv {
                    from: None,
                    notifications: 3,
                },
                TaskActivity::Receiving { notifications: 3 },
            ),
            (
                InRecv {
                    from: Some(1),
                    notifications: 0,
                },
                TaskActivity::ReceivingFrom {
                    from: TaskIndex(1),
                    notifications: 0,
                },
            ),
            (Stopped, TaskActivity::Stopped),
        ];
        for (sched, activity) in cases {
            assert_eq!(activity_of(sched), activity);
        }
    }

    #[test]
    fn reports_and_message_counts_are_for_operators() {
        let mut s = sup();
        s.records[2].faults = 3;
        let args = supervisor::TaskReportArgs { task: TaskIndex(2) };
        assert_eq!(
            ask(&mut s, 2, supervisor::Op::TaskReport, &args).0,
            denied()
        );
        let (out, body) = ask(&mut s, 3, supervisor::Op::TaskReport, &args);
        assert_eq!(code(out), reply_code::OK);
        let report: TaskReport = decode_message(&body).unwrap().unwrap();
        assert_eq!(
            (report.generation, report.faults, report.refusals),
            (3, 3, 7)
        );
        assert_eq!(report.activity, TaskActivity::Sending(TaskIndex(3)));
        assert_eq!((report.stack_used, report.stack_size), (1002, 4096));
        let count = supervisor::MessageCountArgs { task: TaskIndex(1) };
        assert_eq!(
            ask(&mut s, 2, supervisor::Op::MessageCount, &count).0,
            denied()
        );
        let (out, body) = ask(&mut s, 1, supervisor::Op::MessageCount, &count);
        assert_eq!(code(out), reply_code::OK);
        assert_eq!(decode_message::<u32>(&body).unwrap().unwrap(), 101);
    }

    #[test]
    fn only_the_broker_pulls_deaths() {
        let mut s = sup();
        s.deaths
            .record(TaskIndex(2), 1, idl_types::DeathCause::Panic, true);
        let args = supervisor::DeathAfterArgs { after: 0 };
        assert_eq!(
            ask(&mut s, 1, supervisor::Op::DeathAfter, &args).0,
            denied()
        );
    }
}
