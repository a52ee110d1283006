//! `irq` and `forge-msi`.

use std::format;

use idl_runtime::ClientError;
use idl_types::{Custody, InterruptRoute, IommuError, MsiSource, WorkerError};

use super::fake::{State, DMA_A, DMA_B, EDU0};
use super::Machine;
use crate::exec::interrupts::DELIVERY_MS;

fn route_to_dma_a(s: &mut State) {
    s.irq_reaches = Some(DMA_A);
    s.irte = Ok(InterruptRoute::Deliver {
        vector: 64,
        destination: 0,
        source: MsiSource::Exact(EDU0),
    });
}

#[test]
fn irq_is_raised_by_the_holder_and_reaches_the_owner_only() {
    let mut m = Machine::with(route_to_dma_a);
    assert_eq!(
        m.type_line("irq edu0"),
        "00:02.0 (edu0) raised its interrupt: reached dma_a (1); its remapping entry: entry 0, vector 64 to APIC 0 from source 00:02.0\n"
    );
    assert!(m.asked("dma_a.raise_interrupt 00:02.0"));
    assert!(m.asked("iommu.get_irte 0 0"));
    assert_eq!(m.state.borrow().now_ms, DELIVERY_MS);
}

#[test]
fn irq_that_reaches_nobody_says_so() {
    let mut m = Machine::new();
    let out = m.type_line("irq edu1");
    assert!(
        out.starts_with("01:01.0 (edu1) raised its interrupt: reached no task; its remapping entry: entry 1, blocked"),
        "{out}"
    );
    assert!(m.asked("dma_b.raise_interrupt"));
}

#[test]
fn irq_of_a_quarantined_device_says_no_one_can_raise_it() {
    let mut m = Machine::with(|s| {
        s.books[0].custody = Custody::Quarantined;
        s.holders.remove(&0);
    });
    assert_eq!(
        m.type_line("irq edu0"),
        "edu0 is in quarantine: its registers are mapped into no task, so no one can make it raise its interrupt; its remapping entry: entry 0, blocked\n"
    );
    assert!(!m.asked("dma_"));
}

#[test]
fn irq_of_a_device_whose_registers_nobody_holds_says_so() {
    let mut m = Machine::new();
    assert_eq!(
        m.type_line("irq nic0"),
        "00:04.0 (nic0): its registers are mapped into no task, so no one can make it raise its interrupt; its remapping entry: entry 3, blocked\n"
    );
}

#[test]
fn irq_of_a_device_held_by_a_task_that_is_no_worker_is_an_error() {
    let mut m = Machine::with(|s| {
        s.holders.insert(0, 1);
    });
    assert_eq!(
        m.type_line("irq edu0"),
        "error: 00:02.0's registers are mapped into pci, which is not a DMA worker\n"
    );
    assert!(!m.asked("pci."));
}

#[test]
fn irq_refused_by_the_worker_says_why() {
    let mut m = Machine::with(|s| {
        s.workers.get_mut(&DMA_A).unwrap().raise =
            Some(Err(ClientError::Op(WorkerError::NotEdu(EDU0))));
    });
    assert_eq!(
        m.type_line("irq edu0"),
        "error: 00:02.0 could not raise its interrupt: 00:02.0 is not an edu device\n"
    );
}

#[test]
fn an_unreadable_remapping_entry_says_why() {
    let refused = ClientError::Op(IommuError::InterruptRemappingOff(idl_types::UnitId(0)));
    let mut m = Machine::with(|s| s.irte = Err(refused));
    let out = m.type_line("irq edu0");
    assert!(
        out.ends_with(&format!("its remapping entry: unknown ({refused})\n")),
        "{out}"
    );
}

#[test]
fn forge_msi_has_the_owner_write_the_message_and_says_whom_it_reached() {
    let mut m = Machine::new();
    assert_eq!(
        m.type_line("forge-msi edu0 entry 7"),
        "00:02.0 (edu0) DMA-wrote a remappable MSI naming entry 7 (0x0 to 0xfee000f0): reached no task; the machine runs on\n"
    );
    assert!(m.asked("dma_a.forge_msi 00:02.0 0xfee000f0 0x0"));
    let mut m = Machine::with(|s| s.forge_reaches = Some(DMA_B));
    let out = m.type_line("forge-msi edu0 65");
    assert_eq!(
        out,
        "00:02.0 (edu0) DMA-wrote a compatibility-format MSI for vector 65 (0x41 to 0xfee00000): reached dma_b (1); the machine runs on\n"
    );
}

#[test]
fn forge_msi_refused_by_the_worker_says_why() {
    let mut m = Machine::with(|s| {
        s.workers.get_mut(&DMA_A).unwrap().forge = Some(Err(ClientError::Op(WorkerError::Busy)));
    });
    assert_eq!(
        m.type_line("forge-msi edu0 2"),
        "error: 00:02.0 could not forge the message: a transfer is already running\n"
    );
}

#[test]
fn forge_msi_of_an_unowned_device_asks_no_worker() {
    let mut m = Machine::new();
    assert_eq!(
        m.type_line("forge-msi nic0 2"),
        "error: 00:04.0 is not owned by a worker's domain\n"
    );
    assert!(!m.asked("dma_"));
}
