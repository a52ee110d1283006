//! The in-process transport: every task's server in one address space, a
//! send being a direct call of the target's dispatch.
//!
//! It keeps the kernel's rules so that what passes here passes in the image:
//! task IDs carry generations and a stale one gets a dead code; messages,
//! replies and leases are copied with the same limits; a reply fault is
//! reported instead of faulting the client. It can also kill a server at a
//! chosen moment ([`InjectedFault`]) to exercise the death paths. `no_std`,
//! no heap: servers are borrowed for the registry's lifetime.

use core::cell::{Cell, RefCell};
use core::fmt;

use abi::{rc, Generation, TaskId, MAX_LEASES, MAX_MESSAGE};

use crate::dispatch::{Call, Dispatch, DispatchOutcome};
use crate::lease::Lease;
use crate::transport::{SendError, ServerContext, Transport};

/// When an injected death strikes the task's next incoming message.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum InjectedFault {
    /// The server dies before it sees the message: nothing was done.
    BeforeDelivery,
    /// The server handles the message and dies before replying: the work
    /// was done but the client never hears so.
    AfterHandling,
}

/// A registry call named something the registry cannot do.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum RegistryError {
    /// No task of that name.
    UnknownTask,
    /// The task is in the middle of handling a message.
    Busy,
}

impl fmt::Display for RegistryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegistryError::UnknownTask => write!(f, "no task of that name"),
            RegistryError::Busy => write!(f, "the task is handling a message"),
        }
    }
}

struct Task<'s> {
    name: &'static str,
    generation: Cell<Generation>,
    server: RefCell<Option<&'s mut dyn Dispatch>>,
    pending_fault: Cell<Option<InjectedFault>>,
}

impl Task<'_> {
    /// The task dies and the supervisor restarts it at once: the generation
    /// moves on. Returns the dead code a peer sees.
    fn die(&self) -> u32 {
        let next = self.generation.get().next();
        self.generation.set(next);
        rc::dead(next.get())
    }
}

/// A system of `N` tasks in one process. Task indices are the positions of
/// the names given to [`InProcess::new`].
pub struct InProcess<'s, const N: usize> {
    tasks: [Task<'s>; N],
    /// Caller groups (`"@group"` in `callers`): each group's name and its
    /// members' task names, as app.toml's `operator` and `fault-injection`
    /// keys make them in an image.
    groups: &'s [(&'static str, &'static [&'static str])],
}

impl<'s, const N: usize> InProcess<'s, N> {
    /// A system with these tasks, none serving yet, all at generation 0.
    pub fn new(names: [&'static str; N]) -> Self {
        InProcess {
            tasks: core::array::from_fn(|i| Task {
                name: names.get(i).copied().unwrap_or(""),
                generation: Cell::new(Generation::default()),
                server: RefCell::new(None),
                pending_fault: Cell::new(None),
            }),
            groups: &[],
        }
    }

    /// The same system with caller groups: each `(group, members)` admits
    /// its members (by task name) to operations whose `callers` name
    /// `"@group"`. Without it no task is in any group.
    pub fn with_groups(self, groups: &'s [(&'static str, &'static [&'static str])]) -> Self {
        InProcess { groups, ..self }
    }

    fn in_group(&self, task: TaskId, group: &str) -> bool {
        let Some(name) = self.name_of(task) else {
            return false;
        };
        self.groups
            .iter()
            .any(|(g, members)| *g == group && members.contains(&name))
    }

    fn find(&self, name: &str) -> Result<(usize, &Task<'s>), RegistryError> {
        self.tasks
            .iter()
            .enumerate()
            .find(|(_, t)| t.name == name)
            .ok_or(RegistryError::UnknownTask)
    }

    /// The task's ID at its current generation.
    pub fn task_id(&self, name: &str) -> Result<TaskId, RegistryError> {
        let (index, task) = self.find(name)?;
        Ok(TaskId::new(index as u16, task.generation.get()))
    }

    /// Makes `server` the task's server.
    pub fn register(
        &self,
        name: &str,
        server: &'s mut dyn Dispatch,
    ) -> Result<TaskId, RegistryError> {
        let (_, task) = self.find(name)?;
        let mut slot = task
            .server
            .try_borrow_mut()
            .map_err(|_| RegistryError::Busy)?;
        *slot = Some(server);
        drop(slot);
        self.task_id(name)
    }

    /// Restarts the task: its generation moves on, so clients holding the
    /// old ID get a dead code on their next call. `replacement`, if given,
    /// is the restarted server (a fresh state); otherwise the old one stays.
    pub fn restart(
        &self,
        name: &str,
        replacement: Option<&'s mut dyn Dispatch>,
    ) -> Result<TaskId, RegistryError> {
        let (_, task) = self.find(name)?;
        let mut slot = task
            .server
            .try_borrow_mut()
            .map_err(|_| RegistryError::Busy)?;
        if let Some(server) = replacement {
            *slot = Some(server);
        }
        drop(slot);
        task.die();
        self.task_id(name)
    }

    /// Arms a death for the task's next incoming message.
    pub fn inject(&self, name: &str, fault: InjectedFault) -> Result<(), RegistryError> {
        let (_, task) = self.find(name)?;
        task.pending_fault.set(Some(fault));
        Ok(())
    }

    /// A transport that sends as task `name`.
    pub fn client(&self, name: &str) -> Result<InProcessClient<'_, 's, N>, RegistryError> {
        Ok(InProcessClient {
            system: self,
            me: self.task_id(name)?,
        })
    }

    fn name_of(&self, task: TaskId) -> Option<&str> {
        self.tasks.get(task.index()).map(|t| t.name)
    }
}

/// The client side of [`InProcess`], sending as one task.
#[derive(Copy, Clone)]
pub struct InProcessClient<'a, 's, const N: usize> {
    system: &'a InProcess<'s, N>,
    me: TaskId,
}

impl<const N: usize> InProcessClient<'_, '_, N> {
    /// The task this transport sends as.
    pub fn task_id(&self) -> TaskId {
        self.me
    }
}

impl<const N: usize> Transport for InProcessClient<'_, '_, N> {
    fn send(
        &mut self,
        target: TaskId,
        op: u32,
        msg: &[u8],
        reply: &mut [u8],
        leases: &mut [Lease<'_>],
    ) -> Result<(u32, usize), SendError> {
        let index = target.index();
        let task = self
            .system
            .tasks
            .get(index)
            .ok_or(SendError::NoSuchTask(index as u16))?;
        if msg.len() > MAX_MESSAGE {
            return Err(SendError::MessageTooLong(msg.len()));
        }
        if leases.len() > MAX_LEASES {
            return Err(SendError::TooManyLeases(leases.len()));
        }
        let current = task.generation.get();
        if target.generation() != current {
            return Ok((rc::dead(current.get()), 0));
        }
        if task.pending_fault.get() == Some(InjectedFault::BeforeDelivery) {
            task.pending_fault.set(None);
            return Ok((task.die(), 0));
        }

        let mut slot = task
            .server
            .try_borrow_mut()
            .map_err(|_| SendError::Reentrant(index as u16))?;
        let server = slot
            .as_deref_mut()
            .ok_or(SendError::NotServing(index as u16))?;
        let call = Call {
            caller: self.me,
            op,
            message: msg,
            reply_capacity: reply.len(),
            lease_count: leases.len(),
        };
        let ctx = CallContext {
            names: self.system,
            sender: self.me,
            leases: RefCell::new(leases),
        };
        let mut body = [0u8; MAX_MESSAGE];
        let outcome = server.dispatch(&call, &ctx, &mut body);
        drop(slot);

        if task.pending_fault.get() == Some(InjectedFault::AfterHandling) {
            task.pending_fault.set(None);
            return Ok((task.die(), 0));
        }
        match outcome {
            DispatchOutcome::Reply { code, len } => {
                let capacity = reply.len();
                let too_long = SendError::ReplyTooLong { len, capacity };
                let src = body.get(..len).ok_or(too_long)?;
                reply.get_mut(..len).ok_or(too_long)?.copy_from_slice(src);
                Ok((code, len))
            }
            DispatchOutcome::Fault(reason) => Err(SendError::Faulted(reason)),
        }
    }
}

/// The server's view of one in-process call: the client's leases.
struct CallContext<'c, 'l, 's, const N: usize> {
    names: &'c InProcess<'s, N>,
    sender: TaskId,
    leases: RefCell<&'c mut [Lease<'l>]>,
}

impl<const N: usize> CallContext<'_, '_, '_, N> {
    fn check_sender(&self, sender: TaskId) -> Result<(), u32> {
        if sender == self.sender {
            Ok(())
        } else {
            Err(rc::NOT_WAITING)
        }
    }
}

fn window(offset: usize, len: usize) -> Result<core::ops::Range<usize>, u32> {
    let end = offset.checked_add(len).ok_or(rc::LEASE_OUT_OF_RANGE)?;
    Ok(offset..end)
}

impl<const N: usize> ServerContext for CallContext<'_, '_, '_, N> {
    fn borrow_read(
        &self,
        sender: TaskId,
        lease: usize,
        offset: usize,
        dst: &mut [u8],
    ) -> Result<usize, u32> {
        self.check_sender(sender)?;
        let leases = self.leases.try_borrow().map_err(|_| rc::NOT_WAITING)?;
        match leases.get(lease) {
            Some(Lease::Read(buf)) => {
                let src = buf
                    .get(window(offset, dst.len())?)
                    .ok_or(rc::LEASE_OUT_OF_RANGE)?;
                dst.copy_from_slice(src);
                Ok(dst.len())
            }
            Some(Lease::Write(_)) => Err(rc::LEASE_DENIED),
            None => Err(rc::BAD_LEASE),
        }
    }

    fn borrow_write(
        &self,
        sender: TaskId,
        lease: usize,
        offset: usize,
        src: &[u8],
    ) -> Result<usize, u32> {
        self.check_sender(sender)?;
        let mut leases = self.leases.try_borrow_mut().map_err(|_| rc::NOT_WAITING)?;
        match leases.get_mut(lease) {
            Some(Lease::Write(buf)) => {
                let dst = buf
                    .get_mut(window(offset, src.len())?)
                    .ok_or(rc::LEASE_OUT_OF_RANGE)?;
                dst.copy_from_slice(src);
                Ok(src.len())
            }
            Some(Lease::Read(_)) => Err(rc::LEASE_DENIED),
            None => Err(rc::BAD_LEASE),
        }
    }

    fn borrow_info(&self, sender: TaskId, lease: usize) -> Result<(u32, usize), u32> {
        self.check_sender(sender)?;
        let leases = self.leases.try_borrow().map_err(|_| rc::NOT_WAITING)?;
        let lease = leases.get(lease).ok_or(rc::BAD_LEASE)?;
        Ok((lease.attributes(), lease.len()))
    }

    fn task_name(&self, task: TaskId) -> Option<&str> {
        self.names.name_of(task)
    }

    fn in_group(&self, task: TaskId, group: &str) -> bool {
        self.names.in_group(task, group)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers 1 if the caller is in group "ops", else 0.
    struct GroupProbe;

    impl Dispatch for GroupProbe {
        fn dispatch(
            &mut self,
            call: &Call<'_>,
            ctx: &dyn ServerContext,
            _reply: &mut [u8],
        ) -> DispatchOutcome {
            DispatchOutcome::Reply {
                code: u32::from(ctx.in_group(call.caller, "ops")),
                len: 0,
            }
        }
    }

    fn member(system: &InProcess<'_, 3>, caller: &str, target: TaskId) -> u32 {
        let mut t = system.client(caller).unwrap();
        t.send(target, 1, &[], &mut [], &mut []).unwrap().0
    }

    #[test]
    fn a_caller_group_admits_the_tasks_named_for_it_only() {
        let mut probe = GroupProbe;
        let system = InProcess::new(["server", "console", "other"])
            .with_groups(&[("ops", &["console"]), ("injectors", &["other"])]);
        let id = system.register("server", &mut probe).unwrap();
        assert_eq!(member(&system, "console", id), 1);
        assert_eq!(member(&system, "other", id), 0);
        let mut probe = GroupProbe;
        let plain = InProcess::new(["server", "console", "other"]);
        let id = plain.register("server", &mut probe).unwrap();
        assert_eq!(member(&plain, "console", id), 0, "no groups unless given");
    }
}
