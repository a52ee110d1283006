//! The domid task: refusal before the rebuild, reference counting by device,
//! exhaustion of a small unit, and a restart (by fault injection) after
//! which a rebuild from the held DIDs restores every book.
//!
//! Units: 0 with CAP.ND = 2 (256 DIDs, 128 for domains), 1 with ND = 0 and
//! caching mode (16 DIDs: domain DIDs 1..=7, pseudo-DIDs 8..=15). Nothing
//! here assumes which free DID an allocator picks, so the bitmap and the
//! free-list builds pass the same scenarios.

use idl_runtime::ClientError;
use idl_types::{Bdf, Did, DidGrant, DidHolder, DidRelease, DomainId, DomidError, UnitId};
use task_test_platform::{domid::Client, Holding};
use userlib::{rdtsc, sys_post, sys_refresh_task_id};

use super::pci::{BRIDGED_EDU, EDU};
use crate::{domid_crash_notification, ensure, sleep, Outcome, Peers};

const BIG: UnitId = UnitId(0);
const BIG_ND: u8 = 2;
const BIG_DIDS: u32 = 256;
const SMALL: UnitId = UnitId(1);
const SMALL_ND: u8 = 0;
const SMALL_DIDS: u32 = 16;
/// Domain DIDs of the small unit under caching mode: 1..=7.
const SMALL_DOMAIN_DIDS: u16 = 7;
/// How long domid may take to fault and be restarted.
const RESTART_LIMIT_MS: u64 = 2000;

fn d(n: u16) -> DomainId {
    DomainId(n)
}

/// Acquires and notes the holding (a counted device).
fn acquire(
    p: &mut Peers,
    unit: UnitId,
    domain: DomainId,
    device: Bdf,
) -> Result<DidGrant, &'static str> {
    let t0 = rdtsc();
    let grant = p.domid.acquire(unit, domain, device);
    defmt::info!("BENCH domid_acquire_ipc {=u64}", rdtsc().wrapping_sub(t0));
    let grant = grant.map_err(|_| "acquire failed")?;
    p.holdings
        .hold(Holding {
            unit,
            domain,
            device,
            did: grant.did,
        })
        .map_err(|_| "the runner's holdings are full")?;
    Ok(grant)
}

/// Releases and forgets the holding.
fn release(
    p: &mut Peers,
    unit: UnitId,
    domain: DomainId,
    device: Bdf,
) -> Result<DidRelease, &'static str> {
    let t0 = rdtsc();
    let r = p.domid.release(unit, domain, device);
    defmt::info!("BENCH domid_release_ipc {=u64}", rdtsc().wrapping_sub(t0));
    let r = r.map_err(|_| "release failed")?;
    p.holdings.release(unit, domain, device);
    Ok(r)
}

fn configure(c: &mut Client<idl_runtime::KernelTransport>) -> Outcome {
    ensure(
        c.configure_unit(BIG, BIG_ND, false) == Ok(BIG_DIDS),
        "configuring unit 0 (ND 2) did not give 256 DIDs",
    )?;
    ensure(
        c.configure_unit(SMALL, SMALL_ND, true) == Ok(SMALL_DIDS),
        "configuring unit 1 (ND 0) did not give 16 DIDs",
    )
}

fn not_rebuilt<T>(r: Result<T, ClientError<DomidError>>) -> bool {
    matches!(r, Err(ClientError::Op(DomidError::NotRebuilt)))
}

pub fn refuses_before_the_books_are_rebuilt(p: &mut Peers) -> Outcome {
    ensure(p.domid.is_rebuilt() == Ok(false), "domid starts rebuilt")?;
    configure(&mut p.domid)?;
    ensure(
        matches!(
            p.domid.configure_unit(UnitId(2), 7, false),
            Err(ClientError::Op(DomidError::ReservedDomainCount(UnitId(2))))
        ),
        "CAP.ND = 7 (reserved) was accepted",
    )?;
    ensure(
        not_rebuilt(p.domid.acquire(BIG, d(1), EDU)),
        "acquire before the rebuild was not refused as NotRebuilt",
    )?;
    ensure(
        not_rebuilt(p.domid.acquire_quarantine(BIG, EDU)),
        "acquire_quarantine before the rebuild was not refused as NotRebuilt",
    )?;
    // First boot: no context entries, an empty rebuild.
    ensure(
        p.domid.rebuild(&[]) == Ok(0),
        "the empty rebuild was refused",
    )?;
    ensure(
        p.domid.is_rebuilt() == Ok(true),
        "domid is not rebuilt after the rebuild",
    )
}

pub fn acquires_reuses_and_releases(p: &mut Peers) -> Outcome {
    let first = acquire(p, BIG, d(1), EDU)?;
    ensure(
        first.fresh && first.counted,
        "the first device did not allocate and count",
    )?;
    ensure(
        u32::from(first.did.0) < BIG_DIDS / 2,
        "a domain DID outside the lower half",
    )?;
    let second = acquire(p, BIG, d(1), BRIDGED_EDU)?;
    ensure(
        second.did == first.did,
        "a second device of the domain got another DID",
    )?;
    ensure(
        !second.fresh && second.counted,
        "the second device was not counted on the held DID",
    )?;
    let replay = acquire(p, BIG, d(1), EDU)?;
    ensure(
        replay.did == first.did && !replay.fresh && !replay.counted,
        "a replayed acquire counted twice",
    )?;
    let other = acquire(p, BIG, d(2), EDU)?;
    ensure(
        other.did != first.did && other.fresh,
        "two domains share a DID",
    )?;
    ensure(
        p.domid.lookup(BIG, d(1)) == Ok(Some(first.did)),
        "lookup disagrees",
    )?;
    ensure(
        p.domid.owner_of(BIG, first.did) == Ok(Some(DidHolder::Domain(d(1)))),
        "owner_of does not name domain 1",
    )?;
    ensure(
        p.domid.devices_of(BIG, d(1)) == Ok(2),
        "domain 1 does not count 2 devices",
    )?;
    ensure(p.domid.dids_in_use(BIG) == Ok(2), "not 2 DIDs in use")?;

    let quarantine = p
        .domid
        .acquire_quarantine(BIG, EDU)
        .map_err(|_| "acquire_quarantine failed")?;
    ensure(
        u32::from(quarantine.did.0) >= BIG_DIDS / 2,
        "a pseudo-DID in the domains' half",
    )?;
    ensure(
        p.domid.owner_of(BIG, quarantine.did) == Ok(Some(DidHolder::Quarantine(EDU))),
        "the pseudo-DID's holder is not the device",
    )?;
    ensure(
        p.domid.release_quarantine(BIG, EDU) == Ok(DidRelease::Freed(quarantine.did)),
        "release_quarantine did not free the pseudo-DID",
    )?;

    ensure(
        release(p, BIG, d(1), EDU)?
            == DidRelease::Kept {
                did: first.did,
                remaining: 1,
            },
        "releasing one of two devices did not keep the DID",
    )?;
    ensure(
        release(p, BIG, d(1), BRIDGED_EDU)? == DidRelease::Freed(first.did),
        "releasing the last device did not free the DID",
    )?;
    ensure(
        release(p, BIG, d(1), BRIDGED_EDU)? == DidRelease::NotCounted,
        "a replayed release changed something",
    )?;
    ensure(
        p.domid.lookup(BIG, d(1)) == Ok(None),
        "a freed DID is still looked up",
    )?;
    ensure(
        release(p, BIG, d(2), EDU)? == DidRelease::Freed(other.did),
        "domain 2's DID was not freed",
    )?;
    ensure(
        p.domid.dids_in_use(BIG) == Ok(0),
        "DIDs still in use after every release",
    )
}

pub fn exhaustion(p: &mut Peers) -> Outcome {
    let mut dids = [Did(0); SMALL_DOMAIN_DIDS as usize];
    for (i, slot) in dids.iter_mut().enumerate() {
        let domain = d(10 + i as u16);
        let grant = acquire(p, SMALL, domain, EDU)?;
        ensure(
            (1..=SMALL_DOMAIN_DIDS).contains(&grant.did.0),
            "a domain DID outside 1..=7 on a caching-mode ND 0 unit",
        )?;
        *slot = grant.did;
    }
    for (i, a) in dids.iter().enumerate() {
        ensure(
            !dids.iter().skip(i + 1).any(|b| b == a),
            "two domains got the same DID",
        )?;
    }
    let late = d(10 + SMALL_DOMAIN_DIDS);
    ensure(
        matches!(
            p.domid.acquire(SMALL, late, EDU),
            Err(ClientError::Op(DomidError::Exhausted(SMALL)))
        ),
        "the eighth domain was not refused as Exhausted",
    )?;
    ensure(
        p.domid.is_rebuilt() == Ok(true),
        "domid did not survive exhaustion",
    )?;
    ensure(
        p.domid.dids_in_use(SMALL) == Ok(u32::from(SMALL_DOMAIN_DIDS)),
        "the refused acquire changed the DIDs in use",
    )?;
    // The pseudo-DIDs are a separate half: quarantine still works.
    let q = p
        .domid
        .acquire_quarantine(SMALL, EDU)
        .map_err(|_| "quarantine failed on a unit whose domain DIDs are exhausted")?;
    ensure(
        q.did.0 > SMALL_DOMAIN_DIDS,
        "a pseudo-DID among the domain DIDs",
    )?;
    ensure(
        p.domid.release_quarantine(SMALL, EDU) == Ok(DidRelease::Freed(q.did)),
        "release_quarantine did not free the pseudo-DID",
    )?;
    for i in 0..SMALL_DOMAIN_DIDS {
        release(p, SMALL, d(10 + i), EDU)?;
    }
    let after = acquire(p, SMALL, late, EDU)?;
    ensure(after.fresh, "a freed DID was not handed out again")?;
    release(p, SMALL, late, EDU)?;
    ensure(
        p.domid.dids_in_use(SMALL) == Ok(0),
        "DIDs still in use after every release",
    )
}

/// Posts domid's crash notification and waits for its generation to move.
fn crash_domid(p: &mut Peers) -> Outcome {
    let (task, bits) = domid_crash_notification()
        .ok_or("app.toml gives the runner no crash notification for domid")?;
    let before = p.domid.server();
    sys_post(task, bits).map_err(|_| "posting domid's crash notification failed")?;
    let mut waited = 0;
    let current = || sys_refresh_task_id(before).unwrap_or(before);
    while current().generation() == before.generation() {
        ensure(
            waited < RESTART_LIMIT_MS,
            "domid did not fault after the crash notification",
        )?;
        sleep(1);
        waited += 1;
    }
    Ok(())
}

pub fn restart_and_rebuild(p: &mut Peers) -> Outcome {
    let held_a = acquire(p, BIG, d(1), EDU)?.did;
    acquire(p, BIG, d(1), BRIDGED_EDU)?;
    let held_b = acquire(p, SMALL, d(2), EDU)?.did;
    let old = p.domid.server().generation();

    crash_domid(p)?;
    // The first call meets the dead code; is_rebuilt is idempotent, so the
    // client retries it on the new generation.
    ensure(
        p.domid.is_rebuilt() == Ok(false),
        "the restarted domid is still rebuilt",
    )?;
    ensure(
        p.domid.server().generation() != old,
        "the client still addresses the dead generation",
    )?;
    ensure(
        not_rebuilt(p.domid.acquire(BIG, d(3), EDU)),
        "the restarted domid handed out a DID before its rebuild",
    )?;

    configure(&mut p.domid)?;
    let mut buf = [0u8; 160];
    let rebuild = p
        .holdings
        .encode_rebuild(&mut buf)
        .map_err(|_| "encoding the rebuild failed")?;
    let records = u16::try_from(p.holdings.as_slice().len()).unwrap_or(u16::MAX);
    ensure(
        p.domid.rebuild(rebuild) == Ok(records),
        "the rebuild was not applied whole",
    )?;

    ensure(
        p.domid.lookup(BIG, d(1)) == Ok(Some(held_a)),
        "unit 0's DID of domain 1 was lost",
    )?;
    ensure(
        p.domid.devices_of(BIG, d(1)) == Ok(2),
        "domain 1's two devices were not recounted",
    )?;
    ensure(
        p.domid.lookup(SMALL, d(2)) == Ok(Some(held_b)),
        "unit 1's DID of domain 2 was lost",
    )?;
    ensure(
        p.domid.owner_of(BIG, held_a) == Ok(Some(DidHolder::Domain(d(1)))),
        "the rebuilt DID has no owner",
    )?;
    let replay = p
        .domid
        .acquire(BIG, d(1), EDU)
        .map_err(|_| "acquire after the rebuild failed")?;
    ensure(
        replay.did == held_a && !replay.counted,
        "a rebuilt device was counted again",
    )?;
    let fresh = acquire(p, BIG, d(3), EDU)?;
    ensure(fresh.did != held_a, "a new domain got a rebuilt DID")
}
