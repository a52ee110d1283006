//! The seeds reach what their targets exist to test (a harness that stops
//! early fuzzes nothing).

use custody_fuzz::acpi::{walk_seed, MEMORY_BASE};

#[test]
fn the_walk_seed_finds_the_dmar_through_the_kernels_window() {
    for xsdt in [true, false] {
        let mem = walk_seed(xsdt);
        let reached = custody_fuzz::acpi::walk_reaches(&mem);
        assert_eq!(reached, Ok(()), "xsdt {xsdt}, memory at {MEMORY_BASE:#x}");
    }
}

#[test]
fn a_repaired_seed_still_reaches_the_server() {
    let mut mem = walk_seed(true);
    // A byte of the DMAR changed; its checksum no longer holds.
    let last = mem.len() - 1;
    mem[last] ^= 0x40;
    assert!(custody_fuzz::acpi::walk_reaches(&mem).is_err());
    custody_fuzz::acpi::repair_checksums(&mut mem);
    assert_eq!(custody_fuzz::acpi::walk_reaches(&mem), Ok(()));
}

#[test]
fn a_written_journal_input_is_the_journal_the_broker_writes() {
    use task_broker::TxState;
    for (state, undone) in [(TxState::Running, false), (TxState::RollingBack, true)] {
        let input = custody_fuzz::seeds::written_journal(state, undone);
        assert_eq!(
            custody_fuzz::journal::region(&input),
            custody_fuzz::seeds::journal(state, undone)
        );
    }
}

#[test]
fn the_worker_seed_machine_lets_the_worker_drive_its_own_device_only() {
    use custody_fuzz::servers::{GROUPS, PCI_BRIDGED_EDU, PCI_EDU};
    use idl_runtime::InProcess;
    use idl_types::WorkerError;
    let own_device = custody_fuzz::worker::seed_state();
    let (own, other) = custody_fuzz::worker::with_worker(own_device, |server| {
        let callers = InProcess::new(sim::servers::NAMES).with_groups(GROUPS);
        let id = callers.register("dma-a", server).expect("a task");
        let t = callers.client("console").expect("a task");
        let mut c = task_dma_worker::worker::Client::new(t, id);
        (
            c.dma(PCI_EDU, 0x10_1000, 0x5a),
            c.dma(PCI_BRIDGED_EDU, 0x10_1000, 0x5a),
        )
    });
    let report = own.expect("a transfer on the worker's own device runs to its end");
    assert_eq!(report.device, PCI_EDU);
    assert!(
        matches!(other, Err(idl_runtime::ClientError::Op(WorkerError::NotMine(d))) if d == PCI_BRIDGED_EDU),
        "{other:?}"
    );
}
