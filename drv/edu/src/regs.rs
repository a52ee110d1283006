//! edu's register map (BAR0, 1 MiB) and field values, named once.

/// Size of BAR0.
pub const BAR0_SIZE: u64 = 0x10_0000;
/// PCI vendor ID.
pub const VENDOR_ID: u16 = 0x1234;
/// PCI device ID.
pub const DEVICE_ID: u16 = 0x11e8;

/// Identification: `0xRRrr00ed` (major, minor, 0xed).
pub const ID: usize = 0x00;
/// Liveness check: reads back the bitwise complement of the last write.
pub const LIVENESS: usize = 0x04;
/// Factorial computation (unused by custody, named for completeness).
pub const FACTORIAL: usize = 0x08;
/// Status: bit 0 factorial busy, bit 7 raise an interrupt after factorial.
pub const STATUS: usize = 0x20;
/// Interrupt status: the bits raised and not yet acknowledged.
pub const IRQ_STATUS: usize = 0x24;
/// Writing bits here raises them in IRQ_STATUS and asserts the interrupt.
pub const IRQ_RAISE: usize = 0x60;
/// Writing bits here clears them from IRQ_STATUS (deasserts when empty).
pub const IRQ_ACK: usize = 0x64;
/// DMA source address (64-bit).
pub const DMA_SRC: usize = 0x80;
/// DMA destination address (64-bit).
pub const DMA_DST: usize = 0x88;
/// DMA byte count (64-bit).
pub const DMA_COUNT: usize = 0x90;
/// DMA command (64-bit), see `DMA_CMD_*`.
pub const DMA_CMD: usize = 0x98;

/// Registers below this offset accept only 4-byte accesses.
pub const WIDE_REGS_START: usize = 0x80;

/// Low byte of `ID` on every edu.
pub const ID_MAGIC: u32 = 0xed;
/// Major version in `ID`.
pub const ID_MAJOR_SHIFT: u32 = 24;
/// Minor version in `ID`.
pub const ID_MINOR_SHIFT: u32 = 16;

/// DMA command: start (stays set while the transfer runs).
pub const DMA_CMD_RUN: u64 = 1 << 0;
/// DMA command: direction; set = from edu's buffer to RAM.
pub const DMA_CMD_TO_RAM: u64 = 1 << 1;
/// DMA command: raise [`IRQ_DMA_DONE`] when the transfer completes.
pub const DMA_CMD_IRQ: u64 = 1 << 2;

/// IRQ_STATUS bit edu raises at the end of a DMA with `DMA_CMD_IRQ`.
pub const IRQ_DMA_DONE: u32 = 0x100;
/// IRQ_STATUS bit edu raises after a factorial with status bit 7.
pub const IRQ_FACTORIAL_DONE: u32 = 0x1;

/// edu's internal buffer, as addressed by DMA_SRC/DMA_DST.
pub const BUFFER_ADDR: u64 = 0x4_0000;
/// Size of the internal buffer.
pub const BUFFER_SIZE: u32 = 4096;
/// edu's default DMA mask: addresses above 28 bits are silently cut.
pub const DMA_ADDR_BITS: u32 = 28;
/// First address beyond the DMA mask.
pub const DMA_ADDR_LIMIT: u64 = 1 << DMA_ADDR_BITS;
/// The DMA limit of an edu created with `dma_mask=0xffffffff` (QEMU's
/// property), which can reach the MSI window at 0xFEE0_0000.
pub const DMA_ADDR_LIMIT_32: u64 = 1 << 32;
