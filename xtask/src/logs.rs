//! Decoding the log stream of COM2 into lines.
//!
//! Records are `[0xC5, task, time u32 LE, len u16 LE, frame]` (see the
//! kernel's `log.rs`). Each task's defmt frames are decoded with that task's
//! own ELF, the kernel's (task `0xFF`) with the image, and printed as
//! `[   12ms] task      LEVEL message`. A kernel line giving a faulting
//! task's code address gets its function and `file:line` (see
//! [`crate::symbols`]).

use std::path::PathBuf;

use defmt_decoder::{StreamDecoder, Table};

use crate::symbols::Symbols;

const MAGIC: u8 = 0xC5;
const KERNEL_INDEX: u8 = 0xFF;
const HEADER: usize = 8;

/// One decoded line.
#[derive(Debug, Clone)]
pub struct LogLine {
    pub time_ms: u32,
    pub task: String,
    pub level: String,
    pub message: String,
}

impl std::fmt::Display for LogLine {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(
            f,
            "[{:>7}ms] {:<11} {:<5} {}",
            self.time_ms, self.task, self.level, self.message
        )
    }
}

/// The defmt tables of an image, by task index.
pub struct Tables {
    names: Vec<String>,
    elves: Vec<PathBuf>,
    tables: Vec<Option<Table>>,
    kernel: Option<Table>,
}

impl Tables {
    /// Loads the tables from the task ELFs and the kernel image.
    pub fn load(names: &[String], elves: &[PathBuf], kernel: &PathBuf) -> Tables {
        let parse = |p: &PathBuf| {
            std::fs::read(p)
                .ok()
                .and_then(|b| Table::parse(&b).ok().flatten())
        };
        Tables {
            names: names.to_vec(),
            elves: elves.to_vec(),
            tables: elves.iter().map(parse).collect(),
            kernel: parse(kernel),
        }
    }
}

/// Splits and decodes a growing byte stream.
pub struct Decoder<'t> {
    tables: &'t Tables,
    decoders: Vec<Option<Box<dyn StreamDecoder + Send + Sync + 't>>>,
    kernel: Option<Box<dyn StreamDecoder + Send + Sync + 't>>,
    pending: Vec<u8>,
    symbols: Symbols,
}

impl<'t> Decoder<'t> {
    /// A decoder over `tables`.
    pub fn new(tables: &'t Tables) -> Self {
        Decoder {
            tables,
            decoders: tables
                .tables
                .iter()
                .map(|t| t.as_ref().map(|t| t.new_stream_decoder()))
                .collect(),
            kernel: tables.kernel.as_ref().map(|t| t.new_stream_decoder()),
            pending: Vec::new(),
            symbols: Symbols::new(&tables.names, &tables.elves),
        }
    }

    /// Feeds bytes; returns the lines completed.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<LogLine> {
        self.pending.extend_from_slice(bytes);
        let mut out = Vec::new();
        loop {
            let Some(start) = self.pending.iter().position(|b| *b == MAGIC) else {
                self.pending.clear();
                break;
            };
            self.pending.drain(..start);
            if self.pending.len() < HEADER {
                break;
            }
            let task = self.pending[1];
            let time = u32::from_le_bytes([
                self.pending[2],
                self.pending[3],
                self.pending[4],
                self.pending[5],
            ]);
            let len = u16::from_le_bytes([self.pending[6], self.pending[7]]) as usize;
            if self.pending.len() < HEADER + len {
                break;
            }
            let frame: Vec<u8> = self.pending[HEADER..HEADER + len].to_vec();
            self.pending.drain(..HEADER + len);
            out.push(self.decode(task, time, &frame));
        }
        out
    }

    fn decode(&mut self, task: u8, time_ms: u32, frame: &[u8]) -> LogLine {
        let name = if task == KERNEL_INDEX {
            "kernel".to_string()
        } else {
            self.tables
                .names
                .get(task as usize)
                .cloned()
                .unwrap_or_else(|| format!("task#{task}"))
        };
        let decoder = if task == KERNEL_INDEX {
            self.kernel.as_mut()
        } else {
            self.decoders
                .get_mut(task as usize)
                .and_then(|d| d.as_mut())
        };
        let (level, message) = match decoder {
            None => (
                "?".into(),
                format!("(no defmt table for {name}: {} bytes)", frame.len()),
            ),
            Some(d) => {
                d.received(frame);
                match d.decode() {
                    Ok(f) => (
                        f.level().map_or("", |l| l.as_str()).to_uppercase(),
                        f.display_message().to_string(),
                    ),
                    Err(e) => ("?".into(), format!("(undecodable frame: {e:?})")),
                }
            }
        };
        let message = match task {
            KERNEL_INDEX => self.symbols.annotate(&message).unwrap_or(message),
            _ => message,
        };
        LogLine {
            time_ms,
            task: name,
            level,
            message,
        }
    }
}
