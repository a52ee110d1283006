//! A simulated platform built from a real DMAR table: its units, a PCI
//! config space holding every function the table's scopes name, its RMRRs,
//! plus seeded additions (phantom functions, PCIe-to-PCI bridges with
//! conventional devices behind, configured RMRRs).
//!
//! Two things a reader must know:
//! - The scopes decide the machine: every hop of a scope's path before the
//!   last is a bridge, a type-2 scope's last hop is a bridge with a device
//!   placed behind it, a scope on a non-zero start bus gets a root port on
//!   bus 0 so enumeration reaches it.
//! - [`Platform::devices`] is what the real acpi and pci servers say about
//!   the movable functions (asked directly, not over IPC), so the simulator
//!   and the broker see the same facts.

use std::fmt;
use std::sync::Arc;

use acpi::dmar::ScopeType;
use acpi::extra_rmrr::{ExtraRmrr, PciAddress};
use acpi::Dmar;
use idl_runtime::abi::TaskId;
use idl_types::{AliasOrder, Bdf, DeviceKind, MemRange, UnitId};
use pci::fake::FakeConfig;
use pci::{AccessError, ConfigAccess};
use task_acpi::acpi::Server as _;
use task_acpi::{AcpiServer, PciConfigSpace};
use task_pci::pci::Server as _;
use task_pci::PciServer;

use crate::layout::{Addr, Layout, Role, FUNCTIONS};
use crate::rng::Rng;

/// Units the iommu server drives (devices of later units are not moved).
pub const MAX_UNITS: usize = task_iommu::MAX_UNITS;
/// Devices the broker keeps books for.
pub const MAX_DEVICES: usize = task_broker::MAX_DEVICES;
/// Where configured RMRRs go: above 4 GiB, clear of every firmware RMRR of
/// the fixtures, inside QEMU's 39-bit address width.
const EXTRA_RMRR_BASE: u64 = 0x0f_0000_0000;
/// Bytes of one configured RMRR (two pages).
const EXTRA_RMRR_LEN: u64 = 0x2000;
/// Distance between two configured RMRRs.
const EXTRA_RMRR_STRIDE: u64 = 0x1_0000;
/// The matrix machine's extra pcie-pci-bridge with one device behind it.
const MATRIX_LONE_BRIDGE: u8 = 4;
/// The one whose device has an RMRR.
const MATRIX_LONE_RMRR_BRIDGE: u8 = 5;
/// Offset of the first remapping structure in a DMAR table.
const DMAR_STRUCTURES: usize = 48;
/// Offsets of the table length and checksum in an ACPI header.
const ACPI_LENGTH: usize = 4;
const ACPI_CHECKSUM: usize = 9;
/// Offset of a remapping structure's length.
const STRUCTURE_LENGTH: usize = 2;
/// A device scope of type 2 (PCI sub-hierarchy) with a one-hop path.
const BRIDGE_SCOPE_TYPE: u8 = 2;
const BRIDGE_SCOPE_LEN: u8 = 8;

/// A firmware RMRR to add to a DMAR table: its range (inclusive end) and
/// the path of the one endpoint it names, from bus 0 (each hop a (device,
/// function) pair).
#[derive(Clone, Debug)]
pub struct FirmwareRmrr {
    /// First byte.
    pub base: u64,
    /// Last byte.
    pub end: u64,
    /// The path from bus 0.
    pub path: Vec<(u8, u8)>,
}

/// Bytes of an RMRR structure before its scopes.
const RMRR_HEADER_LEN: usize = 24;
/// Remapping structure type of an RMRR.
const RMRR_TYPE: u16 = 1;
/// Device scope type of a PCI endpoint.
const ENDPOINT_SCOPE_TYPE: u8 = 1;

/// `dmar` with `rmrrs` appended as RMRR structures (segment 0), length and
/// checksum fixed.
pub fn with_rmrrs(dmar: &[u8], rmrrs: &[FirmwareRmrr]) -> Result<Vec<u8>, String> {
    let mut out = dmar.to_vec();
    for r in rmrrs {
        let scope_len = 6 + 2 * r.path.len();
        let len = u16::try_from(RMRR_HEADER_LEN + scope_len).map_err(|_| "RMRR too long")?;
        out.extend(RMRR_TYPE.to_le_bytes());
        out.extend(len.to_le_bytes());
        out.extend([0, 0, 0, 0]);
        out.extend(r.base.to_le_bytes());
        out.extend(r.end.to_le_bytes());
        out.extend([ENDPOINT_SCOPE_TYPE, scope_len as u8, 0, 0, 0, 0]);
        for &(device, function) in &r.path {
            out.extend([device, function]);
        }
    }
    fix_length_and_checksum(&mut out)?;
    Ok(out)
}

fn fix_length_and_checksum(out: &mut [u8]) -> Result<(), String> {
    let total = u32::try_from(out.len()).map_err(|_| "DMAR too long")?;
    out[ACPI_LENGTH..ACPI_LENGTH + 4].copy_from_slice(&total.to_le_bytes());
    out[ACPI_CHECKSUM] = 0;
    let sum = out.iter().fold(0u8, |a, b| a.wrapping_add(*b));
    out[ACPI_CHECKSUM] = sum.wrapping_neg();
    Ok(())
}

/// `dmar` with a bridge scope (PCI sub-hierarchy) for `00:slot.0` of each
/// `slots` appended to its first DRHD, lengths and checksum fixed: what
/// QEMU 7.2 emits for a pcie-pci-bridge there (each bridge has its own
/// scope, as 00:03.0 has).
pub fn with_bridge_scopes(dmar: &[u8], slots: &[u8]) -> Result<Vec<u8>, String> {
    let bad = || "DMAR table too short for a DRHD".to_string();
    let drhd_len = dmar
        .get(DMAR_STRUCTURES + STRUCTURE_LENGTH..DMAR_STRUCTURES + STRUCTURE_LENGTH + 2)
        .map(|b| usize::from(u16::from_le_bytes([b[0], b[1]])))
        .ok_or_else(bad)?;
    let end = DMAR_STRUCTURES + drhd_len;
    if end > dmar.len() {
        return Err(bad());
    }
    let mut out = dmar[..end].to_vec();
    for &slot in slots {
        out.extend([BRIDGE_SCOPE_TYPE, BRIDGE_SCOPE_LEN, 0, 0, 0, 0, slot, 0]);
    }
    out.extend(&dmar[end..]);
    let grown = slots.len() * usize::from(BRIDGE_SCOPE_LEN);
    let new_drhd = u16::try_from(drhd_len + grown).map_err(|_| "DRHD too long")?;
    out[DMAR_STRUCTURES + STRUCTURE_LENGTH..DMAR_STRUCTURES + STRUCTURE_LENGTH + 2]
        .copy_from_slice(&new_drhd.to_le_bytes());
    fix_length_and_checksum(&mut out)?;
    Ok(out)
}

/// The config space of a simulated machine: one fake config space of up
/// to [`FUNCTIONS`] functions (hundreds of KiB), shared by every clone
/// until one of them writes (copy on write). The pci and acpi servers, and
/// every restart of them, hold a clone: a machine is built without copying
/// the whole space onto the stack each time, and no clone sees another's
/// writes, as when each had its own copy.
#[derive(Clone, Debug)]
pub struct Config(Arc<FakeConfig<FUNCTIONS>>);

impl Config {
    /// The config space `fake`.
    pub fn new(fake: FakeConfig<FUNCTIONS>) -> Config {
        Config(Arc::new(fake))
    }
}

impl ConfigAccess for Config {
    fn read8(&self, bdf: pci::Bdf, offset: u16) -> Result<u8, AccessError> {
        self.0.read8(bdf, offset)
    }
    fn read16(&self, bdf: pci::Bdf, offset: u16) -> Result<u16, AccessError> {
        self.0.read16(bdf, offset)
    }
    fn read32(&self, bdf: pci::Bdf, offset: u16) -> Result<u32, AccessError> {
        self.0.read32(bdf, offset)
    }
    fn write8(&mut self, bdf: pci::Bdf, offset: u16, value: u8) -> Result<(), AccessError> {
        Arc::make_mut(&mut self.0).write8(bdf, offset, value)
    }
    fn write16(&mut self, bdf: pci::Bdf, offset: u16, value: u16) -> Result<(), AccessError> {
        Arc::make_mut(&mut self.0).write16(bdf, offset, value)
    }
    fn write32(&mut self, bdf: pci::Bdf, offset: u16, value: u32) -> Result<(), AccessError> {
        Arc::make_mut(&mut self.0).write32(bdf, offset, value)
    }
}
/// The acpi server over a platform.
pub type Acpi<'p> = AcpiServer<'p, PciConfigSpace<Config>>;

/// One function the broker may move, as the servers describe it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimDevice {
    /// The function.
    pub bdf: Bdf,
    /// Its kind.
    pub kind: DeviceKind,
    /// The unit covering it.
    pub unit: UnitId,
    /// Its RMRRs.
    pub rmrrs: Vec<MemRange>,
    /// Every requester ID, in assign order.
    pub rids: Vec<Bdf>,
}

impl SimDevice {
    /// Its own requester IDs: itself and its phantom functions (not the
    /// bridge aliases it may share with its neighbours).
    pub fn own_rids(&self) -> impl Iterator<Item = Bdf> + '_ {
        self.rids
            .iter()
            .copied()
            .filter(|r| r.bus == self.bdf.bus && r.device == self.bdf.device)
    }

    /// Its phantom functions.
    pub fn phantoms(&self) -> impl Iterator<Item = Bdf> + '_ {
        self.own_rids().filter(|r| *r != self.bdf)
    }

    /// The requester IDs it shares with other devices (bridge aliases).
    pub fn aliases(&self) -> impl Iterator<Item = Bdf> + '_ {
        self.rids
            .iter()
            .copied()
            .filter(|r| !(r.bus == self.bdf.bus && r.device == self.bdf.device))
    }
}

/// A configured RMRR (Xen's `rmrr=`), kept with the devices it names.
#[derive(Clone, Debug)]
pub struct ExtraRange {
    /// The range.
    pub range: MemRange,
    /// The devices it names.
    pub devices: Vec<PciAddress>,
}

/// A platform the simulator runs on.
#[derive(Clone)]
pub struct Platform {
    /// Fixture stem, or "qemu".
    pub name: String,
    /// The DMAR table.
    pub dmar: Vec<u8>,
    /// The PCI layout.
    pub layout: Layout,
    /// Its config space.
    pub config: Config,
    /// Configured RMRRs.
    pub extras: Vec<ExtraRange>,
    /// IOMMU units the table declares (the iommu drives the first
    /// [`MAX_UNITS`]).
    pub units: usize,
    /// Whether the CPU has CMPXCHG16B (else Xen's fallback is used).
    pub cx16: bool,
    /// The movable devices.
    pub devices: Vec<SimDevice>,
    /// What was added to the table's machine, for the trace.
    pub notes: Vec<String>,
    /// What the build's capacities left out, each naming the limit and
    /// the app.toml key that raises it.
    pub limits: Vec<String>,
}

impl fmt::Debug for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({} units, {} devices, cx16 {}, {})",
            self.name,
            self.units,
            self.devices.len(),
            self.cx16,
            self.notes.join(", ")
        )
    }
}

/// A platform being built.
pub struct Builder {
    name: String,
    dmar: Vec<u8>,
    layout: Layout,
    extras: Vec<ExtraRange>,
    units: usize,
    include_all: bool,
    notes: Vec<String>,
}

fn wire(at: Addr) -> Bdf {
    Bdf {
        bus: at.0,
        device: at.1,
        function: at.2,
    }
}

impl Builder {
    /// The machine a DMAR table describes. `legacy_type2(i)` says whether
    /// the i-th type-2 scope's bridge is a PCIe-to-PCI bridge (conventional
    /// devices behind) rather than a root port.
    pub fn from_dmar(
        name: &str,
        dmar: Vec<u8>,
        mut legacy_type2: impl FnMut(usize) -> bool,
    ) -> Result<Builder, String> {
        let table = Dmar::parse(&dmar).map_err(|e| format!("{e}"))?;
        let mut scopes = Vec::new();
        let mut units = 0;
        let mut include_all = false;
        for drhd in table.drhds() {
            units += 1;
            include_all |= drhd.include_pci_all() && drhd.segment() == 0;
            if drhd.segment() == 0 {
                scopes.extend(drhd.scopes().flatten());
            }
        }
        for rmrr in table.rmrrs().filter(|r| r.segment() == 0) {
            scopes.extend(rmrr.scopes().flatten());
        }
        let scopes: Vec<_> = scopes
            .into_iter()
            .filter(|s| {
                matches!(
                    s.kind(),
                    ScopeType::PciEndpoint | ScopeType::PciSubHierarchy
                )
            })
            .collect();
        let starts: Vec<u8> = scopes.iter().map(|s| s.start_bus()).collect();
        let mut layout = Layout::new(starts.iter().copied());
        let mut notes = Vec::new();
        let mut type2 = 0;
        for scope in &scopes {
            let path = scope.path();
            let mut bus = scope.start_bus();
            let (last, hops) = match path.split_last() {
                Some(split) => split,
                None => continue,
            };
            for hop in hops {
                bus = layout
                    .bridge((bus, hop.device & 31, hop.function & 7))
                    .ok_or("out of bus numbers")?;
            }
            let at = (bus, last.device & 31, last.function & 7);
            if scope.kind() == ScopeType::PciSubHierarchy {
                let legacy = legacy_type2(type2);
                type2 += 1;
                if layout.get(at).and_then(Role::secondary).is_none() {
                    let secondary = layout.free_bus().ok_or("out of bus numbers")?;
                    let role = if legacy {
                        Role::PcieToPci { secondary }
                    } else {
                        Role::RootPort { secondary }
                    };
                    layout.set(at, role);
                }
                let below = layout.get(at).and_then(Role::secondary).unwrap_or(0);
                if layout.is_legacy_bus(below) {
                    layout.endpoint((below, 1, 0), true);
                    notes.push(format!(
                        "legacy device {below:02x}:01.0 behind type-2 scope"
                    ));
                } else {
                    layout.endpoint((below, 0, 0), false);
                }
            } else {
                let legacy = layout.is_legacy_bus(bus);
                layout.endpoint(at, legacy);
            }
        }
        // Enumeration starts at bus 0: a scope on another root bus is
        // reached through a root port placed on a free slot of bus 0.
        for &start in starts.iter().filter(|&&b| b != 0) {
            let reached = layout
                .functions()
                .values()
                .any(|r| r.secondary() == Some(start));
            if !reached {
                let slot = layout.free_slot(0).ok_or("bus 0 is full")?;
                layout.set((0, slot, 0), Role::RootPort { secondary: start });
                notes.push(format!("root port 00:{slot:02x}.0 to bus {start:02x}"));
            }
        }
        Ok(Builder {
            name: name.to_string(),
            dmar,
            layout,
            extras: Vec::new(),
            units,
            include_all,
            notes,
        })
    }

    /// Whether some unit covers every device no scope names (so added
    /// devices on new buses are translated).
    pub fn has_include_all(&self) -> bool {
        self.include_all
    }

    /// The layout so far.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Gives the PCIe endpoint at `at` phantom functions (DevCap field
    /// `bits`: 1 → stride 4, 2 → stride 2); `false` if it is not a lone
    /// function-0 PCIe endpoint.
    pub fn add_phantoms(&mut self, at: Addr, bits: u8) -> bool {
        let alone = (1..8u8).all(|f| self.layout.get((at.0, at.1, f)).is_none());
        match self.layout.get(at) {
            Some(Role::PcieEndpoint { .. }) if at.2 == 0 && alone && at != (0, 0, 0) => {
                self.layout
                    .set(at, Role::PcieEndpoint { phantom_bits: bits });
                self.notes
                    .push(format!("phantoms on {} (bits {bits})", wire(at)));
                true
            }
            _ => false,
        }
    }

    /// Adds a PCIe-to-PCI bridge on bus 0 with `count` conventional devices
    /// behind it; returns where they are.
    pub fn add_legacy_bridge(&mut self, count: u8) -> Option<Vec<Addr>> {
        let slot = self.layout.free_slot(0)?;
        let secondary = self.layout.free_bus()?;
        self.layout.set((0, slot, 0), Role::PcieToPci { secondary });
        let devices: Vec<Addr> = (1..=count).map(|d| (secondary, d, 0)).collect();
        for &d in &devices {
            self.layout.endpoint(d, true);
        }
        self.notes.push(format!(
            "PCIe-to-PCI bridge 00:{slot:02x}.0 with {count} legacy devices on bus {secondary:02x}"
        ));
        Some(devices)
    }

    /// A configured RMRR naming the function at `at`.
    pub fn add_extra_rmrr(&mut self, at: Addr) {
        let base = EXTRA_RMRR_BASE + self.extras.len() as u64 * EXTRA_RMRR_STRIDE;
        self.extras.push(ExtraRange {
            range: MemRange {
                base,
                end: base + EXTRA_RMRR_LEN - 1,
            },
            devices: vec![PciAddress {
                segment: 0,
                bus: at.0,
                device: at.1,
                function: at.2,
            }],
        });
        self.notes.push(format!("RMRR {base:#x} for {}", wire(at)));
    }

    /// The platform, its devices as the servers see them.
    pub fn finish(mut self, cx16: bool) -> Result<Platform, String> {
        self.layout.complete_devices();
        let config = Config::new(self.layout.config()?);
        let mut platform = Platform {
            name: self.name,
            dmar: self.dmar,
            layout: self.layout,
            config,
            extras: self.extras,
            units: self.units,
            cx16,
            devices: Vec::new(),
            notes: self.notes,
            limits: Vec::new(),
        };
        if platform.units > MAX_UNITS {
            platform.limits.push(format!(
                "units {MAX_UNITS}.. and their devices left out: {}",
                capacity::UNITS.describe(platform.units)
            ));
        }
        let (devices, beyond) = platform.discover()?;
        platform.devices = devices;
        if beyond > 0 {
            let needed = platform.devices.len() + beyond;
            platform.limits.push(format!(
                "{beyond} devices left out: {}",
                capacity::DEVICES.describe(needed)
            ));
        }
        Ok(platform)
    }
}

impl Platform {
    /// A platform from a DMAR table with additions chosen by `seed`
    /// (phantom functions, a legacy bridge, configured RMRRs, no CX16).
    pub fn random(name: &str, dmar: Vec<u8>, seed: u64) -> Result<Platform, String> {
        let mut rng = Rng::new(seed ^ Rng::hash(name));
        let mut b = Builder::from_dmar(name, dmar, |_| rng.chance(2))?;
        let mut rng = Rng::new(seed.rotate_left(17) ^ Rng::hash(name));
        if rng.chance(2) {
            let endpoints: Vec<Addr> = b
                .layout()
                .functions()
                .iter()
                .filter(|(_, r)| matches!(r, Role::PcieEndpoint { .. }))
                .map(|(a, _)| *a)
                .collect();
            if !endpoints.is_empty() {
                let at = endpoints[rng.below(endpoints.len())];
                let bits = 1 + rng.below(2) as u8;
                b.add_phantoms(at, bits);
            }
        }
        let mut legacy: Vec<Addr> = b
            .layout()
            .functions()
            .iter()
            .filter(|(_, r)| **r == Role::LegacyEndpoint)
            .map(|(a, _)| *a)
            .collect();
        if b.has_include_all() && rng.chance(2) {
            if let Some(added) = b.add_legacy_bridge(1 + rng.below(2) as u8) {
                legacy.extend(added);
            }
        }
        if !legacy.is_empty() && rng.chance(2) {
            let at = legacy[rng.below(legacy.len())];
            b.add_extra_rmrr(at);
        }
        let cx16 = !rng.chance(4);
        b.finish(cx16)
    }

    /// The platform of the fault matrix: QEMU's DMAR as QEMU emits it for
    /// a machine with two more pcie-pci-bridges (00:04.0 and 00:05.0, see
    /// [`with_bridge_scopes`]), and one device of each kind Xen treats
    /// apart: PCIe endpoint 00:01.0, endpoint with an RMRR 00:1f.2,
    /// endpoint with phantom functions 00:02.0 (stride 4); behind QEMU's
    /// bridge 00:03.0 two conventional devices sharing its aliases, 01:01.0
    /// and 01:02.0 with an RMRR; alone behind their bridges, conventional
    /// 02:01.0 and 03:01.0 with an RMRR.
    pub fn matrix(dmar: Vec<u8>) -> Result<Platform, String> {
        Platform::matrix_with(dmar, &[])
    }

    /// [`Platform::matrix`] with firmware RMRRs added to the table.
    pub fn matrix_with(dmar: Vec<u8>, rmrrs: &[FirmwareRmrr]) -> Result<Platform, String> {
        let dmar = with_bridge_scopes(&dmar, &[MATRIX_LONE_BRIDGE, MATRIX_LONE_RMRR_BRIDGE])?;
        let dmar = with_rmrrs(&dmar, rmrrs)?;
        let mut b = Builder::from_dmar("qemu", dmar, |_| true)?;
        let secondary = |b: &Builder, slot: u8| {
            b.layout()
                .get((0, slot, 0))
                .and_then(Role::secondary)
                .ok_or(format!("no pcie-pci-bridge at 00:{slot:02x}.0"))
        };
        let shared = secondary(&b, 3)?;
        let lone_rmrr = secondary(&b, MATRIX_LONE_RMRR_BRIDGE)?;
        b.layout.endpoint((shared, 2, 0), true);
        b.add_extra_rmrr((0, 0x1f, 2));
        b.add_extra_rmrr((shared, 2, 0));
        b.add_extra_rmrr((lone_rmrr, 1, 0));
        if !b.add_phantoms((0, 2, 0), 1) {
            return Err("00:02.0 cannot take phantom functions".into());
        }
        b.finish(true)
    }

    /// The configured RMRRs in the acpi library's terms.
    pub fn extra_rmrrs(&self) -> Vec<ExtraRmrr<'_>> {
        self.extras
            .iter()
            .map(|e| ExtraRmrr {
                base: e.range.base,
                end: e.range.end,
                devices: &e.devices,
            })
            .collect()
    }

    /// One device.
    pub fn device(&self, bdf: Bdf) -> Option<&SimDevice> {
        self.devices.iter().find(|d| d.bdf == bdf)
    }

    /// The first device matching `pick`.
    pub fn find(&self, pick: impl Fn(&SimDevice) -> bool) -> Option<&SimDevice> {
        self.devices.iter().find(|d| pick(d))
    }

    /// Asks the real pci and acpi servers (directly) which functions can be
    /// moved and what they are; also how many movable devices the books
    /// could not hold.
    fn discover(&self) -> Result<(Vec<SimDevice>, usize), String> {
        let me = TaskId::KERNEL;
        let mut pci = PciServer::new(self.config.clone(), 0, &[], &[]);
        let extras = self.extra_rmrrs();
        let mut acpi = AcpiServer::new(
            &self.dmar,
            &extras,
            &[],
            PciConfigSpace(self.config.clone()),
        )
        .map_err(|e| format!("acpi: {e}"))?;
        let functions: Vec<Bdf> = pci
            .topology()
            .functions()
            .iter()
            .map(|f| Bdf {
                bus: f.bdf.bus(),
                device: f.bdf.dev(),
                function: f.bdf.func(),
            })
            .collect();
        let mut devices = Vec::new();
        let mut beyond = 0;
        for bdf in functions {
            let Ok(info) = pci.device_info(me, task_pci::pci::DeviceInfoArgs { device: bdf })
            else {
                continue;
            };
            if !matches!(info.kind, DeviceKind::Endpoint | DeviceKind::LegacyEndpoint) {
                continue;
            }
            let Ok(rids) = pci.requester_ids(
                me,
                task_pci::pci::RequesterIdsArgs {
                    device: bdf,
                    order: AliasOrder::Assign,
                },
            ) else {
                continue;
            };
            let Ok(unit) = acpi.unit_of(me, task_acpi::acpi::UnitOfArgs { device: bdf }) else {
                continue;
            };
            if usize::from(unit.0) >= MAX_UNITS {
                continue;
            }
            let Ok(rmrrs) = acpi.rmrrs_of(me, task_acpi::acpi::RmrrsOfArgs { device: bdf }) else {
                continue;
            };
            if devices.len() == MAX_DEVICES {
                beyond += 1;
                continue;
            }
            devices.push(SimDevice {
                bdf,
                kind: info.kind,
                unit,
                rmrrs: rmrrs.ranges.to_vec(),
                rids: rids.ids.to_vec(),
            });
        }
        Ok((devices, beyond))
    }
}
