//! The plan's rules as tables, with no peer: each row a situation and what
//! planning must answer.

use std::vec;
use std::vec::Vec;

use idl_types::{
    Bdf, BrokerError, ContextState, Custody, Did, DomainId, MemRange, ReassignMode, TaskIndex,
    UnitId,
};

use super::*;
use crate::books::Books;
use crate::facts::{DeviceFacts, Rid, RidRole};
use crate::memory::DomainMap;

const UNIT: UnitId = UnitId(0);
const D1: DomainId = DomainId(1);
const D2: DomainId = DomainId(2);
const D3: DomainId = DomainId(3);
const ENDPOINT: Bdf = bdf(0, 1, 0);
const PHANTOM_OWNER: Bdf = bdf(0, 2, 0);
const PHANTOM: Bdf = bdf(0, 2, 4);
const BRIDGE: Bdf = bdf(0, 3, 0);
const SECBUS: Bdf = bdf(1, 0, 0);
const LEGACY: Bdf = bdf(1, 1, 0);
const LEGACY_RMRR: Bdf = bdf(1, 2, 0);
const LEGACY2: Bdf = bdf(1, 3, 0);
const RMRR_ENDPOINT: Bdf = bdf(0, 0x1f, 2);
const RMRR: MemRange = MemRange {
    base: 0xf_0000_0000,
    end: 0xf_0000_1fff,
};

const fn bdf(bus: u8, device: u8, function: u8) -> Bdf {
    Bdf {
        bus,
        device,
        function,
    }
}

const fn in_domain(domain: DomainId) -> ContextState {
    ContextState::Domain {
        domain,
        did: Did(domain.0),
    }
}

fn facts(device: Bdf) -> DeviceFacts {
    let rid = |bdf, role| Rid { bdf, role };
    let (kind, rids, rmrrs): (_, Vec<Rid>, Vec<MemRange>) = match device {
        LEGACY | LEGACY_RMRR | LEGACY2 => (
            idl_types::DeviceKind::LegacyEndpoint,
            vec![
                rid(device, RidRole::Device),
                rid(BRIDGE, RidRole::Bridge),
                rid(SECBUS, RidRole::SecondaryBus),
            ],
            if device == LEGACY_RMRR {
                vec![RMRR]
            } else {
                vec![]
            },
        ),
        PHANTOM_OWNER => (
            idl_types::DeviceKind::Endpoint,
            vec![rid(device, RidRole::Device), rid(PHANTOM, RidRole::Phantom)],
            vec![],
        ),
        _ => (
            idl_types::DeviceKind::Endpoint,
            vec![rid(device, RidRole::Device)],
            if device == RMRR_ENDPOINT {
                vec![RMRR]
            } else {
                vec![]
            },
        ),
    };
    DeviceFacts {
        device,
        unit: UNIT,
        kind,
        rids: rids.into_iter().collect(),
        rmrrs: rmrrs.into_iter().collect(),
        phantom_stride: u8::from(device == PHANTOM_OWNER) * 4,
        alone_behind_bridge: false,
    }
}

/// Whether a device sits behind the test machine's PCIe-to-PCI bridge.
fn behind_bridge(device: Bdf) -> bool {
    device.bus == SECBUS.bus
}

/// A world: devices with their custody (facts known), the hardware's
/// entries, and what the held neighbours' own entries hold.
struct World {
    books: Books,
    hardware: Vec<(Bdf, ContextState)>,
    /// Functions behind the bridge that the broker does not keep.
    strangers: usize,
    /// The domains' memory.
    memory: Vec<DomainMap>,
    /// The moving device's interrupt entry (None: its MSI is not remapped).
    interrupt: Option<InterruptNow>,
    /// The domains' interrupt vectors.
    vectors: Vec<(DomainId, u8)>,
    /// The moving device's registers (None: not in custody).
    registers: Option<RegistersNow>,
}

impl World {
    fn new(devices: &[(Bdf, Custody)]) -> World {
        let mut books = Books::new();
        for d in [D1, D2, D3] {
            books.add_domain(d, TaskIndex(d.0));
        }
        let mut hardware = Vec::new();
        for &(device, custody) in devices {
            books.add_device(device);
            books.set_custody(device, custody);
            if let Some(r) = books.device_mut(device) {
                r.facts = Some(facts(device));
            }
            let state = match custody {
                Custody::Domain(d) => in_domain(d),
                Custody::Quarantined => ContextState::Quarantine {
                    did: Did(0x8000 + u16::from(device.device)),
                },
                Custody::Unassigned => ContextState::NotPresent,
            };
            for rid in facts(device).rids.iter() {
                // An unassigned device leaves the aliases to its neighbours.
                if custody == Custody::Unassigned && rid.role.is_shared_alias() {
                    continue;
                }
                hardware.retain(|(r, _)| *r != rid.bdf);
                hardware.push((rid.bdf, state));
            }
        }
        World {
            books,
            hardware,
            interrupt: None,
            vectors: Vec::new(),
            registers: None,
            strangers: 0,
            memory: Vec::new(),
        }
    }

    /// The facts of `device` here: alone behind its bridge when no other
    /// function (kept or not) is.
    fn facts(&self, device: Bdf) -> DeviceFacts {
        let mut f = facts(device);
        let others = self
            .books
            .devices()
            .iter()
            .filter(|d| d.device != device && behind_bridge(d.device))
            .count();
        f.alone_behind_bridge = behind_bridge(device) && others + self.strangers == 0;
        f
    }

    /// Adds a function behind the bridge the broker does not keep.
    fn stranger(mut self) -> World {
        self.strangers += 1;
        self
    }

    fn neighbours(&self, device: Bdf) -> Vec<Neighbour> {
        let mine = facts(device);
        let mut out = Vec::new();
        for d in self.books.devices() {
            if d.device == device || d.custody == Custody::Unassigned {
                continue;
            }
            let theirs = facts(d.device);
            for alias in mine.rids.iter().filter(|r| r.role.is_shared_alias()) {
                if theirs.rids.iter().any(|r| r.bdf == alias.bdf) {
                    out.push(Neighbour {
                        device: d.device,
                        alias: alias.bdf,
                        custody: d.custody,
                        has_rmrr: theirs.has_rmrr(),
                        own: self.state(d.device),
                    });
                }
            }
        }
        out
    }

    fn state(&self, rid: Bdf) -> ContextState {
        self.hardware
            .iter()
            .find(|(r, _)| *r == rid)
            .map_or(ContextState::NotPresent, |(_, s)| *s)
    }

    fn plan(&self, device: Bdf, target: Custody, dying: bool) -> Result<Planned, BrokerError> {
        self.plan_with(device, target, dying, false)
    }

    fn plan_with(
        &self,
        device: Bdf,
        target: Custody,
        dying: bool,
        two_step: bool,
    ) -> Result<Planned, BrokerError> {
        let f = self.facts(device);
        let hardware: Vec<(Bdf, ContextState)> =
            f.rids.iter().map(|r| (r.bdf, self.state(r.bdf))).collect();
        let neighbours = self.neighbours(device);
        let source = self
            .books
            .device(device)
            .map_or(Custody::Unassigned, |d| d.custody);
        let s = Situation {
            facts: &f,
            source,
            hardware: &hardware,
            neighbours: &neighbours,
            books: &self.books,
            memory: &self.memory,
            two_step,
            interrupt: self.interrupt,
            vectors: &self.vectors,
            registers: self.registers,
        };
        plan_move(
            &MoveRequest {
                device,
                target,
                dying,
            },
            &s,
        )
    }
}

fn moved(planned: Result<Planned, BrokerError>) -> Plan {
    match planned {
        Ok(Planned::Move(plan)) => plan,
        other => panic!("expected a move, got {other:?}"),
    }
}

/// The requester IDs a plan writes, in order.
fn switched(plan: &Plan) -> Vec<Bdf> {
    plan.steps
        .iter()
        .filter_map(|s| match s {
            PlannedStep::SwitchContext { rid, .. } | PlannedStep::QuarantineRid { rid, .. } => {
                Some(*rid)
            }
            _ => None,
        })
        .collect()
}

#[test]
fn a_device_already_with_its_target_is_xens_no_op() {
    let w = World::new(&[(ENDPOINT, Custody::Domain(D1))]);
    assert!(matches!(
        w.plan(ENDPOINT, Custody::Domain(D1), false),
        Ok(Planned::AlreadyThere(_))
    ));
}

#[test]
fn a_pcie_endpoint_moves_with_a_did_and_one_switch() {
    let w = World::new(&[(ENDPOINT, Custody::Domain(D1))]);
    let plan = moved(w.plan(ENDPOINT, Custody::Domain(D2), false));
    assert_eq!(
        plan.steps.first(),
        Some(&PlannedStep::AcquireDid {
            unit: UNIT,
            domain: D2
        })
    );
    assert_eq!(switched(&plan), [ENDPOINT]);
    assert_eq!(
        plan.cleanup.as_slice(),
        [Cleanup::ReleaseDid {
            unit: UNIT,
            domain: D1,
            device: ENDPOINT
        }]
    );
}

#[test]
fn rmrrs_are_mapped_into_the_target_before_the_switch_and_unmapped_from_the_source_after() {
    let w = World::new(&[(RMRR_ENDPOINT, Custody::Domain(D1))]);
    let plan = moved(w.plan(RMRR_ENDPOINT, Custody::Domain(D2), false));
    let map = plan
        .steps
        .iter()
        .position(|s| matches!(s, PlannedStep::MapRmrr { domain: D2, .. }));
    let switch = plan
        .steps
        .iter()
        .position(|s| matches!(s, PlannedStep::SwitchContext { .. }));
    assert!(map < switch && map.is_some());
    assert!(plan.mode.contains(ReassignMode::WITH_RMRR));
    assert!(plan.cleanup.contains(&Cleanup::UnmapRange {
        domain: D1,
        range: pages_of(&RMRR)
    }));
}

#[test]
fn a_legacy_device_switches_itself_then_its_bridge_then_secbus_0_0() {
    let w = World::new(&[(LEGACY, Custody::Domain(D1))]);
    let plan = moved(w.plan(LEGACY, Custody::Domain(D2), false));
    assert_eq!(switched(&plan), [LEGACY, BRIDGE, SECBUS]);
}

#[test]
fn phantom_functions_follow_the_real_function_on_assign_and_precede_it_on_release() {
    let w = World::new(&[(PHANTOM_OWNER, Custody::Domain(D1))]);
    let plan = moved(w.plan(PHANTOM_OWNER, Custody::Domain(D2), false));
    assert_eq!(switched(&plan), [PHANTOM_OWNER, PHANTOM]);
    let plan = moved(w.plan(PHANTOM_OWNER, Custody::Unassigned, false));
    assert_eq!(switched(&plan), [PHANTOM, PHANTOM_OWNER]);
}

#[test]
fn quarantine_takes_a_pseudo_did_and_the_devices_own_tables() {
    let w = World::new(&[(ENDPOINT, Custody::Domain(D1))]);
    let plan = moved(w.plan(ENDPOINT, Custody::Quarantined, true));
    assert_eq!(
        plan.steps.first(),
        Some(&PlannedStep::AcquireQuarantineDid { unit: UNIT })
    );
    assert!(matches!(
        plan.steps.get(1),
        Some(PlannedStep::QuarantineRid { rid: ENDPOINT, .. })
    ));
}

#[test]
fn xens_mode_flags() {
    // (situation, device, target, dying, flags that must be set, flags that must not)
    let alone = World::new(&[(ENDPOINT, Custody::Domain(D1))]);
    let together = World::new(&[
        (ENDPOINT, Custody::Domain(D1)),
        (PHANTOM_OWNER, Custody::Domain(D1)),
    ]);
    let rmrr = World::new(&[(RMRR_ENDPOINT, Custody::Domain(D1))]);
    let phantoms = World::new(&[(PHANTOM_OWNER, Custody::Domain(D1))]);
    let cases: [(&World, Bdf, Custody, bool, ReassignMode, ReassignMode); 6] = [
        (
            &alone,
            ENDPOINT,
            Custody::Domain(D2),
            false,
            ReassignMode::SINGLE_DEVICE,
            ReassignMode::OWNER_DYING,
        ),
        (
            &together,
            ENDPOINT,
            Custody::Domain(D2),
            false,
            ReassignMode::default(),
            ReassignMode::SINGLE_DEVICE,
        ),
        (
            &alone,
            ENDPOINT,
            Custody::Quarantined,
            true,
            ReassignMode::OWNER_DYING,
            ReassignMode::SINGLE_DEVICE,
        ),
        (
            &rmrr,
            RMRR_ENDPOINT,
            Custody::Domain(D2),
            false,
            ReassignMode::WITH_RMRR.union(ReassignMode::SINGLE_DEVICE),
            ReassignMode::OWNER_DYING,
        ),
        (
            &phantoms,
            PHANTOM_OWNER,
            Custody::Domain(D2),
            false,
            ReassignMode::default(),
            ReassignMode::SINGLE_DEVICE,
        ),
        (
            &alone,
            ENDPOINT,
            Custody::Domain(D1),
            false,
            ReassignMode::default(),
            ReassignMode::ALL,
        ),
    ];
    for (i, (w, device, target, dying, set, unset)) in cases.into_iter().enumerate() {
        let mode = match w.plan(device, target, dying) {
            Ok(Planned::Move(plan)) => plan.mode,
            Ok(Planned::AlreadyThere(_)) => ReassignMode::default(),
            Err(e) => panic!("case {i}: refused {e:?}"),
        };
        assert!(mode.contains(set), "case {i}: {mode:?} lacks {set:?}");
        assert_eq!(mode.0 & unset.0, 0, "case {i}: {mode:?} has {unset:?}");
    }
}

#[test]
fn an_rmrr_device_is_never_left_without_translation() {
    for device in [RMRR_ENDPOINT, LEGACY_RMRR] {
        let w = World::new(&[(device, Custody::Domain(D1))]);
        assert_eq!(
            w.plan(device, Custody::Unassigned, false),
            Err(BrokerError::WouldDisconnectRmrr(device))
        );
    }
}

#[test]
fn the_pre_xsa400_two_step_clears_each_present_entry_before_setting_it() {
    let w = World::new(&[(ENDPOINT, Custody::Domain(D1))]);
    let plan = moved(w.plan_with(ENDPOINT, Custody::Domain(D2), false, true));
    assert_eq!(switched(&plan), [ENDPOINT, ENDPOINT]);
    assert!(matches!(
        plan.steps.get(1),
        Some(PlannedStep::SwitchContext {
            to: NewEntry::State(ContextState::NotPresent),
            ..
        })
    ));
}

#[test]
fn releasing_a_device_keeps_hands_over_or_clears_each_shared_alias() {
    // Both in domain 1 with the aliases on it: a neighbour backs them.
    let w = World::new(&[
        (LEGACY_RMRR, Custody::Domain(D1)),
        (LEGACY, Custody::Domain(D1)),
    ]);
    assert_eq!(
        switched(&moved(w.plan(LEGACY, Custody::Unassigned, false))),
        [LEGACY]
    );
    // Alone: cleared with it.
    let w = World::new(&[(LEGACY, Custody::Domain(D1))]);
    assert_eq!(
        switched(&moved(w.plan(LEGACY, Custody::Unassigned, false))),
        [LEGACY, BRIDGE, SECBUS]
    );
    // Both quarantined, the aliases on its own tables: handed over to the
    // neighbour's quarantine (a sink either way).
    let w = World::new(&[
        (LEGACY2, Custody::Quarantined),
        (LEGACY, Custody::Quarantined),
    ]);
    let plan = moved(w.plan(LEGACY, Custody::Unassigned, false));
    let neighbours = ContextState::Quarantine { did: Did(0x8003) };
    assert!(plan.steps.iter().any(|s| matches!(
        s,
        PlannedStep::SwitchContext {
            rid: BRIDGE,
            to: NewEntry::State(state),
            backer: LEGACY2,
            ..
        } if *state == neighbours
    )));
}

/// Beyond Xen: devices behind one bridge move together. (world,
/// device, target, the neighbour named in the refusal, if refused).
#[test]
fn a_move_that_changes_what_a_held_neighbour_sees_through_an_alias_is_refused() {
    let pair = |a: Custody, b: Custody| World::new(&[(LEGACY2, a), (LEGACY, b)]);
    let d1 = Custody::Domain(D1);
    let q = Custody::Quarantined;
    let none = Custody::Unassigned;
    let cases: [(&str, World, Bdf, Custody, Option<Bdf>); 9] = [
        (
            "to another domain",
            pair(d1, d1),
            LEGACY,
            Custody::Domain(D2),
            Some(LEGACY2),
        ),
        ("to quarantine", pair(d1, d1), LEGACY, q, Some(LEGACY2)),
        (
            "neighbour unassigned",
            pair(none, d1),
            LEGACY,
            Custody::Domain(D2),
            None,
        ),
        (
            "joining the neighbour's domain",
            pair(d1, none),
            LEGACY,
            d1,
            None,
        ),
        (
            "joining another domain",
            pair(d1, none),
            LEGACY,
            Custody::Domain(D2),
            Some(LEGACY2),
        ),
        ("both in quarantine", pair(q, none), LEGACY, q, None),
        (
            "from quarantine to a domain",
            pair(q, q),
            LEGACY,
            d1,
            Some(LEGACY2),
        ),
        (
            "released, the neighbour keeps the aliases",
            pair(d1, d1),
            LEGACY,
            none,
            None,
        ),
        (
            "an RMRR neighbour needs the same tables, even in quarantine",
            World::new(&[(LEGACY_RMRR, q), (LEGACY, none)]),
            LEGACY,
            q,
            Some(LEGACY_RMRR),
        ),
    ];
    for (name, w, device, target, neighbour) in cases {
        let planned = w.plan(device, target, false);
        match neighbour {
            Some(neighbour) => assert_eq!(
                planned,
                Err(BrokerError::AliasInUse {
                    device,
                    alias: BRIDGE,
                    neighbour
                }),
                "{name}"
            ),
            None => assert!(
                matches!(planned, Ok(Planned::Move(_))),
                "{name}: {planned:?}"
            ),
        }
    }
}

/// Xen's EOPNOTSUPP and where custody goes beyond it: (world,
/// target, dying, refused?).
#[test]
fn an_rmrr_device_behind_a_bridge_moves_only_when_alone_there_or_not_yet_present() {
    let refused = Err(BrokerError::RmrrBehindSharedBridge {
        device: LEGACY_RMRR,
        bridge: BRIDGE,
    });
    let shared = || {
        World::new(&[
            (LEGACY_RMRR, Custody::Domain(D1)),
            (LEGACY, Custody::Domain(D1)),
        ])
    };
    let alone = || World::new(&[(LEGACY_RMRR, Custody::Domain(D1))]);
    let cases: [(&str, World, Custody, bool, bool); 8] = [
        (
            "neighbour in the same domain",
            shared(),
            Custody::Domain(D2),
            false,
            true,
        ),
        (
            "neighbour unassigned",
            World::new(&[
                (LEGACY_RMRR, Custody::Domain(D1)),
                (LEGACY, Custody::Unassigned),
            ]),
            Custody::Domain(D2),
            false,
            true,
        ),
        (
            "a function the broker does not keep",
            alone().stranger(),
            Custody::Domain(D2),
            false,
            true,
        ),
        ("to quarantine", shared(), Custody::Quarantined, false, true),
        (
            "to quarantine, its owner dying",
            shared(),
            Custody::Quarantined,
            true,
            true,
        ),
        (
            "alone behind the bridge",
            alone(),
            Custody::Domain(D2),
            false,
            false,
        ),
        (
            "alone, to quarantine",
            alone(),
            Custody::Quarantined,
            true,
            false,
        ),
        (
            "first assignment (entry not present)",
            World::new(&[
                (LEGACY_RMRR, Custody::Unassigned),
                (LEGACY, Custody::Unassigned),
            ]),
            Custody::Domain(D2),
            false,
            false,
        ),
    ];
    for (name, w, target, dying, refuse) in cases {
        let planned = w.plan(LEGACY_RMRR, target, dying);
        if refuse {
            assert_eq!(planned, refused, "{name}");
        } else {
            assert!(
                matches!(planned, Ok(Planned::Move(_))),
                "{name}: {planned:?}"
            );
        }
    }
}

#[test]
fn xens_refusal_is_only_for_rmrr_devices_behind_a_bridge() {
    let w = World::new(&[
        (RMRR_ENDPOINT, Custody::Domain(D1)),
        (LEGACY, Custody::Domain(D1)),
        (LEGACY_RMRR, Custody::Unassigned),
    ]);
    for device in [RMRR_ENDPOINT, LEGACY] {
        let planned = w.plan(device, Custody::Domain(D2), false);
        assert!(
            matches!(planned, Ok(Planned::Move(_))),
            "{device}: {planned:?}"
        );
    }
}

#[test]
fn an_rmrr_over_the_target_domains_memory_is_refused_before_any_step() {
    let mut w = World::new(&[(RMRR_ENDPOINT, Custody::Domain(D1))]);
    w.memory.push(DomainMap {
        domain: D2,
        iova: RMRR.base + 0x1000,
        phys: 0x4000_0000,
        bytes: 0x10_0000,
    });
    assert_eq!(
        w.plan(RMRR_ENDPOINT, Custody::Domain(D2), false),
        Err(BrokerError::RmrrOverlapsDomainMemory {
            device: RMRR_ENDPOINT,
            domain: D2,
            iova: RMRR.base + 0x1000
        })
    );
    assert!(matches!(
        w.plan(RMRR_ENDPOINT, Custody::Domain(D3), false),
        Ok(Planned::Move(_))
    ));
}

#[test]
fn single_device_is_not_claimed_while_a_device_of_the_source_has_unknown_facts() {
    let mut w = World::new(&[
        (ENDPOINT, Custody::Domain(D1)),
        (PHANTOM_OWNER, Custody::Domain(D1)),
    ]);
    if let Some(r) = w.books.device_mut(PHANTOM_OWNER) {
        r.facts = None;
    }
    let plan = moved(w.plan(ENDPOINT, Custody::Domain(D2), false));
    assert!(!plan.mode.contains(ReassignMode::SINGLE_DEVICE));
}

/// Vectors of the test domains D1 and D2 (D3 has none).
const V1: u8 = 64;
const V2: u8 = 65;

fn with_interrupts(mut w: World, current: InterruptRoute) -> World {
    w.vectors = vec![(D1, V1), (D2, V2)];
    w.interrupt = Some(InterruptNow { handle: 3, current });
    w
}

fn delivering(vector: u8, source: idl_types::MsiSource) -> InterruptRoute {
    InterruptRoute::Deliver {
        vector,
        destination: crate::interrupts::MSI_DESTINATION,
        source,
    }
}

fn irte_steps(plan: &Plan) -> Vec<(usize, u16, InterruptRoute, InterruptRoute)> {
    plan.steps
        .iter()
        .enumerate()
        .filter_map(|(i, s)| match *s {
            PlannedStep::SetIrte { handle, from, to } => Some((i, handle, from, to)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_move_points_the_interrupt_at_the_targets_vector_after_the_dma_moved() {
    let exact = idl_types::MsiSource::Exact(ENDPOINT);
    let w = with_interrupts(
        World::new(&[(ENDPOINT, Custody::Domain(D1))]),
        delivering(V1, exact),
    );
    let plan = moved(w.plan(ENDPOINT, Custody::Domain(D2), false));
    let irte = irte_steps(&plan);
    assert_eq!(
        irte.iter().map(|s| (s.1, s.2, s.3)).collect::<Vec<_>>(),
        [(3, delivering(V1, exact), delivering(V2, exact))]
    );
    // The last step: the interrupt follows the DMA, never precedes it.
    assert_eq!(irte[0].0, plan.steps.len() - 1);
}

#[test]
fn quarantine_and_release_block_the_interrupt() {
    let exact = idl_types::MsiSource::Exact(ENDPOINT);
    for target in [Custody::Quarantined, Custody::Unassigned] {
        let w = with_interrupts(
            World::new(&[(ENDPOINT, Custody::Domain(D1))]),
            delivering(V1, exact),
        );
        let plan = moved(w.plan(ENDPOINT, target, false));
        assert_eq!(
            irte_steps(&plan).iter().map(|s| s.3).collect::<Vec<_>>(),
            [InterruptRoute::Blocked],
            "{target:?}"
        );
    }
}

#[test]
fn a_domain_without_a_vector_gets_its_devices_with_their_interrupts_blocked() {
    let exact = idl_types::MsiSource::Exact(ENDPOINT);
    let w = with_interrupts(
        World::new(&[(ENDPOINT, Custody::Domain(D1))]),
        delivering(V1, exact),
    );
    let plan = moved(w.plan(ENDPOINT, Custody::Domain(D3), false));
    assert_eq!(
        irte_steps(&plan).iter().map(|s| s.3).collect::<Vec<_>>(),
        [InterruptRoute::Blocked]
    );
}

#[test]
fn an_entry_that_already_routes_right_plans_no_interrupt_step() {
    let w = with_interrupts(
        World::new(&[(ENDPOINT, Custody::Domain(D1))]),
        InterruptRoute::Blocked,
    );
    let plan = moved(w.plan(ENDPOINT, Custody::Quarantined, false));
    assert!(irte_steps(&plan).is_empty());
}

#[test]
fn a_device_whose_msi_is_not_remapped_plans_no_interrupt_step() {
    let mut w = with_interrupts(
        World::new(&[(ENDPOINT, Custody::Domain(D1))]),
        InterruptRoute::Blocked,
    );
    w.interrupt = None;
    let plan = moved(w.plan(ENDPOINT, Custody::Domain(D2), false));
    assert!(irte_steps(&plan).is_empty());
}

#[test]
fn a_device_behind_a_pcie_to_pci_bridge_is_checked_by_bus_range_as_linux_does() {
    use idl_types::MsiSource;
    assert_eq!(
        crate::interrupts::msi_source(&facts(LEGACY)),
        MsiSource::BusRange {
            first: SECBUS.bus,
            last: LEGACY.bus
        }
    );
    assert_eq!(
        crate::interrupts::msi_source(&facts(ENDPOINT)),
        MsiSource::Exact(ENDPOINT)
    );
    // A device behind a conventional PCI bridge only: the bridge's ID.
    let mut f = facts(LEGACY);
    f.rids.retain(|r| r.role != RidRole::SecondaryBus);
    assert_eq!(crate::interrupts::msi_source(&f), MsiSource::Exact(BRIDGE));
}

// Registers in custody: owner of D1 is task 1, of D2 task 2 (`World::new`).

fn with_registers(mut w: World, holder: Option<TaskIndex>) -> World {
    w.registers = Some(RegistersNow { index: 4, holder });
    w
}

fn register_steps(plan: &Plan) -> Vec<(usize, PlannedStep)> {
    plan.steps
        .iter()
        .enumerate()
        .filter(|(_, s)| {
            matches!(
                s,
                PlannedStep::RevokeRegisters { .. } | PlannedStep::GrantRegisters { .. }
            )
        })
        .map(|(i, s)| (i, s.clone()))
        .collect()
}

#[test]
fn a_move_revokes_the_old_owners_registers_then_grants_the_new_owners_as_its_last_steps() {
    let w = with_registers(
        with_interrupts(
            World::new(&[(ENDPOINT, Custody::Domain(D1))]),
            delivering(V1, idl_types::MsiSource::Exact(ENDPOINT)),
        ),
        Some(TaskIndex(1)),
    );
    let plan = moved(w.plan(ENDPOINT, Custody::Domain(D2), false));
    let regs = register_steps(&plan);
    let n = plan.steps.len();
    assert_eq!(
        regs,
        [
            (
                n - 2,
                PlannedStep::RevokeRegisters {
                    index: 4,
                    from: TaskIndex(1)
                }
            ),
            (
                n - 1,
                PlannedStep::GrantRegisters {
                    index: 4,
                    to: TaskIndex(2)
                }
            ),
        ],
        "after the DMA and the interrupt moved, revoke before grant"
    );
}

#[test]
fn quarantine_and_release_revoke_the_registers_and_grant_them_to_no_one() {
    for target in [Custody::Quarantined, Custody::Unassigned] {
        let w = with_registers(
            World::new(&[(ENDPOINT, Custody::Domain(D1))]),
            Some(TaskIndex(1)),
        );
        let plan = moved(w.plan(ENDPOINT, target, false));
        assert_eq!(
            register_steps(&plan)
                .into_iter()
                .map(|s| s.1)
                .collect::<Vec<_>>(),
            [PlannedStep::RevokeRegisters {
                index: 4,
                from: TaskIndex(1)
            }],
            "{target:?}"
        );
    }
}

#[test]
fn registers_the_target_owner_already_holds_need_no_step() {
    // Two domains of one owner, or a replay after the grant happened.
    let w = with_registers(
        World::new(&[(ENDPOINT, Custody::Domain(D1))]),
        Some(TaskIndex(2)),
    );
    let plan = moved(w.plan(ENDPOINT, Custody::Domain(D2), false));
    assert!(register_steps(&plan).is_empty());
}

#[test]
fn registers_held_by_a_stranger_are_revoked_before_the_owner_gets_them() {
    // A corrupt or hostile start left them with task 7: the move takes them
    // from whoever the kernel says holds them, not from whom the books expect.
    let w = with_registers(
        World::new(&[(ENDPOINT, Custody::Unassigned)]),
        Some(TaskIndex(7)),
    );
    let plan = moved(w.plan(ENDPOINT, Custody::Domain(D1), false));
    assert_eq!(
        register_steps(&plan)
            .into_iter()
            .map(|s| s.1)
            .collect::<Vec<_>>(),
        [
            PlannedStep::RevokeRegisters {
                index: 4,
                from: TaskIndex(7)
            },
            PlannedStep::GrantRegisters {
                index: 4,
                to: TaskIndex(1)
            }
        ]
    );
}

#[test]
fn a_device_without_registers_in_custody_gets_no_register_step() {
    let w = World::new(&[(ENDPOINT, Custody::Domain(D1))]);
    let plan = moved(w.plan(ENDPOINT, Custody::Domain(D2), false));
    assert!(register_steps(&plan).is_empty());
}
