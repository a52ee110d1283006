//! The domid task: serves `Domid` over the kernel's IPC. It starts
//! not rebuilt after every (re)start, so the broker configures the units and
//! rebuilds it from the iommu's context entries before any DID is handed out.
//!
//! The allocator is chosen at build time: bitmaps by default, free lists
//! with the `freelist` feature. With `fault-injection` (test images only)
//! the task panics when its `crash` notification is posted, so a scenario
//! can prove that a restart loses nothing once domid is rebuilt.
#![no_std]
#![no_main]

use domid::domid::Endpoint;
use domid::DomidServer;
use idl_runtime::KernelTransport;
use userlib::*;

task_config!();

type Allocator = domid::FirmwareAllocator;
const ALLOCATOR: &str = domid::FIRMWARE_ALLOCATOR;

static NAMES: [&str; config::TASK_COUNT] = config::TASK_NAMES;

#[export_name = "main"]
fn main() -> ! {
    // About 45 KiB (bitmap) or less (free list): kept out of the stack.
    static mut SERVER: Endpoint<DomidServer<Allocator>> =
        Endpoint(DomidServer::new(Allocator::new()));
    // SAFETY: `main` runs once per task life and never returns, and nothing
    // else names `SERVER`, so this is the only reference to it.
    let server = unsafe { &mut *core::ptr::addr_of_mut!(SERVER) };
    defmt::info!(
        "domid: serving with the {=str} allocator, not rebuilt",
        ALLOCATOR
    );
    defmt::info!(
        "BENCH domid_memory_per_unit_bytes {=usize}",
        Allocator::memory_per_unit()
    );
    let mut transport = KernelTransport::new(&NAMES);
    let mut buf = [0u8; abi::MAX_MESSAGE];
    #[cfg(feature = "fault-injection")]
    let server = &mut fault::CrashOnNotification(server);
    idl_runtime::serve(&mut transport, server, &mut buf)
}

/// The test-only crash: a dispatcher that forwards every message and
/// panics on the `crash` notification.
#[cfg(feature = "fault-injection")]
mod fault {
    use idl_runtime::{Call, Dispatch, DispatchOutcome, ServerContext};

    use super::config;

    /// Wraps the real dispatcher; only notifications differ.
    pub struct CrashOnNotification<'s, D>(pub &'s mut D);

    impl<D: Dispatch> Dispatch for CrashOnNotification<'_, D> {
        fn dispatch(
            &mut self,
            call: &Call<'_>,
            ctx: &dyn ServerContext,
            reply: &mut [u8],
        ) -> DispatchOutcome {
            self.0.dispatch(call, ctx, reply)
        }

        fn notification_mask(&self) -> u32 {
            config::notifications::CRASH
        }

        fn notified(&mut self, bits: u32) {
            if bits & config::notifications::CRASH != 0 {
                panic!("domid: crash requested (fault injection)");
            }
        }
    }
}
