//! Raw-IPC operation numbers of the kernel test image. The kernel scenarios
//! test the kernel's own IPC, so these tasks speak it directly, below the
//! IDL layer.
#![no_std]

/// Test server: reply with the message unchanged.
pub const SERVER_ECHO: u32 = 1;
/// Test server: read lease 0, write it upper-cased into lease 1; the reply
/// is the byte count (u32 LE).
pub const SERVER_LEASE_UPPER: u32 = 2;
/// Test server: `[u32 offset, u32 len]`: borrow-read lease 0 there; the
/// reply is the kernel's response code (u32 LE).
pub const SERVER_LEASE_READ_AT: u32 = 3;
/// Test server: raise an edu interrupt and wait for it as a notification;
/// the reply is `[u8 ok]`.
pub const SERVER_IRQ_TEST: u32 = 4;

/// Test server: `[u32 data]`: make edu DMA-write `data` to the interrupt
/// address 0xFEE00000 (an MSI the device forges, as any device can when
/// interrupt remapping is off); the reply is `[u8 dma completed]`.
pub const SERVER_FORGE_MSI: u32 = 6;

/// Test server: make COM1 raise its transmitter-empty interrupt (ISA IRQ 4,
/// through the IOAPIC) and wait for it as a notification; `[u8 ok]`.
pub const SERVER_IOAPIC_TEST: u32 = 5;

/// Victim: answer.
pub const VICTIM_PING: u32 = 1;
/// Victim: write to kernel memory.
pub const VICTIM_WRITE_KERNEL: u32 = 2;
/// Victim: write to another task's memory.
pub const VICTIM_WRITE_OTHER_TASK: u32 = 3;
/// Victim: execute its own data.
pub const VICTIM_EXECUTE_DATA: u32 = 4;
/// Victim: divide by zero.
pub const VICTIM_DIVIDE_BY_ZERO: u32 = 5;
/// Victim: execute `ud2`.
pub const VICTIM_UD2: u32 = 6;
/// Victim: pass a kernel address to a syscall.
pub const VICTIM_BAD_SYSCALL_POINTER: u32 = 7;
/// Victim: `[u32 v]`: store v in its persist region, its ram region and a
/// `.data` variable.
pub const VICTIM_STORE: u32 = 8;
/// Victim: reply `[u32 persist, u32 ram, u32 data]`.
pub const VICTIM_LOAD: u32 = 9;
/// Victim: reply, then fault `[u32 ms]` later while not receiving.
pub const VICTIM_DIE_SOON: u32 = 10;

/// Victim: put a pattern in `xmm5`, sleep 10 ms (while another task uses
/// `xmm5`), reply `[u8 intact]`.
pub const VICTIM_FPU_HOLD: u32 = 11;
/// The victim's `xmm5` pattern.
pub const FPU_PATTERN: u64 = 0x1111_2222_3333_4444;
/// What a sender writes into its own `xmm5`.
pub const FPU_CLOBBER: u64 = 0xDEAD_BEEF_DEAD_BEEF;

/// Victim: `[u8 attack]`: try one of the `ATTACK_*` below on another
/// task (the victim has no right to any of them); the reply is
/// `[u32 response code, u32 detail]`.
pub const VICTIM_ATTACK: u32 = 12;
/// Ask the supervisor to stop the machine (with the failure status).
pub const ATTACK_SHUTDOWN: u8 = 1;
/// Ask the supervisor to fault the test server (fault injection).
pub const ATTACK_FAULT_SERVER: u8 = 2;
/// Call the test server's echo (not one of the victim's task slots).
pub const ATTACK_CALL_SERVER: u8 = 3;
/// Post the runner's `ping` bit (no `notify` right).
pub const ATTACK_POST_RUNNER: u8 = 4;
/// Ask the kernel for the server's current task ID; detail is the ID.
pub const ATTACK_REFRESH_SERVER: u8 = 5;

/// Victim: reply `[u64 base, u64 len, u32 memory map entries]` of the ACPI
/// window the kernel gave it (its `acpi-tables` region).
pub const VICTIM_ACPI_WINDOW: u32 = 13;

/// Initial value of the victim's `.data` variable.
pub const VICTIM_DATA_INITIAL: u32 = 0x1234_5678;
/// Grant device 0's registers to itself, as if it were the custodian
/// (kernel IPC `GrantRegisters`).
pub const ATTACK_GRANT_REGISTERS: u8 = 6;
/// Revoke device 0's registers, as if it were the custodian.
pub const ATTACK_REVOKE_REGISTERS: u8 = 7;
/// Victim: ask the kernel where it holds device 0's registers and read
/// their first word: `[u32 held (0 or 1), u32 value]`.
pub const VICTIM_READ_REGISTERS: u32 = 14;
/// Victim: read device 0's first register word where its device window
/// puts it, without asking the kernel (a driver's stale pointer): faults
/// unless it holds the registers.
pub const VICTIM_READ_STALE_REGISTERS: u32 = 15;
