//! Symbolized faults: the kernel logs where a faulting task was (`task NAME
//! was at 0x...`) and its callers (`task NAME called from 0x...`, from the
//! frame-pointer chain); here each address gets the function and
//! `file:line` from that task's own ELF, as Humility does for Hubris, so a
//! fault reads as source, not as a number.
//!
//! Each task is linked at its own window, so its ELF's addresses are the
//! addresses it ran at: no offset to apply. A return address is looked up
//! one byte back, inside the call instruction, so the line is the call's.

use std::collections::HashMap;
use std::path::PathBuf;

/// The two kinds of kernel line that carry a task's code address.
const WAS_AT: &str = " was at 0x";
const CALLED_FROM: &str = " called from 0x";

/// Debug information of every task, loaded on first use.
pub struct Symbols {
    elves: HashMap<String, PathBuf>,
    loaded: HashMap<String, Option<addr2line::Loader>>,
}

impl Symbols {
    /// Symbols for the tasks `names`, whose ELFs are `elves` (same order).
    pub fn new(names: &[String], elves: &[PathBuf]) -> Symbols {
        Symbols {
            elves: names.iter().cloned().zip(elves.iter().cloned()).collect(),
            loaded: HashMap::new(),
        }
    }

    /// `message` with the function and `file:line` appended, if it is a
    /// kernel line naming a task's code address that the task's ELF knows.
    pub fn annotate(&mut self, message: &str) -> Option<String> {
        let (task, address, is_return) = parse(message)?;
        let probe = if is_return {
            address.checked_sub(1)?
        } else {
            address
        };
        let place = self.locate(task, probe)?;
        Some(format!("{message} in {place}"))
    }

    /// `function (file:line)` for `address` in `task`, innermost inlined
    /// function first (`inlined into` its callers).
    fn locate(&mut self, task: &str, address: u64) -> Option<String> {
        if !self.loaded.contains_key(task) {
            let loader = self
                .elves
                .get(task)
                .and_then(|p| addr2line::Loader::new(p).ok());
            self.loaded.insert(task.to_string(), loader);
        }
        let loader = self.loaded.get(task)?.as_ref()?;
        let mut frames = loader.find_frames(address).ok()?;
        let mut parts = Vec::new();
        while let Ok(Some(frame)) = frames.next() {
            let function = frame
                .function
                .as_ref()
                .and_then(|f| f.demangle().ok().map(|d| strip_hash(&d).to_string()))
                .unwrap_or_else(|| "?".to_string());
            // A line of 0 (code the compiler merged) leaves the file only.
            let at = frame.location.as_ref().and_then(|l| {
                let file = short_path(l.file?);
                Some(match l.line {
                    Some(line) if line > 0 => format!("{file}:{line}"),
                    _ => file,
                })
            });
            parts.push(match at {
                Some(at) => format!("{function} ({at})"),
                None => function,
            });
        }
        if parts.is_empty() {
            // No line table here (assembly such as the entry point): the
            // symbol table's name, if it is a code symbol's.
            let symbol = loader.find_symbol(address)?;
            if symbol.contains(' ') || symbol.starts_with("_defmt") {
                return None;
            }
            let name = addr2line::demangle_auto(symbol.into(), None);
            return Some(strip_hash(&name).to_string());
        }
        Some(parts.join(", inlined into "))
    }
}

/// `(task, address, is a return address)` of a kernel backtrace line.
fn parse(message: &str) -> Option<(&str, u64, bool)> {
    let rest = message.strip_prefix("task ")?;
    let (task, hex, is_return) = if let Some((t, h)) = rest.split_once(WAS_AT) {
        (t, h, false)
    } else {
        let (t, h) = rest.split_once(CALLED_FROM)?;
        (t, h, true)
    };
    let hex = hex.split_whitespace().next()?;
    Some((task, u64::from_str_radix(hex, 16).ok()?, is_return))
}

/// A Rust symbol without its `::h0123...` hash.
fn strip_hash(name: &str) -> &str {
    match name.rsplit_once("::h") {
        Some((head, hash)) if hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => {
            head
        }
        _ => name,
    }
}

/// A source path from the repository's root (or the crate's registry
/// directory), not the build machine's absolute path.
fn short_path(file: &str) -> String {
    let root = crate::image::root();
    if let Ok(rel) = std::path::Path::new(file).strip_prefix(&root) {
        return rel.display().to_string();
    }
    match file.find("/src/") {
        Some(i) if file.contains("/.cargo/") || file.contains("/rustc/") => {
            let crate_start = file[..i].rfind('/').map_or(0, |j| j + 1);
            file[crate_start..].to_string()
        }
        _ => file.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fault_line_names_its_task_and_address() {
        assert_eq!(
            parse("task dma_a was at 0x2001a3f"),
            Some(("dma_a", 0x200_1a3f, false))
        );
        assert_eq!(
            parse("task dma_a called from 0x2001000"),
            Some(("dma_a", 0x200_1000, true))
        );
        assert_eq!(parse("task dma_a faulted: panic (kind 7, 0x0, 0x0)"), None);
        assert_eq!(parse("task x was at 0xnothex"), None);
    }

    #[test]
    fn a_symbols_hash_is_dropped() {
        assert_eq!(
            strip_hash("task_broker::engine::run::h0123456789abcdef"),
            "task_broker::engine::run"
        );
        assert_eq!(
            strip_hash("core::panicking::panic"),
            "core::panicking::panic"
        );
    }

    /// The test binary itself has debug info: a function's address, as
    /// its ELF's symbol table gives it, becomes that function and its
    /// file and line.
    #[test]
    fn an_address_in_an_elf_becomes_function_and_line() {
        use object::{Object, ObjectSymbol};
        let me = std::env::current_exe().expect("the test binary's path");
        let bytes = std::fs::read(&me).expect("the test binary");
        let elf = object::File::parse(&*bytes).expect("an ELF");
        let target = elf
            .symbols()
            .find(|s| {
                s.name().is_ok_and(|n| {
                    n.contains("a_symbols_hash_is_dropped") && !n.contains("closure")
                })
            })
            .expect("the test function's symbol");
        let mut symbols = Symbols::new(&["me".to_string()], &[me]);
        let line = format!("task me was at {:#x}", target.address());
        let annotated = symbols.annotate(&line).expect("the address is known");
        assert!(
            annotated.contains("a_symbols_hash_is_dropped (xtask/src/symbols.rs:"),
            "{annotated}"
        );
        let unknown = symbols.annotate("task nobody was at 0x1000");
        assert_eq!(unknown, None);
    }
}
