//! PVH entry: from 32-bit protected mode with paging off to 64-bit Rust.
//!
//! QEMU's `-kernel` finds the `Xen` ELF note of type 18
//! (XEN_ELFNOTE_PHYS32_ENTRY) and enters `_start32` with `ebx` pointing at
//! `hvm_start_info`. We zero .bss, build an identity map of the low 4 GiB
//! with 2 MiB pages (the top GiB, where MMIO lives, uncached), turn on long
//! mode with NX and `syscall`, enable SSE state (the host target's `core`
//! uses SSE), and call `kmain(start_info)` on the kernel stack.
//!
//! The identity map is supervisor-only and is shared, as PML4 slot 0, by
//! every task's address space: tasks live above 512 GiB.

use core::arch::global_asm;

/// Selector of the kernel code segment.
pub const KERNEL_CS: u16 = 0x08;
/// Selector of the user data segment, RPL 3.
pub const USER_DS: u16 = 0x18 | 3;
/// Selector of the user code segment, RPL 3.
pub const USER_CS: u16 = 0x20 | 3;
/// Selector of the TSS.
pub const TSS_SEL: u16 = 0x28;

global_asm!(
    r#"
    .section .note.Xen, "a"
    .balign 4
    .long 4
    .long 8
    .long 18
    .asciz "Xen"
    .balign 4
    .quad _start32

    .section .data.gdt, "aw"
    .balign 16
    .global GDT
GDT:
    .quad 0
    .quad 0x00AF9A000000FFFF
    .quad 0x00CF92000000FFFF
    .quad 0x00CFF2000000FFFF
    .quad 0x00AFFA000000FFFF
    .quad 0
    .quad 0
GDT_END:
    .balign 8
    .global GDT_PTR
GDT_PTR:
    .word GDT_END - GDT - 1
    .quad GDT

    .section .bss.boot_tables, "aw", @nobits
    .balign 4096
    .global BOOT_PML4
BOOT_PML4:
    .skip 4096
    .global BOOT_PDPT
BOOT_PDPT:
    .skip 4096
BOOT_PD:
    .skip 4096 * 4

    .section .text.boot32, "ax"
    .code32
    .global _start32
_start32:
    cli
    movl %ebx, %ebp
    movl $__bss_start, %edi
    movl $__bss_end, %ecx
    subl %edi, %ecx
    shrl $2, %ecx
    xorl %eax, %eax
    rep stosl

    movl $BOOT_PD, %edi
    xorl %ecx, %ecx
1:  movl %ecx, %eax
    shll $21, %eax
    orl $0x83, %eax
    cmpl $1536, %ecx
    jb 2f
    orl $0x18, %eax
2:  movl %eax, (%edi,%ecx,8)
    movl $0, 4(%edi,%ecx,8)
    incl %ecx
    cmpl $2048, %ecx
    jb 1b

    movl $BOOT_PDPT, %edi
    movl $BOOT_PD, %eax
    orl $3, %eax
    movl %eax, (%edi)
    addl $4096, %eax
    movl %eax, 8(%edi)
    addl $4096, %eax
    movl %eax, 16(%edi)
    addl $4096, %eax
    movl %eax, 24(%edi)
    movl $BOOT_PDPT, %eax
    orl $3, %eax
    movl %eax, BOOT_PML4

    movl %cr4, %eax
    orl $((1 << 5) | (1 << 9) | (1 << 10)), %eax
    movl %eax, %cr4
    movl $BOOT_PML4, %eax
    movl %eax, %cr3
    movl $0xC0000080, %ecx
    rdmsr
    orl $((1 << 8) | (1 << 11) | 1), %eax
    wrmsr
    movl %cr0, %eax
    orl $0x80010003, %eax
    andl $0xFFFFFFFB, %eax
    movl %eax, %cr0
    lgdt GDT_PTR
    ljmp $0x08, $_start64

    .code64
_start64:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    xorw %ax, %ax
    movw %ax, %fs
    movw %ax, %gs
    movabsq $KERNEL_STACK_TOP, %rsp
    movl %ebp, %edi
    call kmain
3:  hlt
    jmp 3b
"#,
    options(att_syntax)
);
