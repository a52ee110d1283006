//! Every fixed layout: values round-trip, the bytes are the documented
//! ones, and hostile bytes (random, and every single-byte change of a
//! valid encoding) are either a value whose encoding is exactly those bytes
//! or an error naming the field, never a panic.

extern crate std;

use std::collections::BTreeSet;
use std::string::ToString;
use std::vec::Vec;

use zerocopy::{FromBytes, IntoBytes};

use super::*;
use crate::DmaDirection;
use crate::*;

/// xorshift64*: seeded, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// Random byte strings per type.
const RANDOM_INPUTS: usize = 4000;

/// Checks one type against its samples; returns how many inputs it tried.
fn exercise<T: Fixed + PartialEq + core::fmt::Debug>(name: &str, samples: &[T]) -> usize {
    assert_eq!(core::mem::size_of::<T::Wire>(), T::SIZE, "{name}: size");
    assert_eq!(core::mem::align_of::<T::Wire>(), 1, "{name}: alignment");
    let mut tried = 0;
    let mut encodings = Vec::new();
    for value in samples {
        let wire = value.to_wire();
        assert_eq!(
            T::from_wire(&wire).as_ref(),
            Ok(value),
            "{name}: round trip"
        );
        let mut out = [0u8; 256];
        assert_eq!(encode(value, &mut out), Some(T::SIZE));
        assert_eq!(&out[..T::SIZE], wire.as_bytes(), "{name}: encode");
        assert!(
            matches!(decode::<T>(wire.as_bytes()), Some(Ok(ref v)) if v == value),
            "{name}: decode"
        );
        encodings.push(wire.as_bytes().to_vec());
        // As a message: the layout, zeros to whole words; any nonzero pad
        // byte is refused.
        let len = message_len(T::SIZE);
        assert_eq!(len % WORD, 0);
        assert!(len >= T::SIZE && len < T::SIZE + WORD);
        let mut message = [0u8; 264];
        assert_eq!(encode_message(value, &mut message), Some(len));
        assert_eq!(&message[..T::SIZE], wire.as_bytes());
        assert!(message[T::SIZE..len].iter().all(|b| *b == 0));
        assert!(matches!(decode_message::<T>(&message[..len]), Some(Ok(ref v)) if v == value));
        for at in T::SIZE..len {
            let mut bad = message;
            bad[at] = 0x80;
            let e = decode_message::<T>(&bad[..len]).and_then(|r| r.err());
            assert_eq!(e.map(|e| e.found()), Some(0x80), "{name}: pad byte {at}");
        }
        assert!(decode_message::<T>(&message[..len + WORD]).is_none());
    }
    let mut rng = Rng(0x5eed_0000 ^ name.len() as u64 ^ (T::LAYOUT as u64) << 8);
    let mut inputs: Vec<Vec<u8>> = (0..RANDOM_INPUTS)
        .map(|_| (0..T::SIZE).map(|_| rng.next() as u8).collect())
        .collect();
    // Every single-byte change of every valid encoding: reaches each tag,
    // bool and unused byte with every value.
    for encoding in &encodings {
        for at in 0..encoding.len() {
            for byte in 0..=u8::MAX {
                let mut bytes = encoding.clone();
                bytes[at] = byte;
                inputs.push(bytes);
            }
        }
    }
    for bytes in &inputs {
        tried += 1;
        let wire = T::Wire::read_from_bytes(bytes).expect("sized");
        match T::check(&wire) {
            Ok(()) => {
                let value = T::read(&wire);
                assert_eq!(T::from_wire(&wire).as_ref(), Ok(&value), "{name}: one pass");
                assert_eq!(
                    value.to_wire().as_bytes(),
                    &bytes[..],
                    "{name}: accepted bytes {bytes:02x?} are not the encoding of {value:?}"
                );
            }
            Err(e) => {
                assert!(!e.expected().is_empty(), "{name}: {e}");
                assert!(!e.to_string().is_empty());
                assert!(T::read_valid(&wire).is_none(), "{name}: read_valid agrees");
                // Reading invalid bytes gives some value, never a panic.
                let _ = T::read(&wire);
                assert_eq!(decode::<T>(bytes).map(|r| r.err()), Some(Some(e)));
            }
        }
    }
    // A message of the wrong length is not the type.
    assert!(
        decode::<T>(&std::vec![0u8; T::SIZE + 1]).is_none(),
        "{name}"
    );
    if T::SIZE > 0 {
        assert!(
            decode::<T>(&std::vec![0u8; T::SIZE - 1]).is_none(),
            "{name}"
        );
    }
    tried
}

const BDF: Bdf = Bdf {
    bus: 0xfe,
    device: 31,
    function: 7,
};
const BDF2: Bdf = Bdf {
    bus: 1,
    device: 2,
    function: 3,
};
const DOM: DomainId = DomainId(0xbeef);
const DID: Did = Did(0x1234);
const RANGE: PageRange = PageRange {
    iova: 0x0123_4567_89ab_c000,
    pages: 0xfedc_ba98,
};

/// Runs `exercise` for each listed type and returns the names covered.
macro_rules! exercise_all {
    ($($t:ty => [$($v:expr),+ $(,)?]),+ $(,)?) => {{
        let mut covered = BTreeSet::new();
        let mut tried = 0;
        $(
            tried += exercise::<$t>(stringify!($t), &[$($v),+]);
            covered.insert(stringify!($t));
        )+
        (covered, tried)
    }};
}

fn all_types() -> (BTreeSet<&'static str>, usize) {
    exercise_all! {
        Bdf => [BDF, BDF2],
        DomainId => [DOM, DomainId(0)],
        Did => [DID],
        UnitId => [UnitId(0), UnitId(255)],
        TaskIndex => [TaskIndex(7)],
        ContextState => [
            ContextState::NotPresent,
            ContextState::Domain { domain: DOM, did: DID },
            ContextState::Quarantine { did: DID },
        ],
        ReassignMode => [ReassignMode::ALL, ReassignMode(0xff)],
        ContextChange => [ContextChange {
            previous: ContextState::Quarantine { did: DID },
            atomic: true,
        }],
        MsiSource => [
            MsiSource::Any,
            MsiSource::Exact(BDF),
            MsiSource::BusRange { first: 1, last: 0xff },
        ],
        InterruptRoute => [
            InterruptRoute::Blocked,
            InterruptRoute::Deliver {
                vector: 0xff,
                destination: 0xfe,
                source: MsiSource::BusRange { first: 1, last: 2 },
            },
        ],
        InterruptChange => [InterruptChange {
            previous: InterruptRoute::Deliver {
                vector: 64,
                destination: 0,
                source: MsiSource::Exact(BDF2),
            },
            atomic: false,
        }],
        Access => [Access::Read, Access::Write, Access::ReadWrite],
        PageRange => [RANGE],
        BenchRecord => [BenchRecord {
            device: BDF,
            domain: DOM,
            did: DID,
            range: RANGE,
            access: Access::Write,
            mode: ReassignMode::WITH_RMRR,
            atomic: false,
        }],
        UnitInfo => [UnitInfo {
            unit: UnitId(1),
            segment: 0xabcd,
            register_base: 0xfed9_0000,
            include_all: true,
        }],
        MemRange => [MemRange { base: u64::MAX, end: 1 }],
        ScopeKind => [ScopeKind::PciEndpoint, ScopeKind::Hpet, ScopeKind::Unknown(0x99)],
        ResolvedScope => [
            ResolvedScope::Device(BDF),
            ResolvedScope::Hierarchy { bridge: BDF2, secondary: 4, subordinate: 9 },
            ResolvedScope::Unresolved,
        ],
        ScopeInfo => [ScopeInfo {
            kind: ScopeKind::PciSubHierarchy,
            resolved: ResolvedScope::Hierarchy { bridge: BDF, secondary: 1, subordinate: 2 },
        }],
        DidGrant => [DidGrant { did: DID, fresh: true, counted: false }],
        DidRelease => [
            DidRelease::Freed(DID),
            DidRelease::Kept { did: DID, remaining: 0x0102 },
            DidRelease::NotCounted,
        ],
        DidHolder => [DidHolder::Domain(DOM), DidHolder::Quarantine(BDF)],
        RebuildOwner => [RebuildOwner::Domain(DOM), RebuildOwner::Quarantine],
        RebuildDecodeError => [RebuildDecodeError::Short { len: 9 }, RebuildDecodeError::BadOwnerTag(7)],
        EntryOwner => [
            EntryOwner::NotPresent,
            EntryOwner::Domain(DOM),
            EntryOwner::Quarantine,
            EntryOwner::Unknown,
        ],
        HardwareContext => [HardwareContext {
            unit: UnitId(2),
            rid: BDF,
            did: DID,
            root: 0x1234_5000,
            owner: EntryOwner::Domain(DOM),
        }],
        UnitCaps => [UnitCaps {
            unit: UnitId(0),
            nd: 6,
            caching_mode: true,
            levels: 4,
            queued_invalidation: false,
            atomic_context: true,
        }],
        InvalidationCounts => [InvalidationCounts { global: 1, domain: u64::MAX, selective: 3 }],
        IommuCounters => [IommuCounters {
            unit: UnitId(1),
            context_changes: 1,
            atomic_changes: 2,
            cleared_first_changes: 3,
            best_effort_changes: 4,
            corruption_warnings: 5,
            context_stores: 6,
            context_invalidations: InvalidationCounts { global: 7, domain: 8, selective: 9 },
            iotlb_invalidations: InvalidationCounts { global: 10, domain: 11, selective: 12 },
            faults_drained: u64::MAX,
        }],
        DmaDirection => [DmaDirection::Read, DmaDirection::Write],
        FaultRecord => [FaultRecord {
            unit: UnitId(0),
            source: BDF,
            address: 0xdead_b000,
            reason: 6,
            direction: DmaDirection::Write,
        }],
        AccessWidth => [AccessWidth::Byte, AccessWidth::Word, AccessWidth::Dword],
        DeviceKind => [DeviceKind::Endpoint, DeviceKind::HostBridge],
        DeviceInfo => [
            DeviceInfo {
                device: BDF,
                vendor: 0x1234,
                device_id: 0x11e8,
                kind: DeviceKind::LegacyEndpoint,
                upstream_bridge: Some(BDF2),
                secondary_bus: None,
                phantom_stride: 2,
            },
            DeviceInfo {
                device: BDF2,
                vendor: 0x8086,
                device_id: 0x244e,
                kind: DeviceKind::PcieToPciBridge,
                upstream_bridge: None,
                secondary_bus: Some(5),
                phantom_stride: 0,
            },
        ],
        AliasOrder => [AliasOrder::Assign, AliasOrder::Deassign],
        Custody => [Custody::Domain(DOM), Custody::Quarantined, Custody::Unassigned],
        DeviceEntry => [DeviceEntry { device: BDF, custody: Custody::Domain(DOM), has_rmrr: true }],
        DomainEntry => [DomainEntry { domain: DOM, owner: TaskIndex(5), devices: 3 }],
        TxStatus => [
            TxStatus::Idle,
            TxStatus::Running { device: BDF, target: DOM, steps: 4 },
            TxStatus::RollingBack { device: BDF2, remaining: 2 },
        ],
        ReassignReport => [ReassignReport {
            previous: ContextState::Domain { domain: DOM, did: DID },
            current: ContextState::NotPresent,
            atomic: true,
        }],
        BrokerEvent => [
            BrokerEvent::Moved { device: BDF, custody: Custody::Quarantined },
            BrokerEvent::RollbackFailed { device: BDF2 },
            BrokerEvent::OwnerDied { domain: DOM },
            BrokerEvent::DmaFault {
                device: BDF,
                address: u64::MAX,
                reason: 0x25,
                direction: DmaDirection::Read,
            },
            BrokerEvent::FaultQuarantined { device: BDF, faults: u32::MAX },
        ],
        SequencedEvent => [SequencedEvent {
            seq: u32::MAX,
            event: BrokerEvent::OwnerDied { domain: DOM },
        }],
        DeathCause => [DeathCause::CpuFault, DeathCause::Injected],
        DeathRecord => [DeathRecord {
            seq: 9,
            task: TaskIndex(3),
            generation: 200,
            cause: DeathCause::Panic,
            restarted: true,
        }],
        DmaReport => [DmaReport {
            device: BDF,
            iova: 0x10_0000,
            landed: true,
            rest_untouched: false,
            millis: 100,
        }],
        TaskReport => [TaskReport {
            generation: 3,
            faulted: true,
            faults: 7,
            restarts: 6,
            last_fault_kind: 2,
            last_fault_a: u64::MAX,
            last_fault_b: 0x1000,
            refusals: 1,
            backoff_ms: 40,
            activity: TaskActivity::ReceivingFrom {
                from: TaskIndex(4),
                notifications: 0x8000_0001,
            },
            stack_used: 12_000,
            stack_size: 65_536,
        }],
        TaskActivity => [
            TaskActivity::Runnable,
            TaskActivity::Sending(TaskIndex(2)),
            TaskActivity::AwaitingReply(TaskIndex(3)),
            TaskActivity::Receiving { notifications: 1 },
            TaskActivity::ReceivingFrom {
                from: TaskIndex(0xFFFF),
                notifications: u32::MAX,
            },
            TaskActivity::Stopped,
        ],
        SupervisorError => [
            SupervisorError::NoSuchTask(TaskIndex(9)),
            SupervisorError::NotInjectable(TaskIndex(0)),
            SupervisorError::KernelRefused,
        ],
        BrokerCounters => [BrokerCounters {
            committed: 1,
            rolled_back: 2,
            rollback_failures: 3,
            replays: 4,
            cleanups_pending: 5,
            cleanup_failures: u32::MAX,
        }],
        WorkerError => [WorkerError::NotMine(BDF), WorkerError::Busy, WorkerError::BadIova(3)],
        AcpiError => [
            AcpiError::NoSuchUnit(UnitId(3)),
            AcpiError::TooManyRmrrs { device: BDF, count: 9 },
            AcpiError::OffsetBeyondTable { offset: 1, length: u32::MAX },
            AcpiError::LeaseFailed,
            AcpiError::RmrrOverCustodyMemory { device: BDF, base: 0x10_0000, end: u64::MAX },
        ],
        IommuError => [
            IommuError::BadRange { iova: u64::MAX, pages: 1 },
            IommuError::InterruptRemappingOff(UnitId(3)),
            IommuError::NoSuchIrte { unit: UnitId(1), handle: u16::MAX },
            IommuError::ContextMismatch {
                device: BDF,
                found: ContextState::Domain { domain: DOM, did: DID },
            },
            IommuError::DidInUse { did: DID, holder: EntryOwner::Quarantine },
            IommuError::UnitFailure { unit: UnitId(1), cause: UnitFault::ResumeFailed },
            IommuError::OutOfTables,
        ],
        UnitFault => [UnitFault::NotBroughtUp, UnitFault::ResumeFailed],
        DomidError => [
            DomidError::NotRebuilt,
            DomidError::RebuildConflict { unit: UnitId(0), did: DID, holder: DOM },
            DomidError::RebuildRejected { unit: UnitId(1), did: DID, cause: RebuildFault::Shared },
            DomidError::BadRebuildRecord { index: 3, cause: RebuildDecodeError::BadOwnerTag(9) },
            DomidError::Inconsistent { unit: UnitId(1), did: DID },
        ],
        RebuildFault => [RebuildFault::OutOfRange, RebuildFault::DeviceHasTwoPseudoDids],
        BrokerError => [
            BrokerError::Busy,
            BrokerError::RolledBack { device: BDF, step: 3 },
            BrokerError::AliasInUse { device: BDF, alias: BDF2, neighbour: BDF },
            BrokerError::RmrrOverlapsDomainMemory { device: BDF, domain: DOM, iova: u64::MAX },
            BrokerError::JournalFailed,
            BrokerError::Unassignable {
                device: BDF,
                flaw: DeviceFlaw::BehindDisputedBus { bus: 1, first: BDF, second: BDF2 },
            },
        ],
        PciError => [
            PciError::NoDevice(BDF),
            PciError::BadOffset { offset: 0x1000, width: 4 },
            PciError::LeaseFailed,
            PciError::NoMsi(BDF2),
            PciError::Unassignable { device: BDF, flaw: DeviceFlaw::CapabilityLoop },
            PciError::ProtectedRegister {
                device: BDF,
                offset: 0x10,
                register: ConfigRegister::Bar(0),
            },
        ],
        DeviceFlaw => [
            DeviceFlaw::CapabilityLoop,
            DeviceFlaw::BadCapabilityPointer(0x41),
            DeviceFlaw::ConfigUnreadable,
            DeviceFlaw::ForeignPrimaryBus { bus: 0, primary: 0x20 },
            DeviceFlaw::BusRangeOutsideParent { secondary: 5, subordinate: 5, first: 2, last: 4 },
            DeviceFlaw::BusClaimedTwice { bus: 1, other: BDF2 },
            DeviceFlaw::BehindDisputedBus { bus: 1, first: BDF, second: BDF2 },
            DeviceFlaw::BehindUnreadableBridge(BDF),
        ],
        ConfigRegister => [
            ConfigRegister::Bar(5),
            ConfigRegister::CommandDecode,
            ConfigRegister::Msi,
            ConfigRegister::UncheckableCapabilities,
        ],
    }
}

#[test]
fn every_fixed_layout_round_trips_and_refuses_hostile_bytes_by_field() {
    let (covered, tried) = all_types();
    let registered: BTreeSet<&str> = registry::NAMED_TYPES
        .iter()
        .filter(|t| t.fixed.is_some())
        .map(|t| t.name)
        .collect();
    assert_eq!(
        covered, registered,
        "every type with a fixed layout is exercised here"
    );
    assert!(tried > 200_000, "only {tried} inputs");
}

#[test]
fn builtin_layouts_round_trip_and_refuse_what_is_not_a_value() {
    exercise::<()>("()", &[()]);
    exercise::<bool>("bool", &[false, true]);
    exercise::<u8>("u8", &[0, 0xff]);
    exercise::<i8>("i8", &[i8::MIN]);
    exercise::<u16>("u16", &[0x0102]);
    exercise::<u32>("u32", &[u32::MAX]);
    exercise::<u64>("u64", &[0x0102_0304_0506_0708]);
    exercise::<i16>("i16", &[-2]);
    exercise::<i32>("i32", &[i32::MIN]);
    exercise::<i64>("i64", &[-1]);
    exercise::<Option<u16>>("Option<u16>", &[None, Some(7)]);
    exercise::<Option<Option<bool>>>(
        "Option<Option<bool>>",
        &[None, Some(None), Some(Some(true))],
    );
    exercise::<[Option<Did>; 2]>("[Option<Did>; 2]", &[[Some(DID), None]]);
    exercise::<[[u16; 2]; 3]>("[[u16; 2]; 3]", &[[[1, 2], [3, 4], [5, 0xffff]]]);
}

#[test]
fn layouts_are_little_endian_fields_in_order() {
    let bytes = |w: &[u8]| w.to_vec();
    assert_eq!(bytes(BDF2.to_wire().as_bytes()), [1, 2, 3]);
    assert_eq!(bytes(0x0102_0304u32.to_wire().as_bytes()), [4, 3, 2, 1]);
    assert_eq!(bytes(true.to_wire().as_bytes()), [1]);
    assert_eq!(
        bytes(RANGE.to_wire().as_bytes()),
        [0x00, 0xc0, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01, 0x98, 0xba, 0xdc, 0xfe]
    );
    assert_eq!(
        bytes(
            ContextState::Domain {
                domain: DOM,
                did: DID
            }
            .to_wire()
            .as_bytes()
        ),
        [1, 0xef, 0xbe, 0x34, 0x12]
    );
    // A smaller variant leaves the rest of the payload zero.
    assert_eq!(
        bytes(ContextState::Quarantine { did: DID }.to_wire().as_bytes()),
        [2, 0x34, 0x12, 0, 0]
    );
    assert_eq!(bytes(ContextState::NotPresent.to_wire().as_bytes()), [0; 5]);
    assert_eq!(bytes(Some(BDF2).to_wire().as_bytes()), [1, 1, 2, 3]);
    assert_eq!(bytes(None::<Bdf>.to_wire().as_bytes()), [0; 4]);
    assert_eq!(bytes(Access::ReadWrite.to_wire().as_bytes()), [2]);
    let record = BenchRecord {
        device: BDF2,
        domain: DomainId(1),
        did: Did(300),
        range: PageRange {
            iova: 0x1_0000_0000,
            pages: 512,
        },
        access: Access::ReadWrite,
        mode: ReassignMode::WITH_RMRR,
        atomic: true,
    };
    assert_eq!(
        bytes(record.to_wire().as_bytes()),
        [
            1, 2, 3, // device
            1, 0, // domain
            0x2c, 0x01, // did
            0, 0, 0, 0, 1, 0, 0, 0, // range.iova
            0, 2, 0, 0, // range.pages
            2, // access
            1, // mode
            1, // atomic
        ]
    );
}

#[test]
fn an_invalid_byte_is_an_error_naming_its_field() {
    let mut record = BenchRecord {
        device: BDF,
        domain: DOM,
        did: DID,
        range: RANGE,
        access: Access::Read,
        mode: ReassignMode(0),
        atomic: false,
    }
    .to_wire();
    record.access.tag = 7;
    let e = BenchRecord::from_wire(&record).unwrap_err();
    assert_eq!(e.path(), ["access"]);
    assert_eq!(
        e.to_string(),
        "access: found 7, expected an Access tag (0..=2)"
    );
    record.access.tag = 0;
    record.atomic = 2;
    let e = BenchRecord::from_wire(&record).unwrap_err();
    assert_eq!(e.to_string(), "atomic: found 2, expected a bool (0 or 1)");

    // Nested: an enum inside a struct inside an enum.
    let mut change = ContextChange {
        previous: ContextState::Quarantine { did: DID },
        atomic: true,
    }
    .to_wire();
    change.previous.payload[3] = 9;
    let e = ContextChange::from_wire(&change).unwrap_err();
    assert_eq!(
        e.to_string(),
        "previous: found 9, expected 0 (a byte ContextState::Quarantine does not use)"
    );
    let mut error = IommuError::DidInUse {
        did: DID,
        holder: EntryOwner::Unknown,
    }
    .to_wire();
    error.payload[2] = 0x44;
    let e = IommuError::from_wire(&error).unwrap_err();
    assert_eq!(
        e.to_string(),
        "DidInUse.holder: found 68, expected an EntryOwner tag (0..=3)"
    );
    let mut option = Some(ContextState::NotPresent).to_wire();
    option.value.tag = 3;
    assert_eq!(
        Option::<ContextState>::from_wire(&option)
            .unwrap_err()
            .to_string(),
        "Some: found 3, expected a ContextState tag (0..=2)"
    );
    let mut array = [true, false, true].to_wire();
    array[2] = 0x80;
    assert_eq!(
        <[bool; 3]>::from_wire(&array).unwrap_err().to_string(),
        "[2]: found 128, expected a bool (0 or 1)"
    );
}

#[test]
fn a_wire_error_stays_small_enough_to_travel_in_every_client_error() {
    assert!(core::mem::size_of::<WireError>() <= 96);
}

#[test]
fn an_error_deeper_than_its_path_keeps_the_outer_fields() {
    let mut e = WireError::new(5, "a bool (0 or 1)");
    for name in ["e", "d", "c", "b", "a", "outer"] {
        e = e.within(name);
    }
    assert_eq!(e.path().len(), MAX_PATH);
    assert_eq!(e.path()[0], "outer");
    assert_eq!(
        e.to_string(),
        "outer.a.b.c...: found 5, expected a bool (0 or 1)"
    );
    assert!(e.names("outer") && !e.names("e"));
    let e = WireError::new(2, "a bool (0 or 1)")
        .at_index(40)
        .at_index(3)
        .within("x");
    assert_eq!(e.to_string(), "x[3][..]: found 2, expected a bool (0 or 1)");
}

#[test]
fn fingerprints_tell_layouts_apart() {
    let prints = [
        <u16 as Fixed>::LAYOUT,
        <i16 as Fixed>::LAYOUT,
        <DomainId as Fixed>::LAYOUT,
        <Did as Fixed>::LAYOUT,
        <Option<Did> as Fixed>::LAYOUT,
        <[Did; 2] as Fixed>::LAYOUT,
        <[Did; 3] as Fixed>::LAYOUT,
        <ContextState as Fixed>::LAYOUT,
        <EntryOwner as Fixed>::LAYOUT,
        <PageRange as Fixed>::LAYOUT,
        <MemRange as Fixed>::LAYOUT,
    ];
    let distinct: BTreeSet<u32> = prints.iter().copied().collect();
    assert_eq!(distinct.len(), prints.len(), "{prints:x?}");
    // Field order is part of the layout.
    assert_ne!(
        fingerprint::of_struct("S", &[("a", 1), ("b", 2)]),
        fingerprint::of_struct("S", &[("b", 2), ("a", 1)])
    );
    assert_ne!(
        fingerprint::of_struct("S", &[("ab", 1)]),
        fingerprint::of_struct("S", &[("a", 1), ("b", 1)])
    );
}
