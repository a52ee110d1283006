//! CAP/ECAP decoding against QEMU 7.2's values, and the refusals.

use vtd::model::{Model, QEMU_CAP, QEMU_ECAP, QEMU_ECAP_INTREMAP};
use vtd::{Cap, Config, Ecap, Error, Levels};

#[test]
fn qemu_7_2_cap_decodes_to_three_levels_and_65536_domains() {
    let cap = Cap::decode(QEMU_CAP).unwrap();
    assert_eq!(cap.nd, 6);
    assert_eq!(cap.domain_count(), Ok(65536));
    assert_eq!(cap.levels(), Ok(Levels::Three));
    assert!(!cap.supports(Levels::Four));
    assert_eq!(cap.mgaw, 39);
    assert!(!cap.cm && !cap.rwbf);
    assert!(cap.sp_2m && cap.sp_1g && cap.psi);
    assert_eq!(cap.fro, 0x22);
    assert_eq!(cap.fault_record_offset(), 0x220);
    assert_eq!(cap.nfr, 1);
    assert_eq!(cap.mamv, 18);
    assert!(cap.dwd && cap.drd);
}

#[test]
fn qemu_ecap_without_intremap_has_qi_pt_and_iro_0xf() {
    let ecap = Ecap::decode(QEMU_ECAP);
    assert!(ecap.qi && ecap.pt);
    assert!(!ecap.dt && !ecap.ir && !ecap.coherent);
    assert_eq!(ecap.iro, 0xf);
    assert_eq!(ecap.iva_offset(), 0xf0);
    assert_eq!(ecap.iotlb_offset(), 0xf8);
}

#[test]
fn qemu_ecap_with_intremap_adds_ir_and_keeps_other_bits() {
    let ecap = Ecap::decode(QEMU_ECAP_INTREMAP);
    assert!(ecap.qi && ecap.pt && ecap.ir);
    assert_eq!(ecap.iro, 0xf);
    assert_eq!(ecap.encode(), QEMU_ECAP_INTREMAP);
}

#[test]
fn cap_encode_round_trips_qemu_value() {
    assert_eq!(Cap::decode(QEMU_CAP).unwrap().encode(), QEMU_CAP);
}

#[test]
fn nd_7_is_refused_by_decode_and_by_the_unit() {
    let raw = (QEMU_CAP & !7) | 7;
    assert_eq!(Cap::decode(raw), Err(Error::ReservedDomainCount));
    let model = Model::new(raw, QEMU_ECAP);
    assert!(matches!(
        model.unit(Config::default()),
        Err(Error::ReservedDomainCount)
    ));
}

#[test]
fn sagaw_with_48_bit_support_picks_four_levels() {
    let both = QEMU_CAP | (0b110 << 8);
    assert_eq!(Cap::decode(both).unwrap().levels(), Ok(Levels::Four));
    let only_four = (QEMU_CAP & !(0x1f << 8)) | (0b100 << 8);
    assert_eq!(Cap::decode(only_four).unwrap().levels(), Ok(Levels::Four));
}

#[test]
fn sagaw_without_39_or_48_bit_is_refused() {
    let raw = (QEMU_CAP & !(0x1f << 8)) | (0b1000 << 8);
    assert_eq!(
        Cap::decode(raw),
        Err(Error::NoSupportedLevels { sagaw: 0b1000 })
    );
}

#[test]
fn errors_name_the_problem_in_words() {
    let text = Error::ReservedDomainCount.to_string();
    assert!(text.contains("ND"), "{text}");
    let text = Error::Overlap { iova: 0x3000 }.to_string();
    assert!(text.contains("0x3000"), "{text}");
}
