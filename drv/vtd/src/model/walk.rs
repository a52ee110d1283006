//! Side-effect-free translation through memory: root entry, context entry,
//! second-level walk. Used both by DMA (which then fills caches and records
//! faults) and by the observer (which must not disturb anything).

use super::memory::PhysMem;
use crate::cap::{Cap, Ecap, Levels};
use crate::format::{ContextEntry, FaultReason, RootEntry, SlPte, TranslationType};
use crate::pagetable::{index, span, Perm};
use crate::regs::ENTRY128_SIZE;

/// A leaf reached by a walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Leaf {
    /// Base IOVA of the leaf.
    pub iova: u64,
    pub size: u64,
    pub phys: u64,
    pub perm: Perm,
}

/// The context entry of `sid` in memory under root table `rta`.
pub(crate) fn fetch_context(
    mem: &PhysMem,
    rta: u64,
    sid: u16,
) -> Result<ContextEntry, FaultReason> {
    let root = RootEntry::decode(mem.read_u64(rta + (sid >> 8) as u64 * ENTRY128_SIZE));
    if !root.present {
        return Err(FaultReason::RootNotPresent);
    }
    let slot = root.context_table + (sid & 0xff) as u64 * ENTRY128_SIZE;
    let entry = ContextEntry::decode(mem.read_u64(slot), mem.read_u64(slot + 8));
    if !entry.present {
        return Err(FaultReason::ContextNotPresent);
    }
    Ok(entry)
}

/// How a valid context entry translates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    PassThrough,
    Tables { root: u64, levels: Levels },
}

/// Checks a present context entry as QEMU would (TT allowed by ECAP, AW
/// allowed by SAGAW; QEMU 7.2 refuses a 4-level entry with reason 3).
pub(crate) fn validate(entry: &ContextEntry, cap: &Cap, ecap: &Ecap) -> Result<Mode, FaultReason> {
    match entry.tt {
        TranslationType::PassThrough if ecap.pt => return Ok(Mode::PassThrough),
        TranslationType::MultiLevel => {}
        TranslationType::DeviceIotlb if ecap.dt => {}
        _ => return Err(FaultReason::InvalidContext),
    }
    match Levels::from_aw(entry.aw) {
        Some(levels) if cap.supports(levels) => Ok(Mode::Tables {
            root: entry.slptptr,
            levels,
        }),
        _ => Err(FaultReason::InvalidContext),
    }
}

/// Walks second-level tables for `iova` with the access asked for.
pub(crate) fn walk(
    mem: &PhysMem,
    root: u64,
    levels: Levels,
    mgaw: u8,
    iova: u64,
    write: bool,
) -> Result<Leaf, FaultReason> {
    let width = levels.width().min(mgaw);
    if width < 64 && iova >> width != 0 {
        return Err(FaultReason::BeyondMgaw);
    }
    let denied = if write {
        FaultReason::NoWrite
    } else {
        FaultReason::NoRead
    };
    let mut table = root;
    let mut level = levels.count();
    let mut perm = Perm::RW;
    loop {
        let pte = SlPte::decode(mem.read_u64(table + index(iova, level) * 8));
        if !pte.present() {
            return Err(denied);
        }
        perm.read &= pte.read;
        perm.write &= pte.write;
        if level == 1 || pte.superpage {
            let size = span(level);
            let allowed = if write { perm.write } else { perm.read };
            if !allowed {
                return Err(denied);
            }
            return Ok(Leaf {
                iova: iova & !(size - 1),
                size,
                phys: pte.addr,
                perm,
            });
        }
        table = pte.addr;
        level -= 1;
    }
}
