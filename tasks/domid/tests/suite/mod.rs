//! The behaviour of any `DidAllocator`, as generic functions.
//!
//! `allocators.rs` instantiates every function for each implementation with
//! the `suite!` macro, so a new implementation gets the whole suite with one
//! line.

pub mod model;

use std::collections::HashSet;
use std::string::ToString;

use domid::{
    Acquired, ContextRecord, Did, DidAllocator, DidClass, DidError, DidOwner, DomainId, Owner,
    Released, Rid, SpaceError, UnitId,
};

pub const U0: UnitId = UnitId(0);
pub const U1: UnitId = UnitId(1);

pub fn dom(n: u16) -> DomainId {
    DomainId(n)
}

pub fn dev(n: u16) -> Rid {
    Rid(n)
}

/// A rebuilt allocator (empty hardware) with unit 0 at `nd`/`cm`.
pub fn rebuilt<T: DidAllocator + Default>(nd: u8, cm: bool) -> T {
    let mut a = T::default();
    a.configure_unit(U0, nd, cm).expect("valid CAP");
    a.rebuild_from(std::iter::empty()).expect("empty rebuild");
    a
}

pub fn nd7_is_refused_as_reserved<T: DidAllocator + Default>() {
    let mut a = T::default();
    assert_eq!(
        a.configure_unit(U0, 7, false),
        Err(DidError::BadCap {
            unit: U0,
            cause: SpaceError::ReservedNd
        })
    );
    assert_eq!(
        a.configure_unit(U0, 9, false),
        Err(DidError::BadCap {
            unit: U0,
            cause: SpaceError::NdOutOfRange(9)
        })
    );
    assert_eq!(a.space(U0), Err(DidError::UnitNotConfigured { unit: U0 }));
}

pub fn nd0_unit_gives_8_domain_dids_then_reports_exhaustion<T: DidAllocator + Default>() {
    let mut a: T = rebuilt(0, false);
    let mut seen = HashSet::new();
    for d in 0..8 {
        let got = a.acquire(U0, dom(d), dev(d)).expect("a DID is left");
        assert!(got.fresh && got.counted);
        assert!(got.did.0 < 8, "{:?} is not in the lower half", got.did);
        assert!(seen.insert(got.did), "{:?} handed out twice", got.did);
    }
    let err = a.acquire(U0, dom(8), dev(8)).unwrap_err();
    let space = a.space(U0).unwrap();
    assert_eq!(
        err,
        DidError::Exhausted {
            unit: U0,
            class: DidClass::Domain,
            space,
            usable: 8
        }
    );
    let text = err.to_string();
    assert!(text.contains("unit 0") && text.contains("16 DIDs") && text.contains("all 8"));
    // A device of a domain that already holds a DID still gets it.
    assert!(a.acquire(U0, dom(3), dev(100)).is_ok());
    // Freeing one makes room for exactly one more.
    assert_eq!(a.release(U0, dom(0), dev(0)), Ok(Released::Freed(Did(0))));
    assert!(a.acquire(U0, dom(8), dev(8)).is_ok());
    assert!(a.acquire(U0, dom(9), dev(9)).is_err());
    assert!(a.is_consistent());
}

pub fn caching_mode_never_hands_out_did_0<T: DidAllocator + Default>() {
    let mut a: T = rebuilt(0, true);
    let mut seen = HashSet::new();
    for d in 0..7 {
        let got = a.acquire(U0, dom(d), dev(d)).expect("a DID is left");
        assert_ne!(got.did, Did(0));
        assert!((1..8).contains(&got.did.0));
        seen.insert(got.did);
    }
    assert_eq!(seen.len(), 7);
    assert!(matches!(
        a.acquire(U0, dom(7), dev(7)),
        Err(DidError::Exhausted { usable: 7, .. })
    ));
    // Churn: DID 0 stays out even after frees and reallocations.
    for round in 0..3u16 {
        for d in 0..7 {
            a.release(U0, dom(d + 10 * round), dev(d)).unwrap();
        }
        for d in 0..7 {
            let got = a.acquire(U0, dom(d + 10 * (round + 1)), dev(d)).unwrap();
            assert_ne!(got.did, Did(0));
        }
    }
    assert_eq!(a.owner_of(U0, Did(0)), Ok(None));
}

pub fn nd0_unit_gives_8_pseudo_dids_from_the_upper_half<T: DidAllocator + Default>() {
    let mut a: T = rebuilt(0, true);
    let mut seen = HashSet::new();
    for d in 0..8 {
        let got = a.quarantine(U0, dev(d)).expect("a pseudo-DID is left");
        assert!(
            (8..16).contains(&got.did.0),
            "{:?} not in the upper half",
            got.did
        );
        assert!(seen.insert(got.did));
    }
    assert!(matches!(
        a.quarantine(U0, dev(8)),
        Err(DidError::Exhausted {
            class: DidClass::Pseudo,
            usable: 8,
            ..
        })
    ));
}

pub fn a_domain_reuses_its_did_for_every_device_behind_the_unit<T: DidAllocator + Default>() {
    let mut a: T = rebuilt(2, false);
    let first = a.acquire(U0, dom(5), dev(0x10)).unwrap();
    let second = a.acquire(U0, dom(5), dev(0x18)).unwrap();
    assert_eq!(second.did, first.did);
    assert!(first.fresh && !second.fresh && second.counted);
    assert_eq!(a.devices_of(U0, dom(5)), Ok(2));
    let other = a.acquire(U0, dom(6), dev(0x20)).unwrap();
    assert_ne!(other.did, first.did);
}

pub fn the_did_is_freed_only_when_the_last_device_leaves<T: DidAllocator + Default>() {
    let mut a: T = rebuilt(2, false);
    let did = a.acquire(U0, dom(1), dev(1)).unwrap().did;
    a.acquire(U0, dom(1), dev(2)).unwrap();
    a.acquire(U0, dom(1), dev(3)).unwrap();
    assert_eq!(
        a.release(U0, dom(1), dev(2)),
        Ok(Released::Kept { did, remaining: 2 })
    );
    assert_eq!(a.did_of(U0, dom(1)), Ok(Some(did)));
    assert_eq!(
        a.release(U0, dom(1), dev(1)),
        Ok(Released::Kept { did, remaining: 1 })
    );
    assert_eq!(a.owner_of(U0, did), Ok(Some(DidOwner::Domain(dom(1)))));
    assert_eq!(a.release(U0, dom(1), dev(3)), Ok(Released::Freed(did)));
    assert_eq!(a.did_of(U0, dom(1)), Ok(None));
    assert_eq!(a.owner_of(U0, did), Ok(None));
    assert_eq!(a.dids_in_use(U0), Ok(0));
    assert!(a.is_consistent());
}

pub fn replayed_acquire_and_release_do_not_double_count<T: DidAllocator + Default>() {
    let mut a: T = rebuilt(2, false);
    let first = a.acquire(U0, dom(1), dev(1)).unwrap();
    let replay = a.acquire(U0, dom(1), dev(1)).unwrap();
    assert_eq!(
        replay,
        Acquired {
            did: first.did,
            fresh: false,
            counted: false
        }
    );
    a.acquire(U0, dom(1), dev(2)).unwrap();
    assert_eq!(a.devices_of(U0, dom(1)), Ok(2));
    assert!(matches!(
        a.release(U0, dom(1), dev(1)),
        Ok(Released::Kept { remaining: 1, .. })
    ));
    // The replayed release must not take device 2's share.
    assert_eq!(a.release(U0, dom(1), dev(1)), Ok(Released::NotCounted));
    assert_eq!(a.devices_of(U0, dom(1)), Ok(1));
    assert_eq!(a.did_of(U0, dom(1)), Ok(Some(first.did)));
    // Releasing a device never acquired, or a domain with no DID: no-op.
    assert_eq!(a.release(U0, dom(1), dev(9)), Ok(Released::NotCounted));
    assert_eq!(a.release(U0, dom(7), dev(9)), Ok(Released::NotCounted));
    assert_eq!(
        a.release(U0, dom(1), dev(2)),
        Ok(Released::Freed(first.did))
    );
    assert_eq!(a.release(U0, dom(1), dev(2)), Ok(Released::NotCounted));
}

/// The broker's move S → T on one unit, with its compensation (release for T)
/// replayed twice after a crash, leaves S exactly as it was.
pub fn replayed_compensation_of_a_failed_move_restores_the_books<T: DidAllocator + Default>() {
    let mut a: T = rebuilt(2, false);
    let (s, t, moving, staying) = (dom(1), dom(2), dev(0x10), dev(0x18));
    let s_did = a.acquire(U0, s, moving).unwrap().did;
    a.acquire(U0, s, staying).unwrap();
    let step1 = a.acquire(U0, t, moving).unwrap();
    assert!(step1.counted, "a release is the right compensation");
    assert_eq!(a.devices_of(U0, t), Ok(1));
    // Step 2 fails; the compensation runs, and runs again on journal replay.
    assert_eq!(a.release(U0, t, moving), Ok(Released::Freed(step1.did)));
    assert_eq!(a.release(U0, t, moving), Ok(Released::NotCounted));
    assert_eq!(a.did_of(U0, t), Ok(None));
    assert_eq!(a.did_of(U0, s), Ok(Some(s_did)));
    assert_eq!(a.devices_of(U0, s), Ok(2));
    // A move that commits, with its cleanup replayed.
    a.acquire(U0, t, moving).unwrap();
    assert!(matches!(
        a.release(U0, s, moving),
        Ok(Released::Kept { remaining: 1, .. })
    ));
    assert_eq!(a.release(U0, s, moving), Ok(Released::NotCounted));
    assert_eq!(a.did_of(U0, s), Ok(Some(s_did)));
    assert!(a.is_consistent());
}

/// A step that only replays an acquire (the device was already counted)
/// tells the broker so, and it must not record a release for it.
pub fn acquire_for_a_device_already_counted_reports_no_new_count<T: DidAllocator + Default>() {
    let mut a: T = rebuilt(2, false);
    a.acquire(U0, dom(1), dev(1)).unwrap();
    let again = a.acquire(U0, dom(1), dev(1)).unwrap();
    assert!(!again.counted && !again.fresh);
}

pub fn pseudo_dids_never_collide_with_domain_dids<T: DidAllocator + Default>() {
    for cm in [false, true] {
        let mut a: T = rebuilt(1, cm);
        let space = a.space(U0).unwrap();
        let mut domain_dids = HashSet::new();
        let mut pseudo_dids = HashSet::new();
        // Interleave so neither kind gets the space first.
        for i in 0..T::DOMAINS.min(T::DEVICES) as u16 {
            if let Ok(p) = a.quarantine(U0, dev(1000 + i)) {
                assert!(space.pseudo_range().contains(&(p.did.0 as u32)));
                pseudo_dids.insert(p.did);
            }
            if let Ok(d) = a.acquire(U0, dom(i), dev(i)) {
                assert!(space.domain_range().contains(&(d.did.0 as u32)));
                domain_dids.insert(d.did);
            }
        }
        assert!(!domain_dids.is_empty() && !pseudo_dids.is_empty());
        assert!(domain_dids.is_disjoint(&pseudo_dids));
    }
}

pub fn quarantine_gives_one_pseudo_did_per_device_idempotently<T: DidAllocator + Default>() {
    let mut a: T = rebuilt(1, false);
    let p1 = a.quarantine(U0, dev(1)).unwrap();
    let p2 = a.quarantine(U0, dev(2)).unwrap();
    assert_ne!(p1.did, p2.did);
    let again = a.quarantine(U0, dev(1)).unwrap();
    assert_eq!(
        again,
        Acquired {
            did: p1.did,
            fresh: false,
            counted: false
        }
    );
    assert_eq!(
        a.owner_of(U0, p1.did),
        Ok(Some(DidOwner::Quarantine(dev(1))))
    );
    assert_eq!(a.pseudo_did_of(U0, dev(2)), Ok(Some(p2.did)));
    // A quarantined device may still be counted in a domain mid-move.
    let d = a.acquire(U0, dom(4), dev(1)).unwrap();
    assert_ne!(d.did, p1.did);
    assert_eq!(a.unquarantine(U0, dev(1)), Ok(Released::Freed(p1.did)));
    assert_eq!(a.unquarantine(U0, dev(1)), Ok(Released::NotCounted));
    assert_eq!(a.pseudo_did_of(U0, dev(1)), Ok(None));
    assert_eq!(a.did_of(U0, dom(4)), Ok(Some(d.did)));
}

pub fn lookups_answer_both_ways_per_unit<T: DidAllocator + Default>() {
    let mut a = T::default();
    a.configure_unit(U0, 1, true).unwrap();
    a.configure_unit(U1, 0, false).unwrap();
    a.rebuild_from(std::iter::empty()).unwrap();
    let d0 = a.acquire(U0, dom(3), dev(1)).unwrap().did;
    let d1 = a.acquire(U1, dom(3), dev(1)).unwrap().did;
    assert_eq!(a.did_of(U0, dom(3)), Ok(Some(d0)));
    assert_eq!(a.did_of(U1, dom(3)), Ok(Some(d1)));
    assert_eq!(a.owner_of(U0, d0), Ok(Some(DidOwner::Domain(dom(3)))));
    assert_eq!(a.owner_of(U1, d1), Ok(Some(DidOwner::Domain(dom(3)))));
    // Releasing on one unit leaves the other alone.
    assert_eq!(a.release(U0, dom(3), dev(1)), Ok(Released::Freed(d0)));
    assert_eq!(a.did_of(U1, dom(3)), Ok(Some(d1)));
    // Exhausting unit 1 does not touch unit 0.
    for d in 10..17 {
        a.acquire(U1, dom(d), dev(d)).unwrap();
    }
    assert!(matches!(
        a.acquire(U1, dom(99), dev(99)),
        Err(DidError::Exhausted { unit: U1, .. })
    ));
    assert!(a.acquire(U0, dom(99), dev(99)).is_ok());
}

pub fn everything_is_refused_before_the_rebuild<T: DidAllocator + Default>() {
    let mut a = T::default();
    assert!(!a.is_rebuilt());
    // Configuration is allowed: the rebuild needs the spaces.
    a.configure_unit(U0, 2, false).unwrap();
    assert_eq!(a.acquire(U0, dom(1), dev(1)), Err(DidError::NotRebuilt));
    assert_eq!(a.release(U0, dom(1), dev(1)), Err(DidError::NotRebuilt));
    assert_eq!(a.quarantine(U0, dev(1)), Err(DidError::NotRebuilt));
    assert_eq!(a.unquarantine(U0, dev(1)), Err(DidError::NotRebuilt));
    assert_eq!(a.did_of(U0, dom(1)), Err(DidError::NotRebuilt));
    assert_eq!(a.owner_of(U0, Did(1)), Err(DidError::NotRebuilt));
    assert_eq!(a.dids_in_use(U0), Err(DidError::NotRebuilt));
    a.rebuild_from(std::iter::empty()).unwrap();
    assert!(a.is_rebuilt());
    assert!(a.acquire(U0, dom(1), dev(1)).is_ok());
}

fn rec(unit: UnitId, rid: u16, did: u16, owner: Owner, device: u16) -> ContextRecord {
    ContextRecord {
        unit,
        rid: Rid(rid),
        did: Did(did),
        owner,
        device: Rid(device),
    }
}

pub fn rebuild_restores_the_books_from_context_entries<T: DidAllocator + Default>() {
    let mut a = T::default();
    a.configure_unit(U0, 6, true).unwrap();
    a.configure_unit(U1, 1, false).unwrap();
    let (edu, bridge, alias, other) = (0x0108, 0x0018, 0x0100, 0x0010);
    let records = [
        // A legacy edu behind a PCIe-to-PCI bridge, in domain 2 with DID 7:
        // its own entry plus the bridge and (secbus, 0.0) aliases.
        rec(U0, edu, 7, Owner::Domain(dom(2)), edu),
        rec(U0, bridge, 7, Owner::Domain(dom(2)), edu),
        rec(U0, alias, 7, Owner::Domain(dom(2)), edu),
        // Another device of domain 2 with the same DID.
        (U0, Rid(other), Did(7), Owner::Domain(dom(2))).into(),
        // A quarantined device with a pseudo-DID.
        (U0, Rid(0x0020), Did(40000), Owner::Quarantine).into(),
        // Domain 2 on the other unit has its own DID.
        (U1, Rid(0x0300), Did(3), Owner::Domain(dom(2))).into(),
    ];
    a.rebuild_from(records).unwrap();
    assert!(a.is_rebuilt());
    assert_eq!(a.did_of(U0, dom(2)), Ok(Some(Did(7))));
    assert_eq!(
        a.devices_of(U0, dom(2)),
        Ok(2),
        "aliases count as their device"
    );
    assert_eq!(a.pseudo_did_of(U0, dev(0x0020)), Ok(Some(Did(40000))));
    assert_eq!(
        a.owner_of(U0, Did(40000)),
        Ok(Some(DidOwner::Quarantine(dev(0x0020))))
    );
    assert_eq!(a.did_of(U1, dom(2)), Ok(Some(Did(3))));
    // New DIDs avoid the rebuilt ones.
    for d in 10..(10 + T::DOMAINS as u16 - 1) {
        let got = a.acquire(U0, dom(d), dev(d)).unwrap();
        assert_ne!(got.did, Did(7));
        assert_ne!(got.did, Did(0));
    }
    let replay = a.acquire(U0, dom(2), dev(edu)).unwrap();
    assert!(!replay.counted);
    // The DID goes when both devices have left.
    assert!(matches!(
        a.release(U0, dom(2), dev(edu)),
        Ok(Released::Kept { .. })
    ));
    assert_eq!(
        a.release(U0, dom(2), dev(other)),
        Ok(Released::Freed(Did(7)))
    );
    assert!(a.is_consistent());
}

pub fn rebuild_replaces_whatever_was_there<T: DidAllocator + Default>() {
    let mut a: T = rebuilt(2, false);
    a.acquire(U0, dom(1), dev(1)).unwrap();
    a.quarantine(U0, dev(2)).unwrap();
    a.rebuild_from([(U0, Rid(5), Did(9), Owner::Domain(dom(3))).into()])
        .unwrap();
    assert_eq!(a.did_of(U0, dom(1)), Ok(None));
    assert_eq!(a.pseudo_did_of(U0, dev(2)), Ok(None));
    assert_eq!(a.did_of(U0, dom(3)), Ok(Some(Did(9))));
    assert_eq!(a.dids_in_use(U0), Ok(1));
    assert!(a.is_consistent());
}

pub fn rebuild_refuses_inconsistent_entries_and_stays_not_rebuilt<T: DidAllocator + Default>() {
    type Case = (
        &'static str,
        std::vec::Vec<ContextRecord>,
        fn(&DidError) -> bool,
    );
    let bad: [Case; 6] = [
        (
            "DID shared by two domains",
            std::vec![
                (U0, Rid(1), Did(3), Owner::Domain(dom(1))).into(),
                (U0, Rid(2), Did(3), Owner::Domain(dom(2))).into(),
            ],
            |e| matches!(e, DidError::RebuildDidShared { did: Did(3), .. }),
        ),
        (
            "domain with two DIDs",
            std::vec![
                (U0, Rid(1), Did(3), Owner::Domain(dom(1))).into(),
                (U0, Rid(2), Did(4), Owner::Domain(dom(1))).into(),
            ],
            |e| {
                matches!(
                    e,
                    DidError::RebuildDomainHasTwoDids {
                        first: Did(3),
                        second: Did(4),
                        ..
                    }
                )
            },
        ),
        (
            "domain DID in the pseudo half",
            std::vec![(U0, Rid(1), Did(40), Owner::Domain(dom(1))).into()],
            |e| matches!(e, DidError::RebuildDidOutOfRange { did: Did(40), .. }),
        ),
        (
            "pseudo-DID in the domain half",
            std::vec![(U0, Rid(1), Did(4), Owner::Quarantine).into()],
            |e| matches!(e, DidError::RebuildDidOutOfRange { did: Did(4), .. }),
        ),
        (
            "DID 0 under caching mode",
            std::vec![(U0, Rid(1), Did(0), Owner::Domain(dom(1))).into()],
            |e| matches!(e, DidError::RebuildDidOutOfRange { did: Did(0), .. }),
        ),
        (
            "quarantined device with two pseudo-DIDs",
            std::vec![
                (U0, Rid(1), Did(40), Owner::Quarantine).into(),
                (U0, Rid(1), Did(41), Owner::Quarantine).into(),
            ],
            |e| matches!(e, DidError::RebuildDeviceHasTwoPseudoDids { .. }),
        ),
    ];
    for (what, records, expected) in bad {
        let mut a = T::default();
        a.configure_unit(U0, 1, true).unwrap(); // 64 DIDs: 1..32 and 32..64
        a.rebuild_from(std::iter::empty()).unwrap();
        a.acquire(U0, dom(9), dev(9)).unwrap();
        let err = match a.rebuild_from(records) {
            Ok(()) => panic!("{what}: accepted"),
            Err(e) => e,
        };
        assert!(expected(&err), "{what}: got {err}");
        assert!(!a.is_rebuilt(), "{what}: still rebuilt");
        assert_eq!(a.acquire(U0, dom(1), dev(1)), Err(DidError::NotRebuilt));
        // A good rebuild afterwards starts from nothing.
        a.rebuild_from(std::iter::empty()).unwrap();
        assert_eq!(a.dids_in_use(U0), Ok(0), "{what}: state survived");
        assert!(a.is_consistent());
    }
}

pub fn rebuild_of_an_unconfigured_unit_is_refused<T: DidAllocator + Default>() {
    let mut a = T::default();
    let err = a
        .rebuild_from([(U0, Rid(1), Did(1), Owner::Domain(dom(1))).into()])
        .unwrap_err();
    assert_eq!(err, DidError::UnitNotConfigured { unit: U0 });
    assert!(!a.is_rebuilt());
}

pub fn full_tables_are_errors_that_leak_no_did<T: DidAllocator + Default>() {
    let mut a: T = rebuilt(6, false);
    for d in 0..T::DOMAINS as u16 {
        a.acquire(U0, dom(d), dev(d)).unwrap();
    }
    let err = a.acquire(U0, dom(999), dev(999)).unwrap_err();
    assert_eq!(
        err,
        DidError::DomainTableFull {
            unit: U0,
            capacity: T::DOMAINS
        }
    );
    assert_eq!(a.dids_in_use(U0), Ok(T::DOMAINS));
    // Fill the membership table through existing domains.
    let mut extra = 0u16;
    while a.devices_of(U0, dom(0)).unwrap() + T::DOMAINS - 1 < T::DEVICES {
        a.acquire(U0, dom(0), dev(2000 + extra)).unwrap();
        extra += 1;
    }
    assert_eq!(
        a.acquire(U0, dom(1), dev(3000)),
        Err(DidError::DeviceTableFull {
            unit: U0,
            capacity: T::DEVICES
        })
    );
    for i in 0..T::DEVICES as u16 {
        a.quarantine(U0, dev(4000 + i)).unwrap();
    }
    assert_eq!(
        a.quarantine(U0, dev(5000)),
        Err(DidError::QuarantineTableFull {
            unit: U0,
            capacity: T::DEVICES
        })
    );
    assert_eq!(a.dids_in_use(U0), Ok(T::DOMAINS + T::DEVICES));
    assert!(a.is_consistent());
}

pub fn unknown_and_unconfigured_units_are_errors<T: DidAllocator + Default>() {
    let mut a: T = rebuilt(0, false);
    let far = UnitId(T::UNITS as u8);
    assert_eq!(
        a.acquire(far, dom(1), dev(1)),
        Err(DidError::NoSuchUnit {
            unit: far,
            units: T::UNITS
        })
    );
    assert_eq!(
        a.configure_unit(far, 0, false),
        Err(DidError::NoSuchUnit {
            unit: far,
            units: T::UNITS
        })
    );
    assert_eq!(
        a.acquire(U1, dom(1), dev(1)),
        Err(DidError::UnitNotConfigured { unit: U1 })
    );
}

pub fn reconfiguring_a_unit_in_use_is_refused<T: DidAllocator + Default>() {
    let mut a: T = rebuilt(2, false);
    assert!(
        a.configure_unit(U0, 2, false).is_ok(),
        "same CAP again is a no-op"
    );
    a.acquire(U0, dom(1), dev(1)).unwrap();
    assert!(matches!(
        a.configure_unit(U0, 3, false),
        Err(DidError::UnitReconfigured { unit: U0, .. })
    ));
    assert!(a.did_of(U0, dom(1)).unwrap().is_some());
    a.release(U0, dom(1), dev(1)).unwrap();
    assert_eq!(a.configure_unit(U0, 3, false).map(|s| s.size()), Ok(1024));
}
