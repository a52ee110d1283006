//! Task identities with generations.
//!
//! A `TaskId` is 16 bits: the task's index in the image (low 10 bits) and a
//! generation (high 6 bits) that the kernel bumps on every restart. A message
//! sent to a stale generation is answered with a dead code naming the current
//! one, so a client learns its server restarted instead of talking to a
//! stranger or hanging.

/// How many bits of a [`TaskId`] hold the index.
const INDEX_BITS: u32 = 10;
const INDEX_MASK: u16 = (1 << INDEX_BITS) - 1;
/// How many generations exist before the count wraps.
pub const GENERATIONS: u8 = 1 << (16 - INDEX_BITS);

/// A restart count, modulo [`GENERATIONS`].
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Generation(u8);

impl Generation {
    /// Wraps a raw value into range.
    pub const fn new(raw: u8) -> Self {
        Generation(raw % GENERATIONS)
    }
    /// The next generation, wrapping.
    pub const fn next(self) -> Self {
        Generation::new(self.0.wrapping_add(1))
    }
    /// The raw number.
    pub const fn get(self) -> u8 {
        self.0
    }
}

/// A task's index plus the generation the holder believes it has.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(transparent)]
pub struct TaskId(pub u16);

impl TaskId {
    /// The kernel, as a sender (notifications) and as the supervisor's IPC peer.
    pub const KERNEL: TaskId = TaskId(0xFFFF);
    /// "Any sender" in `recv`.
    pub const ANY: TaskId = TaskId(0xFFFE);

    /// Builds an ID from index and generation.
    pub const fn new(index: u16, gen: Generation) -> Self {
        TaskId((index & INDEX_MASK) | ((gen.0 as u16) << INDEX_BITS))
    }
    /// The task's index in the image.
    pub const fn index(self) -> usize {
        (self.0 & INDEX_MASK) as usize
    }
    /// The generation this ID names.
    pub const fn generation(self) -> Generation {
        Generation((self.0 >> INDEX_BITS) as u8)
    }
    /// The same task at generation `gen`.
    pub const fn with_generation(self, gen: Generation) -> Self {
        TaskId::new(self.0 & INDEX_MASK, gen)
    }
}
