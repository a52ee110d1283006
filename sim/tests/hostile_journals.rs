//! A persist region is input like any other: a journal whose checksums
//! hold but whose transaction is not one the broker made (found by the
//! `journal` fuzz target) must not make the broker's replay program the
//! hardware for requester IDs the transaction does not own.

use idl_types::{Bdf, ContextState, Custody, Did, DomainId, ReassignMode, UnitId};
use sim::machine::with_machine;
use task_broker::{
    iommu, Journal, JournalEntry, Knobs, Phase, TxRecord, TxState, Undo, JOURNAL_BYTES,
};

mod common;
use common::platform;

/// A running transaction of `device` owing one context undo: `rid` into
/// `domain` with DID `did`.
fn journal(device: Bdf, rid: Bdf, domain: u16, did: u16) -> Vec<u8> {
    let mut bytes = vec![0u8; JOURNAL_BYTES];
    let store: &mut [u8] = &mut bytes;
    let (mut j, _) = Journal::open(store).expect("fresh");
    j.mark_booted().expect("in range");
    j.begin(TxRecord {
        device,
        source: Custody::Quarantined,
        target: Custody::Quarantined,
    })
    .expect("in range");
    let undo = Undo::Iommu(iommu::Compensation::SetContext(iommu::SetContextArgs {
        unit: UnitId(0),
        rid,
        entry: ContextState::Domain {
            domain: DomainId(domain),
            did: Did(did),
        },
        mode: ReassignMode(1),
    }));
    j.append(&JournalEntry {
        step: 1,
        phase: Phase::Done,
        undo,
    })
    .expect("in range");
    j.set_state(TxState::Running).expect("in range");
    bytes
}

/// Restarts the broker over `bytes`: the invariants' violations.
fn replay(bytes: Vec<u8>) -> Vec<String> {
    with_machine(&platform(), Knobs::default(), |m| {
        m.restart_broker_with(bytes).expect("the broker starts");
        m.check("a restart over a hostile journal", None);
        m.out.violations.clone()
    })
    .expect("machine boots")
}

#[test]
fn a_journal_of_an_unknown_device_programs_no_context_entry() {
    let unknown = Bdf {
        bus: 0x13,
        device: 0,
        function: 0,
    };
    let foreign = Bdf {
        bus: 0,
        device: 0,
        function: 1,
    };
    let v = replay(journal(unknown, foreign, 1, 0));
    assert!(v.is_empty(), "{v:#?}");
}

/// The device behind the bridge, which has an RMRR, in domain 2 at start.
const BEHIND_BRIDGE: Bdf = Bdf {
    bus: 1,
    device: 2,
    function: 0,
};

/// A committed move of `device` from `source` to `target`, owing nothing:
/// only the source's cleanup is left.
fn committed(device: Bdf, source: Custody, target: Custody) -> Vec<u8> {
    let mut bytes = vec![0u8; JOURNAL_BYTES];
    let store: &mut [u8] = &mut bytes;
    let (mut j, _) = Journal::open(store).expect("fresh");
    j.begin(TxRecord {
        device,
        source,
        target,
    })
    .expect("in range");
    j.set_state(TxState::Committed).expect("in range");
    bytes
}

/// Found by the `journal` fuzz target: a journal claiming that the device
/// behind the bridge (which has an RMRR) was moved out of its domain to a
/// domain that does not exist. The source's cleanup unmapped the RMRR
/// from the domain the device is still in.
#[test]
fn a_committed_move_the_hardware_does_not_show_takes_no_rmrr_from_the_device_still_there() {
    let v = replay(committed(
        BEHIND_BRIDGE,
        Custody::Domain(DomainId(2)),
        Custody::Domain(DomainId(105)),
    ));
    assert!(v.is_empty(), "{v:#?}");
}

/// Found by the `journal` fuzz target after the fix above: a committed
/// "move" of the device from its domain into that same domain. The
/// hardware shows the device in the target, but the source's cleanup
/// unmapped the RMRR it still needs there.
#[test]
fn a_committed_move_into_the_domain_it_came_from_takes_no_rmrr_from_the_device() {
    let v = replay(committed(
        BEHIND_BRIDGE,
        Custody::Domain(DomainId(2)),
        Custody::Domain(DomainId(2)),
    ));
    assert!(v.is_empty(), "{v:#?}");
}
