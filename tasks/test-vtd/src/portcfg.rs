//! PCI configuration mechanism #1 (ports 0xCF8/0xCFC): the address dword
//! and which data port byte lane a narrow access uses.

use pci::Bdf;

/// The address port.
pub const CONFIG_ADDRESS: u16 = 0xCF8;
/// The data port (0xCFC..0xCFF, one per byte lane).
pub const CONFIG_DATA: u16 = 0xCFC;
/// Enable bit of the address dword.
const ENABLE: u32 = 1 << 31;
/// Config space this mechanism reaches.
pub const CONFIG_SPACE: u16 = 256;

/// The dword written to [`CONFIG_ADDRESS`] to reach `offset` of `bdf`
/// (the offset's low two bits select the data port, not the address).
pub fn address(bdf: Bdf, offset: u16) -> u32 {
    ENABLE
        | (bdf.bus() as u32) << 16
        | (bdf.dev() as u32) << 11
        | (bdf.func() as u32) << 8
        | (offset as u32 & 0xfc)
}

/// The data port of an access at `offset`.
pub fn data_port(offset: u16) -> u16 {
    CONFIG_DATA + (offset & 3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_packs_bus_device_function_and_dword_offset() {
        let bdf = Bdf::new(0, 1, 1, 0).unwrap();
        assert_eq!(address(bdf, 0x10), 0x8001_0810);
        let bdf = Bdf::new(0, 0, 2, 7).unwrap();
        assert_eq!(address(bdf, 0x3e), 0x8000_173c);
    }

    #[test]
    fn narrow_access_uses_the_byte_lane_of_its_offset() {
        assert_eq!(data_port(0x04), 0xCFC);
        assert_eq!(data_port(0x06), 0xCFE);
        assert_eq!(data_port(0x19), 0xCFD);
    }
}
