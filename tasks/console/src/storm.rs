//! `dma-storm`: a hostile owner makes its device DMA outside its domain in
//! a tight loop, while another worker runs a DMA of its own. What must hold
//! (issue 16: fault storms don't starve the machine): the bystander's DMA
//! completes, the console answers afterwards, and the broker's fault budget
//! takes the device into quarantine (`faults` then says how many faults
//! it made).

use core::fmt::Write as _;

use idl_types::{Custody, DomainId};
use task_console::DeviceRef;

use crate::registers::{task_name, Refusal};
use crate::serial::Out;
use crate::{
    config, current_id, custody, device_name, domain_name, resolve_or_say, worker, Console,
};

impl Console {
    pub(crate) fn dma_storm(&mut self, device: DeviceRef, iova: u64, millis: u32) {
        let mut o = Out;
        let Some(dev) = resolve_or_say(device) else {
            return;
        };
        let Some(owner) = self.owner_of(dev) else {
            let _ = writeln!(o, "error: {dev} is not owned by a worker's domain");
            return;
        };
        let was = self.find_device(|e| e.device == dev).map(|e| e.custody);
        // Another worker's device, DMAing into its own buffer meanwhile.
        let bystander = self.find_device(|e| match e.custody {
            Custody::Domain(d) => {
                e.device != dev && worker_of(d).is_some_and(|w| w != owner.index() as u16)
            }
            _ => false,
        });
        let mut by = bystander.and_then(|e| match e.custody {
            Custody::Domain(d) => {
                let (w, page) = (worker_of(d)?, buffer_page(d)?);
                Some((
                    e.device,
                    d,
                    worker::Client::new(self.transport, current_id(w)),
                    page,
                ))
            }
            _ => None,
        });
        let by_started = by
            .as_mut()
            .map(|(d, _, w, page)| w.start_dma(*d, *page, BYSTANDER_PATTERN));
        let mut w = worker::Client::new(self.transport, owner);
        let storm = w.storm(dev, iova, millis);
        let now = self.find_device(|e| e.device == dev).map(|e| e.custody);
        match storm {
            // The worker stops when the device, and so its registers, are
            // taken from it.
            Ok(n) if now != was => {
                let _ = writeln!(
                    o,
                    "{dev} ({}) DMAed to IOVA {iova:#x} {n} times, until the broker took it from {} (its registers with it)",
                    device_name(dev),
                    task_name(owner.index() as u16)
                );
            }
            Ok(n) => {
                let _ = writeln!(
                    o,
                    "{dev} ({}) DMAed to IOVA {iova:#x} {n} times in {millis} ms",
                    device_name(dev)
                );
            }
            Err(e) => {
                let _ = writeln!(
                    o,
                    "error: the storm: {}",
                    Refusal(task_name(owner.index() as u16), e)
                );
            }
        }
        if let (Some((d, domain, w, page)), Some(started)) = (by.as_mut(), by_started) {
            let report = started.and_then(|()| w.finish_dma());
            match report {
                Ok(r) => {
                    let _ = writeln!(
                        o,
                        "meanwhile {d} ({}) DMAed to IOVA {page:#x} of {}: {} ({} ms)",
                        device_name(*d),
                        domain_name(*domain),
                        if r.landed && r.rest_untouched {
                            "landed in the owner's buffer"
                        } else {
                            "did NOT land in the owner's buffer"
                        },
                        r.millis
                    );
                }
                Err(e) => {
                    let _ = writeln!(
                        o,
                        "meanwhile {d}'s DMA failed: {}",
                        Refusal(worker_of(*domain).map_or("?", task_name), e)
                    );
                }
            }
        }
        match self.find_device(|e| e.device == dev) {
            Some(e) => {
                let _ = writeln!(o, "{dev} is now in {}", custody(e.custody));
            }
            None => {
                let _ = writeln!(o, "error: the broker did not answer");
            }
        }
    }
}

/// The pattern the bystander's DMA writes.
const BYSTANDER_PATTERN: u8 = 0x3C;

/// The worker task owning domain `d`.
fn worker_of(d: DomainId) -> Option<u16> {
    let i = d.0.checked_sub(config::system::FIRST_DOMAIN_ID)? as usize;
    config::system::DOMAINS.get(i).map(|d| d.owner)
}

/// A page of domain `d`'s buffer for the bystander's transfer.
fn buffer_page(d: DomainId) -> Option<u64> {
    let i = d.0.checked_sub(config::system::FIRST_DOMAIN_ID)? as usize;
    let map = config::system::DOMAINS.get(i)?.maps.first()?;
    Some(map.iova + BYSTANDER_PAGE_OFFSET)
}

/// Where in its buffer the bystander DMAs (a page `dma` does not use).
const BYSTANDER_PAGE_OFFSET: u64 = 0x8000;
