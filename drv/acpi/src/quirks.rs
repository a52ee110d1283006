//! Firmware quirks: things a readable DMAR can still get wrong, reported as
//! warnings (as Linux's and Xen's DMAR code print them) so the caller decides
//! whether to go on, refuse a device, or stop.
//!
//! Warnings are passed to a sink closure, in table order, so this works
//! without a heap. The same RMRR rules apply to firmware RMRRs and to extra
//! ones from configuration ([`crate::extra_rmrr`]), which is why each RMRR
//! warning names its [`RmrrOrigin`].

use core::fmt;

use crate::dmar::{structure_name, DeviceScope, Dmar, Structure};
use crate::extra_rmrr::PciAddress;

/// Identity maps are made of 4 KiB pages: RMRRs must start and end on them.
pub const RMRR_ALIGN: u64 = 4096;

/// A physical memory range, `end` inclusive (as RMRRs are written).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemRange {
    pub base: u64,
    pub end: u64,
}

impl MemRange {
    /// Whether the two ranges share a byte (an empty range, end below base,
    /// shares none).
    pub fn overlaps(&self, other: &MemRange) -> bool {
        self.base <= self.end
            && other.base <= other.end
            && self.base <= other.end
            && other.base <= self.end
    }
}

impl fmt::Display for MemRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{:#x}-{:#x}]", self.base, self.end)
    }
}

/// Where an RMRR came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RmrrOrigin {
    /// The firmware's DMAR, structure at this table offset.
    Firmware { offset: usize },
    /// The configuration's extra RMRRs, at this index.
    Config { index: usize },
}

impl fmt::Display for RmrrOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RmrrOrigin::Firmware { offset } => write!(f, "RMRR at offset {offset:#x}"),
            RmrrOrigin::Config { index } => write!(f, "extra RMRR #{index} (configuration)"),
        }
    }
}

/// A firmware (or configuration) quirk.
#[derive(Clone, Copy, Debug)]
pub enum Warning<'a> {
    /// A remapping structure type this parser does not know was skipped.
    UnknownStructure { offset: usize, kind: u16 },
    /// A DRHD whose registers are at address 0: the unit cannot be used.
    DrhdRegisterBaseZero { offset: usize, segment: u16 },
    /// A segment has units but none with INCLUDE_PCI_ALL: devices that no
    /// scope lists are not translated at all.
    NoIncludeAllUnit { segment: u16 },
    /// The same PCI device scope appears under two DRHDs (table offsets of
    /// both units): which one translates it is ambiguous.
    DeviceInTwoUnits {
        segment: u16,
        first_unit: usize,
        second_unit: usize,
        scope: DeviceScope<'a>,
    },
    /// An RMRR whose end is below its base: an empty or inverted region.
    RmrrEndBelowBase {
        rmrr: RmrrOrigin,
        base: u64,
        end: u64,
    },
    /// An RMRR base that is not 4 KiB aligned.
    RmrrBaseNotAligned { rmrr: RmrrOrigin, base: u64 },
    /// An RMRR end whose next byte is not 4 KiB aligned.
    RmrrEndNotAligned { rmrr: RmrrOrigin, end: u64 },
    /// An RMRR that lists no device: it constrains nothing.
    RmrrWithoutDevices { rmrr: RmrrOrigin, range: MemRange },
    /// Two RMRRs share memory.
    RmrrOverlap {
        first: RmrrOrigin,
        first_range: MemRange,
        second: RmrrOrigin,
        second_range: MemRange,
    },
    /// An RMRR covers memory the kernel uses as RAM: identity-mapping it
    /// would let a device DMA into it.
    RmrrOverlapsRam {
        rmrr: RmrrOrigin,
        range: MemRange,
        ram: MemRange,
    },
    /// A configured device address with device > 31 or function > 7.
    ExtraRmrrBadDevice { index: usize, device: PciAddress },
}

impl fmt::Display for Warning<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::UnknownStructure { offset, kind } => write!(
                f,
                "offset {offset:#x}: unknown remapping structure type {kind} ({}), skipped by length",
                structure_name(*kind)
            ),
            Warning::DrhdRegisterBaseZero { offset, segment } => write!(
                f,
                "offset {offset:#x}: DRHD on segment {segment:#x} has register base 0; the unit is unusable (broken BIOS)"
            ),
            Warning::NoIncludeAllUnit { segment } => write!(
                f,
                "segment {segment:#x} has remapping units but none with INCLUDE_PCI_ALL; devices outside every scope are not translated"
            ),
            Warning::DeviceInTwoUnits {
                segment,
                first_unit,
                second_unit,
                scope,
            } => write!(
                f,
                "device {segment:04x}:{scope} is in the scope of the DRHD at offset {first_unit:#x} and of the DRHD at offset {second_unit:#x}"
            ),
            Warning::RmrrEndBelowBase { rmrr, base, end } => write!(
                f,
                "{rmrr}: end {end:#x} is below base {base:#x}"
            ),
            Warning::RmrrBaseNotAligned { rmrr, base } => {
                write!(f, "{rmrr}: base {base:#x} is not 4 KiB aligned")
            }
            Warning::RmrrEndNotAligned { rmrr, end } => write!(
                f,
                "{rmrr}: end {end:#x} does not end a 4 KiB page (end + 1 must be aligned)"
            ),
            Warning::RmrrWithoutDevices { rmrr, range } => {
                write!(f, "{rmrr}: region {range} lists no device")
            }
            Warning::RmrrOverlap {
                first,
                first_range,
                second,
                second_range,
            } => write!(
                f,
                "{first} {first_range} overlaps {second} {second_range}"
            ),
            Warning::RmrrOverlapsRam { rmrr, range, ram } => write!(
                f,
                "{rmrr}: region {range} overlaps RAM {ram} in use by the kernel"
            ),
            Warning::ExtraRmrrBadDevice { index, device } => write!(
                f,
                "extra RMRR #{index} (configuration): device {device} is out of range (device <= 31, function <= 7)"
            ),
        }
    }
}

/// The per-RMRR rules, shared by firmware and configured RMRRs.
pub(crate) fn check_rmrr_range<'a>(
    rmrr: RmrrOrigin,
    range: MemRange,
    device_count: usize,
    ram: &[MemRange],
    sink: &mut dyn FnMut(Warning<'a>),
) {
    if range.end < range.base {
        sink(Warning::RmrrEndBelowBase {
            rmrr,
            base: range.base,
            end: range.end,
        });
    } else {
        if !range.base.is_multiple_of(RMRR_ALIGN) {
            sink(Warning::RmrrBaseNotAligned {
                rmrr,
                base: range.base,
            });
        }
        if !range.end.wrapping_add(1).is_multiple_of(RMRR_ALIGN) {
            sink(Warning::RmrrEndNotAligned {
                rmrr,
                end: range.end,
            });
        }
    }
    if device_count == 0 {
        sink(Warning::RmrrWithoutDevices { rmrr, range });
    }
    for area in ram.iter().filter(|area| area.overlaps(&range)) {
        sink(Warning::RmrrOverlapsRam {
            rmrr,
            range,
            ram: *area,
        });
    }
}

/// Every warning about a parsed DMAR. `ram` lists the RAM the kernel uses
/// (empty if unknown).
pub fn check<'a>(dmar: &Dmar<'a>, ram: &[MemRange], sink: &mut dyn FnMut(Warning<'a>)) {
    for structure in dmar.checked_structures() {
        match structure {
            Structure::Unknown(s) => sink(Warning::UnknownStructure {
                offset: s.offset,
                kind: s.kind,
            }),
            Structure::Drhd(d) if d.register_base() == 0 => sink(Warning::DrhdRegisterBaseZero {
                offset: d.offset(),
                segment: d.segment(),
            }),
            Structure::Rmrr(r) => {
                let origin = RmrrOrigin::Firmware { offset: r.offset() };
                let range = MemRange {
                    base: r.base(),
                    end: r.end(),
                };
                check_rmrr_range(origin, range, r.scopes().count(), ram, sink);
            }
            _ => {}
        }
    }
    check_rmrr_overlaps(dmar, sink);
    check_units(dmar, sink);
}

/// Firmware RMRRs as (origin, range), in table order.
pub(crate) fn firmware_rmrrs<'a>(
    dmar: &Dmar<'a>,
) -> impl Iterator<Item = (RmrrOrigin, MemRange)> + 'a {
    dmar.rmrrs().map(|r| {
        (
            RmrrOrigin::Firmware { offset: r.offset() },
            MemRange {
                base: r.base(),
                end: r.end(),
            },
        )
    })
}

fn check_rmrr_overlaps<'a>(dmar: &Dmar<'a>, sink: &mut dyn FnMut(Warning<'a>)) {
    for (i, (first, first_range)) in firmware_rmrrs(dmar).enumerate() {
        for (second, second_range) in firmware_rmrrs(dmar).skip(i + 1) {
            if first_range.overlaps(&second_range) {
                sink(Warning::RmrrOverlap {
                    first,
                    first_range,
                    second,
                    second_range,
                });
            }
        }
    }
}

fn check_units<'a>(dmar: &Dmar<'a>, sink: &mut dyn FnMut(Warning<'a>)) {
    for (i, unit) in dmar.drhds().enumerate() {
        let segment = unit.segment();
        let first_on_segment = !dmar.drhds().take(i).any(|d| d.segment() == segment);
        if first_on_segment
            && !dmar
                .drhds()
                .any(|d| d.segment() == segment && d.include_pci_all())
        {
            sink(Warning::NoIncludeAllUnit { segment });
        }
        for later in dmar.drhds().skip(i + 1).filter(|d| d.segment() == segment) {
            for scope in unit
                .scopes()
                .filter_map(Result::ok)
                .filter(|s| s.kind().is_pci())
            {
                let twice = later
                    .scopes()
                    .filter_map(Result::ok)
                    .any(|s| s.same_target(&scope));
                if twice {
                    sink(Warning::DeviceInTwoUnits {
                        segment,
                        first_unit: unit.offset(),
                        second_unit: later.offset(),
                        scope,
                    });
                }
            }
        }
    }
}
