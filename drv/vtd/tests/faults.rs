//! Fault draining: every record reported with source, address, direction
//! and reason, F bits and PFO cleared, QEMU's one-record collapsing.

mod common;

use common::*;
use vtd::{Config, Fault, FaultReason, MapMode, Registers, Rid};

fn drain(rig: &mut Rig) -> (Vec<Fault>, vtd::DrainSummary) {
    let mut faults = Vec::new();
    let summary = rig.unit.drain_faults(|f| faults.push(f));
    (faults, summary)
}

fn fsts(rig: &mut Rig) -> u32 {
    rig.unit.registers().read32(vtd::regs::FSTS)
}

fn assigned() -> Rig {
    let mut rig = rig(Config::default());
    let a = domain(&mut rig, DID_A, PHYS_A, false);
    rig.unit
        .set_context(DEV, &to(&a, DID_A), MapMode::NONE, |_| false)
        .unwrap();
    rig
}

#[test]
fn write_to_unmapped_iova_is_drained_with_source_address_and_reason() {
    let mut rig = assigned();
    assert_eq!(
        rig.model.dma(DEV, 0x20_0123, true),
        Err(FaultReason::NoWrite)
    );
    assert_ne!(fsts(&mut rig) & vtd::regs::FSTS_PPF, 0);
    let (faults, summary) = drain(&mut rig);
    assert_eq!(
        faults,
        vec![Fault {
            source: DEV,
            address: 0x20_0000,
            write: true,
            reason: FaultReason::NoWrite,
        }]
    );
    assert_eq!(
        faults[0].reason.to_string(),
        "write to a page without write permission"
    );
    assert_eq!(summary.records, 1);
    assert!(!summary.overflowed);
    assert_eq!(fsts(&mut rig) & vtd::regs::FSTS_PPF, 0, "F cleared");
    assert_eq!(rig.unit.counters().faults_drained, 1);
    assert_eq!(rig.model.stats().width_violations, 0);
}

#[test]
fn read_of_unassigned_device_reports_context_not_present() {
    let mut rig = assigned();
    let stranger = Rid::new(0, 5, 0);
    assert_eq!(
        rig.model.dma(stranger, 0x1000, false),
        Err(FaultReason::ContextNotPresent)
    );
    let (faults, _) = drain(&mut rig);
    assert_eq!(faults[0].source, stranger);
    assert!(!faults[0].write);
    assert_eq!(faults[0].reason.code(), 2);
}

#[test]
fn device_on_a_bus_without_context_table_reports_root_not_present() {
    let mut rig = assigned();
    let far = Rid::new(7, 0, 0);
    assert_eq!(
        rig.model.dma(far, 0, false),
        Err(FaultReason::RootNotPresent)
    );
    let (faults, _) = drain(&mut rig);
    assert_eq!(faults[0].reason, FaultReason::RootNotPresent);
}

#[test]
fn second_fault_of_same_source_is_collapsed_and_other_source_overflows() {
    let mut rig = assigned();
    let other = Rid::new(0, 5, 0);
    rig.model.dma(DEV, 0x20_0000, true).unwrap_err();
    rig.model.dma(DEV, 0x30_0000, true).unwrap_err();
    rig.model.dma(other, 0x1000, true).unwrap_err();
    let stats = rig.model.stats();
    assert_eq!(
        (
            stats.faults_recorded,
            stats.faults_collapsed,
            stats.faults_lost
        ),
        (1, 1, 1)
    );
    assert_ne!(fsts(&mut rig) & vtd::regs::FSTS_PFO, 0);
    let (faults, summary) = drain(&mut rig);
    assert_eq!(faults.len(), 1);
    assert_eq!(faults[0].address, 0x20_0000);
    assert!(summary.overflowed);
    assert_eq!(
        fsts(&mut rig) & (vtd::regs::FSTS_PFO | vtd::regs::FSTS_PPF),
        0
    );
    // Drained: the next fault is recorded again.
    rig.model.dma(other, 0x1000, true).unwrap_err();
    let (faults, _) = drain(&mut rig);
    assert_eq!(faults[0].source, other);
}

#[test]
fn every_reason_code_has_words() {
    for code in 1..=0xd {
        let reason = FaultReason::from_code(code);
        assert_eq!(reason.code(), code);
        assert!(!reason.to_string().contains("fault reason"), "{code:#x}");
    }
    assert_eq!(
        FaultReason::from_code(0x42).to_string(),
        "fault reason 0x42"
    );
}

#[test]
fn four_level_context_on_a_three_level_unit_faults_invalid_context_like_qemu() {
    use vtd::{ContextEntry, TableMemory};
    let mut rig = assigned();
    let slot = rig.unit.context_entry_address(DEV).unwrap().unwrap();
    let entry = ContextEntry {
        aw: 2,
        ..rig.unit.get_context(DEV).unwrap()
    };
    let (lo, hi) = entry.encode();
    rig.unit.memory().write_u64(slot + 8, hi);
    rig.unit.memory().write_u64(slot, lo);
    rig.unit.invalidate_context_global().unwrap();
    rig.unit.invalidate_iotlb_global().unwrap();
    assert_eq!(
        rig.model.dma(DEV, IOVA, false),
        Err(FaultReason::InvalidContext)
    );
    let (faults, _) = drain(&mut rig);
    assert_eq!(faults[0].reason.code(), 3);
}
