//! `devices`, `domains`, `tasks`, `faults`, `stats`.

use std::format;

use idl_runtime::ClientError;
use idl_types::{BrokerEvent, DmaDirection, FaultRecord, SequencedEvent, SupervisorError, UnitId};

use super::fake::{EDU0, EDU1, EDU2, FAULT_BUDGET};
use super::Machine;

#[test]
fn devices_lists_every_device_across_the_brokers_pages() {
    let mut m = Machine::new();
    assert_eq!(
        m.type_line("devices"),
        "\
device   name     owner          rmrr
00:02.0 edu0     dom_a          no
01:01.0 edu1     dom_b          no
00:03.0 edu2     dom_a          no
00:04.0 nic0     (unassigned)   no
"
    );
    assert!(m.asked("broker.list_devices 2"));
}

#[test]
fn devices_when_the_broker_does_not_answer_says_so() {
    let mut m = Machine::with(|s| s.broker_up = false);
    let out = m.type_line("devices");
    assert!(out.ends_with("error: the broker did not answer\n"), "{out}");
    let out = m.type_line("domains");
    assert_eq!(out, "error: the broker did not answer\n");
}

#[test]
fn domains_names_each_owner_and_counts_its_devices() {
    let mut m = Machine::new();
    assert_eq!(
        m.type_line("domains"),
        "dom_a      owner dma_a      2 device(s)\ndom_b      owner dma_b      1 device(s)\n"
    );
}

#[test]
fn tasks_shows_a_row_per_task_and_a_refusal_in_words() {
    let mut m = Machine::with(|s| {
        s.reports.remove(&2);
    });
    let out = m.type_line("tasks");
    assert_eq!(out.lines().count(), super::fake::TASKS.len(), "{out}");
    assert!(out.starts_with("supervisor   gen 1 "), "{out}");
    let refused = ClientError::<SupervisorError>::AccessDenied;
    assert!(
        out.contains(&format!("iommu        error: {refused}\n")),
        "{out}"
    );
    assert!(m.asked("supervisor.task_report 6"));
}

#[test]
fn faults_names_each_fault_its_reason_in_words_dma_and_interrupt_remapping_alike() {
    let mut m = Machine::with(|s| {
        s.events = std::vec![
            SequencedEvent {
                seq: 1,
                event: BrokerEvent::DmaFault {
                    device: EDU0,
                    address: 0x30_0000,
                    reason: 0x2,
                    direction: DmaDirection::Write,
                },
            },
            SequencedEvent {
                seq: 2,
                event: BrokerEvent::DmaFault {
                    device: EDU2,
                    address: 0,
                    reason: 0x25,
                    direction: DmaDirection::Write,
                },
            },
            SequencedEvent {
                seq: 3,
                event: BrokerEvent::FaultQuarantined {
                    device: EDU0,
                    faults: 6,
                },
            },
        ];
        let _ = s.pending_faults.records.push(FaultRecord {
            unit: UnitId(0),
            source: EDU1,
            address: 0x7f0_0000,
            reason: 5,
            direction: DmaDirection::Write,
        });
    });
    assert_eq!(
        m.type_line("faults"),
        format!(
            "\
fault: 00:02.0 (edu0) at 0x300000 blocked (write): context entry not present (reason 0x2)
fault: 00:03.0 (edu2) interrupt blocked: compatibility-format interrupt blocked (remapping on) (reason 0x25)
fault: 00:02.0 (edu0) quarantined after 6 DMA faults within the broker's fault interval (budget {FAULT_BUDGET})
fault: 01:01.0 (edu1) at 0x7f00000 blocked (write): write to a page without write permission (reason 0x5)
"
        )
    );
}

#[test]
fn faults_when_there_are_none_says_so() {
    let mut m = Machine::new();
    assert_eq!(m.type_line("faults"), "no DMA faults recorded\n");
}

#[test]
fn stats_shows_the_iommus_counters_and_the_brokers() {
    let mut m = Machine::with(|s| {
        let c = s.counters.as_mut().unwrap();
        c.context_changes = 3;
        c.atomic_changes = 3;
        c.iotlb_invalidations.domain = 2;
        s.broker_stats.committed = 4;
        s.broker_stats.cleanups_pending = 1;
    });
    assert_eq!(
        m.type_line("stats"),
        "\
unit 0: 3 context changes (3 atomic, 0 cleared-first, 0 best-effort, 0 data-corruption warnings)
        invalidations: context 0 global / 0 domain / 0 device; IOTLB 0 global / 2 domain / 0 page; 0 DMA faults drained
broker: 4 committed, 0 rolled back, 0 failed rollbacks, 0 journal replays; 1 cleanups pending (0 failed so far)
"
    );
}

#[test]
fn stats_without_the_iommu_still_shows_the_brokers() {
    let mut m = Machine::with(|s| s.counters = None);
    let out = m.type_line("stats");
    let refused = ClientError::<idl_types::IommuError>::AccessDenied;
    assert!(
        out.starts_with(&format!("error: {refused}\nbroker: ")),
        "{out}"
    );
}
