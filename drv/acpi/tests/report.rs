//! The text and JSON reports and the `xtask dmar` command.

mod common;

use acpi::report::{dmar_command_to, render_json, render_text};
use common::{endpoint, DmarBuilder};

fn every_kind() -> Vec<u8> {
    DmarBuilder::new(38, 5)
        .drhd(0, 0, 0xfed9_0000, &[endpoint(0, 2, 0)])
        .drhd(1, 0, 0xfed9_1000, &[])
        .rmrr(0, 0x7c00_0000, 0x807f_ffff, &[endpoint(0, 2, 0)])
        .rmrr(0, 0x8a76_a000, 0x8a78_9fff, &[endpoint(0, 0x14, 0)])
        .atsr(1, 0, &[])
        .rhsa(0xfed9_1000, 1)
        .andd(1, "\\_SB.PCI0.I2C0")
        .satc(1, 0, &[endpoint(0, 2, 0)])
        .other(0x30, &[0; 4])
        .build()
}

#[test]
fn text_report_shows_each_structure_with_sizes_and_warnings_last() {
    let text = render_text("t", &every_kind()).unwrap();
    for part in [
        "host address width 39 bits, flags 0x05 INTR_REMAP DMA_CTRL_PLATFORM_OPT_IN",
        "DRHD segment 0000 registers 0xfed90000",
        "INCLUDE_PCI_ALL",
        "[0x7c000000-0x807fffff] 72 MiB",
        "[0x8a76a000-0x8a789fff] 128 KiB",
        "ATSR segment 0000 flags 0x01 ALL_PORTS",
        "RHSA unit registers 0xfed91000 proximity domain 1",
        "ANDD device 1 \"\\_SB.PCI0.I2C0\"",
        "SATC segment 0000 flags 0x01 ATC_REQUIRED",
        "unknown structure type 48",
    ] {
        assert!(text.contains(part), "{part:?} missing in\n{text}");
    }
    let warnings_at = text.find("warnings:").unwrap();
    assert!(text[warnings_at..].contains("unknown remapping structure type 48"));
    assert!(text.find("unknown structure type 48").unwrap() < warnings_at);
}

#[test]
fn json_report_is_one_line_with_integers_and_structures_in_table_order() {
    let json = render_json("t", &every_kind()).unwrap();
    assert!(!json.contains('\n'));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["host_address_width"], 39);
    assert_eq!(v["flags"], 5);
    assert_eq!(v["intr_remap"], true);
    let types: Vec<&str> = v["structures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        vec!["drhd", "drhd", "rmrr", "rmrr", "atsr", "rhsa", "andd", "satc", "unknown"]
    );
    let drhd = &v["structures"][0];
    assert!(drhd["register_base"].is_u64());
    assert_eq!(drhd["register_base"], 0xfed9_0000u64);
    assert_eq!(drhd["scopes"][0]["path"], serde_json::json!([[2, 0]]));
    assert_eq!(v["structures"][2]["size"], 72u64 << 20);
    assert_eq!(v["structures"][6]["name"], "\\_SB.PCI0.I2C0");
    assert_eq!(v["structures"][8]["type_code"], 0x30);
    assert_eq!(v["warnings"].as_array().unwrap().len(), 1);
}

#[test]
fn parse_failure_is_the_err_of_both_renderings() {
    let mut bad = every_kind();
    bad[0x40] ^= 0xff;
    assert!(render_text("t", &bad).unwrap_err().contains("checksum"));
    assert!(render_json("t", &bad).unwrap_err().contains("checksum"));
}

fn run(args: &[&str]) -> (i32, String) {
    let json = args.first() == Some(&"--json");
    let files: Vec<String> = args
        .iter()
        .skip(usize::from(json))
        .map(|s| s.to_string())
        .collect();
    let mut out = Vec::new();
    let code = dmar_command_to(json, &files, &mut out);
    (code, String::from_utf8(out).unwrap())
}

#[test]
fn dmar_command_prints_every_file_and_fails_at_the_end_if_one_failed() {
    let dir = std::env::temp_dir().join(format!("acpi-report-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.bin");
    let bad = dir.join("bad.bin");
    std::fs::write(&good, every_kind()).unwrap();
    std::fs::write(&bad, &every_kind()[..30]).unwrap();
    let qemu = common::fixtures().join("qemu-7.2-q35-edu-bridge.bin");
    let (g, b, q) = (
        good.to_str().unwrap(),
        bad.to_str().unwrap(),
        qemu.to_str().unwrap(),
    );

    let (code, out) = run(&[g, b, q]);
    assert_eq!(code, 1);
    assert!(
        out.contains(&format!(
            "{b}: error: offset 0x0: table header needs 36 bytes but only 30 remain"
        )),
        "{out}"
    );
    assert!(out.contains(&format!("{g}: DMAR revision 1")));
    assert!(
        out.contains(&format!("{q}: DMAR revision 1")),
        "the file after the bad one is printed"
    );

    let (code, out) = run(&["--json", g, b, q]);
    assert_eq!(code, 1);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["file"], g);
    assert!(lines[1]["error"].as_str().unwrap().contains("table header"));
    assert_eq!(lines[2]["structures"][0]["register_base"], 0xfed9_0000u64);

    let (code, out) = run(&[g, q]);
    assert_eq!(code, 0, "{out}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn dmar_command_reports_an_unreadable_file() {
    let (code, out) = run(&["/nonexistent/DMAR"]);
    assert_eq!(code, 1);
    assert!(
        out.starts_with("/nonexistent/DMAR: error: cannot read:"),
        "{out}"
    );
}
