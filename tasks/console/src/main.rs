//! The console task: an operator shell on COM1. Reads lines (the library's
//! line editor), parses them (the library's command table) and runs them
//! (the library's [`Console`]) over the IDL clients of the broker, the
//! iommu, the supervisor and the DMA workers: this file only joins the
//! library to the serial port, the clients and app.toml's tables.
#![no_std]
#![no_main]

include!(concat!(env!("OUT_DIR"), "/idl.rs"));

mod clients;
mod machine;
mod serial;

use core::fmt::Write as _;

use idl_runtime::KernelTransport;
use task_console::{parse, Console, LineEditor, LineEvent};
use task_supervisor::supervisor;
use userlib::*;

use clients::Clients;
use serial::Out;

task_config!();

static NAMES: [&str; config::TASK_COUNT] = config::TASK_NAMES;
const PROMPT: &[u8] = b"custody> ";
/// How often the console looks at the serial port.
const POLL_MS: u64 = 5;

#[export_name = "main"]
fn main() -> ! {
    let transport = KernelTransport::new(&NAMES);
    let clients = Clients {
        broker: broker::Client::new(transport, config::slots::BROKER),
        iommu: iommu::Client::new(transport, config::slots::IOMMU),
        supervisor: supervisor::Client::new(transport, config::slots::SUPERVISOR),
        transport,
    };
    let mut console = Console::new(clients, machine::system());
    let mut editor = LineEditor::new();
    serial::write(b"\ncustody console: type 'help'\n");
    serial::write(PROMPT);
    loop {
        let Some(byte) = serial::read() else {
            sleep(POLL_MS);
            continue;
        };
        match editor.push(byte) {
            LineEvent::Echo(b) => serial::write(b),
            LineEvent::EchoByte(b) => serial::write(&[b]),
            LineEvent::Nothing => {}
            LineEvent::Cancelled => {
                serial::write(b"^C\n");
                serial::write(PROMPT);
            }
            LineEvent::TooLong => {
                let _ = writeln!(
                    Out,
                    "\nerror: line longer than {} characters; ignored",
                    task_console::MAX_LINE
                );
                serial::write(PROMPT);
            }
            LineEvent::Line(line) => {
                serial::write(b"\n");
                // `Out` never fails: the results say nothing.
                let _ = match parse(&line) {
                    Ok(cmd) => console.run(cmd, &mut Out),
                    Err(e) => writeln!(Out, "error: {e}"),
                };
                serial::write(PROMPT);
            }
        }
    }
}

/// Waits `ms` milliseconds on the console's timer.
fn sleep(ms: u64) {
    sys_set_timer(Some(sys_get_timer() + ms), config::notifications::TIMER);
    sys_recv_notification(config::notifications::TIMER);
}
