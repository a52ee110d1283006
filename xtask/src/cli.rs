//! The command line, declared once with `clap`: parsing, `--help` for
//! xtask and for every command, and errors that name the bad argument all
//! come from these types. Both `--opt value` and `--opt=value` work, and a
//! value may start with a dash (`--qemu-arg -cpu`), as users of any other
//! Rust CLI expect.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::qemu::MachineOptions;

/// Build, boot, test and measure custody.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// One xtask command.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check app.toml, build every task and the kernel, print the image's
    /// path and each task's sizes.
    Build(AppArgs),
    /// Build and boot in QEMU with the console on this terminal and every
    /// task's log decoded alongside; types the app's demo unless
    /// `--interactive`; exits with the status the image reports.
    Run {
        #[command(flatten)]
        app: AppArgs,
        #[command(flatten)]
        machine: Machine,
        /// Give the console to this terminal instead of typing the demo.
        #[arg(long)]
        interactive: bool,
    },
    /// Every host test and every QEMU scenario, one line each, ending with
    /// `N passed, M failed`.
    Test {
        /// Run only this image's scenarios (no host tests).
        #[arg(long, value_name = "PATH")]
        app: Option<PathBuf>,
        #[command(flatten)]
        machine: Machine,
    },
    /// IPC round trips, one reassignment per system and device kind, boot
    /// to ready and sizes, in guest instructions (TCG `-icount`); a table,
    /// the goals and `target/bench.json`.
    Bench {
        #[command(flatten)]
        machine: Machine,
    },
    /// Boot under QEMU's gdbstub, stopped at reset, and start gdb with the
    /// kernel and every task's ELF loaded (`break task_broker::...`, `bt`).
    Gdb {
        #[command(flatten)]
        app: AppArgs,
        #[command(flatten)]
        machine: Machine,
        /// Run these gdb commands in batch mode instead of interactively
        /// (repeat it: `--ex 'break f' --ex continue --ex bt`).
        #[arg(long = "ex", value_name = "COMMAND", allow_hyphen_values = true)]
        batch: Vec<String>,
    },
    /// The system as a picture: `graph.dot` and `graph.svg` beside the build.
    Graph(AppArgs),
    /// `cargo fmt --check`, then clippy `-D warnings` on the host workspace
    /// and on every firmware crate of every app.
    Lint,
    /// Print DMAR tables as a tree (default: this machine's).
    Dmar {
        /// One JSON object per file per line.
        #[arg(long)]
        json: bool,
        /// DMAR tables to read (default: /sys/firmware/acpi/tables/DMAR).
        #[arg(value_name = "FILE")]
        files: Vec<String>,
    },
    /// Coverage-guided fuzzing of every parser and server on the stable
    /// toolchain (cargo-fuzz, `--sanitizer none`): per target, executions,
    /// coverage, corpus and crashes.
    Fuzz {
        /// `list`, `seeds` (regenerate the seed corpora), or one target
        /// (default: every target, one after another).
        #[arg(value_name = "TARGET")]
        target: Option<String>,
        /// Executions per target.
        #[arg(long, default_value_t = crate::fuzz::DEFAULT_RUNS, value_name = "N")]
        runs: u64,
        /// Seconds per target, at most.
        #[arg(long, default_value_t = crate::fuzz::DEFAULT_SECONDS, value_name = "S")]
        seconds: u64,
    },
    /// The deterministic simulation of every component on the VT-d model,
    /// with fault injection (`cargo xtask sim --help` for its options).
    #[command(disable_help_flag = true)]
    Sim {
        /// The simulator's own arguments, passed through.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

/// Which app.toml to use.
#[derive(Debug, Args)]
pub struct AppArgs {
    /// The app.toml to build (default: the repository's app.toml).
    #[arg(long, value_name = "PATH")]
    pub app: Option<PathBuf>,
}

/// How the QEMU machine is started.
#[derive(Debug, Args)]
pub struct Machine {
    /// QEMU's accelerator (default: tcg).
    #[arg(long, value_enum)]
    accel: Option<Accel>,
    /// Replaces the intel-iommu device options, e.g. `intremap=off`.
    #[arg(long, value_name = "OPTS")]
    iommu: Option<String>,
    /// An argument appended to QEMU's command line (repeat it for more).
    #[arg(long = "qemu-arg", value_name = "ARG", allow_hyphen_values = true)]
    qemu_args: Vec<String>,
}

/// QEMU accelerators xtask knows how to drive.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum Accel {
    /// The emulator: every figure in the README is measured under it.
    Tcg,
    /// Hardware virtualisation (needs /dev/kvm).
    Kvm,
}

impl Machine {
    /// The options QEMU's launcher takes.
    pub fn options(&self) -> MachineOptions {
        MachineOptions {
            accel: self.accel.map(|a| match a {
                Accel::Tcg => "tcg".to_string(),
                Accel::Kvm => "kvm".to_string(),
            }),
            iommu: self.iommu.clone(),
            extra: self.qemu_args.clone(),
            icount: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("cargo-xtask").chain(line.iter().copied()))
    }

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn an_option_takes_its_value_after_an_equals_sign() {
        let Ok(Cli {
            command: Command::Test { machine, .. },
        }) = parse(&["test", "--qemu-arg=-cpu", "--qemu-arg", "qemu64,-cx16"])
        else {
            panic!("test with --qemu-arg=-cpu did not parse");
        };
        assert_eq!(machine.options().extra, ["-cpu", "qemu64,-cx16"]);
    }

    #[test]
    fn a_qemu_argument_may_start_with_a_dash() {
        let Ok(Cli {
            command: Command::Run { machine, .. },
        }) = parse(&["run", "--qemu-arg", "-cpu", "--qemu-arg", "max"])
        else {
            panic!("run with --qemu-arg -cpu did not parse");
        };
        assert_eq!(machine.options().extra, ["-cpu", "max"]);
    }

    #[test]
    fn an_unknown_option_is_named_in_the_error() {
        let err = parse(&["build", "--ap", "x.toml"]).expect_err("--ap is not an option");
        assert!(err.to_string().contains("--ap"), "{err}");
    }

    #[test]
    fn an_unknown_accelerator_lists_the_known_ones() {
        let err = parse(&["run", "--accel", "hvf"]).expect_err("hvf is not known");
        let text = err.to_string();
        assert!(text.contains("tcg") && text.contains("kvm"), "{text}");
    }

    #[test]
    fn every_command_has_its_own_help() {
        for cmd in [
            "build", "run", "test", "bench", "gdb", "graph", "lint", "dmar", "fuzz",
        ] {
            let err = parse(&[cmd, "--help"]).expect_err("--help exits");
            assert_eq!(err.kind(), clap::error::ErrorKind::DisplayHelp, "{cmd}");
        }
    }

    #[test]
    fn the_simulators_arguments_pass_through_untouched() {
        let Ok(Cli {
            command: Command::Sim { args },
        }) = parse(&["sim", "--seeds", "2", "--help"])
        else {
            panic!("sim arguments did not parse");
        };
        assert_eq!(args, ["--seeds", "2", "--help"]);
    }

    #[test]
    fn fuzz_takes_one_target_and_numbers() {
        let Ok(Cli {
            command:
                Command::Fuzz {
                    target,
                    runs,
                    seconds,
                },
        }) = parse(&["fuzz", "dmar", "--runs", "5", "--seconds=2"])
        else {
            panic!("fuzz did not parse");
        };
        assert_eq!((target.as_deref(), runs, seconds), (Some("dmar"), 5, 2));
        let err = parse(&["fuzz", "--runs", "many"]).expect_err("not a number");
        assert!(err.to_string().contains("many"), "{err}");
        assert!(parse(&["fuzz", "a", "b"]).is_err(), "one target at most");
    }

    #[test]
    fn dmar_takes_json_and_files() {
        let Ok(Cli {
            command: Command::Dmar { json, files },
        }) = parse(&["dmar", "--json", "a.bin", "b.bin"])
        else {
            panic!("dmar did not parse");
        };
        assert!(json);
        assert_eq!(files, ["a.bin", "b.bin"]);
    }
}
