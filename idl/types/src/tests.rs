extern crate std;

use serde::Serialize;
use std::string::ToString;

use super::*;

fn encoded_len<T: Serialize>(value: &T) -> usize {
    postcard::to_stdvec(value).expect("encodes").len()
}

/// The value must encode to exactly its type's bound: the bound is tight.
fn assert_tight<T: Serialize + MaxEncodedLen>(value: &T) {
    assert_eq!(encoded_len(value), T::MAX_ENCODED_LEN);
}

#[test]
fn integer_bounds_are_postcard_varint_worst_cases() {
    assert_tight(&u8::MAX);
    assert_tight(&u16::MAX);
    assert_tight(&u32::MAX);
    assert_tight(&u64::MAX);
    assert_tight(&i16::MIN);
    assert_tight(&i32::MIN);
    assert_tight(&i64::MIN);
    assert_tight(&i64::MAX);
    assert_tight(&true);
    assert_tight(&());
}

#[test]
fn option_and_array_bounds_add_tag_and_multiply() {
    assert_tight(&Some(u32::MAX));
    assert_tight(&[u16::MAX; 7]);
    assert_tight(&[Some(u64::MAX); 3]);
    assert!(encoded_len(&None::<u64>) <= Option::<u64>::MAX_ENCODED_LEN);
}

#[test]
fn full_heapless_vec_meets_its_bound() {
    let mut v: heapless::Vec<u32, 8> = heapless::Vec::new();
    for _ in 0..8 {
        v.push(u32::MAX).unwrap();
    }
    assert_tight(&v);
    let mut big: heapless::Vec<u8, 200> = heapless::Vec::new();
    for _ in 0..200 {
        big.push(0xff).unwrap();
    }
    assert_tight(&big);
}

#[test]
fn named_type_bounds_are_tight_for_their_largest_values() {
    let bdf = Bdf {
        bus: 0xff,
        device: 31,
        function: 7,
    };
    let dom = DomainId(u16::MAX);
    let did = Did(u16::MAX);
    assert_tight(&bdf);
    assert_tight(&ContextState::Domain { domain: dom, did });
    assert_tight(&BenchRecord {
        device: bdf,
        domain: dom,
        did,
        range: PageRange {
            iova: u64::MAX,
            pages: u32::MAX,
        },
        access: Access::ReadWrite,
        mode: ReassignMode(u8::MAX),
        atomic: true,
    });
    assert_tight(&TxStatus::Running {
        device: bdf,
        target: dom,
        steps: 0xff,
    });
    assert_tight(&BrokerEvent::DmaFault {
        device: bdf,
        address: u64::MAX,
        reason: u8::MAX,
        direction: crate::DmaDirection::Write,
    });
    assert_tight(&IommuError::BadRange {
        iova: u64::MAX,
        pages: u32::MAX,
    });
    assert!(
        encoded_len(&IommuError::ContextMismatch {
            device: bdf,
            found: ContextState::Domain { domain: dom, did },
        }) <= IommuError::MAX_ENCODED_LEN
    );
    assert_tight(&DomidError::RebuildConflict {
        unit: UnitId(0xff),
        did,
        holder: dom,
    });
    let mut records = heapless::Vec::new();
    for _ in 0..FAULTS_PER_BATCH {
        records
            .push(FaultRecord {
                unit: UnitId(0xff),
                source: bdf,
                address: u64::MAX,
                reason: 0xff,
                direction: DmaDirection::Write,
            })
            .unwrap();
    }
    assert_tight(&FaultBatch {
        records,
        pending: u32::MAX,
        lost: u32::MAX,
    });
}

#[test]
fn registry_knows_every_type_by_name_and_nothing_else() {
    assert_eq!(
        registry::max_encoded_len_of("ContextState"),
        Some(ContextState::MAX_ENCODED_LEN)
    );
    assert_eq!(registry::max_encoded_len_of("Nonexistent"), None);
    let mut names: std::vec::Vec<_> = registry::NAMED_TYPES.iter().map(|t| t.name).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), registry::NAMED_TYPES.len(), "no name twice");
    assert_eq!(
        registry::fixed_layout_of("ContextState"),
        Some(registry::FixedLayout {
            size: <ContextState as Fixed>::SIZE,
            fingerprint: <ContextState as Fixed>::LAYOUT,
        })
    );
    assert_eq!(registry::fixed_layout_of("RmrrList"), None, "a list");
}

#[test]
fn bdf_requester_id_round_trips_and_rejects_out_of_range() {
    let bdf = Bdf {
        bus: 3,
        device: 0x1f,
        function: 6,
    };
    let rid = bdf.requester_id().unwrap();
    assert_eq!(rid, 0x03fe);
    assert_eq!(Bdf::from_requester_id(rid), bdf);
    assert_eq!(
        Bdf {
            bus: 0,
            device: 32,
            function: 0
        }
        .requester_id(),
        None
    );
    assert_eq!(bdf.to_string(), "03:1f.6");
}

#[test]
fn reassign_mode_flags_combine_and_reject_undefined_bits() {
    let m = ReassignMode::WITH_RMRR.union(ReassignMode::SINGLE_DEVICE);
    assert!(m.contains(ReassignMode::WITH_RMRR));
    assert!(!m.contains(ReassignMode::OWNER_DYING));
    assert!(m.is_valid());
    assert!(!ReassignMode(0x80).is_valid());
}

#[test]
fn errors_name_their_values() {
    let e = DomidError::NotHeld {
        unit: UnitId(2),
        domain: DomainId(7),
    };
    assert_eq!(e.to_string(), "domain 7 holds no DID on unit 2");
    let e = IommuError::BadRange {
        iova: 0x1001,
        pages: 3,
    };
    assert_eq!(e.to_string(), "bad range: 3 pages at 0x1001");
}

#[test]
fn server_report_types_meet_their_bounds_tightly() {
    let bdf = Bdf {
        bus: 0xff,
        device: 31,
        function: 7,
    };
    let context = HardwareContext {
        unit: UnitId(0xff),
        rid: bdf,
        did: Did(u16::MAX),
        root: u64::MAX,
        owner: EntryOwner::Domain(DomainId(u16::MAX)),
    };
    assert_tight(&context);
    let mut entries = heapless::Vec::new();
    for _ in 0..CONTEXTS_PER_PAGE {
        entries.push(context).unwrap();
    }
    assert_tight(&ContextPage {
        entries,
        next: Some(bdf),
    });
    let g = InvalidationCounts {
        global: u64::MAX,
        domain: u64::MAX,
        selective: u64::MAX,
    };
    assert_tight(&BrokerCounters {
        committed: u32::MAX,
        rolled_back: u32::MAX,
        rollback_failures: u32::MAX,
        replays: u32::MAX,
        cleanups_pending: u16::MAX,
        cleanup_failures: u32::MAX,
    });
    assert_tight(&BrokerError::RmrrOverlapsDomainMemory {
        device: bdf,
        domain: DomainId(u16::MAX),
        iova: u64::MAX,
    });
    assert!(
        postcard::to_stdvec(&BrokerError::AliasInUse {
            device: bdf,
            alias: bdf,
            neighbour: bdf,
        })
        .expect("encodes")
        .len()
            <= BrokerError::MAX_ENCODED_LEN
    );
    assert_tight(&IommuCounters {
        unit: UnitId(0xff),
        context_changes: u64::MAX,
        atomic_changes: u64::MAX,
        cleared_first_changes: u64::MAX,
        best_effort_changes: u64::MAX,
        corruption_warnings: u64::MAX,
        context_stores: u64::MAX,
        context_invalidations: g,
        iotlb_invalidations: g,
        faults_drained: u64::MAX,
    });
    assert_tight(&DidRelease::Kept {
        did: Did(u16::MAX),
        remaining: u16::MAX,
    });
    assert_tight(&DidHolder::Quarantine(bdf));
    assert!(
        encoded_len(&IommuError::DidMismatch {
            domain: DomainId(u16::MAX),
            held: Did(u16::MAX),
            requested: Did(u16::MAX),
        }) <= IommuError::MAX_ENCODED_LEN
    );
    assert!(
        encoded_len(&DomidError::BadRebuildRecord {
            index: u16::MAX,
            cause: RebuildDecodeError::Short { len: u16::MAX },
        }) <= DomidError::MAX_ENCODED_LEN
    );
    let mut ids = heapless::Vec::new();
    for _ in 0..MAX_REQUESTER_IDS {
        ids.push(bdf).unwrap();
    }
    assert_tight(&RequesterIdList { device: bdf, ids });
    assert_tight(&ScopeInfo {
        kind: ScopeKind::Unknown(0xff),
        resolved: ResolvedScope::Hierarchy {
            bridge: bdf,
            secondary: 0xff,
            subordinate: 0xff,
        },
    });
}

#[test]
fn rebuild_records_round_trip_through_their_ten_byte_layout() {
    let record = RebuildRecord {
        unit: UnitId(2),
        rid: Bdf::from_requester_id(0x0100),
        did: Did(0x1234),
        owner: RebuildOwner::Domain(DomainId(0xbeef)),
        device: Bdf::from_requester_id(0x0108),
    };
    let bytes = record.encode().unwrap();
    assert_eq!(
        bytes,
        [2, 0x00, 0x01, 0x34, 0x12, 1, 0xef, 0xbe, 0x08, 0x01]
    );
    assert_eq!(RebuildRecord::decode(&bytes), Ok(record));
    let quarantined = RebuildRecord {
        owner: RebuildOwner::Quarantine,
        ..record
    };
    let two: std::vec::Vec<u8> = [record, quarantined]
        .iter()
        .flat_map(|r| r.encode().unwrap())
        .collect();
    let back: std::vec::Vec<_> = RebuildRecord::decode_all(&two).collect();
    assert_eq!(back, [Ok(record), Ok(quarantined)]);
}

#[test]
fn malformed_rebuild_records_are_errors_naming_the_problem() {
    let mut bytes = RebuildRecord {
        unit: UnitId(0),
        rid: Bdf::from_requester_id(0x10),
        did: Did(1),
        owner: RebuildOwner::Quarantine,
        device: Bdf::from_requester_id(0x10),
    }
    .encode()
    .unwrap();
    bytes[5] = 7;
    let e = RebuildRecord::decode(&bytes).unwrap_err();
    assert_eq!(e, RebuildDecodeError::BadOwnerTag(7));
    assert_eq!(e.to_string(), "rebuild record owner tag 7 is not 0 or 1");
    assert_eq!(
        RebuildRecord::decode(&bytes[..4]),
        Err(RebuildDecodeError::Short { len: 4 })
    );
    let out_of_range = RebuildRecord {
        unit: UnitId(0),
        rid: Bdf {
            bus: 0,
            device: 32,
            function: 0,
        },
        did: Did(1),
        owner: RebuildOwner::Quarantine,
        device: Bdf::from_requester_id(0),
    };
    assert_eq!(out_of_range.encode(), None);
}

#[test]
fn a_hardware_context_names_its_state_unless_its_owner_is_unknown() {
    let mut c = HardwareContext {
        unit: UnitId(0),
        rid: Bdf::from_requester_id(0x10),
        did: Did(4),
        root: 0x1000,
        owner: EntryOwner::Domain(DomainId(3)),
    };
    assert_eq!(
        c.state(),
        Some(ContextState::Domain {
            domain: DomainId(3),
            did: Did(4)
        })
    );
    c.owner = EntryOwner::Quarantine;
    assert_eq!(c.state(), Some(ContextState::Quarantine { did: Did(4) }));
    c.owner = EntryOwner::Unknown;
    assert_eq!(c.state(), None);
}
