//! Config-space register offsets and bit fields, named once.

// Type 0 and type 1 common header.
pub const VENDOR_ID: u16 = 0x00;
pub const DEVICE_ID: u16 = 0x02;
pub const COMMAND: u16 = 0x04;
pub const STATUS: u16 = 0x06;
pub const REVISION_ID: u16 = 0x08;
pub const HEADER_TYPE: u16 = 0x0e;
pub const BAR0: u16 = 0x10;
pub const CAPABILITIES_POINTER: u16 = 0x34;
/// Type 0 expansion ROM base address.
pub const EXPANSION_ROM_TYPE0: u16 = 0x30;
pub const INTERRUPT_LINE: u16 = 0x3c;
/// The first byte past the common 64-byte header.
pub const HEADER_END: u16 = 0x40;

// Type 1 (bridge) header.
pub const PRIMARY_BUS: u16 = 0x18;
pub const SECONDARY_BUS: u16 = 0x19;
pub const SUBORDINATE_BUS: u16 = 0x1a;
pub const IO_BASE: u16 = 0x1c;
pub const SECONDARY_STATUS: u16 = 0x1e;
/// Memory base; the windows run from here to the capabilities pointer
/// (memory, prefetchable, their upper halves, I/O upper halves).
pub const MEMORY_BASE: u16 = 0x20;
/// Type 1 expansion ROM base address.
pub const EXPANSION_ROM_TYPE1: u16 = 0x38;
pub const BRIDGE_CONTROL: u16 = 0x3e;

/// Vendor ID read from a function that does not exist.
pub const VENDOR_NONE: u16 = 0xffff;

pub const COMMAND_IO_SPACE: u16 = 1 << 0;
pub const COMMAND_MEMORY_SPACE: u16 = 1 << 1;
pub const COMMAND_BUS_MASTER: u16 = 1 << 2;
pub const COMMAND_INTX_DISABLE: u16 = 1 << 10;

pub const STATUS_CAPABILITIES: u16 = 1 << 4;

pub const HEADER_TYPE_MASK: u8 = 0x7f;
pub const HEADER_MULTIFUNCTION: u8 = 0x80;

/// Capabilities live after the 64-byte header; pointers are dword aligned.
pub const CAP_MIN_OFFSET: u8 = 0x40;
/// (256 - 64) / 4: more links than this is a loop.
pub const CAP_MAX_LINKS: usize = 48;
pub const CAP_ID_MSI: u8 = 0x05;
pub const CAP_ID_PCIE: u8 = 0x10;
pub const CAP_ID_MSIX: u8 = 0x11;
/// A capability's ID and next pointer.
pub const CAP_HEADER_LEN: u16 = 2;
/// MSI-X: header, control, table and PBA offsets.
pub const MSIX_CAP_LEN: u16 = 12;
pub const MSIX_CONTROL_TABLE_SIZE: u16 = 0x7ff;
pub const MSIX_CONTROL_FUNCTION_MASK: u16 = 1 << 14;
pub const MSIX_CONTROL_ENABLE: u16 = 1 << 15;
/// MSI capability lengths by its 64-bit and per-vector-mask flags.
pub const MSI_CAP_LEN_32: u16 = 0x0a;
pub const MSI_CAP_LEN_64: u16 = 0x0e;
pub const MSI_CAP_LEN_32_MASKED: u16 = 0x14;
pub const MSI_CAP_LEN_64_MASKED: u16 = 0x18;

// PCI Express capability.
pub const PCIE_FLAGS: u16 = 0x02;
pub const PCIE_FLAGS_TYPE_SHIFT: u16 = 4;
pub const PCIE_FLAGS_TYPE_MASK: u16 = 0xf;
pub const PCIE_DEVCAP: u16 = 0x04;
pub const PCIE_DEVCAP_PHANTOM_SHIFT: u32 = 3;
pub const PCIE_DEVCAP_PHANTOM_MASK: u32 = 0x3;

// MSI capability.
pub const MSI_CONTROL: u16 = 0x02;
pub const MSI_ADDRESS_LO: u16 = 0x04;
pub const MSI_ADDRESS_HI: u16 = 0x08;
pub const MSI_DATA_32: u16 = 0x08;
pub const MSI_DATA_64: u16 = 0x0c;
pub const MSI_CONTROL_ENABLE: u16 = 1 << 0;
pub const MSI_CONTROL_MMC_SHIFT: u16 = 1;
pub const MSI_CONTROL_MME_SHIFT: u16 = 4;
pub const MSI_CONTROL_MME_MASK: u16 = 0x7 << MSI_CONTROL_MME_SHIFT;
pub const MSI_CONTROL_64BIT: u16 = 1 << 7;
pub const MSI_CONTROL_PER_VECTOR_MASK: u16 = 1 << 8;

// BARs.
pub const BAR_IO_SPACE: u32 = 1 << 0;
pub const BAR_MEM_TYPE_MASK: u32 = 0x6;
pub const BAR_MEM_TYPE_32: u32 = 0x0;
pub const BAR_MEM_TYPE_1M: u32 = 0x2;
pub const BAR_MEM_TYPE_64: u32 = 0x4;
pub const BAR_MEM_PREFETCHABLE: u32 = 1 << 3;
pub const BAR_MEM_ADDRESS_MASK: u32 = !0xf;
pub const BAR_IO_ADDRESS_MASK: u32 = !0x3;
/// BARs in a type 0 header.
pub const BARS_TYPE0: u8 = 6;
/// BARs in a type 1 (bridge) header.
pub const BARS_TYPE1: u8 = 2;

// Class codes (base class, subclass).
pub const CLASS_BRIDGE: u8 = 0x06;
pub const SUBCLASS_HOST_BRIDGE: u8 = 0x00;
pub const SUBCLASS_PCI_BRIDGE: u8 = 0x04;

// x86 MSI message format (Intel SDM vol. 3, 11.11).
pub const X86_MSI_ADDRESS_BASE: u64 = 0xfee0_0000;
pub const X86_MSI_DEST_SHIFT: u32 = 12;
/// Remappable-format MSI address: the interrupt-format bit (bit 4).
pub const X86_MSI_REMAPPABLE: u64 = 1 << 4;
/// Remappable-format MSI address: handle bits 14:0 sit at bits 19:5.
pub const X86_MSI_HANDLE_LOW_SHIFT: u32 = 5;
/// Mask of handle bits 14:0.
pub const X86_MSI_HANDLE_LOW_MASK: u16 = 0x7fff;
/// Remappable-format MSI address: handle bit 15 sits at bit 2.
pub const X86_MSI_HANDLE_BIT15_SHIFT: u32 = 2;
