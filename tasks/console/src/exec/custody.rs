//! `assign`, `reassign`, `quarantine`, `release`: the broker moves a
//! device, and the console says how the unit's context entry was written
//! (one atomic write each, or which of Xen's fallbacks when the CPU has no
//! CMPXCHG16B, read from the iommu's counters before and after).

use core::fmt::{self, Write};

use idl_types::{IommuCounters, UnitId};

use super::Console;
use crate::command::DeviceRef;
use crate::services::Services;

/// The unit whose counters tell how a move went.
const UNIT: UnitId = UnitId(0);

impl<S: Services> Console<'_, S> {
    /// `assign` (`reassign` false) or `reassign`.
    pub(super) fn assign(
        &mut self,
        o: &mut dyn Write,
        device: DeviceRef,
        domain: &str,
        reassign: bool,
    ) -> fmt::Result {
        let dev = match self.system.resolve(device) {
            Ok(dev) => dev,
            Err(why) => return writeln!(o, "error: {why}"),
        };
        let Some(dom) = self.system.domain_by_name(domain) else {
            return writeln!(o, "error: no domain by that name (see 'domains')");
        };
        let before = self.services.counters(UNIT).ok();
        let r = if reassign {
            self.services.reassign(dev, dom)
        } else {
            self.services.assign(dev, dom)
        };
        let rep = match r {
            Ok(rep) => rep,
            Err(e) => return writeln!(o, "error: {e}"),
        };
        write!(
            o,
            "{dev} ({}) -> {domain}: done (",
            self.system.device_name(dev)
        )?;
        let after = self.services.counters(UNIT).ok();
        match (rep.atomic, before.zip(after)) {
            (true, _) => write!(o, "one atomic context write each")?,
            (false, Some((b, a))) => write_path(o, &b, &a)?,
            (false, None) => write!(o, "non-atomic path")?,
        }
        writeln!(o, ")")
    }

    /// `quarantine` (`quarantine` true) or `release`.
    pub(super) fn quarantine(
        &mut self,
        o: &mut dyn Write,
        device: DeviceRef,
        quarantine: bool,
    ) -> fmt::Result {
        let Some(dev) = self.resolve_or_say(o, device)? else {
            return Ok(());
        };
        let r = if quarantine {
            self.services.quarantine(dev)
        } else {
            self.services.release(dev)
        };
        match r {
            Ok(_) => writeln!(
                o,
                "{dev} ({}) -> quarantine: done",
                self.system.device_name(dev)
            ),
            Err(e) => writeln!(o, "error: {e}"),
        }
    }
}

/// How the context writes between two counter readings went, when the CPU
/// had no CMPXCHG16B: Xen's fallback (cleared first: the entry is not
/// present for a moment, allowed for a device without an RMRR) and its
/// best effort (DID written last, for an RMRR device), with whether Xen
/// warns of data corruption there (not when the old owner is dying or had
/// no other device behind the unit).
fn write_path(o: &mut dyn Write, before: &IommuCounters, after: &IommuCounters) -> fmt::Result {
    let cleared = after
        .cleared_first_changes
        .saturating_sub(before.cleared_first_changes);
    let best = after
        .best_effort_changes
        .saturating_sub(before.best_effort_changes);
    let warned = after
        .corruption_warnings
        .saturating_sub(before.corruption_warnings);
    write!(o, "no CMPXCHG16B:")?;
    if cleared > 0 {
        write!(o, " {cleared} cleared first (not present for a moment)")?;
    }
    if best > 0 {
        write!(o, " {best} best effort (DID written last)")?;
        if warned > 0 {
            write!(o, ", Xen warns: data corruption possible")?;
        } else {
            write!(o, ", no warning (old owner dying or alone on the unit)")?;
        }
    }
    Ok(())
}
