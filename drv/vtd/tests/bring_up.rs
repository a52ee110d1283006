//! Bring-up in both invalidation modes, and bounded waits that become errors
//! naming what never happened.

mod common;

use common::*;
use vtd::model::{Model, QEMU_CAP};
use vtd::{Config, Error, GstsBit, InvalidationChoice, MapMode, WaitFor};

const FEW_POLLS: u32 = 50;

fn config(invalidation: InvalidationChoice) -> Config {
    Config {
        invalidation,
        poll_limit: FEW_POLLS,
        ..Config::default()
    }
}

fn gsts(rig: &mut Rig) -> u32 {
    use vtd::Registers;
    rig.unit.registers().read32(vtd::regs::GSTS)
}

fn dma_works(rig: &mut Rig) {
    let a = domain(rig, DID_A, PHYS_A, false);
    rig.unit
        .set_context(DEV, &to(&a, DID_A), MapMode::NONE, |_| false)
        .unwrap();
    assert_eq!(rig.model.dma(DEV, IOVA, true), Ok(PHYS_A));
}

#[test]
fn register_mode_bring_up_enables_translation_with_global_flushes() {
    let mut rig = rig(config(InvalidationChoice::Registers));
    assert!(!rig.unit.uses_queue());
    let status = gsts(&mut rig);
    assert_ne!(status & GstsBit::Te.mask(), 0);
    assert_ne!(status & GstsBit::Rtps.mask(), 0);
    assert_eq!(status & GstsBit::Qies.mask(), 0);
    let stats = rig.model.stats();
    assert_eq!(stats.context_invalidations.global, 1);
    assert_eq!(stats.iotlb_invalidations.global, 1);
    assert_eq!(stats.wait_descriptors, 0);
    assert_eq!(stats.width_violations, 0);
    dma_works(&mut rig);
}

#[test]
fn queue_mode_is_chosen_from_ecap_qi_and_never_touches_ccmd_after_qie() {
    let mut rig = rig(config(InvalidationChoice::Auto));
    assert!(rig.unit.uses_queue());
    assert_ne!(gsts(&mut rig) & GstsBit::Qies.mask(), 0);
    dma_works(&mut rig);
    let stats = rig.model.stats();
    assert_eq!(stats.context_invalidations.global, 1);
    assert_eq!(stats.iotlb_invalidations.global, 1);
    assert!(stats.wait_descriptors >= 2);
    assert_eq!(stats.ignored_register_invalidations, 0);
    assert_eq!(stats.qemu_aborts, 0, "no wait with SW and IF together");
    assert_eq!(stats.queue_errors, 0);
    assert_eq!(stats.width_violations, 0);
}

#[test]
fn queue_mode_survives_more_invalidations_than_queue_slots() {
    let mut rig = rig(config(InvalidationChoice::Queue));
    for _ in 0..300 {
        rig.unit.invalidate_iotlb_domain(DID_A).unwrap();
    }
    assert_eq!(rig.model.stats().iotlb_invalidations.domain, 300);
}

#[test]
fn forcing_the_queue_without_ecap_qi_is_refused() {
    let model = Model::new(QEMU_CAP, 0xf40);
    assert!(matches!(
        model.unit(config(InvalidationChoice::Queue)),
        Err(Error::QueueUnsupported)
    ));
    let mut rig = rig_on(
        Model::new(QEMU_CAP, 0xf40),
        config(InvalidationChoice::Auto),
    );
    assert!(!rig.unit.uses_queue());
    dma_works(&mut rig);
}

#[test]
fn translation_enable_that_never_sticks_is_a_timeout_naming_tes() {
    let model = Model::qemu();
    model.stick_gsts(GstsBit::Te);
    let mut unit = model.unit(config(InvalidationChoice::Auto)).unwrap();
    let err = unit.bring_up().unwrap_err();
    assert_eq!(
        err,
        Error::Timeout {
            what: WaitFor::Gsts {
                bit: GstsBit::Te,
                set: true
            },
            polls: FEW_POLLS
        }
    );
    assert!(err.to_string().contains("GSTS.TES never set"), "{err}");
}

#[test]
fn queue_enable_that_never_sticks_is_a_timeout_naming_qies() {
    let model = Model::qemu();
    model.stick_gsts(GstsBit::Qies);
    let mut unit = model.unit(config(InvalidationChoice::Queue)).unwrap();
    let err = unit.bring_up().unwrap_err();
    assert!(err.to_string().contains("GSTS.QIES never set"), "{err}");
}

#[test]
fn root_pointer_that_never_latches_is_a_timeout_naming_rtps() {
    let model = Model::qemu();
    model.stick_gsts(GstsBit::Rtps);
    let mut unit = model.unit(config(InvalidationChoice::Registers)).unwrap();
    let err = unit.bring_up().unwrap_err();
    assert!(err.to_string().contains("GSTS.RTPS never set"), "{err}");
}

#[test]
fn write_buffer_flush_that_never_finishes_is_a_timeout_naming_wbfs() {
    let model = Model::qemu();
    model.stick_gsts(GstsBit::Wbfs);
    let mut rig = rig_on(model, config(InvalidationChoice::Registers));
    let err = rig.unit.flush_write_buffer().unwrap_err();
    assert!(err.to_string().contains("GSTS.WBFS never cleared"), "{err}");
}

#[test]
fn wait_descriptor_that_never_completes_is_a_timeout() {
    let model = Model::qemu();
    model.never_complete_waits();
    let mut unit = model.unit(config(InvalidationChoice::Queue)).unwrap();
    let err = unit.bring_up().unwrap_err();
    assert!(
        matches!(
            err,
            Error::Timeout {
                what: WaitFor::QueueWait { .. },
                polls: FEW_POLLS
            }
        ),
        "{err:?}"
    );
}

#[test]
fn register_invalidation_after_qie_times_out_instead_of_hanging() {
    // A first driver left QIE set; a second one wrongly uses registers:
    // QEMU ignores CCMD then, and ICC never clears.
    let first = rig(config(InvalidationChoice::Queue));
    let mut second = first
        .model
        .unit(config(InvalidationChoice::Registers))
        .unwrap();
    let err = second.bring_up().unwrap_err();
    assert_eq!(
        err,
        Error::Timeout {
            what: WaitFor::ContextCommand,
            polls: FEW_POLLS
        }
    );
    assert_eq!(first.model.stats().ignored_register_invalidations, 1);
}

#[test]
fn operations_before_bring_up_are_refused() {
    let model = Model::qemu();
    let mut unit = model.unit(Config::default()).unwrap();
    assert_eq!(unit.invalidate_iotlb_global(), Err(Error::NotBroughtUp));
    assert_eq!(unit.get_context(DEV), Err(Error::NotBroughtUp));
}

#[test]
fn wait_with_sw_and_if_together_is_refused_by_the_model_as_qemu_aborts() {
    use vtd::format::Descriptor;
    use vtd::{regs, Registers, TableMemory};
    let mut rig = rig(config(InvalidationChoice::Queue));
    let base = rig.unit.registers().read64(regs::IQA) & regs::IQA_BASE_MASK;
    let tail = rig.unit.registers().read64(regs::IQT);
    let bad = Descriptor::Wait {
        interrupt: true,
        status_write: true,
        fence: false,
        status_data: 1,
        status_addr: 0x9000,
    };
    let (lo, hi) = bad.encode();
    rig.unit.memory().write_u64(base + tail, lo);
    rig.unit.memory().write_u64(base + tail + 8, hi);
    rig.unit.registers().write64(regs::IQT, tail + 16);
    assert_eq!(rig.model.stats().qemu_aborts, 1);
    assert_ne!(rig.unit.registers().read32(regs::FSTS) & regs::FSTS_IQE, 0);
    // The driver sees the error on its next queued invalidation.
    assert!(matches!(
        rig.unit.invalidate_iotlb_global(),
        Err(Error::QueueError { .. })
    ));
}
