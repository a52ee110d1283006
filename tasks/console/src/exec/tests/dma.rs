//! `dma` and `dma-move`.

use std::vec;

use idl_runtime::ClientError;
use idl_types::{BrokerError, Custody, DmaReport, WorkerError};

use super::fake::{landed, State, DMA_A, DMA_B, EDU0, EDU1};
use super::Machine;

/// edu0 in quarantine: out of the books' domains, registers unmapped.
fn quarantine_edu0(s: &mut State) {
    s.books[0].custody = Custody::Quarantined;
    s.holders.remove(&0);
}

#[test]
fn dma_asks_the_owner_and_says_where_it_landed() {
    let mut m = Machine::new();
    assert_eq!(
        m.type_line("dma edu0"),
        "00:02.0 -> IOVA 0x102000: landed in the owner's buffer (100 ms)\n"
    );
    assert!(
        m.asked("dma_a.dma 00:02.0 0x102000 0x5a"),
        "{:?}",
        m.calls()
    );
}

#[test]
fn successive_dmas_go_to_successive_pages_of_the_owners_buffer() {
    let mut m = Machine::new();
    m.type_line("dma edu1");
    assert!(m.asked("dma_b.dma 01:01.0 0x102000"));
    m.type_line("dma edu1");
    assert!(m.asked("dma_b.dma 01:01.0 0x103000"));
}

#[test]
fn dma_to_a_given_iova_that_misses_says_so_and_that_other_bytes_changed() {
    let mut m = Machine::with(|s| {
        s.workers.get_mut(&DMA_A).unwrap().dma = Some(Ok(DmaReport {
            landed: false,
            rest_untouched: false,
            ..landed(EDU0, 0x30_0000)
        }))
    });
    assert_eq!(
        m.type_line("dma edu0 0x300000"),
        "00:02.0 -> IOVA 0x300000: did NOT land in the owner's buffer (100 ms); other bytes changed!\n"
    );
    assert!(m.asked("dma_a.dma 00:02.0 0x300000"));
}

#[test]
fn dma_of_a_quarantined_device_says_no_one_can_start_it() {
    let mut m = Machine::with(quarantine_edu0);
    assert_eq!(
        m.type_line("dma edu0"),
        "edu0 is in quarantine: its registers are mapped into no task, so no one can start its DMA\n"
    );
    assert!(!m.asked("dma_"));
}

#[test]
fn dma_of_a_quarantined_device_still_mapped_somewhere_is_an_error_naming_where() {
    let mut m = Machine::with(|s| {
        quarantine_edu0(s);
        s.holders.insert(0, DMA_B);
    });
    assert_eq!(
        m.type_line("dma edu0"),
        "error: edu0 is in quarantine, but its registers are still mapped into dma_b\n"
    );
}

#[test]
fn dma_of_an_unowned_device_is_refused() {
    let mut m = Machine::new();
    assert_eq!(
        m.type_line("dma nic0"),
        "error: 00:04.0 is not owned by a worker's domain\n"
    );
}

#[test]
fn a_workers_refusal_is_given_in_words() {
    let mut m = Machine::with(|s| {
        s.workers.get_mut(&DMA_A).unwrap().dma =
            Some(Err(ClientError::Op(WorkerError::BadIova(0x30_0001))))
    });
    assert_eq!(
        m.type_line("dma edu0 0x300001"),
        "error: IOVA 0x300001 is not page-aligned below 256 MiB\n"
    );
}

#[test]
fn a_worker_without_the_registers_names_who_has_them() {
    let mut m = Machine::with(|s| {
        s.holders.insert(0, DMA_B);
        s.workers.get_mut(&DMA_A).unwrap().dma =
            Some(Err(ClientError::Op(WorkerError::NoRegisters(EDU0))))
    });
    assert_eq!(
        m.type_line("dma edu0"),
        "error: dma_a holds no registers of edu0 now (the kernel maps them into dma_b only)\n"
    );
}

#[test]
fn dma_move_lands_in_the_new_owners_buffer_while_the_bystander_is_untouched() {
    let mut m = Machine::with(|s| {
        s.workers.get_mut(&DMA_A).unwrap().finish = Some(Ok(DmaReport {
            landed: false,
            ..landed(EDU0, 0x10_2000)
        }));
    });
    assert_eq!(
        m.type_line("dma-move edu0 dom_b"),
        "\
meanwhile 01:01.0 (already in dom_b) DMAed to IOVA 0x104000: landed untouched
00:02.0 moved to dom_b while its DMA was in flight; the data landed in the new owner's buffer (100 ms), not in the old owner's
"
    );
    assert_eq!(
        m.calls()
            .into_iter()
            .filter(|c| !c.starts_with("broker.list"))
            .collect::<std::vec::Vec<_>>(),
        vec![
            "dma_b.start_dma 01:01.0 0x104000 0xae",
            "dma_a.start_dma 00:02.0 0x102000 0xa1",
            "broker.reassign 00:02.0 2",
            "dma_a.finish_dma",
            "dma_b.finish_dma",
            "dma_b.holds 0x102000 0xa1",
        ]
    );
}

#[test]
fn dma_move_whose_data_lands_in_both_buffers_says_also() {
    let mut m = Machine::with(|s| {
        s.workers.get_mut(&DMA_B).unwrap().holds = Some(Ok(false));
        s.workers.get_mut(&DMA_B).unwrap().finish =
            Some(Err(ClientError::Op(WorkerError::Timeout(EDU1))));
    });
    let out = m.type_line("dma-move edu0 dom_b");
    assert_eq!(
        out,
        "\
meanwhile 01:01.0 (already in dom_b) DMAed to IOVA 0x104000: DISTURBED
00:02.0 moved to dom_b while its DMA was in flight; the data did NOT land in the new owner's buffer (100 ms), and ALSO in the old owner's
"
    );
}

#[test]
fn dma_move_outside_the_buffers_points_at_faults() {
    let mut m = Machine::new();
    assert_eq!(
        m.type_line("dma-move edu2 dom_b 0x7f00000"),
        "\
meanwhile 01:01.0 (already in dom_b) DMAed to IOVA 0x104000: landed untouched
00:03.0 moved to dom_b while its DMA to IOVA 0x7f00000 (outside the owners' buffers) was in flight; see 'faults'
"
    );
}

#[test]
fn dma_move_that_cannot_start_asks_no_reassignment() {
    let mut m = Machine::with(|s| {
        s.workers.get_mut(&DMA_A).unwrap().start = Some(Err(ClientError::Op(WorkerError::Busy)));
    });
    assert_eq!(
        m.type_line("dma-move edu0 dom_b"),
        "error: starting the DMA: a transfer is already running\n"
    );
    assert!(!m.asked("broker.reassign"));
}

#[test]
fn dma_move_refused_by_the_broker_says_so() {
    let mut m = Machine::with(|s| {
        s.move_answer = Some(Err(ClientError::Op(BrokerError::Busy)));
    });
    let out = m.type_line("dma-move edu0 dom_b");
    assert!(
        out.ends_with("error: the reassignment failed: another transaction is running\n"),
        "{out}"
    );
}

#[test]
fn dma_move_whose_dma_does_not_finish_says_why() {
    let mut m = Machine::with(|s| {
        s.workers.get_mut(&DMA_A).unwrap().finish =
            Some(Err(ClientError::Op(WorkerError::Timeout(EDU0))));
    });
    let out = m.type_line("dma-move edu0 dom_b");
    assert!(
        out.ends_with("error: the DMA did not finish: DMA of 00:02.0 did not finish\n"),
        "{out}"
    );
}

#[test]
fn dma_move_to_an_unknown_domain_or_of_an_unowned_device_asks_no_worker() {
    let mut m = Machine::new();
    assert_eq!(
        m.type_line("dma-move edu0 dom_z"),
        "error: no domain by that name (see 'domains')\n"
    );
    assert!(m.calls().is_empty());
    assert_eq!(
        m.type_line("dma-move nic0 dom_a"),
        "error: 00:04.0 is not owned by a worker's domain\n"
    );
    assert!(!m.asked("dma_"));
}
