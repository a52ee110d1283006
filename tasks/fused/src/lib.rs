//! The fused build's plumbing: the acpi, iommu, domid and broker logic of
//! custody linked into one task (app `apps/fused.toml`), the same libraries
//! as the separate tasks, with no kernel IPC between them. It exists to
//! price isolation: `cargo xtask bench` times a reassignment here and in
//! the default system.
//!
//! Two pieces make that possible without touching the libraries:
//! - [`Routed`]: the broker's one transport, sending to in-process servers
//!   (task indices from `first_local` on) by a direct call, and to real
//!   tasks (pci, the supervisor) over the kernel.
//! - [`Shared`]: a server reachable both from the in-process registry (the
//!   broker's calls) and from the task's kernel-facing dispatcher (the
//!   console's `Iommu` calls), one at a time, through a `RefCell`.
#![no_std]

mod routed;
mod shared;

pub use routed::Routed;
pub use shared::Shared;
