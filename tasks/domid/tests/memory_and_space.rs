//! The DID space arithmetic and the memory the allocator takes.

use domid::{
    BitmapAllocator, BitmapPool, Did, DidClass, DidSpace, FreeListAllocator, SpaceError,
    BITMAP_WORDS, MAX_DIDS,
};

#[test]
fn space_size_is_two_to_the_four_plus_two_nd() {
    let sizes: Vec<u32> = (0..=6)
        .map(|nd| DidSpace::new(nd, false).unwrap().size())
        .collect();
    assert_eq!(sizes, [16, 64, 256, 1024, 4096, 16384, 65536]);
    assert_eq!(DidSpace::new(7, false), Err(SpaceError::ReservedNd));
}

#[test]
fn nd0_splits_into_8_domain_and_8_pseudo_dids_and_cm_withholds_did_0() {
    let plain = DidSpace::new(0, false).unwrap();
    assert_eq!(plain.domain_range(), 0..8);
    assert_eq!(plain.pseudo_range(), 8..16);
    let cm = DidSpace::new(0, true).unwrap();
    assert_eq!(cm.domain_range(), 1..8);
    assert_eq!(cm.usable(DidClass::Domain), 7);
    assert_eq!(cm.usable(DidClass::Pseudo), 8);
    assert_eq!(cm.class_of(Did(0)), None);
    assert_eq!(plain.class_of(Did(0)), Some(DidClass::Domain));
    assert_eq!(cm.class_of(Did(16)), None);
}

#[test]
fn bitmap_is_8_kib_per_unit_at_nd6() {
    assert_eq!(MAX_DIDS, 65536);
    assert_eq!(BITMAP_WORDS * 8, 8192);
    assert!(std::mem::size_of::<BitmapPool>() <= 8192 + 8);
}

#[test]
fn memory_per_unit_is_the_bitmap_plus_four_bytes_a_domain_and_eight_a_device() {
    // The figure the crate documentation gives.
    assert_eq!(BitmapAllocator::<1, 64, 128>::memory_per_unit(), 9_512);
    let small = BitmapAllocator::<1, 8, 16>::memory_per_unit();
    let large = BitmapAllocator::<1, 16, 32>::memory_per_unit();
    assert_eq!(large - small, 8 * 4 + 16 * 8);
}

#[test]
fn free_list_memory_follows_the_capacities_not_the_space() {
    let free_list = FreeListAllocator::<1, 64, 128>::memory_per_unit();
    let bitmap = BitmapAllocator::<1, 64, 128>::memory_per_unit();
    assert!(free_list < bitmap / 2, "{free_list} vs {bitmap}");
}

/// A task keeps its allocator in a static: `new` is `const`.
static ALLOCATOR: BitmapAllocator<2, 8, 16> = BitmapAllocator::new();

#[test]
fn allocator_can_live_in_a_static() {
    use domid::DidAllocator;
    assert!(!ALLOCATOR.is_rebuilt());
}
