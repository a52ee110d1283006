//! `assign`, `reassign`, `quarantine`, `release`.

use std::format;
use std::vec;

use idl_runtime::ClientError;
use idl_types::{BrokerError, ContextState, ReassignReport};

use super::fake::EDU0;
use super::Machine;

fn not_atomic() -> Option<Result<ReassignReport, ClientError<BrokerError>>> {
    Some(Ok(ReassignReport {
        previous: ContextState::NotPresent,
        current: ContextState::NotPresent,
        atomic: false,
    }))
}

#[test]
fn assign_of_an_unowned_device_asks_the_broker_and_says_done() {
    let mut m = Machine::new();
    assert_eq!(
        m.type_line("assign nic0 dom_a"),
        "00:04.0 (nic0) -> dom_a: done (one atomic context write each)\n"
    );
    assert!(m.asked("broker.assign 00:04.0 1"));
}

#[test]
fn reassign_by_address_moves_the_device_directly() {
    let mut m = Machine::new();
    let out = m.type_line("reassign 00:02.0 dom_b");
    assert_eq!(
        out,
        "00:02.0 (edu0) -> dom_b: done (one atomic context write each)\n"
    );
    assert!(m.asked("broker.reassign 00:02.0 2"));
    assert!(!m.asked("broker.assign"));
}

#[test]
fn reassign_of_an_unknown_domain_says_so_and_asks_nothing() {
    let mut m = Machine::new();
    assert_eq!(
        m.type_line("reassign edu0 dom_z"),
        "error: no domain by that name (see 'domains')\n"
    );
    assert!(m.calls().is_empty());
}

#[test]
fn reassign_of_an_unknown_device_says_so_and_asks_nothing() {
    let mut m = Machine::new();
    assert_eq!(
        m.type_line("reassign edu9 dom_z"),
        "error: no device by that name (see 'devices')\n"
    );
    assert!(m.calls().is_empty());
}

#[test]
fn a_device_on_another_segment_is_refused_without_asking() {
    let mut m = Machine::new();
    assert_eq!(
        m.type_line("quarantine 0001:00:02.0"),
        "error: only segment 0 exists on this machine\n"
    );
    assert!(m.calls().is_empty());
}

#[test]
fn a_broker_refusal_is_given_in_words() {
    let mut m = Machine::with(|s| {
        s.move_answer = Some(Err(ClientError::Op(BrokerError::AlreadyThere(EDU0))));
    });
    assert_eq!(
        m.type_line("assign edu0 dom_a"),
        "error: device 00:02.0 is already there\n"
    );
}

#[test]
fn without_cmpxchg16b_a_move_names_the_fallbacks_xen_took_and_its_warning() {
    let mut m = Machine::with(|s| {
        s.move_answer = not_atomic();
        s.counters_step.cleared_first_changes = 1;
        s.counters_step.best_effort_changes = 2;
        s.counters_step.corruption_warnings = 1;
    });
    assert_eq!(
        m.type_line("reassign edu0 dom_b"),
        "00:02.0 (edu0) -> dom_b: done (no CMPXCHG16B: 1 cleared first (not present for a moment) 2 best effort (DID written last), Xen warns: data corruption possible)\n"
    );
    assert_eq!(
        m.calls(),
        vec![
            "iommu.counters 0",
            "broker.reassign 00:02.0 2",
            "iommu.counters 0"
        ]
    );
}

#[test]
fn a_best_effort_move_without_a_warning_says_why_none() {
    let mut m = Machine::with(|s| {
        s.move_answer = not_atomic();
        s.counters_step.best_effort_changes = 1;
    });
    let out = m.type_line("reassign edu0 dom_b");
    assert!(
        out.ends_with("no CMPXCHG16B: 1 best effort (DID written last), no warning (old owner dying or alone on the unit))\n"),
        "{out}"
    );
}

#[test]
fn a_non_atomic_move_without_counters_says_only_that() {
    let mut m = Machine::with(|s| {
        s.move_answer = not_atomic();
        s.counters = None;
    });
    assert_eq!(
        m.type_line("reassign edu0 dom_b"),
        "00:02.0 (edu0) -> dom_b: done (non-atomic path)\n"
    );
}

#[test]
fn quarantine_and_release_ask_the_broker_and_say_done() {
    let mut m = Machine::new();
    assert_eq!(
        m.type_line("quarantine edu0"),
        "00:02.0 (edu0) -> quarantine: done\n"
    );
    assert_eq!(m.calls(), vec!["broker.quarantine 00:02.0"]);
    assert_eq!(
        m.type_line("release edu1"),
        "01:01.0 (edu1) -> quarantine: done\n"
    );
    assert_eq!(m.calls(), vec!["broker.release 01:01.0"]);
}

#[test]
fn a_refused_quarantine_is_given_in_words() {
    let mut m = Machine::with(|s| s.move_answer = Some(Err(ClientError::Op(BrokerError::Busy))));
    assert_eq!(
        m.type_line("quarantine edu0"),
        format!("error: {}\n", BrokerError::Busy)
    );
}
