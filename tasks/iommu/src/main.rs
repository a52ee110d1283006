//! The iommu task: serves `Iommu` over the kernel's IPC, driving the VT-d
//! unit whose register page app.toml grants (`vtd`), with its tables in a
//! DMA pool (`iommu-tables`) and what must outlive a restart (the ledger and
//! the pool's page books) in a `persist` region (`iommu-state`). The
//! library's `firmware` module builds the server (the fused build shares it).
//!
//! Two things a reader must know:
//! - A restarted task takes the running unit over: translation never
//!   stops, and `get_context`/`list_contexts` keep reporting the truth.
//! - DMA faults arrive as an MSI (FEDATA = the `fault` vector app.toml
//!   routes here): each record is logged in words and queued for
//!   `pull_faults`, and the broker is posted (app.toml `notify`) so it can
//!   pull them; a server never calls its client.
//! - Faults have a budget (`task_iommu::FAULT_BUDGET` per
//!   `FAULT_INTERVAL_MS`): the `timer` notification closes each interval
//!   that saw faults, logging per-source summaries and unmasking the fault
//!   event a storm masked.
#![no_std]
#![no_main]

use idl_runtime::{Call, Dispatch, DispatchOutcome, KernelTransport, ServerContext};
use task_iommu::firmware::{self, FirmwareServer, Regions};
use task_iommu::iommu::Endpoint;
use userlib::*;

task_config!();

static NAMES: [&str; config::TASK_COUNT] = config::TASK_NAMES;

/// The server plus what the task does around it: the fault interrupt, and
/// whether the timer that closes the fault interval is armed.
struct Task(Endpoint<FirmwareServer>, bool);

impl Dispatch for Task {
    fn dispatch(
        &mut self,
        call: &Call<'_>,
        ctx: &dyn ServerContext,
        reply: &mut [u8],
    ) -> DispatchOutcome {
        let outcome = self.0.dispatch(call, ctx, reply);
        // A pull drains too, and may open a fault interval.
        self.arm_interval_timer();
        outcome
    }

    fn notification_mask(&self) -> u32 {
        config::notifications::FAULT | config::notifications::TIMER
    }

    fn notified(&mut self, bits: u32) {
        if bits & config::notifications::TIMER != 0 {
            self.1 = false;
            self.0 .0.end_fault_interval();
        }
        if bits & config::notifications::FAULT != 0 {
            let drained = self.0 .0.drain_faults();
            // The kernel masks the vector until the task has handled it.
            sys_irq_control(config::notifications::FAULT, true);
            if drained > 0 {
                tell_subscribers();
            }
        }
        self.arm_interval_timer();
    }
}

impl Task {
    /// Keeps the interval timer armed while the fault interval holds
    /// anything (a pull from the broker may open one too).
    fn arm_interval_timer(&mut self) {
        if !self.1 && self.0 .0.fault_interval_open() {
            let deadline = sys_get_timer().saturating_add(task_iommu::FAULT_INTERVAL_MS);
            sys_set_timer(Some(deadline), config::notifications::TIMER);
            self.1 = true;
        }
    }
}

/// Posts the fault subscribers of app.toml (the broker).
fn tell_subscribers() {
    for n in config::NOTIFY {
        if let Ok(current) = sys_refresh_task_id(n.task) {
            let _ = sys_post(current, n.bits);
        }
    }
}

#[export_name = "main"]
fn main() -> ! {
    let regions = Regions {
        registers: config::regions::VTD,
        tables: config::regions::IOMMU_TABLES,
        state: config::regions::IOMMU_STATE,
    };
    let mut server = match firmware::build(&regions, config::vectors::FAULT) {
        Ok(server) => server,
        // Nothing to serve without the unit; the supervisor's restart (with
        // back-off) is the only retry that makes sense.
        Err(why) => panic!("iommu: {}", why),
    };
    sys_irq_control(config::notifications::FAULT, true);
    // Faults recorded while no task listened (across a restart).
    if server.drain_faults() > 0 {
        tell_subscribers();
    }
    let mut task = Task(Endpoint(server), false);
    task.arm_interval_timer();
    let mut transport = KernelTransport::new(&NAMES);
    let mut buf = [0u8; abi::MAX_MESSAGE];
    idl_runtime::serve(&mut transport, &mut task, &mut buf)
}
