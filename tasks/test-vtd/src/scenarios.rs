//! The VT-d QEMU scenarios, one function each, in the order they run.
//!
//! Each scenario starts from a clean unit (no context entry of ours
//! present, no fault pending), uses its own DIDs (so no IOTLB entry of an
//! earlier one can help it pass), and gives its tables and pages back.

use defmt::Display2Format as D;
use edu::Direction;
use task_test_vtd::expect::{self, ExpectedFault};
use vtd::{regs, DomainTables, FaultReason, GstsBit, MapMode, Perm, Quarantine, Rid, StorePath};

use crate::platform::{Bench, BRIDGE, EDU, EDU_BRIDGED};
use crate::steps::*;
use crate::Outcome;

/// Every scenario, by the name xtask reports.
pub const ALL: &[test_harness::Scenario<Bench>] = &[
    ("bring_up_enables_translation", bring_up),
    (
        "dma_through_mapped_domain_lands_at_expected_page",
        dma_mapped,
    ),
    ("dma_to_unmapped_iova_is_blocked_and_reported", dma_blocked),
    (
        "legacy_device_behind_bridge_needs_secbus_alias",
        bridge_alias,
    ),
    ("direct_reassign_moves_dma_to_new_domain", direct_reassign),
    ("stale_iotlb_needs_old_did_flush", stale_iotlb),
    ("quarantine_sends_dma_to_scratch_page", quarantine),
    (
        "resume_takes_the_running_unit_over_without_allocating",
        resume,
    ),
];

/// Where domains map their target page, and their source page.
const IOVA: u64 = 0x10_0000;
const IOVA_SRC: u64 = 0x10_1000;
const IOVA_RO: u64 = 0x10_2000;
/// The image forces queued invalidation (apps/vtd-qi-tests.toml).
const QUEUE: bool = cfg!(feature = "queue");

/// Every requester ID a scenario may give a context entry.
fn all_rids() -> [Rid; 4] {
    [
        rid(EDU),
        rid(EDU_BRIDGED),
        rid(BRIDGE),
        Rid::new(EDU_BRIDGED.bus(), 0, 0),
    ]
}

/// A clean start: our context entries cleared, stale faults drained.
fn fresh(b: &mut Bench) -> Outcome {
    let u = unit(&mut b.unit)?;
    clear(u, &all_rids())?;
    let stale = drain(u);
    if stale.count != 0 {
        defmt::warn!(
            "{=usize} fault(s) left over from an earlier scenario",
            stale.count
        );
    }
    Ok(())
}

fn bring_up(b: &mut Bench) -> Outcome {
    let u = match b.build_unit() {
        Ok(u) => u,
        Err(e) => {
            defmt::error!("VT-d unit: {}", D(&e));
            return Err("CAP/ECAP refused");
        }
    };
    let cap = *u.cap();
    let ecap = *u.ecap();
    defmt::info!(
        "CAP {=u64:#018x}: {=u8} levels, {=u32} domains, SAGAW {=u8:#x}, MGAW {=u8}, CM {=bool}, RWBF {=bool}, PSI {=bool}, 2M {=bool}, {=u16} fault record(s) at {=usize:#x}",
        cap.encode(),
        u.levels().count(),
        u.domain_count(),
        cap.sagaw,
        cap.mgaw,
        cap.cm,
        cap.rwbf,
        cap.psi,
        cap.sp_2m,
        cap.nfr,
        cap.fault_record_offset()
    );
    defmt::info!(
        "ECAP {=u64:#x}: QI {=bool}, PT {=bool}, DT {=bool}, IR {=bool}, coherent {=bool}, IOTLB regs at {=usize:#x}",
        ecap.encode(),
        ecap.qi,
        ecap.pt,
        ecap.dt,
        ecap.ir,
        ecap.coherent,
        ecap.iotlb_offset()
    );
    if let Err(e) = u.bring_up() {
        defmt::error!("bring-up: {}", D(&e));
        return Err("bring-up failed");
    }
    let gsts = vtd::Registers::read32(u.registers(), regs::GSTS);
    defmt::info!(
        "GSTS {=u32:#x}; invalidation by {=str}",
        gsts,
        if u.uses_queue() { "queue" } else { "registers" }
    );
    ensure(gsts & GstsBit::Te.mask() != 0, "GSTS.TES is clear")?;
    ensure(gsts & GstsBit::Rtps.mask() != 0, "GSTS.RTPS is clear")?;
    ensure(
        u.uses_queue() == QUEUE,
        "invalidation mode is not the one forced",
    )?;
    ensure(
        (gsts & GstsBit::Qies.mask() != 0) == QUEUE,
        "GSTS.QIES does not match the invalidation mode",
    )?;
    no_faults(u)?;
    pool_clean(u)?;
    for edu in [&mut b.edu, &mut b.edu_bridged] {
        edu.identify().map_err(|_| "edu ID register is wrong")?;
        edu.check_liveness(0x5a5a_1234)
            .map_err(|_| "edu liveness check failed")?;
    }
    Ok(())
}

fn dma_mapped(b: &mut Bench) -> Outcome {
    fresh(b)?;
    let u = unit(&mut b.unit)?;
    let (target, source) = (page(u)?, page(u)?);
    let did = 1;
    let t = domain(
        u,
        did,
        &[(IOVA, target, Perm::RW), (IOVA_SRC, source, Perm::R)],
    )?;
    assign(u, rid(EDU), did, paged(&t), MapMode::NONE, &[])?;
    ensure(
        t.translate(u.memory(), IOVA).map(|x| x.phys) == Some(target),
        "the tables do not translate the IOVA to the target page",
    )?;
    // RAM -> device from the source page, then device -> RAM at the target.
    load(u, &mut b.edu, IOVA_SRC, source, 0x11)?;
    dma(&mut b.edu, Direction::ToRam, IOVA)?;
    ensure(
        holds_pattern(u, target, 0x11, 0)?,
        "the bytes did not land at the target page",
    )?;
    no_faults(u)?;
    clear(u, &[rid(EDU)])?;
    release(u, &mut [Some(t)], &[target, source]);
    pool_clean(u)
}

fn dma_blocked(b: &mut Bench) -> Outcome {
    fresh(b)?;
    let u = unit(&mut b.unit)?;
    let (target, readonly, sentinel) = (page(u)?, page(u)?, page(u)?);
    let did = 2;
    let t = domain(
        u,
        did,
        &[(IOVA, target, Perm::RW), (IOVA_RO, readonly, Perm::R)],
    )?;
    assign(u, rid(EDU), did, paged(&t), MapMode::NONE, &[])?;
    load(u, &mut b.edu, IOVA, target, 0x22)?;
    for p in [readonly, sentinel] {
        fill(u, p, 0xee)?;
    }
    // The sentinel's own physical address as IOVA: untranslated, the DMA
    // would land in it. The domain does not map it.
    dma(&mut b.edu, Direction::ToRam, sentinel)?;
    ensure(
        holds_only(u, sentinel, 0xee)?,
        "DMA to an unmapped IOVA changed memory",
    )?;
    one_fault(
        u,
        ExpectedFault {
            source: rid(EDU),
            address: sentinel,
            write: true,
            reason: FaultReason::NoWrite,
        },
    )?;
    // A read-only page: the write is refused for want of permission.
    dma(&mut b.edu, Direction::ToRam, IOVA_RO)?;
    ensure(holds_only(u, readonly, 0xee)?, "DMA wrote a read-only page")?;
    one_fault(
        u,
        ExpectedFault {
            source: rid(EDU),
            address: IOVA_RO,
            write: true,
            reason: FaultReason::NoWrite,
        },
    )?;
    // And the mapped page still works: blocking is per page, not per device.
    fill(u, target, 0)?;
    dma(&mut b.edu, Direction::ToRam, IOVA)?;
    ensure(
        holds_pattern(u, target, 0x22, 0)?,
        "the mapped page stopped working",
    )?;
    no_faults(u)?;
    clear(u, &[rid(EDU)])?;
    release(u, &mut [Some(t)], &[target, readonly, sentinel]);
    pool_clean(u)
}

fn bridge_alias(b: &mut Bench) -> Outcome {
    fresh(b)?;
    let topo = pci::Topology::<32>::enumerate(&b.pci, 0);
    let rids = topo
        .requester_ids(EDU_BRIDGED, pci::Direction::Assign)
        .map_err(|_| "no requester IDs for 01:01.0")?;
    let alias = Rid::new(EDU_BRIDGED.bus(), 0, 0);
    for r in &rids {
        defmt::info!("01:01.0 DMAs as {}", D(&rid(*r)));
    }
    ensure(
        rids.iter().any(|&r| rid(r) == alias),
        "the PCI topology does not list the (secbus, 0.0) alias",
    )?;
    let u = unit(&mut b.unit)?;
    let (target, source) = (page(u)?, page(u)?);
    let did = 3;
    let t = domain(
        u,
        did,
        &[(IOVA, target, Perm::RW), (IOVA_SRC, source, Perm::R)],
    )?;
    // Only the device's own ID: its DMA arrives as (1, 0.0) and finds no
    // context entry.
    assign(u, rid(EDU_BRIDGED), did, paged(&t), MapMode::NONE, &[])?;
    fill(u, target, 0xee)?;
    dma(&mut b.edu_bridged, Direction::ToRam, IOVA)?;
    ensure(
        holds_only(u, target, 0xee)?,
        "DMA landed without the alias's context entry",
    )?;
    one_fault(
        u,
        ExpectedFault {
            source: alias,
            address: IOVA,
            write: true,
            reason: FaultReason::ContextNotPresent,
        },
    )?;
    // Every requester ID of the device, in Xen's order.
    for &r in rids.iter().skip(1) {
        assign(u, rid(r), did, paged(&t), MapMode::NONE, &[did])?;
    }
    fill(u, target, 0)?;
    load(u, &mut b.edu_bridged, IOVA_SRC, source, 0x33)?;
    dma(&mut b.edu_bridged, Direction::ToRam, IOVA)?;
    ensure(
        holds_pattern(u, target, 0x33, 0)?,
        "DMA did not land with the alias mapped",
    )?;
    no_faults(u)?;
    for &r in rids.iter().rev() {
        clear(u, &[rid(r)])?;
    }
    release(u, &mut [Some(t)], &[target, source]);
    pool_clean(u)
}

fn direct_reassign(b: &mut Bench) -> Outcome {
    fresh(b)?;
    let u = unit(&mut b.unit)?;
    let cx16 = vtd::TableMemory::has_cx16(u.memory());
    // Whichever the CPU (apps/vtd-nocx16-tests.toml takes it away), each
    // step below checks what Xen's fix requires of the path it allows.
    defmt::info!("CPU has CMPXCHG16B: {=bool}", cx16);
    let (did_a, did_b) = (4, 5);
    let TwoDomains {
        page_a,
        page_b,
        source,
        ta,
        tb,
    } = two_domains(u, (did_a, did_b), IOVA, IOVA_SRC)?;
    let dev = rid(EDU);

    let r = assign(u, dev, did_a, paged(&ta), MapMode::NONE, &[])?;
    ensure(
        r.path == expect::store_path(cx16, false, MapMode::NONE),
        "new entry: wrong store path",
    )?;
    load(u, &mut b.edu, IOVA_SRC, source, 0x44)?;
    dma(&mut b.edu, Direction::ToRam, IOVA)?;
    ensure(
        holds_pattern(u, page_a, 0x44, 0)?,
        "DMA did not land in domain A",
    )?;
    fill(u, page_a, 0)?;

    // A -> B directly: no unmap in between.
    let cmpxchg_before = u.counters().context_cmpxchg;
    let r = assign(u, dev, did_b, paged(&tb), MapMode::NONE, &[did_a])?;
    ensure(
        r.previous.present && r.previous.did == did_a,
        "previous state is not domain A",
    )?;
    let want = expect::store_path(cx16, true, MapMode::NONE);
    ensure(r.path == want, "A -> B: wrong store path for this CPU")?;
    ensure(
        (u.counters().context_cmpxchg - cmpxchg_before == 1) == cx16,
        "cmpxchg16b count does not match the CPU",
    )?;
    dma(&mut b.edu, Direction::ToRam, IOVA)?;
    ensure(
        holds_pattern(u, page_b, 0x44, 0)?,
        "after A -> B, DMA did not land in B",
    )?;
    ensure(
        holds_only(u, page_a, 0)?,
        "after A -> B, DMA still reached A",
    )?;
    fill(u, page_b, 0)?;

    // B -> A as for a device with an RMRR: without CX16 Xen's
    // best-effort path (DID last) and its warning.
    let mode = MapMode::WITH_RMRR;
    let r = assign(u, dev, did_a, paged(&ta), mode, &[did_b])?;
    let want = expect::store_path(cx16, true, mode);
    ensure(
        r.path == want,
        "B -> A (RMRR): wrong store path for this CPU",
    )?;
    ensure(
        r.warning.is_some() == expect::warns(want, mode),
        "warning does not match Xen's fix",
    )?;
    if !cx16 {
        ensure(
            r.path == StorePath::BestEffort,
            "no-CX16 RMRR path is not best effort",
        )?;
    }
    dma(&mut b.edu, Direction::ToRam, IOVA)?;
    ensure(
        holds_pattern(u, page_a, 0x44, 0)?,
        "after B -> A, DMA did not land in A",
    )?;
    ensure(
        holds_only(u, page_b, 0)?,
        "after B -> A, DMA still reached B",
    )?;
    no_faults(u)?;
    clear(u, &[dev])?;
    release(u, &mut [Some(ta), Some(tb)], &[page_a, page_b, source]);
    pool_clean(u)
}

/// What the model shows, on QEMU: after a context switch whose IOTLB flush
/// names the *new* DID, the device keeps the old domain's translation;
/// flushing the *old* DID is what moves it.
fn stale_iotlb(b: &mut Bench) -> Outcome {
    fresh(b)?;
    let u = unit(&mut b.unit)?;
    let (did_a, did_b) = (6, 7);
    let TwoDomains {
        page_a,
        page_b,
        source,
        ta,
        tb,
    } = two_domains(u, (did_a, did_b), IOVA, IOVA_SRC)?;
    let dev = rid(EDU);
    assign(u, dev, did_a, paged(&ta), MapMode::NONE, &[])?;
    load(u, &mut b.edu, IOVA_SRC, source, 0x55)?;
    dma(&mut b.edu, Direction::ToRam, IOVA)?;
    ensure(
        holds_pattern(u, page_a, 0x55, 0)?,
        "DMA did not land in domain A",
    )?;
    fill(u, page_a, 0)?;

    // The wrong way: rewrite the entry for B, flush the device's context
    // cache and the IOTLB of the new DID only.
    let slot = u
        .context_entry_address(dev)
        .ok()
        .flatten()
        .ok_or("no context table for bus 0")?;
    let mut entry = u
        .get_context(dev)
        .map_err(|_| "cannot read the context entry")?;
    entry.did = did_b;
    entry.slptptr = tb.root();
    let (lo, hi) = entry.encode();
    vtd::TableMemory::write_u64(u.memory(), slot + 8, hi);
    vtd::TableMemory::write_u64(u.memory(), slot, lo);
    u.invalidate_context_device(did_a, dev.sid(), 0)
        .map_err(|_| "context invalidation failed")?;
    u.invalidate_iotlb_domain(did_b)
        .map_err(|_| "IOTLB invalidation failed")?;
    dma(&mut b.edu, Direction::ToRam, IOVA)?;
    let stale = holds_pattern(u, page_a, 0x55, 0)?;
    defmt::info!(
        "after a flush with the new DID, DMA reached domain {=str}",
        if stale { "A (stale)" } else { "B" }
    );
    ensure(stale, "QEMU did not keep the old domain's IOTLB entry")?;
    ensure(
        holds_only(u, page_b, 0)?,
        "DMA reached B before the old DID was flushed",
    )?;
    fill(u, page_a, 0)?;

    // The right flush: the previous DID.
    u.invalidate_iotlb_domain(did_a)
        .map_err(|_| "IOTLB invalidation failed")?;
    dma(&mut b.edu, Direction::ToRam, IOVA)?;
    ensure(
        holds_pattern(u, page_b, 0x55, 0)?,
        "after flushing the old DID, DMA did not reach B",
    )?;
    ensure(
        holds_only(u, page_a, 0)?,
        "after flushing the old DID, DMA still reached A",
    )?;
    no_faults(u)?;
    clear(u, &[dev])?;
    release(u, &mut [Some(ta), Some(tb)], &[page_a, page_b, source]);
    pool_clean(u)
}

fn quarantine(b: &mut Bench) -> Outcome {
    fresh(b)?;
    let u = unit(&mut b.unit)?;
    let (rmrr, other) = (page(u)?, page(u)?);
    let levels = u.levels();
    let (mem, alloc) = u.tables();
    let mut q =
        Quarantine::build(mem, alloc, levels).map_err(|_| "cannot build quarantine tables")?;
    // The device's "RMRR" (QEMU has none: a pool page stands in) stays
    // identity-mapped in quarantine.
    let (mem, alloc) = u.tables();
    q.map_identity(mem, alloc, rmrr, 4096)
        .map_err(|_| "cannot identity-map the RMRR page")?;
    let pseudo_did = 0x8000 | 2;
    let tables = DomainTables::Paged {
        root: q.root(),
        levels,
    };
    assign(u, rid(EDU), pseudo_did, tables, MapMode::NONE, &[])?;

    load(u, &mut b.edu, rmrr, rmrr, 0x66)?;
    fill(u, other, 0xee)?;
    // Anywhere else, including another page's physical address, reaches
    // the scratch page, without a fault.
    dma(&mut b.edu, Direction::ToRam, 0x345_6000)?;
    dma(&mut b.edu, Direction::ToRam, other)?;
    ensure(
        holds_pattern(u, q.scratch(), 0x66, 0)?,
        "DMA did not land in the scratch page",
    )?;
    ensure(
        holds_only(u, other, 0xee)?,
        "quarantined DMA reached a page outside the RMRR",
    )?;
    no_faults(u)?;

    // Re-quarantine: the scratch page is zeroed, so what the device reads
    // anywhere (here copied back into the RMRR page) is zeros.
    q.clear_scratch(u.memory());
    dma(&mut b.edu, Direction::ToDevice, 0x777_0000)?;
    dma(&mut b.edu, Direction::ToRam, rmrr)?;
    let mut head = [0xffu8; LEN as usize];
    u.memory()
        .read_bytes(rmrr, &mut head)
        .map_err(|_| "RMRR page outside the pool")?;
    ensure(
        head.iter().all(|&x| x == 0),
        "a re-quarantined device read old scratch data",
    )?;
    no_faults(u)?;
    clear(u, &[rid(EDU)])?;
    let (mem, alloc) = u.tables();
    q.destroy(mem, alloc);
    release(u, &mut [], &[rmrr, other]);
    pool_clean(u)
}

/// A second driver takes the running unit over as a restarted iommu task
/// does: same root (and queue), no page allocated, no register written,
/// DMA never interrupted, and invalidations through the adopted interface
/// work (a direct reassignment moves DMA).
fn resume(b: &mut Bench) -> Outcome {
    fresh(b)?;
    let u = unit(&mut b.unit)?;
    let (did_a, did_b) = (14, 15);
    let TwoDomains {
        page_a,
        page_b,
        source,
        ta,
        tb,
    } = two_domains(u, (did_a, did_b), IOVA, IOVA_SRC)?;
    let dev = rid(EDU);
    assign(u, dev, did_a, paged(&ta), MapMode::NONE, &[])?;
    load(u, &mut b.edu, IOVA_SRC, source, 0x5c)?;
    let in_use = u.tables().1.in_use();
    let rtaddr = vtd::Registers::read64(u.registers(), regs::RTADDR);
    let iqa = vtd::Registers::read64(u.registers(), regs::IQA);

    let found = b.take_over()?;
    let u = unit(&mut b.unit)?;
    defmt::info!(
        "resumed: root {=u64:#x}, queue {=bool}, faults pending {=bool}, pool pages in use {=u64}",
        found.root,
        found.queue.is_some(),
        found.faults_pending,
        u.tables().1.in_use()
    );
    ensure(found.root == rtaddr, "resume found another root table")?;
    ensure(
        found.queue.map(|q| q.base) == QUEUE.then_some(iqa),
        "resume found another invalidation queue",
    )?;
    ensure(
        u.tables().1.in_use() == in_use,
        "the takeover allocated pool pages",
    )?;
    ensure(
        u.counters().register_writes == 0,
        "the takeover wrote a register",
    )?;
    dma(&mut b.edu, Direction::ToRam, IOVA)?;
    ensure(
        holds_pattern(u, page_a, 0x5c, 0)?,
        "after the takeover, DMA did not land in A",
    )?;
    fill(u, page_a, 0)?;

    assign(u, dev, did_b, paged(&tb), MapMode::NONE, &[did_a])?;
    dma(&mut b.edu, Direction::ToRam, IOVA)?;
    ensure(
        holds_pattern(u, page_b, 0x5c, 0)?,
        "after the takeover, A -> B did not move DMA to B",
    )?;
    ensure(
        holds_only(u, page_a, 0)?,
        "after the takeover, A -> B left DMA reaching A (stale IOTLB)",
    )?;
    no_faults(u)?;
    clear(u, &[dev])?;
    release(u, &mut [Some(ta), Some(tb)], &[page_a, page_b, source]);
    pool_clean(u)
}
