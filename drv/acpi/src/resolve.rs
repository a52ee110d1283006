//! Device scopes → requester IDs, by walking the scope's path through the
//! bridges of the running machine.
//!
//! A scope's path starts on `start_bus`; every hop but the last is a bridge
//! whose *secondary bus number* (programmed by firmware or the pci task) is
//! where the next hop lives. So resolution needs config space: a
//! [`ConfigSpace`] the caller provides (the pci task's service in the image, a
//! table in tests). An endpoint gives one requester ID; a sub-hierarchy scope
//! gives the bridge and every bus from its secondary to its subordinate bus.
//! IOAPIC, HPET and ACPI-namespace scopes are not PCI functions: their last
//! hop is not looked up, only the bridges before it are.

use core::fmt;

use crate::dmar::{DeviceScope, Dmar, Drhd, Rmrr, ScopeType};

/// PCI configuration space reads. `None` means the read itself failed (no
/// such segment, outside the ECAM window); an absent function reads as all
/// ones, as on hardware.
pub trait ConfigSpace {
    fn read32(&self, segment: u16, bus: u8, device: u8, function: u8, offset: u16) -> Option<u32>;
}

/// Config space layout used here (PCI Local Bus / PCIe base specification).
mod config {
    /// Vendor ID in bits 15:0; 0xffff when no function answers.
    pub const VENDOR_DEVICE: u16 = 0x00;
    pub const VENDOR_ABSENT: u32 = 0xffff;
    /// Header type in bits 23:16 of this dword; bit 7 of it is
    /// "multi-function", bits 6:0 the layout.
    pub const HEADER_TYPE_DWORD: u16 = 0x0c;
    pub const HEADER_TYPE_SHIFT: u32 = 16;
    pub const HEADER_LAYOUT_MASK: u8 = 0x7f;
    /// Layout of a PCI-to-PCI bridge.
    pub const HEADER_LAYOUT_BRIDGE: u8 = 1;
    /// Bridge bus numbers: primary 7:0, secondary 15:8, subordinate 23:16.
    pub const BUS_NUMBERS: u16 = 0x18;
    pub const MAX_DEVICE: u8 = 31;
    pub const MAX_FUNCTION: u8 = 7;
}

/// A PCI requester ID (source ID): bus in bits 15:8, device 7:3, function
/// 2:0. It is what a VT-d context entry is looked up by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequesterId(pub u16);

impl RequesterId {
    /// `device` and `function` are masked to their 5 and 3 bits.
    pub fn new(bus: u8, device: u8, function: u8) -> Self {
        RequesterId(
            (u16::from(bus) << 8)
                | (u16::from(device & config::MAX_DEVICE) << 3)
                | u16::from(function & config::MAX_FUNCTION),
        )
    }
    pub fn bus(self) -> u8 {
        (self.0 >> 8) as u8
    }
    pub fn devfn(self) -> u8 {
        self.0 as u8
    }
    pub fn device(self) -> u8 {
        self.devfn() >> 3
    }
    pub fn function(self) -> u8 {
        self.devfn() & config::MAX_FUNCTION
    }
}

impl fmt::Display for RequesterId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:02x}:{:02x}.{:x}",
            self.bus(),
            self.device(),
            self.function()
        )
    }
}

/// What a scope covers on this machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolved {
    /// One requester ID: a PCI endpoint, or the source ID an IOAPIC, HPET
    /// or ACPI namespace device uses.
    Device(RequesterId),
    /// A bridge and every function on buses `secondary..=subordinate`.
    Hierarchy {
        bridge: RequesterId,
        secondary: u8,
        subordinate: u8,
    },
}

impl Resolved {
    pub fn contains(&self, rid: RequesterId) -> bool {
        match *self {
            Resolved::Device(own) => own == rid,
            Resolved::Hierarchy {
                bridge,
                secondary,
                subordinate,
            } => rid == bridge || (secondary..=subordinate).contains(&rid.bus()),
        }
    }

    /// Every requester ID covered, the device (or bridge) first.
    pub fn requester_ids(&self) -> impl Iterator<Item = RequesterId> {
        let (first, below) = match *self {
            Resolved::Device(rid) => (rid, None),
            Resolved::Hierarchy {
                bridge,
                secondary,
                subordinate,
            } => (bridge, Some((secondary, subordinate))),
        };
        let below = below.into_iter().flat_map(|(secondary, subordinate)| {
            let start = u32::from(secondary) << 8;
            let end = (u32::from(subordinate) << 8) | 0xff;
            (start..=end).map(|rid| RequesterId(rid as u16))
        });
        core::iter::once(first).chain(below)
    }
}

/// Why a scope could not be resolved. `scope` is the scope's table offset,
/// `hop` the index of the path entry being looked at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResolveError {
    /// A path entry names a device above 31 or a function above 7.
    HopOutOfRange {
        scope: usize,
        hop: usize,
        device: u8,
        function: u8,
    },
    /// The config space read itself failed.
    ConfigUnreadable {
        scope: usize,
        bus: u8,
        device: u8,
        function: u8,
        offset: u16,
    },
    /// No function answers at this hop.
    DeviceMissing {
        scope: usize,
        hop: usize,
        rid: RequesterId,
    },
    /// A hop that must be a bridge (one before the last, or the last of a
    /// sub-hierarchy scope) has another header layout.
    NotABridge {
        scope: usize,
        hop: usize,
        rid: RequesterId,
        header_layout: u8,
    },
    /// A bridge with secondary bus 0 or a subordinate below its secondary:
    /// nobody has numbered the buses behind it yet.
    BusesUnassigned {
        scope: usize,
        rid: RequesterId,
        secondary: u8,
        subordinate: u8,
    },
    /// A scope type that names no requester ID.
    UnknownScopeType { scope: usize, code: u8 },
}

impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ResolveError::HopOutOfRange {
                scope,
                hop,
                device,
                function,
            } => write!(
                f,
                "scope at {scope:#x}: path entry {hop} is ({device:#x},{function:#x}); device must be <= 31 and function <= 7"
            ),
            ResolveError::ConfigUnreadable {
                scope,
                bus,
                device,
                function,
                offset,
            } => write!(
                f,
                "scope at {scope:#x}: config space of {bus:02x}:{device:02x}.{function:x} offset {offset:#x} cannot be read"
            ),
            ResolveError::DeviceMissing { scope, hop, rid } => {
                write!(f, "scope at {scope:#x}: path entry {hop}: no device at {rid}")
            }
            ResolveError::NotABridge {
                scope,
                hop,
                rid,
                header_layout,
            } => write!(
                f,
                "scope at {scope:#x}: path entry {hop}: {rid} has header layout {header_layout}, not a PCI-to-PCI bridge"
            ),
            ResolveError::BusesUnassigned {
                scope,
                rid,
                secondary,
                subordinate,
            } => write!(
                f,
                "scope at {scope:#x}: bridge {rid} has secondary bus {secondary:#x} and subordinate bus {subordinate:#x}: buses not assigned"
            ),
            ResolveError::UnknownScopeType { scope, code } => {
                write!(f, "scope at {scope:#x}: scope type {code} names no requester ID")
            }
        }
    }
}

struct Walker<'c, C: ?Sized> {
    cfg: &'c C,
    segment: u16,
    scope: usize,
}

impl<C: ConfigSpace + ?Sized> Walker<'_, C> {
    fn read(&self, rid: RequesterId, offset: u16) -> Result<u32, ResolveError> {
        self.cfg
            .read32(
                self.segment,
                rid.bus(),
                rid.device(),
                rid.function(),
                offset,
            )
            .ok_or(ResolveError::ConfigUnreadable {
                scope: self.scope,
                bus: rid.bus(),
                device: rid.device(),
                function: rid.function(),
                offset,
            })
    }

    fn present(&self, hop: usize, rid: RequesterId) -> Result<(), ResolveError> {
        let id = self.read(rid, config::VENDOR_DEVICE)?;
        if id & 0xffff == config::VENDOR_ABSENT {
            return Err(ResolveError::DeviceMissing {
                scope: self.scope,
                hop,
                rid,
            });
        }
        Ok(())
    }

    /// The bridge's (secondary, subordinate) bus numbers, after checking it
    /// is present and is a bridge with buses assigned.
    fn bridge_buses(&self, hop: usize, rid: RequesterId) -> Result<(u8, u8), ResolveError> {
        self.present(hop, rid)?;
        let header =
            (self.read(rid, config::HEADER_TYPE_DWORD)? >> config::HEADER_TYPE_SHIFT) as u8;
        let header_layout = header & config::HEADER_LAYOUT_MASK;
        if header_layout != config::HEADER_LAYOUT_BRIDGE {
            return Err(ResolveError::NotABridge {
                scope: self.scope,
                hop,
                rid,
                header_layout,
            });
        }
        let buses = self.read(rid, config::BUS_NUMBERS)?;
        let secondary = (buses >> 8) as u8;
        let subordinate = (buses >> 16) as u8;
        if secondary == 0 || subordinate < secondary {
            return Err(ResolveError::BusesUnassigned {
                scope: self.scope,
                rid,
                secondary,
                subordinate,
            });
        }
        Ok((secondary, subordinate))
    }
}

/// Resolves one scope of a structure on `segment` (the DRHD's, RMRR's, ...).
pub fn resolve_scope<C: ConfigSpace + ?Sized>(
    segment: u16,
    scope: &DeviceScope<'_>,
    cfg: &C,
) -> Result<Resolved, ResolveError> {
    let walker = Walker {
        cfg,
        segment,
        scope: scope.offset(),
    };
    let kind = scope.kind();
    if let ScopeType::Unknown(code) = kind {
        return Err(ResolveError::UnknownScopeType {
            scope: scope.offset(),
            code,
        });
    }
    let path = scope.path();
    let mut bus = scope.start_bus();
    let last = path.len().saturating_sub(1);
    for (hop, entry) in path.iter().enumerate() {
        if entry.device > config::MAX_DEVICE || entry.function > config::MAX_FUNCTION {
            return Err(ResolveError::HopOutOfRange {
                scope: scope.offset(),
                hop,
                device: entry.device,
                function: entry.function,
            });
        }
        let rid = RequesterId::new(bus, entry.device, entry.function);
        if hop < last {
            bus = walker.bridge_buses(hop, rid)?.0;
            continue;
        }
        return match kind {
            ScopeType::PciEndpoint => {
                walker.present(hop, rid)?;
                Ok(Resolved::Device(rid))
            }
            ScopeType::PciSubHierarchy => {
                let (secondary, subordinate) = walker.bridge_buses(hop, rid)?;
                Ok(Resolved::Hierarchy {
                    bridge: rid,
                    secondary,
                    subordinate,
                })
            }
            _ => Ok(Resolved::Device(rid)),
        };
    }
    // A parsed scope always has a path; an empty one covers nothing.
    Err(ResolveError::UnknownScopeType {
        scope: scope.offset(),
        code: scope.kind_code(),
    })
}

/// Whether any PCI scope of `scopes` covers `rid`. Scopes that do not
/// resolve (an empty hot-plug slot is still listed) cover nothing.
fn scopes_cover<'a, C: ConfigSpace + ?Sized>(
    segment: u16,
    scopes: impl Iterator<Item = Result<DeviceScope<'a>, crate::AcpiError>>,
    rid: RequesterId,
    cfg: &C,
) -> bool {
    scopes
        .filter_map(Result::ok)
        .filter(|s| s.kind().is_pci())
        .filter_map(|s| resolve_scope(segment, &s, cfg).ok())
        .any(|r| r.contains(rid))
}

/// The unit that translates `rid` on `segment`: one whose scopes cover it,
/// else the segment's INCLUDE_PCI_ALL unit, else none (the device's DMA is
/// not remapped).
pub fn unit_for<'a, C: ConfigSpace + ?Sized>(
    dmar: &Dmar<'a>,
    segment: u16,
    rid: RequesterId,
    cfg: &C,
) -> Option<Drhd<'a>> {
    let on_segment = || dmar.drhds().filter(move |d| d.segment() == segment);
    on_segment()
        .find(|d| !d.include_pci_all() && scopes_cover(segment, d.scopes(), rid, cfg))
        .or_else(|| on_segment().find(|d| d.include_pci_all()))
}

/// The RMRRs whose scopes cover `rid` on `segment`.
pub fn rmrrs_for<'a, 'c, C: ConfigSpace + ?Sized>(
    dmar: &Dmar<'a>,
    segment: u16,
    rid: RequesterId,
    cfg: &'c C,
) -> impl Iterator<Item = Rmrr<'a>> + use<'a, 'c, C> {
    dmar.rmrrs()
        .filter(move |r| r.segment() == segment && scopes_cover(segment, r.scopes(), rid, cfg))
}
