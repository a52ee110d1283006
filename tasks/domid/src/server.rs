//! The domid task's server: the `Domid` IDL interface over any
//! [`DidAllocator`], so the bitmap and free-list allocators are swapped by
//! a type parameter.
//!
//! Two things a reader must know: every refusal of the allocator reaches
//! the client as a [`DomidError`] (never a panic), and a rebuild is validated
//! whole (every record decodes) before the allocator replaces its books, so
//! a bad lease leaves domid exactly as not rebuilt as it was.

use idl_runtime::abi::TaskId;
use idl_runtime::ReadLease;
use idl_types::{Did, DidGrant, DidHolder, DidRelease, DomidError, RebuildRecord};

use crate::api::DidAllocator;
use crate::domid;
use crate::wire;

/// Bytes of the largest rebuild lease (the IDL's `max`).
pub const REBUILD_LEASE_MAX: usize = 4090;

/// Rebuild records one lease carries.
pub const REBUILD_RECORDS_MAX: usize = REBUILD_LEASE_MAX / RebuildRecord::ENCODED_LEN;

/// Serves `Domid` over allocator `T`.
pub struct DomidServer<T> {
    alloc: T,
    /// The rebuild lease is copied here (a task's stack is small).
    rebuild_bytes: [u8; REBUILD_LEASE_MAX],
}

impl<T: DidAllocator> DomidServer<T> {
    /// A server over `alloc` (normally a fresh, not rebuilt allocator).
    pub const fn new(alloc: T) -> Self {
        DomidServer {
            alloc,
            rebuild_bytes: [0; REBUILD_LEASE_MAX],
        }
    }

    /// The allocator (for invariant checks in tests and the simulator).
    pub fn allocator(&self) -> &T {
        &self.alloc
    }

    /// Replaces the books with the records in the first `len` bytes of
    /// the rebuild buffer.
    fn apply_rebuild(&mut self, len: usize) -> Result<u16, DomidError> {
        let bytes = self
            .rebuild_bytes
            .get(..len)
            .ok_or(DomidError::LeaseFailed)?;
        let mut count = 0u16;
        for (index, record) in RebuildRecord::decode_all(bytes).enumerate() {
            let index = u16::try_from(index).unwrap_or(u16::MAX);
            let record = record.map_err(|cause| DomidError::BadRebuildRecord { index, cause })?;
            wire::record(&record)?;
            count = count.saturating_add(1);
        }
        // Every record decoded and converted above, so nothing is dropped.
        let records = RebuildRecord::decode_all(bytes)
            .filter_map(Result::ok)
            .filter_map(|r| wire::record(&r).ok());
        self.alloc.rebuild_from(records).map_err(wire::error)?;
        Ok(count)
    }
}

impl<T: DidAllocator> domid::Server for DomidServer<T> {
    fn acquire(&mut self, _: TaskId, a: domid::AcquireArgs) -> Result<DidGrant, DomidError> {
        let device = wire::rid(a.device)?;
        self.alloc
            .acquire(wire::unit(a.unit), wire::domain(a.domain), device)
            .map(wire::grant)
            .map_err(wire::error)
    }

    fn release(&mut self, _: TaskId, a: domid::ReleaseArgs) -> Result<DidRelease, DomidError> {
        let device = wire::rid(a.device)?;
        self.alloc
            .release(wire::unit(a.unit), wire::domain(a.domain), device)
            .map(wire::release)
            .map_err(wire::error)
    }

    fn lookup(&mut self, _: TaskId, a: domid::LookupArgs) -> Result<Option<Did>, DomidError> {
        self.alloc
            .did_of(wire::unit(a.unit), wire::domain(a.domain))
            .map(|d| d.map(|d| Did(d.0)))
            .map_err(wire::error)
    }

    fn owner_of(
        &mut self,
        _: TaskId,
        a: domid::OwnerOfArgs,
    ) -> Result<Option<DidHolder>, DomidError> {
        self.alloc
            .owner_of(wire::unit(a.unit), wire::did(a.did))
            .map(|o| o.map(wire::holder))
            .map_err(wire::error)
    }

    fn acquire_quarantine(
        &mut self,
        _: TaskId,
        a: domid::AcquireQuarantineArgs,
    ) -> Result<DidGrant, DomidError> {
        let device = wire::rid(a.device)?;
        self.alloc
            .quarantine(wire::unit(a.unit), device)
            .map(wire::grant)
            .map_err(wire::error)
    }

    fn release_quarantine(
        &mut self,
        _: TaskId,
        a: domid::ReleaseQuarantineArgs,
    ) -> Result<DidRelease, DomidError> {
        let device = wire::rid(a.device)?;
        self.alloc
            .unquarantine(wire::unit(a.unit), device)
            .map(wire::release)
            .map_err(wire::error)
    }

    fn rebuild(
        &mut self,
        _: TaskId,
        _: domid::RebuildArgs,
        records: ReadLease<'_>,
    ) -> Result<u16, DomidError> {
        let len = records.len();
        let buf = self
            .rebuild_bytes
            .get_mut(..len)
            .ok_or(DomidError::LeaseFailed)?;
        records.read(0, buf).map_err(|_| DomidError::LeaseFailed)?;
        self.apply_rebuild(len)
    }

    fn configure_unit(
        &mut self,
        _: TaskId,
        a: domid::ConfigureUnitArgs,
    ) -> Result<u32, DomidError> {
        self.alloc
            .configure_unit(wire::unit(a.unit), a.nd, a.caching_mode)
            .map(|space| space.size())
            .map_err(wire::error)
    }

    fn is_rebuilt(&mut self, _: TaskId, _: domid::IsRebuiltArgs) -> bool {
        self.alloc.is_rebuilt()
    }

    fn devices_of(&mut self, _: TaskId, a: domid::DevicesOfArgs) -> Result<u16, DomidError> {
        self.alloc
            .devices_of(wire::unit(a.unit), wire::domain(a.domain))
            .map(|n| u16::try_from(n).unwrap_or(u16::MAX))
            .map_err(wire::error)
    }

    fn dids_in_use(&mut self, _: TaskId, a: domid::DidsInUseArgs) -> Result<u32, DomidError> {
        self.alloc
            .dids_in_use(wire::unit(a.unit))
            .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
            .map_err(wire::error)
    }
}
