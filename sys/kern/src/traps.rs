//! CPU exceptions and interrupts.
//!
//! An exception in a task faults that task with the cause in words; the
//! kernel and every other task go on. Interrupts advance the clock (timer)
//! or become notifications (devices). An exception in the kernel itself is a
//! kernel bug: it is printed and the machine stops.
//!
//! Devices are hostile too. Without interrupt remapping any device can write
//! an MSI naming any vector or asking for an NMI. The task priority keeps
//! vectors 0..=31 from being delivered at all (`lapic`), and should one
//! arrive anyway it is told from an exception by the APIC's in-service bit:
//! it is acknowledged, counted and ignored, and whoever it interrupted goes
//! on. An NMI (no legitimate source on this machine) is counted and
//! ignored; it may interrupt the kernel anywhere, even mid-log, so it only
//! counts, and the timer logs the count.

use core::sync::atomic::{AtomicU32, Ordering};

use abi::FaultInfo;

use crate::arch::idt::{SPURIOUS_VECTOR, TIMER_VECTOR};
use crate::arch::{cpu, lapic};
use crate::kernel::{k, schedule};
use crate::task::SavedRegs;

const DIVIDE_ERROR: u64 = 0;
const NMI: u64 = 2;
const INVALID_OPCODE: u64 = 6;
const GENERAL_PROTECTION: u64 = 13;
const PAGE_FAULT: u64 = 14;
const FIRST_INTERRUPT: u64 = 32;
const PF_PRESENT: u64 = 1;
const PF_WRITE: u64 = 1 << 1;
const PF_FETCH: u64 = 1 << 4;

/// NMIs taken since boot (counted in NMI context, logged by the timer).
static NMIS: AtomicU32 = AtomicU32::new(0);
/// How many of them the log has reported.
static NMIS_LOGGED: AtomicU32 = AtomicU32::new(0);
/// Device interrupts that arrived on an exception vector since boot.
static STRAY: AtomicU32 = AtomicU32::new(0);

/// A trap taken in ring 3 into the current task's save area (every
/// exception and interrupt from a task but those on IST stacks).
#[no_mangle]
extern "C" fn trap_from_user(frame: *mut SavedRegs) {
    let kk = k();
    let me = kk.current;
    // SAFETY: the entry code passes the current task's save area.
    let r = unsafe { (*frame).trap() };
    if r.vector >= FIRST_INTERRUPT {
        interrupt(r.vector);
    } else if device_interrupt_on_exception_vector(r.vector) {
        // Not the task's doing: it goes on where it was.
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

/// Every other trap: an interrupt while the kernel idles, or anything on
/// an IST stack (NMI, #DF, #MC) from ring 3 or ring 0. It returns to what
/// it interrupted, or stops the machine for a genuine kernel exception.
#[no_mangle]
extern "C" fn trap_in_place(frame: *mut SavedRegs) {
    // SAFETY: the entry code passes the frame it pushed on this stack.
    let f = unsafe { (*frame).trap() };
    if f.vector == NMI {
        // Nothing else here: an NMI may interrupt the kernel anywhere.
        NMIS.fetch_add(1, Ordering::Relaxed);
        return;
    }
    if f.vector >= FIRST_INTERRUPT {
        interrupt(f.vector);
        return;
    }
    if device_interrupt_on_exception_vector(f.vector) {
        return;
    }
    let detail = if f.vector == PAGE_FAULT {
        cpu::read_cr2()
    } else {
        f.error
    };
    crate::fatal(format_args!(
        "exception {} in ring {} at {:#x} (detail {:#x})",
        f.vector, f.ring, f.rip, detail
    ));
}

/// Whether a trap on exception vector `vector` is really a device's
/// interrupt (the APIC is servicing it); if so it is acknowledged, counted
/// and (now and then) logged. Only called where interrupts were enabled
/// or the vector has no exception of its own to lose, so logging is safe.
fn device_interrupt_on_exception_vector(vector: u64) -> bool {
    let Ok(v) = u8::try_from(vector) else {
        return false;
    };
    if !lapic::in_service(v) {
        return false;
    }
    lapic::eoi();
    let n = STRAY.fetch_add(1, Ordering::Relaxed).saturating_add(1);
    if n.is_power_of_two() {
        defmt::warn!(
            "a device interrupt arrived on exception vector {=u8}: ignored ({=u32} so far); interrupt remapping would have blocked it",
            v,
            n
        );
    }
    true
}

/// Logs NMIs counted since the last report (the first and then at powers
/// of two), from the timer's ordinary interrupt context.
fn report_nmis() {
    let seen = NMIS.load(Ordering::Relaxed);
    let logged = NMIS_LOGGED.load(Ordering::Relaxed);
    if seen != logged && (logged == 0 || seen >= logged.saturating_mul(2)) {
        NMIS_LOGGED.store(seen, Ordering::Relaxed);
        defmt::warn!(
            "{=u32} NMI(s) since boot ignored (no source on this machine may send one; a device's MSI can)",
            seen
        );
    }
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
        report_nmis();
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
