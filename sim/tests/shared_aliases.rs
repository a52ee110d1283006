//! The bridge aliases two conventional devices share, on QEMU's platform:
//! legacy 01:01.0 and legacy-with-RMRR 01:02.0 behind the pcie-pci-bridge
//! 00:03.0 (aliases 00:03.0 and (secondary bus, 0.0) = 01:00.0). Both boot
//! in domain 2.
//!
//! Each test also runs every invariant after every request (`run` fails on
//! any), so a DID an alias keeps after domid freed it, or a device domid
//! counts twice, fails it even where no assertion names it.

use domid::DidAllocator;
use idl_types::{Bdf, BrokerError, Custody, DomainId, UnitId};
use sim::hardware::Owner;
use sim::machine::{initial_assignments, with_machine, with_machine_assigning, Machine, Op};
use sim::{fixtures, Platform};
use task_broker::{DeviceConfig, Knobs};

const ENDPOINT: Bdf = bdf(0, 1, 0);
const LEGACY: Bdf = bdf(1, 1, 0);
const LEGACY_RMRR: Bdf = bdf(1, 2, 0);
const BRIDGE: Bdf = bdf(0, 3, 0);
const SECBUS_ALIAS: Bdf = bdf(1, 0, 0);
const ALIASES: [Bdf; 2] = [BRIDGE, SECBUS_ALIAS];
const D1: DomainId = DomainId(1);
const D2: DomainId = DomainId(2);
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

fn platform() -> Platform {
    fixtures::load(fixtures::QEMU)
        .and_then(Platform::matrix)
        .expect("matrix platform")
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

#[test]
fn releasing_the_device_that_moved_the_bridge_aliases_hands_them_to_its_neighbour() {
    run(|m| {
        m.step(Op::Reassign(LEGACY, D3), None);
        assert_eq!(m.last, Some(Ok(())));
        let d3 = domid_did(m, D3).expect("domain 3 has a DID");
        for alias in ALIASES {
            assert_eq!(owner(m, alias), Owner::Domain(D3), "{alias}");
            assert_eq!(did(m, alias), d3, "{alias}");
        }
        m.step(Op::Release(LEGACY), None);
        assert_eq!(m.last, Some(Ok(())));
        assert_eq!(owner(m, LEGACY), Owner::None);
        // The neighbour still needs the aliases: they follow its custody
        // and carry its DID, and domain 3's DID is free.
        for alias in ALIASES {
            assert_eq!(owner(m, alias), Owner::Domain(D2), "{alias}");
            assert_eq!(did(m, alias), did(m, LEGACY_RMRR), "{alias}");
            assert_eq!(backer(m, alias), Some(LEGACY_RMRR), "{alias}");
        }
        assert_eq!(domid_did(m, D3), None, "domain 3 holds no device here");
        // Whoever gets a DID for domain 3 next shares it with no alias.
        m.step(Op::Reassign(ENDPOINT, D3), None);
        assert_eq!(m.last, Some(Ok(())));
        for alias in ALIASES {
            assert_ne!(did(m, alias), did(m, ENDPOINT), "{alias}");
        }
    });
}

#[test]
fn releasing_a_quarantined_device_hands_the_bridge_aliases_off_its_pseudo_did() {
    run(|m| {
        m.step(Op::Quarantine(LEGACY), None);
        assert_eq!(m.last, Some(Ok(())));
        for alias in ALIASES {
            assert_eq!(owner(m, alias), Owner::Quarantine(LEGACY), "{alias}");
        }
        m.step(Op::Release(LEGACY), None);
        assert_eq!(m.last, Some(Ok(())));
        for alias in ALIASES {
            assert_eq!(owner(m, alias), Owner::Domain(D2), "{alias}");
            assert_eq!(did(m, alias), did(m, LEGACY_RMRR), "{alias}");
        }
        let pseudo = m
            .servers
            .with_dids(|d| {
                domid::wire::rid(LEGACY)
                    .ok()
                    .and_then(|r| d.pseudo_did_of(domid::wire::unit(UNIT), r).ok())
                    .flatten()
            })
            .flatten();
        assert_eq!(pseudo, None, "the pseudo-DID is free");
        // The freed pseudo-DID may go to the next quarantined device.
        m.step(Op::Quarantine(ENDPOINT), None);
        assert_eq!(m.last, Some(Ok(())));
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
        }
    });
}

#[test]
fn after_a_domid_restart_shared_aliases_are_credited_to_the_device_they_match() {
    run(|m| {
        // The RMRR neighbour comes first in the books, so it is resynced
        // first; the aliases match the device that moved them.
        m.step(Op::Reassign(LEGACY, D3), None);
        assert_eq!(m.last, Some(Ok(())));
        let in_d2 = domid_devices(m, D2);
        m.step(Op::Restart("domid"), None);
        for alias in ALIASES {
            assert_eq!(backer(m, alias), Some(LEGACY), "{alias}");
        }
        assert_eq!(domid_devices(m, D3), 1, "only 01:01.0 is in domain 3");
        assert_eq!(domid_devices(m, D2), in_d2, "01:02.0 is not counted twice");
        // Moving it back frees domain 3's DID.
        m.step(Op::Reassign(LEGACY, D2), None);
        assert_eq!(m.last, Some(Ok(())));
        assert_eq!(domid_did(m, D3), None);
    });
}

#[test]
fn after_a_broker_restart_shared_aliases_are_credited_to_the_device_they_match() {
    run(|m| {
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
            assert_eq!(owner(m, alias), Owner::Domain(D2), "{alias}");
        }
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
fn rmrr_device_first_assignment_takes_bridge_alias_of_other_owner() {
    with_rmrr_device_unassigned(|m| {
        assert_eq!(owner(m, LEGACY_RMRR), Owner::None);
        assert_eq!(owner(m, BRIDGE), Owner::Domain(D1));
        // Not a direct reassignment (its own entry is not present): the
        // seed maps the alias to the new owner, so does the broker.
        m.step(Op::Reassign(LEGACY_RMRR, D2), None);
        assert_eq!(m.last, Some(Ok(())));
        assert_eq!(owner(m, LEGACY_RMRR), Owner::Domain(D2));
        for alias in ALIASES {
            assert_eq!(owner(m, alias), Owner::Domain(D2), "{alias}");
        }
        assert_eq!(owner(m, LEGACY), Owner::Domain(D1), "its own entry stays");
    });
}

#[test]
fn rmrr_device_direct_reassignment_with_bridge_alias_of_other_owner_is_still_refused() {
    with_rmrr_device_unassigned(|m| {
        m.step(Op::Reassign(LEGACY_RMRR, D2), None);
        assert_eq!(m.last, Some(Ok(())));
        m.step(Op::Reassign(LEGACY, D3), None);
        assert_eq!(owner(m, BRIDGE), Owner::Domain(D3));
        // Now its own entry is present and the owner would change.
        m.step(Op::Reassign(LEGACY_RMRR, D1), None);
        assert_eq!(
            m.last,
            Some(Err(BrokerError::RmrrBehindSharedBridge {
                device: LEGACY_RMRR,
                bridge: BRIDGE,
            }))
        );
        assert!(written(m).is_empty(), "nothing written");
        assert_eq!(owner(m, LEGACY_RMRR), Owner::Domain(D2));
    });
}
