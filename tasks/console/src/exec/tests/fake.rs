//! A made-up machine for the commands' host tests: app.toml's tables, and
//! [`Services`] over a [`State`] that records every call and answers as a
//! test sets it up. Its broker moves devices in its books and its kernel
//! hands their registers to the new owner, so a command that asks twice
//! sees what changed; a worker that touches registers it does not hold
//! "faults" and comes back a generation later, as the supervisor would.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::format;
use std::rc::Rc;
use std::string::String;
use std::vec::Vec;

use abi::Generation;
use idl_runtime::ClientError;
use idl_types::{
    Bdf, BrokerCounters, BrokerError, ContextState, Custody, DeviceEntry, DevicePage, DmaReport,
    DomainEntry, DomainId, DomainPage, FaultBatch, InterruptRoute, IommuCounters, IommuError,
    ReassignReport, SequencedEvent, SupervisorError, TaskActivity, TaskIndex, TaskReport, UnitId,
    WorkerError,
};

use crate::services::{Reply, Services, Worker};
use crate::system::{Device, DeviceRegisters, DmaMap, Domain, System};
use config_schema::system::PciAddress;

pub const SUPERVISOR: u16 = 0;
pub const DMA_A: u16 = 4;
pub const DMA_B: u16 = 5;
pub static TASKS: [&str; 7] = [
    "supervisor",
    "pci",
    "iommu",
    "broker",
    "dma_a",
    "dma_b",
    "console",
];

pub const EDU0: Bdf = Bdf::from_requester_id(0x0010);
pub const EDU1: Bdf = Bdf::from_requester_id(0x0108);
pub const EDU2: Bdf = Bdf::from_requester_id(0x0018);
/// A device without registers in custody.
pub const NIC0: Bdf = Bdf::from_requester_id(0x0020);

/// An app.toml device on segment 0 (none starts in a domain: the fake
/// broker's books say where each is).
const fn device(name: &'static str, rid: u16) -> Device {
    Device {
        name,
        address: PciAddress { segment: 0, rid },
        domain: None,
    }
}

pub static DEVICES: [Device; 4] = [
    device("edu0", 0x0010),
    device("edu1", 0x0108),
    device("edu2", 0x0018),
    device("nic0", 0x0020),
];

/// A device's registers in custody (the console only asks whether).
const REGISTERS: Option<DeviceRegisters> = Some(DeviceRegisters {
    offset: 0,
    size: 0x10_0000,
});

/// Every device but nic0 has its registers in custody.
pub static DEVICE_REGISTERS: [Option<DeviceRegisters>; 4] = [REGISTERS, REGISTERS, REGISTERS, None];

pub const BUFFER: u64 = 0x10_0000;
pub const DOM_A: DomainId = DomainId(1);
pub const DOM_B: DomainId = DomainId(2);

/// Each domain's buffer (its only map).
static BUFFER_MAP: [DmaMap; 1] = [DmaMap {
    iova: BUFFER,
    paddr: 0x200_0000,
    size: 0x1_0000,
}];

pub static DOMAINS: [Domain; 2] = [
    Domain {
        name: "dom_a",
        owner: DMA_A,
        maps: &BUFFER_MAP,
    },
    Domain {
        name: "dom_b",
        owner: DMA_B,
        maps: &BUFFER_MAP,
    },
];

pub const FAULT_BUDGET: u32 = 5;

pub fn system() -> System<'static> {
    System {
        devices: &DEVICES,
        device_registers: &DEVICE_REGISTERS,
        domains: &DOMAINS,
        first_domain_id: 1,
        task_names: &TASKS,
        supervisor: SUPERVISOR,
        fault_budget: FAULT_BUDGET,
    }
}

/// The devices the fake broker's pages hold at most (so listing pages).
const PAGE: usize = 2;
/// edu's identification register.
pub const EDU_ID: u32 = 0x0100_00ed;
/// Where a worker touching registers it does not hold faults.
pub const TOUCH_FAULT_AT: u64 = 0x4000_0000;
/// TSC ticks a reassignment takes in the fake.
pub const TICKS: u64 = 1000;

/// What one worker answers (None: the ordinary success).
#[derive(Default)]
pub struct WorkerAnswers {
    pub dma: Option<Reply<DmaReport, WorkerError>>,
    pub start: Option<Reply<(), WorkerError>>,
    pub finish: Option<Reply<DmaReport, WorkerError>>,
    pub holds: Option<Reply<bool, WorkerError>>,
    pub storm: Option<Reply<u32, WorkerError>>,
    pub raise: Option<Reply<(), WorkerError>>,
    pub forge: Option<Reply<(), WorkerError>>,
    /// Interrupts received so far.
    pub interrupts: u32,
}

/// The fake machine's state, and every call made of it.
pub struct State {
    /// Each call, as `server.operation args`.
    pub calls: Vec<String>,
    /// The broker's books, in order.
    pub books: Vec<DeviceEntry>,
    /// Whether the broker answers at all.
    pub broker_up: bool,
    /// The answer to the next move (None: done, atomically).
    pub move_answer: Option<Reply<ReassignReport, BrokerError>>,
    /// Moves refused from this many on (bench).
    pub refuse_moves_from: Option<usize>,
    pub moves: usize,
    /// The iommu's counters, each reading adding `counters_step`.
    pub counters: Option<IommuCounters>,
    pub counters_step: IommuCounters,
    pub events: Vec<SequencedEvent>,
    pub pending_faults: FaultBatch,
    pub irte: Reply<InterruptRoute, IommuError>,
    pub broker_stats: BrokerCounters,
    /// Per task: the supervisor's report.
    pub reports: BTreeMap<u16, TaskReport>,
    pub supervisor_answer: Reply<(), SupervisorError>,
    /// Per device index: which task the kernel maps its registers into.
    pub holders: BTreeMap<u16, u16>,
    /// Which worker a raised interrupt or a forged message reaches.
    pub irq_reaches: Option<u16>,
    pub forge_reaches: Option<u16>,
    pub workers: BTreeMap<u16, WorkerAnswers>,
    /// Whether a faulted worker comes back (else it stays faulted).
    pub restarts: bool,
    /// Whether the broker's fault budget takes a storming device away.
    pub storm_quarantines: bool,
    pub now_ms: u64,
    pub tsc: u64,
    pub bench_log: Vec<String>,
}

fn report(generation: u8) -> TaskReport {
    TaskReport {
        generation,
        faulted: false,
        faults: 0,
        restarts: 0,
        last_fault_kind: 0,
        last_fault_a: 0,
        last_fault_b: 0,
        refusals: 0,
        backoff_ms: 0,
        activity: TaskActivity::Receiving { notifications: 0 },
        stack_used: 512,
        stack_size: 4096,
    }
}

pub fn zero_counters() -> IommuCounters {
    IommuCounters {
        unit: UnitId(0),
        context_changes: 0,
        atomic_changes: 0,
        cleared_first_changes: 0,
        best_effort_changes: 0,
        corruption_warnings: 0,
        context_stores: 0,
        context_invalidations: Default::default(),
        iotlb_invalidations: Default::default(),
        faults_drained: 0,
    }
}

fn add(a: IommuCounters, b: IommuCounters) -> IommuCounters {
    let inv = |x: idl_types::InvalidationCounts, y: idl_types::InvalidationCounts| {
        idl_types::InvalidationCounts {
            global: x.global + y.global,
            domain: x.domain + y.domain,
            selective: x.selective + y.selective,
        }
    };
    IommuCounters {
        unit: a.unit,
        context_changes: a.context_changes + b.context_changes,
        atomic_changes: a.atomic_changes + b.atomic_changes,
        cleared_first_changes: a.cleared_first_changes + b.cleared_first_changes,
        best_effort_changes: a.best_effort_changes + b.best_effort_changes,
        corruption_warnings: a.corruption_warnings + b.corruption_warnings,
        context_stores: a.context_stores + b.context_stores,
        context_invalidations: inv(a.context_invalidations, b.context_invalidations),
        iotlb_invalidations: inv(a.iotlb_invalidations, b.iotlb_invalidations),
        faults_drained: a.faults_drained + b.faults_drained,
    }
}

impl State {
    /// edu0 and edu2 in dom_a, edu1 in dom_b, nic0 unassigned; registers
    /// where the books say.
    pub fn new() -> State {
        let entry = |device, custody| DeviceEntry {
            device,
            custody,
            has_rmrr: false,
        };
        let mut s = State {
            calls: Vec::new(),
            books: std::vec![
                entry(EDU0, Custody::Domain(DOM_A)),
                entry(EDU1, Custody::Domain(DOM_B)),
                entry(EDU2, Custody::Domain(DOM_A)),
                entry(NIC0, Custody::Unassigned),
            ],
            broker_up: true,
            move_answer: None,
            refuse_moves_from: None,
            moves: 0,
            counters: Some(zero_counters()),
            counters_step: zero_counters(),
            events: Vec::new(),
            pending_faults: FaultBatch {
                records: heapless::Vec::new(),
                pending: 0,
                lost: 0,
            },
            irte: Ok(InterruptRoute::Blocked),
            broker_stats: BrokerCounters::default(),
            reports: (0..TASKS.len() as u16).map(|t| (t, report(1))).collect(),
            supervisor_answer: Ok(()),
            holders: BTreeMap::new(),
            irq_reaches: None,
            forge_reaches: None,
            workers: [DMA_A, DMA_B]
                .into_iter()
                .map(|w| (w, WorkerAnswers::default()))
                .collect(),
            restarts: true,
            storm_quarantines: false,
            now_ms: 0,
            tsc: 0,
            bench_log: Vec::new(),
        };
        for i in 0..3 {
            s.grant(i);
        }
        s
    }

    /// Maps device `index`'s registers into its owner by the books.
    fn grant(&mut self, index: u16) {
        let rid = DEVICES[usize::from(index)].address.rid;
        let custody = self
            .books
            .iter()
            .find(|e| e.device.requester_id() == Some(rid))
            .map(|e| e.custody);
        match custody.and_then(|c| match c {
            Custody::Domain(d) => system().owner_task(d),
            _ => None,
        }) {
            Some(owner) => self.holders.insert(index, owner),
            None => self.holders.remove(&index),
        };
    }

    fn call(&mut self, what: String) {
        self.calls.push(what);
    }

    fn worker(&mut self, task: u16) -> &mut WorkerAnswers {
        self.workers.entry(task).or_default()
    }

    /// The broker's move of `device` to `custody`, as answered.
    fn apply_move(&mut self, device: Bdf, custody: Custody) -> Reply<ReassignReport, BrokerError> {
        self.moves += 1;
        if self.refuse_moves_from.is_some_and(|n| self.moves > n) {
            return Err(ClientError::Op(BrokerError::Busy));
        }
        let answer = self.move_answer.take().unwrap_or(Ok(ReassignReport {
            previous: ContextState::NotPresent,
            current: ContextState::NotPresent,
            atomic: true,
        }));
        if answer.is_ok() {
            if let Some(e) = self.books.iter_mut().find(|e| e.device == device) {
                e.custody = custody;
            }
            if let Some(i) = system().device_index(device) {
                self.grant(i);
            }
        }
        answer
    }
}

/// [`Services`] over a shared [`State`].
pub struct Fake(pub Rc<RefCell<State>>);

/// One worker's client.
pub struct FakeWorker(pub Rc<RefCell<State>>, pub u16);

impl Services for Fake {
    type Worker = FakeWorker;

    fn list_devices(&mut self, start: u16) -> Reply<DevicePage> {
        let mut s = self.0.borrow_mut();
        s.call(format!("broker.list_devices {start}"));
        if !s.broker_up {
            return Err(ClientError::AccessDenied);
        }
        let start = usize::from(start);
        let entries = s.books.iter().skip(start).take(PAGE).copied().collect();
        let next = (start + PAGE < s.books.len()).then_some((start + PAGE) as u16);
        Ok(DevicePage { entries, next })
    }

    fn list_domains(&mut self, start: u16) -> Reply<DomainPage> {
        let mut s = self.0.borrow_mut();
        s.call(format!("broker.list_domains {start}"));
        if !s.broker_up {
            return Err(ClientError::AccessDenied);
        }
        let entries = (1..)
            .zip(&DOMAINS)
            .skip(usize::from(start))
            .take(PAGE)
            .map(|(id, d)| DomainEntry {
                domain: DomainId(id),
                owner: TaskIndex(d.owner),
                devices: s
                    .books
                    .iter()
                    .filter(|e| e.custody == Custody::Domain(DomainId(id)))
                    .count() as u16,
            })
            .collect();
        Ok(DomainPage {
            entries,
            next: None,
        })
    }

    fn assign(&mut self, device: Bdf, domain: DomainId) -> Reply<ReassignReport, BrokerError> {
        let mut s = self.0.borrow_mut();
        s.call(format!("broker.assign {device} {}", domain.0));
        s.apply_move(device, Custody::Domain(domain))
    }

    fn reassign(&mut self, device: Bdf, domain: DomainId) -> Reply<ReassignReport, BrokerError> {
        let mut s = self.0.borrow_mut();
        s.call(format!("broker.reassign {device} {}", domain.0));
        s.apply_move(device, Custody::Domain(domain))
    }

    fn quarantine(&mut self, device: Bdf) -> Reply<ReassignReport, BrokerError> {
        let mut s = self.0.borrow_mut();
        s.call(format!("broker.quarantine {device}"));
        s.apply_move(device, Custody::Quarantined)
    }

    fn release(&mut self, device: Bdf) -> Reply<ReassignReport, BrokerError> {
        let mut s = self.0.borrow_mut();
        s.call(format!("broker.release {device}"));
        s.apply_move(device, Custody::Unassigned)
    }

    fn event_after(&mut self, after: u32) -> Reply<Option<SequencedEvent>> {
        let mut s = self.0.borrow_mut();
        s.call(format!("broker.event_after {after}"));
        Ok(s.events.iter().find(|e| e.seq > after).copied())
    }

    fn broker_stats(&mut self) -> Reply<BrokerCounters> {
        let mut s = self.0.borrow_mut();
        s.call("broker.stats".into());
        Ok(s.broker_stats)
    }

    fn counters(&mut self, unit: UnitId) -> Reply<IommuCounters, IommuError> {
        let mut s = self.0.borrow_mut();
        s.call(format!("iommu.counters {}", unit.0));
        let now = s.counters.ok_or(ClientError::AccessDenied)?;
        s.counters = Some(add(now, s.counters_step));
        Ok(now)
    }

    fn pull_faults(&mut self) -> Reply<FaultBatch, IommuError> {
        let mut s = self.0.borrow_mut();
        s.call("iommu.pull_faults".into());
        let batch = s.pending_faults.clone();
        s.pending_faults.records.clear();
        Ok(batch)
    }

    fn get_irte(&mut self, unit: UnitId, handle: u16) -> Reply<InterruptRoute, IommuError> {
        let mut s = self.0.borrow_mut();
        s.call(format!("iommu.get_irte {} {handle}", unit.0));
        s.irte
    }

    fn task_report(&mut self, task: TaskIndex) -> Reply<TaskReport, SupervisorError> {
        let mut s = self.0.borrow_mut();
        s.call(format!("supervisor.task_report {}", task.0));
        s.reports
            .get(&task.0)
            .copied()
            .ok_or(ClientError::AccessDenied)
    }

    fn message_count(&mut self, task: TaskIndex) -> Reply<u32, SupervisorError> {
        let mut s = self.0.borrow_mut();
        s.call(format!("supervisor.message_count {}", task.0));
        // Each task has had one message per move so far.
        Ok(s.moves as u32)
    }

    fn fault_task(&mut self, task: TaskIndex) -> Reply<(), SupervisorError> {
        let mut s = self.0.borrow_mut();
        s.call(format!("supervisor.fault_task {}", task.0));
        s.supervisor_answer
    }

    fn arm_fault(&mut self, task: TaskIndex, at: u16) -> Reply<(), SupervisorError> {
        let mut s = self.0.borrow_mut();
        s.call(format!("supervisor.arm_fault {} {at}", task.0));
        s.supervisor_answer
    }

    fn shutdown(&mut self, code: u8) -> Reply<()> {
        let mut s = self.0.borrow_mut();
        s.call(format!("supervisor.shutdown {code}"));
        Ok(())
    }

    fn worker(&mut self, task: u16) -> FakeWorker {
        FakeWorker(self.0.clone(), task)
    }

    fn register_holder(&mut self, index: u16) -> Option<u16> {
        let mut s = self.0.borrow_mut();
        s.call(format!("kernel.register_holder {index}"));
        s.holders.get(&index).copied()
    }

    fn now_ms(&mut self) -> u64 {
        self.0.borrow().now_ms
    }

    fn sleep_ms(&mut self, ms: u64) {
        self.0.borrow_mut().now_ms += ms;
    }

    fn tsc(&mut self) -> u64 {
        let mut s = self.0.borrow_mut();
        s.tsc += TICKS;
        s.tsc
    }

    fn log_bench(&mut self, name: &str, what: Option<&str>, value: u64) {
        let line = match what {
            None => format!("BENCH reassign_{name} {value}"),
            Some(what) => format!("BENCH reassign_{name}_{what} {value}"),
        };
        self.0.borrow_mut().bench_log.push(line);
    }
}

impl FakeWorker {
    fn call(&self, what: String) -> std::cell::RefMut<'_, State> {
        let mut s = self.0.borrow_mut();
        s.call(format!("{}.{what}", TASKS[usize::from(self.1)]));
        s
    }
}

/// What an ordinary transfer reports.
pub fn landed(device: Bdf, iova: u64) -> DmaReport {
    DmaReport {
        device,
        iova,
        landed: true,
        rest_untouched: true,
        millis: 100,
    }
}

impl Worker for FakeWorker {
    fn dma(&mut self, device: Bdf, iova: u64, pattern: u8) -> Reply<DmaReport, WorkerError> {
        let mut s = self.call(format!("dma {device} {iova:#x} {pattern:#x}"));
        let task = self.1;
        s.worker(task)
            .dma
            .take()
            .unwrap_or(Ok(landed(device, iova)))
    }

    fn start_dma(&mut self, device: Bdf, iova: u64, pattern: u8) -> Reply<(), WorkerError> {
        let mut s = self.call(format!("start_dma {device} {iova:#x} {pattern:#x}"));
        let task = self.1;
        s.worker(task).start.take().unwrap_or(Ok(()))
    }

    fn finish_dma(&mut self) -> Reply<DmaReport, WorkerError> {
        let mut s = self.call("finish_dma".into());
        let task = self.1;
        s.worker(task)
            .finish
            .take()
            .unwrap_or(Ok(landed(EDU0, BUFFER)))
    }

    fn holds(&mut self, iova: u64, pattern: u8) -> Reply<bool, WorkerError> {
        let mut s = self.call(format!("holds {iova:#x} {pattern:#x}"));
        let task = self.1;
        s.worker(task).holds.take().unwrap_or(Ok(true))
    }

    fn storm(&mut self, device: Bdf, iova: u64, millis: u32) -> Reply<u32, WorkerError> {
        let mut s = self.call(format!("storm {device} {iova:#x} {millis}"));
        if s.storm_quarantines {
            if let Some(e) = s.books.iter_mut().find(|e| e.device == device) {
                e.custody = Custody::Quarantined;
            }
        }
        let task = self.1;
        s.worker(task).storm.take().unwrap_or(Ok(millis))
    }

    fn raise_interrupt(&mut self, device: Bdf) -> Reply<(), WorkerError> {
        let mut s = self.call(format!("raise_interrupt {device}"));
        let task = self.1;
        let answer = s.worker(task).raise.take().unwrap_or(Ok(()));
        if answer.is_ok() {
            if let Some(w) = s.irq_reaches {
                s.worker(w).interrupts += 1;
            }
        }
        answer
    }

    fn interrupts_seen(&mut self) -> Reply<u32> {
        let mut s = self.call("interrupts_seen".into());
        let task = self.1;
        Ok(s.worker(task).interrupts)
    }

    fn forge_msi(&mut self, device: Bdf, address: u64, data: u32) -> Reply<(), WorkerError> {
        let mut s = self.call(format!("forge_msi {device} {address:#x} {data:#x}"));
        let task = self.1;
        let answer = s.worker(task).forge.take().unwrap_or(Ok(()));
        if answer.is_ok() {
            if let Some(w) = s.forge_reaches {
                s.worker(w).interrupts += 1;
            }
        }
        answer
    }

    /// The holder reads the ID; anyone else page-faults and (if
    /// `restarts`) comes back a generation later.
    fn touch_registers(&mut self, device: Bdf) -> Reply<u32, WorkerError> {
        let task = self.1;
        let mut s = self.call(format!("touch_registers {device}"));
        let Some(index) = system().device_index(device) else {
            return Err(ClientError::Op(WorkerError::NoRegisters(device)));
        };
        if s.holders.get(&index) == Some(&task) {
            return Ok(EDU_ID);
        }
        let restarts = s.restarts;
        let r = s.reports.entry(task).or_insert_with(|| report(1));
        r.faults += 1;
        r.last_fault_kind = 1;
        r.last_fault_a = TOUCH_FAULT_AT;
        r.last_fault_b = 0;
        if restarts {
            r.generation += 1;
        } else {
            r.faulted = true;
            r.backoff_ms = 40;
        }
        Err(ClientError::ServerDied {
            new_generation: Generation::new(r.generation),
        })
    }
}
