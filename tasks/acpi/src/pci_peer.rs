//! Config space for scope resolution, read by calling the pci task: it owns
//! the config ports, so the acpi task never touches them itself.
//!
//! [`ConfigSpace`] reads take `&self` while a client call needs `&mut`, so
//! the client sits in a `RefCell` (one thread, no re-entry: a borrow that
//! fails would be a bug, and reads as a failed read, not a panic).

use core::cell::RefCell;

use acpi::resolve::ConfigSpace;
use idl_runtime::{ClientError, KernelTransport};
use idl_types::{AccessWidth, Bdf, PciError};

/// The whole generated interface; this task uses only its client's
/// `config_read`.
#[allow(dead_code)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/pci_client.rs"));
}
pub use generated::pci;

/// The one segment the pci task serves.
const SEGMENT: u16 = 0;
/// What an absent function reads as on hardware.
const ABSENT: u32 = 0xffff_ffff;

/// Config-space reads through the pci task's `config_read`.
pub struct PciTaskConfig {
    client: RefCell<pci::Client<KernelTransport>>,
}

impl PciTaskConfig {
    pub fn new(client: pci::Client<KernelTransport>) -> Self {
        PciTaskConfig {
            client: RefCell::new(client),
        }
    }
}

impl ConfigSpace for PciTaskConfig {
    fn read32(&self, segment: u16, bus: u8, device: u8, function: u8, offset: u16) -> Option<u32> {
        if segment != SEGMENT {
            return None;
        }
        let mut client = self.client.try_borrow_mut().ok()?;
        let bdf = Bdf {
            bus,
            device,
            function,
        };
        match client.config_read(bdf, offset, AccessWidth::Dword) {
            Ok(value) => Some(value),
            // The pci task serves only the functions it enumerated; any
            // other reads as absent, as the hardware would answer.
            Err(ClientError::Op(PciError::NoDevice(_))) => Some(ABSENT),
            Err(_) => None,
        }
    }
}
