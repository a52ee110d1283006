//! One simulated system, the fault injector and the invariants.
//!
//! Every message the broker sends passes [`FaultyTransport`], which numbers
//! it; a planned fault kills the target (its volatile state reset, its
//! generation bumped) before or after that message, or kills the broker
//! (its transport and journal freeze; it is restarted from the journal
//! store alone). After every operation the invariants are checked against
//! the stand-in hardware.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use idl_runtime::abi::rc;
use idl_runtime::{InProcess, InProcessClient, Lease, SendError, Transport};
use idl_types::*;
use task_broker::{
    Broker, Config, DeviceConfig, DomainConfig, JournalError, JournalStore, PeerIds, Peers,
    TxState, JOURNAL_BYTES,
};

use crate::generated::{acpi, domid, iommu, pci, supervisor};
use crate::peers::*;
use crate::platform::Platform;

const NAMES: [&str; 9] = [
    "supervisor",
    "acpi",
    "pci",
    "iommu",
    "domid",
    "broker",
    "console",
    "dma-a",
    "dma-b",
];
const CONSOLE: TaskIndex = TaskIndex(6);
/// Killable tasks.
pub const TASKS: [&str; 5] = ["broker", "iommu", "domid", "acpi", "pci"];

/// A planned death.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    pub task: &'static str,
    pub message: usize,
    pub after: bool,
}

#[derive(Default)]
struct Control {
    sent: usize,
    fault: Option<Fault>,
    fired: bool,
    broker_dead: bool,
}

/// The broker's transport, numbering messages and injecting the planned fault.
#[derive(Clone)]
pub struct FaultyTransport<'a, 's> {
    inner: InProcessClient<'a, 's, 9>,
    system: &'a InProcess<'s, 9>,
    ctl: Rc<RefCell<Control>>,
    domid: Rc<RefCell<DomidBooks>>,
}

impl FaultyTransport<'_, '_> {
    fn kill(&self, task: &str) -> u32 {
        if task == "domid" {
            *self.domid.borrow_mut() = DomidBooks::default();
        }
        let _ = self.system.restart(task, None);
        let id = self
            .system
            .task_id(task)
            .map(|t| t.generation().get())
            .unwrap_or(0);
        rc::dead(id)
    }
}

impl Transport for FaultyTransport<'_, '_> {
    fn send(
        &mut self,
        target: idl_runtime::abi::TaskId,
        op: u32,
        msg: &[u8],
        reply: &mut [u8],
        leases: &mut [Lease<'_>],
    ) -> Result<(u32, usize), SendError> {
        let (fault, n) = {
            let mut c = self.ctl.borrow_mut();
            if c.broker_dead {
                return Err(SendError::NotServing(5));
            }
            let n = c.sent;
            c.sent += 1;
            (c.fault.filter(|f| f.message == n && !c.fired), n)
        };
        let _ = n;
        let Some(f) = fault else {
            return self.inner.send(target, op, msg, reply, leases);
        };
        self.ctl.borrow_mut().fired = true;
        let name = NAMES.get(target.index()).copied().unwrap_or("");
        if f.task == "broker" {
            if f.after {
                let _ = self.inner.send(target, op, msg, reply, leases);
            }
            self.ctl.borrow_mut().broker_dead = true;
            return Err(SendError::NotServing(5));
        }
        if f.task != name {
            // The planned victim is not this message's target: kill it
            // between messages (it restarts with fresh volatile state).
            self.kill(f.task);
            return self.inner.send(target, op, msg, reply, leases);
        }
        if f.after {
            let _ = self.inner.send(target, op, msg, reply, leases)?;
        }
        Ok((self.kill(name), 0))
    }
}

/// The journal's persistent region; refuses writes once the broker is dead.
pub struct SimStore {
    bytes: Vec<u8>,
    ctl: Rc<RefCell<Control>>,
}

impl JournalStore for SimStore {
    fn bytes(&self) -> &[u8] {
        &self.bytes
    }
    fn write(&mut self, offset: usize, data: &[u8]) -> Result<(), JournalError> {
        if self.ctl.borrow().broker_dead {
            return Err(JournalError::StoreRefused);
        }
        let dst = self
            .bytes
            .get_mut(offset..offset + data.len())
            .ok_or(JournalError::OutOfRange { offset })?;
        dst.copy_from_slice(data);
        Ok(())
    }
}

/// What one run found.
#[derive(Default, Debug, Clone)]
pub struct Outcome {
    pub transactions: u64,
    pub faults: u64,
    pub violations: Vec<String>,
}

/// An operation of the workload.
#[derive(Copy, Clone, Debug)]
pub enum Op {
    Reassign(Bdf, DomainId),
    Quarantine(Bdf),
    Release(Bdf),
    OwnerDied(TaskIndex),
}

/// Runs `ops` on a fresh system, with at most one planned fault per op
/// (`faults[i]`), checking the invariants after each op.
pub fn run(platform: &Platform, ops: &[(Op, Option<Fault>)], knobs: task_broker::Knobs) -> Outcome {
    let _ = knobs;
    let platform = Rc::new(platform.clone());
    let hw = Rc::new(RefCell::new(Hardware::default()));
    for d in platform.devices.iter().filter(|d| !d.rmrrs.is_empty()) {
        // The device's own functions; a bridge alias is watched only
        // through the device that holds it (an unassigned RMRR device's
        // alias may be cleared by its sibling's release).
        for rid in platform
            .requester_ids(d.info.device, AliasOrder::Assign)
            .unwrap_or_default()
        {
            if rid.bus == d.info.device.bus && rid.device == d.info.device.device {
                hw.borrow_mut().rmrr_rids.insert(rid);
            }
        }
    }
    let domid_books = Rc::new(RefCell::new(DomidBooks::default()));
    let deaths = Rc::new(RefCell::new(Vec::new()));
    let mut e_iommu = iommu::Endpoint(FakeIommu(hw.clone(), platform.units));
    let mut e_domid = domid::Endpoint(FakeDomid(domid_books.clone()));
    let mut e_acpi = acpi::Endpoint(FakeAcpi(platform.clone()));
    let mut e_pci = pci::Endpoint(FakePci(platform.clone()));
    let mut e_sup = supervisor::Endpoint(FakeSupervisor(deaths.clone()));
    let system = InProcess::new(NAMES);
    let _ = system.register("iommu", &mut e_iommu);
    let _ = system.register("domid", &mut e_domid);
    let _ = system.register("acpi", &mut e_acpi);
    let _ = system.register("pci", &mut e_pci);
    let _ = system.register("supervisor", &mut e_sup);
    let ctl = Rc::new(RefCell::new(Control::default()));
    let Ok(inner) = system.client("broker") else {
        return Outcome {
            violations: vec!["no broker task".into()],
            ..Outcome::default()
        };
    };
    let transport = FaultyTransport {
        inner,
        system: &system,
        ctl: ctl.clone(),
        domid: domid_books.clone(),
    };
    let ids = || PeerIds {
        acpi: system
            .task_id("acpi")
            .unwrap_or(idl_runtime::abi::TaskId::KERNEL),
        domid: system
            .task_id("domid")
            .unwrap_or(idl_runtime::abi::TaskId::KERNEL),
        iommu: system
            .task_id("iommu")
            .unwrap_or(idl_runtime::abi::TaskId::KERNEL),
        pci: system
            .task_id("pci")
            .unwrap_or(idl_runtime::abi::TaskId::KERNEL),
        supervisor: system
            .task_id("supervisor")
            .unwrap_or(idl_runtime::abi::TaskId::KERNEL),
    };
    let movable = platform.movable();
    let devices: Vec<DeviceConfig> = movable
        .iter()
        .enumerate()
        .map(|(i, &device)| DeviceConfig {
            device,
            initial: Some(DomainId(1 + (i % 2) as u16)),
        })
        .collect();
    let domains = [
        DomainConfig {
            domain: DomainId(1),
            owner: TaskIndex(7),
        },
        DomainConfig {
            domain: DomainId(2),
            owner: TaskIndex(8),
        },
        DomainConfig {
            domain: DomainId(3),
            owner: TaskIndex(6),
        },
    ];
    let config = Config {
        devices: &devices,
        domains: &domains,
        operators: &[CONSOLE],
    };
    let store = SimStore {
        bytes: vec![0; JOURNAL_BYTES],
        ctl: ctl.clone(),
    };
    let mut out = Outcome::default();
    let mut broker = match Broker::start(Peers::new(transport.clone(), ids()), store, &config) {
        Ok(b) => b,
        Err(e) => {
            out.violations.push(format!("broker did not start: {e}"));
            return out;
        }
    };
    #[cfg(test)]
    broker.set_knobs(knobs);
    check(&broker, &hw, &domid_books, &platform, "boot", &mut out);
    for (i, (op, fault)) in ops.iter().enumerate() {
        {
            let mut c = ctl.borrow_mut();
            c.fault = *fault;
            c.fired = false;
            c.sent = 0;
        }
        let before = broker.stats().committed;
        let _ = match *op {
            Op::Reassign(d, t) => broker.reassign(CONSOLE, d, t).map(|_| ()),
            Op::Quarantine(d) => broker.quarantine(CONSOLE, d).map(|_| ()),
            Op::Release(d) => broker.release(CONSOLE, d).map(|_| ()),
            Op::OwnerDied(t) => {
                let seq = deaths.borrow().len() as u32 + 1;
                deaths.borrow_mut().push(DeathRecord {
                    seq,
                    task: t,
                    generation: 1,
                    cause: DeathCause::Injected,
                    restarted: true,
                });
                broker.poll_deaths();
                Ok(())
            }
        };
        out.transactions += u64::from(broker.stats().committed - before) + 1;
        if ctl.borrow().fired {
            out.faults += 1;
        }
        let dead = ctl.borrow().broker_dead;
        if dead {
            let store = broker.into_store();
            ctl.borrow_mut().broker_dead = false;
            ctl.borrow_mut().fault = None;
            broker = match Broker::start(Peers::new(transport.clone(), ids()), store, &config) {
                Ok(b) => b,
                Err(e) => {
                    out.violations
                        .push(format!("op {i}: broker did not restart: {e}"));
                    return out;
                }
            };
        } else if let Some(f) = fault.filter(|_| ctl.borrow().fired) {
            if f.task != "broker" {
                broker.peer_restarted(if f.task == "domid" {
                    task_broker::Peer::Domid
                } else {
                    task_broker::Peer::Iommu
                });
            }
        }
        ctl.borrow_mut().fault = None;
        check(
            &broker,
            &hw,
            &domid_books,
            &platform,
            &format!("op {i} {op:?} fault {fault:?}"),
            &mut out,
        );
    }
    out
}

fn check<T: Transport + Clone>(
    broker: &Broker<T, SimStore>,
    hw: &Rc<RefCell<Hardware>>,
    domid: &Rc<RefCell<DomidBooks>>,
    platform: &Platform,
    when: &str,
    out: &mut Outcome,
) {
    let hw = hw.borrow();
    let mut bad = |m: String| out.violations.push(format!("{when}: {m}"));
    if broker.journal().state() != TxState::Idle {
        bad(format!(
            "transaction left open in state {:?}",
            broker.journal().state()
        ));
    }
    if hw.disconnect_windows > 0 {
        bad(format!(
            "{} disconnect windows for RMRR devices",
            hw.disconnect_windows
        ));
    }
    let books = broker.books();
    for d in books.devices() {
        let Some(facts) = &d.facts else { continue };
        let expect = |c: Custody| c;
        for rid in facts.rids.iter().filter(|r| !r.role.is_shared_alias()) {
            let state = hw
                .contexts
                .get(&(facts.unit.0, rid.bdf))
                .copied()
                .unwrap_or(ContextState::NotPresent);
            let custody = match state {
                ContextState::NotPresent => Custody::Unassigned,
                ContextState::Domain { domain, .. } => Custody::Domain(domain),
                ContextState::Quarantine { .. } => Custody::Quarantined,
            };
            if custody != expect(d.custody) {
                bad(format!(
                    "{} rid {} holds {:?} but the books say {:?}",
                    d.device, rid.bdf, state, d.custody
                ));
            }
        }
        if let Custody::Domain(dom) = d.custody {
            for r in &facts.rmrrs {
                let page = r.base & !0xfff;
                if !hw.mappings.get(&dom).is_some_and(|m| m.contains_key(&page)) {
                    bad(format!(
                        "{} in {dom} but its RMRR {:#x} is not mapped there",
                        d.device, r.base
                    ));
                }
            }
        }
    }
    for r in books.rids() {
        let state = hw
            .contexts
            .get(&(r.unit.0, r.rid))
            .copied()
            .unwrap_or(ContextState::NotPresent);
        if state != r.state {
            bad(format!(
                "rid {} holds {:?}, books {:?}",
                r.rid, state, r.state
            ));
        }
    }
    let dm = domid.borrow();
    if dm.seeded {
        let mut dids = std::collections::BTreeSet::new();
        for ((unit, dom), (did, devs)) in dm.domains.iter() {
            if !dids.insert((*unit, did.0)) {
                bad(format!("{did} shared"));
            }
            let actual: std::collections::BTreeSet<Bdf> = books
                .devices()
                .iter()
                .filter(|d| d.custody == Custody::Domain(*dom))
                .map(|d| d.device)
                .collect();
            if *devs != actual {
                bad(format!(
                    "domid counts {devs:?} for {dom}, books hold {actual:?} (DID leaked or lost)"
                ));
            }
        }
        for d in books
            .devices()
            .iter()
            .filter(|d| matches!(d.custody, Custody::Domain(_)))
        {
            if let Custody::Domain(dom) = d.custody {
                if !dm.domains.contains_key(&(0, dom)) {
                    bad(format!("{} in {dom} which holds no DID", d.device));
                }
            }
        }
    }
    for (dom, maps) in hw.mappings.iter() {
        for page in maps.keys() {
            let needed = books.devices().iter().any(|d| {
                d.custody == Custody::Domain(*dom)
                    && d.facts
                        .as_ref()
                        .is_some_and(|f| f.rmrrs.iter().any(|r| r.base & !0xfff == *page))
            });
            if !needed {
                bad(format!(
                    "{dom} keeps RMRR page {page:#x} no device of it needs"
                ));
            }
        }
    }
    let _ = platform;
    let _ = Cell::new(0);
}

/// The exhaustive matrix: for each movable device, each killable task,
/// each message boundary (before and after) of its reassignment.
pub fn run_matrix(platform: &Platform, knobs: task_broker::Knobs) -> (usize, Outcome) {
    let mut total = Outcome::default();
    let mut cells = 0;
    for device in platform.movable() {
        for task in TASKS {
            for message in 0..24 {
                for after in [false, true] {
                    cells += 1;
                    let fault = Fault {
                        task,
                        message,
                        after,
                    };
                    let o = run(
                        platform,
                        &[(Op::Reassign(device, DomainId(3)), Some(fault))],
                        knobs,
                    );
                    total.transactions += o.transactions;
                    total.faults += o.faults;
                    total.violations.extend(
                        o.violations
                            .into_iter()
                            .map(|v| format!("matrix {device} {fault:?}: {v}")),
                    );
                }
            }
        }
    }
    (cells, total)
}

/// A deterministic generator (xorshift) for the random workload.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// A seeded random workload of `len` operations with faults.
pub fn workload(platform: &Platform, seed: u64, len: usize) -> Vec<(Op, Option<Fault>)> {
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let devs = platform.movable();
    (0..len)
        .map(|_| {
            let d = devs[rng.below(devs.len())];
            let op = match rng.below(10) {
                0..=5 => Op::Reassign(d, DomainId(1 + rng.below(3) as u16)),
                6 => Op::Quarantine(d),
                7 => Op::Release(d),
                _ => Op::OwnerDied(TaskIndex(7 + rng.below(2) as u16)),
            };
            let fault = (rng.below(3) == 0).then(|| Fault {
                task: TASKS[rng.below(TASKS.len())],
                message: rng.below(16),
                after: rng.below(2) == 1,
            });
            (op, fault)
        })
        .collect()
}

/// Runs `seeds` seeds from `first`.
pub fn run_random(
    platform: &Platform,
    first: u64,
    seeds: u64,
    len: usize,
    knobs: task_broker::Knobs,
) -> Outcome {
    let mut total = Outcome::default();
    for seed in first..first + seeds {
        let ops = workload(platform, seed, len);
        let o = run(platform, &ops, knobs);
        total.transactions += o.transactions;
        total.faults += o.faults;
        if let Some(v) = o.violations.first() {
            total.violations.push(format!(
                "seed {seed}: {v}\n  replay: cargo xtask sim --seed {seed}\n  trace: {ops:?}"
            ));
        }
    }
    total
}

/// `cargo xtask sim [--seeds N] [--seed S]`: the matrix and N random seeds;
/// prints the matrix size, transactions and violations; 0 when none.
pub fn cli(args: &[String]) -> i32 {
    let mut seeds = 200u64;
    let mut first = 1u64;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let v = it.clone().next().and_then(|s| s.parse().ok());
        match (a.as_str(), v) {
            ("--seeds", Some(n)) => {
                seeds = n;
                it.next();
            }
            ("--seed", Some(s)) => {
                first = s;
                seeds = 1;
                it.next();
            }
            ("--platform", _) => {
                it.next();
            }
            _ => {
                eprintln!("usage: sim [--seeds N] [--seed S] [--platform NAME]");
                return 2;
            }
        }
    }
    let platform = Platform::standard();
    let (cells, m) = run_matrix(&platform, task_broker::Knobs::default());
    let r = run_random(&platform, first, seeds, 12, task_broker::Knobs::default());
    for v in m.violations.iter().chain(r.violations.iter()).take(5) {
        println!("VIOLATION {v}");
    }
    println!("platforms: 1 (synthetic)\nmatrix: {cells} cells\ntransactions: {}\nfaults injected: {}\ninvariant violations: {}", m.transactions + r.transactions, m.faults + r.faults, m.violations.len() + r.violations.len());
    i32::from(!(m.violations.is_empty() && r.violations.is_empty()))
}
