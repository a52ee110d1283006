//! A simulated platform: units, devices of every kind the seed treats
//! differently (PCIe endpoint, endpoint with RMRR, legacy devices behind a
//! PCIe-to-PCI bridge with and without RMRR, phantom functions), domains.
//! Built from a seed; DMAR fixtures are not yet read (see the report).

use idl_types::{AliasOrder, Bdf, DeviceInfo, DeviceKind, MemRange, MAX_REQUESTER_IDS};

/// One simulated device.
#[derive(Clone, Debug)]
pub struct SimDevice {
    pub info: DeviceInfo,
    pub unit: u8,
    pub rmrrs: Vec<MemRange>,
}

/// The platform.
#[derive(Clone, Debug)]
pub struct Platform {
    pub units: u8,
    pub devices: Vec<SimDevice>,
}

const fn bdf(bus: u8, device: u8, function: u8) -> Bdf {
    Bdf {
        bus,
        device,
        function,
    }
}

fn info(
    device: Bdf,
    kind: DeviceKind,
    upstream: Option<Bdf>,
    secbus: Option<u8>,
    stride: u8,
) -> DeviceInfo {
    DeviceInfo {
        device,
        vendor: 0x1234,
        device_id: 0x11e8,
        kind,
        upstream_bridge: upstream,
        secondary_bus: secbus,
        phantom_stride: stride,
    }
}

impl Platform {
    /// The standard platform: one unit, a PCIe-to-PCI bridge at 00:04.0
    /// (secondary bus 1) and one device of each kind.
    pub fn standard() -> Platform {
        let rmrr = |base: u64| {
            vec![MemRange {
                base,
                end: base + 0x1fff,
            }]
        };
        let bridge = bdf(0, 4, 0);
        let devices = vec![
            SimDevice {
                info: info(bdf(0, 2, 0), DeviceKind::Endpoint, None, None, 0),
                unit: 0,
                rmrrs: vec![],
            },
            SimDevice {
                info: info(bdf(0, 3, 0), DeviceKind::Endpoint, None, None, 0),
                unit: 0,
                rmrrs: rmrr(0xe000_0000),
            },
            SimDevice {
                info: info(
                    bdf(1, 1, 0),
                    DeviceKind::LegacyEndpoint,
                    Some(bridge),
                    None,
                    0,
                ),
                unit: 0,
                rmrrs: vec![],
            },
            SimDevice {
                info: info(
                    bdf(1, 2, 0),
                    DeviceKind::LegacyEndpoint,
                    Some(bridge),
                    None,
                    0,
                ),
                unit: 0,
                rmrrs: rmrr(0xe010_0000),
            },
            SimDevice {
                info: info(bdf(0, 5, 0), DeviceKind::Endpoint, None, None, 2),
                unit: 0,
                rmrrs: vec![],
            },
            SimDevice {
                info: info(bridge, DeviceKind::PcieToPciBridge, None, Some(1), 0),
                unit: 0,
                rmrrs: vec![],
            },
        ];
        Platform { units: 1, devices }
    }

    /// The devices the broker moves (not the bridge).
    pub fn movable(&self) -> Vec<Bdf> {
        self.devices
            .iter()
            .filter(|d| d.info.kind != DeviceKind::PcieToPciBridge)
            .map(|d| d.info.device)
            .collect()
    }

    pub fn device(&self, bdf: Bdf) -> Option<&SimDevice> {
        self.devices.iter().find(|d| d.info.device == bdf)
    }

    pub fn info(&self, bdf: Bdf) -> Option<DeviceInfo> {
        self.device(bdf).map(|d| d.info)
    }

    /// The requester IDs in the seed's order, as the pci server computes
    /// them.
    pub fn requester_ids(
        &self,
        device: Bdf,
        order: AliasOrder,
    ) -> Option<heapless::Vec<Bdf, MAX_REQUESTER_IDS>> {
        let d = self.device(device)?;
        let mut own = vec![device];
        if d.info.kind == DeviceKind::LegacyEndpoint {
            if let Some(b) = d.info.upstream_bridge.and_then(|b| self.info(b)) {
                own.push(b.device);
                if let (DeviceKind::PcieToPciBridge, Some(s)) = (b.kind, b.secondary_bus) {
                    own.push(bdf(s, 0, 0));
                }
            }
        }
        let mut phantoms = vec![];
        let s = d.info.phantom_stride;
        if s > 0 {
            let mut f = device.function + s;
            while f < 8 {
                phantoms.push(Bdf {
                    function: f,
                    ..device
                });
                f += s;
            }
        }
        let all: Vec<Bdf> = match order {
            AliasOrder::Assign => own.into_iter().chain(phantoms).collect(),
            AliasOrder::Deassign => phantoms.into_iter().chain(own).collect(),
        };
        Some(all.into_iter().take(MAX_REQUESTER_IDS).collect())
    }
}
