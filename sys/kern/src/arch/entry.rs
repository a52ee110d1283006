//! Every way into the kernel from a task, and the one way back.
//!
//! Traps from ring 3 switch to `TSS.RSP0`, which always points at the *end*
//! of the current task's [`SavedRegs`](crate::task::SavedRegs): the CPU
//! pushes its frame straight into the save area and the stub pushes the
//! rest, so a task's state is saved with no copy. `syscall` stores into the
//! same area with `mov`s, only what a syscall can change: not `cs`/`ss`
//! (always the user selectors, set when the task starts), not the vector and
//! error code (read only for traps), not `rcx`/`r11` as general registers
//! (`syscall` overwrote them with `rip`/`rflags`, and the ABI says they are
//! clobbered). Both then move to the kernel stack and call Rust (the two
//! syscalls of an IPC round trip straight to their own fast-path functions,
//! picked by `rax`, so no other syscall pays for their frame); the way out
//! pops the (possibly different) current task's save area and `iretq`s.
//! Every other trap is handled *in place* and returns to what it
//! interrupted: a device interrupt while the kernel idles in `hlt` (on the
//! kernel stack), and anything arriving on an IST stack (NMI, #DF, #MC),
//! from ring 3 or ring 0 alike, since a device can raise an NMI or a vector
//! of its choice at any moment. In-place traps keep the FPU state they
//! interrupted on their own stack. The save area is recognised by address
//! (`CURRENT_REGS`), not by the privilege level the frame came from.
//!
//! The task's FPU/SSE state is saved on every entry from ring 3 and restored
//! on the way out, before any kernel code runs: the kernel is built for the
//! host target, whose `core` uses SSE registers for ordinary copies. The
//! `fxsave` area follows the save area in [`Task`](crate::task::Task)
//! (`FPU_OFFSET`), so both are reached from [`CURRENT_REGS`].

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
    cmp rsp, [rip + CURRENT_REGS]
    jne 1f
    fxsave64 [rsp + {fpu}]
    movabs rsp, offset KERNEL_STACK_TOP
    call trap_from_user
    jmp return_to_user
1:
    sub rsp, 512
    fxsave64 [rsp]
    call trap_in_place
    fxrstor64 [rsp]
    add rsp, 512
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
    mov [rsp + 14 * 8], rax
    mov [rsp + 13 * 8], rbx
    mov [rsp + 11 * 8], rdx
    mov [rsp + 10 * 8], rsi
    mov [rsp + 9 * 8], rdi
    mov [rsp + 8 * 8], rbp
    mov [rsp + 7 * 8], r8
    mov [rsp + 6 * 8], r9
    mov [rsp + 5 * 8], r10
    mov [rsp + 3 * 8], r12
    mov [rsp + 2 * 8], r13
    mov [rsp + 1 * 8], r14
    mov [rsp], r15
    mov [rsp + 17 * 8], rcx
    mov [rsp + 19 * 8], r11
    mov rcx, [rip + USER_RSP_SCRATCH]
    mov [rsp + 20 * 8], rcx
    fxsave64 [rsp + {fpu}]
    movabs rsp, offset KERNEL_STACK_TOP
    cmp rax, {send}
    je 2f
    cmp rax, {reply_recv}
    je 3f
    mov rdi, rax
    call syscall_from_user
    jmp return_to_user
2:
    call syscall_send
    jmp return_to_user
3:
    call syscall_reply_recv

    .global return_to_user
return_to_user:
    mov rsp, [rip + CURRENT_REGS]
    fxrstor64 [rsp + {fpu}]
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
"#,
    fpu = const crate::task::FPU_OFFSET,
    send = const abi::Sysnum::Send as u64,
    reply_recv = const abi::Sysnum::ReplyRecv as u64,
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

/// The current task's save area (and, `FPU_OFFSET` bytes on, its `fxsave`
/// area); the entry code reads it.
#[no_mangle]
pub static mut CURRENT_REGS: *mut crate::task::SavedRegs = core::ptr::null_mut();
