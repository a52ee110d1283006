//! `dma-storm`: a hostile owner makes its device DMA outside its domain in
//! a tight loop, while another worker runs a DMA of its own. What must hold
//! (issue 16: fault storms don't starve the machine): the bystander's DMA
//! completes, the console answers afterwards, and the broker's fault budget
//! takes the device into quarantine (`faults` then says how many faults
//! it made).

use core::fmt::{self, Write};

use idl_types::Custody;

use super::Console;
use crate::command::DeviceRef;
use crate::services::{Services, Worker};

/// The pattern the bystander's DMA writes.
const BYSTANDER_PATTERN: u8 = 0x3C;
/// Where in its buffer the bystander DMAs (a page `dma` does not use).
const BYSTANDER_PAGE_OFFSET: u64 = 0x8000;

impl<S: Services> Console<'_, S> {
    pub(super) fn dma_storm(
        &mut self,
        o: &mut dyn Write,
        device: DeviceRef,
        iova: u64,
        millis: u32,
    ) -> fmt::Result {
        let Some(dev) = self.resolve_or_say(o, device)? else {
            return Ok(());
        };
        let Some(owner) = self.owner_of(dev) else {
            return writeln!(o, "error: {dev} is not owned by a worker's domain");
        };
        let system = self.system;
        let was = self.custody_of(dev);
        // Another worker's device, DMAing into its own buffer meanwhile.
        let bystander = self
            .find_device(|e| match e.custody {
                Custody::Domain(d) => {
                    e.device != dev && system.owner_task(d).is_some_and(|w| w != owner)
                }
                _ => false,
            })
            .and_then(|e| match e.custody {
                Custody::Domain(d) => {
                    let domain = system.domain(d)?;
                    let page = domain.maps.first()?.iova + BYSTANDER_PAGE_OFFSET;
                    Some((e.device, domain, page))
                }
                _ => None,
            });
        let mut by = bystander
            .map(|(d, domain, page)| (d, domain, self.services.worker(domain.owner), page));
        let by_started = by
            .as_mut()
            .map(|(d, _, w, page)| w.start_dma(*d, *page, BYSTANDER_PATTERN));
        let storm = self.services.worker(owner).storm(dev, iova, millis);
        let now = self.custody_of(dev);
        let name = system.device_name(dev);
        match storm {
            // The worker stops when the device, and so its registers, are
            // taken from it.
            Ok(n) if now != was => writeln!(
                o,
                "{dev} ({name}) DMAed to IOVA {iova:#x} {n} times, until the broker took it from {} (its registers with it)",
                system.task_name(owner)
            )?,
            Ok(n) => writeln!(o, "{dev} ({name}) DMAed to IOVA {iova:#x} {n} times in {millis} ms")?,
            Err(e) => {
                let why = self.refusal(system.task_name(owner), e);
                writeln!(o, "error: the storm: {why}")?
            }
        }
        if let (Some((d, domain, w, page)), Some(started)) = (by.as_mut(), by_started) {
            match started.and_then(|()| w.finish_dma()) {
                Ok(r) => writeln!(
                    o,
                    "meanwhile {d} ({}) DMAed to IOVA {page:#x} of {}: {} ({} ms)",
                    system.device_name(*d),
                    domain.name,
                    if r.landed && r.rest_untouched {
                        "landed in the owner's buffer"
                    } else {
                        "did NOT land in the owner's buffer"
                    },
                    r.millis
                )?,
                Err(e) => {
                    let why = self.refusal(system.task_name(domain.owner), e);
                    writeln!(o, "meanwhile {d}'s DMA failed: {why}")?
                }
            }
        }
        match self.custody_of(dev) {
            Some(c) => writeln!(o, "{dev} is now in {}", system.custody(c)),
            None => writeln!(o, "error: the broker did not answer"),
        }
    }
}
