//! Taking over a running unit: the same root and queue are found, nothing
//! is written or allocated, invalidations continue where the previous life
//! stopped, and whatever does not look like this driver's state is refused
//! with an error naming it.

mod common;

use common::*;
use vtd::format::Descriptor;
use vtd::model::{Model, ModelRegisters, ModelUnit, NoDelay};
use vtd::{
    regs, Config, Error, FaultReason, InvalidationChoice, MapMode, Registers, ResumeError, Resumed,
    Unit, WaitFor,
};

const FEW_POLLS: u32 = 50;

fn config(invalidation: InvalidationChoice) -> Config {
    Config {
        invalidation,
        poll_limit: FEW_POLLS,
        ..Config::default()
    }
}

/// A second driver life over the same model, not yet resumed.
fn next_life(model: &Model, invalidation: InvalidationChoice) -> ModelUnit {
    model
        .unit(config(invalidation))
        .expect("QEMU's CAP/ECAP decode")
}

fn resumed(rig: &Rig, invalidation: InvalidationChoice) -> (ModelUnit, Resumed) {
    let mut unit = next_life(&rig.model, invalidation);
    let found = unit.resume().expect("resume of a running unit");
    (unit, found)
}

fn reg64(model: &Model, offset: usize) -> u64 {
    model.registers().read64(offset)
}

/// The physical address of the descriptor just before IQT.
fn last_descriptor(model: &Model) -> u64 {
    let base = reg64(model, regs::IQA) & regs::IQA_BASE_MASK;
    let tail = reg64(model, regs::IQT);
    base + (tail + 4096 - 16) % 4096
}

#[test]
fn resume_after_register_bring_up_finds_the_root_and_writes_no_register() {
    let rig = rig(config(InvalidationChoice::Registers));
    let root = reg64(&rig.model, regs::RTADDR);
    let pages = rig.model.live_pages();
    let (unit, found) = resumed(&rig, InvalidationChoice::Registers);
    assert_eq!(found.root, root);
    assert_eq!(found.queue, None);
    assert!(!found.faults_pending);
    assert!(!unit.uses_queue());
    assert_eq!(unit.counters().register_writes, 0);
    assert_eq!(rig.model.live_pages(), pages, "nothing allocated");
}

#[test]
fn resume_after_queue_bring_up_finds_the_same_queue_and_status_word() {
    let rig = rig(config(InvalidationChoice::Queue));
    let pages = rig.model.live_pages();
    let iqa = reg64(&rig.model, regs::IQA);
    let tail = reg64(&rig.model, regs::IQT);
    let (unit, found) = resumed(&rig, InvalidationChoice::Auto);
    assert_eq!(found.root, reg64(&rig.model, regs::RTADDR));
    let queue = found.queue.expect("the unit runs the queue");
    assert_eq!(queue.base, iqa);
    assert_eq!(queue.tail, tail);
    assert_eq!(queue.seq, 2, "bring-up ended with its second wait");
    assert_eq!(rig.model.read_phys(queue.status) as u32, queue.seq);
    assert!(unit.uses_queue());
    assert_eq!(unit.counters().register_writes, 0);
    assert_eq!(rig.model.live_pages(), pages, "no new queue or status page");
}

#[test]
fn invalidations_after_resume_continue_the_queue_across_its_wrap() {
    let rig = rig(config(InvalidationChoice::Queue));
    let waits = rig.model.stats().wait_descriptors;
    let (mut unit, found) = resumed(&rig, InvalidationChoice::Queue);
    let queue = found.queue.unwrap();
    for _ in 0..300 {
        unit.invalidate_iotlb_domain(DID_A).unwrap();
    }
    let stats = rig.model.stats();
    assert_eq!(stats.wait_descriptors, waits + 300);
    assert_eq!(stats.queue_errors, 0);
    let tail = reg64(&rig.model, regs::IQT);
    assert_eq!(reg64(&rig.model, regs::IQH), tail, "all consumed");
    assert_eq!(tail, (queue.tail + 600 * 16) % 4096);
    assert_eq!(
        rig.model.read_phys(queue.status) as u32,
        queue.seq + 300,
        "the same status word counts on"
    );

    // A third life finds where the second stopped.
    let (_, again) = resumed(&rig, InvalidationChoice::Queue);
    let again = again.queue.unwrap();
    assert_eq!((again.base, again.status), (queue.base, queue.status));
    assert_eq!((again.tail, again.seq), (tail, queue.seq + 300));
}

#[test]
fn a_resumed_unit_reassigns_a_device_and_dma_follows() {
    let mut rig = rig(config(InvalidationChoice::Queue));
    let a = domain(&mut rig, DID_A, PHYS_A, false);
    let b = domain(&mut rig, DID_B, PHYS_B, false);
    rig.unit
        .set_context(DEV, &to(&a, DID_A), MapMode::NONE, |_| false)
        .unwrap();
    assert_eq!(rig.model.dma(DEV, IOVA, true), Ok(PHYS_A));
    let (mut unit, _) = resumed(&rig, InvalidationChoice::Queue);
    unit.set_context(DEV, &to(&b, DID_B), MapMode::NONE, |did| did == DID_A)
        .unwrap();
    assert_eq!(rig.model.dma(DEV, IOVA, true), Ok(PHYS_B), "no stale IOTLB");
    assert_eq!(rig.model.stats().queue_errors, 0);
}

#[test]
fn resume_of_a_unit_with_translation_off_is_refused() {
    let model = Model::qemu();
    let mut unit = next_life(&model, InvalidationChoice::Auto);
    let err = unit.resume().unwrap_err();
    assert!(matches!(err, ResumeError::TranslationOff { .. }), "{err:?}");
    assert!(err.to_string().contains("translation is off"), "{err}");
    assert_eq!(unit.counters().register_writes, 0);
}

#[test]
fn a_second_resume_of_the_same_unit_is_refused() {
    let rig = rig(config(InvalidationChoice::Queue));
    let (mut unit, _) = resumed(&rig, InvalidationChoice::Queue);
    assert_eq!(unit.resume(), Err(ResumeError::AlreadyStarted));
}

#[test]
fn a_root_table_outside_the_pool_is_refused() {
    let rig = rig(config(InvalidationChoice::Registers));
    rig.model.registers().write64(regs::RTADDR, 0x5000);
    let err = next_life(&rig.model, InvalidationChoice::Registers)
        .resume()
        .unwrap_err();
    assert_eq!(err, ResumeError::RootNotInPool { root: 0x5000 });
    assert!(err.to_string().contains("0x5000"), "{err}");
}

#[test]
fn a_root_table_in_a_non_legacy_mode_is_refused() {
    let rig = rig(config(InvalidationChoice::Registers));
    let rtaddr = reg64(&rig.model, regs::RTADDR) | (1 << 10);
    rig.model.registers().write64(regs::RTADDR, rtaddr);
    let err = next_life(&rig.model, InvalidationChoice::Registers)
        .resume()
        .unwrap_err();
    assert_eq!(err, ResumeError::RootTableMode { rtaddr });
}

#[test]
fn a_policy_that_differs_from_the_running_invalidation_is_refused() {
    let queued = rig(config(InvalidationChoice::Queue));
    let err = next_life(&queued.model, InvalidationChoice::Registers)
        .resume()
        .unwrap_err();
    assert_eq!(err, ResumeError::QueueRunning);
    let registers = rig(config(InvalidationChoice::Registers));
    let err = next_life(&registers.model, InvalidationChoice::Queue)
        .resume()
        .unwrap_err();
    assert_eq!(err, ResumeError::QueueNotRunning);
}

#[test]
fn a_queue_page_outside_the_pool_is_refused() {
    let rig = rig(config(InvalidationChoice::Queue));
    rig.model.registers().write64(regs::IQA, 0x7000);
    let err = next_life(&rig.model, InvalidationChoice::Queue)
        .resume()
        .unwrap_err();
    assert_eq!(err, ResumeError::QueueNotInPool { base: 0x7000 });
}

#[test]
fn a_queue_of_another_size_or_width_is_refused() {
    let rig = rig(config(InvalidationChoice::Queue));
    let iqa = reg64(&rig.model, regs::IQA) | 1;
    rig.model.registers().write64(regs::IQA, iqa);
    let err = next_life(&rig.model, InvalidationChoice::Queue)
        .resume()
        .unwrap_err();
    assert_eq!(err, ResumeError::QueueFormat { iqa });
}

#[test]
fn a_queue_not_ending_in_a_status_wait_is_refused() {
    let rig = rig(config(InvalidationChoice::Queue));
    let slot = last_descriptor(&rig.model);
    let (lo, hi) = Descriptor::Wait {
        interrupt: true,
        status_write: false,
        fence: false,
        status_data: 2,
        status_addr: 0,
    }
    .encode();
    rig.model.write_phys(slot, lo);
    rig.model.write_phys(slot + 8, hi);
    let err = next_life(&rig.model, InvalidationChoice::Queue)
        .resume()
        .unwrap_err();
    assert!(
        matches!(err, ResumeError::NoWaitBeforeTail { kind: 5, .. }),
        "{err:?}"
    );
}

#[test]
fn a_wait_status_word_outside_the_pool_or_on_the_queue_page_is_refused() {
    let rig = rig(config(InvalidationChoice::Queue));
    let slot = last_descriptor(&rig.model);
    let queue_page = slot & !0xfff;
    for status in [0x9000, queue_page + 0x800, queue_page + 0x1004] {
        let (lo, hi) = Descriptor::Wait {
            interrupt: false,
            status_write: true,
            fence: false,
            status_data: 2,
            status_addr: status,
        }
        .encode();
        rig.model.write_phys(slot, lo);
        rig.model.write_phys(slot + 8, hi);
        let err = next_life(&rig.model, InvalidationChoice::Queue)
            .resume()
            .unwrap_err();
        assert_eq!(err, ResumeError::StatusMisplaced { status }, "{status:#x}");
    }
}

#[test]
fn a_queue_halted_on_a_refused_descriptor_is_refused() {
    let rig = rig(config(InvalidationChoice::Queue));
    let base = reg64(&rig.model, regs::IQA) & regs::IQA_BASE_MASK;
    let tail = reg64(&rig.model, regs::IQT);
    // SW and IF together: QEMU (and the model) refuse it with IQE.
    let (lo, hi) = Descriptor::Wait {
        interrupt: true,
        status_write: true,
        fence: false,
        status_data: 3,
        status_addr: 0,
    }
    .encode();
    rig.model.write_phys(base + tail, lo);
    rig.model.write_phys(base + tail + 8, hi);
    rig.model.registers().write64(regs::IQT, tail + 16);
    let err = next_life(&rig.model, InvalidationChoice::Queue)
        .resume()
        .unwrap_err();
    assert_eq!(err, ResumeError::QueueHalted { head: tail });
}

/// The model's registers, except that one 64-bit register reads as a
/// fixed value (a unit whose pointer the test corrupts or freezes).
struct Skewed {
    inner: ModelRegisters,
    offset: usize,
    value: u64,
}

impl Registers for Skewed {
    fn read32(&mut self, offset: usize) -> u32 {
        self.inner.read32(offset)
    }
    fn write32(&mut self, offset: usize, value: u32) {
        self.inner.write32(offset, value)
    }
    fn read64(&mut self, offset: usize) -> u64 {
        if offset == self.offset {
            self.value
        } else {
            self.inner.read64(offset)
        }
    }
    fn write64(&mut self, offset: usize, value: u64) {
        self.inner.write64(offset, value)
    }
}

fn resume_skewed(
    model: &Model,
    invalidation: InvalidationChoice,
    offset: usize,
    value: u64,
) -> Result<Resumed, ResumeError> {
    let regs = Skewed {
        inner: model.registers(),
        offset,
        value,
    };
    let config = config(invalidation);
    let mut unit = Unit::new(regs, model.memory(), model.allocator(), NoDelay, config).unwrap();
    unit.resume()
}

#[test]
fn queue_pointers_unaligned_or_beyond_the_queue_are_refused() {
    let rig = rig(config(InvalidationChoice::Queue));
    let head = reg64(&rig.model, regs::IQH);
    for tail in [0x1000, head + 8] {
        assert_eq!(
            resume_skewed(&rig.model, InvalidationChoice::Queue, regs::IQT, tail),
            Err(ResumeError::QueuePointers { head, tail })
        );
    }
}

#[test]
fn a_queue_the_unit_never_finishes_is_a_bounded_wait_naming_head_and_tail() {
    let rig = rig(config(InvalidationChoice::Queue));
    let tail = reg64(&rig.model, regs::IQT);
    let head = (tail + 4096 - 32) % 4096;
    let err = resume_skewed(&rig.model, InvalidationChoice::Queue, regs::IQH, head).unwrap_err();
    assert_eq!(
        err,
        ResumeError::QueueNotDrained {
            head,
            tail,
            polls: FEW_POLLS
        }
    );
    assert!(err.to_string().contains("did not reach tail"), "{err}");
}

#[test]
fn a_register_invalidation_left_running_is_a_bounded_wait_naming_ccmd() {
    let rig = rig(config(InvalidationChoice::Registers));
    let busy = 1 << 63; // CCMD.ICC
    let err = resume_skewed(&rig.model, InvalidationChoice::Registers, regs::CCMD, busy);
    assert_eq!(
        err,
        Err(ResumeError::Hardware(Error::Timeout {
            what: WaitFor::ContextCommand,
            polls: FEW_POLLS
        }))
    );
}

#[test]
fn faults_of_the_gap_are_left_pending_for_the_drain() {
    let mut rig = rig(config(InvalidationChoice::Queue));
    let a = domain(&mut rig, DID_A, PHYS_A, false);
    rig.unit
        .set_context(DEV, &to(&a, DID_A), MapMode::NONE, |_| false)
        .unwrap();
    assert_eq!(
        rig.model.dma(DEV, 0x20_0000, true),
        Err(FaultReason::NoWrite)
    );
    let (mut unit, found) = resumed(&rig, InvalidationChoice::Queue);
    assert!(found.faults_pending);
    let mut faults = Vec::new();
    unit.drain_faults(|f| faults.push(f));
    assert_eq!(faults.len(), 1);
    assert_eq!(faults[0].source, DEV);
}

#[test]
fn a_register_the_model_is_told_to_hold_reads_back_with_no_effect() {
    // Hostile hardware for the fuzz target: GSTS says translation is off
    // although the unit was brought up; nothing else changes.
    let rig = rig(config(InvalidationChoice::Registers));
    let root = reg64(&rig.model, regs::RTADDR);
    assert!(rig.model.set_register(regs::GSTS, 0));
    assert!(!rig.model.set_register(regs::VER, 0), "VER is not settable");
    let err = next_life(&rig.model, InvalidationChoice::Registers)
        .resume()
        .unwrap_err();
    assert!(
        matches!(err, ResumeError::TranslationOff { gsts: 0 }),
        "{err:?}"
    );
    assert_eq!(reg64(&rig.model, regs::RTADDR), root);
}
