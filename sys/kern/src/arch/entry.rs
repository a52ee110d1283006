//! Every way into the kernel from a task, and the one way back.
//!
//! Traps from ring 3 switch to `TSS.RSP0`, which always points at the *end*
//! of the current task's [`SavedRegs`](crate::task::SavedRegs): the CPU
//! pushes its frame straight into the save area and the stub pushes the
//! rest, so a task's state is saved with no copy. `syscall` builds the same
//! frame by hand. Both then move to the kernel stack and call Rust; the way
//! out pops the (possibly different) current task's save area and `iretq`s.
//! Traps taken in ring 0 (device interrupts while the kernel idles in `hlt`)
//! stay on the kernel stack.
//!
//! The task's FPU/SSE state is saved on every entry from ring 3 and restored
//! on the way out, before any kernel code runs: the kernel is built for the
//! host target, whose `core` uses SSE registers for ordinary copies.

use core::arch::global_asm;

global_asm!(include_str!(concat!(env!("OUT_DIR"), "/isr_stubs.s")));

global_asm!(
    r#"
    .section .text.entry, "ax"
    .global isr_common
isr_common:
    push rax
    push rbx
    push rcx
    push rdx
    push rsi
    push rdi
    push rbp
    push r8
    push r9
    push r10
    push r11
    push r12
    push r13
    push r14
    push r15
    mov rdi, rsp
    test qword ptr [rsp + 18 * 8], 3
    jz 1f
    movabs rsp, offset KERNEL_STACK_TOP
    mov rax, [rip + CURRENT_FPU]
    fxsave64 [rax]
    call trap_from_user
    jmp return_to_user
1:
    call trap_from_kernel
    pop r15
    pop r14
    pop r13
    pop r12
    pop r11
    pop r10
    pop r9
    pop r8
    pop rbp
    pop rdi
    pop rsi
    pop rdx
    pop rcx
    pop rbx
    pop rax
    add rsp, 16
    iretq

    .global syscall_entry
syscall_entry:
    mov [rip + USER_RSP_SCRATCH], rsp
    mov rsp, [rip + CURRENT_REGS]
    add rsp, 22 * 8
    push 0x1b
    push qword ptr [rip + USER_RSP_SCRATCH]
    push r11
    push 0x23
    push rcx
    push 0
    push 0x100
    push rax
    push rbx
    push rcx
    push rdx
    push rsi
    push rdi
    push rbp
    push r8
    push r9
    push r10
    push r11
    push r12
    push r13
    push r14
    push r15
    movabs rsp, offset KERNEL_STACK_TOP
    mov rax, [rip + CURRENT_FPU]
    fxsave64 [rax]
    call syscall_from_user

    .global return_to_user
return_to_user:
    mov rax, [rip + CURRENT_FPU]
    fxrstor64 [rax]
    mov rsp, [rip + CURRENT_REGS]
    pop r15
    pop r14
    pop r13
    pop r12
    pop r11
    pop r10
    pop r9
    pop r8
    pop rbp
    pop rdi
    pop rsi
    pop rdx
    pop rcx
    pop rbx
    pop rax
    add rsp, 16
    iretq
"#
);

/// The kernel's own stack: everything in ring 0 runs on it.
pub const KERNEL_STACK_SIZE: usize = 64 * 1024;

#[repr(C, align(16))]
pub struct KernelStack(pub [u8; KERNEL_STACK_SIZE]);

/// The kernel stack's memory; `KERNEL_STACK_TOP` (in `layout.rs`) is its end.
#[no_mangle]
pub static mut KERNEL_STACK: KernelStack = KernelStack([0; KERNEL_STACK_SIZE]);

/// Where `syscall_entry` parks the user `rsp` for one instruction.
#[no_mangle]
pub static mut USER_RSP_SCRATCH: u64 = 0;

/// The current task's save area; the entry code reads it.
#[no_mangle]
pub static mut CURRENT_REGS: *mut crate::task::SavedRegs = core::ptr::null_mut();

/// The current task's `fxsave` area; the entry code reads it.
#[no_mangle]
pub static mut CURRENT_FPU: *mut crate::task::FpuState = core::ptr::null_mut();
