//! pci's reading of config space a device controls: the capability walk,
//! PCIe and device-type detection, MSI, enumeration, requester IDs and
//! upstream bridges, and the pci server's start over it. The input is the
//! config space of a few functions (root bus, a bridge's secondary bus);
//! everything must be a value or an error naming the function, never a
//! panic or a hang (a looping list is an error).

use pci::fake::{FakeConfig, FakeFunction, FAKE_CONFIG_SIZE};
use pci::{Bdf, DeviceType, Direction, MsiCapability, PcieInfo, Topology};

use crate::script::Reader;

/// Functions an input may describe.
pub const FUNCTIONS: usize = 8;
/// Capability IDs looked for (PM, MSI, PCIe, MSI-X, and one no device has).
const CAP_IDS: [u8; 5] = [0x01, 0x05, 0x10, 0x11, 0xee];

/// Where function `i` of an input sits: 00:00.0 to 00:03.0, then bus 1.
fn address(i: usize) -> Bdf {
    let (bus, dev) = if i < 4 {
        (0, i as u8)
    } else {
        (1, (i - 4) as u8)
    };
    Bdf::new(0, bus, dev, 0).expect("a valid address")
}

/// The config space of an input: each function's 256 bytes in turn (the
/// last may be short; what is missing reads as zero).
pub fn config(data: &[u8]) -> FakeConfig<FUNCTIONS> {
    let mut r = Reader::new(data);
    let mut config = FakeConfig::new();
    for i in 0..FUNCTIONS {
        if r.is_empty() {
            break;
        }
        let bytes = r.bytes(FAKE_CONFIG_SIZE);
        let f = FakeFunction::new(address(i), 0, 0, 0, 0).raw(0, bytes);
        let _ = config.add(f);
    }
    config
}

/// Fuzz target `pci_config`.
pub fn pci_config(data: &[u8]) {
    let config = config(data);
    for i in 0..FUNCTIONS {
        let bdf = address(i);
        for id in CAP_IDS {
            let _ = pci::find_capability(&config, bdf, id);
        }
        let _ = PcieInfo::read(&config, bdf);
        let _ = DeviceType::read(&config, bdf);
        let _ = MsiCapability::find(&config, bdf);
    }
    let topology = Topology::<16>::enumerate(&config, 0);
    for f in topology.functions() {
        let _ = topology.upstream_bridge(f.bdf);
        let _ = topology.requester_ids(f.bdf, Direction::Assign);
        let _ = topology.requester_ids(f.bdf, Direction::Deassign);
        let _ = topology.me_wifi_alias(f);
        let _ = topology.phantom_functions(f);
    }
    let _ = task_pci::PciServer::new(config, 0, &[], &[]);
}
