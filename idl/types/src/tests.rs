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
    assert_tight(&DomidError::SeedConflict {
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
    let mut names: std::vec::Vec<_> = registry::NAMED_TYPES.iter().map(|(n, _)| *n).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), registry::NAMED_TYPES.len(), "no name twice");
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
        encoded_len(&DomidError::BadSeedRecord {
            index: u16::MAX,
            cause: SeedDecodeError::Short { len: u16::MAX },
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
fn seed_records_round_trip_through_their_ten_byte_layout() {
    let record = SeedRecord {
        unit: UnitId(2),
        rid: Bdf::from_requester_id(0x0100),
        did: Did(0x1234),
        owner: SeedOwner::Domain(DomainId(0xbeef)),
        device: Bdf::from_requester_id(0x0108),
    };
    let bytes = record.encode().unwrap();
    assert_eq!(
        bytes,
        [2, 0x00, 0x01, 0x34, 0x12, 1, 0xef, 0xbe, 0x08, 0x01]
    );
    assert_eq!(SeedRecord::decode(&bytes), Ok(record));
    let quarantined = SeedRecord {
        owner: SeedOwner::Quarantine,
        ..record
    };
    let two: std::vec::Vec<u8> = [record, quarantined]
        .iter()
        .flat_map(|r| r.encode().unwrap())
        .collect();
    let back: std::vec::Vec<_> = SeedRecord::decode_all(&two).collect();
    assert_eq!(back, [Ok(record), Ok(quarantined)]);
}

#[test]
fn malformed_seed_records_are_errors_naming_the_problem() {
    let mut bytes = SeedRecord {
        unit: UnitId(0),
        rid: Bdf::from_requester_id(0x10),
        did: Did(1),
        owner: SeedOwner::Quarantine,
        device: Bdf::from_requester_id(0x10),
    }
    .encode()
    .unwrap();
    bytes[5] = 7;
    let e = SeedRecord::decode(&bytes).unwrap_err();
    assert_eq!(e, SeedDecodeError::BadOwnerTag(7));
    assert_eq!(e.to_string(), "seed record owner tag 7 is not 0 or 1");
    assert_eq!(
        SeedRecord::decode(&bytes[..4]),
        Err(SeedDecodeError::Short { len: 4 })
    );
    let out_of_range = SeedRecord {
        unit: UnitId(0),
        rid: Bdf {
            bus: 0,
            device: 32,
            function: 0,
        },
        did: Did(1),
        owner: SeedOwner::Quarantine,
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

/// A deterministic byte stream (xorshift), so the sampled inputs are the
/// same on every run.
struct Bytes(u64);

impl Bytes {
    fn next(&mut self) -> u8 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 24) as u8
    }
}

/// Checks `T`'s MIN_ENCODED_LEN and UNCHECKED_LEN against postcard itself:
/// no input shorter than the minimum decodes, no input within the unchecked
/// prefix fails other than by ending, so every input shorter than
/// `request_min` fails by ending.
fn check_shortest<T: serde::de::DeserializeOwned + MaxEncodedLen>() {
    let name = core::any::type_name::<T>();
    let mut rng = Bytes(0x9e37_79b9_7f4a_7c15);
    let short = request_min(T::MIN_ENCODED_LEN, T::UNCHECKED_LEN);
    let unchecked = T::UNCHECKED_LEN.min(T::MAX_ENCODED_LEN + 1);
    let mut inputs: std::vec::Vec<std::vec::Vec<u8>> = std::vec::Vec::new();
    for fill in [0x00, 0x01, 0x02, 0x7f, 0x80, 0xfe, 0xff] {
        for len in 0..=T::MAX_ENCODED_LEN + 1 {
            inputs.push(std::vec![fill; len]);
        }
    }
    for _ in 0..4000 {
        let len = usize::from(rng.next()) % (T::MAX_ENCODED_LEN + 2);
        // Mostly small bytes, so tags and bools are often valid and
        // decoding gets deep into the value.
        inputs.push(
            (0..len)
                .map(|_| match rng.next() {
                    b if b < 160 => b % 4,
                    b => b,
                })
                .collect(),
        );
    }
    for input in &inputs {
        let result = postcard::take_from_bytes::<T>(input);
        if let Ok((_, rest)) = &result {
            let used = input.len() - rest.len();
            assert!(
                used >= T::MIN_ENCODED_LEN,
                "{name}: {input:02x?} decoded from {used} bytes"
            );
        }
        if input.len() <= unchecked {
            assert!(
                matches!(
                    result,
                    Ok(_) | Err(postcard::Error::DeserializeUnexpectedEnd)
                ),
                "{name}: {input:02x?} is invalid within the unchecked prefix"
            );
        }
        if input.len() < short {
            assert!(
                matches!(result, Err(postcard::Error::DeserializeUnexpectedEnd)),
                "{name}: {input:02x?}, shorter than {short}, did not fail by ending"
            );
        }
    }
}

#[test]
fn shortest_lengths_and_unchecked_prefixes_hold_for_every_named_type() {
    check_shortest::<u8>();
    check_shortest::<u16>();
    check_shortest::<i32>();
    check_shortest::<u64>();
    check_shortest::<bool>();
    check_shortest::<Option<u16>>();
    check_shortest::<[u16; 3]>();
    check_shortest::<heapless::Vec<u8, 4>>();
    check_shortest::<BenchRecord>();
    check_shortest::<DmaReport>();
    check_shortest::<WorkerError>();
    check_shortest::<Bdf>();
    check_shortest::<DomainId>();
    check_shortest::<Did>();
    check_shortest::<UnitId>();
    check_shortest::<TaskIndex>();
    check_shortest::<ContextState>();
    check_shortest::<ReassignMode>();
    check_shortest::<ContextChange>();
    check_shortest::<Access>();
    check_shortest::<PageRange>();
    check_shortest::<UnitInfo>();
    check_shortest::<MemRange>();
    check_shortest::<RmrrList>();
    check_shortest::<DmaDirection>();
    check_shortest::<FaultRecord>();
    check_shortest::<FaultBatch>();
    check_shortest::<AccessWidth>();
    check_shortest::<DeviceKind>();
    check_shortest::<DeviceInfo>();
    check_shortest::<Custody>();
    check_shortest::<DeviceEntry>();
    check_shortest::<DevicePage>();
    check_shortest::<DomainEntry>();
    check_shortest::<DomainPage>();
    check_shortest::<TxStatus>();
    check_shortest::<ReassignReport>();
    check_shortest::<BrokerEvent>();
    check_shortest::<SequencedEvent>();
    check_shortest::<DeathCause>();
    check_shortest::<DeathRecord>();
    check_shortest::<NoError>();
    check_shortest::<AcpiError>();
    check_shortest::<IommuError>();
    check_shortest::<DomidError>();
    check_shortest::<BrokerError>();
    check_shortest::<PciError>();
    check_shortest::<EntryOwner>();
    check_shortest::<HardwareContext>();
    check_shortest::<ContextPage>();
    check_shortest::<UnitCaps>();
    check_shortest::<InvalidationCounts>();
    check_shortest::<IommuCounters>();
    check_shortest::<UnitFault>();
    check_shortest::<DidGrant>();
    check_shortest::<DidRelease>();
    check_shortest::<DidHolder>();
    check_shortest::<SeedOwner>();
    check_shortest::<SeedFault>();
    check_shortest::<SeedDecodeError>();
    check_shortest::<AliasOrder>();
    check_shortest::<RequesterIdList>();
    check_shortest::<ScopeKind>();
    check_shortest::<ResolvedScope>();
    check_shortest::<ScopeInfo>();
}

#[test]
fn a_struct_checks_its_fields_in_order() {
    // Bdf (3 bytes, nothing to check), a DomainId (u16: its third byte can
    // be invalid), a PageRange...: the first check can come at byte 6.
    assert_eq!(BenchRecord::MIN_ENCODED_LEN, 10);
    assert_eq!(BenchRecord::UNCHECKED_LEN, 5);
    assert_eq!(Bdf::UNCHECKED_LEN, usize::MAX);
    assert_eq!(ContextState::MIN_ENCODED_LEN, 1);
    assert_eq!(ContextState::UNCHECKED_LEN, 0);
    assert_eq!(
        request_min(BenchRecord::MIN_ENCODED_LEN, BenchRecord::UNCHECKED_LEN),
        6
    );
}
