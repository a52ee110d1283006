//! The console task: an operator shell on COM1. Reads lines, parses them
//! (the library), and carries each command to the broker, the iommu, the
//! supervisor or a DMA worker, printing a short answer or a worded error.
#![no_std]
#![no_main]

include!(concat!(env!("OUT_DIR"), "/idl.rs"));

mod bench;
mod interrupts;
mod registers;
mod serial;
mod storm;

use core::fmt::Write as _;

use abi::TaskId;
use idl_runtime::KernelTransport;
use idl_types::TaskIndex;
use idl_types::{Bdf, Custody, DeviceEntry, DomainId, UnitId};
use task_console::{parse, write_help, Command, DeviceRef, LineEditor, LineEvent};
use task_supervisor::supervisor;
use userlib::*;

use registers::Refusal;
use serial::Out;

task_config!();

static NAMES: [&str; config::TASK_COUNT] = config::TASK_NAMES;
const PROMPT: &[u8] = b"custody> ";
/// How often the console looks at the serial port.
const POLL_MS: u64 = 5;
/// The pattern workers write when asked by `dma`.
const PATTERN: u8 = 0x5A;

struct Console {
    broker: broker::Client<KernelTransport>,
    iommu: iommu::Client<KernelTransport>,
    supervisor: supervisor::Client<KernelTransport>,
    transport: KernelTransport,
    dma_count: u64,
}

/// A device reference resolved to an address, or a sentence why not.
fn resolve(d: DeviceRef) -> Result<Bdf, &'static str> {
    match d {
        DeviceRef::Address {
            segment: 0,
            bus,
            device,
            function,
        } => Ok(Bdf {
            bus,
            device,
            function,
        }),
        DeviceRef::Address { .. } => Err("only segment 0 exists on this machine"),
        DeviceRef::Name(n) => config::system::DEVICES
            .iter()
            .find(|d| d.0 == n)
            .map(|d| Bdf::from_requester_id(d.2))
            .ok_or("no device by that name (see 'devices')"),
    }
}

/// [`resolve`], saying why not on the console.
fn resolve_or_say(d: DeviceRef) -> Option<Bdf> {
    resolve(d)
        .map_err(|why| {
            let _ = writeln!(Out, "error: {why}");
        })
        .ok()
}

fn device_name(b: Bdf) -> &'static str {
    let rid = b.requester_id().unwrap_or(0);
    config::system::DEVICES
        .iter()
        .find(|d| d.2 == rid)
        .map_or("-", |d| d.0)
}

fn domain_by_name(n: &str) -> Option<DomainId> {
    config::system::DOMAINS
        .iter()
        .position(|d| d.0 == n)
        .map(|i| DomainId(config::system::FIRST_DOMAIN_ID + i as u16))
}

fn domain_name(d: DomainId) -> &'static str {
    let i = d.0.wrapping_sub(config::system::FIRST_DOMAIN_ID) as usize;
    config::system::DOMAINS.get(i).map_or("?", |d| d.0)
}

fn custody(c: Custody) -> &'static str {
    match c {
        Custody::Domain(d) => domain_name(d),
        Custody::Quarantined => "(quarantine)",
        Custody::Unassigned => "(unassigned)",
    }
}

impl Console {
    fn run(&mut self, cmd: Command) {
        let mut o = Out;
        match cmd {
            Command::Nothing => {}
            Command::Help => {
                let _ = write_help(&mut o);
            }
            Command::Devices => self.devices(),
            Command::Domains => self.domains(),
            Command::Tasks => self.tasks(),
            Command::Assign { device, domain } | Command::Reassign { device, domain } => {
                let reassign = matches!(cmd, Command::Reassign { .. });
                let (Ok(dev), Some(dom)) = (resolve(device), domain_by_name(domain)) else {
                    let why = resolve(device)
                        .err()
                        .unwrap_or("no domain by that name (see 'domains')");
                    let _ = writeln!(o, "error: {why}");
                    return;
                };
                let before = self.iommu.counters(UnitId(0)).ok();
                let r = if reassign {
                    self.broker.reassign(dev, dom)
                } else {
                    self.broker.assign(dev, dom)
                };
                match r {
                    Ok(rep) => {
                        let _ = write!(o, "{dev} ({}) -> {domain}: done (", device_name(dev));
                        let after = self.iommu.counters(UnitId(0)).ok();
                        match (rep.atomic, before.zip(after)) {
                            (true, _) => {
                                let _ = write!(o, "one atomic context write each");
                            }
                            (false, Some((b, a))) => write_path(&mut o, &b, &a),
                            (false, None) => {
                                let _ = write!(o, "non-atomic path");
                            }
                        }
                        let _ = writeln!(o, ")");
                    }
                    Err(e) => {
                        let _ = writeln!(o, "error: {e}");
                    }
                }
            }
            Command::Quarantine { device } | Command::Release { device } => {
                let Ok(dev) = resolve(device) else {
                    let _ = writeln!(o, "error: {}", resolve(device).err().unwrap_or(""));
                    return;
                };
                let r = if matches!(cmd, Command::Quarantine { .. }) {
                    self.broker.quarantine(dev)
                } else {
                    self.broker.release(dev)
                };
                match r {
                    Ok(_) => {
                        let _ = writeln!(o, "{dev} ({}) -> quarantine: done", device_name(dev));
                    }
                    Err(e) => {
                        let _ = writeln!(o, "error: {e}");
                    }
                }
            }
            Command::Faults => self.faults(),
            Command::Stats => {
                self.iommu_stats();
                self.broker_stats();
            }
            Command::Kill { task, at } => {
                match config::TASK_NAMES.iter().position(|n| *n == task) {
                    None => {
                        let _ = writeln!(o, "error: no task named '{task}' (see 'tasks')");
                    }
                    Some(i) => {
                        let task = TaskIndex(i as u16);
                        let r = match at {
                            None => self.supervisor.fault_task(task),
                            Some(n) => self.supervisor.arm_fault(task, n),
                        };
                        match (r, at) {
                            (Ok(()), None) => {
                                let _ = writeln!(
                                    o,
                                    "{task}: faulted on request; the supervisor restarts it",
                                    task = NAMES[i]
                                );
                            }
                            (Ok(()), Some(n)) => {
                                let _ = writeln!(
                                    o,
                                    "{task}: armed to fault as its message {n} from now arrives",
                                    task = NAMES[i]
                                );
                            }
                            (Err(e), _) => {
                                let _ = writeln!(o, "error: the supervisor refused: {e}");
                            }
                        }
                    }
                }
            }
            Command::Dma { device, iova } => self.dma(device, iova),
            Command::Irq { device } => self.irq(device),
            Command::Regs { device } => self.regs(device),
            Command::Touch { device, task } => self.touch(device, task),
            Command::ForgeMsi { device, forged } => self.forge_msi(device, forged),
            Command::DmaMove {
                device,
                domain,
                iova,
            } => self.dma_move(device, domain, iova),
            Command::DmaStorm {
                device,
                iova,
                millis,
            } => self.dma_storm(device, iova, millis),
            Command::Bench {
                device,
                first,
                second,
                count,
            } => self.bench(device, first, second, count),
            Command::Shutdown => {
                let _ = writeln!(o, "shutting down");
                if let Err(e) = self.supervisor.shutdown(abi::DEBUG_EXIT_SUCCESS) {
                    let _ = writeln!(o, "error: the supervisor refused: {e}");
                }
            }
        }
    }

    /// The iommu's counters of unit 0: context changes by path and
    /// invalidations by granularity.
    fn iommu_stats(&mut self) {
        let mut o = Out;
        match self.iommu.counters(UnitId(0)) {
            Ok(c) => {
                let _ = writeln!(
                    o,
                    "unit 0: {} context changes ({} atomic, {} cleared-first, {} best-effort, {} data-corruption warnings)",
                    c.context_changes,
                    c.atomic_changes,
                    c.cleared_first_changes,
                    c.best_effort_changes,
                    c.corruption_warnings
                );
                let (ci, ti) = (c.context_invalidations, c.iotlb_invalidations);
                let _ = writeln!(
                    o,
                    "        invalidations: context {} global / {} domain / {} device; IOTLB {} global / {} domain / {} page; {} DMA faults drained",
                    ci.global, ci.domain, ci.selective, ti.global, ti.domain, ti.selective, c.faults_drained
                );
            }
            Err(e) => {
                let _ = writeln!(o, "error: {e}");
            }
        }
    }

    /// The broker's counters, and the cleanups after commit it still owes
    /// (retried until they succeed).
    fn broker_stats(&mut self) {
        let mut o = Out;
        match self.broker.stats() {
            Ok(b) => {
                let _ = writeln!(
                    o,
                    "broker: {} committed, {} rolled back, {} failed rollbacks, {} journal replays; {} cleanups pending ({} failed so far)",
                    b.committed,
                    b.rolled_back,
                    b.rollback_failures,
                    b.replays,
                    b.cleanups_pending,
                    b.cleanup_failures
                );
            }
            Err(e) => {
                let _ = writeln!(o, "error: {e}");
            }
        }
    }

    /// DMA faults: the broker pulls them from the iommu as they happen and
    /// keeps the newest as events, with every device its fault budget
    /// quarantined and how many faults that took; any the iommu still
    /// holds are shown too.
    fn faults(&mut self) {
        let mut o = Out;
        let mut shown = 0;
        let mut after = 0;
        while let Ok(Some(ev)) = self.broker.event_after(after) {
            after = ev.seq;
            match ev.event {
                idl_types::BrokerEvent::DmaFault { device, address } => {
                    shown += 1;
                    let _ = writeln!(
                        o,
                        "fault: {device} ({}) at {address:#x} blocked",
                        device_name(device)
                    );
                }
                idl_types::BrokerEvent::FaultQuarantined { device, faults } => {
                    shown += 1;
                    let _ = writeln!(
                        o,
                        "fault: {device} ({}) quarantined after {faults} DMA faults within the broker's fault interval (budget {})",
                        device_name(device),
                        config::system::FAULT_BUDGET
                    );
                }
                _ => {}
            }
        }
        if let Ok(batch) = self.iommu.pull_faults() {
            for f in batch.records.iter() {
                shown += 1;
                let _ = writeln!(
                    o,
                    "fault: {} ({}) {:?} at {:#x}, reason {}",
                    f.source,
                    device_name(f.source),
                    f.direction,
                    f.address,
                    f.reason
                );
            }
        }
        if shown == 0 {
            let _ = writeln!(o, "no DMA faults recorded");
        }
    }

    fn devices(&mut self) {
        let mut o = Out;
        let _ = writeln!(o, "{:<8} {:<8} {:<14} rmrr", "device", "name", "owner");
        let mut start = 0;
        loop {
            let Ok(page) = self.broker.list_devices(start) else {
                let _ = writeln!(o, "error: the broker did not answer");
                return;
            };
            for e in page.entries.iter() {
                let _ = writeln!(
                    o,
                    "{:<8} {:<8} {:<14} {}",
                    e.device,
                    device_name(e.device),
                    custody(e.custody),
                    if e.has_rmrr { "yes" } else { "no" }
                );
            }
            match page.next {
                Some(n) => start = n,
                None => return,
            }
        }
    }

    fn domains(&mut self) {
        let mut o = Out;
        let mut start = 0;
        loop {
            let Ok(page) = self.broker.list_domains(start) else {
                let _ = writeln!(o, "error: the broker did not answer");
                return;
            };
            for d in page.entries.iter() {
                let owner = NAMES.get(d.owner.0 as usize).copied().unwrap_or("?");
                let _ = writeln!(
                    o,
                    "{:<10} owner {:<10} {} device(s)",
                    domain_name(d.domain),
                    owner,
                    d.devices
                );
            }
            match page.next {
                Some(n) => start = n,
                None => return,
            }
        }
    }

    fn tasks(&mut self) {
        let mut o = Out;
        let name = |t: TaskIndex| NAMES.get(usize::from(t.0)).copied().unwrap_or("?");
        for (i, task) in NAMES.iter().enumerate() {
            match self.supervisor.task_report(TaskIndex(i as u16)) {
                Ok(r) => {
                    let _ = task_console::write_row(&mut o, task, &r, name);
                }
                Err(e) => {
                    let _ = writeln!(o, "{task:<12} error: {e}");
                }
            }
        }
    }

    fn dma(&mut self, device: DeviceRef, iova: Option<u64>) {
        let mut o = Out;
        let Some(dev) = resolve_or_say(device) else {
            return;
        };
        let owner = match self.owner_of(dev) {
            Some(t) => t,
            None if self.quarantined(dev) => {
                self.say_quarantined(dev, "start its DMA");
                let _ = writeln!(o);
                return;
            }
            None => {
                let _ = writeln!(o, "error: {dev} is not owned by a worker's domain");
                return;
            }
        };
        let mut w = worker::Client::new(self.transport, owner);
        let target = iova.unwrap_or_else(|| {
            self.dma_count += 1;
            let d = config::system::DOMAINS
                .iter()
                .find(|d| d.1 as usize == owner.index());
            d.and_then(|d| d.2.first())
                .map_or(0, |m| m.0 + 0x1000 * (1 + self.dma_count % 4))
        });
        match w.dma(dev, target, PATTERN) {
            Ok(r) => {
                let _ = writeln!(
                    o,
                    "{dev} -> IOVA {:#x}: {} ({} ms){}",
                    r.iova,
                    if r.landed {
                        "landed in the owner's buffer"
                    } else {
                        "did NOT land in the owner's buffer"
                    },
                    r.millis,
                    if r.rest_untouched {
                        ""
                    } else {
                        "; other bytes changed!"
                    }
                );
            }
            Err(e) => {
                let _ = writeln!(o, "error: {}", Refusal(task_of(owner), e));
            }
        }
    }

    /// The headline of Xen's fix: a DMA in flight while its device moves.
    /// edu performs the transfer 100 ms after it starts; the reassignment
    /// takes far less, so the data must land through the *new* domain's
    /// tables, in the new owner's buffer, with no DMA fault.
    fn dma_move(&mut self, device: DeviceRef, domain: &str, at: Option<u64>) {
        let mut o = Out;
        let (dev, target) = match (resolve(device), domain_by_name(domain)) {
            (Ok(d), Some(t)) => (d, t),
            (Err(why), _) => {
                let _ = writeln!(o, "error: {why}");
                return;
            }
            (_, None) => {
                let _ = writeln!(o, "error: no domain by that name (see 'domains')");
                return;
            }
        };
        let Some(old) = self.owner_of(dev) else {
            let _ = writeln!(o, "error: {dev} is not owned by a worker's domain");
            return;
        };
        let new_index = (target.0 - config::system::FIRST_DOMAIN_ID) as usize;
        let Some(new_owner) = config::system::DOMAINS.get(new_index).map(|d| d.1) else {
            let _ = writeln!(o, "error: no domain by that name (see 'domains')");
            return;
        };
        self.dma_count += 1;
        let pattern = 0xA0 | (self.dma_count % 16) as u8;
        let buffer = config::system::DOMAINS
            .get(new_index)
            .and_then(|d| d.2.first())
            .copied();
        let iova =
            at.unwrap_or_else(|| buffer.map_or(0, |m| m.0 + 0x1000 * (1 + self.dma_count % 4)));
        let in_buffer = buffer.is_some_and(|m| iova >= m.0 && iova < m.0 + m.2);
        let mut from = worker::Client::new(self.transport, old);
        let mut to = worker::Client::new(self.transport, current_id(new_owner));
        // Meanwhile the target domain's worker runs a DMA of its own device
        // (if it has one) to another page: it must land untouched.
        let bystander = self.device_of(target, dev);
        let by_iova = buffer.map_or(0, |m| m.0 + 0x1000 * (1 + (self.dma_count + 2) % 4));
        let by_pattern = pattern ^ 0x0F;
        let by_started = bystander.is_some_and(|d| to.start_dma(d, by_iova, by_pattern).is_ok());
        if let Err(e) = from.start_dma(dev, iova, pattern) {
            let _ = writeln!(o, "error: starting the DMA: {}", Refusal(task_of(old), e));
            return;
        }
        let moved = self.broker.reassign(dev, target);
        let report = from.finish_dma();
        let by_report = by_started.then(|| to.finish_dma());
        let landed = to.holds(iova, pattern).unwrap_or(false);
        if let (Some(d), Some(r)) = (bystander, by_report) {
            // Its buffer's other pages legitimately change: the moved
            // device's data lands there too. Its own page must be intact.
            let ok = matches!(r, Ok(ref r) if r.landed);
            let _ = writeln!(
                o,
                "meanwhile {d} (already in {domain}) DMAed to IOVA {by_iova:#x}: {}",
                if ok { "landed untouched" } else { "DISTURBED" }
            );
        }
        match (moved, report) {
            (Ok(_), Ok(_)) if !in_buffer => {
                let _ = writeln!(
                    o,
                    "{dev} moved to {domain} while its DMA to IOVA {iova:#x} (outside the owners' buffers) was in flight; see 'faults'"
                );
            }
            (Ok(_), Ok(r)) => {
                let _ = writeln!(
                    o,
                    "{dev} moved to {domain} while its DMA was in flight; the data {} ({} ms), {}",
                    if landed {
                        "landed in the new owner's buffer"
                    } else {
                        "did NOT land in the new owner's buffer"
                    },
                    r.millis,
                    if r.landed {
                        "and ALSO in the old owner's"
                    } else {
                        "not in the old owner's"
                    }
                );
            }
            (Err(e), _) => {
                let _ = writeln!(o, "error: the reassignment failed: {e}");
            }
            (_, Err(e)) => {
                let _ = writeln!(
                    o,
                    "error: the DMA did not finish: {}",
                    Refusal(task_of(old), e)
                );
            }
        }
    }

    /// The first device in the broker's books that `pred` accepts.
    fn find_device(&mut self, pred: impl Fn(&DeviceEntry) -> bool) -> Option<DeviceEntry> {
        let mut start = 0;
        loop {
            let page = self.broker.list_devices(start).ok()?;
            if let Some(e) = page.entries.iter().find(|e| pred(e)) {
                return Some(*e);
            }
            start = page.next?;
        }
    }

    /// A device other than `except` that `domain` holds, if any.
    fn device_of(&mut self, domain: DomainId, except: Bdf) -> Option<Bdf> {
        self.find_device(|e| e.device != except && e.custody == Custody::Domain(domain))
            .map(|e| e.device)
    }

    fn quarantined(&mut self, dev: Bdf) -> bool {
        self.find_device(|e| e.device == dev)
            .is_some_and(|e| e.custody == Custody::Quarantined)
    }

    /// The worker task owning `dev`'s domain, by the broker's books.
    fn owner_of(&mut self, dev: Bdf) -> Option<TaskId> {
        let Custody::Domain(d) = self.find_device(|e| e.device == dev)?.custody else {
            return None;
        };
        owner_task(d).map(current_id)
    }
}

/// The task owning domain `d` (its index), by app.toml.
fn owner_task(d: DomainId) -> Option<u16> {
    let i = d.0.checked_sub(config::system::FIRST_DOMAIN_ID)? as usize;
    Some(config::system::DOMAINS.get(i)?.1)
}

/// A task's name by its ID.
fn task_of(t: TaskId) -> &'static str {
    registers::task_name(t.index() as u16)
}

/// The current ID of task `index` (one of the console's task slots).
fn current_id(index: u16) -> TaskId {
    sys_refresh_task_id(TaskId(index)).unwrap_or(TaskId(index))
}

#[export_name = "main"]
fn main() -> ! {
    let transport = KernelTransport::new(&NAMES);
    let mut c = Console {
        broker: broker::Client::new(transport, config::slots::BROKER),
        iommu: iommu::Client::new(transport, config::slots::IOMMU),
        supervisor: supervisor::Client::new(transport, config::slots::SUPERVISOR),
        transport,
        dma_count: 0,
    };
    let mut editor = LineEditor::new();
    serial::write(b"\ncustody console: type 'help'\n");
    serial::write(PROMPT);
    loop {
        let Some(byte) = serial::read() else {
            sys_set_timer(
                Some(sys_get_timer() + POLL_MS),
                config::notifications::TIMER,
            );
            sys_recv_notification(config::notifications::TIMER);
            continue;
        };
        match editor.push(byte) {
            LineEvent::Echo(b) => serial::write(b),
            LineEvent::EchoByte(b) => serial::write(&[b]),
            LineEvent::Nothing => {}
            LineEvent::Cancelled => {
                serial::write(b"^C\n");
                serial::write(PROMPT);
            }
            LineEvent::TooLong => {
                let _ = writeln!(
                    Out,
                    "\nerror: line longer than {} characters; ignored",
                    task_console::MAX_LINE
                );
                serial::write(PROMPT);
            }
            LineEvent::Line(line) => {
                serial::write(b"\n");
                match parse(&line) {
                    Ok(cmd) => c.run(cmd),
                    Err(e) => {
                        let _ = writeln!(Out, "error: {e}");
                    }
                }
                serial::write(PROMPT);
            }
        }
    }
}

/// How the context writes between two counter readings went, when the CPU
/// had no CMPXCHG16B: Xen's fallback (cleared first: the entry is not
/// present for a moment, allowed for a device without an RMRR) and its
/// best effort (DID written last, for an RMRR device), with whether Xen
/// warns of data corruption there (not when the old owner is dying or had
/// no other device behind the unit).
fn write_path(o: &mut Out, before: &idl_types::IommuCounters, after: &idl_types::IommuCounters) {
    let cleared = after
        .cleared_first_changes
        .saturating_sub(before.cleared_first_changes);
    let best = after
        .best_effort_changes
        .saturating_sub(before.best_effort_changes);
    let warned = after
        .corruption_warnings
        .saturating_sub(before.corruption_warnings);
    let _ = write!(o, "no CMPXCHG16B:");
    if cleared > 0 {
        let _ = write!(o, " {cleared} cleared first (not present for a moment)");
    }
    if best > 0 {
        let _ = write!(o, " {best} best effort (DID written last)");
        if warned > 0 {
            let _ = write!(o, ", Xen warns: data corruption possible");
        } else {
            let _ = write!(o, ", no warning (old owner dying or alone on the unit)");
        }
    }
}
