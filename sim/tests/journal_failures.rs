//! A journal that stops taking writes while the broker lives (Xen always
//! attempts its rollback; so must the broker): the undos run from memory,
//! the broker takes no new transaction, and its next start replays the
//! journal against the hardware. On QEMU's matrix platform, moving the
//! endpoint with an RMRR 00:1f.2 to domain 3.

use idl_types::{Bdf, BrokerError, Custody, DomainId};
use sim::machine::{with_machine, Op};
use sim::run::initial_domain;
use sim::{Fault, Platform};
use task_broker::Knobs;

mod common;
use common::platform;

const RMRR_ENDPOINT: Bdf = Bdf {
    bus: 0,
    device: 0x1f,
    function: 2,
};
const D3: DomainId = DomainId(3);
const OP_SET_CONTEXT: u32 = task_iommu::iommu::Op::SetContext as u32;

/// Journal writes of one fault-free move.
fn writes(p: &Platform) -> usize {
    with_machine(p, Knobs::default(), |m| {
        m.step(Op::Reassign(RMRR_ENDPOINT, D3), None);
        m.ctl.borrow().writes
    })
    .expect("machine boots")
}

#[test]
fn a_journal_refusing_any_write_still_rolls_back_and_the_next_start_reconciles() {
    let p = platform();
    let home = initial_domain(&p, RMRR_ENDPOINT).expect("assigned at boot");
    let mut undone_in_memory = 0;
    for write in 0..writes(&p) {
        let violations = with_machine(&p, Knobs::default(), |m| {
            m.step(
                Op::Reassign(RMRR_ENDPOINT, D3),
                Some(Fault::JournalRefuses { write }),
            );
            let result = m.last;
            let switches = m
                .ctl
                .borrow()
                .trace
                .iter()
                .filter(|s| s.task == "iommu" && s.op == OP_SET_CONTEXT)
                .count();
            match result {
                // The move committed before the refused write (the clear
                // after cleanup): done; the next start cleared the journal.
                Some(Ok(())) => assert_eq!(m.custody(RMRR_ENDPOINT), Some(Custody::Domain(D3))),
                // Rolled back from memory: the switch and its undo (and
                // the next start's replay of that undo, which changes
                // nothing).
                Some(Err(BrokerError::RolledBack { .. })) => {
                    if switches >= 2 {
                        undone_in_memory += 1;
                    }
                    assert_eq!(m.custody(RMRR_ENDPOINT), Some(Custody::Domain(home)));
                }
                // Refused before anything was sent.
                Some(Err(BrokerError::JournalFailed)) => assert_eq!(switches, 0, "write {write}"),
                other => panic!("write {write}: {other:?}"),
            }
            // The restarted broker takes transactions again.
            m.step(Op::Reassign(RMRR_ENDPOINT, home), None);
            assert_eq!(m.last, Some(Ok(())), "write {write}");
            m.out.violations.clone()
        })
        .expect("machine boots");
        assert!(violations.is_empty(), "write {write}: {violations:#?}");
    }
    assert!(undone_in_memory > 0, "some refusal came after the switch");
}
