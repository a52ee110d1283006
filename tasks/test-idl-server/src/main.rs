//! IDL test image: serves the Counter interface through the generated
//! dispatcher and the kernel transport.
#![no_std]
#![no_main]

include!(concat!(env!("OUT_DIR"), "/idl.rs"));

use abi::TaskId;
use counter::{
    AddArgs, ChecksumArgs, CrashArgs, Endpoint, FillArgs, SecretArgs, SubtractArgs, TotalArgs,
};
use idl_runtime::{KernelTransport, ReadLease, WriteLease};
use userlib::*;

task_config!();

struct Counter {
    total: u64,
}

impl counter::Server for Counter {
    fn add(&mut self, _caller: TaskId, args: AddArgs) -> u64 {
        self.total = self.total.saturating_add(args.amount as u64);
        self.total
    }

    fn subtract(&mut self, _caller: TaskId, args: SubtractArgs) -> u64 {
        self.total = self.total.saturating_sub(args.amount as u64);
        self.total
    }

    fn total(&mut self, _caller: TaskId, _args: TotalArgs) -> u64 {
        self.total
    }

    fn checksum(&mut self, _caller: TaskId, _args: ChecksumArgs, data: ReadLease<'_>) -> u32 {
        let mut buf = [0u8; 64];
        let n = data.len().min(buf.len());
        match data.read(0, &mut buf[..n]) {
            Ok(()) => buf[..n].iter().map(|b| *b as u32).sum(),
            Err(_) => 0,
        }
    }

    fn fill(&mut self, _caller: TaskId, args: FillArgs, out: WriteLease<'_>) -> u16 {
        let buf = [args.byte; 32];
        let n = out.len().min(buf.len());
        match out.write(0, &buf[..n]) {
            Ok(()) => n as u16,
            Err(_) => 0,
        }
    }

    fn crash(&mut self, _caller: TaskId, _args: CrashArgs) {
        defmt::warn!("crashing on request");
        // SAFETY: deliberately raises #UD so the kernel faults this task.
        unsafe { core::arch::asm!("ud2") }
    }

    fn secret(&mut self, _caller: TaskId, _args: SecretArgs) -> u32 {
        0x5EC7E7
    }
}

static NAMES: [&str; config::TASK_COUNT] = config::TASK_NAMES;

#[export_name = "main"]
fn main() -> ! {
    let mut transport = KernelTransport::new(&NAMES);
    let mut buf = [0u8; abi::MAX_MESSAGE];
    idl_runtime::serve(
        &mut transport,
        &mut Endpoint(Counter { total: 0 }),
        &mut buf,
    )
}
