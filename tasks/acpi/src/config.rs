//! The config space scope resolution reads, bound to the pci library's
//! [`ConfigAccess`] (ECAM or ports in the image, the q35 fake in tests).

use acpi::resolve::ConfigSpace;
use pci::ConfigAccess;

/// Config-space reads for [`acpi::resolve`] through a [`ConfigAccess`].
pub struct PciConfigSpace<A>(pub A);

impl<A: ConfigAccess> ConfigSpace for PciConfigSpace<A> {
    fn read32(&self, segment: u16, bus: u8, device: u8, function: u8, offset: u16) -> Option<u32> {
        let bdf = pci::Bdf::new(segment, bus, device, function).ok()?;
        self.0.read32(bdf, offset).ok()
    }
}
