//! `regs` and `touch`.

use idl_types::Custody;

use super::fake::{State, DMA_B, EDU_ID};
use super::Machine;
use crate::exec::registers::RESTART_WAIT_MS;

#[test]
fn regs_names_the_holder_as_the_owner_the_books_give() {
    let mut m = Machine::new();
    assert_eq!(
        m.type_line("regs edu2"),
        "edu2's registers are mapped into dma_a only (dom_a's owner, as the broker's books say)\n"
    );
    assert!(m.asked("kernel.register_holder 2"));
}

#[test]
fn regs_of_a_quarantined_device_says_no_task_holds_them() {
    let mut m = Machine::with(|s| {
        s.books[0].custody = Custody::Quarantined;
        s.holders.remove(&0);
    });
    assert_eq!(
        m.type_line("regs edu0"),
        "edu0's registers are mapped into no task (it is in quarantine)\n"
    );
}

#[test]
fn regs_where_the_kernel_and_the_books_disagree_says_both() {
    let mut m = Machine::with(|s| {
        s.holders.insert(0, DMA_B);
    });
    assert_eq!(
        m.type_line("regs edu0"),
        "edu0's registers are mapped into dma_b only, but the broker's books give edu0 to dom_a (owner dma_a)\n"
    );
    let mut m = Machine::with(|s: &mut State| {
        s.books[0].custody = Custody::Quarantined;
    });
    assert_eq!(
        m.type_line("regs edu0"),
        "edu0's registers are mapped into dma_a only, but the broker holds edu0 in quarantine\n"
    );
    let mut m = Machine::with(|s: &mut State| {
        s.books[0].custody = Custody::Unassigned;
    });
    assert!(m
        .type_line("regs edu0")
        .ends_with(", but the broker's books leave edu0 unassigned\n"));
}

#[test]
fn regs_when_the_broker_does_not_answer_says_so() {
    let mut m = Machine::with(|s| s.broker_up = false);
    assert_eq!(
        m.type_line("regs edu0"),
        "edu0's registers are mapped into dma_a only (the broker did not say whose it is)\n"
    );
}

#[test]
fn regs_of_a_device_without_registers_in_custody_says_why() {
    let mut m = Machine::new();
    assert_eq!(
        m.type_line("regs nic0"),
        "nic0 has no registers in custody (app.toml gives it no bar0-size)\n"
    );
    assert_eq!(
        m.type_line("regs 00:06.0"),
        "00:06.0 has no registers in custody (app.toml gives it no bar0-size)\n"
    );
    assert!(m.calls().is_empty());
}

#[test]
fn touch_by_the_holder_reads_the_id_register() {
    let mut m = Machine::new();
    assert_eq!(
        m.type_line("touch edu0 dma_a"),
        std::format!("dma_a read edu0's ID register: {EDU_ID:#010x}\n")
    );
    assert_eq!(
        m.type_line("touch edu0 dma_a"),
        "dma_a read edu0's ID register: 0x010000ed\n"
    );
}

#[test]
fn touch_of_a_faulting_worker_says_it_was_restarted() {
    let mut m = Machine::new();
    assert_eq!(
        m.type_line("touch edu0 dma_b"),
        "dma_b faulted touching edu0's registers and was restarted (page fault on read at 0x40000000; now generation 2)\n"
    );
    assert!(m.asked("supervisor.task_report 5"));
}

#[test]
fn touch_of_a_worker_not_restarted_in_time_says_its_restart_is_pending() {
    let mut m = Machine::with(|s| s.restarts = false);
    assert_eq!(
        m.type_line("touch edu0 dma_b"),
        "dma_b faulted touching edu0's registers (page fault on read at 0x40000000); its restart is pending (in 40 ms)\n"
    );
    assert!(m.state.borrow().now_ms >= RESTART_WAIT_MS);
}

#[test]
fn touch_by_a_task_that_is_no_worker_names_the_workers_and_asks_nothing() {
    let mut m = Machine::new();
    assert_eq!(
        m.type_line("touch edu0 pci"),
        "error: pci is not a DMA worker (the workers: dma_a dma_b)\n"
    );
    assert!(m.calls().is_empty());
    assert_eq!(
        m.type_line("touch edu0 nobody"),
        "error: no task named 'nobody' (see 'tasks')\n"
    );
}

#[test]
fn touch_of_a_device_with_no_place_for_its_registers_touches_nothing() {
    let mut m = Machine::new();
    assert_eq!(
        m.type_line("touch 00:06.0 dma_a"),
        "error: dma_a has no place for 00:06.0's registers (no device window, or 00:06.0 has none in custody); nothing was touched\n"
    );
}
