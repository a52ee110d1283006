//! The interrupt descriptor table: every vector goes to its generated stub.
//! All gates are interrupt gates of privilege 0 (a task's `int N` is a #GP,
//! hence a fault), and NMI, #DF and #MC run on their own IST stacks.

use x86::bits64::segmentation::Descriptor64;
use x86::dtables::{lidt, DescriptorTablePointer};
use x86::segmentation::{
    BuildDescriptor, DescriptorBuilder, GateDescriptorBuilder, SegmentSelector,
};
use x86::Ring;

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

#[repr(C, align(16))]
struct Idt([Descriptor64; 256]);
static mut IDT: Idt = Idt([Descriptor64::NULL; 256]);

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
            };
            (*idt).0[v] = <DescriptorBuilder as GateDescriptorBuilder<u64>>::interrupt_descriptor(
                SegmentSelector::from_raw(KERNEL_CS),
                handler,
            )
            .dpl(Ring::Ring0)
            .ist(ist)
            .present()
            .finish();
        }
        lidt(&DescriptorTablePointer::new_from_slice(&(*idt).0));
    }
}
