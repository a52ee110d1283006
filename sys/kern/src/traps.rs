//! CPU exceptions and interrupts.
//!
//! An exception in a task faults that task with the cause in words; the
//! kernel and every other task go on. Interrupts advance the clock (timer)
//! or become notifications (devices). An exception in the kernel itself is a
//! kernel bug: it is printed and the machine stops.

use abi::FaultInfo;

use crate::arch::idt::{SPURIOUS_VECTOR, TIMER_VECTOR};
use crate::arch::{cpu, lapic};
use crate::kernel::{k, schedule};
use crate::task::SavedRegs;

const DIVIDE_ERROR: u64 = 0;
const INVALID_OPCODE: u64 = 6;
const GENERAL_PROTECTION: u64 = 13;
const PAGE_FAULT: u64 = 14;
const FIRST_INTERRUPT: u64 = 32;
const PF_PRESENT: u64 = 1;
const PF_WRITE: u64 = 1 << 1;
const PF_FETCH: u64 = 1 << 4;

/// A trap taken in ring 3; `frame` is the current task's save area (or an
/// IST stack for NMI/#DF/#MC, which are fatal).
#[no_mangle]
extern "C" fn trap_from_user(frame: *mut SavedRegs) {
    let kk = k();
    let me = kk.current;
    if frame != &raw mut kk.tasks[me].regs {
        // SAFETY: the entry code passes the frame it built.
        let f = unsafe { &*frame };
        crate::fatal(format_args!("exception {} on an IST stack", f.vector));
    }
    let r = kk.tasks[me].regs;
    if r.vector >= FIRST_INTERRUPT {
        interrupt(r.vector);
    } else {
        let info = match r.vector {
            DIVIDE_ERROR => FaultInfo::DivideError { rip: r.rip },
            INVALID_OPCODE => FaultInfo::InvalidOpcode { rip: r.rip },
            GENERAL_PROTECTION => FaultInfo::GeneralProtection { code: r.error },
            PAGE_FAULT => FaultInfo::PageFault {
                address: cpu::read_cr2(),
                write: r.error & PF_WRITE != 0,
                execute: r.error & PF_FETCH != 0,
                present: r.error & PF_PRESENT != 0,
            },
            v => FaultInfo::Exception {
                vector: v as u8,
                rip: r.rip,
            },
        };
        kk.fault(me, info);
    }
    schedule();
}

/// A trap taken in ring 0: an interrupt while idle, or a kernel bug.
#[no_mangle]
extern "C" fn trap_from_kernel(frame: *mut SavedRegs) {
    // SAFETY: the entry code passes the frame it pushed on this stack.
    let f = unsafe { &*frame };
    if f.vector >= FIRST_INTERRUPT {
        interrupt(f.vector);
        return;
    }
    let detail = if f.vector == PAGE_FAULT {
        cpu::read_cr2()
    } else {
        f.error
    };
    crate::fatal(format_args!(
        "kernel exception {} at {:#x} (detail {:#x})",
        f.vector, f.rip, detail
    ));
}

fn interrupt(vector: u64) {
    if vector == SPURIOUS_VECTOR as u64 {
        return;
    }
    lapic::eoi();
    let kk = k();
    if vector == TIMER_VECTOR as u64 {
        kk.now_ms += 1;
        let now = kk.now_ms;
        for i in 0..kk.tasks.len() {
            if let Some((deadline, bits)) = kk.tasks[i].timer {
                if deadline <= now {
                    kk.tasks[i].timer = None;
                    kk.post(i, bits);
                }
            }
        }
        return;
    }
    if let Some((task, bits)) = kk.irq_routes.get(vector as usize).copied().flatten() {
        let t = &mut kk.tasks[task as usize];
        let gsi = t
            .desc
            .and_then(|d| d.irqs.iter().find(|i| i.vector as u64 == vector))
            .map_or(kern::desc::NO_GSI, |i| i.gsi);
        if gsi != kern::desc::NO_GSI {
            // Masked until the task re-enables it (irq_control).
            crate::arch::ioapic::set_masked(gsi, true);
        }
        if t.irqs_enabled & bits != 0 {
            t.irqs_enabled &= !bits;
            kk.post(task as usize, bits);
        } else {
            t.irqs_pending |= bits;
        }
    }
}
