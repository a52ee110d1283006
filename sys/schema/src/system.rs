//! `config::system`: the devices, domains and memory of app.toml, the same
//! in every task's config (the broker, the acpi and pci tasks, the console
//! and the workers read it).

/// A PCI function by segment and requester ID (bus << 8 | device << 3 |
/// function).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct PciAddress {
    /// PCI segment group.
    pub segment: u16,
    /// Requester ID.
    pub rid: u16,
}

/// An app.toml `[devices.NAME]`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Device {
    /// Its name in app.toml.
    pub name: &'static str,
    /// Where it is.
    pub address: PciAddress,
    /// The index in [`Domain`]s of the domain it starts in, if any.
    pub domain: Option<u16>,
}

/// A BAR0 placement app.toml asks for (`bar0`); the pci task applies it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct DeviceBar {
    /// The device's requester ID (segment 0).
    pub rid: u16,
    /// BAR0's physical address.
    pub address: u64,
}

/// A device's registers in custody (`bar0` with `bar0-size`): where the
/// kernel maps them inside an owner's device window.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct DeviceRegisters {
    /// Offset in the device window (`config::DEVICE_WINDOW`).
    pub offset: u64,
    /// Bytes.
    pub size: u64,
}

/// A memory range a domain's page tables map.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct DmaMap {
    /// The address the device uses.
    pub iova: u64,
    /// The physical memory behind it.
    pub paddr: u64,
    /// Bytes.
    pub size: u64,
}

/// An app.toml `[domains.NAME]`; its DMA domain ID is
/// `FIRST_DOMAIN_ID + index`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Domain {
    /// Its name in app.toml.
    pub name: &'static str,
    /// The task index of its owner.
    pub owner: u16,
    /// What its page tables map.
    pub maps: &'static [DmaMap],
}

/// An extra RMRR app.toml declares (`[[rmrr]]`), beside the firmware's.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Rmrr {
    /// First byte.
    pub base: u64,
    /// Last byte (inclusive, as the DMAR says it).
    pub end: u64,
    /// The devices that must keep it mapped.
    pub devices: &'static [PciAddress],
}

/// Memory custody itself uses, which no DMA map or RMRR may overlap.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct CustodyRange {
    /// First byte.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
    /// What it is, in words ("the kernel", "dma_a's region buf", ...).
    pub what: &'static str,
}
