//! Everything x86_64-specific: boot, descriptor tables, entry code, paging,
//! the local APIC and the UARTs, and the saved registers (the only place
//! register names appear).

pub mod boot;
pub mod cpu;
pub mod entry;
pub mod gdt;
pub mod idt;
pub mod ioapic;
pub mod lapic;
pub mod paging;
pub mod regs;
pub mod serial;
pub mod startinfo;

/// Ends the machine through QEMU's `isa-debug-exit` (exit status
/// `(code << 1) | 1`); halts forever if that device is absent.
pub fn exit(code: u8) -> ! {
    cpu::outb(abi::DEBUG_EXIT_PORT, code);
    loop {
        cpu::idle_until_interrupt();
    }
}
