//! The library's [`Services`] over the real thing: the IDL clients of the
//! broker, the iommu, the supervisor and the DMA workers, and the kernel's
//! syscalls. Each method is one call, nothing more: what to ask and how to
//! word the answer is the library's.

use abi::TaskId;
use idl_runtime::KernelTransport;
use idl_types::{
    Bdf, BrokerCounters, BrokerError, DevicePage, DmaReport, DomainId, DomainPage, FaultBatch,
    InterruptRoute, IommuCounters, IommuError, ReassignReport, SequencedEvent, SupervisorError,
    TaskIndex, TaskReport, UnitId, WorkerError,
};
use task_console::{Reply, Services, Worker};
use task_supervisor::supervisor;
use userlib::{rdtsc, sys_get_timer, sys_refresh_task_id, sys_register_holder};

use crate::{broker, iommu, worker};

/// The clients the console calls.
pub struct Clients {
    pub broker: broker::Client<KernelTransport>,
    pub iommu: iommu::Client<KernelTransport>,
    pub supervisor: supervisor::Client<KernelTransport>,
    pub transport: KernelTransport,
}

impl Services for Clients {
    type Worker = worker::Client<KernelTransport>;

    fn list_devices(&mut self, start: u16) -> Reply<DevicePage> {
        self.broker.list_devices(start)
    }

    fn list_domains(&mut self, start: u16) -> Reply<DomainPage> {
        self.broker.list_domains(start)
    }

    fn assign(&mut self, device: Bdf, domain: DomainId) -> Reply<ReassignReport, BrokerError> {
        self.broker.assign(device, domain)
    }

    fn reassign(&mut self, device: Bdf, domain: DomainId) -> Reply<ReassignReport, BrokerError> {
        self.broker.reassign(device, domain)
    }

    fn quarantine(&mut self, device: Bdf) -> Reply<ReassignReport, BrokerError> {
        self.broker.quarantine(device)
    }

    fn release(&mut self, device: Bdf) -> Reply<ReassignReport, BrokerError> {
        self.broker.release(device)
    }

    fn event_after(&mut self, after: u32) -> Reply<Option<SequencedEvent>> {
        self.broker.event_after(after)
    }

    fn broker_stats(&mut self) -> Reply<BrokerCounters> {
        self.broker.stats()
    }

    fn counters(&mut self, unit: UnitId) -> Reply<IommuCounters, IommuError> {
        self.iommu.counters(unit)
    }

    fn pull_faults(&mut self) -> Reply<FaultBatch, IommuError> {
        self.iommu.pull_faults()
    }

    fn get_irte(&mut self, unit: UnitId, handle: u16) -> Reply<InterruptRoute, IommuError> {
        self.iommu.get_irte(unit, handle)
    }

    fn task_report(&mut self, task: TaskIndex) -> Reply<TaskReport, SupervisorError> {
        self.supervisor.task_report(task)
    }

    fn message_count(&mut self, task: TaskIndex) -> Reply<u32, SupervisorError> {
        self.supervisor.message_count(task)
    }

    fn fault_task(&mut self, task: TaskIndex) -> Reply<(), SupervisorError> {
        self.supervisor.fault_task(task)
    }

    fn arm_fault(&mut self, task: TaskIndex, at: u16) -> Reply<(), SupervisorError> {
        self.supervisor.arm_fault(task, at)
    }

    fn shutdown(&mut self, code: u8) -> Reply<()> {
        self.supervisor.shutdown(code)
    }

    /// A client of the worker at its current generation (it may have been
    /// restarted since the console last asked it).
    fn worker(&mut self, task: u16) -> Self::Worker {
        let id = TaskId(task);
        worker::Client::new(self.transport, sys_refresh_task_id(id).unwrap_or(id))
    }

    fn register_holder(&mut self, index: u16) -> Option<u16> {
        sys_register_holder(index)
    }

    fn now_ms(&mut self) -> u64 {
        sys_get_timer()
    }

    fn sleep_ms(&mut self, ms: u64) {
        crate::sleep(ms);
    }

    fn tsc(&mut self) -> u64 {
        rdtsc()
    }

    fn log_bench(&mut self, name: &str, what: Option<&str>, value: u64) {
        match what {
            None => defmt::info!("BENCH reassign_{=str} {=u64}", name, value),
            Some(what) => defmt::info!("BENCH reassign_{=str}_{=str} {=u64}", name, what, value),
        }
    }
}

impl Worker for worker::Client<KernelTransport> {
    fn dma(&mut self, device: Bdf, iova: u64, pattern: u8) -> Reply<DmaReport, WorkerError> {
        worker::Client::dma(self, device, iova, pattern)
    }

    fn start_dma(&mut self, device: Bdf, iova: u64, pattern: u8) -> Reply<(), WorkerError> {
        worker::Client::start_dma(self, device, iova, pattern)
    }

    fn finish_dma(&mut self) -> Reply<DmaReport, WorkerError> {
        worker::Client::finish_dma(self)
    }

    fn holds(&mut self, iova: u64, pattern: u8) -> Reply<bool, WorkerError> {
        worker::Client::holds(self, iova, pattern)
    }

    fn storm(&mut self, device: Bdf, iova: u64, millis: u32) -> Reply<u32, WorkerError> {
        worker::Client::storm(self, device, iova, millis)
    }

    fn raise_interrupt(&mut self, device: Bdf) -> Reply<(), WorkerError> {
        worker::Client::raise_interrupt(self, device)
    }

    fn interrupts_seen(&mut self) -> Reply<u32> {
        worker::Client::interrupts_seen(self)
    }

    fn forge_msi(&mut self, device: Bdf, address: u64, data: u32) -> Reply<(), WorkerError> {
        worker::Client::forge_msi(self, device, address, data)
    }

    fn touch_registers(&mut self, device: Bdf) -> Reply<u32, WorkerError> {
        worker::Client::touch_registers(self, device)
    }
}
