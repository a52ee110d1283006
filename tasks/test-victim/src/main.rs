//! Kernel test image: the task that misbehaves on command, so the runner can
//! check that each kind of fault is caught, named, and survived by everyone
//! else; it also holds the memory whose fate across a restart is tested.
#![no_std]
#![no_main]

use abi::TaskId;
use test_api::*;
use userlib::*;

task_config!();

/// A `.data` variable: reset to its initial value by a restart.
static mut DATA: u32 = VICTIM_DATA_INITIAL;
/// A `ret` instruction in writable, non-executable memory.
static mut NOT_CODE: [u8; 1] = [0xC3];
/// An address in the kernel's (supervisor-only) identity map.
const KERNEL_ADDRESS: u64 = 0x10_0000;

#[export_name = "main"]
fn main() -> ! {
    let mut buf = [0u8; 16];
    loop {
        let Ok(msg) = sys_recv(&mut buf, 0, TaskId::ANY) else {
            continue;
        };
        let arg = u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]);
        match msg.operation {
            VICTIM_PING => sys_reply(msg.sender, 0, b"ok"),
            VICTIM_WRITE_KERNEL => write_to(KERNEL_ADDRESS),
            VICTIM_WRITE_OTHER_TASK => {
                let va = config::regions::VICTIM_PERSIST.vaddr;
                // Another task's window: same offset, one window over.
                write_to(va + 0x1000_0000);
            }
            VICTIM_EXECUTE_DATA => {
                // SAFETY: deliberately jumps into non-executable data; the
                // kernel must fault this task with an instruction-fetch
                // page fault.
                let f: extern "C" fn() = unsafe { core::mem::transmute(&raw const NOT_CODE) };
                f();
            }
            VICTIM_DIVIDE_BY_ZERO => {
                // SAFETY: deliberately raises #DE.
                unsafe {
                    core::arch::asm!("xor edx, edx", "xor ecx, ecx", "div ecx", out("eax") _, out("edx") _, out("ecx") _)
                }
            }
            // SAFETY: deliberately raises #UD.
            VICTIM_UD2 => unsafe { core::arch::asm!("ud2") },
            VICTIM_BAD_SYSCALL_POINTER => {
                // SAFETY: the slice is never read by this task; the kernel
                // must refuse the address and fault us.
                let bad = unsafe { core::slice::from_raw_parts(KERNEL_ADDRESS as *const u8, 16) };
                sys_log(bad);
            }
            VICTIM_STORE => {
                // SAFETY: the regions are this task's, mapped writable.
                unsafe {
                    (config::regions::VICTIM_PERSIST.vaddr as *mut u32).write_volatile(arg);
                    (config::regions::VICTIM_RAM.vaddr as *mut u32).write_volatile(arg);
                    DATA = arg;
                }
                sys_reply(msg.sender, 0, &[]);
            }
            VICTIM_LOAD => {
                let mut out = [0u8; 12];
                // SAFETY: as for VICTIM_STORE.
                let (p, r, d) = unsafe {
                    (
                        (config::regions::VICTIM_PERSIST.vaddr as *const u32).read_volatile(),
                        (config::regions::VICTIM_RAM.vaddr as *const u32).read_volatile(),
                        DATA,
                    )
                };
                out[..4].copy_from_slice(&p.to_le_bytes());
                out[4..8].copy_from_slice(&r.to_le_bytes());
                out[8..].copy_from_slice(&d.to_le_bytes());
                sys_reply(msg.sender, 0, &out);
            }
            VICTIM_DIE_SOON => {
                sys_reply(msg.sender, 0, &[]);
                sys_set_timer(
                    Some(sys_get_timer() + arg as u64),
                    config::notifications::TIMER,
                );
                sys_recv_notification(config::notifications::TIMER);
                // SAFETY: deliberately raises #UD.
                unsafe { core::arch::asm!("ud2") }
            }
            VICTIM_FPU_HOLD => {
                let pattern = FPU_PATTERN;
                // SAFETY: writes only xmm5, which this asm declares clobbered.
                unsafe { core::arch::asm!("movq xmm5, {}", in(reg) pattern, out("xmm5") _) };
                sys_set_timer(Some(sys_get_timer() + 10), config::notifications::TIMER);
                sys_recv_notification(config::notifications::TIMER);
                let now: u64;
                // SAFETY: reads xmm5 back; nothing between touched it in
                // this task (the syscall wrappers use no SSE registers).
                unsafe { core::arch::asm!("movq {}, xmm5", out(reg) now) };
                sys_reply(msg.sender, 0, &[(now == pattern) as u8]);
            }
            VICTIM_ACPI_WINDOW => {
                let (va, size) = (
                    config::regions::ACPI_TABLES.vaddr,
                    config::regions::ACPI_TABLES.size,
                );
                // SAFETY: this task's own read-only region, mapped for its
                // whole life.
                let region = unsafe { core::slice::from_raw_parts(va as *const u8, size as usize) };
                let mut out = [0u8; 20];
                if let Some(h) = abi::acpi_window::WindowHeader::decode(region) {
                    out[..8].copy_from_slice(&h.base.to_le_bytes());
                    out[8..16].copy_from_slice(&h.len.to_le_bytes());
                    out[16..].copy_from_slice(&(h.map_len as u32).to_le_bytes());
                }
                sys_reply(msg.sender, 0, &out);
            }
            VICTIM_READ_REGISTERS => {
                let mut out = [0u8; 8];
                if let Some((va, _)) = sys_register_window(0) {
                    out[..4].copy_from_slice(&1u32.to_le_bytes());
                    // SAFETY: the kernel just said this task holds device
                    // 0's registers at `va` (uncached, at least one page).
                    let v = unsafe { (va as *const u32).read_volatile() };
                    out[4..].copy_from_slice(&v.to_le_bytes());
                }
                sys_reply(msg.sender, 0, &out);
            }
            VICTIM_READ_STALE_REGISTERS => {
                let v = read_stale_registers();
                sys_reply(msg.sender, 0, &v.to_le_bytes());
            }
            VICTIM_ATTACK => {
                let (rc, detail) = attack(buf[0]);
                let mut out = [0u8; 8];
                out[..4].copy_from_slice(&rc.to_le_bytes());
                out[4..].copy_from_slice(&detail.to_le_bytes());
                sys_reply(msg.sender, 0, &out);
            }
            _ => sys_reply_fault(msg.sender, abi::ReplyFaultReason::UndefinedOperation),
        }
    }
}

/// One of the `ATTACK_*` operations on a task this one has no right to:
/// `(response code, detail)`.
fn attack(kind: u8) -> (u32, u32) {
    use task_supervisor::supervisor::{FaultTaskArgs, Op, ShutdownArgs};
    let id = |index: u16| TaskId::new(index, abi::Generation::new(0));
    // The messages the generated client would send, sent raw: the victim
    // holds a slot for the supervisor but is not an operator.
    let to_supervisor = |op: Op, msg: &[u8]| {
        let supervisor = id(config::tasks::SUPERVISOR);
        (sys_send(supervisor, op as u32, msg, &mut [0; 16], &[]).0, 0)
    };
    let mut buf = [0u8; 8];
    match kind {
        ATTACK_SHUTDOWN => {
            let code = ShutdownArgs {
                code: abi::DEBUG_EXIT_FAILURE,
            };
            match postcard::to_slice(&code, &mut buf) {
                Ok(msg) => to_supervisor(Op::Shutdown, msg),
                Err(_) => (u32::MAX, 0),
            }
        }
        ATTACK_FAULT_SERVER => {
            let task = FaultTaskArgs {
                task: idl_types::TaskIndex(config::tasks::SERVER),
            };
            match postcard::to_slice(&task, &mut buf) {
                Ok(msg) => to_supervisor(Op::FaultTask, msg),
                Err(_) => (u32::MAX, 0),
            }
        }
        ATTACK_CALL_SERVER => {
            let mut reply = [0u8; 4];
            let server = id(config::tasks::SERVER);
            let server = sys_refresh_task_id(server).unwrap_or(server);
            let (rc, len) = sys_send(server, SERVER_ECHO, b"evil", &mut reply, &[]);
            (rc, len as u32)
        }
        ATTACK_POST_RUNNER => {
            let runner = id(config::tasks::RUNNER);
            let runner = sys_refresh_task_id(runner).unwrap_or(runner);
            match sys_post(runner, 1) {
                Ok(()) => (abi::rc::OK, 0),
                Err(code) => (code, 0),
            }
        }
        ATTACK_GRANT_REGISTERS => {
            let body = [
                0,
                0,
                config::TASK_INDEX as u8,
                (config::TASK_INDEX >> 8) as u8,
            ];
            (sys_kipc(abi::KipcOp::GrantRegisters, &body, &mut []).0, 0)
        }
        ATTACK_REVOKE_REGISTERS => (
            sys_kipc(abi::KipcOp::RevokeRegisters, &[0, 0], &mut []).0,
            0,
        ),
        ATTACK_REFRESH_SERVER => match sys_refresh_task_id(id(config::tasks::SERVER)) {
            Ok(server) => (abi::rc::OK, server.0 as u32),
            Err(code) => (code, 0),
        },
        _ => (u32::MAX, 0),
    }
}

/// Reads device 0's first register word at its slot in this task's device
/// window, without asking the kernel whether the task holds it.
fn read_stale_registers() -> u32 {
    let offset = config::system::DEVICE_REGISTERS[0].map_or(0, |r| r.offset);
    let va = config::DEVICE_WINDOW + offset;
    // SAFETY: deliberately reads where this task may no longer hold a
    // mapping; the kernel must fault it with a page fault on read.
    unsafe { (va as *const u32).read_volatile() }
}

/// Not inlined: a fault here shows `main` as its caller in the backtrace
/// (`a_task_fault_shows_its_callers`).
#[inline(never)]
fn write_to(address: u64) {
    // SAFETY: deliberately writes where this task may not; the kernel must
    // fault it with a page fault on write.
    unsafe { (address as *mut u32).write_volatile(0xDEAD) }
}
