//! The steps scenarios are made of, each checking its own result: build a
//! domain, point a requester ID at it, run an edu DMA to completion, look
//! at the bytes that landed, drain the fault records and log them in words.
//!
//! Every wait is bounded (edu: `DMA_POLLS` sleeps of 10 ms; VT-d: the
//! library's poll limit), so a scenario fails instead of hanging.

use defmt::Display2Format as D;
use edu::{Direction, Edu, MmioBus};
use pci::Bdf;
use task_test_vtd::expect::ExpectedFault;
use task_test_vtd::pattern;
pub use test_harness::ensure;
use userlib::rdtsc;
use vtd::{
    Assignment, DomainTables, Fault, MapMode, PageAllocator, PageTable, Perm, Rid, SetContext,
};

use crate::platform::{Iommu, TimerSleep};
use crate::Outcome;

/// Bytes each DMA moves.
pub const LEN: u32 = 512;
/// Polls of a running edu DMA (10 ms each; a DMA takes about 100 ms).
const DMA_POLLS: u32 = 50;
/// Fault records kept from one drain (QEMU has one register).
const MAX_FAULTS: usize = 4;
const PAGE: u64 = 4096;

/// The requester ID of a PCI function.
pub fn rid(bdf: Bdf) -> Rid {
    Rid {
        bus: bdf.bus(),
        devfn: bdf.devfn(),
    }
}

/// The brought-up unit.
pub fn unit(u: &mut Option<Iommu>) -> Result<&mut Iommu, &'static str> {
    u.as_mut().ok_or("the unit was not brought up")
}

pub fn page(u: &mut Iommu) -> Result<u64, &'static str> {
    u.tables().1.alloc_page().ok_or("DMA pool exhausted")
}

/// The tables of domain `did` with `maps` = (iova, phys, perm), one page
/// each.
pub fn domain(
    u: &mut Iommu,
    did: u16,
    maps: &[(u64, u64, Perm)],
) -> Result<PageTable, &'static str> {
    let mut table = u.new_page_table().map_err(|e| {
        defmt::error!("new page table: {}", D(&e));
        "cannot allocate page tables"
    })?;
    for &(iova, phys, perm) in maps {
        let t0 = rdtsc();
        let mapped = u.map(&mut table, did, iova, phys, PAGE, perm);
        let spent = rdtsc().wrapping_sub(t0);
        if let Err(e) = mapped {
            defmt::error!("map {=u64:#x} -> {=u64:#x}: {}", iova, phys, D(&e));
            return Err("map failed");
        }
        defmt::info!("BENCH vtd_map_4k_instructions {=u64}", spent);
    }
    Ok(table)
}

/// Two domains, each with its own page at `iova` and the same read-only
/// source page at `iova_src`: what every reassignment scenario starts from.
pub struct TwoDomains {
    /// Domain A's page (at `iova`).
    pub page_a: u64,
    /// Domain B's page (at `iova`).
    pub page_b: u64,
    /// The source page both map read-only (at `iova_src`).
    pub source: u64,
    /// Domain A's tables (DID `dids.0`).
    pub ta: PageTable,
    /// Domain B's tables (DID `dids.1`).
    pub tb: PageTable,
}

/// Allocates the pages and builds [`TwoDomains`] under `dids`.
pub fn two_domains(
    u: &mut Iommu,
    dids: (u16, u16),
    iova: u64,
    iova_src: u64,
) -> Result<TwoDomains, &'static str> {
    let (page_a, page_b, source) = (page(u)?, page(u)?, page(u)?);
    let ta = domain(
        u,
        dids.0,
        &[(iova, page_a, Perm::RW), (iova_src, source, Perm::R)],
    )?;
    let tb = domain(
        u,
        dids.1,
        &[(iova, page_b, Perm::RW), (iova_src, source, Perm::R)],
    )?;
    Ok(TwoDomains {
        page_a,
        page_b,
        source,
        ta,
        tb,
    })
}

/// Points `dev`'s context entry at `tables` under `did`; `known` are the
/// DIDs a present entry may have (the caller's books).
pub fn assign(
    u: &mut Iommu,
    dev: Rid,
    did: u16,
    tables: DomainTables,
    mode: MapMode,
    known: &[u16],
) -> Result<SetContext, &'static str> {
    let target = Assignment {
        did,
        tables,
        ats: false,
    };
    let t0 = rdtsc();
    let result = u.set_context(dev, &target, mode, |d| known.contains(&d));
    let spent = rdtsc().wrapping_sub(t0);
    match result {
        Ok(r) => {
            if r.previous.present && r.previous.did != did {
                defmt::info!("BENCH vtd_context_replace_instructions {=u64}", spent);
            }
            defmt::info!(
                "context {}: DID {=u16} (previous: present {=bool}, DID {=u16}), path {}",
                D(&dev),
                did,
                r.previous.present,
                r.previous.did,
                defmt::Debug2Format(&r.path)
            );
            if let Some(w) = r.warning {
                defmt::warn!("{}", D(&w));
            }
            Ok(r)
        }
        Err(e) => {
            defmt::error!("set_context {}: {}", D(&dev), D(&e));
            Err("set_context failed")
        }
    }
}

/// The paged tables of `table` for a context entry.
pub fn paged(table: &PageTable) -> DomainTables {
    DomainTables::Paged {
        root: table.root(),
        levels: table.levels(),
    }
}

/// Runs one edu DMA of `LEN` bytes between `iova` and the start of edu's
/// buffer, to completion.
pub fn dma(edu: &mut Edu<MmioBus>, direction: Direction, iova: u64) -> Outcome {
    match edu.dma(direction, iova, 0, LEN, &mut TimerSleep, DMA_POLLS) {
        Ok(_) => Ok(()),
        Err(e) => {
            defmt::error!("edu DMA at {=u64:#x}: {}", iova, D(&e));
            Err("edu DMA did not complete")
        }
    }
}

/// Writes the pattern of `seed` at `pa`, then has edu read it from `iova`
/// (which must translate to `pa`) into its buffer.
pub fn load(u: &mut Iommu, edu: &mut Edu<MmioBus>, iova: u64, pa: u64, seed: u8) -> Outcome {
    let mut bytes = [0u8; LEN as usize];
    pattern::fill(seed, &mut bytes);
    u.memory()
        .write_bytes(pa, &bytes)
        .map_err(|_| "source page outside the pool")?;
    dma(edu, Direction::ToDevice, iova)
}

/// Checks that the first `LEN` bytes at `pa` are the pattern of `seed` and
/// the rest of the page is `rest`.
pub fn holds_pattern(u: &mut Iommu, pa: u64, seed: u8, rest: u8) -> Result<bool, &'static str> {
    let mut bytes = [0u8; PAGE as usize];
    u.memory()
        .read_bytes(pa, &mut bytes)
        .map_err(|_| "page outside the pool")?;
    let (head, tail) = bytes.split_at(LEN as usize);
    Ok(pattern::first_mismatch(seed, head).is_none() && tail.iter().all(|&b| b == rest))
}

/// Checks that every byte of the page at `pa` is `value`.
pub fn holds_only(u: &mut Iommu, pa: u64, value: u8) -> Result<bool, &'static str> {
    let mut bytes = [0u8; PAGE as usize];
    u.memory()
        .read_bytes(pa, &mut bytes)
        .map_err(|_| "page outside the pool")?;
    Ok(bytes.iter().all(|&b| b == value))
}

/// Sets the page at `pa` to `value`.
pub fn fill(u: &mut Iommu, pa: u64, value: u8) -> Outcome {
    u.memory()
        .fill(pa, PAGE, value)
        .map_err(|_| "page outside the pool")
}

/// The fault records one drain found.
pub struct Drained {
    pub faults: [Option<Fault>; MAX_FAULTS],
    pub count: usize,
    pub overflowed: bool,
}

/// Drains every fault record, logging each in words.
pub fn drain(u: &mut Iommu) -> Drained {
    let mut out = Drained {
        faults: [None; MAX_FAULTS],
        count: 0,
        overflowed: false,
    };
    let summary = u.drain_faults(|f| {
        defmt::warn!(
            "DMA fault: {} {=str} at {=u64:#x} blocked: {} (reason {=u8})",
            D(&f.source),
            if f.write { "write" } else { "read" },
            f.address,
            D(&f.reason),
            f.reason.code()
        );
        if let Some(slot) = out.faults.get_mut(out.count) {
            *slot = Some(f);
        }
        out.count += 1;
    });
    if summary.overflowed {
        defmt::warn!("fault overflow (PFO): at least one fault was lost");
    }
    out.overflowed = summary.overflowed;
    out
}

/// Fails if any fault record is pending.
pub fn no_faults(u: &mut Iommu) -> Outcome {
    let d = drain(u);
    ensure(d.count == 0 && !d.overflowed, "unexpected DMA fault")
}

/// Expects exactly the one fault `want` to be pending.
pub fn one_fault(u: &mut Iommu, want: ExpectedFault) -> Outcome {
    let d = drain(u);
    ensure(d.count == 1, "expected exactly one fault record")?;
    let Some(got) = d.faults[0] else {
        return Err("fault record missing");
    };
    want.check(&got).map_err(|m| {
        defmt::error!(
            "expected {} {=str} at {=u64:#x}: {}",
            D(&want.source),
            if want.write { "write" } else { "read" },
            want.address,
            D(&want.reason)
        );
        m.why()
    })
}

/// Clears the context entries of `devs` (flushing with their own DIDs).
pub fn clear(u: &mut Iommu, devs: &[Rid]) -> Outcome {
    for &dev in devs {
        if let Err(e) = u.clear_context(dev) {
            defmt::error!("clear_context {}: {}", D(&dev), D(&e));
            return Err("clear_context failed");
        }
    }
    Ok(())
}

/// Gives back a domain's tables and the DMA pages a scenario used.
pub fn release(u: &mut Iommu, tables: &mut [Option<PageTable>], pages: &[u64]) {
    for t in tables.iter_mut() {
        if let Some(t) = t.take() {
            u.destroy_page_table(t);
        }
    }
    for &p in pages {
        u.tables().1.free_page(p);
    }
}

/// Fails if the pool refused any access the library made.
pub fn pool_clean(u: &mut Iommu) -> Outcome {
    let faults = u.memory().faults();
    if faults != 0 {
        if let Some(f) = u.memory().last_fault() {
            defmt::error!("{=u32} pool access(es) refused, last: {}", faults, D(&f));
        }
        return Err("the library touched memory outside the DMA pool");
    }
    Ok(())
}
