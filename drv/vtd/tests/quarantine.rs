//! Per-device quarantine tables (CVE-2022-26361): every IOVA reaches the
//! scratch page, RMRRs stay identity-mapped, the scratch page is zeroed on
//! re-quarantine, and a reassignment into quarantine keeps RMRRs connected.

mod common;

use common::*;
use vtd::model::Model;
use vtd::{Assignment, Config, DomainTables, MapMode, Quarantine, StorePath};

/// A pseudo DID from the upper half, as Xen's per-device quarantine uses.
const PSEUDO_DID: u16 = 0x8001;

fn quarantine(rig: &mut Rig) -> Quarantine {
    let levels = rig.unit.levels();
    let (mem, alloc) = rig.unit.tables();
    let mut q = Quarantine::build(mem, alloc, levels).unwrap();
    q.map_identity(mem, alloc, RMRR.0, RMRR.1).unwrap();
    q
}

fn into_quarantine(q: &Quarantine) -> Assignment {
    Assignment {
        did: PSEUDO_DID,
        tables: DomainTables::Paged {
            root: q.root(),
            levels: q.levels(),
        },
        ats: false,
    }
}

#[test]
fn every_iova_reaches_the_scratch_page_and_rmrrs_stay_identity() {
    let mut rig = rig(Config::default());
    let q = quarantine(&mut rig);
    rig.unit
        .set_context(DEV, &into_quarantine(&q), MapMode::WITH_RMRR, |_| false)
        .unwrap();
    for iova in [
        0,
        0x1000,
        IOVA,
        0xd_f000,
        0xe_2000,
        0x1234_5000,
        (1 << 39) - 0x1000,
    ] {
        assert_eq!(rig.model.dma(DEV, iova, true), Ok(q.scratch()), "{iova:#x}");
        assert_eq!(
            rig.model.dma(DEV, iova + 0x10, false),
            Ok(q.scratch() + 0x10)
        );
    }
    for page in [RMRR.0, RMRR.0 + 0x1000] {
        assert_eq!(rig.model.dma(DEV, page, true), Ok(page));
    }
}

#[test]
fn quarantine_uses_one_page_per_level_plus_private_copies_for_rmrrs() {
    let mut rig = rig(Config::default());
    let before = rig.model.live_pages();
    let levels = rig.unit.levels();
    let (mem, alloc) = rig.unit.tables();
    let q = Quarantine::build(mem, alloc, levels).unwrap();
    assert_eq!(rig.model.live_pages(), before + 4, "scratch + 3 levels");
    let mut q = q;
    let (mem, alloc) = rig.unit.tables();
    q.map_identity(mem, alloc, RMRR.0, RMRR.1).unwrap();
    assert_eq!(
        rig.model.live_pages(),
        before + 6,
        "copies of level 2 and level 1"
    );
    q.destroy(mem, alloc);
    assert_eq!(rig.model.live_pages(), before);
    assert_eq!(rig.model.double_frees(), 0);
}

#[test]
fn scratch_page_is_zeroed_on_requarantine() {
    let mut rig = rig(Config::default());
    let mut q = quarantine(&mut rig);
    rig.model.write_phys(q.scratch() + 0x80, 0xdead_beef);
    let (mem, _) = rig.unit.tables();
    q.clear_scratch(mem);
    assert_eq!(rig.model.read_phys(q.scratch() + 0x80), 0);
}

#[test]
fn reassign_into_quarantine_keeps_the_rmrr_connected() {
    let mut rig = rig(Config::default());
    let a = domain(&mut rig, DID_A, PHYS_A, true);
    let q = quarantine(&mut rig);
    rig.model.register_domain(PSEUDO_DID, q.root());
    rig.unit
        .set_context(DEV, &to(&a, DID_A), MapMode::WITH_RMRR, |_| false)
        .unwrap();
    rig.model.watch(DEV, &[RMRR]);
    let out = rig
        .unit
        .set_context(
            DEV,
            &into_quarantine(&q),
            MapMode::WITH_RMRR | MapMode::OWNER_DYING,
            |did| did == DID_A,
        )
        .unwrap();
    assert_eq!(out.path, StorePath::Atomic);
    let seen = rig.model.observer();
    assert_eq!((seen.disconnect_windows, seen.mixed_states), (0, 0));
    assert_eq!(rig.model.dma(DEV, IOVA, true), Ok(q.scratch()));
    assert_eq!(rig.model.dma(DEV, RMRR.0, true), Ok(RMRR.0));
}

#[test]
fn quarantine_on_a_four_level_unit_has_four_shared_levels() {
    let model = Model::new(
        vtd::model::QEMU_CAP | (0b100 << 8) | (47 << 16),
        vtd::model::QEMU_ECAP,
    );
    let mut rig = rig_on(model, Config::default());
    assert_eq!(rig.unit.levels(), vtd::Levels::Four);
    let q = quarantine(&mut rig);
    rig.unit
        .set_context(DEV, &into_quarantine(&q), MapMode::NONE, |_| false)
        .unwrap();
    assert_eq!(rig.model.dma(DEV, 0xffff_ffff_f000, true), Ok(q.scratch()));
    assert_eq!(
        rig.model.dma(DEV, RMRR.0 + 0x1000, false),
        Ok(RMRR.0 + 0x1000)
    );
}
