//! A second fault during the recovery from a first (Xen needed
//! MAP_ERROR_RECOVERY, commit 99d829dba1, not to roll back an in-progress
//! rollback): after a fault anywhere in a reassignment, another task dies
//! at a message of what follows (the rest of the rollback, the broker's
//! restart and journal replay, the iommu's takeover, the books and domid
//! rebuilt, pci told again). `cargo xtask sim` runs every such cell; the
//! tests here a representative slice of every device kind, and the case
//! the Xen fix names.

use idl_types::{Bdf, BrokerError, Custody, DomainId};
use sim::machine::{with_machine, Op};
use sim::run::{run_double_matrix_of, KINDS};
use sim::Fault;
use task_broker::Knobs;

mod common;
use common::platform;

/// Every 31st first fault of the single matrix, every 17th second fault of
/// its recovery: each kind, both faults on every task, in a few seconds.
const SLICE: (usize, usize) = (31, 17);
const OP_SET_CONTEXT: u32 = task_iommu::iommu::Op::SetContext as u32;
const RMRR_ENDPOINT: Bdf = Bdf {
    bus: 0,
    device: 0x1f,
    function: 2,
};

#[test]
fn a_second_fault_during_the_recovery_from_the_first_finds_no_violation_for_each_device_kind() {
    let (cells, o) = run_double_matrix_of(&platform(), &KINDS, Knobs::default(), SLICE);
    assert!(cells > 0 && o.faults > 0);
    assert!(
        o.violations.is_empty(),
        "{} violations in {cells} cells, first: {:#?}",
        o.violations.len(),
        &o.violations[..o.violations.len().min(3)]
    );
}

#[test]
fn the_iommu_dying_again_while_its_death_is_being_rolled_back_loses_nothing() {
    let p = platform();
    // Where the forward switch of the RMRR endpoint goes out.
    let switch = with_machine(&p, Knobs::default(), |m| {
        m.step(Op::Reassign(RMRR_ENDPOINT, DomainId(3)), None);
        m.ctl
            .borrow()
            .trace
            .iter()
            .position(|s| s.task == "iommu" && s.op == OP_SET_CONTEXT)
            .expect("switched")
    })
    .expect("machine boots");
    for after in [false, true] {
        for second in 0..4 {
            let violations = with_machine(&p, Knobs::default(), |m| {
                let Some(Custody::Domain(home)) = m.custody(RMRR_ENDPOINT) else {
                    panic!("assigned at boot")
                };
                // The iommu dies at the switch; the rollback (the undo of
                // the switch, the books re-read) meets it dead again.
                m.step_twice(
                    Op::Reassign(RMRR_ENDPOINT, DomainId(3)),
                    Some(Fault::Message {
                        task: "iommu",
                        message: switch,
                        after,
                    }),
                    Some(Fault::Message {
                        task: "iommu",
                        message: second,
                        after: false,
                    }),
                );
                assert!(m.ctl.borrow().second_fired || second > 0);
                let now = m.custody(RMRR_ENDPOINT);
                let committed = m.last == Some(Ok(()));
                let rolled_back = matches!(
                    m.last,
                    Some(Err(
                        BrokerError::RolledBack { .. } | BrokerError::Quarantined(_)
                    ))
                );
                assert!(
                    (committed && now == Some(Custody::Domain(DomainId(3))))
                        || (rolled_back && matches!(now, Some(Custody::Domain(d)) if d == home)
                            || now == Some(Custody::Quarantined)),
                    "{:?} left it {now:?}",
                    m.last
                );
                m.out.violations.clone()
            })
            .expect("machine boots");
            assert!(violations.is_empty(), "{violations:#?}");
        }
    }
}
