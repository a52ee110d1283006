//! The PCI layout of a simulated machine, before it becomes config space:
//! which function sits where, what it is, and which bus each bridge opens.
//!
//! Two things a reader must know: bus numbers of new bridges are handed out
//! here (never one a DMAR scope starts on), and subordinate bus numbers are
//! computed only at the end ([`Layout::config`]), so a bridge always spans
//! every bus below it however late a nested bridge was added.

use std::collections::{BTreeMap, BTreeSet};

use pci::fake::{FakeConfig, FakeFunction};

/// Functions one simulated machine may have: what the pci server enumerates.
pub const FUNCTIONS: usize = task_pci::MAX_FUNCTIONS;

/// Intel's vendor ID (the ME WiFi quirk table keys on it; we never match
/// its device IDs).
const VENDOR: u16 = 0x8086;
/// Class codes (base, sub, interface).
const CLASS_HOST_BRIDGE: u32 = 0x06_00_00;
const CLASS_PCI_BRIDGE: u32 = 0x06_04_00;
const CLASS_DISPLAY: u32 = 0x03_00_00;
const CLASS_NETWORK: u32 = 0x02_00_00;
const CLASS_SERIAL_BUS: u32 = 0x0c_05_00;
/// Header type bytes.
const HEADER_ENDPOINT: u8 = 0;
const HEADER_BRIDGE: u8 = 1;
/// PCI Express device/port types (DevCap flags field).
const PCIE_ENDPOINT: u8 = 0x0;
const PCIE_ROOT_PORT: u8 = 0x4;
const PCIE_TO_PCI_BRIDGE: u8 = 0x7;
const PCIE_INTEGRATED_ENDPOINT: u8 = 0x9;

/// What one function is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Role {
    /// 00:00.0.
    HostBridge,
    /// A PCIe root port opening `secondary`.
    RootPort { secondary: u8 },
    /// A PCIe-to-PCI bridge opening `secondary` (legacy devices below).
    PcieToPci { secondary: u8 },
    /// A PCIe endpoint; `phantom_bits` is DevCap's phantom-functions field.
    PcieEndpoint { phantom_bits: u8 },
    /// A conventional PCI endpoint (no PCIe capability).
    LegacyEndpoint,
}

impl Role {
    /// The bus this function opens, if it is a bridge.
    pub fn secondary(self) -> Option<u8> {
        match self {
            Role::RootPort { secondary } | Role::PcieToPci { secondary } => Some(secondary),
            _ => None,
        }
    }
}

/// Where a function sits.
pub type Addr = (u8, u8, u8);

/// The layout being built.
#[derive(Clone, Debug, Default)]
pub struct Layout {
    functions: BTreeMap<Addr, Role>,
    /// Buses taken (by a bridge or as a DMAR scope's start bus).
    buses: BTreeSet<u8>,
}

impl Layout {
    /// A machine with its host bridge and nothing else; `reserved` are the
    /// buses DMAR scopes start on (never given to a new bridge).
    pub fn new(reserved: impl IntoIterator<Item = u8>) -> Layout {
        let mut l = Layout::default();
        l.buses.insert(0);
        l.buses.extend(reserved);
        l.functions.insert((0, 0, 0), Role::HostBridge);
        l
    }

    /// Every function.
    pub fn functions(&self) -> &BTreeMap<Addr, Role> {
        &self.functions
    }

    /// The function at `at`.
    pub fn get(&self, at: Addr) -> Option<Role> {
        self.functions.get(&at).copied()
    }

    /// Sets (or replaces) the function at `at`.
    pub fn set(&mut self, at: Addr, role: Role) {
        self.functions.insert(at, role);
    }

    /// A bus number nobody uses yet.
    pub fn free_bus(&mut self) -> Option<u8> {
        let bus = (1..=u8::MAX).find(|b| !self.buses.contains(b))?;
        self.buses.insert(bus);
        Some(bus)
    }

    /// A device slot of `bus` with no function yet.
    pub fn free_slot(&self, bus: u8) -> Option<u8> {
        (1..32u8).find(|d| (0..8).all(|f| !self.functions.contains_key(&(bus, *d, f))))
    }

    /// The bus the bridge at `at` opens, making it a root port first if
    /// nothing (or an endpoint) is there.
    pub fn bridge(&mut self, at: Addr) -> Option<u8> {
        if let Some(bus) = self.get(at).and_then(Role::secondary) {
            return Some(bus);
        }
        let secondary = self.free_bus()?;
        self.set(at, Role::RootPort { secondary });
        Some(secondary)
    }

    /// An endpoint at `at`, unless something is there already.
    pub fn endpoint(&mut self, at: Addr, below_legacy_bridge: bool) {
        if self.functions.contains_key(&at) {
            return;
        }
        let role = if below_legacy_bridge {
            Role::LegacyEndpoint
        } else {
            Role::PcieEndpoint { phantom_bits: 0 }
        };
        self.set(at, role);
    }

    /// Whether a bus lies below a PCIe-to-PCI bridge (devices there are
    /// conventional PCI).
    pub fn is_legacy_bus(&self, bus: u8) -> bool {
        self.functions
            .values()
            .any(|r| *r == Role::PcieToPci { secondary: bus })
    }

    /// Adds function 0 wherever a device has only higher functions (else
    /// enumeration would never look at them).
    pub fn complete_devices(&mut self) {
        let slots: BTreeSet<(u8, u8)> = self.functions.keys().map(|&(b, d, _)| (b, d)).collect();
        for (bus, dev) in slots {
            let legacy = self.is_legacy_bus(bus);
            self.endpoint((bus, dev, 0), legacy);
        }
    }

    /// The highest bus below (and including) `bus`.
    fn subordinate(&self, bus: u8, depth: usize) -> u8 {
        if depth > 256 {
            return bus;
        }
        self.functions
            .iter()
            .filter(|((b, _, _), _)| *b == bus)
            .filter_map(|(_, r)| r.secondary())
            .map(|s| self.subordinate(s, depth + 1))
            .fold(bus, u8::max)
    }

    /// The config space of this layout; `Err` names a function that did not
    /// fit.
    pub fn config(&self) -> Result<FakeConfig<FUNCTIONS>, String> {
        let mut config = FakeConfig::new();
        for (index, (&(bus, dev, func), &role)) in self.functions.iter().enumerate() {
            let bdf = pci::Bdf::new(0, bus, dev, func).map_err(|e| format!("{e}"))?;
            let id = 0x1000 + index as u16;
            let f = match role {
                Role::HostBridge => FakeFunction::new(bdf, VENDOR, id, CLASS_HOST_BRIDGE, 0),
                Role::RootPort { secondary } | Role::PcieToPci { secondary } => {
                    let port = if matches!(role, Role::RootPort { .. }) {
                        PCIE_ROOT_PORT
                    } else {
                        PCIE_TO_PCI_BRIDGE
                    };
                    FakeFunction::new(bdf, VENDOR, id, CLASS_PCI_BRIDGE, HEADER_BRIDGE)
                        .bridge_buses(bus, secondary, self.subordinate(secondary, 0))
                        .pcie(port, 0)
                }
                Role::PcieEndpoint { phantom_bits } => {
                    let class = if (bus, dev, func) == (0, 2, 0) {
                        CLASS_DISPLAY
                    } else {
                        CLASS_NETWORK
                    };
                    let port = if bus == 0 {
                        PCIE_INTEGRATED_ENDPOINT
                    } else {
                        PCIE_ENDPOINT
                    };
                    FakeFunction::new(bdf, VENDOR, id, class, HEADER_ENDPOINT)
                        .pcie(port, phantom_bits)
                        .msi(true, false)
                }
                Role::LegacyEndpoint => {
                    FakeFunction::new(bdf, VENDOR, id, CLASS_SERIAL_BUS, HEADER_ENDPOINT)
                        .msi(false, false)
                }
            };
            let multi = (0..8u8).any(|g| g != func && self.functions.contains_key(&(bus, dev, g)));
            let f = if multi { f.multifunction() } else { f };
            config
                .add(f)
                .map_err(|b| format!("more than {FUNCTIONS} functions (at {b:?})"))?;
        }
        Ok(config)
    }
}
