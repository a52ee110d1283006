//! The iommu as firmware builds it (feature `firmware`): the server over the
//! unit's register page, its DMA pool and its persist region, with the fault
//! event routed to an MSI vector. Both the iommu task and the fused build
//! (`tasks/fused`, all of custody's logic in one task) start it from here,
//! so they drive the hardware identically.
//!
//! What a reader must know: a restarted task takes the running unit over
//! ([`crate::start`]); translation never stops, and the ledger and page books
//! in the persist region tell the new life whose tables each root is.

use config_schema::task::Region;
use defmt::Display2Format as D;
use idl_types::{FaultRecord, UnitId};
use vtd::format::FaultReason;
use vtd::mmio::{MmioRegisters, PoolMemory, PoolWindow};
use vtd::{regs, Config, InvalidationChoice, Registers, SpinDelay};

use crate::{IommuServer, RegionLedger, RegionPages, Started, LEDGER_REGION_BYTES};

/// MSI address of the fault event: the local APIC of CPU 0, physical
/// destination mode (the kernel takes every vector on CPU 0).
const MSI_ADDRESS: u32 = 0xFEE0_0000;
/// FECTL with the interrupt mask clear.
const FECTL_UNMASKED: u32 = 0;

/// The server as firmware runs it.
pub type FirmwareServer = IommuServer<
    MmioRegisters,
    PoolMemory,
    RegionPages<'static, PoolMemory>,
    SpinDelay,
    RegionLedger<'static>,
>;

/// What app.toml grants the iommu logic, as `config::regions` gives it.
pub struct Regions {
    /// The unit's register page (`mmio`, uncached).
    pub registers: Region,
    /// The DMA pool its tables come from (`dma`).
    pub tables: Region,
    /// The ledger and page books that outlive a restart (`persist`).
    pub state: Region,
}

/// How invalidations are issued: the build's choice (feature `queue`).
pub const INVALIDATION: InvalidationChoice = if cfg!(feature = "queue") {
    InvalidationChoice::Queue
} else {
    InvalidationChoice::Registers
};

/// Starts the server over unit 0, taking it over if it runs already, logs
/// which, and routes the unit's fault event to `fault_vector`. The regions
/// must be granted to the calling task, each used by nothing else, and
/// `build` called once per task life.
pub fn build(regions: &Regions, fault_vector: u8) -> Result<FirmwareServer, &'static str> {
    let (pool_va, pool_pa, pool_size) = (
        regions.tables.vaddr,
        regions.tables.paddr,
        regions.tables.size,
    );
    // SAFETY: the caller's app.toml grants the DMA pool at `pool_va`,
    // backed by `[pool_pa, pool_pa+pool_size)`; only the unit's memory and
    // page allocator made here use it.
    let window = unsafe { PoolWindow::new(pool_va as usize, pool_pa, pool_size) }
        .map_err(|_| "the iommu-tables region is not page aligned")?;
    let (state_va, state_size) = (regions.state.vaddr, regions.state.size);
    // SAFETY: the caller's app.toml grants the persist region at
    // `state_va`, `state_size` bytes, read/write; `build` runs once per life
    // and nothing else touches that memory.
    let state: &'static mut [u8] =
        unsafe { core::slice::from_raw_parts_mut(state_va as *mut u8, state_size as usize) };
    let (ledger_bytes, page_books) = state
        .split_at_mut_checked(LEDGER_REGION_BYTES)
        .ok_or("the iommu-state region is smaller than the ledger")?;
    let pages =
        RegionPages::new(page_books, pool_pa, pool_size, PoolMemory::new(window)).map_err(|e| {
            defmt::error!("iommu: {}", D(&e));
            "the page books do not fit the iommu-state region"
        })?;
    let resumed_pages = pages.resumed();
    let ledger = RegionLedger::new(ledger_bytes).map_err(|_| "the ledger does not fit")?;
    let found_ledger = ledger.found();
    let mut server = IommuServer::new(ledger);
    let unit_config = Config {
        invalidation: INVALIDATION,
        ..Config::default()
    };
    // SAFETY: the caller's app.toml grants the unit's register page
    // (uncached) at this address; no other task programs the unit.
    let regs = unsafe { MmioRegisters::new(regions.registers.vaddr as *mut u8) };
    let added = server.add_unit(regs, PoolMemory::new(window), pages, SpinDelay, unit_config);
    let (unit, started) = added.map_err(|e| {
        match server.start_error() {
            Some(why) => defmt::error!("iommu: unit 0: {}: {}", D(&e), D(&why)),
            None => defmt::error!("iommu: unit 0: {}", D(&e)),
        }
        "the VT-d unit did not start"
    })?;
    let pages_in_use = server
        .unit(unit)
        .map_or(0, |slot| slot.hw().tables().1.in_use());
    match started {
        Started::Fresh => defmt::info!(
            "iommu: {} brought up ({=str} invalidation; pool pages in use: {=u32})",
            D(&unit),
            if cfg!(feature = "queue") { "queued" } else { "register" },
            pages_in_use
        ),
        Started::Resumed(found) => defmt::info!(
            "iommu: {} taken over running (root table {=u64:#x}; queue {=u64:#x}; ledger kept: {=bool}, page books kept: {=bool}; pool pages in use: {=u32})",
            D(&unit),
            found.root,
            found.queue.map_or(0, |q| q.base),
            found_ledger,
            resumed_pages,
            pages_in_use
        ),
    }
    remap_interrupts(&mut server, unit);
    server.set_fault_log(log_fault);
    server.set_fault_summary_log(log_fault_summary);
    server.set_fault_mask_log(log_fault_mask);
    server.set_best_effort_log(log_best_effort);
    route_fault_events(&mut server, fault_vector);
    Ok(server)
}

/// Turns interrupt remapping on (a unit taken over keeps its table), or
/// says plainly, as Xen does, that without it a device's MSIs are not
/// isolated: the register-invalidation build cannot invalidate the
/// interrupt entry cache, and a unit without ECAP.IR has no table.
fn remap_interrupts(server: &mut FirmwareServer, unit: UnitId) {
    if !cfg!(feature = "queue") {
        defmt::warn!(
            "iommu: {}: interrupt remapping off (register invalidation cannot flush its cache): MSIs are not isolated, a device can send any vector",
            D(&unit)
        );
        return;
    }
    match server.enable_interrupt_remapping(unit) {
        Ok(entries) => defmt::info!(
            "iommu: {}: interrupt remapping on ({=u16} entries, each blocked until the broker routes it; compatibility-format interrupts refused)",
            D(&unit),
            entries
        ),
        Err(e) => defmt::warn!(
            "iommu: {}: interrupt remapping off ({}): MSIs are not isolated, a device can send any vector",
            D(&unit),
            D(&e)
        ),
    }
}

/// First fault reason of an interrupt request (0x20..=0x27 are the
/// interrupt-remapping faults; the record's address is the request's).
const FIRST_INTERRUPT_REASON: u8 = 0x20;

/// Logs one DMA or interrupt-remapping fault in words.
fn log_fault(r: &FaultRecord) {
    if r.reason >= FIRST_INTERRUPT_REASON {
        defmt::warn!(
            "interrupt-remapping fault on unit {=u8}: an interrupt request from {} (to {=u64:#x}) blocked: {}",
            r.unit.0,
            D(&r.source),
            r.address,
            D(&FaultReason::from_code(r.reason))
        );
        return;
    }
    defmt::warn!(
        "DMA fault on unit {=u8}: {} {=str} at {=u64:#x} blocked: {}",
        r.unit.0,
        D(&r.source),
        r.direction.words(),
        r.address,
        D(&FaultReason::from_code(r.reason))
    );
}

/// Logs a closed fault interval: one line per source that faulted more
/// than the once already logged in full, and the overflows.
fn log_fault_summary(s: &crate::IntervalSummary) {
    for source in s.sources.iter().filter(|s| s.count > 1) {
        defmt::warn!(
            "DMA faults on unit {=u8}: {} faulted {=u32} times in {=u64} ms (last at {=u64:#x}: {})",
            source.unit.0,
            D(&source.source),
            source.count,
            crate::FAULT_INTERVAL_MS,
            source.last.address,
            D(&FaultReason::from_code(source.last.reason))
        );
    }
    if s.others > 0 || s.overflows > 0 {
        defmt::warn!(
            "DMA faults: {=u32} more from other sources, {=u32} overflows (records the unit could not keep)",
            s.others,
            s.overflows
        );
    }
    if s.masked {
        defmt::info!("iommu: fault interval closed: fault event unmasked");
    }
}

/// Logs that a storm masked the fault event.
fn log_fault_mask(records: u32) {
    defmt::warn!(
        "iommu: fault storm: {=u32} records this interval (budget {=u32}): fault event masked for up to {=u64} ms",
        records,
        crate::FAULT_BUDGET,
        crate::FAULT_INTERVAL_MS
    );
}

/// Logs one best-effort context update (no CX16) with the device and both
/// owners, as Xen prints "reassignment may cause data corruption"
/// (a warning then; otherwise the old owner is dying or had no other
/// device behind the unit, and the update is only noted).
fn log_best_effort(u: &crate::BestEffortUpdate) {
    if u.may_corrupt {
        defmt::warn!(
            "iommu: {}: reassignment from {} to {} without CMPXCHG16B (DID written last) may cause data corruption of {}",
            D(&u.rid),
            D(&u.from),
            D(&u.to),
            D(&u.from)
        );
    } else {
        defmt::info!(
            "iommu: {}: reassigned from {} to {} without CMPXCHG16B (DID written last; its owner is dying or it was alone behind the unit)",
            D(&u.rid),
            D(&u.from),
            D(&u.to)
        );
    }
}

/// Points unit 0's fault event at `vector` (an MSI to CPU 0) and unmasks it.
fn route_fault_events(server: &mut FirmwareServer, vector: u8) {
    let Some(slot) = server.unit(UnitId(0)) else {
        return;
    };
    let unit = slot.hw().registers();
    unit.write32(regs::FEDATA, u32::from(vector));
    unit.write32(regs::FEADDR, MSI_ADDRESS);
    unit.write32(regs::FEUADDR, 0);
    unit.write32(regs::FECTL, FECTL_UNMASKED);
}
