//! A device's registers on the simulated machine: the real broker asks the
//! kernel model (the kernel's own `kern::device_regs` decisions over a
//! table of holders) to revoke and grant them as the last two steps of each
//! move. The invariants, checked after every request, hold that a device's
//! registers are mapped into its DMA custodian's owner and no one else (no
//! one in quarantine or unassigned).

use idl_runtime::abi::KipcOp;
use idl_types::{Bdf, Custody, DomainId, TaskIndex};
use sim::machine::{register_index, with_machine, Machine, Op, DOMAINS};
use sim::run::Kind;
use sim::servers::{index, KILLABLE};
use sim::transport::KERNEL;
use sim::Platform;
use task_broker::Knobs;

mod common;
use common::{device_of, message_faults, other, platform, D2};

fn owner(domain: DomainId) -> TaskIndex {
    DOMAINS
        .iter()
        .find(|(d, _)| *d == domain)
        .map(|(_, o)| index(o))
        .expect("a simulated domain")
}

fn holder(m: &Machine<'_, '_, '_>, device: Bdf) -> Option<TaskIndex> {
    let i = register_index(m.platform, device).expect("a platform device");
    m.hw.kernel.holder(usize::from(i))
}

#[test]
fn every_device_starts_with_its_registers_mapped_into_its_domains_owner_only() {
    let p = platform();
    let violations = with_machine(&p, Knobs::default(), |m| {
        for d in &m.platform.devices {
            let Some(Custody::Domain(domain)) = m.custody(d.bdf) else {
                panic!("{} starts unassigned", d.bdf);
            };
            assert_eq!(holder(m, d.bdf), Some(owner(domain)), "{}", d.bdf);
        }
        m.out.violations.clone()
    })
    .expect("machine boots");
    assert!(violations.is_empty(), "{violations:#?}");
}

#[test]
fn a_move_hands_the_registers_to_the_new_owner_and_quarantine_and_release_to_no_one() {
    let p = platform();
    let violations = with_machine(&p, Knobs::default(), |m| {
        for kind in [Kind::Endpoint, Kind::Legacy, Kind::Phantom] {
            let (device, _) = device_of(m, kind);
            let to = other(m.custody(device));
            m.step(Op::Reassign(device, to), None);
            assert_eq!(holder(m, device), Some(owner(to)), "{kind:?}");
            m.step(Op::Quarantine(device), None);
            assert_eq!(holder(m, device), None, "{kind:?} quarantined");
            m.step(Op::Reassign(device, to), None);
            assert_eq!(holder(m, device), Some(owner(to)), "{kind:?} back");
            m.step(Op::Release(device), None);
            assert_eq!(holder(m, device), None, "{kind:?} released");
        }
        m.out.violations.clone()
    })
    .expect("machine boots");
    assert!(violations.is_empty(), "{violations:#?}");
}

/// The message numbers of a move's register requests (revoke, grant), from
/// a fault-free run of the same move.
fn register_messages(p: &Platform, kind: Kind) -> Vec<usize> {
    with_machine(p, Knobs::default(), |m| {
        let (device, _) = device_of(m, kind);
        let to = other(m.custody(device));
        m.step(Op::Reassign(device, to), None);
        let c = m.ctl.borrow();
        c.trace
            .iter()
            .enumerate()
            .filter(|(_, s)| {
                s.task == KERNEL
                    && (s.op == KipcOp::RevokeRegisters as u32
                        || s.op == KipcOp::GrantRegisters as u32)
            })
            .map(|(i, _)| i)
            .collect()
    })
    .expect("machine boots")
}

#[test]
fn killing_each_server_or_the_broker_at_the_revoke_and_grant_leaves_dma_interrupts_and_registers_with_one_owner(
) {
    let p = platform();
    for kind in [Kind::Endpoint, Kind::Legacy] {
        let messages = register_messages(&p, kind);
        assert_eq!(messages.len(), 2, "{kind:?}: a move revokes, then grants");
        for fault in message_faults(&KILLABLE, messages) {
            let violations = with_machine(&p, Knobs::default(), |m| {
                let (device, _) = device_of(m, kind);
                let to = other(m.custody(device));
                m.step(Op::Reassign(device, to), Some(fault));
                let custody = m.custody(device);
                let want = match custody {
                    Some(Custody::Domain(d)) => Some(owner(d)),
                    _ => None,
                };
                assert_eq!(holder(m, device), want, "{kind:?} {fault:?}: {custody:?}");
                m.out.violations.clone()
            })
            .expect("machine boots");
            assert!(violations.is_empty(), "{kind:?} {fault:?}: {violations:#?}");
        }
    }
}

#[test]
fn an_owner_that_dies_loses_its_devices_registers_with_its_devices() {
    let p = platform();
    let violations = with_machine(&p, Knobs::default(), |m| {
        let (device, _) = device_of(m, Kind::Endpoint);
        m.step(Op::Reassign(device, D2), None);
        assert_eq!(holder(m, device), Some(owner(D2)));
        m.step(Op::OwnerDied("dma-b"), None);
        assert_eq!(m.custody(device), Some(Custody::Quarantined));
        assert_eq!(
            holder(m, device),
            None,
            "quarantined with its owner's death"
        );
        m.out.violations.clone()
    })
    .expect("machine boots");
    assert!(violations.is_empty(), "{violations:#?}");
}
