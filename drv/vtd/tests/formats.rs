//! Bit layouts of every hardware format, checked against the positions the
//! VT-d specification (and the facts file) gives, plus decode/encode round
//! trips.

use proptest::prelude::*;
use vtd::format::{
    CcGranularity, Ccmd, ContextEntry, Descriptor, FaultReason, FaultRecord, IotlbCmd,
    IotlbGranularity, Iva, RootEntry, SlPte, TranslationType, GCMD_ONE_SHOT,
};
use vtd::GstsBit;

#[test]
fn context_entry_fields_sit_at_spec_positions() {
    let entry = ContextEntry {
        present: true,
        fpd: true,
        tt: TranslationType::PassThrough,
        slptptr: 0x1234_5000,
        aw: 2,
        did: 0xabcd,
        ..ContextEntry::empty()
    };
    assert_eq!(
        entry.encode(),
        (0x1234_5000 | 1 | 2 | (2 << 2), 2 | (0xabcd << 8))
    );
    assert_eq!(ContextEntry::from_u128(entry.to_u128()), entry);
}

#[test]
fn context_entry_keeps_unnamed_bits() {
    let (lo, hi) = (0x1234_5001 | (1 << 4), 1 | (5 << 8) | (1 << 40));
    let entry = ContextEntry::decode(lo, hi);
    assert_eq!(entry.encode(), (lo, hi));
}

#[test]
fn root_entry_present_and_pointer() {
    let root = RootEntry {
        present: true,
        context_table: 0x7000,
    };
    assert_eq!(root.encode(), 0x7001);
    assert_eq!(RootEntry::decode(0x7001), root);
}

#[test]
fn pte_bits_r0_w1_ps7_snp11() {
    let pte = SlPte {
        read: true,
        write: false,
        superpage: true,
        snoop: true,
        addr: 0x20_0000,
    };
    assert_eq!(pte.encode(), 0x20_0000 | 1 | (1 << 7) | (1 << 11));
    assert!(SlPte::decode(2).present());
    assert!(!SlPte::decode(1 << 7).present());
}

#[test]
fn fault_record_layout() {
    let lo = 0xdead_b000;
    let hi = 0x0010 | (5u64 << 32) | (1 << 63);
    let record = FaultRecord::decode(lo, hi);
    assert_eq!(record.address, 0xdead_b000);
    assert_eq!(record.sid, 0x0010);
    assert_eq!(record.reason, FaultReason::NoWrite);
    assert!(!record.read && record.fault);
    assert_eq!(record.encode(), (lo, hi));
}

#[test]
fn ccmd_layout() {
    let cmd = Ccmd {
        icc: true,
        request: CcGranularity::Device,
        actual: CcGranularity::None,
        fm: 0,
        sid: 0x0100,
        did: 7,
    };
    assert_eq!(cmd.encode(), (1 << 63) | (3 << 61) | (0x0100 << 16) | 7);
}

#[test]
fn iotlb_register_and_iva_layout() {
    let cmd = IotlbCmd {
        ivt: true,
        request: IotlbGranularity::Domain,
        actual: IotlbGranularity::None,
        dr: true,
        dw: true,
        did: 9,
    };
    assert_eq!(
        cmd.encode(),
        (1 << 63) | (2 << 60) | (1 << 49) | (1 << 48) | (9 << 32)
    );
    let done = IotlbCmd::decode((2 << 57) | (9 << 32));
    assert_eq!(done.actual, IotlbGranularity::Domain);
    assert!(!done.ivt);
    let iva = Iva {
        addr: 0x40_0000,
        ih: true,
        am: 9,
    };
    assert_eq!(iva.encode(), 0x40_0000 | (1 << 6) | 9);
}

#[test]
fn wait_descriptor_is_type_5_with_sw_bit_5_and_data_high() {
    let wait = Descriptor::Wait {
        interrupt: false,
        status_write: true,
        fence: false,
        status_data: 0x1234,
        status_addr: 0x9000,
    };
    assert_eq!(wait.encode(), (5 | (1 << 5) | (0x1234 << 32), 0x9000));
}

#[test]
fn context_and_iotlb_descriptor_layouts() {
    let cc = Descriptor::ContextCache {
        granularity: CcGranularity::Device,
        did: 3,
        sid: 0x0010,
        fm: 0,
    };
    assert_eq!(cc.encode(), (1 | (3 << 4) | (3 << 16) | (0x0010 << 32), 0));
    let iotlb = Descriptor::Iotlb {
        granularity: IotlbGranularity::Page,
        drain_reads: true,
        drain_writes: false,
        did: 4,
        addr: 0x10_0000,
        ih: false,
        am: 2,
    };
    assert_eq!(
        iotlb.encode(),
        (2 | (3 << 4) | (1 << 7) | (4 << 16), 0x10_0000 | 2)
    );
}

#[test]
fn one_shot_gcmd_bits_are_srtp_sfl_wbf_sirtp() {
    assert_eq!(GCMD_ONE_SHOT, (1 << 30) | (1 << 29) | (1 << 27) | (1 << 24));
    assert_eq!(GstsBit::Te.mask(), 1 << 31);
    assert_eq!(GstsBit::Qies.mask(), 1 << 26);
}

proptest! {
    #[test]
    fn context_entry_round_trips(lo: u64, hi: u64) {
        prop_assert_eq!(ContextEntry::decode(lo, hi).encode(), (lo, hi));
    }

    #[test]
    fn descriptors_round_trip(kind in prop::sample::select(vec![1u64, 2, 5]), lo: u64, hi: u64) {
        let desc = Descriptor::decode((lo & !0xf) | kind, hi);
        prop_assert_eq!(Descriptor::decode(desc.encode().0, desc.encode().1), desc);
    }

    #[test]
    fn fault_record_round_trips(address in 0u64..(1 << 52), sid: u16, code in 1u8..=0xd, read: bool) {
        let record = FaultRecord {
            address: address & !0xfff,
            sid,
            reason: FaultReason::from_code(code),
            read,
            fault: true,
        };
        let (lo, hi) = record.encode();
        prop_assert_eq!(FaultRecord::decode(lo, hi), record);
    }
}
