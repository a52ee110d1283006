//! The console's commands and their parser.
//!
//! Every mistake gets a sentence that names the word at fault and what was
//! expected; the parser never panics, whatever the bytes (a property test
//! feeds it random lines).

use core::fmt;

/// The help text.
pub const HELP: &str = "\
commands:
  help                      this text
  devices                   every device, its owner domain, whether it has an RMRR
  domains                   every domain and its owner task
  tasks                     every task: state, stack used, generation, faults
  assign DEV DOMAIN         give an unowned device to a domain
  reassign DEV DOMAIN       move a device directly to another domain
  quarantine DEV            move a device to its quarantine tables
  release DEV               take a device from its domain (to quarantine)
  faults                    DMA faults the IOMMU recorded (source, address)
  stats                     the IOMMU's counters: context changes by path,
                            invalidations by granularity, faults drained;
                            the broker's: transactions, cleanups pending
  kill TASK [at N]          fault a task on purpose now, or as its Nth
                            message from now reaches it (fault injection)
  dma DEV [IOVA]            ask the device's owner to DMA a pattern (to IOVA)
  dma-move DEV DOMAIN [IOVA]  start a DMA (to IOVA), reassign the device
                            while it is in flight, show where the data landed
  irq DEV                   the device raises its interrupt: which worker it
                            reaches (its owner's, or none in quarantine) and
                            its interrupt-remapping entry
  regs DEV                  which task the kernel maps the device's registers
                            into (its owner only, or none in quarantine)
  touch DEV TASK            worker TASK reads the device's ID register where
                            its registers would be, without asking the kernel
                            (a stale driver): the ID if it holds them, else a
                            page fault and a restart
  forge-msi DEV VECTOR      a hostile owner makes its device DMA-write a
  forge-msi DEV entry N     compatibility-format MSI for VECTOR, or a
                            remappable one naming remapping entry N, to
                            0xfee00000: which worker it reached, if any
  dma-storm DEV IOVA [MS]   the device's owner DMAs to IOVA over and over
                            for MS ms (default 1000) while another worker
                            DMAs; shows both and where the device ended
  bench DEV DOM1 DOM2 [N]   time N reassignments of DEV between DOM1 and DOM2
                            (guest instructions under -icount) and the
                            IOMMU work each did (for cargo xtask bench)
  shutdown                  stop the machine (QEMU exits with success)
DEV is a PCI address (00:02.0, 0000:00:02.0) or a device name from app.toml.";

/// Reassignments `bench` times when not told (odd, so the median is one).
pub const BENCH_DEFAULT_COUNT: u16 = 21;
/// The most `bench` times in one command.
pub const BENCH_MAX_COUNT: u64 = 201;

/// How long `dma-storm` runs when not told (ms).
pub const STORM_DEFAULT_MS: u32 = 1000;
/// The longest `dma-storm` (ms).
pub const STORM_MAX_MS: u64 = 10_000;

/// A device as the operator named it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceRef<'a> {
    /// By address: segment, bus, device, function.
    Address {
        segment: u16,
        bus: u8,
        device: u8,
        function: u8,
    },
    /// By app.toml name (resolved by the caller).
    Name(&'a str),
}

/// An interrupt message a hostile device writes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ForgedMsi {
    /// Compatibility format: `vector` to CPU 0, fixed delivery.
    Vector(u8),
    /// Remappable format naming interrupt-remapping entry `handle`.
    Entry(u16),
}

impl ForgedMsi {
    /// The (address, data) the device writes.
    pub fn message(self) -> (u64, u32) {
        let m = match self {
            // CPU 0, as every other interrupt of the machine.
            ForgedMsi::Vector(v) => pci::MsiMessage::x86(0, v),
            ForgedMsi::Entry(h) => pci::MsiMessage::remappable(h),
        };
        (m.address, u32::from(m.data))
    }
}

impl fmt::Display for ForgedMsi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ForgedMsi::Vector(v) => write!(f, "a compatibility-format MSI for vector {v}"),
            ForgedMsi::Entry(h) => write!(f, "a remappable MSI naming entry {h}"),
        }
    }
}

/// A parsed command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command<'a> {
    Help,
    Devices,
    Domains,
    Tasks,
    Assign {
        device: DeviceRef<'a>,
        domain: &'a str,
    },
    Reassign {
        device: DeviceRef<'a>,
        domain: &'a str,
    },
    Quarantine {
        device: DeviceRef<'a>,
    },
    Release {
        device: DeviceRef<'a>,
    },
    Faults,
    Stats,
    Kill {
        task: &'a str,
        /// Fault as the task's `at`th message from now reaches it.
        at: Option<u16>,
    },
    /// Ask the owning worker to DMA; `iova` None = its default target.
    Dma {
        device: DeviceRef<'a>,
        iova: Option<u64>,
    },
    /// Start a DMA, reassign mid-flight, report where it landed.
    DmaMove {
        device: DeviceRef<'a>,
        domain: &'a str,
        iova: Option<u64>,
    },
    /// The device raises its interrupt; show whom it reached.
    Irq {
        device: DeviceRef<'a>,
    },
    /// Which task holds the device's registers, by the kernel's page
    /// tables.
    Regs {
        device: DeviceRef<'a>,
    },
    /// Worker `task` reads the device's ID register without asking the
    /// kernel whether it holds it.
    Touch {
        device: DeviceRef<'a>,
        task: &'a str,
    },
    /// The device's owner makes it DMA-write an interrupt message.
    ForgeMsi {
        device: DeviceRef<'a>,
        forged: ForgedMsi,
    },
    /// The device's owner DMAs to `iova` over and over for `millis` ms.
    DmaStorm {
        device: DeviceRef<'a>,
        iova: u64,
        millis: u32,
    },
    /// Time `count` reassignments of a device, alternating between two
    /// domains (it starts in `first` when it is elsewhere).
    Bench {
        device: DeviceRef<'a>,
        first: &'a str,
        second: &'a str,
        count: u16,
    },
    Shutdown,
    /// An empty line.
    Nothing,
}

/// Why a line is not a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError<'a> {
    /// The first word is not a command.
    UnknownCommand(&'a str),
    /// A command lacks an argument.
    Missing {
        command: &'static str,
        what: &'static str,
    },
    /// A command got more words than it takes.
    Extra {
        command: &'static str,
        word: &'a str,
    },
    /// A device address that does not parse.
    BadDevice { word: &'a str, why: &'static str },
    /// A number that does not parse.
    BadNumber(&'a str),
    /// A number outside what the command takes.
    OutOfRange {
        command: &'static str,
        word: &'a str,
        min: u64,
        max: u64,
    },
}

impl fmt::Display for ParseError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            ParseError::UnknownCommand(w) => write!(f, "unknown command '{w}' (try 'help')"),
            ParseError::Missing { command, what } => {
                write!(f, "{command}: missing {what} (usage: {})", usage(command))
            }
            ParseError::Extra { command, word } => {
                write!(
                    f,
                    "{command}: unexpected '{word}' (usage: {})",
                    usage(command)
                )
            }
            ParseError::BadDevice { word, why } => write!(f, "bad device '{word}': {why}"),
            ParseError::BadNumber(w) => write!(f, "bad number '{w}' (decimal, or hex with 0x)"),
            ParseError::OutOfRange {
                command,
                word,
                min,
                max,
            } => write!(f, "{command}: {word} is not in {min}..={max}"),
        }
    }
}

fn usage(command: &str) -> &'static str {
    match command {
        "assign" => "assign DEV DOMAIN",
        "reassign" => "reassign DEV DOMAIN",
        "quarantine" => "quarantine DEV",
        "release" => "release DEV",
        "kill" => "kill TASK [at N]",
        "dma" => "dma DEV [IOVA]",
        "dma-move" => "dma-move DEV DOMAIN [IOVA]",
        "dma-storm" => "dma-storm DEV IOVA [MS]",
        "irq" => "irq DEV",
        "regs" => "regs DEV",
        "touch" => "touch DEV TASK",
        "forge-msi" => "forge-msi DEV VECTOR | forge-msi DEV entry N",
        "bench" => "bench DEV DOM1 DOM2 [N]",
        "shutdown" => "shutdown",
        "help" => "help",
        "devices" => "devices",
        "domains" => "domains",
        "tasks" => "tasks",
        "faults" => "faults",
        _ => "stats",
    }
}

/// Parses one line.
pub fn parse(line: &str) -> Result<Command<'_>, ParseError<'_>> {
    let mut words = line.split_ascii_whitespace();
    let Some(first) = words.next() else {
        return Ok(Command::Nothing);
    };
    let (name, cmd): (&'static str, Command) = match first {
        "help" | "?" => ("help", Command::Help),
        "devices" => ("devices", Command::Devices),
        "domains" => ("domains", Command::Domains),
        "tasks" => ("tasks", Command::Tasks),
        "faults" => ("faults", Command::Faults),
        "stats" => ("stats", Command::Stats),
        "assign" | "reassign" => {
            let command = if first == "assign" {
                "assign"
            } else {
                "reassign"
            };
            let device = device(words.next(), command)?;
            let domain = words.next().ok_or(ParseError::Missing {
                command,
                what: "DOMAIN",
            })?;
            let c = if command == "assign" {
                Command::Assign { device, domain }
            } else {
                Command::Reassign { device, domain }
            };
            (command, c)
        }
        "quarantine" => (
            "quarantine",
            Command::Quarantine {
                device: device(words.next(), "quarantine")?,
            },
        ),
        "release" => (
            "release",
            Command::Release {
                device: device(words.next(), "release")?,
            },
        ),
        "kill" => {
            let task = words.next().ok_or(ParseError::Missing {
                command: "kill",
                what: "TASK",
            })?;
            let at = match words.next() {
                None => None,
                Some("at") => {
                    let w = words.next().ok_or(ParseError::Missing {
                        command: "kill",
                        what: "N after 'at'",
                    })?;
                    let n = number(w)?;
                    Some(
                        u16::try_from(n)
                            .ok()
                            .filter(|n| *n > 0)
                            .ok_or(ParseError::BadNumber(w))?,
                    )
                }
                Some(other) => {
                    return Err(ParseError::Extra {
                        command: "kill",
                        word: other,
                    })
                }
            };
            ("kill", Command::Kill { task, at })
        }
        "dma" => {
            let device = device(words.next(), "dma")?;
            let iova = words.next().map(number).transpose()?;
            ("dma", Command::Dma { device, iova })
        }
        "dma-move" => {
            let device = device(words.next(), "dma-move")?;
            let domain = words.next().ok_or(ParseError::Missing {
                command: "dma-move",
                what: "DOMAIN",
            })?;
            let iova = words.next().map(number).transpose()?;
            (
                "dma-move",
                Command::DmaMove {
                    device,
                    domain,
                    iova,
                },
            )
        }
        "irq" => (
            "irq",
            Command::Irq {
                device: device(words.next(), "irq")?,
            },
        ),
        "regs" => (
            "regs",
            Command::Regs {
                device: device(words.next(), "regs")?,
            },
        ),
        "touch" => {
            let device = device(words.next(), "touch")?;
            let task = words.next().ok_or(ParseError::Missing {
                command: "touch",
                what: "TASK",
            })?;
            ("touch", Command::Touch { device, task })
        }
        "forge-msi" => {
            let device = device(words.next(), "forge-msi")?;
            let missing = ParseError::Missing {
                command: "forge-msi",
                what: "VECTOR or 'entry N'",
            };
            let forged = match words.next().ok_or(missing)? {
                "entry" => {
                    let word = words.next().ok_or(ParseError::Missing {
                        command: "forge-msi",
                        what: "N after 'entry'",
                    })?;
                    ForgedMsi::Entry(in_range(word, "forge-msi", u64::from(u16::MAX))? as u16)
                }
                word => ForgedMsi::Vector(in_range(word, "forge-msi", u64::from(u8::MAX))? as u8),
            };
            ("forge-msi", Command::ForgeMsi { device, forged })
        }
        "dma-storm" => {
            let device = device(words.next(), "dma-storm")?;
            let iova = number(words.next().ok_or(ParseError::Missing {
                command: "dma-storm",
                what: "IOVA",
            })?)?;
            let millis = match words.next() {
                None => STORM_DEFAULT_MS,
                Some(word) => match number(word)? {
                    n @ 1..=STORM_MAX_MS => n as u32,
                    _ => {
                        return Err(ParseError::OutOfRange {
                            command: "dma-storm",
                            word,
                            min: 1,
                            max: STORM_MAX_MS,
                        })
                    }
                },
            };
            (
                "dma-storm",
                Command::DmaStorm {
                    device,
                    iova,
                    millis,
                },
            )
        }
        "bench" => {
            let device = device(words.next(), "bench")?;
            let mut domain = |what| {
                words.next().ok_or(ParseError::Missing {
                    command: "bench",
                    what,
                })
            };
            let first = domain("DOM1")?;
            let second = domain("DOM2")?;
            let count = match words.next() {
                None => BENCH_DEFAULT_COUNT,
                Some(word) => match number(word)? {
                    n @ 1..=BENCH_MAX_COUNT => n as u16,
                    _ => {
                        return Err(ParseError::OutOfRange {
                            command: "bench",
                            word,
                            min: 1,
                            max: BENCH_MAX_COUNT,
                        })
                    }
                },
            };
            (
                "bench",
                Command::Bench {
                    device,
                    first,
                    second,
                    count,
                },
            )
        }
        "shutdown" => ("shutdown", Command::Shutdown),
        other => return Err(ParseError::UnknownCommand(other)),
    };
    match words.next() {
        Some(word) => Err(ParseError::Extra {
            command: name,
            word,
        }),
        None => Ok(cmd),
    }
}

/// `word` as a number in `0..=max`.
fn in_range<'a>(word: &'a str, command: &'static str, max: u64) -> Result<u64, ParseError<'a>> {
    match number(word)? {
        n if n <= max => Ok(n),
        _ => Err(ParseError::OutOfRange {
            command,
            word,
            min: 0,
            max,
        }),
    }
}

fn number(word: &str) -> Result<u64, ParseError<'_>> {
    let parsed = match word.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => word.parse(),
    };
    parsed.map_err(|_| ParseError::BadNumber(word))
}

fn device<'a>(
    word: Option<&'a str>,
    command: &'static str,
) -> Result<DeviceRef<'a>, ParseError<'a>> {
    let word = word.ok_or(ParseError::Missing {
        command,
        what: "DEV",
    })?;
    if !word.contains(':') {
        return Ok(DeviceRef::Name(word));
    }
    let bad = |why| ParseError::BadDevice { word, why };
    let (head, func) = word.rsplit_once('.').ok_or(bad("expected BB:DD.F"))?;
    let mut parts = head.split(':');
    let (a, b, c, d) = (parts.next(), parts.next(), parts.next(), parts.next());
    let (segment, bus, dev) = match (a, b, c, d) {
        (Some(b), Some(d), None, None) => ("0", b, d),
        (Some(s), Some(b), Some(d), None) => (s, b, d),
        _ => return Err(bad("expected BB:DD.F or SSSS:BB:DD.F")),
    };
    let hex = |s: &str, max: u32, why| {
        u32::from_str_radix(s, 16)
            .ok()
            .filter(|v| *v <= max && !s.is_empty() && s.len() <= 4)
            .ok_or(bad(why))
    };
    let segment = hex(segment, 0xFFFF, "segment is not 0..ffff")? as u16;
    let bus = hex(bus, 0xFF, "bus is not 00..ff")? as u8;
    let device = hex(dev, 0x1F, "device is not 00..1f")? as u8;
    let function = hex(func, 7, "function is not 0..7")? as u8;
    Ok(DeviceRef::Address {
        segment,
        bus,
        device,
        function,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
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
        assert!(parse("forge-msi edu0").is_err());
        assert!(parse("forge-msi edu0 entry").is_err());
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
            "bad number '0' (decimal, or hex with 0x)"
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
}
