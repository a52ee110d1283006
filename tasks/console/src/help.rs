//! The help text and the usage errors show, written from
//! [`crate::table::COMMANDS`]: a command's usage is its name and its
//! arguments as the table gives them, so the help cannot list a command the
//! parser does not know, nor an error show another command's usage.

use core::fmt::{self, Write};

use crate::table::{Arg, CommandSpec, COMMANDS};

/// Where the help's descriptions start (after two spaces of indent).
const USAGE_WIDTH: usize = 26;
/// The least space between a usage and its description.
const GAP: usize = 2;
/// The longest usage form (a test checks every command's fits).
const MAX_FORM: usize = 48;

/// What the help says of `DEV` after the commands.
const DEV_NOTE: &str =
    "DEV is a PCI address (00:02.0, 0000:00:02.0) or a device name from app.toml.";

/// Writes the help: every command's usage forms beside its help lines.
pub fn write_help(o: &mut dyn Write) -> fmt::Result {
    writeln!(o, "commands:")?;
    for command in COMMANDS {
        let rows = forms(command).max(command.help.len());
        for row in 0..rows {
            let mut usage = heapless::String::<MAX_FORM>::new();
            if row < forms(command) {
                write!(usage, "{}", Form(command, row))?;
            }
            let text = command.help.get(row).copied().unwrap_or("");
            let width = USAGE_WIDTH.max(usage.len() + GAP);
            writeln!(o, "  {usage:<width$}{text}")?;
        }
    }
    writeln!(o, "{DEV_NOTE}")
}

/// How many forms a command has: two when one argument is one of two
/// spellings (`forge-msi DEV VECTOR`, `forge-msi DEV entry N`).
fn forms(command: &CommandSpec) -> usize {
    if command.args.iter().any(|a| matches!(a, Arg::Either { .. })) {
        2
    } else {
        1
    }
}

/// A command's usage: its forms, `|` between them.
pub struct Usage<'a>(pub &'a CommandSpec);

impl fmt::Display for Usage<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for form in 0..forms(self.0) {
            if form > 0 {
                f.write_str(" | ")?;
            }
            Form(self.0, form).fmt(f)?;
        }
        Ok(())
    }
}

/// One form of a command's usage (`kill TASK [at N]`).
struct Form<'a>(&'a CommandSpec, usize);

impl fmt::Display for Form<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Form(command, form) = *self;
        f.write_str(command.name)?;
        for arg in command.args {
            f.write_str(" ")?;
            match *arg {
                Arg::Device => f.write_str("DEV")?,
                Arg::Name(what) | Arg::Number(what) => f.write_str(what)?,
                Arg::OptionalNumber(what) | Arg::Ranged { what, .. } => write!(f, "[{what}]")?,
                Arg::Keyword { keyword, what, .. } => write!(f, "[{keyword} {what}]")?,
                Arg::Either { what, .. } if form == 0 => f.write_str(what)?,
                Arg::Either {
                    keyword,
                    keyword_what,
                    ..
                } => write!(f, "{keyword} {keyword_what}")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::String;

    /// The help as the console printed it before the table wrote it
    /// (scenarios and the README quote it).
    const EXPECTED: &str = "\
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
DEV is a PCI address (00:02.0, 0000:00:02.0) or a device name from app.toml.
";

    fn help() -> String {
        let mut out = String::new();
        write_help(&mut out).unwrap();
        out
    }

    #[test]
    fn the_help_is_the_one_the_console_always_printed() {
        assert_eq!(help(), EXPECTED);
    }

    #[test]
    fn the_help_lists_every_command_with_its_usage() {
        let help = help();
        for command in COMMANDS {
            let mut usage = String::new();
            write!(usage, "{}", Form(command, 0)).unwrap();
            assert!(
                help.lines()
                    .any(|l| l.starts_with(&std::format!("  {usage} "))),
                "{} is not in the help",
                command.name
            );
            assert!(!command.help.is_empty(), "{} has no help", command.name);
        }
    }

    #[test]
    fn every_usage_form_fits_the_help_buffer() {
        for command in COMMANDS {
            for form in 0..forms(command) {
                let mut usage = String::new();
                write!(usage, "{}", Form(command, form)).unwrap();
                assert!(usage.len() <= MAX_FORM, "{usage}");
            }
        }
    }

    #[test]
    fn a_two_form_command_shows_both_in_its_usage() {
        let forge = COMMANDS.iter().find(|c| c.name == "forge-msi").unwrap();
        assert_eq!(
            std::format!("{}", Usage(forge)),
            "forge-msi DEV VECTOR | forge-msi DEV entry N"
        );
    }
}
