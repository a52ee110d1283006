//! One simulated machine: the platform's hardware, the real servers over
//! the in-process transport, the broker over the faulty transport, and the
//! requests a workload makes, each followed by the invariants.
//!
//! [`with_machine`] builds everything on the stack (the registry borrows
//! the server slots, the broker's transport borrows the registry) and hands
//! the running machine to a closure. Boot is fault-free: the sim creates
//! the three domains, maps a probe page in each, and starts the broker,
//! which makes the initial assignments (devices alternate between domains
//! 1 and 2).

use std::cell::RefCell;
use std::rc::Rc;

use idl_runtime::abi::TaskId;
use idl_runtime::InProcess;
use idl_types::{Access, Bdf, BrokerError, Custody, DomainId, TaskIndex};
use task_broker::{
    Broker, Config, DeviceConfig, DomainConfig, DomainMap, Knobs, PeerIds, Peers, JOURNAL_BYTES,
};

use crate::hardware::Hardware;
use crate::invariants::{self, Snapshot};
use crate::platform::Platform;
use crate::servers::{index, Servers, NAMES};
use crate::transport::{kill, Control, Ctl, Fault, FaultyTransport, SimStore};

/// The domains of every machine, with their owners.
pub const DOMAINS: [(DomainId, &str); 3] = [
    (DomainId(1), "dma-a"),
    (DomainId(2), "dma-b"),
    (DomainId(3), "console"),
];
/// The interrupt vector of domain `DOMAINS[i]` (app.toml's `interrupt`).
pub const fn vector_of(i: usize) -> u8 {
    FIRST_VECTOR + i as u8
}
/// The first domain's vector.
const FIRST_VECTOR: u8 = 64;
/// The operator (may move anything).
pub const OPERATOR: &str = "console";
/// Every domain maps this I/O address to its own probe page.
pub const PROBE_IOVA: u64 = 0x10_0000;
/// Rounds of recovery after a request (each a restart or a death handled;
/// a fault strikes at most twice).
const RECOVERY_ROUNDS: usize = 8;
/// The probe page's size.
const PROBE_BYTES: u64 = 0x1000;

/// The physical page a domain's probe IOVA reaches.
pub fn probe_page(domain: DomainId) -> u64 {
    0x4000_0000 + u64::from(domain.0) * 0x1000
}

/// A request of the workload.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// The operator moves a device to a domain.
    Reassign(Bdf, DomainId),
    /// The operator quarantines a device.
    Quarantine(Bdf),
    /// The operator releases a device.
    Release(Bdf),
    /// A task died; the supervisor tells the broker.
    OwnerDied(&'static str),
    /// A domain's owner asks for a device back.
    Reclaim(&'static str, Bdf, DomainId),
    /// A task that may not asks for a device.
    Unauthorized(&'static str, Bdf, DomainId),
    /// A peer restarts between requests.
    Restart(&'static str),
}

/// What runs found.
#[derive(Default, Debug, Clone)]
pub struct Outcome {
    /// Requests made (each is at most one transaction).
    pub transactions: u64,
    /// Faults that struck.
    pub faults: u64,
    /// Invariant violations, each with its context.
    pub violations: Vec<String>,
}

impl Outcome {
    /// Adds another outcome's counts and violations.
    pub fn absorb(&mut self, other: Outcome) {
        self.transactions += other.transactions;
        self.faults += other.faults;
        self.violations.extend(other.violations);
    }
}

/// The broker type of the simulator.
pub type SimBroker<'a, 's, 'h> = Broker<FaultyTransport<'a, 's, 'h>, SimStore>;

/// A running machine.
pub struct Machine<'a, 's, 'h> {
    /// The platform.
    pub platform: &'h Platform,
    /// Its hardware.
    pub hw: &'a Hardware<'h>,
    /// Its servers.
    pub servers: &'a Servers<'h>,
    /// The registry.
    pub system: &'a InProcess<'s, 9>,
    /// Shared with the transport.
    pub ctl: Ctl,
    transport: FaultyTransport<'a, 's, 'h>,
    broker: Option<SimBroker<'a, 's, 'h>>,
    devices: Vec<DeviceConfig>,
    domains: Vec<DomainConfig>,
    knobs: Knobs,
    /// Counts and violations so far.
    pub out: Outcome,
    /// Requests made so far, for the replay trace.
    pub history: Vec<String>,
    /// The last request's result.
    pub last: Option<Result<(), BrokerError>>,
}

fn ids(system: &InProcess<'_, 9>) -> PeerIds {
    let id = |n: &str| system.task_id(n).unwrap_or(TaskId::KERNEL);
    PeerIds {
        acpi: id("acpi"),
        domid: id("domid"),
        iommu: id("iommu"),
        pci: id("pci"),
        supervisor: id("supervisor"),
    }
}

/// The kernel's index of `device`'s registers: its place in the
/// platform's device list.
pub fn register_index(platform: &Platform, device: Bdf) -> Option<u16> {
    platform
        .devices
        .iter()
        .position(|d| d.bdf == device)
        .and_then(|i| u16::try_from(i).ok())
}

/// The broker's devices and where each starts: RMRR devices first (so a
/// legacy RMRR device takes its bridge aliases before its neighbours),
/// domains 1 and 2 alternating, and every device behind one bridge in the
/// domain of the first (so the neighbours never hold an RMRR device's alias
/// for another owner, which would refuse every move of it).
pub fn initial_assignments(platform: &Platform) -> Vec<DeviceConfig> {
    let mut order: Vec<&crate::platform::SimDevice> = platform.devices.iter().collect();
    order.sort_by_key(|d| d.rmrrs.is_empty());
    let mut out: Vec<DeviceConfig> = Vec::new();
    let mut by_alias: Vec<(Bdf, DomainId)> = Vec::new();
    for (i, d) in order.into_iter().enumerate() {
        let shared = d
            .aliases()
            .find_map(|a| by_alias.iter().find(|(b, _)| *b == a).map(|(_, x)| *x));
        let domain = shared.unwrap_or(DOMAINS[i % 2].0);
        by_alias.extend(d.aliases().map(|a| (a, domain)));
        out.push(DeviceConfig {
            device: d.bdf,
            initial: Some(domain),
            // Every device's registers are in custody, indexed by its place
            // in the platform's list (the kernel model's order).
            registers: register_index(platform, d.bdf),
        });
    }
    out
}

/// Builds the machine of `platform` and runs `f` on it.
pub fn with_machine<R>(
    platform: &Platform,
    knobs: Knobs,
    f: impl FnOnce(&mut Machine<'_, '_, '_>) -> R,
) -> Result<R, String> {
    with_machine_assigning(platform, initial_assignments(platform), knobs, f)
}

/// [`with_machine`] with the broker's devices and their initial domains
/// given (a device with `initial: None` boots unassigned).
pub fn with_machine_assigning<R>(
    platform: &Platform,
    devices: Vec<DeviceConfig>,
    knobs: Knobs,
    f: impl FnOnce(&mut Machine<'_, '_, '_>) -> R,
) -> Result<R, String> {
    let extras = platform.extra_rmrrs();
    let hw = Hardware::new(platform);
    let servers = Servers::new(&hw, &extras)?;
    let mut iommu = servers.iommu.clone();
    let mut domid = servers.domid.clone();
    let mut acpi = servers.acpi.clone();
    let mut pci = servers.pci.clone();
    let mut supervisor = servers.supervisor.clone();
    let system = InProcess::new(NAMES);
    let registered = [
        system.register("iommu", &mut iommu),
        system.register("domid", &mut domid),
        system.register("acpi", &mut acpi),
        system.register("pci", &mut pci),
        system.register("supervisor", &mut supervisor),
    ];
    if registered.iter().any(Result::is_err) {
        return Err("a server could not be registered".into());
    }
    let client = system.client("broker").map_err(|e| format!("{e}"))?;
    {
        let id = system.task_id("iommu").map_err(|e| format!("{e}"))?;
        let mut setup = task_iommu::iommu::Client::new(client, id);
        for (domain, _) in DOMAINS {
            setup
                .create_domain(domain)
                .map_err(|e| format!("create {domain}: {e}"))?;
            setup
                .map_range(domain, PROBE_IOVA, probe_page(domain), 1, Access::ReadWrite)
                .map_err(|e| format!("probe map of {domain}: {e}"))?;
        }
    }
    let ctl: Ctl = Rc::new(RefCell::new(Control::default()));
    let transport = FaultyTransport {
        inner: client,
        system: &system,
        servers: &servers,
        hw: &hw,
        ctl: ctl.clone(),
    };
    let domains: Vec<DomainConfig> = DOMAINS
        .iter()
        .enumerate()
        .map(|(i, &(domain, owner))| DomainConfig {
            domain,
            owner: index(owner),
            vector: Some(vector_of(i)),
        })
        .collect();
    let mut m = Machine {
        platform,
        hw: &hw,
        servers: &servers,
        system: &system,
        ctl: ctl.clone(),
        transport,
        broker: None,
        devices,
        domains,
        knobs,
        out: Outcome::default(),
        history: Vec::new(),
        last: None,
    };
    let store = SimStore {
        bytes: vec![0; JOURNAL_BYTES],
        ctl,
    };
    m.start_broker(store)?;
    m.watch_rmrr_devices();
    m.check("boot", None);
    Ok(f(&mut m))
}

impl<'a, 's, 'h> Machine<'a, 's, 'h> {
    fn start_broker(&mut self, store: SimStore) -> Result<(), String> {
        let operators = [index(OPERATOR)];
        let config = Config {
            devices: &self.devices,
            domains: &self.domains,
            operators: &operators,
            fault_budget: task_broker::DEFAULT_FAULT_BUDGET,
        };
        let peers = Peers::new(self.transport.clone(), ids(self.system));
        // The broker knows each domain's memory (the probe page), as the
        // firmware's knows app.toml's maps.
        let maps: Vec<DomainMap> = DOMAINS
            .iter()
            .map(|&(domain, _)| DomainMap {
                domain,
                iova: PROBE_IOVA,
                phys: probe_page(domain),
                bytes: PROBE_BYTES,
            })
            .collect();
        let mut broker =
            Broker::start_with_memory(peers, store, &config, &maps).map_err(|e| format!("{e}"))?;
        // As the firmware broker does at start: the deaths after its
        // journal's cursor (those no broker handled, or one a dead broker
        // was handling) are handled now.
        broker.poll_deaths();
        self.broker = Some(broker);
        #[cfg(any(test, feature = "knobs"))]
        if let Some(b) = self.broker.as_mut() {
            b.set_knobs(self.knobs);
        }
        let _ = self.knobs;
        Ok(())
    }

    /// The broker (always running between requests).
    pub fn broker(&mut self) -> &mut SimBroker<'a, 's, 'h> {
        self.broker
            .as_mut()
            .expect("the broker runs between requests")
    }

    /// Takes the broker out of the machine (a harness serving it over its
    /// own registry, as the fuzz targets do); [`Machine::put_broker`] puts
    /// it back before the machine is used again.
    pub fn take_broker(&mut self) -> Option<SimBroker<'a, 's, 'h>> {
        self.broker.take()
    }

    /// Puts a broker taken with [`Machine::take_broker`] back.
    pub fn put_broker(&mut self, broker: SimBroker<'a, 's, 'h>) {
        self.broker = Some(broker);
    }

    /// Restarts the broker over `bytes` as its persist region (what a
    /// previous life left, or anything a hostile or broken region holds):
    /// it opens and replays the journal and rebuilds its books.
    pub fn restart_broker_with(&mut self, bytes: Vec<u8>) -> Result<(), String> {
        self.broker = None;
        {
            let mut c = self.ctl.borrow_mut();
            c.arm(None);
            c.broker_dead = false;
        }
        let store = SimStore {
            bytes,
            ctl: self.ctl.clone(),
        };
        self.start_broker(store)
    }

    /// The broker, read-only.
    /// Each device's interrupt-remapping entry: its index in the broker's
    /// device list.
    pub fn interrupt_handle(&self, device: Bdf) -> Option<u16> {
        let i = self.devices.iter().position(|d| d.device == device)?;
        u16::try_from(i).ok()
    }

    /// The broker (panics before it started).
    pub fn broker_ref(&self) -> &SimBroker<'a, 's, 'h> {
        self.broker
            .as_ref()
            .expect("the broker runs between requests")
    }

    /// Watches every requester ID of every device, its bridge aliases
    /// included (samples of each RMRR of a device present at boot: first,
    /// middle and last page, through every ID it may DMA with; the others
    /// for mixed states only).
    fn watch_rmrr_devices(&self) {
        let mut watched: std::collections::BTreeMap<(idl_types::UnitId, Bdf), Vec<u64>> =
            std::collections::BTreeMap::new();
        for d in &self.platform.devices {
            let present = self.hw.entry(d.unit, d.bdf).present;
            let mut pages = Vec::new();
            if present {
                for r in &d.rmrrs {
                    let first = r.base & !0xfff;
                    let last = r.end & !0xfff;
                    let middle = (first + (last - first) / 2) & !0xfff;
                    pages.extend([first, middle, last]);
                }
            }
            for &rid in &d.rids {
                watched
                    .entry((d.unit, rid))
                    .or_default()
                    .extend(pages.iter().copied());
            }
        }
        for ((unit, rid), mut pages) in watched {
            pages.sort_unstable();
            pages.dedup();
            self.hw.watch(unit, rid, &pages);
        }
    }

    /// Makes one request with at most one planned fault, restarts whoever
    /// died, and checks the invariants.
    pub fn step(&mut self, op: Op, fault: Option<Fault>) {
        self.step_twice(op, fault, None);
    }

    /// [`Machine::step`] with a second fault during the recovery from the
    /// first (see [`crate::transport::Control::second`]).
    pub fn step_twice(&mut self, op: Op, fault: Option<Fault>, second: Option<Fault>) {
        self.ctl.borrow_mut().arm_twice(fault, second);
        let before = Snapshot::take(self);
        let label = match second {
            None => format!("{op:?} fault {fault:?}"),
            Some(s) => format!("{op:?} fault {fault:?} then in recovery {s:?}"),
        };
        self.history.push(label.clone());
        let operator = index(OPERATOR);
        let b = self.broker();
        let result: Result<(), BrokerError> = match op {
            Op::Reassign(d, t) => b.reassign(operator, d, t).map(|_| ()),
            Op::Quarantine(d) => b.quarantine(operator, d).map(|_| ()),
            Op::Release(d) => b.release(operator, d).map(|_| ()),
            Op::Reclaim(task, d, t) | Op::Unauthorized(task, d, t) => {
                b.assign(index(task), d, t).map(|_| ())
            }
            Op::OwnerDied(task) => {
                let generation = self
                    .system
                    .task_id(task)
                    .map_or(0, |t| t.generation().get());
                self.servers.record_death(task, generation);
                self.broker().poll_deaths();
                Ok(())
            }
            Op::Restart(task) => {
                kill(self.system, self.servers, &self.ctl, task);
                Ok(())
            }
        };
        self.last = Some(result);
        self.out.transactions += 1;
        self.recover();
        self.check(&label, Some((op, before, result)));
    }

    /// After a request: a dead broker (or one whose journal failed, which
    /// the firmware restarts) restarts from its journal store; a restarted
    /// peer is reported to the broker (the supervisor's word). Recovery
    /// repeats while it is itself struck (a second fault: the broker dying
    /// in its replay, a peer dying as the broker rebuilds from it).
    fn recover(&mut self) {
        {
            let mut c = self.ctl.borrow_mut();
            c.fault = None;
            if c.fired {
                self.out.faults += 1;
            }
        }
        for _ in 0..RECOVERY_ROUNDS {
            let broken = self.broker.as_ref().is_some_and(|b| b.journal_broken());
            let (dead, killed) = {
                let mut c = self.ctl.borrow_mut();
                let dead = c.broker_dead || broken;
                c.broker_dead = false;
                c.journal_refusing = false;
                (dead, std::mem::take(&mut c.killed))
            };
            if !dead && killed.is_empty() {
                break;
            }
            if dead {
                if let Some(old) = self.broker.take() {
                    if let Err(e) = self.start_broker(old.into_store()) {
                        self.out
                            .violations
                            .push(format!("broker did not restart: {e}"));
                        return;
                    }
                }
            } else {
                // The supervisor logged each death; the broker pulls and
                // handles them as the firmware's does after the
                // notification (a restarted broker did at its start).
                self.broker().poll_deaths();
            }
        }
        let mut c = self.ctl.borrow_mut();
        if c.second_fired {
            self.out.faults += 1;
        }
        c.second = None;
    }

    /// Checks every invariant, recording violations with the history.
    pub fn check(&mut self, when: &str, request: Option<(Op, Snapshot, Result<(), BrokerError>)>) {
        let mut found = std::mem::take(&mut self.ctl.borrow_mut().violations);
        found.extend(invariants::check(self, request));
        for v in found {
            self.out.violations.push(format!(
                "{}: after {when}: {v}\n  history: {}",
                self.platform.name,
                self.history.join(" / ")
            ));
        }
    }

    /// The custody of `device` in the books.
    pub fn custody(&self, device: Bdf) -> Option<Custody> {
        self.broker_ref().books().device(device).map(|d| d.custody)
    }

    /// The task index of a name.
    pub fn task(&self, name: &str) -> TaskIndex {
        index(name)
    }
}
