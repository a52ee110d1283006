//! Scenarios of broker-tests that need the hostile parts of its machine
//! (feature `hostile`): a device whose RMRR lies over the kernel image, as
//! a lying firmware would declare it (app.toml `as-firmware`, which the
//! build lets through only in test images).

use abi::TaskId;
use idl_runtime::KernelTransport;
use idl_types::{Bdf, Custody, EntryOwner, TaskIndex, UnitId};
use task_supervisor::supervisor;
use userlib::*;

use crate::rig::{domain, ensure, sleep_ms, Rig, EDU0};
use crate::scenarios::{custody, reassign};
use crate::{config, Outcome};

type Scenario = test_harness::Scenario<Rig>;

/// The edu at 00:05.0, whose RMRR covers kernel text.
pub const EDU_HOSTILE_RMRR: Bdf = Bdf {
    bus: 0,
    device: 5,
    function: 0,
};

pub const ALL: &[Scenario] = &[
    (
        "rmrr_over_the_kernel_is_refused_and_the_device_stays_blocked",
        rmrr_over_the_kernel,
    ),
    (
        "chaos_beside_dma_and_reassignment_breaks_nothing",
        chaos_beside_the_system,
    ),
];

/// The chaos task's syscalls it must make at least.
const CHAOS_CALLS: u32 = 100_000;
/// The calls meant to fault it (one life each).
const CHAOS_FATAL_CALLS: u32 = 8;
/// How long the chaos task may take, all lives included.
const CHAOS_LIMIT_MS: u64 = 100_000;
/// The chaos task's report: total, refused, unexpected, fatal, seed.
const REPORT_LEN: usize = 24;

/// Faults of every task so far, by the supervisor's books.
fn faults(
    s: &mut supervisor::Client<KernelTransport>,
) -> Result<[u32; config::TASK_COUNT], &'static str> {
    let mut out = [0u32; config::TASK_COUNT];
    for (i, f) in out.iter_mut().enumerate() {
        *f = s
            .task_report(TaskIndex(i as u16))
            .map_err(|_| "the supervisor gave no task report")?
            .faults;
    }
    Ok(out)
}

/// The chaos task runs its random syscalls and attacks while edu0 moves
/// between the domains and DMAs after every move; when it reports, every
/// DMA landed where the books say, the kernel answered as it promises
/// (no unexpected answer), no task but chaos faulted, and chaos faulted
/// exactly where it meant to.
fn chaos_beside_the_system(rig: &mut Rig) -> Outcome {
    let chaos = config::tasks::CHAOS;
    let mut sup = supervisor::Client::new(KernelTransport::new(&[]), config::slots::SUPERVISOR);
    let before = faults(&mut sup)?;
    let id = TaskId::new(chaos, abi::Generation::new(0));
    sys_post(id, config::NOTIFY[0].bits).map_err(|_| "the runner may not post chaos its go")?;
    let start = sys_get_timer();
    let mut report = [0u8; REPORT_LEN];
    let mut moves = 0u32;
    let sender = loop {
        ensure(
            sys_get_timer() - start < CHAOS_LIMIT_MS,
            "the chaos task did not report in time",
        )?;
        let from = match custody(rig, EDU0)? {
            Custody::Domain(d) if d == domain(0) => 0,
            Custody::Domain(_) => 1,
            _ => return Err("edu0 left its domains"),
        };
        reassign(rig, EDU0, from, 1 - from)?;
        let seeds = [moves as u8, moves as u8 ^ 0xff];
        rig.transfer(EDU0, seeds)?;
        rig.landed_in(usize::from(1 - from), seeds)?;
        moves += 1;
        // Has chaos reported? A closed receive that the timer ends.
        sys_set_timer(Some(sys_get_timer() + 1), config::notifications::TIMER);
        let chaos_now = sys_refresh_task_id(id).unwrap_or(id);
        match sys_recv(&mut report, config::notifications::TIMER, chaos_now) {
            Ok(m) if m.sender.index() == usize::from(chaos) => break m.sender,
            // The timer, or a dead code: chaos restarted meanwhile.
            _ => sleep_ms(1),
        }
    };
    sys_set_timer(None, 0);
    sys_reply(sender, 0, &[]);
    let word =
        |i: usize| u32::from_le_bytes([report[i], report[i + 1], report[i + 2], report[i + 3]]);
    let (total, refused, unexpected, fatal) = (word(0), word(4), word(8), word(12));
    defmt::info!(
        "chaos: {=u32} syscalls ({=u32} refused, {=u32} unexpected, {=u32} meant to fault it) beside {=u32} moves of edu0 with DMA",
        total,
        refused,
        unexpected,
        fatal,
        moves
    );
    ensure(total >= CHAOS_CALLS, "the chaos task made too few syscalls")?;
    ensure(
        unexpected == 0,
        "the kernel answered the chaos task against its contract",
    )?;
    ensure(
        fatal == CHAOS_FATAL_CALLS,
        "the chaos task did not finish its fatal calls",
    )?;
    ensure(moves >= 2, "edu0 did not move while chaos ran")?;
    let after = faults(&mut sup)?;
    for (i, (b, a)) in before.iter().zip(after.iter()).enumerate() {
        let want = if i == usize::from(chaos) {
            b + CHAOS_FATAL_CALLS
        } else {
            *b
        };
        if *a != want {
            defmt::error!(
                "task {=str}: {=u32} faults before, {=u32} after",
                config::TASK_NAMES[i],
                *b,
                *a
            );
            return Err("a task faulted that should not have (or chaos faulted elsewhere)");
        }
    }
    Ok(())
}

/// app.toml gives the device dom_a at boot; the acpi task refuses its
/// RMRR (it covers the kernel), so the broker never assigns it: the books
/// hold it unassigned, the hardware has no context entry for it (all its
/// DMA is blocked), and an operator's assignment is refused too.
fn rmrr_over_the_kernel(rig: &mut Rig) -> Outcome {
    let dev = EDU_HOSTILE_RMRR;
    let mut start = 0;
    let custody = loop {
        let page = rig
            .broker
            .list_devices(start)
            .map_err(|_| "the broker did not list its devices")?;
        if let Some(e) = page.entries.iter().find(|e| e.device == dev) {
            break e.custody;
        }
        start = page.next.ok_or("the broker does not keep the device")?;
    };
    ensure(
        !matches!(custody, Custody::Domain(_)),
        "the device with an RMRR over the kernel was assigned to a domain",
    )?;
    let ctx = rig
        .iommu
        .get_context(UnitId(0), dev)
        .map_err(|_| "the iommu did not answer get_context")?;
    ensure(
        ctx.owner == EntryOwner::NotPresent,
        "the device has a context entry: its DMA is not blocked",
    )?;
    ensure(
        rig.broker.assign(dev, domain(0)).is_err(),
        "the broker assigned the device on request",
    )?;
    let ctx = rig
        .iommu
        .get_context(UnitId(0), dev)
        .map_err(|_| "the iommu did not answer get_context")?;
    ensure(
        ctx.owner == EntryOwner::NotPresent,
        "the refused assignment left a context entry",
    )
}
