//! `dma` and `dma-move`: a device's owner DMAs a pattern into its buffer
//! and checks where it landed; and the headline of Xen's fix, a DMA in
//! flight while its device moves to another domain.

use core::fmt::{self, Write};

use super::Console;
use crate::command::DeviceRef;
use crate::services::{Services, Worker};
use crate::system::DmaMap;

/// The pattern workers write when asked by `dma`.
const PATTERN: u8 = 0x5A;
/// The patterns `dma-move` writes: this, with the DMA count in the low
/// nibble (so a stale transfer is told from a fresh one).
const MOVE_PATTERN: u8 = 0xA0;
/// The bystander's pattern differs from the moved device's in these bits.
const BYSTANDER_FLIP: u8 = 0x0F;
/// A page in a buffer.
const PAGE: u64 = 0x1000;
/// DMAs go to one of this many pages after a buffer's first, in turn.
const PAGES: u64 = 4;
/// How far from the moved device's page the bystander's is (in pages).
const BYSTANDER_STEP: u64 = 2;

/// Page `n` (in turn) of a buffer: never its first.
fn page(buffer: Option<DmaMap>, n: u64) -> u64 {
    buffer.map_or(0, |b| b.iova + PAGE * (1 + n % PAGES))
}

impl<S: Services> Console<'_, S> {
    pub(super) fn dma(
        &mut self,
        o: &mut dyn Write,
        device: DeviceRef,
        iova: Option<u64>,
    ) -> fmt::Result {
        let Some(dev) = self.resolve_or_say(o, device)? else {
            return Ok(());
        };
        let owner = match self.owner_of(dev) {
            Some(t) => t,
            None if self.quarantined(dev) => {
                self.say_quarantined(o, dev, "start its DMA")?;
                return writeln!(o);
            }
            None => return writeln!(o, "error: {dev} is not owned by a worker's domain"),
        };
        let target = match iova {
            Some(iova) => iova,
            None => {
                self.dma_count += 1;
                let buffer = self
                    .system
                    .domains
                    .iter()
                    .find(|d| d.owner == owner)
                    .and_then(|d| d.maps.first().copied());
                page(buffer, self.dma_count)
            }
        };
        match self.services.worker(owner).dma(dev, target, PATTERN) {
            Ok(r) => writeln!(
                o,
                "{dev} -> IOVA {:#x}: {} ({} ms){}",
                r.iova,
                if r.landed {
                    "landed in the owner's buffer"
                } else {
                    "did NOT land in the owner's buffer"
                },
                r.millis,
                if r.rest_untouched {
                    ""
                } else {
                    "; other bytes changed!"
                }
            ),
            Err(e) => {
                let why = self.refusal(self.system.task_name(owner), e);
                writeln!(o, "error: {why}")
            }
        }
    }

    /// The headline of Xen's fix: a DMA in flight while its device moves.
    /// edu performs the transfer 100 ms after it starts; the reassignment
    /// takes far less, so the data must land through the *new* domain's
    /// tables, in the new owner's buffer, with no DMA fault.
    pub(super) fn dma_move(
        &mut self,
        o: &mut dyn Write,
        device: DeviceRef,
        domain: &str,
        at: Option<u64>,
    ) -> fmt::Result {
        let dev = match self.system.resolve(device) {
            Ok(dev) => dev,
            Err(why) => return writeln!(o, "error: {why}"),
        };
        let no_domain = "error: no domain by that name (see 'domains')";
        let Some(target) = self.system.domain_by_name(domain) else {
            return writeln!(o, "{no_domain}");
        };
        let Some(old) = self.owner_of(dev) else {
            return writeln!(o, "error: {dev} is not owned by a worker's domain");
        };
        let Some(new) = self.system.domain(target).copied() else {
            return writeln!(o, "{no_domain}");
        };
        self.dma_count += 1;
        let pattern = MOVE_PATTERN | (self.dma_count % 16) as u8;
        let buffer = self.system.buffer(&new);
        let iova = at.unwrap_or_else(|| page(buffer, self.dma_count));
        let in_buffer = buffer.is_some_and(|b| iova >= b.iova && iova < b.iova + b.size);
        let mut from = self.services.worker(old);
        let mut to = self.services.worker(new.owner);
        // Meanwhile the target domain's worker runs a DMA of its own device
        // (if it has one) to another page: it must land untouched.
        let bystander = self.device_of(target, dev);
        let by_iova = page(buffer, self.dma_count + BYSTANDER_STEP);
        let by_pattern = pattern ^ BYSTANDER_FLIP;
        let by_started = bystander.is_some_and(|d| to.start_dma(d, by_iova, by_pattern).is_ok());
        if let Err(e) = from.start_dma(dev, iova, pattern) {
            let why = self.refusal(self.system.task_name(old), e);
            return writeln!(o, "error: starting the DMA: {why}");
        }
        let moved = self.services.reassign(dev, target);
        let report = from.finish_dma();
        let by_report = by_started.then(|| to.finish_dma());
        let landed = to.holds(iova, pattern).unwrap_or(false);
        if let (Some(d), Some(r)) = (bystander, by_report) {
            // Its buffer's other pages legitimately change: the moved
            // device's data lands there too. Its own page must be intact.
            let ok = matches!(r, Ok(ref r) if r.landed);
            writeln!(
                o,
                "meanwhile {d} (already in {domain}) DMAed to IOVA {by_iova:#x}: {}",
                if ok { "landed untouched" } else { "DISTURBED" }
            )?;
        }
        match (moved, report) {
            (Ok(_), Ok(_)) if !in_buffer => writeln!(
                o,
                "{dev} moved to {domain} while its DMA to IOVA {iova:#x} (outside the owners' buffers) was in flight; see 'faults'"
            ),
            (Ok(_), Ok(r)) => writeln!(
                o,
                "{dev} moved to {domain} while its DMA was in flight; the data {} ({} ms), {}",
                if landed {
                    "landed in the new owner's buffer"
                } else {
                    "did NOT land in the new owner's buffer"
                },
                r.millis,
                if r.landed {
                    "and ALSO in the old owner's"
                } else {
                    "not in the old owner's"
                }
            ),
            (Err(e), _) => writeln!(o, "error: the reassignment failed: {e}"),
            (_, Err(e)) => {
                let why = self.refusal(self.system.task_name(old), e);
                writeln!(o, "error: the DMA did not finish: {why}")
            }
        }
    }
}
