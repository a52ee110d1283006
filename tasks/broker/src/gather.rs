//! What a plan is made from (docs/DESIGN.md §6.1), read from the peers
//! before planning: the device's facts (cached in the books), what the
//! hardware holds for each of its requester IDs, and the held neighbours
//! sharing its bridge aliases with their own entries.
//!
//! What a reader must know: these are the only reads of a move; after them
//! `plan` decides without a message, and `execute` only writes.

use heapless::Vec;
use idl_runtime::Transport;
use idl_types::{AliasOrder, Bdf, BrokerError, ContextState, Custody, DeviceKind};

use crate::books::MAX_DEVICES;
use crate::engine::Broker;
use crate::facts::{classify_rids, rids_refused, DeviceFacts, MAX_DEVICE_RIDS};
use crate::journal::JournalStore;
use crate::plan::Neighbour;

/// Neighbours one move considers: every other held device, each once per
/// shared alias it uses (two per device behind a PCIe-to-PCI bridge).
pub const MAX_NEIGHBOURS: usize = 2 * MAX_DEVICES;

/// Functions one PCI segment can hold (the enumeration walk's bound).
const MAX_FUNCTIONS: usize = 256 * 32 * 8;
/// Functions off the root bus the broker keeps the upstream bridge of.
pub const MAX_BRIDGED_FUNCTIONS: usize = 128;

/// Functions off the root bus, each with its upstream bridge.
pub type Topology = Vec<(Bdf, Option<Bdf>), MAX_BRIDGED_FUNCTIONS>;

/// What the hardware holds for each of a device's requester IDs.
pub type Hardware = Vec<(Bdf, ContextState), MAX_DEVICE_RIDS>;

impl<T: Transport + Clone, S: JournalStore> Broker<T, S> {
    /// A device's platform facts, read once from pci and acpi.
    pub(crate) fn facts(&mut self, device: Bdf) -> Result<DeviceFacts, BrokerError> {
        if let Some(f) = self.books.device(device).and_then(|d| d.facts.clone()) {
            return Ok(f);
        }
        let fact = |_| BrokerError::PlatformFact(device);
        let info = self.peers.pci.device_info(device).map_err(fact)?;
        let bridge = match info.upstream_bridge {
            Some(b) if info.kind == DeviceKind::LegacyEndpoint => {
                Some(self.peers.pci.device_info(b).map_err(fact)?)
            }
            _ => None,
        };
        let ids = self
            .peers
            .pci
            .requester_ids(device, AliasOrder::Assign)
            .map_err(|e| rids_refused(device, e))?;
        let unit = self
            .peers
            .acpi
            .unit_of(device)
            .map_err(|_| BrokerError::PlatformFact(device))?;
        let rmrrs = self
            .peers
            .acpi
            .rmrrs_of(device)
            .map_err(|_| BrokerError::PlatformFact(device))?;
        let rids = classify_rids(&info, bridge.as_ref(), &ids.ids);
        let alone_behind_bridge = match bridge {
            Some(b) if rids.iter().any(|r| r.role.is_shared_alias()) => {
                self.alone_behind(device, b.device)?
            }
            _ => false,
        };
        let facts = DeviceFacts {
            device,
            unit,
            kind: info.kind,
            rids,
            rmrrs: rmrrs.ranges,
            phantom_stride: info.phantom_stride,
            alone_behind_bridge,
        };
        if let Some(record) = self.books.device_mut(device) {
            record.facts = Some(facts.clone());
        }
        Ok(facts)
    }

    /// Whether `device` is the only function behind `bridge`: any other
    /// function whose upstream bridge is `bridge` shares its aliases.
    fn alone_behind(&mut self, device: Bdf, bridge: Bdf) -> Result<bool, BrokerError> {
        let topology = self.topology(device)?;
        Ok(!topology
            .iter()
            .any(|&(f, up)| f != device && up == Some(bridge)))
    }

    /// Every function off the root bus with its upstream bridge, read from
    /// pci's enumeration once per life (the topology does not change).
    fn topology(&mut self, asking: Bdf) -> Result<&Topology, BrokerError> {
        if self.topology.is_none() {
            let fact = BrokerError::PlatformFact(asking);
            let mut found = Topology::new();
            let mut after = None;
            // The bound is a guard against a pci server answering in a loop.
            for _ in 0..=MAX_FUNCTIONS {
                let Some(next) = self.peers.pci.next_device(after).map_err(|_| fact)? else {
                    self.topology = Some(found);
                    break;
                };
                // Bus 0 is the root bus: nothing on it is behind a bridge.
                if next.bus != 0 {
                    let info = self.peers.pci.device_info(next).map_err(|_| fact)?;
                    found
                        .push((next, info.upstream_bridge))
                        .map_err(|_| BrokerError::PlanTooLarge(asking))?;
                }
                after = Some(next);
            }
        }
        self.topology
            .as_ref()
            .ok_or(BrokerError::PlatformFact(asking))
    }

    /// Reads the facts of every device of `domain` that lacks them (the
    /// Xen's SINGLE_DEVICE counts the domain's devices behind a unit; one
    /// whose facts cannot be read is counted as if it were there).
    pub(crate) fn read_facts_of(&mut self, domain: idl_types::DomainId) {
        let missing: Vec<Bdf, MAX_DEVICES> = self
            .books
            .devices()
            .iter()
            .filter(|d| d.custody == Custody::Domain(domain) && d.facts.is_none())
            .map(|d| d.device)
            .collect();
        for device in missing {
            let _ = self.facts(device);
        }
    }

    /// What the hardware holds for each of the device's requester IDs.
    pub(crate) fn read_rids(&mut self, facts: &DeviceFacts) -> Result<Hardware, BrokerError> {
        let mut out = Vec::new();
        for rid in facts.rids.iter() {
            let hardware = self
                .peers
                .iommu
                .get_context(facts.unit, rid.bdf)
                .map_err(|_| BrokerError::PeerDown)?;
            // An entry whose tables the iommu does not know cannot be set
            // back by an undo: refuse to touch the device.
            let state = hardware.state().ok_or(BrokerError::Recovering)?;
            let _ = out.push((rid.bdf, state));
        }
        Ok(out)
    }

    /// The held devices (assigned or quarantined) other than `facts`'
    /// behind its unit that use one of its shared aliases, with what their
    /// own entries hold. Facts are read for devices that lack them.
    pub(crate) fn neighbours(
        &mut self,
        facts: &DeviceFacts,
    ) -> Result<Vec<Neighbour, MAX_NEIGHBOURS>, BrokerError> {
        let mut out = Vec::new();
        if !facts.rids.iter().any(|r| r.role.is_shared_alias()) {
            return Ok(out);
        }
        let held: Vec<(Bdf, Custody), MAX_DEVICES> = self
            .books
            .devices()
            .iter()
            .filter(|d| d.device != facts.device && d.custody != Custody::Unassigned)
            .map(|d| (d.device, d.custody))
            .collect();
        for (device, custody) in held {
            // A device whose facts cannot be read now cannot be shown to
            // use the alias; the books keep what they knew.
            let Ok(theirs) = self.facts(device) else {
                continue;
            };
            if theirs.unit != facts.unit {
                continue;
            }
            let mut own = None;
            for alias in facts.rids.iter().filter(|r| r.role.is_shared_alias()) {
                let uses = theirs
                    .rids
                    .iter()
                    .any(|r| r.bdf == alias.bdf && r.role.is_shared_alias());
                if !uses {
                    continue;
                }
                let state = match own {
                    Some(state) => state,
                    None => {
                        let state = self
                            .peers
                            .iommu
                            .get_context(facts.unit, device)
                            .map_err(|_| BrokerError::PeerDown)?
                            .state()
                            .ok_or(BrokerError::Recovering)?;
                        own = Some(state);
                        state
                    }
                };
                let _ = out.push(Neighbour {
                    device,
                    alias: alias.bdf,
                    custody,
                    has_rmrr: theirs.has_rmrr(),
                    own: state,
                });
            }
        }
        Ok(out)
    }
}
