//! The DMA worker's server (`task_dma_worker::server::Worker`, the code
//! the task runs) fed arbitrary calls through its generated dispatch, on a
//! fake machine: two edu devices whose registers the worker may or may
//! not hold, a clock that moves, a broker whose books say whose each
//! device is, and q35's real pci server for bus mastering.
//!
//! Input: one byte of machine state, then a [`Script`]. The state byte
//! says, per device, whether the broker's books give it to this worker's
//! domain, whether the kernel maps its registers into this worker, and
//! whether its DMAs ever finish. Whatever the calls, the server answers or
//! refuses, never panics, and stays bounded (every wait ends).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use edu::EduBus;
use idl_runtime::abi::TaskId;
use idl_runtime::{Dispatch, InProcess};
use idl_types::{
    Bdf, BrokerCounters, BrokerError, Custody, DeviceEntry, DevicePage, DomainId, DomainPage,
    ReassignReport, SequencedEvent, TxStatus,
};
use sim::servers::NAMES;
use task_dma_worker::server::{Event, Machine, Worker};
use task_dma_worker::{broker, pci, worker, Buffer};

use crate::script::{Reader, Script};
use crate::servers::{pci_server, GROUPS, PCI_BRIDGED_EDU, PCI_EDU};

/// The worker under test serves this task's domain.
const WORKER: &str = "dma-a";
/// Its domain.
const DOMAIN: DomainId = DomainId(1);
/// Another domain.
const OTHER: DomainId = DomainId(2);
/// The worker's buffer: IOVA and bytes.
const BUFFER: Buffer = Buffer {
    iova_base: 0x10_0000,
    size: 0x1_0000,
};
/// The devices, by app.toml index.
const DEVICES: [Bdf; 2] = [PCI_EDU, PCI_BRIDGED_EDU];
/// edu's ID register value (version 1.0, magic 0xed).
const EDU_ID: u32 = 0x0100_00ed;
/// What the clock moves per look (ms), so every loop on it ends.
const TICK_MS: u64 = 1;
/// What a poll's sleep moves the clock (ms).
const SLEEP_MS: u64 = 10;

/// One device as the fake machine has it.
#[derive(Clone, Default)]
struct Device {
    /// The broker's books give it to the worker's domain.
    ours: bool,
    /// The kernel maps its registers into the worker.
    held: bool,
    /// Its DMAs never finish.
    stuck: bool,
    /// Its registers (64-bit slots by offset).
    regs: BTreeMap<usize, u64>,
}

/// The machine's state, shared by the buses it hands out.
type Shared = Rc<RefCell<[Device; 2]>>;

/// One device's registers, for one use.
struct Bus {
    state: Shared,
    index: usize,
}

impl Bus {
    fn read(&mut self, offset: usize) -> u64 {
        let mut devices = self.state.borrow_mut();
        let d = &mut devices[self.index];
        if offset == edu::regs::ID {
            return u64::from(EDU_ID);
        }
        let value = d.regs.get(&offset).copied().unwrap_or(0);
        if offset == edu::regs::DMA_CMD && !d.stuck {
            // A started transfer is over by the next look.
            d.regs.insert(offset, value & !edu::regs::DMA_CMD_RUN);
        }
        value
    }
}

impl EduBus for Bus {
    fn read32(&mut self, offset: usize) -> u32 {
        self.read(offset) as u32
    }
    fn write32(&mut self, offset: usize, value: u32) {
        self.write64(offset, u64::from(value));
    }
    fn read64(&mut self, offset: usize) -> u64 {
        self.read(offset)
    }
    fn write64(&mut self, offset: usize, value: u64) {
        self.state.borrow_mut()[self.index]
            .regs
            .insert(offset, value);
    }
}

/// The worker task's machine.
struct Fake {
    devices: Shared,
    clock: RefCell<u64>,
}

impl Machine for Fake {
    type Bus = Bus;

    fn registers(&mut self, index: u16) -> Option<Bus> {
        let i = usize::from(index);
        let held = self.devices.borrow().get(i)?.held;
        held.then(|| Bus {
            state: self.devices.clone(),
            index: i,
        })
    }

    fn device_index(&self, device: Bdf) -> Option<u16> {
        DEVICES.iter().position(|d| *d == device).map(|i| i as u16)
    }

    fn read_id_unchecked(&mut self, index: u16) -> Option<u32> {
        // A non-holder faults on the real machine; here it reads nothing.
        let held = self.devices.borrow().get(usize::from(index))?.held;
        held.then_some(EDU_ID)
    }

    fn now_ms(&self) -> u64 {
        let mut clock = self.clock.borrow_mut();
        *clock += TICK_MS;
        *clock
    }

    fn sleep_poll(&mut self) {
        *self.clock.borrow_mut() += SLEEP_MS;
    }

    fn irq_bit(&self) -> u32 {
        1 << 1
    }

    fn rearm_irq(&mut self) {}

    fn log(&mut self, _event: Event) {}
}

/// The broker as the worker sees it: its books of the two devices.
struct Books(Shared);

impl broker::Server for Books {
    fn list_devices(&mut self, _: TaskId, a: broker::ListDevicesArgs) -> DevicePage {
        let mut page = DevicePage {
            entries: heapless::Vec::new(),
            next: None,
        };
        for (i, d) in self
            .0
            .borrow()
            .iter()
            .enumerate()
            .skip(usize::from(a.start))
        {
            let custody = Custody::Domain(if d.ours { DOMAIN } else { OTHER });
            let entry = DeviceEntry {
                device: DEVICES[i],
                custody,
                has_rmrr: false,
            };
            if page.entries.push(entry).is_err() {
                break;
            }
        }
        page
    }
    fn list_domains(&mut self, _: TaskId, _: broker::ListDomainsArgs) -> DomainPage {
        DomainPage {
            entries: heapless::Vec::new(),
            next: None,
        }
    }
    fn assign(&mut self, _: TaskId, a: broker::AssignArgs) -> Result<ReassignReport, BrokerError> {
        Err(BrokerError::NotPermitted(a.device))
    }
    fn reassign(
        &mut self,
        _: TaskId,
        a: broker::ReassignArgs,
    ) -> Result<ReassignReport, BrokerError> {
        Err(BrokerError::NotPermitted(a.device))
    }
    fn quarantine(
        &mut self,
        _: TaskId,
        a: broker::QuarantineArgs,
    ) -> Result<ReassignReport, BrokerError> {
        Err(BrokerError::NotPermitted(a.device))
    }
    fn release(
        &mut self,
        _: TaskId,
        a: broker::ReleaseArgs,
    ) -> Result<ReassignReport, BrokerError> {
        Err(BrokerError::NotPermitted(a.device))
    }
    fn tx_status(&mut self, _: TaskId, _: broker::TxStatusArgs) -> TxStatus {
        TxStatus::Idle
    }
    fn event_after(&mut self, _: TaskId, _: broker::EventAfterArgs) -> Option<SequencedEvent> {
        None
    }
    fn stats(&mut self, _: TaskId, _: broker::StatsArgs) -> BrokerCounters {
        BrokerCounters::default()
    }
}

/// The machine state a byte describes: per device, bit 0 ours, bit 1
/// held, bit 2 stuck (device 0 in the low nibble, device 1 in the high).
fn devices(state: u8) -> [Device; 2] {
    let device = |bits: u8| Device {
        ours: bits & 1 != 0,
        held: bits & 2 != 0,
        stuck: bits & 4 != 0,
        regs: BTreeMap::new(),
    };
    [device(state & 0xf), device(state >> 4)]
}

/// Fuzz target `worker_server`.
pub fn worker(data: &[u8]) {
    let mut reader = Reader::new(data);
    let state = reader.u8();
    let script = Script::decode(reader.rest());
    run(state, &script);
}

/// Runs `script` against a worker on the machine `state` describes.
pub fn run(state: u8, script: &Script) {
    with_worker(state, |server| {
        // Its callers: anyone, the console (an operator) included.
        let callers = InProcess::new(NAMES).with_groups(GROUPS);
        let id = callers.register(WORKER, server).expect("a task of NAMES");
        let caller = NAMES[usize::from(script.caller) % NAMES.len()];
        let mut t = callers.client(caller).expect("a task of NAMES");
        script.run(&mut t, id);
    });
}

/// Builds the worker on the machine `state` describes and runs `f` with
/// its endpoint.
pub fn with_worker<R>(state: u8, f: impl FnOnce(&mut dyn Dispatch) -> R) -> R {
    let shared: Shared = Rc::new(RefCell::new(devices(state)));
    // The worker's peers: the books and the real pci server (which gives
    // edu to dma-a and the bridged edu to dma-b).
    let mut books = broker::Endpoint(Books(shared.clone()));
    let mut pci = pci_server();
    let peers = InProcess::new(NAMES).with_groups(GROUPS);
    let broker_id = peers
        .register("broker", &mut books)
        .expect("a task of NAMES");
    let pci_id = peers.register("pci", &mut pci).expect("a task of NAMES");
    let out = peers.client(WORKER).expect("a task of NAMES");
    let mut mem = vec![0u8; BUFFER.size as usize];
    let fake = Fake {
        devices: shared,
        clock: RefCell::new(0),
    };
    let mut server = worker::Endpoint(Worker::new(
        fake,
        DOMAIN,
        BUFFER,
        &mut mem,
        broker::Client::new(out, broker_id),
        pci::Client::new(out, pci_id),
    ));
    f(&mut server)
}

/// The seeds: what the console asks of the worker, on a machine where the
/// worker holds its own device (and, in the second, where it holds
/// nothing the broker gives it).
pub fn seeds() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for (name, state) in [("own-device", seed_state()), ("taken-device", 0b0001)] {
        let script = with_worker(state, |server| {
            crate::servers::record(WORKER, server, "console", |t, id| {
                let mut c = worker::Client::new(t, id);
                let iova = BUFFER.iova_base + 0x1000;
                let _ = c.dma(PCI_EDU, iova, 0x5a);
                let _ = c.start_dma(PCI_EDU, iova, 0x5b);
                let _ = c.finish_dma();
                let _ = c.holds(iova, 0x5a);
                let _ = c.storm(PCI_EDU, iova, 20);
                let _ = c.raise_interrupt(PCI_EDU);
                let _ = c.interrupts_seen();
                let _ = c.forge_msi(PCI_EDU, 0xfee0_0000, 0x40);
                let _ = c.touch_registers(PCI_BRIDGED_EDU);
            })
        });
        let mut bytes = vec![state];
        bytes.extend(script.encode());
        out.push((name.to_string(), bytes));
    }
    out
}

/// The machine of the first seed: the worker's own device (edu) ours and
/// held, the bridged edu neither.
pub fn seed_state() -> u8 {
    0b0011
}
