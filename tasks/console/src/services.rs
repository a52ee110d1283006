//! What the console asks of others: the broker, the iommu, the supervisor,
//! the DMA workers and the kernel. `main.rs` implements these over the IDL
//! clients and syscalls; the host tests over a fake that records each call
//! and answers as told. Each method is one IDL operation (or syscall), with
//! its reply type, so the commands' logic sees exactly what a real client
//! would return, errors included.

use idl_runtime::ClientError;
use idl_types::{
    Bdf, BrokerCounters, BrokerError, DevicePage, DmaReport, DomainId, DomainPage, FaultBatch,
    InterruptRoute, IommuCounters, IommuError, NoError, ReassignReport, SequencedEvent,
    SupervisorError, TaskIndex, TaskReport, UnitId, WorkerError,
};

/// A call's reply: the value, or why not (`E`: the operation's own error).
pub type Reply<T, E = NoError> = Result<T, ClientError<E>>;

/// The servers and kernel services the console's commands use.
pub trait Services {
    /// A client of one DMA worker.
    type Worker: Worker;

    // Broker.

    /// A page of the broker's device list from row `start`.
    fn list_devices(&mut self, start: u16) -> Reply<DevicePage>;
    /// A page of the broker's domain list from row `start`.
    fn list_domains(&mut self, start: u16) -> Reply<DomainPage>;
    /// Gives an unassigned or quarantined device to a domain.
    fn assign(&mut self, device: Bdf, domain: DomainId) -> Reply<ReassignReport, BrokerError>;
    /// Moves a device directly to another domain.
    fn reassign(&mut self, device: Bdf, domain: DomainId) -> Reply<ReassignReport, BrokerError>;
    /// Puts a device in quarantine.
    fn quarantine(&mut self, device: Bdf) -> Reply<ReassignReport, BrokerError>;
    /// Takes a device from its domain.
    fn release(&mut self, device: Bdf) -> Reply<ReassignReport, BrokerError>;
    /// The broker's first event after sequence number `after`.
    fn event_after(&mut self, after: u32) -> Reply<Option<SequencedEvent>>;
    /// The broker's counters.
    fn broker_stats(&mut self) -> Reply<BrokerCounters>;

    // Iommu.

    /// A unit's counters.
    fn counters(&mut self, unit: UnitId) -> Reply<IommuCounters, IommuError>;
    /// DMA faults the iommu still holds.
    fn pull_faults(&mut self) -> Reply<FaultBatch, IommuError>;
    /// Interrupt-remapping entry `handle` of `unit`.
    fn get_irte(&mut self, unit: UnitId, handle: u16) -> Reply<InterruptRoute, IommuError>;

    // Supervisor.

    /// What the supervisor and the kernel know of a task.
    fn task_report(&mut self, task: TaskIndex) -> Reply<TaskReport, SupervisorError>;
    /// Messages the kernel has delivered to a task since boot.
    fn message_count(&mut self, task: TaskIndex) -> Reply<u32, SupervisorError>;
    /// Faults a task now.
    fn fault_task(&mut self, task: TaskIndex) -> Reply<(), SupervisorError>;
    /// Faults a task as its `at`th message from now reaches it.
    fn arm_fault(&mut self, task: TaskIndex, at: u16) -> Reply<(), SupervisorError>;
    /// Stops the machine with `code` as QEMU's exit status.
    fn shutdown(&mut self, code: u8) -> Reply<()>;

    // Workers.

    /// A client of worker task `task` (by index), at its current
    /// generation.
    fn worker(&mut self, task: u16) -> Self::Worker;

    // Kernel.

    /// The task the kernel maps device `index`'s registers into now.
    fn register_holder(&mut self, index: u16) -> Option<u16>;
    /// The time (ms).
    fn now_ms(&mut self) -> u64;
    /// Waits `ms` milliseconds.
    fn sleep_ms(&mut self, ms: u64);
    /// The time-stamp counter (one tick per guest instruction under
    /// `-icount`).
    fn tsc(&mut self) -> u64;
    /// Logs `BENCH reassign_NAME VALUE`, or `BENCH reassign_NAME_WHAT
    /// VALUE` (what `cargo xtask bench` reads).
    fn log_bench(&mut self, name: &str, what: Option<&str>, value: u64);
}

/// One DMA worker's operations.
pub trait Worker {
    /// DMAs `pattern` from `device` to `iova`, and says where it landed.
    fn dma(&mut self, device: Bdf, iova: u64, pattern: u8) -> Reply<DmaReport, WorkerError>;
    /// Starts that transfer and returns at once.
    fn start_dma(&mut self, device: Bdf, iova: u64, pattern: u8) -> Reply<(), WorkerError>;
    /// Waits for the started transfer and reports it.
    fn finish_dma(&mut self) -> Reply<DmaReport, WorkerError>;
    /// Whether the worker's buffer holds `pattern` at `iova`.
    fn holds(&mut self, iova: u64, pattern: u8) -> Reply<bool, WorkerError>;
    /// DMAs to `iova` over and over for `millis` ms; how many it started.
    fn storm(&mut self, device: Bdf, iova: u64, millis: u32) -> Reply<u32, WorkerError>;
    /// Makes `device` raise its interrupt.
    fn raise_interrupt(&mut self, device: Bdf) -> Reply<(), WorkerError>;
    /// Device interrupts that reached the worker since it started.
    fn interrupts_seen(&mut self) -> Reply<u32>;
    /// Makes `device` DMA-write `data` to `address`.
    fn forge_msi(&mut self, device: Bdf, address: u64, data: u32) -> Reply<(), WorkerError>;
    /// Reads `device`'s ID register without asking the kernel.
    fn touch_registers(&mut self, device: Bdf) -> Reply<u32, WorkerError>;
}
