//! Context-entry replacement as Xen does it, watched by the DMA
//! observer: atomic path, both fallbacks, the refusals, and negative tests
//! proving the model catches the wrong DID flush and a skipped
//! context-cache flush.

mod common;

use common::*;
use vtd::model::Model;
use vtd::{
    Assignment, Config, ContextEntry, DomainTables, Error, MapMode, StorePath, TableMemory,
    TranslationType, Warning,
};

/// A rig with `DEV` assigned to domain A (did 1) and domain B (did 2)
/// ready, both with the RMRR mapped, caches warm from one DMA.
struct Scene {
    rig: Rig,
    a: vtd::PageTable,
    b: vtd::PageTable,
}

fn scene(model: Model, config: Config, rmrr: bool) -> Scene {
    let mut rig = rig_on(model, config);
    let a = domain(&mut rig, DID_A, PHYS_A, rmrr);
    let b = domain(&mut rig, DID_B, PHYS_B, rmrr);
    let first = rig
        .unit
        .set_context(DEV, &to(&a, DID_A), MapMode::NONE, |_| false)
        .unwrap();
    assert!(!first.previous.present);
    let rmrrs: &[(u64, u64)] = if rmrr { &[RMRR] } else { &[] };
    rig.model.watch(DEV, rmrrs);
    assert_eq!(rig.model.dma(DEV, IOVA, true), Ok(PHYS_A));
    rig.model.reset_observer();
    Scene { rig, a, b }
}

/// DMA from `DEV` at `IOVA` reaches B's page, and RMRR pages stay identity.
fn reaches_new_domain_only(rig: &Rig) -> bool {
    rig.model.dma(DEV, IOVA, true) == Ok(PHYS_B) && rig.model.dma(DEV, IOVA, false) == Ok(PHYS_B)
}

fn no_cx16() -> Model {
    let model = Model::qemu();
    model.set_cx16(false);
    model
}

#[test]
fn atomic_reassign_with_rmrr_has_no_disconnect_window_and_no_mixed_state() {
    let mut s = scene(Model::qemu(), Config::default(), true);
    assert_eq!(s.rig.model.dma(DEV, RMRR.0, true), Ok(RMRR.0));
    let out = s
        .rig
        .unit
        .set_context(DEV, &to(&s.b, DID_B), MapMode::WITH_RMRR, |did| {
            did == DID_A
        })
        .unwrap();
    assert_eq!(out.path, StorePath::Atomic);
    assert_eq!(out.warning, None);
    assert!(out.previous.present);
    assert_eq!(out.previous.did, DID_A);
    assert_eq!(out.previous.root, s.a.root());
    assert_eq!(out.previous.tt, TranslationType::MultiLevel);

    let seen = s.rig.model.observer();
    assert_eq!(seen.stores, 1, "one compare-exchange");
    assert_eq!(seen.disconnect_windows, 0);
    assert_eq!(seen.mixed_states, 0);
    assert_eq!(seen.non_present_windows, 0);

    assert!(reaches_new_domain_only(&s.rig));
    for page in [RMRR.0, RMRR.0 + 0x1000] {
        assert_eq!(s.rig.model.dma(DEV, page, true), Ok(page));
    }
}

#[test]
fn reassign_flushes_device_context_and_the_previous_did() {
    let mut s = scene(Model::qemu(), Config::default(), true);
    // Another device of domain A has a cached translation under DID 1.
    s.rig
        .unit
        .set_context(OTHER, &to(&s.a, DID_A), MapMode::NONE, |_| false)
        .unwrap();
    assert_eq!(s.rig.model.dma(OTHER, IOVA, true), Ok(PHYS_A));
    let before = s.rig.model.stats();
    s.rig
        .unit
        .set_context(DEV, &to(&s.b, DID_B), MapMode::WITH_RMRR, |_| true)
        .unwrap();
    let after = s.rig.model.stats();
    assert_eq!(
        after.context_invalidations.selective,
        before.context_invalidations.selective + 1
    );
    assert_eq!(
        after.iotlb_invalidations.domain,
        before.iotlb_invalidations.domain + 1
    );
    assert_eq!(s.rig.model.iotlb_entry(DEV, IOVA), None);
    assert_eq!(s.rig.model.iotlb_entry(OTHER, IOVA), None, "DID 1 flushed");
    assert!(
        s.rig.model.cached_context(OTHER).is_some(),
        "only DEV's context flushed"
    );
    assert_eq!(
        s.rig.unit.counters().context_cmpxchg,
        3,
        "DEV, OTHER, DEV again"
    );
}

#[test]
fn fallback_without_rmrr_passes_through_non_present_and_is_counted() {
    let mut s = scene(no_cx16(), Config::default(), false);
    let out = s
        .rig
        .unit
        .set_context(DEV, &to(&s.b, DID_B), MapMode::NONE, |_| true)
        .unwrap();
    assert_eq!(out.path, StorePath::ClearedFirst);
    assert_eq!(out.warning, None);
    let seen = s.rig.model.observer();
    assert_eq!(seen.stores, 3, "clear present, high half, low half");
    // Non-present after the first and the second store, present after the third.
    assert_eq!(seen.non_present_windows, 2);
    assert_eq!(seen.disconnect_windows, 0);
    assert_eq!(seen.mixed_states, 0);
    assert_eq!(s.rig.unit.counters().context_stores, 3 + 2);
    assert!(reaches_new_domain_only(&s.rig));
}

#[test]
fn fallback_with_rmrr_shows_only_the_documented_mixed_state_and_warns() {
    let mut s = scene(no_cx16(), Config::default(), true);
    let out = s
        .rig
        .unit
        .set_context(DEV, &to(&s.b, DID_B), MapMode::WITH_RMRR, |_| true)
        .unwrap();
    assert_eq!(out.path, StorePath::BestEffort);
    assert_eq!(
        out.warning,
        Some(Warning::ReassignmentMayCorrupt {
            rid: DEV,
            previous_did: DID_A
        })
    );
    let text = out.warning.unwrap().to_string();
    assert!(
        text.contains("00:02.0") && text.contains("data corruption"),
        "{text}"
    );
    let seen = s.rig.model.observer();
    assert_eq!(seen.stores, 2, "low half, then high half (DID last)");
    assert_eq!(seen.mixed_states, 1, "new tables under the old DID, once");
    assert_eq!(seen.disconnect_windows, 0);
    assert_eq!(seen.non_present_windows, 0);
    assert!(reaches_new_domain_only(&s.rig));
}

#[test]
fn fallback_with_rmrr_does_not_warn_when_owner_dying_or_single_device() {
    for mode in [MapMode::OWNER_DYING, MapMode::SINGLE_DEVICE] {
        let mut s = scene(no_cx16(), Config::default(), true);
        let out = s
            .rig
            .unit
            .set_context(DEV, &to(&s.b, DID_B), MapMode::WITH_RMRR | mode, |_| true)
            .unwrap();
        assert_eq!(out.path, StorePath::BestEffort);
        assert_eq!(out.warning, None, "{mode:?}");
        assert_eq!(s.rig.model.observer().mixed_states, 1);
    }
}

#[test]
fn fallback_for_a_non_present_entry_with_rmrr_writes_high_then_low_without_warning() {
    let mut rig = rig_on(no_cx16(), Config::default());
    let a = domain(&mut rig, DID_A, PHYS_A, true);
    rig.model.watch(DEV, &[RMRR]);
    let out = rig
        .unit
        .set_context(DEV, &to(&a, DID_A), MapMode::WITH_RMRR, |_| false)
        .unwrap();
    assert_eq!(out.path, StorePath::ClearedFirst);
    assert_eq!(out.warning, None);
    assert_eq!(rig.unit.counters().context_stores, 2);
    assert_eq!(rig.model.dma(DEV, RMRR.0, false), Ok(RMRR.0));
}

#[test]
fn require_cx16_refuses_the_fallback_and_writes_nothing() {
    let config = Config {
        require_cx16: true,
        ..Config::default()
    };
    let mut s = scene(Model::qemu(), config, true);
    s.rig.model.set_cx16(false);
    let before = s.rig.unit.get_context(DEV).unwrap();
    let stores = s.rig.unit.counters().context_stores;
    let err = s
        .rig
        .unit
        .set_context(DEV, &to(&s.b, DID_B), MapMode::WITH_RMRR, |_| true)
        .unwrap_err();
    assert_eq!(err, Error::Cx16Required { rid: DEV });
    assert_eq!(s.rig.unit.get_context(DEV).unwrap(), before);
    assert_eq!(s.rig.unit.counters().context_stores, stores);
    assert_eq!(s.rig.model.observer().stores, 0);
}

#[test]
fn present_entry_with_unknown_did_is_refused_unchanged() {
    let mut s = scene(Model::qemu(), Config::default(), false);
    let before = s.rig.unit.get_context(DEV).unwrap();
    let err = s
        .rig
        .unit
        .set_context(DEV, &to(&s.b, DID_B), MapMode::NONE, |did| did != DID_A)
        .unwrap_err();
    assert_eq!(
        err,
        Error::UnknownOwner {
            rid: DEV,
            did: DID_A
        }
    );
    assert_eq!(s.rig.unit.get_context(DEV).unwrap(), before);
}

#[test]
fn cmpxchg_mismatch_is_an_error_and_writes_nothing() {
    let mut s = scene(Model::qemu(), Config::default(), false);
    let intruder = ContextEntry {
        did: 7,
        ..s.rig.unit.get_context(DEV).unwrap()
    };
    s.rig.model.interfere_with_next_cmpxchg(intruder.to_u128());
    let err = s
        .rig
        .unit
        .set_context(DEV, &to(&s.b, DID_B), MapMode::NONE, |_| true)
        .unwrap_err();
    assert!(
        matches!(err, Error::EntryChanged { actual, .. } if actual == intruder.to_u128()),
        "{err:?}"
    );
    assert_eq!(s.rig.unit.get_context(DEV).unwrap(), intruder);
}

#[test]
fn same_owner_is_a_no_op_without_store_or_flush() {
    let mut s = scene(Model::qemu(), Config::default(), false);
    let before = (*s.rig.unit.counters(), s.rig.model.stats());
    let out = s
        .rig
        .unit
        .set_context(DEV, &to(&s.a, DID_A), MapMode::NONE, |_| true)
        .unwrap();
    assert_eq!(out.path, StorePath::Unchanged);
    assert_eq!(out.previous.did, DID_A);
    assert_eq!(
        s.rig.unit.counters().context_cmpxchg,
        before.0.context_cmpxchg
    );
    assert_eq!(s.rig.model.stats(), before.1);
}

#[test]
fn first_assignment_without_caching_mode_needs_no_flush() {
    let mut rig = rig(Config::default());
    let a = domain(&mut rig, DID_A, PHYS_A, false);
    let before = rig.model.stats();
    rig.unit
        .set_context(DEV, &to(&a, DID_A), MapMode::NONE, |_| false)
        .unwrap();
    let after = rig.model.stats();
    assert_eq!(after.context_invalidations, before.context_invalidations);
    assert_eq!(after.iotlb_invalidations, before.iotlb_invalidations);
    let entry = rig.unit.get_context(DEV).unwrap();
    assert!(entry.present && !entry.fpd);
    assert_eq!((entry.did, entry.aw), (DID_A, 1));
}

#[test]
fn first_assignment_with_caching_mode_flushes_did_0() {
    let model = Model::new(vtd::model::QEMU_CAP | (1 << 7), vtd::model::QEMU_ECAP);
    let mut rig = rig_on(model, Config::default());
    let a = domain(&mut rig, DID_A, PHYS_A, false);
    // DID 0 is reserved under caching mode.
    let zero = rig
        .unit
        .set_context(DEV, &to(&a, 0), MapMode::NONE, |_| false);
    assert_eq!(zero.unwrap_err(), Error::DidZeroWithCachingMode);
    let before = *rig.unit.counters();
    rig.unit
        .set_context(DEV, &to(&a, DID_A), MapMode::NONE, |_| false)
        .unwrap();
    let after = rig.unit.counters();
    assert_eq!(
        after.context_invalidations.selective,
        before.context_invalidations.selective + 1
    );
    assert_eq!(
        after.iotlb_invalidations.domain,
        before.iotlb_invalidations.domain + 1
    );
}

#[test]
fn first_assignment_with_rwbf_flushes_the_write_buffer() {
    let model = Model::new(vtd::model::QEMU_CAP | (1 << 4), vtd::model::QEMU_ECAP);
    let mut rig = rig_on(model, Config::default());
    let a = domain(&mut rig, DID_A, PHYS_A, false);
    let before = rig.model.stats().write_buffer_flushes;
    rig.unit
        .set_context(DEV, &to(&a, DID_A), MapMode::NONE, |_| false)
        .unwrap();
    assert_eq!(rig.model.stats().write_buffer_flushes, before + 1);
}

#[test]
fn clear_context_flushes_the_did_from_the_cleared_entry() {
    let mut s = scene(Model::qemu(), Config::default(), false);
    let prev = s.rig.unit.clear_context(DEV).unwrap();
    assert!(prev.present);
    assert_eq!(prev.did, DID_A);
    assert_eq!(s.rig.model.iotlb_entry(DEV, IOVA), None);
    assert_eq!(s.rig.model.cached_context(DEV), None);
    assert_eq!(
        s.rig.model.dma(DEV, IOVA, true),
        Err(vtd::FaultReason::ContextNotPresent)
    );
    let again = s.rig.unit.clear_context(DEV).unwrap();
    assert!(!again.present);
}

#[test]
fn pass_through_domain_gets_tt_2_and_identity_dma() {
    let mut rig = rig(Config::default());
    let pt = Assignment {
        did: 3,
        tables: DomainTables::PassThrough,
        ats: false,
    };
    rig.unit
        .set_context(DEV, &pt, MapMode::NONE, |_| false)
        .unwrap();
    assert_eq!(
        rig.unit.get_context(DEV).unwrap().tt,
        TranslationType::PassThrough
    );
    assert_eq!(rig.model.dma(DEV, 0x1234_5000, true), Ok(0x1234_5000));
}

#[test]
fn ats_device_gets_device_iotlb_type_only_when_ecap_dt() {
    for (ecap, tt) in [
        (vtd::model::QEMU_ECAP, TranslationType::MultiLevel),
        (vtd::model::QEMU_ECAP | 1 << 2, TranslationType::DeviceIotlb),
    ] {
        let mut rig = rig_on(Model::new(vtd::model::QEMU_CAP, ecap), Config::default());
        let a = domain(&mut rig, DID_A, PHYS_A, false);
        let target = Assignment {
            ats: true,
            ..to(&a, DID_A)
        };
        rig.unit
            .set_context(DEV, &target, MapMode::NONE, |_| false)
            .unwrap();
        assert_eq!(rig.unit.get_context(DEV).unwrap().tt, tt);
        assert_eq!(rig.model.dma(DEV, IOVA, false), Ok(PHYS_A));
    }
}

#[test]
fn four_level_tables_are_refused_on_a_three_level_unit() {
    let mut rig = rig(Config::default());
    let target = Assignment {
        did: 1,
        tables: DomainTables::Paged {
            root: 0x5000,
            levels: vtd::Levels::Four,
        },
        ats: false,
    };
    assert_eq!(
        rig.unit.set_context(DEV, &target, MapMode::NONE, |_| false),
        Err(Error::LevelsUnsupported { levels: 4 })
    );
}

#[test]
fn present_contexts_can_be_listed_to_rebuild_books() {
    let mut s = scene(Model::qemu(), Config::default(), false);
    s.rig
        .unit
        .set_context(OTHER, &to(&s.b, DID_B), MapMode::NONE, |_| false)
        .unwrap();
    let mut seen = Vec::new();
    s.rig
        .unit
        .for_each_present_context(|rid, entry| seen.push((rid, entry.did)))
        .unwrap();
    assert_eq!(seen, vec![(DEV, DID_A), (OTHER, DID_B)]);
}

/// Replaces DEV's entry by hand, atomically, then flushes as told: the
/// model must catch the mistakes the driver avoids.
fn replace_by_hand(s: &mut Scene, context_flush: bool, iotlb_did: u16) {
    let slot = s.rig.unit.context_entry_address(DEV).unwrap().unwrap();
    let old = s.rig.unit.get_context(DEV).unwrap();
    let new = ContextEntry {
        did: DID_B,
        slptptr: s.b.root(),
        ..old
    };
    s.rig
        .unit
        .memory()
        .cmpxchg16b(slot, old.to_u128(), new.to_u128())
        .unwrap();
    if context_flush {
        s.rig
            .unit
            .invalidate_context_device(old.did, DEV.sid(), 0)
            .unwrap();
    }
    s.rig.unit.invalidate_iotlb_domain(iotlb_did).unwrap();
}

#[test]
fn correct_manual_replacement_reaches_the_new_domain() {
    let mut s = scene(Model::qemu(), Config::default(), false);
    replace_by_hand(&mut s, true, DID_A);
    assert!(reaches_new_domain_only(&s.rig));
}

#[test]
fn flushing_the_new_did_instead_of_the_old_leaves_a_stale_translation() {
    let mut s = scene(Model::qemu(), Config::default(), false);
    replace_by_hand(&mut s, true, DID_B);
    assert!(!reaches_new_domain_only(&s.rig));
    assert_eq!(
        s.rig.model.dma(DEV, IOVA, true),
        Ok(PHYS_A),
        "old domain's page"
    );
    assert_eq!(
        s.rig.model.iotlb_entry(DEV, IOVA).map(|e| e.did),
        Some(DID_A)
    );
}

#[test]
fn skipping_the_context_cache_flush_leaves_the_old_tables_in_use() {
    let mut s = scene(Model::qemu(), Config::default(), false);
    replace_by_hand(&mut s, false, DID_A);
    assert!(!reaches_new_domain_only(&s.rig));
    assert_eq!(s.rig.model.dma(DEV, IOVA, true), Ok(PHYS_A));
    assert_eq!(s.rig.model.cached_context(DEV).map(|e| e.did), Some(DID_A));
}

#[test]
fn clear_present_then_reassign_by_hand_is_seen_as_a_disconnect_for_an_rmrr_device() {
    // Proves the observer can count a disconnect: the old unmap-then-map
    // way of reassigning, which Xen replaced.
    let mut s = scene(Model::qemu(), Config::default(), true);
    s.rig.unit.clear_context(DEV).unwrap();
    s.rig
        .unit
        .set_context(DEV, &to(&s.b, DID_B), MapMode::WITH_RMRR, |_| true)
        .unwrap();
    let seen = s.rig.model.observer();
    assert!(seen.disconnect_windows >= 2, "{seen:?}");
}

/// Model memory whose compare-exchange the "CPU" refuses although it
/// claims CX16 (the pool's refusal: misaligned, outside the pool).
struct Refusing(vtd::model::ModelMemory);

impl TableMemory for Refusing {
    fn read_u64(&mut self, addr: u64) -> u64 {
        self.0.read_u64(addr)
    }
    fn write_u64(&mut self, addr: u64, value: u64) {
        self.0.write_u64(addr, value)
    }
    fn cmpxchg16b(&mut self, _: u64, _: u128, _: u128) -> Result<(), vtd::Cmpxchg16bError> {
        Err(vtd::Cmpxchg16bError::Refused)
    }
    fn has_cx16(&self) -> bool {
        true
    }
}

#[test]
fn a_refused_compare_exchange_is_its_own_error_not_a_concurrent_change() {
    let model = Model::qemu();
    let mut unit = vtd::Unit::new(
        model.registers(),
        Refusing(model.memory()),
        model.allocator(),
        vtd::model::NoDelay,
        Config::default(),
    )
    .unwrap();
    unit.bring_up().unwrap();
    let table = unit.new_page_table().unwrap();
    let refused = unit.set_context(DEV, &to(&table, DID_A), MapMode::NONE, |_| false);
    assert_eq!(refused, Err(Error::Cmpxchg16bRefused { rid: DEV }));
    assert!(!unit.get_context(DEV).unwrap().present, "nothing written");
}
