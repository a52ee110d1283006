//! The machine the console describes, as app.toml declares it: devices,
//! domains, tasks. `main.rs` gives a [`System`] the generated
//! `config::system` tables themselves (their shapes are `config-schema`'s),
//! the host tests a made-up machine. Every lookup by name or number that a
//! command needs lives here, once.

pub use config_schema::system::{Device, DeviceRegisters, DmaMap, Domain};
use idl_types::{Bdf, Custody, DomainId};

use crate::command::DeviceRef;

/// The machine: app.toml's devices, domains and tasks.
#[derive(Debug, Clone, Copy)]
pub struct System<'a> {
    /// Devices, in app.toml order (the index is the kernel's and the
    /// broker's name for a device's registers and interrupt entry).
    pub devices: &'a [Device],
    /// Per device (same order): its registers in custody, if any.
    pub device_registers: &'a [Option<DeviceRegisters>],
    /// Domains, in app.toml order (domain ID `first_domain_id + index`).
    pub domains: &'a [Domain],
    /// The first domain's ID.
    pub first_domain_id: u16,
    /// Every task's name, by index.
    pub task_names: &'a [&'a str],
    /// The supervisor's task index.
    pub supervisor: u16,
    /// DMA faults the broker lets a device make per interval.
    pub fault_budget: u32,
}

/// The worker tasks the console may ask at most (domain owners, each once).
pub const MAX_WORKERS: usize = 8;

/// A device without an app.toml name.
pub const NO_NAME: &str = "-";
/// A task or domain number that names nothing.
pub const UNKNOWN: &str = "?";

impl<'a> System<'a> {
    /// A device reference resolved to an address, or a sentence why not.
    pub fn resolve(&self, d: DeviceRef) -> Result<Bdf, &'static str> {
        match d {
            DeviceRef::Address {
                segment: 0,
                bus,
                device,
                function,
            } => Ok(Bdf {
                bus,
                device,
                function,
            }),
            DeviceRef::Address { .. } => Err("only segment 0 exists on this machine"),
            DeviceRef::Name(n) => self
                .devices
                .iter()
                .find(|d| d.name == n)
                .map(|d| Bdf::from_requester_id(d.address.rid))
                .ok_or("no device by that name (see 'devices')"),
        }
    }

    /// `dev`'s index in app.toml's devices: the kernel's name for its
    /// registers, the broker's for its interrupt-remapping entry.
    pub fn device_index(&self, dev: Bdf) -> Option<u16> {
        let rid = dev.requester_id()?;
        let i = self.devices.iter().position(|d| d.address.rid == rid)?;
        u16::try_from(i).ok()
    }

    /// `dev`'s app.toml name, or [`NO_NAME`].
    pub fn device_name(&self, dev: Bdf) -> &'a str {
        self.device_index(dev)
            .and_then(|i| self.devices.get(usize::from(i)))
            .map_or(NO_NAME, |d| d.name)
    }

    /// Whether app.toml puts device `index`'s registers in custody.
    pub fn in_custody(&self, index: u16) -> bool {
        self.device_registers
            .get(usize::from(index))
            .is_some_and(|r| r.is_some())
    }

    /// The domain called `name`.
    pub fn domain_by_name(&self, name: &str) -> Option<DomainId> {
        let i = self.domains.iter().position(|d| d.name == name)?;
        let i = u16::try_from(i).ok()?;
        Some(DomainId(self.first_domain_id.checked_add(i)?))
    }

    /// Domain `d` as app.toml declares it.
    pub fn domain(&self, d: DomainId) -> Option<&'a Domain> {
        let i = d.0.checked_sub(self.first_domain_id)?;
        self.domains.get(usize::from(i))
    }

    /// Domain `d`'s name, or [`UNKNOWN`].
    pub fn domain_name(&self, d: DomainId) -> &'a str {
        self.domain(d).map_or(UNKNOWN, |d| d.name)
    }

    /// Domain `d`'s DMA buffer: its first map.
    pub fn buffer(&self, d: &Domain) -> Option<DmaMap> {
        d.maps.first().copied()
    }

    /// The task owning domain `d` (its index).
    pub fn owner_task(&self, d: DomainId) -> Option<u16> {
        self.domain(d).map(|d| d.owner)
    }

    /// Where a device is, in words: its domain's name or why none.
    pub fn custody(&self, c: Custody) -> &'a str {
        match c {
            Custody::Domain(d) => self.domain_name(d),
            Custody::Quarantined => "(quarantine)",
            Custody::Unassigned => "(unassigned)",
        }
    }

    /// Task `i`'s name, or [`UNKNOWN`].
    pub fn task_name(&self, i: u16) -> &'a str {
        self.task_names
            .get(usize::from(i))
            .copied()
            .unwrap_or(UNKNOWN)
    }

    /// The task called `name`.
    pub fn task_index(&self, name: &str) -> Option<u16> {
        let i = self.task_names.iter().position(|n| *n == name)?;
        u16::try_from(i).ok()
    }

    /// The worker tasks: the owners of app.toml's domains, each once.
    pub fn workers(&self) -> heapless::Vec<u16, MAX_WORKERS> {
        let mut out = heapless::Vec::new();
        for d in self.domains {
            if !out.contains(&d.owner) {
                let _ = out.push(d.owner);
            }
        }
        out
    }
}
