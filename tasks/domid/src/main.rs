//! The domid task: serves `Domid` over the kernel's IPC. It starts
//! unseeded after every (re)start, so the broker configures the units and
//! seeds it from the iommu's context entries before any DID is handed out.
#![no_std]
#![no_main]

use domid::domid::Endpoint;
use domid::{BitmapAllocator, DomidServer};
use idl_runtime::KernelTransport;
use userlib::*;

task_config!();

/// Units, domains per unit and (domain, device) memberships per unit.
type Allocator = BitmapAllocator<4, 64, 128>;

static NAMES: [&str; config::TASK_COUNT] = config::TASK_NAMES;

#[export_name = "main"]
fn main() -> ! {
    // About 45 KiB: kept out of the task's stack.
    static mut SERVER: Endpoint<DomidServer<Allocator>> =
        Endpoint(DomidServer::new(BitmapAllocator::new()));
    // SAFETY: `main` runs once per task life and never returns, and nothing
    // else names `SERVER`, so this is the only reference to it.
    let server = unsafe { &mut *core::ptr::addr_of_mut!(SERVER) };
    defmt::info!("domid: serving, unseeded");
    let mut transport = KernelTransport::new(&NAMES);
    let mut buf = [0u8; abi::MAX_MESSAGE];
    idl_runtime::serve(&mut transport, server, &mut buf)
}
