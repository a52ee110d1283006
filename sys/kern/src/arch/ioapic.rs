//! The IOAPIC: legacy and PCI INTx lines (global system interrupts) routed
//! to vectors. Every routed line starts masked; the kernel masks a line when
//! its interrupt is delivered and unmasks it when the owning task re-enables
//! the notification (`irq_control`), so a level-triggered device cannot
//! storm a task that has not handled it yet.

/// Where the IOAPIC's registers are (the PC standard; QEMU's q35 too).
const BASE: u64 = 0xFEC0_0000;
const IOREGSEL: u64 = 0x00;
const IOWIN: u64 = 0x10;
const REDIRECTION_TABLE: u32 = 0x10;
const MASKED: u32 = 1 << 16;
const LEVEL_TRIGGERED: u32 = 1 << 15;
const ACTIVE_LOW: u32 = 1 << 13;
/// ISA interrupts (edge, active high) are the first 16 inputs.
const ISA_INPUTS: u8 = 16;

fn write(reg: u32, value: u32) {
    // SAFETY: the IOAPIC page is identity-mapped uncached by the boot tables;
    // the select/window pair is only used with interrupts masked.
    unsafe {
        ((BASE + IOREGSEL) as *mut u32).write_volatile(reg);
        ((BASE + IOWIN) as *mut u32).write_volatile(value);
    }
}

fn read(reg: u32) -> u32 {
    // SAFETY: as `write`.
    unsafe {
        ((BASE + IOREGSEL) as *mut u32).write_volatile(reg);
        ((BASE + IOWIN) as *const u32).read_volatile()
    }
}

/// Routes input `gsi` to `vector` on CPU 0, masked.
pub fn route(gsi: u8, vector: u8) {
    let mut low = vector as u32 | MASKED;
    if gsi >= ISA_INPUTS {
        low |= LEVEL_TRIGGERED | ACTIVE_LOW;
    }
    let reg = REDIRECTION_TABLE + 2 * gsi as u32;
    write(reg + 1, 0);
    write(reg, low);
}

/// Masks or unmasks input `gsi`.
pub fn set_masked(gsi: u8, masked: bool) {
    let reg = REDIRECTION_TABLE + 2 * gsi as u32;
    let low = read(reg);
    write(reg, if masked { low | MASKED } else { low & !MASKED });
}
