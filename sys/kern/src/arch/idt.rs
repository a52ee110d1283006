//! The interrupt descriptor table: every vector goes to its generated stub.
//! All gates are interrupt gates of privilege 0 (a task's `int N` is a #GP,
//! hence a fault), and NMI, #DF and #MC run on their own IST stacks.

use super::boot::KERNEL_CS;
use super::gdt::{IST_DOUBLE_FAULT, IST_MACHINE_CHECK, IST_NMI};

/// Vector of the LAPIC timer.
pub const TIMER_VECTOR: u8 = 32;
/// Vector of the LAPIC's spurious interrupts.
pub const SPURIOUS_VECTOR: u8 = 0xFF;
/// Non-maskable interrupt.
pub const NMI: u8 = 2;
/// Double fault.
pub const DOUBLE_FAULT: u8 = 8;
/// Machine check.
pub const MACHINE_CHECK: u8 = 18;

const GATE_INTERRUPT_PRESENT: u64 = 0x8E;

#[repr(C, align(16))]
struct Idt([u64; 512]);
static mut IDT: Idt = Idt([0; 512]);

extern "C" {
    static ISR_TABLE: [u64; 256];
}

/// Fills and loads the IDT.
pub fn init() {
    // SAFETY: single CPU at boot; ISR_TABLE is generated rodata with 256
    // entries; IDT is a static that lives forever.
    unsafe {
        let idt = &raw mut IDT;
        let table = &raw const ISR_TABLE;
        for (v, &handler) in (*table).iter().enumerate() {
            let ist = match v as u8 {
                NMI => IST_NMI,
                DOUBLE_FAULT => IST_DOUBLE_FAULT,
                MACHINE_CHECK => IST_MACHINE_CHECK,
                _ => 0,
            } as u64;
            let low = (handler & 0xFFFF)
                | ((KERNEL_CS as u64) << 16)
                | (ist << 32)
                | (GATE_INTERRUPT_PRESENT << 40)
                | (((handler >> 16) & 0xFFFF) << 48);
            (*idt).0[2 * v] = low;
            (*idt).0[2 * v + 1] = handler >> 32;
        }
        #[repr(C, packed)]
        struct Pointer {
            limit: u16,
            base: u64,
        }
        let ptr = Pointer {
            limit: (256 * 16 - 1) as u16,
            base: idt as u64,
        };
        core::arch::asm!("lidt [{}]", in(reg) &ptr, options(nostack));
    }
}
