//! `irq DEV`: a device raises its interrupt, and the console shows which
//! worker it reached: its owner's and no other. The task that holds the
//! device's registers (the kernel maps them into its owner only) makes it
//! raise it; a quarantined device's registers are mapped into no task, so
//! nothing can, and its interrupt-remapping entry is blocked besides. The
//! device's entry, as the iommu holds it, is printed beside it.
//!
//! `forge-msi DEV VECTOR` and `forge-msi DEV entry N`: the device's owner,
//! turned hostile, makes it DMA-write an interrupt message to the MSI
//! window: a compatibility-format one for `VECTOR`, or a remappable one
//! naming entry `N`. The console shows which worker, if any, it reached.

use core::fmt::{self, Write};

use idl_runtime::ClientError;
use idl_types::{Bdf, InterruptRoute, IommuError, UnitId};

use super::Console;
use crate::command::{DeviceRef, ForgedMsi};
use crate::services::{Services, Worker};
use crate::system::{System, MAX_WORKERS};

/// How long the console waits for the interrupt to be taken (guest ms).
pub(super) const DELIVERY_MS: u64 = 20;
/// The unit whose remapping entries the console reads.
const UNIT: UnitId = UnitId(0);

/// Each worker's count of interrupts received.
type Counts = heapless::Vec<u32, MAX_WORKERS>;

impl<S: Services> Console<'_, S> {
    pub(super) fn irq(&mut self, o: &mut dyn Write, device: DeviceRef) -> fmt::Result {
        let Some(dev) = self.resolve_or_say(o, device)? else {
            return Ok(());
        };
        let workers = self.system.workers();
        // Whoever holds the registers makes the device raise it (the device
        // decides to interrupt; only the IOMMU's entry decides whom that
        // reaches). Nobody holds a quarantined device's.
        let raiser = match self.holder_of(dev) {
            Some(h) if workers.contains(&h) => h,
            Some(h) => {
                return writeln!(
                    o,
                    "error: {dev}'s registers are mapped into {}, which is not a DMA worker",
                    self.system.task_name(h)
                )
            }
            None if self.quarantined(dev) => {
                self.say_quarantined(o, dev, "make it raise its interrupt")?;
                let route = self.route_of(dev);
                return writeln!(o, "; its remapping entry: {route}");
            }
            None => {
                let route = self.route_of(dev);
                return writeln!(
                    o,
                    "{dev} ({}): its registers are mapped into no task, so no one can make it raise its interrupt; its remapping entry: {route}",
                    self.system.device_name(dev),
                );
            }
        };
        let before = self.seen(&workers);
        if let Err(e) = self.services.worker(raiser).raise_interrupt(dev) {
            let why = self.refusal(self.system.task_name(raiser), e);
            return writeln!(o, "error: {dev} could not raise its interrupt: {why}");
        }
        self.services.sleep_ms(DELIVERY_MS);
        let after = self.seen(&workers);
        write!(
            o,
            "{dev} ({}) raised its interrupt: ",
            self.system.device_name(dev)
        )?;
        write_reached(o, &self.system, &workers, &before, &after)?;
        let route = self.route_of(dev);
        writeln!(o, "its remapping entry: {route}")
    }

    pub(super) fn forge_msi(
        &mut self,
        o: &mut dyn Write,
        device: DeviceRef,
        forged: ForgedMsi,
    ) -> fmt::Result {
        let Some(dev) = self.resolve_or_say(o, device)? else {
            return Ok(());
        };
        let Some(owner) = self.owner_of(dev) else {
            return writeln!(o, "error: {dev} is not owned by a worker's domain");
        };
        let workers = self.system.workers();
        let before = self.seen(&workers);
        let (address, data) = forged.message();
        if let Err(e) = self.services.worker(owner).forge_msi(dev, address, data) {
            let why = self.refusal(self.system.task_name(owner), e);
            return writeln!(o, "error: {dev} could not forge the message: {why}");
        }
        self.services.sleep_ms(DELIVERY_MS);
        let after = self.seen(&workers);
        write!(
            o,
            "{dev} ({}) DMA-wrote {forged} ({data:#x} to {address:#x}): ",
            self.system.device_name(dev)
        )?;
        write_reached(o, &self.system, &workers, &before, &after)?;
        writeln!(o, "the machine runs on")
    }

    /// Each worker's count of interrupts received (0 if it does not answer).
    fn seen(&mut self, workers: &[u16]) -> Counts {
        workers
            .iter()
            .map(|&w| self.services.worker(w).interrupts_seen().unwrap_or(0))
            .collect()
    }

    /// The device's interrupt-remapping entry: its index in app.toml's
    /// devices, as the broker numbers them.
    fn route_of(&mut self, dev: Bdf) -> RouteText {
        let Some(handle) = self.system.device_index(dev) else {
            return RouteText::None;
        };
        match self.services.get_irte(UNIT, handle) {
            Ok(route) => RouteText::Route(handle, route),
            Err(e) => RouteText::Error(e),
        }
    }
}

/// Which workers' counts moved between `before` and `after`.
fn write_reached(
    o: &mut dyn Write,
    system: &System,
    workers: &[u16],
    before: &[u32],
    after: &[u32],
) -> fmt::Result {
    let mut reached = 0;
    for (i, &w) in workers.iter().enumerate() {
        let delta = after
            .get(i)
            .zip(before.get(i))
            .map_or(0, |(a, b)| a.wrapping_sub(*b));
        if delta > 0 {
            write!(o, "reached {} ({delta}); ", system.task_name(w))?;
            reached += 1;
        }
    }
    if reached == 0 {
        write!(o, "reached no task; ")?;
    }
    Ok(())
}

/// What `irq` prints about the entry.
enum RouteText {
    None,
    Route(u16, InterruptRoute),
    Error(ClientError<IommuError>),
}

impl fmt::Display for RouteText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RouteText::None => write!(f, "none (not an app.toml device)"),
            RouteText::Route(h, route) => write!(f, "entry {h}, {route}"),
            RouteText::Error(e) => write!(f, "unknown ({e})"),
        }
    }
}
