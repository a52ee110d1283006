//! The operator console's logic: a line editor for the serial port, a
//! table of commands from which the parser, the help and the usage in
//! errors all come, and each command's execution over [`Services`] (the
//! servers it asks) and [`System`] (app.toml's tables), writing its answer
//! to any `core::fmt::Write`. Nothing here touches hardware or IPC:
//! `main.rs` feeds bytes in and implements [`Services`] over the IDL
//! clients, and the host tests implement it over a fake.
//!
//! Devices are named by PCI address (`00:02.0` or `0000:02:00.0`) or by the
//! name app.toml gives them; domains and tasks by their app.toml names.
#![no_std]

mod command;
mod exec;
mod help;
mod line;
mod parse;
mod services;
mod system;
mod table;
mod task_list;

pub use command::{
    Command, DeviceRef, ForgedMsi, BENCH_DEFAULT_COUNT, BENCH_MAX_COUNT, STORM_DEFAULT_MS,
    STORM_MAX_MS,
};
pub use exec::Console;
pub use help::{write_help, Usage};
pub use line::{LineEditor, LineEvent, MAX_LINE};
pub use parse::{parse, Mismatch, ParseError, Value, Values, Wanted};
pub use services::{Reply, Services, Worker};
pub use system::{System, MAX_WORKERS};
pub use table::{find, Arg, Build, CommandSpec, COMMANDS, MAX_ARGS};
pub use task_list::write_row;

#[cfg(test)]
extern crate std;
