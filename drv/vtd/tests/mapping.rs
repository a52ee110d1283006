//! Second-level page tables: 2 MiB leaves, refusals, table freeing, IOTLB
//! flushing after unmap, and rollback when pages run out.

mod common;

use common::*;
use vtd::model::{Model, QEMU_CAP, QEMU_ECAP};
use vtd::{Config, Error, MapMode, Perm, RangeFlush, LARGE_PAGE};

const BIG_IOVA: u64 = 0x4000_0000;
const BIG_PHYS: u64 = 0x8000_0000;

#[test]
fn two_mib_page_is_used_when_aligned_and_supported() {
    let mut rig = rig(Config::default());
    let mut t = rig.unit.new_page_table().unwrap();
    let stats = rig
        .unit
        .map(
            &mut t,
            DID_A,
            BIG_IOVA,
            BIG_PHYS,
            LARGE_PAGE + 0x1000,
            Perm::RW,
        )
        .unwrap();
    assert_eq!((stats.large, stats.small), (1, 1));
    let (mem, _) = rig.unit.tables();
    let hit = t.translate(mem, BIG_IOVA + 0x12345).unwrap();
    assert_eq!(hit.page_size, LARGE_PAGE);
    assert_eq!(hit.phys, BIG_PHYS + 0x12345);
}

#[test]
fn misaligned_physical_address_gets_small_pages() {
    let mut rig = rig(Config::default());
    let mut t = rig.unit.new_page_table().unwrap();
    let stats = rig
        .unit
        .map(
            &mut t,
            DID_A,
            BIG_IOVA,
            BIG_PHYS + 0x1000,
            LARGE_PAGE,
            Perm::R,
        )
        .unwrap();
    assert_eq!((stats.large, stats.small), (0, 512));
}

#[test]
fn no_two_mib_pages_without_cap_support() {
    let model = Model::new(QEMU_CAP & !(1 << 34), QEMU_ECAP);
    let mut rig = rig_on(model, Config::default());
    assert!(!rig.unit.large_pages());
    let mut t = rig.unit.new_page_table().unwrap();
    let stats = rig
        .unit
        .map(&mut t, DID_A, BIG_IOVA, BIG_PHYS, LARGE_PAGE, Perm::RW)
        .unwrap();
    assert_eq!((stats.large, stats.small), (0, 512));
}

#[test]
fn misaligned_or_empty_or_too_wide_requests_are_refused() {
    let mut rig = rig(Config::default());
    let mut t = rig.unit.new_page_table().unwrap();
    for (iova, phys, len) in [
        (0x1001, 0, 0x1000),
        (0, 0x10, 0x1000),
        (0, 0, 0x800),
        (0, 0, 0),
    ] {
        assert_eq!(
            rig.unit.map(&mut t, DID_A, iova, phys, len, Perm::RW),
            Err(Error::Misaligned { iova, phys, len })
        );
    }
    assert_eq!(
        rig.unit
            .map(&mut t, DID_A, (1 << 39) - 0x1000, 0, 0x2000, Perm::RW),
        Err(Error::BeyondAddressWidth {
            iova: (1 << 39) - 0x1000,
            len: 0x2000,
            width: 39
        })
    );
    assert_eq!(
        rig.unit.map(
            &mut t,
            DID_A,
            0,
            0,
            0x1000,
            Perm {
                read: false,
                write: false
            }
        ),
        Err(Error::NoAccess { iova: 0 })
    );
}

#[test]
fn overlapping_map_is_refused_and_changes_nothing() {
    let mut rig = rig(Config::default());
    let mut t = rig.unit.new_page_table().unwrap();
    rig.unit
        .map(&mut t, DID_A, 0x1000, 0x10_0000, 0x3000, Perm::RW)
        .unwrap();
    let pages = rig.model.live_pages();
    assert_eq!(
        rig.unit
            .map(&mut t, DID_A, 0x3000, 0x20_0000, 0x2000, Perm::RW),
        Err(Error::Overlap { iova: 0x3000 })
    );
    let (mem, _) = rig.unit.tables();
    assert_eq!(t.translate(mem, 0x4000), None);
    assert_eq!(t.translate(mem, 0x3000).unwrap().phys, 0x10_2000);
    assert_eq!(rig.model.live_pages(), pages);
}

#[test]
fn unmap_frees_emptied_table_pages() {
    let mut rig = rig(Config::default());
    let empty = rig.model.live_pages();
    let mut t = rig.unit.new_page_table().unwrap();
    rig.unit
        .map(&mut t, DID_A, 0x7f_0000_0000, 0x1000, 0x3000, Perm::RW)
        .unwrap();
    assert_eq!(rig.model.live_pages(), empty + 3, "root, level 2, level 1");
    let (stats, _) = rig
        .unit
        .unmap_and_flush(&mut t, DID_A, 0x7f_0000_0000, 0x1000)
        .unwrap();
    assert_eq!((stats.small, stats.tables), (1, 0), "level 1 still in use");
    let (stats, _) = rig
        .unit
        .unmap_and_flush(&mut t, DID_A, 0x7f_0000_1000, 0x2000)
        .unwrap();
    assert_eq!((stats.small, stats.tables), (2, 2));
    assert_eq!(rig.model.live_pages(), empty + 1);
    rig.unit.destroy_page_table(t);
    assert_eq!(rig.model.live_pages(), empty);
    assert_eq!(rig.model.double_frees(), 0);
}

#[test]
fn emptied_table_pages_are_freed_only_after_a_successful_flush() {
    let mut rig = rig(Config::default());
    let empty = rig.model.live_pages();
    let mut t = rig.unit.new_page_table().unwrap();
    rig.unit
        .map(&mut t, DID_A, 0x7f_0000_0000, 0x1000, 0x1000, Perm::RW)
        .unwrap();
    assert_eq!(rig.model.live_pages(), empty + 3);
    // The unit refuses the flush: the leaf is gone from the tables, but the
    // unit may still cache walks through the emptied tables, so they are
    // not freed (nor handed to the next domain's tables).
    rig.model.reject_iotlb_invalidations(1);
    assert!(rig
        .unit
        .unmap_and_flush(&mut t, DID_A, 0x7f_0000_0000, 0x1000)
        .is_err());
    assert_eq!(rig.model.live_pages(), empty + 3, "nothing freed");
    assert!(!rig.unit.flushes_settled());
    let other = rig.unit.new_page_table().unwrap();
    assert_eq!(
        rig.model.live_pages(),
        empty + 4,
        "a fresh page, not a detached one"
    );
    // The owed flush is retried first by the next unmap (or on its own);
    // once it succeeds the pages are freed.
    rig.unit.settle_flushes().unwrap();
    assert!(rig.unit.flushes_settled());
    assert_eq!(rig.model.live_pages(), empty + 2, "two roots left");
    rig.unit.destroy_page_table(t);
    rig.unit.destroy_page_table(other);
    assert_eq!(rig.model.live_pages(), empty);
    assert_eq!(rig.model.double_frees(), 0);
}

#[test]
fn while_an_owed_flush_fails_nothing_more_is_unmapped() {
    let mut rig = rig(Config::default());
    let mut t = rig.unit.new_page_table().unwrap();
    rig.unit
        .map(&mut t, DID_A, 0x10_0000, 0x1000, 0x2000, Perm::RW)
        .unwrap();
    rig.model.reject_iotlb_invalidations(2);
    assert!(rig
        .unit
        .unmap_and_flush(&mut t, DID_A, 0x10_0000, 0x1000)
        .is_err());
    assert!(rig
        .unit
        .unmap_and_flush(&mut t, DID_A, 0x10_1000, 0x1000)
        .is_err());
    let (mem, _) = rig.unit.tables();
    assert!(
        t.translate(mem, 0x10_1000).is_some(),
        "the second unmap did nothing"
    );
    rig.unit
        .unmap_and_flush(&mut t, DID_A, 0x10_1000, 0x1000)
        .unwrap();
    assert!(rig.unit.flushes_settled());
}

#[test]
fn unmap_of_unmapped_page_or_part_of_a_large_page_is_refused() {
    let mut rig = rig(Config::default());
    let mut t = rig.unit.new_page_table().unwrap();
    rig.unit
        .map(&mut t, DID_A, BIG_IOVA, BIG_PHYS, LARGE_PAGE, Perm::RW)
        .unwrap();
    assert_eq!(
        rig.unit.unmap_and_flush(&mut t, DID_A, BIG_IOVA, 0x1000),
        Err(Error::SplitsLargePage { iova: BIG_IOVA })
    );
    assert_eq!(
        rig.unit
            .unmap_and_flush(&mut t, DID_A, BIG_IOVA, LARGE_PAGE + 0x1000),
        Err(Error::NotMapped {
            iova: BIG_IOVA + LARGE_PAGE
        })
    );
    let (stats, _) = rig
        .unit
        .unmap_and_flush(&mut t, DID_A, BIG_IOVA, LARGE_PAGE)
        .unwrap();
    assert_eq!(stats.large, 1);
}

#[test]
fn unmap_flushes_the_range_page_selectively_and_dma_then_faults() {
    let mut rig = rig(Config::default());
    let mut a = domain(&mut rig, DID_A, PHYS_A, false);
    rig.unit
        .set_context(DEV, &to(&a, DID_A), MapMode::NONE, |_| false)
        .unwrap();
    assert_eq!(rig.model.dma(DEV, IOVA, true), Ok(PHYS_A));
    let (_, flush) = rig
        .unit
        .unmap_and_flush(&mut a, DID_A, IOVA, 0x1000)
        .unwrap();
    assert_eq!(flush, RangeFlush::Pages { addr: IOVA, am: 0 });
    assert_eq!(rig.model.iotlb_entry(DEV, IOVA), None);
    assert_eq!(
        rig.model.dma(DEV, IOVA, true),
        Err(vtd::FaultReason::NoWrite)
    );
}

#[test]
fn range_flush_covers_an_unaligned_range_with_one_aligned_block() {
    let mut rig = rig(Config::default());
    let mut t = rig.unit.new_page_table().unwrap();
    rig.unit
        .map(&mut t, DID_A, 0x3000, 0x3000, 0x2000, Perm::RW)
        .unwrap();
    let (_, flush) = rig
        .unit
        .unmap_and_flush(&mut t, DID_A, 0x3000, 0x2000)
        .unwrap();
    assert_eq!(flush, RangeFlush::Pages { addr: 0, am: 3 });
}

#[test]
fn range_flush_falls_back_to_domain_without_psi() {
    let model = Model::new(QEMU_CAP & !(1 << 39), QEMU_ECAP);
    let mut rig = rig_on(model, Config::default());
    let mut t = rig.unit.new_page_table().unwrap();
    rig.unit.map(&mut t, DID_A, 0, 0, 0x1000, Perm::RW).unwrap();
    let (_, flush) = rig.unit.unmap_and_flush(&mut t, DID_A, 0, 0x1000).unwrap();
    assert_eq!(flush, RangeFlush::Domain);
}

#[test]
fn running_out_of_pages_mid_map_rolls_back_everything() {
    let mut rig = rig(Config::default());
    let mut t = rig.unit.new_page_table().unwrap();
    let pages = rig.model.live_pages();
    rig.model.fail_alloc_after(1);
    // Needs a level-2 and a level-1 table: the second allocation fails.
    assert_eq!(
        rig.unit
            .map(&mut t, DID_A, 0x1000, 0x1000, 0x1000, Perm::RW),
        Err(Error::OutOfMemory)
    );
    assert_eq!(rig.model.live_pages(), pages);
    let (mem, _) = rig.unit.tables();
    assert_eq!(t.translate(mem, 0x1000), None);
}
