//! What the broker is configured with: the devices it keeps books for, the
//! domains and their owners, the initial assignments and the operators.
//! The firmware binary builds it from app.toml; tests and the simulator
//! build it directly.

use idl_types::{Bdf, DomainId, TaskIndex};

/// One device the broker keeps.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct DeviceConfig {
    /// The device.
    pub device: Bdf,
    /// The domain it starts in (first boot only), if any.
    pub initial: Option<DomainId>,
    /// The kernel's index of its registers (app.toml `[devices]` order),
    /// if they are in custody (`bar0-size`): they follow its owner.
    pub registers: Option<u16>,
}

/// One domain.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct DomainConfig {
    /// The domain.
    pub domain: DomainId,
    /// The task that owns it.
    pub owner: TaskIndex,
    /// The vector its devices' interrupts reach (app.toml's `interrupt`),
    /// if any; without one they are blocked while the domain holds them.
    pub vector: Option<u8>,
}

/// The broker's configuration.
#[derive(Copy, Clone, Debug)]
pub struct Config<'a> {
    /// Devices.
    pub devices: &'a [DeviceConfig],
    /// Domains.
    pub domains: &'a [DomainConfig],
    /// Tasks that may move any device anywhere (console, supervisor).
    pub operators: &'a [TaskIndex],
    /// DMA faults a device may make within [`crate::FAULT_INTERVAL_MS`]
    /// before it is quarantined (app.toml `[broker] fault-budget`).
    pub fault_budget: u32,
}

/// The fault budget when none is configured (app.toml's default too).
pub const DEFAULT_FAULT_BUDGET: u32 = 8;
