//! A table-backed `ConfigAccess` for tests and the simulator, with QEMU's
//! q35 machine as custody runs it.
//!
//! Each function is 256 bytes of real config-space layout plus a mask of the
//! bits software may write, so the library parses it exactly as it parses
//! hardware, and BAR sizing, command and MSI writes behave as on a device.
//! Absent functions read as all ones; accesses follow the 0xCF8 mechanism's
//! rules (aligned, below 256).

use heapless::Vec;

use crate::access::{check_access, AccessError, ConfigAccess};
use crate::addr::Bdf;
use crate::regs;

/// Bytes of config space the fake models (the conventional space).
pub const FAKE_CONFIG_SIZE: usize = 256;
/// Length the fake gives a PCI Express capability (version 2 layout).
const PCIE_CAP_LEN: u8 = 0x3c;

/// One function's config space and its writable bits.
#[derive(Clone, Debug)]
pub struct FakeFunction {
    bdf: Bdf,
    config: [u8; FAKE_CONFIG_SIZE],
    writable: [u8; FAKE_CONFIG_SIZE],
    next_cap: u8,
    last_cap: Option<u8>,
}

impl FakeFunction {
    /// A function with the given identity; `class` is the 24-bit class code,
    /// `header_type` the raw header type byte (0 endpoint, 1 bridge).
    pub fn new(bdf: Bdf, vendor: u16, device: u16, class: u32, header_type: u8) -> Self {
        let mut f = FakeFunction {
            bdf,
            config: [0; FAKE_CONFIG_SIZE],
            writable: [0; FAKE_CONFIG_SIZE],
            next_cap: regs::CAP_MIN_OFFSET,
            last_cap: None,
        };
        f.put(regs::VENDOR_ID, &vendor.to_le_bytes());
        f.put(regs::DEVICE_ID, &device.to_le_bytes());
        f.put(regs::REVISION_ID, &(class << 8).to_le_bytes());
        f.put(regs::HEADER_TYPE, &[header_type]);
        let command_bits = regs::COMMAND_IO_SPACE
            | regs::COMMAND_MEMORY_SPACE
            | regs::COMMAND_BUS_MASTER
            | regs::COMMAND_INTX_DISABLE;
        f.allow(regs::COMMAND, &command_bits.to_le_bytes());
        f
    }

    /// The function's address.
    pub fn bdf(&self) -> Bdf {
        self.bdf
    }

    /// Set the multi-function bit of the header type.
    pub fn multifunction(mut self) -> Self {
        let ht = self.byte(regs::HEADER_TYPE) | regs::HEADER_MULTIFUNCTION;
        self.put(regs::HEADER_TYPE, &[ht]);
        self
    }

    /// Program a type 1 header's bus numbers (writable, as on a bridge).
    pub fn bridge_buses(mut self, primary: u8, secondary: u8, subordinate: u8) -> Self {
        self.put(regs::PRIMARY_BUS, &[primary, secondary, subordinate]);
        self.allow(regs::PRIMARY_BUS, &[0xff, 0xff, 0xff]);
        self
    }

    /// A 32-bit memory BAR of `size` bytes (a power of two, >= 16) at `base`.
    pub fn mem32_bar(mut self, index: u8, base: u32, size: u32, prefetchable: bool) -> Self {
        let flags = if prefetchable {
            regs::BAR_MEM_PREFETCHABLE
        } else {
            0
        } | regs::BAR_MEM_TYPE_32;
        let off = regs::BAR0 + 4 * index as u16;
        self.put(
            off,
            &((base & regs::BAR_MEM_ADDRESS_MASK) | flags).to_le_bytes(),
        );
        self.allow(
            off,
            &(!(size.wrapping_sub(1)) & regs::BAR_MEM_ADDRESS_MASK).to_le_bytes(),
        );
        self
    }

    /// A 64-bit memory BAR in slots `index` and `index + 1`.
    pub fn mem64_bar(mut self, index: u8, base: u64, size: u64) -> Self {
        let off = regs::BAR0 + 4 * index as u16;
        let lo = (base as u32 & regs::BAR_MEM_ADDRESS_MASK) | regs::BAR_MEM_TYPE_64;
        self.put(off, &lo.to_le_bytes());
        self.put(off + 4, &((base >> 32) as u32).to_le_bytes());
        let mask = !(size.wrapping_sub(1));
        self.allow(
            off,
            &(mask as u32 & regs::BAR_MEM_ADDRESS_MASK).to_le_bytes(),
        );
        self.allow(off + 4, &((mask >> 32) as u32).to_le_bytes());
        self
    }

    /// A 16-bit I/O BAR of `size` bytes at `port`.
    pub fn io_bar(mut self, index: u8, port: u16, size: u16) -> Self {
        let off = regs::BAR0 + 4 * index as u16;
        self.put(
            off,
            &((port as u32 & regs::BAR_IO_ADDRESS_MASK) | regs::BAR_IO_SPACE).to_le_bytes(),
        );
        let mask = !(size.wrapping_sub(1)) as u32 & 0xffff & regs::BAR_IO_ADDRESS_MASK;
        self.allow(off, &mask.to_le_bytes());
        self
    }

    /// A PCI Express capability with device/port type `port_type` (raw
    /// field value) and DevCap phantom functions field `phantom_bits`.
    pub fn pcie(mut self, port_type: u8, phantom_bits: u8) -> Self {
        if let Some(at) = self.add_cap(regs::CAP_ID_PCIE, PCIE_CAP_LEN) {
            let flags: u16 = 2
                | (((port_type as u16) & regs::PCIE_FLAGS_TYPE_MASK)
                    << regs::PCIE_FLAGS_TYPE_SHIFT);
            let devcap = ((phantom_bits as u32) & regs::PCIE_DEVCAP_PHANTOM_MASK)
                << regs::PCIE_DEVCAP_PHANTOM_SHIFT;
            self.put(at + regs::PCIE_FLAGS, &flags.to_le_bytes());
            self.put(at + regs::PCIE_DEVCAP, &devcap.to_le_bytes());
        }
        self
    }

    /// An MSI capability (one vector).
    pub fn msi(mut self, is_64bit: bool, per_vector_masking: bool) -> Self {
        let len = match (is_64bit, per_vector_masking) {
            (false, false) => 0x0a,
            (true, false) => 0x0e,
            (false, true) => 0x14,
            (true, true) => 0x18,
        };
        if let Some(at) = self.add_cap(regs::CAP_ID_MSI, len) {
            let mut control = 0;
            if is_64bit {
                control |= regs::MSI_CONTROL_64BIT;
            }
            if per_vector_masking {
                control |= regs::MSI_CONTROL_PER_VECTOR_MASK;
            }
            self.put(at + regs::MSI_CONTROL, &control.to_le_bytes());
            let writable_control = regs::MSI_CONTROL_ENABLE | regs::MSI_CONTROL_MME_MASK;
            self.allow(at + regs::MSI_CONTROL, &writable_control.to_le_bytes());
            self.allow(at + regs::MSI_ADDRESS_LO, &(!0x3u32).to_le_bytes());
            let data_at = if is_64bit {
                self.allow(at + regs::MSI_ADDRESS_HI, &u32::MAX.to_le_bytes());
                regs::MSI_DATA_64
            } else {
                regs::MSI_DATA_32
            };
            self.allow(at + data_at, &u16::MAX.to_le_bytes());
        }
        self
    }

    /// An MSI-X capability of `vectors` table entries (table and PBA in
    /// BAR0); its control word's enable and function-mask bits are writable.
    pub fn msix(mut self, vectors: u16) -> Self {
        if let Some(at) = self.add_cap(regs::CAP_ID_MSIX, regs::MSIX_CAP_LEN as u8) {
            let control = vectors.saturating_sub(1) & regs::MSIX_CONTROL_TABLE_SIZE;
            self.put(at + regs::MSI_CONTROL, &control.to_le_bytes());
            let writable = regs::MSIX_CONTROL_ENABLE | regs::MSIX_CONTROL_FUNCTION_MASK;
            self.allow(at + regs::MSI_CONTROL, &writable.to_le_bytes());
        }
        self
    }

    /// Overwrite raw bytes (to build malformed functions for tests); bytes
    /// beyond the config space are dropped.
    pub fn raw(mut self, offset: u16, bytes: &[u8]) -> Self {
        self.put(offset, bytes);
        self
    }

    fn byte(&self, offset: u16) -> u8 {
        self.config.get(offset as usize).copied().unwrap_or(0xff)
    }

    fn put(&mut self, offset: u16, bytes: &[u8]) {
        for (i, b) in bytes.iter().enumerate() {
            if let Some(slot) = self.config.get_mut(offset as usize + i) {
                *slot = *b;
            }
        }
    }

    fn allow(&mut self, offset: u16, mask: &[u8]) {
        for (i, b) in mask.iter().enumerate() {
            if let Some(slot) = self.writable.get_mut(offset as usize + i) {
                *slot = *b;
            }
        }
    }

    /// Link a capability of `len` bytes at the end of the list; `None` (and
    /// nothing added) when the config space has no room left.
    fn add_cap(&mut self, id: u8, len: u8) -> Option<u16> {
        let at = self.next_cap;
        let end = at as usize + len as usize;
        if end > FAKE_CONFIG_SIZE {
            return None;
        }
        match self.last_cap {
            Some(prev) => self.put(prev as u16 + 1, &[at]),
            None => {
                self.put(regs::CAPABILITIES_POINTER, &[at]);
                let status = regs::STATUS_CAPABILITIES.to_le_bytes();
                self.put(regs::STATUS, &status);
            }
        }
        self.put(at as u16, &[id, 0]);
        self.last_cap = Some(at);
        self.next_cap = u8::try_from(end.next_multiple_of(4)).unwrap_or(u8::MAX);
        Some(at as u16)
    }

    fn read(&self, offset: u16, width: u8) -> u32 {
        (0..width as u16).fold(0u32, |v, i| v | (self.byte(offset + i) as u32) << (8 * i))
    }

    fn write(&mut self, offset: u16, width: u8, value: u32) {
        for i in 0..width as usize {
            let at = offset as usize + i;
            let b = (value >> (8 * i)) as u8;
            if let (Some(c), Some(m)) =
                (self.config.get(at).copied(), self.writable.get(at).copied())
            {
                if let Some(slot) = self.config.get_mut(at) {
                    *slot = (c & !m) | (b & m);
                }
            }
        }
    }
}

/// A config space made of up to `N` fake functions.
#[derive(Clone, Debug, Default)]
pub struct FakeConfig<const N: usize> {
    functions: Vec<FakeFunction, N>,
}

impl<const N: usize> FakeConfig<N> {
    pub const fn new() -> Self {
        FakeConfig {
            functions: Vec::new(),
        }
    }

    /// Add (or replace) a function; refused with its address if the table
    /// is full.
    pub fn add(&mut self, f: FakeFunction) -> Result<(), Bdf> {
        if let Some(slot) = self.functions.iter_mut().find(|g| g.bdf == f.bdf) {
            *slot = f;
            return Ok(());
        }
        let bdf = f.bdf;
        self.functions.push(f).map_err(|_| bdf)
    }

    /// Builder form of [`FakeConfig::add`]; a function that does not fit is
    /// dropped, which the tests see as an absent function.
    pub fn with(mut self, f: FakeFunction) -> Self {
        let _ = self.add(f);
        self
    }

    /// Remove the function at `bdf` (hot-unplug).
    pub fn remove(&mut self, bdf: Bdf) -> Option<FakeFunction> {
        let i = self.functions.iter().position(|f| f.bdf == bdf)?;
        Some(self.functions.swap_remove(i))
    }

    fn find(&self, bdf: Bdf) -> Option<&FakeFunction> {
        self.functions.iter().find(|f| f.bdf == bdf)
    }

    fn find_mut(&mut self, bdf: Bdf) -> Option<&mut FakeFunction> {
        self.functions.iter_mut().find(|f| f.bdf == bdf)
    }

    fn read(&self, bdf: Bdf, offset: u16, width: u8) -> Result<u32, AccessError> {
        check_access(offset, width, FAKE_CONFIG_SIZE as u16)?;
        Ok(match self.find(bdf) {
            Some(f) => f.read(offset, width),
            None => u32::MAX >> (32 - 8 * width as u32),
        })
    }

    fn write(&mut self, bdf: Bdf, offset: u16, width: u8, value: u32) -> Result<(), AccessError> {
        check_access(offset, width, FAKE_CONFIG_SIZE as u16)?;
        if let Some(f) = self.find_mut(bdf) {
            f.write(offset, width, value);
        }
        Ok(())
    }
}

impl<const N: usize> ConfigAccess for FakeConfig<N> {
    fn read8(&self, bdf: Bdf, offset: u16) -> Result<u8, AccessError> {
        self.read(bdf, offset, 1).map(|v| v as u8)
    }
    fn read16(&self, bdf: Bdf, offset: u16) -> Result<u16, AccessError> {
        self.read(bdf, offset, 2).map(|v| v as u16)
    }
    fn read32(&self, bdf: Bdf, offset: u16) -> Result<u32, AccessError> {
        self.read(bdf, offset, 4)
    }
    fn write8(&mut self, bdf: Bdf, offset: u16, value: u8) -> Result<(), AccessError> {
        self.write(bdf, offset, 1, value as u32)
    }
    fn write16(&mut self, bdf: Bdf, offset: u16, value: u16) -> Result<(), AccessError> {
        self.write(bdf, offset, 2, value as u32)
    }
    fn write32(&mut self, bdf: Bdf, offset: u16, value: u32) -> Result<(), AccessError> {
        self.write(bdf, offset, 4, value)
    }
}
