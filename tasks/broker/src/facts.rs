//! What the broker must know about a device to move it: its unit, its RMRRs,
//! and every requester ID its DMA can carry, in Xen's order.
//!
//! The requester IDs come from the pci server's topology: a PCIe endpoint
//! uses its own; a conventional PCI device behind a bridge also uses the
//! bridge's, and behind a PCIe-to-PCI bridge (secondary bus, 0.0); phantom
//! functions add `function + k·stride`. A host bridge has none (Xen's fix
//! skips it). The pci server computes the list (and the ME WiFi quirk's
//! alias); the broker only names each one's role, which decides whether
//! another device may share it.

use heapless::Vec;
use idl_runtime::ClientError;
use idl_types::{
    Bdf, BrokerError, DeviceInfo, DeviceKind, MemRange, PciError, UnitId, MAX_RMRRS_PER_DEVICE,
};

/// Requester IDs one device can use: itself, two bridge aliases, up to seven
/// phantom functions and one ME quirk alias.
pub const MAX_DEVICE_RIDS: usize = 11;

/// Why a requester ID belongs to a device.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum RidRole {
    /// The device's own function.
    Device,
    /// Its upstream bridge (a legacy device's DMA may carry the bridge's ID).
    Bridge,
    /// (secondary bus, 0.0) of a PCIe-to-PCI bridge above it.
    SecondaryBus,
    /// A phantom function.
    Phantom,
    /// The ME phantom function of the WiFi quirk table.
    MePhantom,
}

impl RidRole {
    /// Whether other devices may share this requester ID (bridge aliases).
    pub const fn is_shared_alias(self) -> bool {
        matches!(self, RidRole::Bridge | RidRole::SecondaryBus)
    }
}

/// One requester ID and why the device uses it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Rid {
    /// The requester ID.
    pub bdf: Bdf,
    /// Its role.
    pub role: RidRole,
}

/// Which way the device moves: phantom functions follow the real function
/// on assignment and precede it on deassignment (XSA-449's order).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Towards a domain or quarantine.
    Assign,
    /// Towards no translation at all.
    Deassign,
}

/// A device's platform facts, gathered before a move.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceFacts {
    /// The device.
    pub device: Bdf,
    /// The IOMMU unit covering it.
    pub unit: UnitId,
    /// Its kind.
    pub kind: DeviceKind,
    /// Its requester IDs, own function first, then bridge aliases, then
    /// phantoms.
    pub rids: Vec<Rid, MAX_DEVICE_RIDS>,
    /// Its RMRRs.
    pub rmrrs: Vec<MemRange, MAX_RMRRS_PER_DEVICE>,
    /// Its phantom-function stride (0: none).
    pub phantom_stride: u8,
    /// Whether no other function sits behind its upstream bridge (with
    /// or without an RMRR, assigned or not): then its bridge aliases are
    /// its own, and Xen's refusal to move an RMRR device behind a
    /// bridge need not apply (the case Xen's own comment leaves open).
    /// `false` for a device with no upstream bridge.
    pub alone_behind_bridge: bool,
}

impl DeviceFacts {
    /// Whether the device has an RMRR (Xen's MAP_WITH_RMRR).
    pub fn has_rmrr(&self) -> bool {
        !self.rmrrs.is_empty()
    }

    /// Its upstream bridge, for a conventional device behind one.
    pub fn bridge(&self) -> Option<Bdf> {
        self.rids
            .iter()
            .find(|r| r.role == RidRole::Bridge)
            .map(|r| r.bdf)
    }

    /// Whether the device has phantom functions (which rule out
    /// SINGLE_DEVICE).
    pub fn has_phantoms(&self) -> bool {
        self.rids
            .iter()
            .any(|r| matches!(r.role, RidRole::Phantom | RidRole::MePhantom))
    }

    /// The requester IDs in the order a move in `direction` writes them.
    pub fn requester_ids(&self, direction: Direction) -> impl Iterator<Item = Rid> + '_ {
        let phantom = |r: &&Rid| matches!(r.role, RidRole::Phantom | RidRole::MePhantom);
        let (first, second): (Vec<Rid, MAX_DEVICE_RIDS>, Vec<Rid, MAX_DEVICE_RIDS>) =
            match direction {
                Direction::Assign => (
                    self.rids.iter().filter(|r| !phantom(r)).copied().collect(),
                    self.rids.iter().filter(phantom).copied().collect(),
                ),
                Direction::Deassign => (
                    self.rids.iter().filter(phantom).copied().collect(),
                    self.rids.iter().filter(|r| !phantom(r)).copied().collect(),
                ),
            };
        first.into_iter().chain(second)
    }
}

/// What the broker answers when pci does not list `device`'s requester
/// IDs: a device pci's enumeration did not trust (a hostile or broken config
/// space, or a bus two bridges claim) is unassignable, with pci's reason;
/// anything else is a fact that could not be read. Either way no context
/// entry is derived, so nothing is changed.
pub fn rids_refused(device: Bdf, e: ClientError<PciError>) -> BrokerError {
    match e {
        ClientError::Op(PciError::Unassignable { flaw, .. }) => {
            BrokerError::Unassignable { device, flaw }
        }
        _ => BrokerError::PlatformFact(device),
    }
}

/// Names the role of each requester ID the pci server listed for a device
/// (in its assign order): the device itself, its upstream bridge, the
/// (secondary bus, 0.0) alias of a PCIe-to-PCI bridge, phantom functions of
/// its own slot, and anything else (the ME quirk's alias on bus 0).
pub fn classify_rids(
    info: &DeviceInfo,
    bridge: Option<&DeviceInfo>,
    ids: &[Bdf],
) -> Vec<Rid, MAX_DEVICE_RIDS> {
    let secbus_alias = bridge
        .filter(|b| b.kind == DeviceKind::PcieToPciBridge)
        .and_then(|b| b.secondary_bus)
        .map(|bus| Bdf {
            bus,
            device: 0,
            function: 0,
        });
    ids.iter()
        .map(|&bdf| {
            let role = if bdf == info.device {
                RidRole::Device
            } else if Some(bdf) == info.upstream_bridge {
                RidRole::Bridge
            } else if Some(bdf) == secbus_alias {
                RidRole::SecondaryBus
            } else if bdf.bus == info.device.bus && bdf.device == info.device.device {
                RidRole::Phantom
            } else {
                RidRole::MePhantom
            };
            Rid { bdf, role }
        })
        .take(MAX_DEVICE_RIDS)
        .collect()
}

#[cfg(test)]
mod tests {
    use idl_types::{BrokerError, DeviceFlaw, PciError};

    use super::*;

    const DEVICE: Bdf = Bdf {
        bus: 1,
        device: 1,
        function: 0,
    };
    const FAKE: Bdf = Bdf {
        bus: 0,
        device: 2,
        function: 0,
    };
    const BRIDGE: Bdf = Bdf {
        bus: 0,
        device: 3,
        function: 0,
    };

    #[test]
    fn a_device_pci_does_not_trust_is_refused_as_unassignable_with_pcis_reason() {
        let flaw = DeviceFlaw::BehindDisputedBus {
            bus: 1,
            first: FAKE,
            second: BRIDGE,
        };
        let refused = ClientError::Op(PciError::Unassignable {
            device: DEVICE,
            flaw,
        });
        let error = rids_refused(DEVICE, refused);
        assert_eq!(
            error,
            BrokerError::Unassignable {
                device: DEVICE,
                flaw
            }
        );
        let words = std::format!("{error}");
        assert!(
            words.contains("00:02.0") && words.contains("00:03.0"),
            "{words}"
        );
    }

    #[test]
    fn any_other_refusal_of_the_requester_ids_is_a_fact_that_could_not_be_read() {
        assert_eq!(
            rids_refused(DEVICE, ClientError::Op(PciError::NoDevice(DEVICE))),
            BrokerError::PlatformFact(DEVICE)
        );
        assert_eq!(
            rids_refused(DEVICE, ClientError::AccessDenied),
            BrokerError::PlatformFact(DEVICE)
        );
    }
}
