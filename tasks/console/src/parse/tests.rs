//! The parser against the table: every command's examples, its errors in
//! words, and no panic on any line.

use super::*;
use crate::command::{ForgedMsi, BENCH_DEFAULT_COUNT, STORM_DEFAULT_MS};
use crate::table::COMMANDS;
use std::string::ToString;

fn addr(bus: u8, device: u8, function: u8) -> DeviceRef<'static> {
    DeviceRef::Address {
        segment: 0,
        bus,
        device,
        function,
    }
}

#[test]
fn reassign_takes_an_address_and_a_domain() {
    assert_eq!(
        parse("reassign 00:02.0 dma_b"),
        Ok(Command::Reassign {
            device: addr(0, 2, 0),
            domain: "dma_b"
        })
    );
}

#[test]
fn device_with_segment_parses() {
    assert_eq!(
        parse("quarantine 0001:01:1f.7"),
        Ok(Command::Quarantine {
            device: DeviceRef::Address {
                segment: 1,
                bus: 1,
                device: 0x1f,
                function: 7
            }
        })
    );
}

#[test]
fn device_by_name_is_left_to_resolve() {
    assert_eq!(
        parse("release edu0"),
        Ok(Command::Release {
            device: DeviceRef::Name("edu0")
        })
    );
}

#[test]
fn extra_spaces_do_not_matter() {
    assert_eq!(
        parse("  assign   00:02.0   dma_a  "),
        Ok(Command::Assign {
            device: addr(0, 2, 0),
            domain: "dma_a"
        })
    );
}

#[test]
fn dma_takes_an_optional_hex_or_decimal_iova() {
    assert_eq!(
        parse("dma 00:02.0"),
        Ok(Command::Dma {
            device: addr(0, 2, 0),
            iova: None
        })
    );
    assert_eq!(
        parse("dma edu1 0x200000"),
        Ok(Command::Dma {
            device: DeviceRef::Name("edu1"),
            iova: Some(0x20_0000)
        })
    );
    let e = parse("dma edu1 0xzz").unwrap_err().to_string();
    assert_eq!(e, "bad number '0xzz' (decimal, or hex with 0x)");
}

#[test]
fn forge_msi_takes_a_vector_or_an_entry_and_builds_the_message() {
    let forged = |line| match parse(line) {
        Ok(Command::ForgeMsi { forged, .. }) => forged,
        other => panic!("{line}: {other:?}"),
    };
    assert_eq!(forged("forge-msi edu0 65"), ForgedMsi::Vector(65));
    assert_eq!(forged("forge-msi edu0 entry 7"), ForgedMsi::Entry(7));
    assert_eq!(ForgedMsi::Vector(65).message(), (0xfee0_0000, 65));
    // Remappable: format bit 4, handle bits 14:0 at bit 5, data 0.
    assert_eq!(ForgedMsi::Entry(7).message(), (0xfee0_00f0, 0));
    assert_eq!(
        parse("forge-msi edu0 256").unwrap_err().to_string(),
        "forge-msi: 256 is not in 0..=255"
    );
    assert_eq!(
        parse("forge-msi edu0").unwrap_err().to_string(),
        "forge-msi: missing VECTOR or 'entry N' (usage: forge-msi DEV VECTOR | forge-msi DEV entry N)"
    );
    assert_eq!(
        parse("forge-msi edu0 entry").unwrap_err().to_string(),
        "forge-msi: missing N after 'entry' (usage: forge-msi DEV VECTOR | forge-msi DEV entry N)"
    );
    assert!(parse("forge-msi edu0 entry 65536").is_err());
}

#[test]
fn irq_takes_one_device() {
    assert_eq!(
        parse("irq edu0"),
        Ok(Command::Irq {
            device: DeviceRef::Name("edu0")
        })
    );
    assert_eq!(
        parse("irq").unwrap_err().to_string(),
        "irq: missing DEV (usage: irq DEV)"
    );
    assert!(parse("irq edu0 edu1").is_err());
}

#[test]
fn regs_takes_one_device() {
    assert_eq!(
        parse("regs edu0"),
        Ok(Command::Regs {
            device: DeviceRef::Name("edu0")
        })
    );
    assert_eq!(
        parse("regs 00:02.0"),
        Ok(Command::Regs {
            device: addr(0, 2, 0)
        })
    );
    assert_eq!(
        parse("regs").unwrap_err().to_string(),
        "regs: missing DEV (usage: regs DEV)"
    );
    assert_eq!(
        parse("regs edu0 dma_a").unwrap_err().to_string(),
        "regs: unexpected 'dma_a' (usage: regs DEV)"
    );
}

#[test]
fn touch_takes_a_device_and_a_task() {
    assert_eq!(
        parse("touch edu0 dma_a"),
        Ok(Command::Touch {
            device: DeviceRef::Name("edu0"),
            task: "dma_a"
        })
    );
    assert_eq!(
        parse("touch 01:01.0 dma_b"),
        Ok(Command::Touch {
            device: addr(1, 1, 0),
            task: "dma_b"
        })
    );
    assert_eq!(
        parse("touch edu0").unwrap_err().to_string(),
        "touch: missing TASK (usage: touch DEV TASK)"
    );
    assert_eq!(
        parse("touch").unwrap_err().to_string(),
        "touch: missing DEV (usage: touch DEV TASK)"
    );
    assert_eq!(
        parse("touch edu0 dma_a now").unwrap_err().to_string(),
        "touch: unexpected 'now' (usage: touch DEV TASK)"
    );
    let e = parse("touch 00:02.9 dma_a").unwrap_err().to_string();
    assert_eq!(e, "bad device '00:02.9': function is not 0..7");
}

#[test]
fn dma_storm_takes_a_device_an_iova_and_at_most_ten_seconds() {
    assert_eq!(
        parse("dma-storm edu0 0x300000"),
        Ok(Command::DmaStorm {
            device: DeviceRef::Name("edu0"),
            iova: 0x30_0000,
            millis: STORM_DEFAULT_MS
        })
    );
    assert_eq!(
        parse("dma-storm edu0 0x300000 1500"),
        Ok(Command::DmaStorm {
            device: DeviceRef::Name("edu0"),
            iova: 0x30_0000,
            millis: 1500
        })
    );
    let e = parse("dma-storm edu0").unwrap_err().to_string();
    assert_eq!(
        e,
        "dma-storm: missing IOVA (usage: dma-storm DEV IOVA [MS])"
    );
    assert!(parse("dma-storm edu0 0x300000 10001").is_err());
    assert!(parse("dma-storm edu0 0x300000 0").is_err());
}

#[test]
fn dma_move_takes_a_device_and_a_domain() {
    assert_eq!(
        parse("dma-move edu0 dom_b"),
        Ok(Command::DmaMove {
            device: DeviceRef::Name("edu0"),
            domain: "dom_b",
            iova: None
        })
    );
    let e = parse("dma-move edu0").unwrap_err().to_string();
    assert_eq!(
        e,
        "dma-move: missing DOMAIN (usage: dma-move DEV DOMAIN [IOVA])"
    );
    assert_eq!(
        parse("dma-move edu2 dom_a 0x7f00000"),
        Ok(Command::DmaMove {
            device: DeviceRef::Name("edu2"),
            domain: "dom_a",
            iova: Some(0x7f0_0000)
        })
    );
}

#[test]
fn kill_takes_an_optional_message_count() {
    assert_eq!(
        parse("kill iommu"),
        Ok(Command::Kill {
            task: "iommu",
            at: None
        })
    );
    assert_eq!(
        parse("kill iommu at 2"),
        Ok(Command::Kill {
            task: "iommu",
            at: Some(2)
        })
    );
    assert_eq!(
        parse("kill iommu at 0").unwrap_err().to_string(),
        "kill: 0 is not in 1..=65535"
    );
    assert_eq!(
        parse("kill iommu at").unwrap_err().to_string(),
        "kill: missing N after 'at' (usage: kill TASK [at N])"
    );
    assert!(parse("kill iommu soon").is_err());
    assert!(parse("kill iommu at").is_err());
}

#[test]
fn empty_line_is_nothing() {
    assert_eq!(parse("   "), Ok(Command::Nothing));
}

#[test]
fn unknown_command_is_named() {
    let e = parse("reasign 00:02.0 x").unwrap_err().to_string();
    assert_eq!(e, "unknown command 'reasign' (try 'help')");
}

#[test]
fn missing_argument_says_which_and_shows_usage() {
    let e = parse("reassign 00:02.0").unwrap_err().to_string();
    assert_eq!(e, "reassign: missing DOMAIN (usage: reassign DEV DOMAIN)");
    let e = parse("kill").unwrap_err().to_string();
    assert_eq!(e, "kill: missing TASK (usage: kill TASK [at N])");
}

#[test]
fn extra_argument_is_refused() {
    let e = parse("devices now").unwrap_err().to_string();
    assert_eq!(e, "devices: unexpected 'now' (usage: devices)");
}

#[test]
fn bad_device_addresses_say_what_is_wrong() {
    for (line, why) in [
        ("quarantine 00:20.0", "device is not 00..1f"),
        ("quarantine 00:02.8", "function is not 0..7"),
        ("quarantine 1ff:02.0", "bus is not 00..ff"),
        ("quarantine 00:02", "expected BB:DD.F"),
        ("quarantine 0:0:0:0.0", "expected BB:DD.F or SSSS:BB:DD.F"),
        ("quarantine zz:02.0", "bus is not 00..ff"),
    ] {
        let e = parse(line).unwrap_err();
        assert!(
            matches!(e, ParseError::BadDevice { why: w, .. } if w == why),
            "{line}: {e}"
        );
    }
}

proptest::proptest! {
    #[test]
    fn no_line_makes_the_parser_panic(s in "\\PC{0,100}") {
        let _ = parse(&s).map_err(|e| e.to_string());
    }

    #[test]
    fn no_word_soup_of_commands_and_addresses_panics(
        words in proptest::collection::vec(
            "(assign|reassign|kill|quarantine|devices|regs|touch|[0-9a-f:.]{0,12}|[a-z_]{0,8})", 0..5)
    ) {
        let line = words.join(" ");
        let _ = parse(&line).map_err(|e| e.to_string());
    }
}

#[test]
fn bench_takes_a_device_two_domains_and_an_optional_count() {
    assert_eq!(
        parse("bench edu0 dom_a dom_b 41"),
        Ok(Command::Bench {
            device: DeviceRef::Name("edu0"),
            first: "dom_a",
            second: "dom_b",
            count: 41
        })
    );
    assert_eq!(
        parse("bench 00:02.0 dom_a dom_b"),
        Ok(Command::Bench {
            device: addr(0, 2, 0),
            first: "dom_a",
            second: "dom_b",
            count: BENCH_DEFAULT_COUNT
        })
    );
}

#[test]
fn bench_with_a_count_of_zero_or_too_many_is_refused_naming_the_range() {
    let e = parse("bench edu0 dom_a dom_b 0").unwrap_err().to_string();
    assert_eq!(e, "bench: 0 is not in 1..=201");
    let e = parse("bench edu0 dom_a dom_b 70000")
        .unwrap_err()
        .to_string();
    assert_eq!(e, "bench: 70000 is not in 1..=201");
    let e = parse("bench edu0 dom_a").unwrap_err().to_string();
    assert_eq!(e, "bench: missing DOM2 (usage: bench DEV DOM1 DOM2 [N])");
}

#[test]
fn every_command_parses_its_own_examples() {
    for command in COMMANDS {
        assert!(
            !command.examples.is_empty(),
            "{} has no example",
            command.name
        );
        for line in command.examples {
            let parsed = parse(line);
            assert!(parsed.is_ok(), "{line}: {}", parsed.unwrap_err());
            let first = line.split_ascii_whitespace().next().unwrap();
            assert!(command.is_called(first), "{line} is not {}", command.name);
        }
    }
}

#[test]
fn every_command_has_one_name_no_other_shares() {
    for (i, a) in COMMANDS.iter().enumerate() {
        for b in &COMMANDS[i + 1..] {
            for word in core::iter::once(&a.name).chain(a.aliases) {
                assert!(!b.is_called(word), "{word} names {} and {}", a.name, b.name);
            }
        }
    }
}

#[test]
fn a_missing_argument_shows_the_usage_of_the_command_typed() {
    for command in COMMANDS.iter().filter(|c| !c.args.is_empty()) {
        let e = parse(command.name).unwrap_err();
        assert!(
            matches!(e, ParseError::Missing { command: c, .. } if c == command),
            "{}: {e}",
            command.name
        );
        let usage = std::format!("(usage: {})", crate::help::Usage(command));
        assert!(e.to_string().ends_with(&usage), "{e}");
        assert!(usage.contains(command.name), "{usage}");
    }
}

#[test]
fn a_word_after_a_whole_command_is_refused_naming_it() {
    for command in COMMANDS {
        let Some(longest) = command.examples.last() else {
            continue;
        };
        let line = std::format!("{longest} surplus");
        match parse(&line) {
            Err(ParseError::Extra { command: c, word }) => {
                assert_eq!((c, word), (command, "surplus"));
            }
            other => panic!("{line}: {other:?}"),
        }
    }
}

#[test]
fn help_has_a_question_mark_for_a_name() {
    assert_eq!(parse("?"), Ok(Command::Help));
    assert_eq!(parse("help"), Ok(Command::Help));
}
