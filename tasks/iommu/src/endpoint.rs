//! The `Iommu` interface's server trait, each operation handed to the
//! module that does it.

use idl_runtime::abi::TaskId;
use idl_types::{
    ContextChange, ContextPage, FaultBatch, HardwareContext, InterruptChange, InterruptRoute,
    InvalidationCounts, IommuCounters, IommuError, PageRange, UnitCaps,
};
use vtd::{ByGranularity, Delay, PageAllocator, Registers, TableMemory};

use crate::contexts::Target;
use crate::iommu;
use crate::ledger::LedgerStore;
use crate::server::IommuServer;

fn counts(g: &ByGranularity) -> InvalidationCounts {
    InvalidationCounts {
        global: g.global,
        domain: g.domain,
        selective: g.selective,
    }
}

impl<R, M, A, D, L> iommu::Server for IommuServer<R, M, A, D, L>
where
    R: Registers,
    M: TableMemory,
    A: PageAllocator,
    D: Delay,
    L: LedgerStore,
{
    fn create_domain(&mut self, _: TaskId, a: iommu::CreateDomainArgs) -> Result<(), IommuError> {
        IommuServer::create_domain(self, a.domain)
    }

    fn destroy_domain(&mut self, _: TaskId, a: iommu::DestroyDomainArgs) -> Result<(), IommuError> {
        IommuServer::destroy_domain(self, a.domain)
    }

    fn map_range(&mut self, _: TaskId, a: iommu::MapRangeArgs) -> Result<PageRange, IommuError> {
        IommuServer::map_range(self, a.domain, a.iova, a.phys, a.pages, a.access)
    }

    fn unmap_range(&mut self, _: TaskId, a: iommu::UnmapRangeArgs) -> Result<(), IommuError> {
        IommuServer::unmap_range(self, a.domain, a.range)
    }

    fn set_context(
        &mut self,
        _: TaskId,
        a: iommu::SetContextArgs,
    ) -> Result<ContextChange, IommuError> {
        let target = self.target_of(a.unit, a.rid, a.entry)?;
        self.change_context(a.unit, a.rid, target, a.mode)
    }

    fn clear_context(
        &mut self,
        _: TaskId,
        a: iommu::ClearContextArgs,
    ) -> Result<ContextChange, IommuError> {
        self.change_context(a.unit, a.rid, Target::Clear, a.mode)
    }

    fn get_context(
        &mut self,
        _: TaskId,
        a: iommu::GetContextArgs,
    ) -> Result<HardwareContext, IommuError> {
        self.read_context(a.unit, a.rid)
    }

    fn quarantine_device(
        &mut self,
        _: TaskId,
        a: iommu::QuarantineDeviceArgs,
    ) -> Result<ContextChange, IommuError> {
        self.quarantine(a.unit, a.rid, a.did, a.mode, &a.rmrrs)
    }

    fn pull_faults(
        &mut self,
        _: TaskId,
        _: iommu::PullFaultsArgs,
    ) -> Result<FaultBatch, IommuError> {
        Ok(IommuServer::pull_faults(self))
    }

    fn list_contexts(
        &mut self,
        _: TaskId,
        a: iommu::ListContextsArgs,
    ) -> Result<ContextPage, IommuError> {
        self.list(a.unit, a.after)
    }

    fn unit_caps(&mut self, _: TaskId, a: iommu::UnitCapsArgs) -> Result<UnitCaps, IommuError> {
        let slot = self.slot(a.unit)?;
        let cap = *slot.hw.cap();
        Ok(UnitCaps {
            unit: a.unit,
            nd: cap.nd,
            caching_mode: cap.cm,
            levels: slot.hw.levels().count(),
            queued_invalidation: slot.hw.uses_queue(),
            atomic_context: slot.hw.memory().has_cx16(),
        })
    }

    fn unit_count(&mut self, _: TaskId, _: iommu::UnitCountArgs) -> u8 {
        self.units.len() as u8
    }

    fn counters(&mut self, _: TaskId, a: iommu::CountersArgs) -> Result<IommuCounters, IommuError> {
        let slot = self.slot(a.unit)?;
        let hw = *slot.hw.counters();
        let s = slot.stats;
        Ok(IommuCounters {
            unit: a.unit,
            context_changes: s.changes,
            atomic_changes: s.atomic,
            cleared_first_changes: s.cleared_first,
            best_effort_changes: s.best_effort,
            corruption_warnings: s.warnings,
            context_stores: hw.context_stores,
            context_invalidations: counts(&hw.context_invalidations),
            iotlb_invalidations: counts(&hw.iotlb_invalidations),
            faults_drained: hw.faults_drained,
        })
    }

    fn set_irte(
        &mut self,
        _: TaskId,
        a: iommu::SetIrteArgs,
    ) -> Result<InterruptChange, IommuError> {
        self.set_route(a.unit, a.handle, a.route)
    }

    fn get_irte(&mut self, _: TaskId, a: iommu::GetIrteArgs) -> Result<InterruptRoute, IommuError> {
        self.route(a.unit, a.handle)
    }

    fn interrupt_entries(
        &mut self,
        _: TaskId,
        a: iommu::InterruptEntriesArgs,
    ) -> Result<u16, IommuError> {
        IommuServer::interrupt_entries(self, a.unit)
    }

    fn notification_mask(&self) -> u32 {
        self.fault_notification
    }

    fn notified(&mut self, bits: u32) {
        if bits & self.fault_notification != 0 {
            let _ = self.drain_faults();
        }
    }
}
