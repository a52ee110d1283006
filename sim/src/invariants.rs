//! The invariants checked after every event, against the hardware (the
//! models' memory and the ledger), domid's books and the broker's books
//! (docs/DESIGN.md §8):
//!
//! - the broker's journal is idle (every transaction committed or rolled
//!   back), and the request either took effect or changed nothing (a failed
//!   rollback may only leave the device in quarantine);
//! - every device's own requester IDs agree on one owner, and the books say
//!   that owner; every requester ID the books track holds what they say;
//! - a bridge alias is present while any device using it is assigned;
//! - no DID leaked or shared: each present entry carries its owner's DID in
//!   domid's books, and domid holds no DID no entry uses;
//! - DMA from each device, through every requester ID the hardware may
//!   tag it with (its own, its phantom functions, and the bridge aliases it
//!   shares with its neighbours), lands in its owner's probe page, a
//!   quarantine scratch page, or is blocked; an RMRR stays identity-mapped
//!   through each of them wherever the device is; no domain keeps an RMRR
//!   map none of its devices needs;
//! - a device's interrupts reach its custodian or no one: its
//!   interrupt-remapping entry delivers its domain's vector or is not
//!   present, and is never present in quarantine or when unassigned;
//! - no request changes what a device it did not move sees through any of
//!   its requester IDs: not the move of a neighbour behind the same bridge,
//!   not a rollback, not a recovery.
//!
//! (Disconnect windows and mixed states are checked store by store during
//! the iommu's messages; see `transport`.)

use std::collections::BTreeMap;

use domid::DidAllocator;
use idl_types::{Bdf, BrokerError, ContextState, Custody, DomainId, UnitId};
use task_broker::TxState;
use vtd::format::ContextEntry;

use crate::hardware::Owner;
use crate::machine::{probe_page, Machine, Op, DOMAINS, PROBE_IOVA};
use crate::platform::SimDevice;

/// Where a DMA lands, as far as custody is concerned.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Landing {
    /// Blocked (no translation, or a fault).
    Blocked,
    /// A domain's probe page.
    Domain(DomainId),
    /// Some device's quarantine scratch page (any: each is a sink).
    Scratch,
    /// Anywhere else.
    Elsewhere(u64),
}

/// What a device sees through one requester ID: where its probe DMA lands
/// and whether each of its RMRR pages is identity-mapped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct View {
    /// The probe DMA.
    pub probe: Landing,
    /// Each RMRR's first page, identity-mapped or not.
    pub rmrrs: Vec<bool>,
}

/// The hardware's custody of every device, before a request.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    devices: BTreeMap<Bdf, (Option<Custody>, Vec<ContextEntry>)>,
    /// What each device sees through every requester ID it may use (an
    /// unassigned device, which does not master, only through its own).
    views: BTreeMap<Bdf, Vec<(Bdf, View)>>,
}

/// Where a DMA landing at `addr` is.
fn landing(m: &Machine<'_, '_, '_>, addr: Option<u64>) -> Landing {
    let Some(addr) = addr else {
        return Landing::Blocked;
    };
    if let Some((domain, _)) = DOMAINS.iter().find(|(d, _)| probe_page(*d) == addr) {
        return Landing::Domain(*domain);
    }
    let scratch =
        m.hw.ledger
            .borrow()
            .quarantines
            .iter()
            .flatten()
            .any(|q| q.scratch == addr);
    if scratch {
        Landing::Scratch
    } else {
        Landing::Elsewhere(addr)
    }
}

/// The requester IDs `d` may DMA with while it is in `custody`.
fn used_rids(d: &SimDevice, custody: Option<Custody>) -> Vec<Bdf> {
    match custody {
        Some(Custody::Unassigned) => d.own_rids().collect(),
        _ => d.rids.clone(),
    }
}

/// The pages of an RMRR the checks sample: its first and its last (two
/// RMRRs may overlap in part, so both ends matter).
fn rmrr_pages(r: &idl_types::MemRange) -> [u64; 2] {
    [r.base & !0xfff, r.end.max(r.base) & !0xfff]
}

/// Whether `r` covers the page at `page`.
fn covers(r: &idl_types::MemRange, page: u64) -> bool {
    let [first, last] = rmrr_pages(r);
    first <= page && page <= last
}

/// What `d` sees through `rid`.
fn view(m: &Machine<'_, '_, '_>, d: &SimDevice, rid: Bdf) -> View {
    View {
        probe: landing(m, m.hw.dma(d.unit, rid, PROBE_IOVA)),
        rmrrs: d
            .rmrrs
            .iter()
            .map(|r| {
                rmrr_pages(r)
                    .into_iter()
                    .all(|page| m.hw.dma(d.unit, rid, page) == Some(page))
            })
            .collect(),
    }
}

/// The custody a device's own entries give it (`None`: they disagree or
/// point at unknown tables).
fn custody_of(m: &Machine<'_, '_, '_>, d: &SimDevice) -> Result<Custody, String> {
    let mut seen = None;
    for rid in d.own_rids() {
        let e = m.hw.entry(d.unit, rid);
        let c = match m.hw.owner(d.unit, &e) {
            Owner::None => Custody::Unassigned,
            Owner::Domain(x) => Custody::Domain(x),
            Owner::Quarantine(q) if q == d.bdf => Custody::Quarantined,
            Owner::Quarantine(q) => {
                return Err(format!("{rid} of {} is on {q}'s quarantine tables", d.bdf))
            }
            Owner::Unknown(root) => {
                return Err(format!(
                    "{rid} of {} points at unknown tables {root:#x}",
                    d.bdf
                ))
            }
        };
        match seen {
            None => seen = Some(c),
            Some(s) if s != c => {
                return Err(format!(
                    "{} is split: its functions are in {s:?} and {c:?}",
                    d.bdf
                ))
            }
            _ => {}
        }
    }
    Ok(seen.unwrap_or(Custody::Unassigned))
}

impl Snapshot {
    /// The hardware's custody of every device now.
    pub fn take(m: &Machine<'_, '_, '_>) -> Snapshot {
        let devices = m
            .platform
            .devices
            .iter()
            .map(|d| {
                let entries = d.own_rids().map(|r| m.hw.entry(d.unit, r)).collect();
                (d.bdf, (custody_of(m, d).ok(), entries))
            })
            .collect();
        let views = m
            .platform
            .devices
            .iter()
            .map(|d| {
                let custody = custody_of(m, d).ok();
                let seen = used_rids(d, custody)
                    .into_iter()
                    .map(|rid| (rid, view(m, d, rid)))
                    .collect();
                (d.bdf, seen)
            })
            .collect();
        Snapshot { devices, views }
    }
}

/// Every violation now; `request` is the request just made, the snapshot
/// before it, and its result.
pub fn check(
    m: &Machine<'_, '_, '_>,
    request: Option<(Op, Snapshot, Result<(), BrokerError>)>,
) -> Vec<String> {
    let mut bad = Vec::new();
    let broker = m.broker_ref();
    let state = broker.journal().state();
    if state != TxState::Idle {
        bad.push(format!("the transaction was left {state:?}"));
    }
    let mut custody = BTreeMap::new();
    for d in &m.platform.devices {
        match custody_of(m, d) {
            Ok(c) => {
                custody.insert(d.bdf, c);
                let books = broker.books().device(d.bdf).map(|r| r.custody);
                if books != Some(c) {
                    bad.push(format!(
                        "{} is {c:?} in hardware, {books:?} in the books",
                        d.bdf
                    ));
                }
            }
            Err(e) => bad.push(e),
        }
    }
    check_rid_records(m, &mut bad);
    check_aliases(m, &custody, &mut bad);
    check_dids(m, &custody, &mut bad);
    check_dma(m, &custody, &mut bad);
    check_rmrr_maps(m, &custody, &mut bad);
    check_interrupts(m, &custody, &mut bad);
    check_registers(m, &custody, &mut bad);
    if let Some((op, before, result)) = request {
        check_request(m, op, &before, result, &mut bad);
    }
    bad
}

fn check_interrupts(
    m: &Machine<'_, '_, '_>,
    custody: &BTreeMap<Bdf, Custody>,
    bad: &mut Vec<String>,
) {
    for d in &m.platform.devices {
        let (Some(handle), Some(c)) = (m.interrupt_handle(d.bdf), custody.get(&d.bdf)) else {
            continue;
        };
        let Some(entry) = m.hw.irte(d.unit, handle) else {
            bad.push(format!("{}: its unit does not remap interrupts", d.bdf));
            continue;
        };
        let want = match c {
            Custody::Domain(dom) => DOMAINS
                .iter()
                .position(|(x, _)| x == dom)
                .map(crate::machine::vector_of),
            _ => None,
        };
        // Blocked is always custody (a device whose MSI could not be
        // programmed, e.g. pci down at the broker's start, stays blocked);
        // delivering is only ever to the custodian's vector.
        let got = entry.present().then(|| entry.vector());
        if got.is_some() && got != want {
            bad.push(format!(
                "{} is {c:?} but its interrupt goes to {} (entry {handle})",
                d.bdf,
                got.map_or("nobody".to_string(), |v| format!("vector {v}"))
            ));
        }
    }
}

/// A device's registers are mapped into its DMA custodian's owner and no
/// one else; in quarantine or unassigned, into no task.
fn check_registers(
    m: &Machine<'_, '_, '_>,
    custody: &BTreeMap<Bdf, Custody>,
    bad: &mut Vec<String>,
) {
    for (i, d) in m.platform.devices.iter().enumerate() {
        let Some(c) = custody.get(&d.bdf) else {
            continue;
        };
        let want = match c {
            Custody::Domain(dom) => DOMAINS
                .iter()
                .find(|(x, _)| x == dom)
                .map(|(_, owner)| crate::servers::index(owner)),
            _ => None,
        };
        let got = m.hw.kernel.holder(i);
        if got != want {
            let name = |t: Option<idl_types::TaskIndex>| {
                t.and_then(|t| crate::servers::NAMES.get(usize::from(t.0)).copied())
                    .unwrap_or("no task")
            };
            bad.push(format!(
                "{} is {c:?} but its registers are mapped into {} (want {})",
                d.bdf,
                name(got),
                name(want)
            ));
        }
    }
}

fn check_rid_records(m: &Machine<'_, '_, '_>, bad: &mut Vec<String>) {
    for r in m.broker_ref().books().rids() {
        let e = m.hw.entry(r.unit, r.rid);
        let ok = match (r.state, m.hw.owner(r.unit, &e)) {
            (ContextState::NotPresent, Owner::None) => true,
            (ContextState::Domain { domain, did }, Owner::Domain(x)) => {
                x == domain && e.did == did.0
            }
            (ContextState::Quarantine { did }, Owner::Quarantine(_)) => e.did == did.0,
            _ => false,
        };
        if !ok {
            bad.push(format!(
                "the books say {} holds {:?}; the entry is {:?} DID {}",
                r.rid,
                r.state,
                m.hw.owner(r.unit, &e),
                e.did
            ));
        }
    }
}

fn check_aliases(m: &Machine<'_, '_, '_>, custody: &BTreeMap<Bdf, Custody>, bad: &mut Vec<String>) {
    for d in &m.platform.devices {
        if custody
            .get(&d.bdf)
            .is_none_or(|c| *c == Custody::Unassigned)
        {
            continue;
        }
        for alias in d.aliases() {
            if !m.hw.entry(d.unit, alias).present {
                bad.push(format!(
                    "{} is assigned but its alias {alias} has no entry",
                    d.bdf
                ));
            }
        }
    }
}

fn check_dids(m: &Machine<'_, '_, '_>, custody: &BTreeMap<Bdf, Custody>, bad: &mut Vec<String>) {
    let found = m.servers.with_dids(|dids| {
        let mut bad = Vec::new();
        if !dids.is_rebuilt() {
            return bad;
        }
        for (u, _) in m.hw.models.iter().enumerate() {
            let unit = UnitId(u as u8);
            let wunit = domid::wire::unit(unit);
            let mut used: BTreeMap<u16, Owner> = BTreeMap::new();
            let mut rids: Vec<Bdf> = m
                .platform
                .devices
                .iter()
                .filter(|d| d.unit == unit)
                .flat_map(|d| d.rids.iter().copied())
                .collect();
            rids.sort();
            rids.dedup();
            for rid in rids {
                let e = m.hw.entry(unit, rid);
                let owner = m.hw.owner(unit, &e);
                let expected = match owner {
                    Owner::None | Owner::Unknown(_) => continue,
                    Owner::Domain(x) => dids.did_of(wunit, domid::wire::domain(x)),
                    Owner::Quarantine(q) => match domid::wire::rid(q) {
                        Ok(r) => dids.pseudo_did_of(wunit, r),
                        Err(_) => continue,
                    },
                };
                if expected.ok().flatten().map(|d| d.0) != Some(e.did) {
                    bad.push(format!(
                        "{rid} on unit {u} carries DID {} but domid gives {owner:?} {expected:?}",
                        e.did
                    ));
                }
                if let Some(other) = used.insert(e.did, owner) {
                    if other != owner {
                        bad.push(format!(
                            "DID {} is shared by {other:?} and {owner:?}",
                            e.did
                        ));
                    }
                }
            }
            let in_use = dids.dids_in_use(wunit).unwrap_or(0);
            if in_use != used.len() {
                bad.push(format!(
                    "domid holds {in_use} DIDs on unit {u}, the entries use {} (leak)",
                    used.len()
                ));
            }
            for (domain, _) in DOMAINS {
                let held = dids
                    .devices_of(wunit, domid::wire::domain(domain))
                    .unwrap_or(0);
                let actual = m
                    .platform
                    .devices
                    .iter()
                    .filter(|d| {
                        d.unit == unit && custody.get(&d.bdf) == Some(&Custody::Domain(domain))
                    })
                    .count();
                if held != actual {
                    bad.push(format!(
                        "domid counts {held} devices of {domain} on unit {u}, the hardware {actual}"
                    ));
                }
            }
        }
        bad
    });
    bad.extend(found.unwrap_or_default());
}

fn check_dma(m: &Machine<'_, '_, '_>, custody: &BTreeMap<Bdf, Custody>, bad: &mut Vec<String>) {
    for d in &m.platform.devices {
        let Some(c) = custody.get(&d.bdf) else {
            continue;
        };
        let expected = match c {
            Custody::Domain(x) => Landing::Domain(*x),
            Custody::Quarantined => Landing::Scratch,
            Custody::Unassigned => Landing::Blocked,
        };
        for rid in used_rids(d, Some(*c)) {
            let seen = view(m, d, rid);
            let alias = if d.own_rids().any(|r| r == rid) {
                ""
            } else {
                " (a bridge alias)"
            };
            if seen.probe != expected {
                bad.push(format!(
                    "DMA of {} ({c:?}) through {rid}{alias} at {PROBE_IOVA:#x} landed {:?}, expected {expected:?}",
                    d.bdf, seen.probe
                ));
            }
            if *c == Custody::Quarantined && rid == d.bdf {
                let own = m.hw.dma(d.unit, rid, PROBE_IOVA);
                if own != m.hw.scratch(d.unit, d.bdf) {
                    bad.push(format!(
                        "{} is quarantined but its DMA reached {own:x?}, not its own scratch page",
                        d.bdf
                    ));
                }
            }
            if *c == Custody::Unassigned {
                continue;
            }
            for (r, mapped) in d.rmrrs.iter().zip(seen.rmrrs) {
                if !mapped {
                    bad.push(format!(
                        "{} ({c:?}) lost its RMRR {:#x}..={:#x} through {rid}{alias}",
                        d.bdf, r.base, r.end
                    ));
                }
            }
        }
    }
}

fn check_rmrr_maps(
    m: &Machine<'_, '_, '_>,
    custody: &BTreeMap<Bdf, Custody>,
    bad: &mut Vec<String>,
) {
    let mut pages: Vec<u64> = m
        .platform
        .devices
        .iter()
        .flat_map(|d| d.rmrrs.iter().flat_map(rmrr_pages))
        .collect();
    pages.sort();
    pages.dedup();
    for (domain, _) in DOMAINS {
        for page in &pages {
            let needed = m.platform.devices.iter().any(|d| {
                custody.get(&d.bdf) == Some(&Custody::Domain(domain))
                    && d.rmrrs.iter().any(|r| covers(r, *page))
            });
            for (u, _) in m.hw.models.iter().enumerate() {
                let unit = UnitId(u as u8);
                let Some(root) = m.hw.domain_root(unit, domain) else {
                    continue;
                };
                let mapped = m.hw.walk(unit, root, *page) == Some(*page);
                if mapped != needed {
                    bad.push(format!(
                        "{domain} on unit {u}: RMRR page {page:#x} mapped {mapped}, needed {needed}"
                    ));
                }
            }
        }
    }
}

fn check_request(
    m: &Machine<'_, '_, '_>,
    op: Op,
    before: &Snapshot,
    result: Result<(), BrokerError>,
    bad: &mut Vec<String>,
) {
    let after = Snapshot::take(m);
    let (moved, target) = match op {
        Op::Reassign(d, t) | Op::Reclaim(_, d, t) => (Some(d), Some(Custody::Domain(t))),
        Op::Quarantine(d) => (Some(d), Some(Custody::Quarantined)),
        Op::Release(d) => (Some(d), Some(Custody::Unassigned)),
        Op::Unauthorized(..) => {
            if !matches!(result, Err(BrokerError::NotPermitted(_))) {
                bad.push(format!("an unauthorized request answered {result:?}"));
            }
            (None, None)
        }
        Op::OwnerDied(_) => return,
        Op::Restart(_) => (None, None),
    };
    for (device, (was, entries)) in &before.devices {
        let (now, now_entries) = after
            .devices
            .get(device)
            .cloned()
            .unwrap_or((None, Vec::new()));
        if Some(*device) != moved {
            if was != &now || entries != &now_entries {
                bad.push(format!(
                    "{device} was not asked for but went from {was:?} to {now:?}"
                ));
            }
            let seen_before = before.views.get(device);
            let seen_now = after.views.get(device);
            if seen_before != seen_now {
                bad.push(format!(
                    "{device} was not asked for but what it sees changed: {seen_before:?} -> {seen_now:?}"
                ));
            }
            continue;
        }
        let allowed = [*was, target, Some(Custody::Quarantined)];
        if !allowed.contains(&now) {
            bad.push(format!(
                "{device} went from {was:?} to {now:?} asking for {target:?}"
            ));
        }
        if result.is_ok() && now != target {
            bad.push(format!("{device} committed but is {now:?}, not {target:?}"));
        }
        if result.is_err() && now == target && now != *was && !m.ctl.borrow().committed {
            bad.push(format!(
                "{device} is at {now:?} though the move failed ({result:?}) and never committed"
            ));
        }
        let rollback_failed = now == Some(Custody::Quarantined)
            && target != now
            && matches!(result, Err(BrokerError::Quarantined(_)));
        if now != *was && now != target && !rollback_failed {
            bad.push(format!(
                "{device} is in quarantine without a failed rollback ({result:?})"
            ));
        }
        if result.is_err() && now == *was && entries != &now_entries {
            bad.push(format!("{device} rolled back but its entries changed"));
        }
    }
}
