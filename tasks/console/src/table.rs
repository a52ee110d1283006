//! The console's commands, each described once: its name, the words it
//! takes, its help and an example. The parser ([`crate::parse`]), the help
//! text ([`crate::write_help`]) and the usage an error shows all read this
//! table, so none of them can disagree with another.

use core::fmt;

use crate::command::{
    Command, ForgedMsi, BENCH_DEFAULT_COUNT, BENCH_MAX_COUNT, STORM_DEFAULT_MS, STORM_MAX_MS,
};
use crate::parse::{Mismatch, Value, Values};

/// One argument of a command, as the operator types it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arg {
    /// A device: a PCI address or an app.toml name (shown as `DEV`).
    Device,
    /// A name resolved when the command runs (a domain, a task), shown
    /// as given.
    Name(&'static str),
    /// A number (decimal, or hex with 0x), shown as given.
    Number(&'static str),
    /// An optional number, shown as `[WHAT]`.
    OptionalNumber(&'static str),
    /// An optional number in `min..=max`, `default` when not given.
    Ranged {
        what: &'static str,
        min: u64,
        max: u64,
        default: u64,
    },
    /// An optional `KEYWORD N`, N in `min..=max` (`kill TASK [at N]`).
    Keyword {
        keyword: &'static str,
        what: &'static str,
        min: u64,
        max: u64,
    },
    /// A number in `0..=max`, or `KEYWORD N` with N in `0..=keyword_max`:
    /// the command then has two forms (`forge-msi`).
    Either {
        what: &'static str,
        max: u64,
        keyword: &'static str,
        keyword_what: &'static str,
        keyword_max: u64,
    },
}

/// Builds a command from the values its arguments parsed to, in order.
pub type Build = for<'v, 'a> fn(&mut Values<'v, 'a>) -> Result<Command<'a>, Mismatch>;

/// One command: how it is spelled, what it takes, what it does.
pub struct CommandSpec {
    /// Its name, as typed and as errors name it.
    pub name: &'static str,
    /// Other spellings (not shown in the help).
    pub aliases: &'static [&'static str],
    /// Its arguments, in order.
    pub args: &'static [Arg],
    /// Its help, one line each (the first beside its usage).
    pub help: &'static [&'static str],
    /// Lines that must parse as this command (a test checks them).
    pub examples: &'static [&'static str],
    /// The command its arguments make.
    pub build: Build,
}

impl CommandSpec {
    /// Whether `word` names this command.
    pub fn is_called(&self, word: &str) -> bool {
        self.name == word || self.aliases.contains(&word)
    }
}

// Names are unique (a test checks), so a command is its name.
impl PartialEq for CommandSpec {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for CommandSpec {}

impl fmt::Debug for CommandSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CommandSpec({})", self.name)
    }
}

/// The most arguments a command takes.
pub const MAX_ARGS: usize = 4;

/// The range `forge-msi` takes for a vector.
const VECTOR_MAX: u64 = u8::MAX as u64;
/// The range `forge-msi entry` and `kill at` take.
const U16_MAX: u64 = u16::MAX as u64;

/// The console's commands, in the order the help lists them.
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "help",
        aliases: &["?"],
        args: &[],
        help: &["this text"],
        examples: &["help", "?"],
        build: |_| Ok(Command::Help),
    },
    CommandSpec {
        name: "devices",
        aliases: &[],
        args: &[],
        help: &["every device, its owner domain, whether it has an RMRR"],
        examples: &["devices"],
        build: |_| Ok(Command::Devices),
    },
    CommandSpec {
        name: "domains",
        aliases: &[],
        args: &[],
        help: &["every domain and its owner task"],
        examples: &["domains"],
        build: |_| Ok(Command::Domains),
    },
    CommandSpec {
        name: "tasks",
        aliases: &[],
        args: &[],
        help: &["every task: state, stack used, generation, faults"],
        examples: &["tasks"],
        build: |_| Ok(Command::Tasks),
    },
    CommandSpec {
        name: "assign",
        aliases: &[],
        args: &[Arg::Device, Arg::Name("DOMAIN")],
        help: &["give an unowned device to a domain"],
        examples: &["assign edu0 dom_a"],
        build: |v| {
            Ok(Command::Assign {
                device: v.device()?,
                domain: v.word()?,
            })
        },
    },
    CommandSpec {
        name: "reassign",
        aliases: &[],
        args: &[Arg::Device, Arg::Name("DOMAIN")],
        help: &["move a device directly to another domain"],
        examples: &["reassign 00:02.0 dom_b"],
        build: |v| {
            Ok(Command::Reassign {
                device: v.device()?,
                domain: v.word()?,
            })
        },
    },
    CommandSpec {
        name: "quarantine",
        aliases: &[],
        args: &[Arg::Device],
        help: &["move a device to its quarantine tables"],
        examples: &["quarantine 0000:00:02.0"],
        build: |v| {
            Ok(Command::Quarantine {
                device: v.device()?,
            })
        },
    },
    CommandSpec {
        name: "release",
        aliases: &[],
        args: &[Arg::Device],
        help: &["take a device from its domain (to quarantine)"],
        examples: &["release edu1"],
        build: |v| {
            Ok(Command::Release {
                device: v.device()?,
            })
        },
    },
    CommandSpec {
        name: "faults",
        aliases: &[],
        args: &[],
        help: &["DMA faults the IOMMU recorded (source, address)"],
        examples: &["faults"],
        build: |_| Ok(Command::Faults),
    },
    CommandSpec {
        name: "stats",
        aliases: &[],
        args: &[],
        help: &[
            "the IOMMU's counters: context changes by path,",
            "invalidations by granularity, faults drained;",
            "the broker's: transactions, cleanups pending",
        ],
        examples: &["stats"],
        build: |_| Ok(Command::Stats),
    },
    CommandSpec {
        name: "kill",
        aliases: &[],
        args: &[
            Arg::Name("TASK"),
            Arg::Keyword {
                keyword: "at",
                what: "N",
                min: 1,
                max: U16_MAX,
            },
        ],
        help: &[
            "fault a task on purpose now, or as its Nth",
            "message from now reaches it (fault injection)",
        ],
        examples: &["kill dma_b", "kill iommu at 2"],
        build: |v| {
            Ok(Command::Kill {
                task: v.word()?,
                at: v.optional()?,
            })
        },
    },
    CommandSpec {
        name: "dma",
        aliases: &[],
        args: &[Arg::Device, Arg::OptionalNumber("IOVA")],
        help: &["ask the device's owner to DMA a pattern (to IOVA)"],
        examples: &["dma edu0", "dma edu1 0x200000"],
        build: |v| {
            Ok(Command::Dma {
                device: v.device()?,
                iova: v.optional()?,
            })
        },
    },
    CommandSpec {
        name: "dma-move",
        aliases: &[],
        args: &[
            Arg::Device,
            Arg::Name("DOMAIN"),
            Arg::OptionalNumber("IOVA"),
        ],
        help: &[
            "start a DMA (to IOVA), reassign the device",
            "while it is in flight, show where the data landed",
        ],
        examples: &["dma-move edu0 dom_b", "dma-move edu2 dom_a 0x7f00000"],
        build: |v| {
            Ok(Command::DmaMove {
                device: v.device()?,
                domain: v.word()?,
                iova: v.optional()?,
            })
        },
    },
    CommandSpec {
        name: "irq",
        aliases: &[],
        args: &[Arg::Device],
        help: &[
            "the device raises its interrupt: which worker it",
            "reaches (its owner's, or none in quarantine) and",
            "its interrupt-remapping entry",
        ],
        examples: &["irq edu0"],
        build: |v| {
            Ok(Command::Irq {
                device: v.device()?,
            })
        },
    },
    CommandSpec {
        name: "regs",
        aliases: &[],
        args: &[Arg::Device],
        help: &[
            "which task the kernel maps the device's registers",
            "into (its owner only, or none in quarantine)",
        ],
        examples: &["regs edu2"],
        build: |v| {
            Ok(Command::Regs {
                device: v.device()?,
            })
        },
    },
    CommandSpec {
        name: "touch",
        aliases: &[],
        args: &[Arg::Device, Arg::Name("TASK")],
        help: &[
            "worker TASK reads the device's ID register where",
            "its registers would be, without asking the kernel",
            "(a stale driver): the ID if it holds them, else a",
            "page fault and a restart",
        ],
        examples: &["touch edu2 dma_b"],
        build: |v| {
            Ok(Command::Touch {
                device: v.device()?,
                task: v.word()?,
            })
        },
    },
    CommandSpec {
        name: "forge-msi",
        aliases: &[],
        args: &[
            Arg::Device,
            Arg::Either {
                what: "VECTOR",
                max: VECTOR_MAX,
                keyword: "entry",
                keyword_what: "N",
                keyword_max: U16_MAX,
            },
        ],
        help: &[
            "a hostile owner makes its device DMA-write a",
            "compatibility-format MSI for VECTOR, or a",
            "remappable one naming remapping entry N, to",
            "0xfee00000: which worker it reached, if any",
        ],
        examples: &["forge-msi edu0 65", "forge-msi edu0 entry 7"],
        build: |v| {
            let device = v.device()?;
            let forged = match v.value()? {
                Value::Number(n) => ForgedMsi::Vector(u8::try_from(n).map_err(|_| Mismatch)?),
                Value::Keyword(n) => ForgedMsi::Entry(u16::try_from(n).map_err(|_| Mismatch)?),
                _ => return Err(Mismatch),
            };
            Ok(Command::ForgeMsi { device, forged })
        },
    },
    CommandSpec {
        name: "dma-storm",
        aliases: &[],
        args: &[
            Arg::Device,
            Arg::Number("IOVA"),
            Arg::Ranged {
                what: "MS",
                min: 1,
                max: STORM_MAX_MS,
                default: STORM_DEFAULT_MS as u64,
            },
        ],
        help: &[
            "the device's owner DMAs to IOVA over and over",
            "for MS ms (default 1000) while another worker",
            "DMAs; shows both and where the device ended",
        ],
        examples: &["dma-storm edu0 0x300000", "dma-storm edu0 0x300000 1500"],
        build: |v| {
            Ok(Command::DmaStorm {
                device: v.device()?,
                iova: v.number()?,
                millis: v.number()?,
            })
        },
    },
    CommandSpec {
        name: "bench",
        aliases: &[],
        args: &[
            Arg::Device,
            Arg::Name("DOM1"),
            Arg::Name("DOM2"),
            Arg::Ranged {
                what: "N",
                min: 1,
                max: BENCH_MAX_COUNT,
                default: BENCH_DEFAULT_COUNT as u64,
            },
        ],
        help: &[
            "time N reassignments of DEV between DOM1 and DOM2",
            "(guest instructions under -icount) and the",
            "IOMMU work each did (for cargo xtask bench)",
        ],
        examples: &["bench edu0 dom_a dom_b", "bench 00:02.0 dom_a dom_b 41"],
        build: |v| {
            Ok(Command::Bench {
                device: v.device()?,
                first: v.word()?,
                second: v.word()?,
                count: v.number()?,
            })
        },
    },
    CommandSpec {
        name: "shutdown",
        aliases: &[],
        args: &[],
        help: &["stop the machine (QEMU exits with success)"],
        examples: &["shutdown"],
        build: |_| Ok(Command::Shutdown),
    },
];

/// The command `word` names, if any.
pub fn find(word: &str) -> Option<&'static CommandSpec> {
    COMMANDS.iter().find(|c| c.is_called(word))
}
