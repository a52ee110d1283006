//! A syscall with any number and any register values: what `userlib`'s
//! safe wrappers exist to prevent, and what a hostile task does.

use core::arch::asm;

/// Makes syscall `number` with `args` in `rdi, rsi, rdx, r10, r8, r9, r12,
/// r13`; the results `rax, rdi, rsi, rdx, r10, r8`.
#[allow(dead_code)]
pub fn syscall(number: u64, args: [u64; 8]) -> [u64; 6] {
    let (mut rax, mut rdi, mut rsi, mut rdx, mut r10, mut r8) =
        (number, args[0], args[1], args[2], args[3], args[4]);
    // SAFETY: the kernel preserves every register but the results and
    // rcx/r11, and writes only memory the arguments name after checking it
    // is this task's: nothing here can corrupt the task's own state
    // except through buffers it named, which are its own statics.
    unsafe {
        asm!(
            "syscall",
            in("r12") args[6],
            in("r13") args[7],
            inout("rax") rax,
            inout("rdi") rdi,
            inout("rsi") rsi,
            inout("rdx") rdx,
            inout("r10") r10,
            inout("r8") r8,
            in("r9") args[5],
            out("rcx") _,
            out("r11") _,
        );
    }
    [rax, rdi, rsi, rdx, r10, r8]
}
