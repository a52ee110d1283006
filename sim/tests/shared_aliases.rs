//! The bridge aliases two conventional devices share, on QEMU's platform:
//! legacy 01:01.0 and legacy-with-RMRR 01:02.0 behind the pcie-pci-bridge
//! 00:03.0 (aliases 00:03.0 and (secondary bus, 0.0) = 01:00.0). Both boot
//! in domain 2. Their DMA may arrive through either alias, so they move
//! together: a move that would change what the other sees through an alias
//! is refused (Xen let the alias follow the device moved last,
//! stranding the other, RMRR and all).
//!
//! Each test also runs every invariant after every request (`run` fails on
//! any): DMA and RMRR through every alias, nothing a request did not move
//! changed, no DID kept after domid freed it, no device counted twice.

use domid::DidAllocator;
use idl_types::{Bdf, BrokerError, Custody, DomainId, UnitId};
use sim::hardware::Owner;
use sim::machine::{initial_assignments, with_machine, with_machine_assigning, Machine, Op};
use task_broker::{DeviceConfig, Knobs};

mod common;
use common::{platform, D1, D2};

const ENDPOINT: Bdf = bdf(0, 1, 0);
const LEGACY: Bdf = bdf(1, 1, 0);
const LEGACY_RMRR: Bdf = bdf(1, 2, 0);
const BRIDGE: Bdf = bdf(0, 3, 0);
const SECBUS_ALIAS: Bdf = bdf(1, 0, 0);
const ALIASES: [Bdf; 2] = [BRIDGE, SECBUS_ALIAS];
const D3: DomainId = DomainId(3);
const UNIT: UnitId = UnitId(0);
const OP_SET_CONTEXT: u32 = task_iommu::iommu::Op::SetContext as u32;

const fn bdf(bus: u8, device: u8, function: u8) -> Bdf {
    Bdf {
        bus,
        device,
        function,
    }
}

fn clean(violations: Result<Vec<String>, String>) {
    let violations = violations.expect("machine boots");
    assert!(violations.is_empty(), "{violations:#?}");
}

fn run(f: impl FnOnce(&mut Machine<'_, '_, '_>)) {
    clean(with_machine(&platform(), Knobs::default(), |m| {
        assert_eq!(m.custody(LEGACY), Some(Custody::Domain(D2)));
        assert_eq!(m.custody(LEGACY_RMRR), Some(Custody::Domain(D2)));
        f(m);
        m.out.violations.clone()
    }));
}

fn owner(m: &Machine<'_, '_, '_>, rid: Bdf) -> Owner {
    m.hw.owner(UNIT, &m.hw.entry(UNIT, rid))
}

fn did(m: &Machine<'_, '_, '_>, rid: Bdf) -> u16 {
    m.hw.entry(UNIT, rid).did
}

/// The DID domid holds for `domain` on the unit.
fn domid_did(m: &Machine<'_, '_, '_>, domain: DomainId) -> Option<u16> {
    m.servers
        .with_dids(|d| {
            d.did_of(domid::wire::unit(UNIT), domid::wire::domain(domain))
                .ok()
                .flatten()
                .map(|d| d.0)
        })
        .flatten()
}

/// How many devices of `domain` domid counts on the unit.
fn domid_devices(m: &Machine<'_, '_, '_>, domain: DomainId) -> usize {
    m.servers
        .with_dids(|d| {
            d.devices_of(domid::wire::unit(UNIT), domid::wire::domain(domain))
                .unwrap_or(0)
        })
        .unwrap_or(0)
}

fn written(m: &Machine<'_, '_, '_>) -> Vec<Bdf> {
    m.ctl
        .borrow()
        .trace
        .iter()
        .filter(|s| s.task == "iommu" && s.op == OP_SET_CONTEXT)
        .filter_map(|s| s.context.map(|c| c.0))
        .collect()
}

fn backer(m: &Machine<'_, '_, '_>, alias: Bdf) -> Option<Bdf> {
    m.broker_ref().books().rid(alias).map(|r| r.device)
}

fn refused(m: &Machine<'_, '_, '_>, device: Bdf, neighbour: Bdf) {
    assert_eq!(
        m.last,
        Some(Err(BrokerError::AliasInUse {
            device,
            alias: BRIDGE,
            neighbour,
        }))
    );
    assert!(written(m).is_empty(), "nothing written");
}

#[test]
fn moving_a_device_whose_neighbour_uses_its_bridge_aliases_is_refused_unchanged() {
    run(|m| {
        for target in [D1, D3] {
            m.step(Op::Reassign(LEGACY, target), None);
            refused(m, LEGACY, LEGACY_RMRR);
        }
        assert_eq!(m.custody(LEGACY), Some(Custody::Domain(D2)));
        for alias in ALIASES {
            assert_eq!(owner(m, alias), Owner::Domain(D2), "{alias}");
        }
    });
}

#[test]
fn quarantining_a_device_whose_neighbour_uses_its_bridge_aliases_is_refused() {
    run(|m| {
        m.step(Op::Quarantine(LEGACY), None);
        refused(m, LEGACY, LEGACY_RMRR);
        assert_eq!(m.custody(LEGACY), Some(Custody::Domain(D2)));
    });
}

#[test]
fn releasing_a_device_leaves_aliases_its_neighbour_backs_untouched() {
    run(|m| {
        m.step(Op::Release(LEGACY), None);
        assert_eq!(m.last, Some(Ok(())));
        assert_eq!(written(m), [LEGACY], "only its own entry is written");
        for alias in ALIASES {
            assert_eq!(owner(m, alias), Owner::Domain(D2), "{alias}");
            assert_eq!(backer(m, alias), Some(LEGACY_RMRR), "{alias}");
        }
        // Unassigned, it may join its neighbour's domain again (the aliases
        // already hold it), and nowhere else.
        m.step(Op::Reassign(LEGACY, D3), None);
        refused(m, LEGACY, LEGACY_RMRR);
        m.step(Op::Reassign(LEGACY, D2), None);
        assert_eq!(m.last, Some(Ok(())));
    });
}

/// QEMU's platform with 01:02.0 (the RMRR device) left unassigned at boot
/// and 01:01.0 in domain 1.
fn with_rmrr_device_unassigned(f: impl FnOnce(&mut Machine<'_, '_, '_>)) {
    let p = platform();
    let devices: Vec<DeviceConfig> = initial_assignments(&p)
        .into_iter()
        .map(|d| DeviceConfig {
            initial: match d.device {
                LEGACY_RMRR => None,
                LEGACY => Some(D1),
                _ => d.initial,
            },
            ..d
        })
        .collect();
    clean(with_machine_assigning(&p, devices, Knobs::default(), |m| {
        f(m);
        m.out.violations.clone()
    }));
}

#[test]
fn a_device_whose_neighbour_is_unassigned_moves_with_its_aliases_and_frees_the_did() {
    with_rmrr_device_unassigned(|m| {
        m.step(Op::Reassign(LEGACY, D3), None);
        assert_eq!(m.last, Some(Ok(())));
        let d3 = domid_did(m, D3).expect("domain 3 has a DID");
        for alias in ALIASES {
            assert_eq!(owner(m, alias), Owner::Domain(D3), "{alias}");
            assert_eq!(did(m, alias), d3, "{alias}");
        }
        m.step(Op::Release(LEGACY), None);
        assert_eq!(m.last, Some(Ok(())));
        // No held device uses the aliases: cleared with it, and domain 3's
        // DID is free for the next device, which shares it with no alias.
        for alias in ALIASES {
            assert_eq!(owner(m, alias), Owner::None, "{alias}");
        }
        assert_eq!(domid_did(m, D3), None, "domain 3 holds no device here");
        m.step(Op::Reassign(ENDPOINT, D3), None);
        assert_eq!(m.last, Some(Ok(())));
    });
}

#[test]
fn an_rmrr_device_first_assigned_joins_its_neighbours_domain_and_no_other() {
    with_rmrr_device_unassigned(|m| {
        assert_eq!(owner(m, LEGACY_RMRR), Owner::None);
        assert_eq!(owner(m, BRIDGE), Owner::Domain(D1));
        // Xen would map the alias to the new owner (its own entry is
        // not present): the neighbour's DMA would follow. Refused.
        m.step(Op::Reassign(LEGACY_RMRR, D2), None);
        refused(m, LEGACY_RMRR, LEGACY);
        // Into the neighbour's domain the aliases do not change.
        m.step(Op::Reassign(LEGACY_RMRR, D1), None);
        assert_eq!(m.last, Some(Ok(())));
        for alias in ALIASES {
            assert_eq!(owner(m, alias), Owner::Domain(D1), "{alias}");
        }
        // Now both are pinned: Xen refuses to move the RMRR device,
        // and moving the other would take the RMRR device's alias along.
        m.step(Op::Reassign(LEGACY_RMRR, D3), None);
        assert_eq!(
            m.last,
            Some(Err(BrokerError::RmrrBehindSharedBridge {
                device: LEGACY_RMRR,
                bridge: BRIDGE,
            }))
        );
        m.step(Op::Reassign(LEGACY, D3), None);
        refused(m, LEGACY, LEGACY_RMRR);
    });
}

#[test]
fn after_a_domid_restart_shared_aliases_are_credited_to_the_device_they_match() {
    with_rmrr_device_unassigned(|m| {
        m.step(Op::Reassign(LEGACY, D3), None);
        assert_eq!(m.last, Some(Ok(())));
        m.step(Op::Reassign(LEGACY_RMRR, D3), None);
        assert_eq!(m.last, Some(Ok(())));
        m.step(Op::Restart("domid"), None);
        for alias in ALIASES {
            let b = backer(m, alias);
            assert!(
                b == Some(LEGACY) || b == Some(LEGACY_RMRR),
                "{alias}: {b:?}"
            );
        }
        assert_eq!(
            domid_devices(m, D3),
            2,
            "each device of domain 3 counted once"
        );
        // Releasing one keeps the aliases (the other backs them).
        m.step(Op::Release(LEGACY), None);
        assert_eq!(m.last, Some(Ok(())));
        assert_eq!(domid_devices(m, D3), 1);
        for alias in ALIASES {
            assert_eq!(owner(m, alias), Owner::Domain(D3), "{alias}");
            assert_eq!(backer(m, alias), Some(LEGACY_RMRR), "{alias}");
        }
    });
}

#[test]
fn after_a_broker_restart_shared_aliases_are_credited_to_the_device_they_match() {
    with_rmrr_device_unassigned(|m| {
        m.step(Op::Reassign(LEGACY, D3), None);
        assert_eq!(m.last, Some(Ok(())));
        // The broker dies before its first message of a request that
        // would have changed nothing, and restarts from its journal.
        m.step(
            Op::Reassign(ENDPOINT, D3),
            Some(sim::Fault::Message {
                task: "broker",
                message: 0,
                after: false,
            }),
        );
        for alias in ALIASES {
            assert_eq!(backer(m, alias), Some(LEGACY), "{alias}");
        }
        m.step(Op::Release(LEGACY), None);
        assert_eq!(m.last, Some(Ok(())));
        for alias in ALIASES {
            assert_eq!(owner(m, alias), Owner::None, "{alias}");
        }
        assert_eq!(
            domid_did(m, D3).is_some(),
            m.custody(ENDPOINT) == Some(Custody::Domain(D3))
        );
    });
}
