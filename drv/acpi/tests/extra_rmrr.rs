//! Extra RMRRs from configuration and their "SSSS:BB:DD.F" device strings.

mod common;

use acpi::extra_rmrr::{
    validate_extra_rmrr, validate_extra_rmrrs, DeviceStringError, ExtraRmrr, PciAddress,
};
use acpi::quirks::{MemRange, Warning};
use acpi::Dmar;
use common::{endpoint, DmarBuilder};

fn addr(segment: u16, bus: u8, device: u8, function: u8) -> PciAddress {
    PciAddress {
        segment,
        bus,
        device,
        function,
    }
}

#[test]
fn device_strings_with_and_without_segment_parse() {
    assert_eq!(PciAddress::parse("0000:00:02.0"), Ok(addr(0, 0, 2, 0)));
    assert_eq!(PciAddress::parse("00:1f.3"), Ok(addr(0, 0, 0x1f, 3)));
    assert_eq!(PciAddress::parse("1:2:3.4"), Ok(addr(1, 2, 3, 4)));
    assert_eq!("ffff:ff:1F.7".parse(), Ok(addr(0xffff, 0xff, 0x1f, 7)));
    assert_eq!(addr(1, 2, 3, 4).to_string(), "0001:02:03.4");
}

#[test]
fn bad_device_strings_are_clear_errors() {
    use DeviceStringError::*;
    let cases: [(&str, DeviceStringError); 9] = [
        ("", Empty),
        ("00:02", Shape),
        ("0000:00:02.0:1", Shape),
        ("00:02:0", Shape),
        (
            "zz:00.0",
            NotHex {
                field: "bus",
                found: 'z',
            },
        ),
        (
            "00000:00:00.0",
            TooManyDigits {
                field: "segment",
                max_digits: 4,
            },
        ),
        ("00:.0", EmptyField { field: "device" }),
        ("00:20.0", DeviceOutOfRange { device: 0x20 }),
        ("00:00.8", FunctionOutOfRange { function: 8 }),
    ];
    for (text, error) in cases {
        assert_eq!(PciAddress::parse(text), Err(error), "{text:?}");
        assert!(!error.to_string().is_empty());
    }
    assert_eq!(
        PciAddress::parse("00:02").unwrap_err().to_string(),
        "device address must be SSSS:BB:DD.F or BB:DD.F"
    );
    assert_eq!(
        PciAddress::parse("+0:00.0"),
        Err(NotHex {
            field: "bus",
            found: '+'
        })
    );
}

fn firmware() -> Vec<u8> {
    DmarBuilder::new(38, 0)
        .drhd(1, 0, 0xfed9_0000, &[])
        .rmrr(0, 0x7c00_0000, 0x7c0f_ffff, &[endpoint(0, 2, 0)])
        .build()
}

fn validate(extra: &ExtraRmrr<'_>, ram: &[MemRange]) -> Vec<String> {
    let bytes = firmware();
    let dmar = Dmar::parse(&bytes).unwrap();
    let mut out = Vec::new();
    let n = validate_extra_rmrr(0, extra, Some(&dmar), ram, &mut |w| out.push(w.to_string()));
    assert_eq!(n, out.len(), "the count is the number of warnings");
    out
}

#[test]
fn sound_extra_rmrr_has_no_warnings() {
    let devices = [addr(0, 1, 1, 0)];
    let extra = ExtraRmrr {
        base: 0x8000_0000,
        end: 0x8000_ffff,
        devices: &devices,
    };
    assert_eq!(
        validate(
            &extra,
            &[MemRange {
                base: 0,
                end: 0x7bff_ffff
            }]
        ),
        Vec::<String>::new()
    );
}

#[test]
fn extra_rmrr_follows_the_firmware_rmrr_rules() {
    let devices = [addr(0, 1, 1, 0)];
    let inverted = ExtraRmrr {
        base: 0x8000_0000,
        end: 0x7000_0000,
        devices: &devices,
    };
    assert_eq!(
        validate(&inverted, &[]),
        vec!["extra RMRR #0 (configuration): end 0x70000000 is below base 0x80000000"]
    );
    let unaligned = ExtraRmrr {
        base: 0x8000_0010,
        end: 0x8000_0fff,
        devices: &devices,
    };
    assert_eq!(
        validate(&unaligned, &[]),
        vec!["extra RMRR #0 (configuration): base 0x80000010 is not 4 KiB aligned"]
    );
    let end_unaligned = ExtraRmrr {
        base: 0x8000_0000,
        end: 0x8000_0ffe,
        devices: &devices,
    };
    assert!(validate(&end_unaligned, &[])[0].contains("end 0x80000ffe does not end a 4 KiB page"));
    let no_devices = ExtraRmrr {
        base: 0x8000_0000,
        end: 0x8000_0fff,
        devices: &[],
    };
    assert!(validate(&no_devices, &[])[0].contains("lists no device"));
    let in_ram = ExtraRmrr {
        base: 0x8000_0000,
        end: 0x8000_0fff,
        devices: &devices,
    };
    assert!(validate(
        &in_ram,
        &[MemRange {
            base: 0x8000_0000,
            end: 0x8fff_ffff
        }]
    )[0]
    .contains("overlaps RAM"));
}

#[test]
fn extra_rmrr_overlapping_a_firmware_rmrr_is_a_warning() {
    let devices = [addr(0, 1, 1, 0)];
    let extra = ExtraRmrr {
        base: 0x7c0f_f000,
        end: 0x7c10_ffff,
        devices: &devices,
    };
    assert_eq!(
        validate(&extra, &[]),
        vec!["RMRR at offset 0x40 [0x7c000000-0x7c0fffff] overlaps extra RMRR #0 (configuration) [0x7c0ff000-0x7c10ffff]"]
    );
}

#[test]
fn extra_rmrr_with_an_out_of_range_device_is_a_warning() {
    let devices = [addr(0, 1, 32, 0)];
    let extra = ExtraRmrr {
        base: 0x8000_0000,
        end: 0x8000_0fff,
        devices: &devices,
    };
    assert_eq!(
        validate(&extra, &[]),
        vec!["extra RMRR #0 (configuration): device 0000:01:20.0 is out of range (device <= 31, function <= 7)"]
    );
}

#[test]
fn extra_rmrrs_overlapping_each_other_are_a_warning() {
    let devices = [addr(0, 1, 1, 0)];
    let extras = [
        ExtraRmrr {
            base: 0x8000_0000,
            end: 0x8000_ffff,
            devices: &devices,
        },
        ExtraRmrr {
            base: 0x9000_0000,
            end: 0x9000_ffff,
            devices: &devices,
        },
        ExtraRmrr {
            base: 0x8000_f000,
            end: 0x8001_ffff,
            devices: &devices,
        },
    ];
    let mut found = Vec::new();
    let n = validate_extra_rmrrs(&extras, None, &[], &mut |w| found.push(w));
    assert_eq!(n, 1);
    assert!(matches!(
        found[0],
        Warning::RmrrOverlap {
            first: acpi::quirks::RmrrOrigin::Config { index: 0 },
            second: acpi::quirks::RmrrOrigin::Config { index: 2 },
            ..
        }
    ));
}
