//! The parts of a task's `config` module that are its own: its regions and
//! whom it notifies.

use abi::TaskId;

/// A region granted to the task.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Region {
    /// Its name in app.toml.
    pub name: &'static str,
    /// Where the task sees it.
    pub vaddr: u64,
    /// Where it is.
    pub paddr: u64,
    /// Bytes.
    pub size: u64,
}

/// Notification bits the task may post to another (app.toml `notify`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Notify {
    /// The task (generation 0; the kernel fixes it up on a dead code).
    pub task: TaskId,
    /// The bits.
    pub bits: u32,
}

/// A group of tasks an IDL operation may name as its callers
/// (`callers = ["@operators"]`), from app.toml's `operator` and
/// `fault-injection`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct CallerGroup {
    /// The group's name, without the `@`.
    pub name: &'static str,
    /// Its members' task indices.
    pub members: &'static [u16],
}
