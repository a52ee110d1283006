//! The kernel's QEMU scenarios, one function each, in the order they run.

use abi::{lease, rc, FaultInfo, Lease, TaskId, MAX_MESSAGE};
use test_api::*;
use userlib::*;

use idl_types::{TaskActivity, TaskIndex};
use test_harness::ensure;

use crate::{config, sender, Outcome, Peer, Runner};

/// A named scenario.
pub type Scenario = test_harness::Scenario<Runner>;

/// Every scenario, by the name xtask reports.
pub const ALL: &[Scenario] = &[
    ("ipc_round_trip_carries_reply_payload", ipc_round_trip),
    ("ipc_256_byte_message_round_trips", ipc_max_message),
    ("ipc_message_over_limit_is_refused", ipc_over_limit),
    (
        "lease_server_reads_and_writes_client_buffer",
        lease_read_write,
    ),
    (
        "lease_outside_client_memory_is_refused",
        lease_outside_client,
    ),
    ("borrow_past_lease_end_is_refused", borrow_past_end),
    ("closed_receive_takes_only_the_named_sender", closed_receive),
    ("notification_posted_by_another_task_arrives", notification),
    ("timer_notification_arrives_at_deadline", timer),
    (
        "fault_write_to_kernel_memory_is_isolated",
        fault_write_kernel,
    ),
    ("fault_write_to_another_task_is_isolated", fault_write_other),
    ("fault_execute_data_is_isolated", fault_execute_data),
    ("fault_divide_by_zero_is_isolated", fault_divide),
    ("fault_ud2_is_isolated", fault_ud2),
    ("fault_bad_syscall_pointer_is_isolated", fault_bad_pointer),
    (
        "dead_code_reaches_client_blocked_on_dying_server",
        dead_code_in_send,
    ),
    ("device_interrupt_arrives_as_notification", device_interrupt),
    (
        "persist_region_survives_restart_ordinary_is_reset",
        persist_region,
    ),
    ("fpu_state_is_private_to_each_task", fpu_private),
    ("ioapic_interrupt_arrives_as_notification", ioapic_interrupt),
    (
        "kernel_counts_each_message_delivered_to_a_task",
        message_count,
    ),
    (
        "refresh_task_id_names_no_task_the_caller_may_not_talk_to",
        refresh_without_right,
    ),
    ("call_outside_task_slots_is_refused", call_outside_slots),
    ("post_without_a_notify_right_is_refused", post_without_right),
    (
        "fault_injection_from_a_non_operator_is_refused",
        fault_injection_from_non_operator,
    ),
    (
        "shutdown_from_a_non_operator_is_refused_and_the_system_stays_up",
        shutdown_from_non_operator,
    ),
    (
        "lease_with_an_overflowing_base_is_refused_and_the_kernel_lives",
        lease_overflowing_base,
    ),
    (
        "device_forged_msi_on_exception_vectors_and_nmi_leaves_the_kernel_running",
        forged_msi,
    ),
    (
        "acpi_root_table_near_4gib_gives_an_empty_window_and_boot_goes_on",
        acpi_root_near_4gib,
    ),
    (
        "the_kernel_reports_what_each_task_is_doing_and_its_stack_mark",
        task_states,
    ),
    (
        "registers_in_custody_start_mapped_into_their_devices_owner_only",
        registers_start_with_owner,
    ),
    (
        "a_register_grant_or_revoke_from_a_task_but_the_custodian_is_refused",
        registers_only_by_custodian,
    ),
    (
        "a_grant_while_another_task_holds_the_registers_is_refused",
        registers_one_holder,
    ),
    (
        "after_a_revoke_the_old_holders_access_faults_and_a_new_grant_works",
        registers_revoke_faults,
    ),
];

const RUNNER_PING: u32 = 1 << 0;

fn ipc_round_trip(r: &mut Runner) -> Outcome {
    let mut reply = [0u8; 16];
    let (code, len) = r.call(Peer::Server, SERVER_ECHO, b"custody", &mut reply);
    ensure(code == rc::OK, "echo returned an error code")?;
    ensure(
        len == 7 && &reply[..7] == b"custody",
        "reply payload differs",
    )
}

fn ipc_max_message(r: &mut Runner) -> Outcome {
    let mut msg = [0u8; MAX_MESSAGE];
    for (i, b) in msg.iter_mut().enumerate() {
        *b = i as u8 ^ 0x5A;
    }
    let mut reply = [0u8; MAX_MESSAGE];
    let (code, len) = r.call(Peer::Server, SERVER_ECHO, &msg, &mut reply);
    ensure(code == rc::OK && len == MAX_MESSAGE, "256-byte echo failed")?;
    ensure(reply == msg, "256-byte reply differs")
}

fn ipc_over_limit(r: &mut Runner) -> Outcome {
    let msg = [0u8; MAX_MESSAGE + 1];
    let (code, _) = r.call(Peer::Server, SERVER_ECHO, &msg, &mut []);
    ensure(code == rc::TOO_LONG, "a 257-byte message was not refused")?;
    let (code, _) = r.call(Peer::Server, SERVER_ECHO, b"x", &mut [0; 1]);
    ensure(code == rc::OK, "server stopped answering after the refusal")
}

fn lease_read_write(r: &mut Runner) -> Outcome {
    let src = *b"lease me";
    let mut dst = [0u8; 8];
    let leases = [
        Lease {
            attributes: lease::READ,
            reserved: 0,
            base: src.as_ptr() as u64,
            length: 8,
        },
        Lease {
            attributes: lease::WRITE,
            reserved: 0,
            base: dst.as_mut_ptr() as u64,
            length: 8,
        },
    ];
    let mut reply = [0u8; 4];
    let (code, _) = sys_send(r.server, SERVER_LEASE_UPPER, &[], &mut reply, &leases);
    ensure(code == rc::OK, "lease call failed")?;
    ensure(
        u32::from_le_bytes(reply) == 8,
        "server did not write 8 bytes",
    )?;
    ensure(
        &dst == b"LEASE ME",
        "client buffer not written through the lease",
    )
}

fn read_at(r: &mut Runner, base: u64, length: u64, offset: u32, len: u32) -> u32 {
    let leases = [Lease {
        attributes: lease::READ,
        reserved: 0,
        base,
        length,
    }];
    let mut msg = [0u8; 8];
    msg[..4].copy_from_slice(&offset.to_le_bytes());
    msg[4..].copy_from_slice(&len.to_le_bytes());
    let mut reply = [0u8; 4];
    sys_send(r.server, SERVER_LEASE_READ_AT, &msg, &mut reply, &leases);
    u32::from_le_bytes(reply)
}

fn lease_outside_client(r: &mut Runner) -> Outcome {
    const KERNEL_ADDRESS: u64 = 0x10_0000;
    let code = read_at(r, KERNEL_ADDRESS, 64, 0, 16);
    ensure(
        code == rc::LEASE_OUT_OF_RANGE,
        "a lease on kernel memory was honoured",
    )
}

fn borrow_past_end(r: &mut Runner) -> Outcome {
    let buf = [7u8; 32];
    let ok = read_at(r, buf.as_ptr() as u64, 32, 16, 16);
    ensure(ok == rc::OK, "an in-bounds borrow failed")?;
    let code = read_at(r, buf.as_ptr() as u64, 32, 24, 16);
    ensure(
        code == rc::LEASE_OUT_OF_RANGE,
        "a borrow past the lease end was honoured",
    )
}

fn closed_receive(_r: &mut Runner) -> Outcome {
    let (a, b) = (
        sender(config::tasks::SENDER_A),
        sender(config::tasks::SENDER_B),
    );
    let _ = sys_post(a, 1 << 0);
    let _ = sys_post(b, 1 << 0);
    let mut buf = [0u8; 16];
    let first = sys_recv(&mut buf, 0, b).map_err(|_| "closed receive failed")?;
    ensure(
        first.sender.index() == b.index(),
        "closed receive took another sender",
    )?;
    ensure(
        &buf[..first.message_len] == b"sender_b",
        "wrong message from sender_b",
    )?;
    sys_reply(first.sender, 0, &[]);
    let second = sys_recv(&mut buf, 0, TaskId::ANY).map_err(|_| "open receive failed")?;
    ensure(
        second.sender.index() == a.index(),
        "sender_a's waiting message was lost",
    )?;
    sys_reply(second.sender, 0, &[]);
    Ok(())
}

fn notification(_r: &mut Runner) -> Outcome {
    let a = sender(config::tasks::SENDER_A);
    sys_post(a, 1 << 1).map_err(|_| "post to sender_a failed")?;
    sys_set_timer(Some(sys_get_timer() + 500), config::notifications::TIMER);
    let bits = sys_recv_notification(RUNNER_PING | config::notifications::TIMER);
    sys_set_timer(None, 0);
    ensure(
        bits & RUNNER_PING != 0,
        "the posted notification never arrived",
    )
}

fn timer(_r: &mut Runner) -> Outcome {
    let deadline = sys_get_timer() + 20;
    sys_set_timer(Some(deadline), config::notifications::TIMER);
    let bits = sys_recv_notification(config::notifications::TIMER);
    ensure(
        bits == config::notifications::TIMER,
        "woke without the timer bit",
    )?;
    ensure(
        sys_get_timer() >= deadline,
        "timer fired before its deadline",
    )
}

/// Makes the victim commit a fault and checks it was recorded with `expect`,
/// that the victim was restarted with a new generation, and that the others
/// still answer.
fn fault_case(r: &mut Runner, op: u32, expect: fn(FaultInfo) -> bool) -> Outcome {
    let victim = config::tasks::VICTIM;
    let (before, _) = r.record(victim);
    let old_gen = r.victim.generation();
    let (code, _) = r.call(Peer::Victim, op, &[], &mut []);
    let new_gen = rc::dead_generation(code).ok_or("no dead code after the fault")?;
    ensure(
        new_gen == old_gen.next().get(),
        "dead code does not carry the next generation",
    )?;
    let (after, (kind, a, b)) = r.record(victim);
    ensure(
        after == before + 1,
        "the supervisor did not record exactly one fault",
    )?;
    let info = FaultInfo::decode(kind, a, b).ok_or("fault cause unreadable")?;
    ensure(expect(info), "the fault was recorded with the wrong cause")?;
    let mut reply = [0u8; 2];
    let (code, _) = r.call(Peer::Victim, VICTIM_PING, &[], &mut reply);
    ensure(
        code == rc::OK && &reply == b"ok",
        "restarted victim does not answer",
    )?;
    let (code, _) = r.call(Peer::Server, SERVER_ECHO, b"?", &mut [0; 1]);
    ensure(code == rc::OK, "another task stopped answering")
}

fn fault_write_kernel(r: &mut Runner) -> Outcome {
    fault_case(r, VICTIM_WRITE_KERNEL, |f| {
        matches!(
            f,
            FaultInfo::PageFault {
                address: 0x10_0000,
                write: true,
                present: true,
                ..
            }
        )
    })
}

fn fault_write_other(r: &mut Runner) -> Outcome {
    fault_case(r, VICTIM_WRITE_OTHER_TASK, |f| {
        matches!(
            f,
            FaultInfo::PageFault {
                write: true,
                present: false,
                ..
            }
        )
    })
}

fn fault_execute_data(r: &mut Runner) -> Outcome {
    fault_case(r, VICTIM_EXECUTE_DATA, |f| {
        matches!(
            f,
            FaultInfo::PageFault {
                execute: true,
                present: true,
                ..
            }
        )
    })
}

fn fault_divide(r: &mut Runner) -> Outcome {
    fault_case(r, VICTIM_DIVIDE_BY_ZERO, |f| {
        matches!(f, FaultInfo::DivideError { .. })
    })
}

fn fault_ud2(r: &mut Runner) -> Outcome {
    fault_case(r, VICTIM_UD2, |f| {
        matches!(f, FaultInfo::InvalidOpcode { .. })
    })
}

fn fault_bad_pointer(r: &mut Runner) -> Outcome {
    fault_case(
        r,
        VICTIM_BAD_SYSCALL_POINTER,
        |f| matches!(f, FaultInfo::SyscallUsage { sysnum } if sysnum == abi::Sysnum::Log as u64),
    )
}

fn dead_code_in_send(r: &mut Runner) -> Outcome {
    let (code, _) = r.call(Peer::Victim, VICTIM_DIE_SOON, &20u32.to_le_bytes(), &mut []);
    ensure(code == rc::OK, "victim did not accept DIE_SOON")?;
    let old = r.victim.generation();
    let (code, _) = r.call(Peer::Victim, VICTIM_PING, &[], &mut [0; 2]);
    let gen = rc::dead_generation(code).ok_or("blocked sender got no dead code")?;
    ensure(
        gen == old.next().get(),
        "dead code does not name the new generation",
    )?;
    let mut reply = [0u8; 2];
    let (code, _) = r.call(Peer::Victim, VICTIM_PING, &[], &mut reply);
    ensure(
        code == rc::OK && &reply == b"ok",
        "next call did not reach the restarted server",
    )
}

fn device_interrupt(r: &mut Runner) -> Outcome {
    let mut reply = [0u8; 1];
    let (code, _) = r.call(Peer::Server, SERVER_IRQ_TEST, &[], &mut reply);
    ensure(code == rc::OK, "irq test call failed")?;
    ensure(reply[0] == 1, "edu's MSI did not arrive as a notification")
}

fn ioapic_interrupt(r: &mut Runner) -> Outcome {
    let mut reply = [0u8; 1];
    let (code, _) = r.call(Peer::Server, SERVER_IOAPIC_TEST, &[], &mut reply);
    ensure(code == rc::OK, "ioapic test call failed")?;
    ensure(
        reply[0] == 1,
        "COM1's interrupt did not arrive through the IOAPIC",
    )
}

fn fpu_private(r: &mut Runner) -> Outcome {
    let a = sender(config::tasks::SENDER_A);
    sys_post(a, 1 << 2).map_err(|_| "post to sender_a failed")?;
    let mut reply = [0u8; 1];
    let (code, _) = r.call(Peer::Victim, VICTIM_FPU_HOLD, &[], &mut reply);
    ensure(code == rc::OK, "victim did not answer")?;
    ensure(
        reply[0] == 1,
        "another task's SSE registers leaked into the victim's",
    )
}

fn persist_region(r: &mut Runner) -> Outcome {
    const MAGIC: u32 = 0xABCD_0001;
    let (code, _) = r.call(Peer::Victim, VICTIM_STORE, &MAGIC.to_le_bytes(), &mut []);
    ensure(code == rc::OK, "store failed")?;
    let load = |r: &mut Runner| {
        let mut out = [0u8; 12];
        let (code, _) = r.call(Peer::Victim, VICTIM_LOAD, &[], &mut out);
        let w = |i: usize| u32::from_le_bytes([out[i], out[i + 1], out[i + 2], out[i + 3]]);
        (code, w(0), w(4), w(8))
    };
    let (code, p, m, d) = load(r);
    ensure(
        code == rc::OK && p == MAGIC && m == MAGIC && d == MAGIC,
        "stores did not land",
    )?;
    let (code, _) = r.call(Peer::Victim, VICTIM_UD2, &[], &mut []);
    ensure(rc::dead_generation(code).is_some(), "victim did not die")?;
    let (code, p, m, d) = load(r);
    ensure(code == rc::OK, "restarted victim does not answer")?;
    ensure(p == MAGIC, "persist region lost its contents")?;
    ensure(m == 0, "ordinary region kept its contents")?;
    ensure(d == VICTIM_DATA_INITIAL, ".data was not re-initialized")
}

/// Three echoes reach the server: its count moves by exactly three (the
/// counting itself goes to the supervisor, not to the server).
fn message_count(r: &mut Runner) -> Outcome {
    let server = config::slots::SERVER.index() as u16;
    let before = r
        .messages_delivered(server)
        .ok_or("the supervisor gave no message count")?;
    let mut reply = [0u8; 8];
    for _ in 0..3 {
        r.call(Peer::Server, SERVER_ECHO, b"count", &mut reply);
    }
    let after = r
        .messages_delivered(server)
        .ok_or("the supervisor gave no message count")?;
    ensure(
        after.wrapping_sub(before) == 3,
        "the server's count did not move by the three messages sent",
    )
}

/// The victim tries `kind` (an `ATTACK_*`): `(response code, detail)`.
fn victim_attack(r: &mut Runner, kind: u8) -> Result<(u32, u32), &'static str> {
    let mut out = [0u8; 8];
    let (code, len) = r.call_live(Peer::Victim, VICTIM_ATTACK, &[kind], &mut out);
    ensure(
        code == rc::OK && len == 8,
        "the victim did not report its attack",
    )?;
    let w = |i: usize| u32::from_le_bytes([out[i], out[i + 1], out[i + 2], out[i + 3]]);
    Ok((w(0), w(4)))
}

/// The server and the victim still answer.
fn everyone_answers(r: &mut Runner) -> Outcome {
    let (code, _) = r.call_live(Peer::Server, SERVER_ECHO, b"?", &mut [0; 1]);
    ensure(code == rc::OK, "the server stopped answering")?;
    let mut reply = [0u8; 2];
    let (code, _) = r.call_live(Peer::Victim, VICTIM_PING, &[], &mut reply);
    ensure(
        code == rc::OK && &reply == b"ok",
        "the victim stopped answering",
    )
}

fn refresh_without_right(r: &mut Runner) -> Outcome {
    let (code, id) = victim_attack(r, ATTACK_REFRESH_SERVER)?;
    ensure(
        code == rc::NO_RIGHT && id == 0,
        "the kernel handed out the ID of a task the victim may not talk to",
    )
}

fn call_outside_slots(r: &mut Runner) -> Outcome {
    let (code, _) = victim_attack(r, ATTACK_CALL_SERVER)?;
    ensure(
        code == rc::NO_RIGHT,
        "the server answered a call from a task without a slot for it",
    )?;
    everyone_answers(r)
}

fn post_without_right(r: &mut Runner) -> Outcome {
    let (code, _) = victim_attack(r, ATTACK_POST_RUNNER)?;
    sys_set_timer(Some(sys_get_timer() + 20), config::notifications::TIMER);
    let bits = sys_recv_notification(RUNNER_PING | config::notifications::TIMER);
    sys_set_timer(None, 0);
    ensure(
        bits & RUNNER_PING == 0,
        "a post without a notify right reached the runner",
    )?;
    ensure(
        code == rc::NO_RIGHT,
        "the kernel did not answer the refused post with NO_RIGHT",
    )
}

fn fault_injection_from_non_operator(r: &mut Runner) -> Outcome {
    let server = config::slots::SERVER.index() as u16;
    let (before, _) = r.record(server);
    let (code, _) = victim_attack(r, ATTACK_FAULT_SERVER)?;
    let (after, _) = r.record(server);
    ensure(
        after == before,
        "the server was faulted on a non-operator's request",
    )?;
    ensure(code != rc::OK, "the supervisor accepted the request")?;
    everyone_answers(r)
}

fn shutdown_from_non_operator(r: &mut Runner) -> Outcome {
    let (code, _) = victim_attack(r, ATTACK_SHUTDOWN)?;
    ensure(code != rc::OK, "the supervisor accepted the shutdown")?;
    everyone_answers(r)
}

fn lease_overflowing_base(r: &mut Runner) -> Outcome {
    everyone_answers(r)?;
    // base + offset wraps past the top of the address space.
    let code = read_at(r, u64::MAX - 0xF, 0x100, 0x10, 0x10);
    ensure(
        code == rc::LEASE_OUT_OF_RANGE,
        "a lease whose base + offset overflows was not refused",
    )?;
    everyone_answers(r)
}

/// MSI data: fixed delivery on vector 8 (#DF's) and 17 (#AC's, which
/// pushes an error code), and NMI delivery (bits 8..11 = 0b100).
const FORGED_MSIS: [u32; 3] = [8, 17, 0x400 | 2];

fn forged_msi(r: &mut Runner) -> Outcome {
    for data in FORGED_MSIS {
        let mut done = [0u8; 1];
        let (code, _) = r.call_live(
            Peer::Server,
            SERVER_FORGE_MSI,
            &data.to_le_bytes(),
            &mut done,
        );
        ensure(code == rc::OK, "the server did not answer the forging")?;
        ensure(
            done[0] == 1,
            "edu's DMA to the interrupt window did not run",
        )?;
    }
    everyone_answers(r)
}

/// kernel-tests.toml's `[kernel] test-acpi-root` points the RSDP's root
/// table at 0xffffffe0 (inside the BIOS flash the memory map reserves, but
/// the table's claimed length runs past 4 GiB): the kernel copies nothing,
/// says why in its log, and the boot went on to get here.
fn acpi_root_near_4gib(r: &mut Runner) -> Outcome {
    let mut out = [0u8; 20];
    let (code, len) = r.call_live(Peer::Victim, VICTIM_ACPI_WINDOW, &[], &mut out);
    ensure(
        code == rc::OK && len == 20,
        "the victim did not report its window",
    )?;
    let u64_at = |i: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&out[i..i + 8]);
        u64::from_le_bytes(b)
    };
    let entries = u32::from_le_bytes([out[16], out[17], out[18], out[19]]);
    ensure(entries > 0, "the window carries no boot memory map")?;
    ensure(
        u64_at(8) == 0,
        "the kernel copied tables the hostile root pointer led it to",
    )?;
    everyone_answers(r)
}

/// The supervisor's report carries the kernel's scheduling state: the
/// runner itself awaits the supervisor's reply while the supervisor asks,
/// the idle server is receiving, and a stack mark is within its size.
fn task_states(r: &mut Runner) -> Outcome {
    let mut sup = r.supervisor();
    let me = sup
        .task_report(TaskIndex(config::TASK_INDEX))
        .map_err(|_| "the supervisor gave no report of the runner")?;
    let supervisor = config::slots::SUPERVISOR.index() as u16;
    ensure(
        me.activity == TaskActivity::AwaitingReply(TaskIndex(supervisor)),
        "the runner, asking the supervisor, was not reported awaiting its reply",
    )?;
    ensure(
        me.stack_used > 0 && me.stack_used <= me.stack_size,
        "the runner's stack mark is not within its stack",
    )?;
    let server = config::slots::SERVER.index() as u16;
    let it = sup
        .task_report(TaskIndex(server))
        .map_err(|_| "the supervisor gave no report of the server")?;
    ensure(
        matches!(it.activity, TaskActivity::Receiving { .. }),
        "the idle server was not reported receiving",
    )
}

/// The device whose registers the kernel scenarios move (app.toml
/// `[devices.regs]`, the image's first device).
const REGS: u16 = 0;

/// The custodian's (this runner's) register requests, raw.
fn grant(device: u16, task: u16) -> u32 {
    let mut body = [0u8; 4];
    body[..2].copy_from_slice(&device.to_le_bytes());
    body[2..].copy_from_slice(&task.to_le_bytes());
    sys_kipc(abi::KipcOp::GrantRegisters, &body, &mut []).0
}

fn revoke(device: u16) -> u32 {
    sys_kipc(abi::KipcOp::RevokeRegisters, &device.to_le_bytes(), &mut []).0
}

/// Whether the victim holds the registers by the kernel's word, and the
/// first word it read through them.
fn victim_reads_registers(r: &mut Runner) -> Result<(bool, u32), &'static str> {
    let mut out = [0u8; 8];
    let (code, len) = r.call_live(Peer::Victim, VICTIM_READ_REGISTERS, &[], &mut out);
    ensure(code == rc::OK && len == 8, "the victim did not answer")?;
    let w = |i: usize| u32::from_le_bytes([out[i], out[i + 1], out[i + 2], out[i + 3]]);
    Ok((w(0) == 1, w(4)))
}

fn registers_start_with_owner(r: &mut Runner) -> Outcome {
    ensure(
        sys_register_holder(REGS) == Some(config::tasks::VICTIM),
        "the kernel does not map the device's registers into its domain's owner at boot",
    )?;
    let (held, _) = victim_reads_registers(r)?;
    ensure(held, "the owner cannot find its device's registers")?;
    ensure(
        sys_register_window(REGS).is_none(),
        "the runner (not the owner) has a window on the device's registers",
    )
}

fn registers_only_by_custodian(r: &mut Runner) -> Outcome {
    let (code, _) = victim_attack(r, ATTACK_REVOKE_REGISTERS)?;
    ensure(
        code == rc::ACCESS,
        "the kernel let a non-custodian revoke registers",
    )?;
    ensure(
        sys_register_holder(REGS) == Some(config::tasks::VICTIM),
        "a refused revoke changed who holds the registers",
    )?;
    ensure(revoke(REGS) == rc::OK, "the custodian could not revoke")?;
    let (code, _) = victim_attack(r, ATTACK_GRANT_REGISTERS)?;
    ensure(
        code == rc::ACCESS,
        "the kernel let a non-custodian grant registers",
    )?;
    ensure(
        sys_register_holder(REGS).is_none(),
        "a refused grant mapped the registers",
    )?;
    ensure(
        grant(REGS, config::tasks::VICTIM) == rc::OK,
        "the custodian could not grant",
    )?;
    everyone_answers(r)
}

fn registers_one_holder(_r: &mut Runner) -> Outcome {
    ensure(
        grant(REGS, config::tasks::SENDER_A) == rc::REGISTERS_HELD,
        "the kernel mapped one device's registers into a second task",
    )?;
    ensure(
        grant(REGS, config::tasks::VICTIM) == rc::OK,
        "a grant to the task that holds them is not done",
    )?;
    ensure(
        grant(REGS, config::tasks::SERVER) == rc::NO_WINDOW,
        "the kernel granted registers to a task that owns no domain",
    )?;
    ensure(
        grant(7, config::tasks::VICTIM) == rc::NO_WINDOW,
        "the kernel granted registers of a device that does not exist",
    )?;
    ensure(
        sys_register_holder(REGS) == Some(config::tasks::VICTIM),
        "refused grants changed who holds the registers",
    )
}

fn registers_revoke_faults(r: &mut Runner) -> Outcome {
    // While it holds them, its stale pointer works.
    let mut out = [0u8; 4];
    let (code, _) = r.call_live(Peer::Victim, VICTIM_READ_STALE_REGISTERS, &[], &mut out);
    ensure(code == rc::OK, "the holder could not read its registers")?;
    ensure(revoke(REGS) == rc::OK, "the custodian could not revoke")?;
    fault_case(r, VICTIM_READ_STALE_REGISTERS, |f| {
        matches!(
            f,
            FaultInfo::PageFault {
                write: false,
                present: false,
                ..
            }
        )
    })?;
    ensure(
        grant(REGS, config::tasks::SENDER_A) == rc::OK,
        "revoked registers could not be granted to another owner",
    )?;
    ensure(
        sys_register_holder(REGS) == Some(config::tasks::SENDER_A),
        "the kernel does not report the new holder",
    )?;
    let (held, _) = victim_reads_registers(r)?;
    ensure(!held, "the old holder still has a window after the move")?;
    ensure(revoke(REGS) == rc::OK, "the custodian could not revoke")?;
    ensure(
        grant(REGS, config::tasks::VICTIM) == rc::OK,
        "the registers could not come back",
    )?;
    let (held, _) = victim_reads_registers(r)?;
    ensure(
        held,
        "the victim has no window after the registers came back",
    )
}
