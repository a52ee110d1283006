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

use core::fmt::Write as _;

use idl_types::{Bdf, InterruptRoute, UnitId};
use task_console::{DeviceRef, ForgedMsi};
use userlib::{sys_get_timer, sys_recv_notification, sys_set_timer};

use crate::registers::{holder_of, task_name, Refusal};
use crate::serial::Out;
use crate::{config, current_id, device_name, resolve_or_say, worker, Console, NAMES};

/// How long the console waits for the interrupt to be taken (guest ms).
const DELIVERY_MS: u64 = 20;

impl Console {
    pub(crate) fn irq(&mut self, device: DeviceRef) {
        let mut o = Out;
        let Some(dev) = resolve_or_say(device) else {
            return;
        };
        let workers = workers();
        // Whoever holds the registers makes the device raise it (the device
        // decides to interrupt; only the IOMMU's entry decides whom that
        // reaches). Nobody holds a quarantined device's.
        let raiser = match holder_of(dev) {
            Some(h) if workers.contains(&h) => h,
            Some(h) => {
                let _ = writeln!(
                    o,
                    "error: {dev}'s registers are mapped into {}, which is not a DMA worker",
                    task_name(h)
                );
                return;
            }
            None if self.quarantined(dev) => {
                self.say_quarantined(dev, "make it raise its interrupt");
                let _ = writeln!(o, "; its remapping entry: {}", self.route_of(dev));
                return;
            }
            None => {
                let _ = writeln!(
                    o,
                    "{dev} ({}): its registers are mapped into no task, so no one can make it raise its interrupt; its remapping entry: {}",
                    device_name(dev),
                    self.route_of(dev)
                );
                return;
            }
        };
        let before = self.seen(&workers);
        let r = worker::Client::new(self.transport, current_id(raiser)).raise_interrupt(dev);
        if let Err(e) = r {
            let _ = writeln!(
                o,
                "error: {dev} could not raise its interrupt: {}",
                Refusal(task_name(raiser), e)
            );
            return;
        }
        wait_for_delivery();
        let after = self.seen(&workers);
        let _ = write!(o, "{dev} ({}) raised its interrupt: ", device_name(dev));
        write_reached(&mut o, &workers, &before, &after);
        let _ = writeln!(o, "its remapping entry: {}", self.route_of(dev));
    }

    pub(crate) fn forge_msi(&mut self, device: DeviceRef, forged: ForgedMsi) {
        let mut o = Out;
        let Some(dev) = resolve_or_say(device) else {
            return;
        };
        let Some(owner) = self.owner_of(dev) else {
            let _ = writeln!(o, "error: {dev} is not owned by a worker's domain");
            return;
        };
        let workers = workers();
        let before = self.seen(&workers);
        let (address, data) = forged.message();
        let r = worker::Client::new(self.transport, owner).forge_msi(dev, address, data);
        if let Err(e) = r {
            let _ = writeln!(
                o,
                "error: {dev} could not forge the message: {}",
                Refusal(task_name(owner.index() as u16), e)
            );
            return;
        }
        wait_for_delivery();
        let after = self.seen(&workers);
        let _ = write!(
            o,
            "{dev} ({}) DMA-wrote {forged} ({data:#x} to {address:#x}): ",
            device_name(dev)
        );
        write_reached(&mut o, &workers, &before, &after);
        let _ = writeln!(o, "the machine runs on");
    }

    /// Each worker's count of interrupts received (0 if it does not answer).
    fn seen(&mut self, workers: &[u16]) -> heapless::Vec<u32, MAX_WORKERS> {
        workers
            .iter()
            .map(|&w| {
                worker::Client::new(self.transport, current_id(w))
                    .interrupts_seen()
                    .unwrap_or(0)
            })
            .collect()
    }

    /// The device's interrupt-remapping entry in words.
    fn route_of(&mut self, dev: Bdf) -> RouteText {
        let Some(handle) = handle_of(dev) else {
            return RouteText::None;
        };
        match self.iommu.get_irte(UnitId(0), handle) {
            Ok(route) => RouteText::Route(handle, route),
            Err(e) => RouteText::Error(e),
        }
    }
}

/// Gives the interrupt time to be taken.
fn wait_for_delivery() {
    sys_set_timer(
        Some(sys_get_timer() + DELIVERY_MS),
        config::notifications::TIMER,
    );
    sys_recv_notification(config::notifications::TIMER);
}

/// Which workers' counts moved between `before` and `after`.
fn write_reached(o: &mut Out, workers: &[u16], before: &[u32], after: &[u32]) {
    let mut reached = 0;
    for (i, &w) in workers.iter().enumerate() {
        let delta = after
            .get(i)
            .zip(before.get(i))
            .map_or(0, |(a, b)| a.wrapping_sub(*b));
        if delta > 0 {
            let _ = write!(o, "reached {} ({delta}); ", NAMES[w as usize]);
            reached += 1;
        }
    }
    if reached == 0 {
        let _ = write!(o, "reached no task; ");
    }
}

/// Worker tasks the console may ask (domain owners, each once).
pub(crate) const MAX_WORKERS: usize = 8;

/// The worker tasks: the owners of app.toml's domains, each once.
pub(crate) fn workers() -> heapless::Vec<u16, MAX_WORKERS> {
    let mut out = heapless::Vec::new();
    for d in config::system::DOMAINS.iter() {
        if !out.contains(&d.owner) {
            let _ = out.push(d.owner);
        }
    }
    out
}

/// The device's interrupt-remapping entry: its index in app.toml's devices,
/// as the broker numbers them.
fn handle_of(dev: Bdf) -> Option<u16> {
    let rid = dev.requester_id()?;
    let i = config::system::DEVICES
        .iter()
        .position(|d| d.address.rid == rid)?;
    u16::try_from(i).ok()
}

/// What `irq` prints about the entry.
enum RouteText {
    None,
    Route(u16, InterruptRoute),
    Error(idl_runtime::ClientError<idl_types::IommuError>),
}

impl core::fmt::Display for RouteText {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            RouteText::None => write!(f, "none (not an app.toml device)"),
            RouteText::Route(h, route) => write!(f, "entry {h}, {route}"),
            RouteText::Error(e) => write!(f, "unknown ({e})"),
        }
    }
}
