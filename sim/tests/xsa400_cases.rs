//! Each case of Xen's fix ("VT-d: re-assign devices directly") on the
//! real servers, on QEMU's platform with one device of each kind:
//! endpoint 00:01.0, endpoint with RMRR 00:1f.2, legacy 01:01.0 and legacy
//! with RMRR 01:02.0 behind the pcie-pci-bridge 00:03.0, legacy with RMRR
//! 03:01.0 alone behind the pcie-pci-bridge 00:05.0, endpoint with phantom
//! function 00:02.4 at 00:02.0.

use idl_types::{Bdf, BrokerError, Custody, DomainId, ReassignMode};
use sim::hardware::Owner;
use sim::machine::{with_machine, Machine, Op};
use sim::transport::{Fault, Sent};
use sim::{fixtures, Platform};
use task_broker::Knobs;

const ENDPOINT: Bdf = bdf(0, 1, 0);
const RMRR_ENDPOINT: Bdf = bdf(0, 0x1f, 2);
const LEGACY: Bdf = bdf(1, 1, 0);
const LEGACY_RMRR: Bdf = bdf(1, 2, 0);
const PHANTOM_OWNER: Bdf = bdf(0, 2, 0);
const PHANTOM: Bdf = bdf(0, 2, 4);
const BRIDGE: Bdf = bdf(0, 3, 0);
const LONE_LEGACY_RMRR: Bdf = bdf(3, 1, 0);
const LONE_BRIDGE: Bdf = bdf(0, 5, 0);
const LONE_SECBUS_ALIAS: Bdf = bdf(3, 0, 0);
const D1: DomainId = DomainId(1);
const D2: DomainId = DomainId(2);
const D3: DomainId = DomainId(3);
const OP_ACQUIRE: u32 = domid::domid::Op::Acquire as u32;
const OP_MAP_RANGE: u32 = task_iommu::iommu::Op::MapRange as u32;
const OP_UNMAP_RANGE: u32 = task_iommu::iommu::Op::UnmapRange as u32;
const OP_SET_CONTEXT: u32 = task_iommu::iommu::Op::SetContext as u32;

const fn bdf(bus: u8, device: u8, function: u8) -> Bdf {
    Bdf {
        bus,
        device,
        function,
    }
}

fn run(f: impl FnOnce(&mut Machine<'_, '_, '_>)) {
    let p = fixtures::load(fixtures::QEMU)
        .and_then(Platform::matrix)
        .expect("matrix platform");
    let violations = with_machine(&p, Knobs::default(), |m| {
        f(m);
        m.out.violations.clone()
    })
    .expect("machine boots");
    assert!(violations.is_empty(), "{violations:#?}");
}

fn owner(m: &Machine<'_, '_, '_>, rid: Bdf) -> Owner {
    let unit = idl_types::UnitId(0);
    m.hw.owner(unit, &m.hw.entry(unit, rid))
}

fn trace(m: &Machine<'_, '_, '_>) -> Vec<Sent> {
    m.ctl.borrow().trace.clone()
}

fn switches(m: &Machine<'_, '_, '_>) -> Vec<(Bdf, ReassignMode)> {
    trace(m)
        .iter()
        .filter(|s| s.task == "iommu" && s.op == OP_SET_CONTEXT)
        .filter_map(|s| s.context)
        .collect()
}

fn other_domain(m: &Machine<'_, '_, '_>, d: Bdf) -> DomainId {
    match m.custody(d) {
        Some(Custody::Domain(D1)) => D2,
        _ => D1,
    }
}

#[test]
fn pcie_endpoint_reassigns_with_one_context_write() {
    run(|m| {
        m.step(Op::Reassign(ENDPOINT, D3), None);
        assert_eq!(m.last, Some(Ok(())));
        assert_eq!(switches(m).len(), 1);
        assert_eq!(owner(m, ENDPOINT), Owner::Domain(D3));
    });
}

#[test]
fn an_rmrr_device_alone_behind_its_bridge_moves_with_both_aliases_beyond_xen() {
    run(|m| {
        m.step(Op::Reassign(LONE_LEGACY_RMRR, D3), None);
        assert_eq!(m.last, Some(Ok(())));
        let order: Vec<Bdf> = switches(m).iter().map(|s| s.0).collect();
        assert_eq!(order, [LONE_LEGACY_RMRR, LONE_BRIDGE, LONE_SECBUS_ALIAS]);
        for rid in [LONE_LEGACY_RMRR, LONE_BRIDGE, LONE_SECBUS_ALIAS] {
            assert_eq!(owner(m, rid), Owner::Domain(D3), "{rid}");
        }
    });
}

#[test]
fn xen_refuses_to_move_a_present_rmrr_device_sharing_its_bridge() {
    run(|m| {
        // Its neighbour 01:01.0 is in the same domain: Xen refuses
        // anyway (the alias would take the neighbour's DMA along).
        assert_eq!(m.custody(LEGACY), m.custody(LEGACY_RMRR));
        let before = owner(m, LEGACY_RMRR);
        for target in [Op::Reassign(LEGACY_RMRR, D3), Op::Quarantine(LEGACY_RMRR)] {
            m.step(target, None);
            assert_eq!(
                m.last,
                Some(Err(BrokerError::RmrrBehindSharedBridge {
                    device: LEGACY_RMRR,
                    bridge: BRIDGE
                }))
            );
            assert!(switches(m).is_empty(), "nothing written");
            assert_eq!(owner(m, LEGACY_RMRR), before);
        }
    });
}

#[test]
fn phantom_functions_follow_the_real_function_on_assign() {
    run(|m| {
        m.step(Op::Reassign(PHANTOM_OWNER, D3), None);
        let order: Vec<Bdf> = switches(m).iter().map(|s| s.0).collect();
        assert_eq!(order, [PHANTOM_OWNER, PHANTOM]);
        assert_eq!(owner(m, PHANTOM), Owner::Domain(D3));
    });
}

#[test]
fn phantom_function_failure_rolls_back_all() {
    run(|m| {
        m.step(Op::Reassign(PHANTOM_OWNER, D3), None);
        let sent = trace(m);
        let phantom_switch = sent
            .iter()
            .position(|s| s.context.is_some_and(|c| c.0 == PHANTOM))
            .expect("the phantom is switched");
        m.step(Op::Reassign(PHANTOM_OWNER, D1), None);
        let before = m.custody(PHANTOM_OWNER).expect("known");
        let Custody::Domain(was) = before else {
            panic!("in a domain")
        };
        m.step(
            Op::Reassign(PHANTOM_OWNER, D3),
            Some(Fault::Message {
                task: "iommu",
                message: phantom_switch,
                after: false,
            }),
        );
        assert!(m.last.is_some_and(|r| r.is_err()));
        assert_eq!(owner(m, PHANTOM_OWNER), Owner::Domain(was));
        assert_eq!(owner(m, PHANTOM), Owner::Domain(was));
    });
}

#[test]
fn host_bridge_is_skipped() {
    run(|m| {
        let host = bdf(0, 0, 0);
        assert!(m.platform.device(host).is_none(), "never a movable device");
        assert_eq!(owner(m, host), Owner::None);
        m.step(Op::Reassign(host, D1), None);
        assert_eq!(m.last, Some(Err(BrokerError::UnknownDevice(host))));
        assert_eq!(owner(m, host), Owner::None);
    });
}

#[test]
fn no_op_when_device_already_in_target() {
    run(|m| {
        let Some(Custody::Domain(d)) = m.custody(ENDPOINT) else {
            panic!("assigned at boot")
        };
        m.step(Op::Reassign(ENDPOINT, d), None);
        assert_eq!(m.last, Some(Ok(())));
        let sent = trace(m);
        assert!(!sent.iter().any(|s| s.task == "domid" && s.op == OP_ACQUIRE));
        assert!(switches(m).is_empty());
    });
}

#[test]
fn rmrr_maps_added_before_switch_removed_after() {
    run(|m| {
        m.step(Op::Reassign(RMRR_ENDPOINT, D3), None);
        let sent = trace(m);
        let at = |op: u32| sent.iter().position(|s| s.task == "iommu" && s.op == op);
        let map = at(OP_MAP_RANGE).expect("mapped into the target");
        let switch = at(OP_SET_CONTEXT).expect("switched");
        let unmap = at(OP_UNMAP_RANGE).expect("unmapped from the source");
        assert!(map < switch && switch < unmap, "{sent:?}");
        assert!(switches(m)[0].1.contains(ReassignMode::WITH_RMRR));
    });
}

#[test]
fn owner_death_quarantines_with_owner_dying() {
    run(|m| {
        let theirs: Vec<Bdf> = m
            .platform
            .devices
            .iter()
            .map(|d| d.bdf)
            .filter(|d| m.custody(*d) == Some(Custody::Domain(D1)))
            .collect();
        assert!(!theirs.is_empty());
        m.step(Op::OwnerDied("dma-a"), None);
        assert!(switches(m)
            .iter()
            .all(|(_, mode)| mode.contains(ReassignMode::OWNER_DYING)));
        for d in &theirs {
            assert_eq!(m.custody(*d), Some(Custody::Quarantined), "{d}");
        }
        m.step(Op::Reclaim("dma-a", theirs[0], D1), None);
        assert_eq!(m.last, Some(Ok(())), "the owner may ask again");
    });
}

#[test]
fn single_device_mode_when_alone_behind_unit() {
    run(|m| {
        m.step(Op::Reassign(ENDPOINT, D3), None);
        m.step(Op::Reassign(ENDPOINT, D1), None);
        assert!(switches(m)[0].1.contains(ReassignMode::SINGLE_DEVICE));
        m.step(Op::Reassign(ENDPOINT, D2), None);
        assert!(!switches(m)[0].1.contains(ReassignMode::SINGLE_DEVICE));
    });
}

#[test]
fn unauthorized_request_changes_nothing() {
    run(|m| {
        let before = m.custody(ENDPOINT);
        m.step(Op::Unauthorized("dma-b", ENDPOINT, D1), None);
        assert_eq!(m.last, Some(Err(BrokerError::NotPermitted(ENDPOINT))));
        assert!(trace(m).is_empty(), "no message sent");
        assert_eq!(m.custody(ENDPOINT), before);
    });
}

#[test]
fn broker_restart_replays_unfinished_journal() {
    run(|m| {
        m.step(Op::Reassign(RMRR_ENDPOINT, D3), None);
        let first_switch = trace(m)
            .iter()
            .position(|s| s.op == OP_SET_CONTEXT && s.task == "iommu")
            .expect("switched");
        let back = D1;
        m.step(Op::Reassign(RMRR_ENDPOINT, back), None);
        let replays = m.broker_ref().stats().replays;
        m.step(
            Op::Reassign(RMRR_ENDPOINT, D3),
            Some(Fault::Message {
                task: "broker",
                message: first_switch,
                after: true,
            }),
        );
        assert_eq!(m.broker_ref().stats().replays, replays + 1);
        assert_eq!(owner(m, RMRR_ENDPOINT), Owner::Domain(back), "undone");
    });
}

#[test]
fn a_device_sharing_its_bridge_with_a_held_rmrr_device_is_refused_unchanged() {
    run(|m| {
        // Xen would let 01:01.0 take the bridge aliases along,
        // stranding 01:02.0's DMA and its RMRR on the new owner's tables.
        let away = other_domain(m, LEGACY);
        let before = owner(m, BRIDGE);
        m.step(Op::Reassign(LEGACY, away), None);
        assert_eq!(
            m.last,
            Some(Err(BrokerError::AliasInUse {
                device: LEGACY,
                alias: BRIDGE,
                neighbour: LEGACY_RMRR
            }))
        );
        assert!(switches(m).is_empty(), "nothing written");
        assert_eq!(owner(m, BRIDGE), before);
    });
}
