//! The local APIC: the kernel's clock (a periodic timer calibrated against
//! the PIT at boot), the end-of-interrupt register, and the task priority
//! that keeps device interrupts off the exception vectors. The legacy 8259
//! PICs are masked: device interrupts arrive as MSIs.

use super::cpu::{inb, outb, rdmsr};
use super::idt::{SPURIOUS_VECTOR, TIMER_VECTOR};

const REG_TPR: u64 = 0x80;
const REG_EOI: u64 = 0xB0;
/// The in-service register: eight 32-bit words, 16 bytes apart.
const REG_ISR: u64 = 0x100;
/// Task priority class 1: interrupts of classes 0 and 1 (vectors 0..=31,
/// the exceptions') are never delivered. No device has a legitimate reason
/// to use them; without interrupt remapping one can still send them (an
/// MSI is a memory write), and they would land on exception stubs. Xen
/// sets the same floor.
const TPR_ABOVE_EXCEPTIONS: u32 = 0x10;
const REG_SVR: u64 = 0xF0;
const REG_LVT_TIMER: u64 = 0x320;
const REG_TIMER_INITIAL: u64 = 0x380;
const REG_TIMER_CURRENT: u64 = 0x390;
const REG_TIMER_DIVIDE: u64 = 0x3E0;
const SVR_ENABLE: u32 = 1 << 8;
const LVT_MASKED: u32 = 1 << 16;
const LVT_PERIODIC: u32 = 1 << 17;
const DIVIDE_BY_16: u32 = 0x3;
const APIC_BASE_MASK: u64 = 0xFFFF_F000;

const PIT_CHANNEL2: u16 = 0x42;
const PIT_COMMAND: u16 = 0x43;
const PIT_GATE: u16 = 0x61;
const PIT_HZ: u64 = 1_193_182;
/// The calibration interval, in milliseconds.
const CALIBRATION_MS: u64 = 10;
const PIC1_DATA: u16 = 0x21;
const PIC2_DATA: u16 = 0xA1;

/// Ticks of the kernel clock per second.
pub const TICK_HZ: u64 = 1000;

static mut BASE: u64 = 0;

fn reg(offset: u64) -> *mut u32 {
    // SAFETY: BASE is set once in `init` before any other use.
    (unsafe { BASE } + offset) as *mut u32
}

fn write(offset: u64, value: u32) {
    // SAFETY: the LAPIC page is identity-mapped uncached by the boot tables.
    unsafe { reg(offset).write_volatile(value) }
}

fn read(offset: u64) -> u32 {
    // SAFETY: as for `write`.
    unsafe { reg(offset).read_volatile() }
}

/// What the PIT calibration measured: the APIC timer's counts and the
/// TSC's ticks per millisecond.
#[derive(Copy, Clone, Debug)]
pub struct Calibration {
    pub apic_per_ms: u32,
    pub tsc_per_ms: u64,
}

/// Enables the APIC, calibrates its timer (and the TSC, over the same
/// interval) and starts the 1 kHz tick.
pub fn init() -> Calibration {
    outb(PIC1_DATA, 0xFF);
    outb(PIC2_DATA, 0xFF);
    // SAFETY: single CPU at boot.
    unsafe { BASE = rdmsr(super::cpu::msr::APIC_BASE) & APIC_BASE_MASK };
    write(REG_SVR, SVR_ENABLE | SPURIOUS_VECTOR as u32);
    write(REG_TPR, TPR_ABOVE_EXCEPTIONS);
    write(REG_TIMER_DIVIDE, DIVIDE_BY_16);
    write(REG_LVT_TIMER, LVT_MASKED | TIMER_VECTOR as u32);

    let pit_count = (PIT_HZ * CALIBRATION_MS / 1000) as u16;
    outb(PIT_GATE, (inb(PIT_GATE) & 0xFD) | 1);
    outb(PIT_COMMAND, 0xB0);
    outb(PIT_CHANNEL2, pit_count as u8);
    outb(PIT_CHANNEL2, (pit_count >> 8) as u8);
    let gate = inb(PIT_GATE) & 0xFE;
    outb(PIT_GATE, gate);
    outb(PIT_GATE, gate | 1);
    write(REG_TIMER_INITIAL, u32::MAX);
    let tsc_start = super::cpu::rdtsc();
    while inb(PIT_GATE) & 0x20 == 0 {}
    let elapsed = u32::MAX - read(REG_TIMER_CURRENT);
    let tsc_elapsed = super::cpu::rdtsc().wrapping_sub(tsc_start);
    let per_ms = (elapsed as u64 / CALIBRATION_MS).max(1) as u32;

    write(REG_LVT_TIMER, LVT_PERIODIC | TIMER_VECTOR as u32);
    write(REG_TIMER_INITIAL, per_ms * (1000 / TICK_HZ) as u32);
    Calibration {
        apic_per_ms: per_ms,
        tsc_per_ms: (tsc_elapsed / CALIBRATION_MS).max(1),
    }
}

/// Acknowledges the interrupt being handled.
pub fn eoi() {
    write(REG_EOI, 0);
}

/// Whether the local APIC is servicing `vector`: true when a trap on that
/// vector is an interrupt the APIC delivered, false for an exception.
pub fn in_service(vector: u8) -> bool {
    let word = read(REG_ISR + 0x10 * (u64::from(vector) / 32));
    word & (1 << (vector % 32)) != 0
}
