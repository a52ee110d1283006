//! `bench`.

use std::format;
use std::string::String;
use std::vec::Vec;

use super::fake::TICKS;
use super::Machine;

#[test]
fn bench_times_each_reassignment_and_logs_what_xtask_reads() {
    let mut m = Machine::with(|s| s.counters_step.context_changes = 3);
    let out = m.type_line("bench edu0 dom_a dom_b 3");
    assert_eq!(
        out,
        format!(
            "\
bench 00:02.0 (edu0): 3 reassignments dom_a <-> dom_b: median {TICKS} TSC ticks (guest instructions under -icount)
  in all: 3 context writes (0 atomic); context-cache invalidations 0 global / 0 domain / 0 device; IOTLB 0 global / 0 domain / 0 page
  kernel IPC messages delivered: 18
"
        )
    );
    let moves: Vec<String> = m
        .calls()
        .into_iter()
        .filter(|c| c.starts_with("broker.reassign"))
        .collect();
    // The untimed move into DOM1, then DOM2, DOM1, DOM2.
    assert_eq!(
        moves,
        [
            "broker.reassign 00:02.0 1",
            "broker.reassign 00:02.0 2",
            "broker.reassign 00:02.0 1",
            "broker.reassign 00:02.0 2"
        ]
    );
    // The supervisor (task 0) is not asked to count its own messages.
    assert!(!m.asked("supervisor.message_count 0"));
    let log = m.state.borrow().bench_log.clone();
    let sample = format!("BENCH reassign_edu0 {TICKS}");
    assert_eq!(log.iter().filter(|l| **l == sample).count(), 3, "{log:?}");
    for line in [
        "BENCH reassign_edu0_count 3",
        "BENCH reassign_edu0_context_writes 3",
        "BENCH reassign_edu0_iotlb_page 0",
        "BENCH reassign_edu0_kernel_messages 18",
    ] {
        assert!(log.iter().any(|l| l == line), "{line} not in {log:?}");
    }
}

#[test]
fn bench_stops_at_the_first_refused_reassignment_and_says_which() {
    let mut m = Machine::with(|s| s.refuse_moves_from = Some(2));
    assert_eq!(
        m.type_line("bench edu0 dom_a dom_b"),
        "error: reassignment 1 refused: another transaction is running\n"
    );
}

#[test]
fn bench_with_an_unknown_domain_asks_nothing() {
    let mut m = Machine::new();
    assert_eq!(
        m.type_line("bench edu0 dom_a dom_z"),
        "error: no domain by that name (see 'domains')\n"
    );
    assert!(m.calls().is_empty());
}

#[test]
fn bench_without_the_iommus_counters_says_so() {
    let mut m = Machine::with(|s| s.counters = None);
    let out = m.type_line("bench edu0 dom_a dom_b");
    assert!(out.starts_with("error: the iommu's counters: "), "{out}");
}
