//! Register offsets and the bits of the plain status/control registers, named
//! once. Command registers with fields (GCMD/GSTS, CCMD, IOTLB, IVA) have
//! their own types in `command`.

/// Version register.
pub const VER: usize = 0x00;
/// Capability register (64-bit).
pub const CAP: usize = 0x08;
/// Extended capability register (64-bit).
pub const ECAP: usize = 0x10;
/// Global command register (32-bit).
pub const GCMD: usize = 0x18;
/// Global status register (32-bit).
pub const GSTS: usize = 0x1C;
/// Root table address register (64-bit).
pub const RTADDR: usize = 0x20;
/// Context command register (64-bit).
pub const CCMD: usize = 0x28;
/// Fault status register (32-bit only on QEMU).
pub const FSTS: usize = 0x34;
/// Fault event control register (32-bit only on QEMU).
pub const FECTL: usize = 0x38;
/// Fault event data register.
pub const FEDATA: usize = 0x3C;
/// Fault event address register.
pub const FEADDR: usize = 0x40;
/// Fault event upper address register.
pub const FEUADDR: usize = 0x44;
/// Protected memory enable register.
pub const PMEN: usize = 0x64;
/// Invalidation queue head (64-bit, descriptor index × 16).
pub const IQH: usize = 0x80;
/// Invalidation queue tail (64-bit, descriptor index × 16).
pub const IQT: usize = 0x88;
/// Invalidation queue address (64-bit: base | QS).
pub const IQA: usize = 0x90;
/// Invalidation completion status (32-bit only on QEMU).
pub const ICS: usize = 0x9C;
/// Invalidation event control (32-bit only on QEMU).
pub const IECTL: usize = 0xA0;
/// Interrupt remapping table address.
pub const IRTA: usize = 0xB8;
/// IRTA: table base, bits 63:12.
pub const IRTA_BASE_MASK: u64 = !0xfff;
/// IRTA: size S (2^(S+1) entries), bits 3:0; EIME (bit 11) stays clear
/// (xAPIC).
pub const IRTA_S_MASK: u64 = 0xf;

/// FSTS: primary fault overflow (write 1 to clear).
pub const FSTS_PFO: u32 = 1 << 0;
/// FSTS: primary pending fault (some fault record has F set).
pub const FSTS_PPF: u32 = 1 << 1;
/// FSTS: invalidation queue error (write 1 to clear).
pub const FSTS_IQE: u32 = 1 << 4;
/// FSTS: fault record index, bits 15:8.
pub const FSTS_FRI_SHIFT: u32 = 8;
/// Mask of the FRI field after shifting.
pub const FSTS_FRI_MASK: u32 = 0xff;

/// FECTL: interrupt mask.
pub const FECTL_IM: u32 = 1 << 31;
/// FECTL: interrupt pending.
pub const FECTL_IP: u32 = 1 << 30;

/// ICS: invalidation wait descriptor complete.
pub const ICS_IWC: u32 = 1 << 0;

/// IQA: queue size field (2^(QS+8) descriptors), bits 2:0.
pub const IQA_QS_MASK: u64 = 0x7;
/// IQA: queue base, bits 63:12.
pub const IQA_BASE_MASK: u64 = !0xfff;
/// IQA: descriptor width (bit 11, 256-bit descriptors) and reserved bits
/// 10:3; the driver leaves them all zero.
pub const IQA_DW_AND_RESERVED: u64 = 0xff8;
/// RTADDR: root table address, bits 63:12.
pub const RTADDR_BASE_MASK: u64 = !0xfff;
/// RTADDR: translation table mode, bits 11:10 (0: legacy root table).
pub const RTADDR_TTM_MASK: u64 = 0b11 << 10;
/// IQH/IQT hold the descriptor index shifted by this.
pub const IQ_INDEX_SHIFT: u32 = 4;

/// Size of one fault recording register.
pub const FRCD_SIZE: usize = 16;
/// Offset, inside a fault recording register, of the dword holding F (bit 31).
pub const FRCD_F_DWORD: usize = 12;
/// The F bit in that dword.
pub const FRCD_F_IN_DWORD: u32 = 1 << 31;

/// Offsets that must be accessed 32 bits wide (QEMU logs and ignores
/// anything else).
pub const fn is_32bit_only(offset: usize) -> bool {
    matches!(
        offset,
        VER | GCMD | GSTS | FSTS | FECTL | FEDATA | FEADDR | FEUADDR | PMEN | ICS | IECTL
    )
}

/// Size of a page, a table and the unit of every table address.
pub const PAGE_SIZE: u64 = 4096;
/// Mask of the page-offset bits.
pub const PAGE_MASK: u64 = PAGE_SIZE - 1;
/// Entries in a second-level page table.
pub const PT_ENTRIES: usize = 512;
/// Entries in the root table (one per bus) and in a context table (one per
/// devfn).
pub const ROOT_ENTRIES: usize = 256;
/// Root and context entries are 16 bytes.
pub const ENTRY128_SIZE: u64 = 16;
