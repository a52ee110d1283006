use super::*;

#[test]
fn task_id_keeps_index_and_generation_apart() {
    let id = TaskId::new(5, Generation::new(3));
    assert_eq!(id.index(), 5);
    assert_eq!(id.generation().get(), 3);
    assert_eq!(id.with_generation(Generation::new(4)).index(), 5);
}

#[test]
fn generation_wraps_within_six_bits() {
    let g = Generation::new(task_id::GENERATIONS - 1);
    assert_eq!(g.next().get(), 0);
}

#[test]
fn dead_code_round_trips_generation() {
    assert_eq!(rc::dead_generation(rc::dead(7)), Some(7));
    assert_eq!(rc::dead_generation(rc::OK), None);
    assert_eq!(rc::dead_generation(rc::BAD_LEASE), None);
}

#[test]
fn every_sysnum_decodes_and_unknown_is_none() {
    for raw in 0..=14 {
        assert_eq!(Sysnum::from_raw(raw).map(|s| s as u64), Some(raw));
    }
    assert_eq!(Sysnum::from_raw(99), None);
}

#[test]
fn fault_info_encoding_round_trips() {
    let all = [
        FaultInfo::PageFault {
            address: 0x1234,
            write: true,
            execute: false,
            present: true,
        },
        FaultInfo::GeneralProtection { code: 8 },
        FaultInfo::InvalidOpcode { rip: 1 },
        FaultInfo::DivideError { rip: 2 },
        FaultInfo::Exception { vector: 3, rip: 4 },
        FaultInfo::SyscallUsage { sysnum: 77 },
        FaultInfo::Panic,
        FaultInfo::ReplyFault {
            server: 3,
            reason: 2,
        },
        FaultInfo::Injected,
    ];
    for f in all {
        let (k, a, b) = f.encode();
        assert_eq!(FaultInfo::decode(k, a, b), Some(f));
    }
    assert_eq!(FaultInfo::decode(0, 0, 0), None);
}

#[test]
fn kipc_and_reply_fault_decode_unknown_as_none() {
    assert_eq!(KipcOp::from_raw(2), Some(KipcOp::RestartTask));
    assert_eq!(KipcOp::from_raw(0), None);
    assert_eq!(
        ReplyFaultReason::from_raw(3),
        Some(ReplyFaultReason::BadLeases)
    );
    assert_eq!(ReplyFaultReason::from_raw(42), None);
}
