//! The iommu task: serves `Iommu` over the kernel's IPC, driving the VT-d
//! unit whose register page app.toml grants (`vtd`), with its tables in a
//! DMA pool (`iommu-tables`) and what must outlive a restart (the ledger and
//! the pool's page books) in a `persist` region (`iommu-state`).
//!
//! Two things a reader must know:
//! - A restarted task takes the running unit over (the library's `start`):
//!   translation never stops, and the ledger and page books in the persist
//!   region tell the new life whose tables each root is and which pages are
//!   taken, so `get_context`/`list_contexts` keep reporting the truth.
//! - DMA faults arrive as an MSI (FEDATA = the `fault` vector app.toml
//!   routes here): each record is logged in words and queued for
//!   `pull_faults`, and the broker is posted (app.toml `notify`) so it can
//!   pull them; a server never calls its client.
#![no_std]
#![no_main]

use defmt::Display2Format as D;
use idl_runtime::{Call, Dispatch, DispatchOutcome, KernelTransport, ServerContext};
use idl_types::{DmaDirection, FaultRecord, UnitId};
use task_iommu::iommu::Endpoint;
use task_iommu::{IommuServer, RegionLedger, RegionPages, Started, LEDGER_REGION_BYTES};
use userlib::*;
use vtd::format::FaultReason;
use vtd::mmio::{MmioRegisters, PoolMemory, PoolWindow};
use vtd::{regs, Config, InvalidationChoice, Registers, SpinDelay};

task_config!();

static NAMES: [&str; config::TASK_COUNT] = config::TASK_NAMES;

/// MSI address of the fault event: the local APIC of CPU 0, physical
/// destination mode (the kernel takes every vector on CPU 0).
const MSI_ADDRESS: u32 = 0xFEE0_0000;
/// FECTL with the interrupt mask clear.
const FECTL_UNMASKED: u32 = 0;

type Server = IommuServer<
    MmioRegisters,
    PoolMemory,
    RegionPages<'static, PoolMemory>,
    SpinDelay,
    RegionLedger<'static>,
>;

/// The server plus what the task does around it: the fault interrupt.
struct Task(Endpoint<Server>);

impl Dispatch for Task {
    fn dispatch(
        &mut self,
        call: &Call<'_>,
        ctx: &dyn ServerContext,
        reply: &mut [u8],
    ) -> DispatchOutcome {
        self.0.dispatch(call, ctx, reply)
    }

    fn notification_mask(&self) -> u32 {
        config::notifications::FAULT
    }

    fn notified(&mut self, bits: u32) {
        if bits & config::notifications::FAULT == 0 {
            return;
        }
        let drained = self.0 .0.drain_faults();
        // The kernel masks the vector until the task has handled it.
        sys_irq_control(config::notifications::FAULT, true);
        if drained > 0 {
            tell_subscribers();
        }
    }
}

/// Posts the fault subscribers of app.toml (the broker).
fn tell_subscribers() {
    for (id, bits) in config::NOTIFY {
        let _ = sys_post(sys_refresh_task_id(id), bits);
    }
}

fn log_fault(r: &FaultRecord) {
    let direction = match r.direction {
        DmaDirection::Read => "read",
        DmaDirection::Write => "write",
    };
    defmt::warn!(
        "DMA fault on unit {=u8}: {} {=str} at {=u64:#x} blocked: {}",
        r.unit.0,
        D(&r.source),
        direction,
        r.address,
        D(&FaultReason::from_code(r.reason))
    );
}

/// The persist region as bytes.
fn state_region() -> &'static mut [u8] {
    let (va, _, size) = config::regions::IOMMU_STATE;
    // SAFETY: app.toml grants this task the persist region at `va`, `size`
    // bytes, read/write; `main` calls this once per life and nothing else
    // in the task touches that memory.
    unsafe { core::slice::from_raw_parts_mut(va as *mut u8, size as usize) }
}

/// Points the unit's fault event at this task's vector and unmasks it.
fn route_fault_events(server: &mut Server) {
    let Some(slot) = server.unit(UnitId(0)) else {
        return;
    };
    let unit = slot.hw().registers();
    unit.write32(regs::FEDATA, u32::from(config::vectors::FAULT));
    unit.write32(regs::FEADDR, MSI_ADDRESS);
    unit.write32(regs::FEUADDR, 0);
    unit.write32(regs::FECTL, FECTL_UNMASKED);
}

fn build() -> Result<Server, &'static str> {
    let (pool_va, pool_pa, pool_size) = config::regions::IOMMU_TABLES;
    // SAFETY: app.toml grants this task the DMA pool at `pool_va`, backed
    // by `[pool_pa, pool_pa+pool_size)`; only the unit's memory and page
    // allocator made here use it.
    let window = unsafe { PoolWindow::new(pool_va as usize, pool_pa, pool_size) }
        .map_err(|_| "the iommu-tables region is not page aligned")?;
    let (ledger_bytes, page_books) = state_region()
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
    let invalidation = if cfg!(feature = "queue") {
        InvalidationChoice::Queue
    } else {
        InvalidationChoice::Registers
    };
    let unit_config = Config {
        invalidation,
        ..Config::default()
    };
    // SAFETY: app.toml grants this task the unit's register page
    // (uncached); no other task programs the unit.
    let regs = unsafe { MmioRegisters::new(config::regions::VTD.0 as *mut u8) };
    let (unit, started) = server
        .add_unit(regs, PoolMemory::new(window), pages, SpinDelay, unit_config)
        .map_err(|e| {
            defmt::error!("iommu: unit 0: {}", D(&e));
            "the VT-d unit did not start"
        })?;
    match started {
        Started::Fresh => defmt::info!(
            "iommu: {} brought up ({=str} invalidation)",
            D(&unit),
            if cfg!(feature = "queue") { "queued" } else { "register" }
        ),
        Started::Resumed { root } => defmt::info!(
            "iommu: {} taken over running (root table {=u64:#x}; ledger kept: {=bool}, page books kept: {=bool})",
            D(&unit),
            root,
            found_ledger,
            resumed_pages
        ),
    }
    Ok(server)
}

#[export_name = "main"]
fn main() -> ! {
    let mut server = match build() {
        Ok(server) => server,
        // Nothing to serve without the unit; the supervisor's restart (with
        // back-off) is the only retry that makes sense.
        Err(why) => panic!("iommu: {}", why),
    };
    server.set_fault_log(log_fault);
    route_fault_events(&mut server);
    sys_irq_control(config::notifications::FAULT, true);
    // Faults recorded while no task listened (across a restart).
    if server.drain_faults() > 0 {
        tell_subscribers();
    }
    let mut task = Task(Endpoint(server));
    let mut transport = KernelTransport::new(&NAMES);
    let mut buf = [0u8; abi::MAX_MESSAGE];
    idl_runtime::serve(&mut transport, &mut task, &mut buf)
}
