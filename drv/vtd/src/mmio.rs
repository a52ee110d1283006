//! The trait bindings a task uses to drive a real VT-d unit (feature
//! `mmio`): [`MmioRegisters`] over the mapped register page, and
//! [`PoolMemory`] / [`PoolAllocator`] over one DMA pool window whose virtual
//! and physical bases are both known (app.toml grants it; the kernel maps it
//! and tells the task both addresses).
//!
//! Two things a reader must know: table addresses the library hands around
//! are *physical*, so every access goes through the window's pa→va
//! translation and anything outside the window is refused and counted,
//! never dereferenced; and `cmpxchg16b` is the real `lock cmpxchg16b`
//! instruction (it works in ring 3), used only when CPUID says the CPU has
//! it.

mod alloc;
mod cpu;
mod pool;
mod registers;

pub use alloc::PoolAllocator;
pub use cpu::has_cx16;
pub use pool::{PoolFault, PoolMemory, PoolWindow};
pub use registers::MmioRegisters;
