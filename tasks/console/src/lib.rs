//! The operator console's logic: a line editor for the serial port and a
//! parser that turns a line into a [`Command`] or an error that says what is
//! wrong in words. Nothing here touches hardware or IPC; `main.rs` feeds
//! bytes in and carries commands to the broker.
//!
//! Devices are named by PCI address (`00:02.0` or `0000:02:00.0`) or by the
//! name app.toml gives them; domains and tasks by their app.toml names.
#![no_std]

mod command;
mod line;
mod task_list;

pub use command::{parse, Command, DeviceRef, ForgedMsi, ParseError, BENCH_MAX_COUNT, HELP};
pub use line::{LineEditor, LineEvent, MAX_LINE};
pub use task_list::write_row;

#[cfg(test)]
extern crate std;
