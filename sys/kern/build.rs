//! Generates the interrupt entry stubs (one per vector, so each knows its
//! number and whether the CPU pushed an error code) and tracks the
//! application config that `cargo xtask build` points us at.
//!
//! A device can raise any vector (an MSI is a memory write; without
//! interrupt remapping nothing stops it), so a stub cannot trust its vector
//! to say whether an error code was pushed. It asks the stack instead: in
//! 64-bit mode the CPU aligns the stack to 16 bytes before pushing its
//! frame, so after 5 words (no error code) the stack pointer ends in 8 and
//! after 6 it ends in 0. Every stub thus leaves the same layout.

use std::fmt::Write as _;
use std::path::PathBuf;

/// Vectors for which the CPU pushes an error code.
const WITH_ERROR_CODE: [u8; 10] = [8, 10, 11, 12, 13, 14, 17, 21, 29, 30];
/// Vectors that get a stub: exceptions, the timer and device interrupts.
const STUB_VECTORS: std::ops::RangeInclusive<u16> = 0..=255;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=CUSTODY_KERNEL_CONFIG");
    let mut s = String::new();
    s.push_str(".section .text.isr, \"ax\"\n");
    for v in STUB_VECTORS {
        let _ = writeln!(s, ".global isr_{v}\nisr_{v}:");
        if WITH_ERROR_CODE.contains(&(v as u8)) {
            // An exception pushed a code; an interrupt on this vector did not.
            s.push_str("    test spl, 8\n    jz 1f\n    push 0\n1:\n");
        } else {
            s.push_str("    push 0\n");
        }
        let _ = writeln!(s, "    push {v}\n    jmp isr_common");
    }
    s.push_str(".section .rodata.isr_table, \"a\"\n.balign 8\n.global ISR_TABLE\nISR_TABLE:\n");
    for v in STUB_VECTORS {
        let _ = writeln!(s, "    .quad isr_{v}");
    }
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("isr_stubs.s"), s).expect("OUT_DIR is writable");
}
