//! A move as a plan (docs/DESIGN.md §6.2): what one reassignment will do,
//! decided from the device's facts, what the hardware holds and the books,
//! without asking any peer. [`plan_move`] makes Xen's refusals, picks the mode flags,
//! decides what each shared bridge alias does, and lists the forward steps
//! (each a peer call with its compensation) and the cleanup after commit;
//! `execute` only runs that list.
//!
//! Two things a reader must know:
//! - The plan is pure, so every refusal rule is a table-driven host test
//!   (`plan/tests.rs`) with no peer at all; whatever the rules need is read
//!   beforehand into a [`Situation`] (see `gather`).
//! - The DID a move acquires is known only once domid answers, so a step
//!   that writes it names it as [`NewEntry::Acquired`], resolved by the
//!   execution.
//!
//! # Adding a step kind
//!
//! A new kind of forward step (an interrupt-remapping entry, a BAR grant)
//! is three small changes:
//! 1. a type implementing [`crate::steps::Step`] in `steps.rs`: the message,
//!    the undo journaled before it is sent, the exact undo from its reply,
//!    and whether a refusal by the peer means it did nothing;
//! 2. a variant of [`PlannedStep`] carrying its arguments, pushed by
//!    [`plan_move`] at its place in the order (docs/DESIGN.md
//!    §6.3, "Order of a move");
//! 3. one arm in `execute::run_step` turning the variant into the step.
//!
//! If its undo goes to a peer the journal does not know yet, add that peer
//! to [`crate::undo::Undo`]. Nothing else changes: journaling, rollback,
//! replay after a crash and the simulator's fault matrix take every step
//! the same way.

use heapless::Vec;
use idl_types::{
    Bdf, BrokerError, ContextState, Custody, DomainId, InterruptRoute, PageRange, ReassignMode,
    ReassignReport, TaskIndex, UnitId,
};

use crate::books::Books;
use crate::facts::{DeviceFacts, Direction, MAX_DEVICE_RIDS};
use crate::interrupts::{route_for, InterruptNow};
use crate::journal::TxRecord;
use crate::memory::DomainMap;
use crate::ranges::uncovered;
use crate::registers::{holder_for, RegistersNow};

#[cfg(test)]
mod tests;

/// Forward steps one plan may hold: a DID, the RMRR pieces, every
/// requester ID twice (the test-only two-step way) and the interrupt entry.
pub const MAX_PLAN_STEPS: usize =
    1 + 2 * idl_types::MAX_RMRRS_PER_DEVICE + 2 * MAX_DEVICE_RIDS + 1 + 2;
/// Cleanup actions one plan may hold: a DID and the RMRR pieces.
pub const MAX_CLEANUPS: usize = 1 + 2 * idl_types::MAX_RMRRS_PER_DEVICE;

/// What a device leaving for no translation does with one of its shared
/// aliases.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum AliasPlan {
    /// No other assigned device uses it: clear it with the device.
    Clear,
    /// Another device already backs what it holds: leave it alone, and
    /// credit it to that device.
    Keep {
        /// The neighbour whose own entry holds what the alias holds.
        backer: Bdf,
    },
    /// It holds the leaving device's state and `heir` still needs it:
    /// switch it to `heir`'s own state.
    HandOver {
        /// The neighbour taking custody of the alias.
        heir: Bdf,
        /// What the heir's own entry holds (and the alias will).
        state: ContextState,
        /// Whether the heir has an RMRR (its DMA through the alias must
        /// not be disconnected, even for a moment).
        heir_rmrr: bool,
    },
}

/// What is asked: move `device` to `target`; `dying` when its owner died
/// (Xen's MAP_OWNER_DYING).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct MoveRequest {
    /// The device.
    pub device: Bdf,
    /// Where it goes.
    pub target: Custody,
    /// Its owner died.
    pub dying: bool,
}

/// Another held device (assigned or quarantined) behind the same unit that
/// uses one of the moving device's shared bridge aliases.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Neighbour {
    /// The device.
    pub device: Bdf,
    /// The shared alias it uses.
    pub alias: Bdf,
    /// Who holds it.
    pub custody: Custody,
    /// Whether it has an RMRR.
    pub has_rmrr: bool,
    /// What its own context entry holds (read from the hardware).
    pub own: ContextState,
}

/// Everything a plan is made from, read before planning.
#[derive(Copy, Clone, Debug)]
pub struct Situation<'a> {
    /// The device's facts.
    pub facts: &'a DeviceFacts,
    /// Who holds it, as the books say.
    pub source: Custody,
    /// What each of its requester IDs holds in hardware now.
    pub hardware: &'a [(Bdf, ContextState)],
    /// The held devices sharing its bridge aliases.
    pub neighbours: &'a [Neighbour],
    /// The books (the other devices of the domains involved).
    pub books: &'a Books,
    /// Each domain's memory (app.toml's maps).
    pub memory: &'a [DomainMap],
    /// Test-only: the pre-XSA-400 way, clearing an entry before setting it.
    pub two_step: bool,
    /// The device's interrupt-remapping entry, if its MSI is remapped.
    pub interrupt: Option<InterruptNow>,
    /// Each domain's interrupt vector (app.toml's `interrupt`).
    pub vectors: &'a [(DomainId, u8)],
    /// The device's registers, if in custody (read from the kernel).
    pub registers: Option<RegistersNow>,
}

impl Situation<'_> {
    /// What `rid` holds in hardware (not read: not present).
    pub fn state_of(&self, rid: Bdf) -> ContextState {
        self.hardware
            .iter()
            .find(|(r, _)| *r == rid)
            .map_or(ContextState::NotPresent, |(_, s)| *s)
    }
}

/// What a context entry will hold after a switch step.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum NewEntry {
    /// The target's entry under the DID this plan acquires (a domain's DID
    /// or the device's quarantine pseudo-DID).
    Acquired,
    /// A state known now (a neighbour's, or not present).
    State(ContextState),
}

/// One forward step of a plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlannedStep {
    /// Count the device under (unit, domain) and get the domain's DID.
    AcquireDid {
        /// The unit.
        unit: UnitId,
        /// The target domain.
        domain: DomainId,
    },
    /// Get the device's quarantine pseudo-DID.
    AcquireQuarantineDid {
        /// The unit.
        unit: UnitId,
    },
    /// Identity-map RMRR pages into the target, before the switch
    /// (CVE-2022-26358): the pages of one RMRR no other device of the
    /// target maps already.
    MapRmrr {
        /// The target domain.
        domain: DomainId,
        /// The pages.
        pages: PageRange,
    },
    /// Replace one requester ID's context entry in place.
    SwitchContext {
        /// The requester ID.
        rid: Bdf,
        /// What it holds now.
        from: ContextState,
        /// What it will hold.
        to: NewEntry,
        /// Xen's mode flags for this write.
        mode: ReassignMode,
        /// The device the books credit the entry to afterwards.
        backer: Bdf,
    },
    /// Move one requester ID onto the device's quarantine tables (under the
    /// acquired pseudo-DID).
    QuarantineRid {
        /// The requester ID.
        rid: Bdf,
        /// What it holds now.
        from: ContextState,
        /// Xen's mode flags.
        mode: ReassignMode,
    },
    /// Point the device's interrupt-remapping entry at the target's vector,
    /// or block it: one atomic write, after its DMA moved.
    SetIrte {
        /// The entry.
        handle: u16,
        /// What it holds now.
        from: InterruptRoute,
        /// What it will hold.
        to: InterruptRoute,
    },
    /// Unmap the device's registers from the source's owner (its TLB
    /// flushed before the kernel answers).
    RevokeRegisters {
        /// The kernel's device index.
        index: u16,
        /// Who holds them now.
        from: TaskIndex,
    },
    /// Map the device's registers into the target's owner.
    GrantRegisters {
        /// The kernel's device index.
        index: u16,
        /// The target's owner.
        to: TaskIndex,
    },
}

/// What the source gives up once the move committed: idempotent, retried
/// until it works.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Cleanup {
    /// Uncount the device under (unit, domain); the DID goes with the last.
    ReleaseDid {
        /// The unit.
        unit: UnitId,
        /// The source domain.
        domain: DomainId,
        /// The device.
        device: Bdf,
    },
    /// Free the device's quarantine pseudo-DID.
    ReleaseQuarantineDid {
        /// The unit.
        unit: UnitId,
        /// The device.
        device: Bdf,
    },
    /// Unmap an RMRR range no device of the source needs any more.
    UnmapRange {
        /// The source domain.
        domain: DomainId,
        /// The pages.
        range: PageRange,
    },
}

/// A move to make.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// The journal's record of it.
    pub record: TxRecord,
    /// The device's unit.
    pub unit: UnitId,
    /// Xen's mode flags of the device's own entry.
    pub mode: ReassignMode,
    /// What the device's own entry holds before.
    pub previous: ContextState,
    /// The forward steps, in order.
    pub steps: Vec<PlannedStep, MAX_PLAN_STEPS>,
    /// What the source gives up after commit.
    pub cleanup: Vec<Cleanup, MAX_CLEANUPS>,
    /// Shared aliases left as they are, credited at commit to the
    /// neighbour that backs them: (alias, neighbour).
    pub credits: Vec<(Bdf, Bdf), MAX_DEVICE_RIDS>,
}

/// What planning decided.
#[derive(Clone, Debug, PartialEq, Eq)]
// No allocator: the plan lives once, on the stack of the move.
#[allow(clippy::large_enum_variant)]
pub enum Planned {
    /// Already there (Xen's no-op): nothing to do.
    AlreadyThere(ReassignReport),
    /// A move to execute.
    Move(Plan),
}

pub use crate::ranges::pages_of;

/// Xen's mode flags for moving a device away from `source`:
/// WITH_RMRR when it has one; OWNER_DYING when its owner died;
/// SINGLE_DEVICE when no other device of the source is behind its unit and
/// it has no phantom functions.
pub fn mode_for(
    facts: &DeviceFacts,
    source: Custody,
    target: Custody,
    dying: bool,
    books: &Books,
) -> ReassignMode {
    let mut mode = ReassignMode::default();
    if facts.has_rmrr() {
        mode = mode.union(ReassignMode::WITH_RMRR);
    }
    if let Custody::Domain(s) = source {
        if target != source {
            if dying {
                mode = mode.union(ReassignMode::OWNER_DYING);
            } else if books.others_behind_unit(s, facts.unit, facts.device) == 0
                && !facts.has_phantoms()
            {
                mode = mode.union(ReassignMode::SINGLE_DEVICE);
            }
        }
    }
    mode
}

/// Xen's refusals before any step, or `None` when the move may go.
pub fn refusal(request: &MoveRequest, s: &Situation<'_>) -> Option<BrokerError> {
    let facts = s.facts;
    let device = request.device;
    if request.target == Custody::Unassigned && facts.has_rmrr() {
        return Some(BrokerError::WouldDisconnectRmrr(device));
    }
    // Xen's EOPNOTSUPP (`prev_present && (mode & MAP_WITH_RMRR) &&
    // domain != pdev->domain`, reached only for a device with an upstream
    // bridge): a present RMRR device keeps its owner while other devices
    // sit behind its bridge, since the bridge's aliases would follow it and
    // take their DMA along. Beyond Xen, where its own comment says it
    // could: a device alone behind its bridge may move. A first assignment
    // (own entry not present) is not refused, as in Xen.
    let present = s.state_of(device) != ContextState::NotPresent;
    if let (true, true, Some(bridge)) = (facts.has_rmrr(), present, facts.bridge()) {
        if !facts.alone_behind_bridge {
            return Some(BrokerError::RmrrBehindSharedBridge { device, bridge });
        }
    }
    None
}

/// What a device leaving for no translation does with its shared alias
/// `alias`, which holds `current`: kept if a neighbour's own entry holds
/// the same (it backs it), handed to the first neighbour still translated,
/// else cleared with the device.
pub fn alias_on_release(alias: Bdf, current: ContextState, neighbours: &[Neighbour]) -> AliasPlan {
    let mut heir = None;
    for n in neighbours.iter().filter(|n| n.alias == alias) {
        if n.own == current {
            return AliasPlan::Keep { backer: n.device };
        }
        if heir.is_none() && n.own != ContextState::NotPresent {
            heir = Some(AliasPlan::HandOver {
                heir: n.device,
                state: n.own,
                heir_rmrr: n.has_rmrr,
            });
        }
    }
    heir.unwrap_or(AliasPlan::Clear)
}

/// What a device sees through an entry holding `state`, as far as custody
/// goes: a domain's memory, a quarantine sink (any device's scratch page),
/// or nothing.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Sees {
    Nothing,
    Domain(DomainId),
    Sink,
}

fn sees(state: ContextState) -> Sees {
    match state {
        ContextState::NotPresent => Sees::Nothing,
        ContextState::Domain { domain, .. } => Sees::Domain(domain),
        ContextState::Quarantine { .. } => Sees::Sink,
    }
}

/// Beyond Xen: a move must not change what a held neighbour sees
/// through a bridge alias it shares (devices behind one PCIe-to-PCI or
/// PCI-to-PCI bridge move together, as an isolation group). For every
/// shared alias the plan writes with a new state, each held neighbour
/// using it must see the same kind of memory afterwards (the same domain,
/// or a quarantine sink), and a neighbour with an RMRR the very same
/// tables (only they map its RMRR). Xen lets the alias follow the
/// device moved last, and the neighbour's DMA with it.
fn neighbour_refusal(
    device: Bdf,
    target: Custody,
    s: &Situation<'_>,
    steps: &[PlannedStep],
) -> Option<BrokerError> {
    for step in steps {
        let (rid, to) = match *step {
            PlannedStep::SwitchContext { rid, to, .. } => (rid, to),
            PlannedStep::QuarantineRid { rid, .. } => (rid, NewEntry::Acquired),
            _ => continue,
        };
        let from = s.state_of(rid);
        let to = match (to, target) {
            (NewEntry::State(state), _) => Some(state),
            // A domain has one DID per unit: the one its entries carry.
            (NewEntry::Acquired, Custody::Domain(t)) => match from {
                ContextState::Domain { domain, .. } if domain == t => Some(from),
                _ => None,
            },
            // The device's own quarantine tables: a state nobody holds yet.
            (NewEntry::Acquired, _) => None,
        };
        if to == Some(from) {
            continue;
        }
        let sees_after = match (to, target) {
            (Some(state), _) => sees(state),
            (None, Custody::Domain(t)) => Sees::Domain(t),
            (None, _) => Sees::Sink,
        };
        let changed = |n: &&Neighbour| sees(from) != sees_after || n.has_rmrr;
        if let Some(n) = s.neighbours.iter().filter(|n| n.alias == rid).find(changed) {
            return Some(BrokerError::AliasInUse {
                device,
                alias: rid,
                neighbour: n.device,
            });
        }
    }
    None
}

/// The cleanup after `record` committed: the source's DID reference (or
/// pseudo-DID) and the pages of the device's RMRRs no other device of the
/// source needs (an RMRR overlapping a neighbour's in part is kept for the
/// overlap). Pieces beyond [`crate::ranges::MAX_PIECES`] are left mapped,
/// which the next start's reconciliation retries.
pub fn cleanup_for(
    record: &TxRecord,
    facts: &DeviceFacts,
    books: &Books,
) -> Vec<Cleanup, MAX_CLEANUPS> {
    let mut out = Vec::new();
    match record.source {
        Custody::Domain(s) => {
            let _ = out.push(Cleanup::ReleaseDid {
                unit: facts.unit,
                domain: s,
                device: record.device,
            });
            for range in facts.rmrrs.iter() {
                let pieces = uncovered(range, books.domain_rmrrs(s, Some(record.device)));
                for range in pieces.unwrap_or_default() {
                    let _ = out.push(Cleanup::UnmapRange { domain: s, range });
                }
            }
        }
        Custody::Quarantined => {
            let _ = out.push(Cleanup::ReleaseQuarantineDid {
                unit: facts.unit,
                device: record.device,
            });
        }
        Custody::Unassigned => {}
    }
    out
}

/// Plans `request` in situation `s`: Xen's no-op and refusals, then
/// the steps in Xen's order (docs/DESIGN.md §6.3) and the cleanup.
pub fn plan_move(request: &MoveRequest, s: &Situation<'_>) -> Result<Planned, BrokerError> {
    let facts = s.facts;
    let device = request.device;
    let target = request.target;
    let own = s.state_of(device);
    if s.source == target {
        // Xen's no-op: already with the target.
        return Ok(Planned::AlreadyThere(ReassignReport {
            previous: own,
            current: own,
            atomic: true,
        }));
    }
    if let Some(refused) = refusal(request, s) {
        return Err(refused);
    }
    let mode = mode_for(facts, s.source, target, request.dying, s.books);
    let unit = facts.unit;
    let direction = match target {
        Custody::Unassigned => Direction::Deassign,
        _ => Direction::Assign,
    };
    let record = TxRecord {
        device,
        source: s.source,
        target,
    };
    let mut steps: Vec<PlannedStep, MAX_PLAN_STEPS> = Vec::new();
    let mut credits: Vec<(Bdf, Bdf), MAX_DEVICE_RIDS> = Vec::new();
    let mut push = |step: PlannedStep| {
        steps
            .push(step)
            .map_err(|_| BrokerError::PlanTooLarge(device))
    };
    // 1. A DID for the target on the device's unit; 2. the target's RMRR
    // identity maps, before the switch.
    match target {
        Custody::Domain(t) => {
            // An RMRR over the domain's own memory cannot be identity-mapped
            // there (the map would be refused, and an undo that unmapped the
            // range would take the domain's memory from its other devices).
            for range in facts.rmrrs.iter() {
                let pages = pages_of(range);
                if let Some(iova) = s
                    .memory
                    .iter()
                    .find_map(|m| m.overlap(t, pages.iova, pages.pages))
                {
                    return Err(BrokerError::RmrrOverlapsDomainMemory {
                        device,
                        domain: t,
                        iova,
                    });
                }
            }
            push(PlannedStep::AcquireDid { unit, domain: t })?;
            for range in facts.rmrrs.iter() {
                // Pages another device of the target needs are mapped there
                // already (equal or overlapping RMRRs).
                let pieces = uncovered(range, s.books.domain_rmrrs(t, Some(device)))
                    .map_err(|_| BrokerError::PlanTooLarge(device))?;
                for pages in pieces {
                    push(PlannedStep::MapRmrr { domain: t, pages })?;
                }
            }
        }
        Custody::Quarantined => push(PlannedStep::AcquireQuarantineDid { unit })?,
        Custody::Unassigned => {}
    }
    // 3. Every requester ID, in Xen's order. Leaving for no
    // translation, each shared alias is cleared, kept (another device
    // backs it) or handed to a neighbour still using it, so it never
    // keeps a DID domid frees in the cleanup.
    for rid in facts.requester_ids(direction) {
        let from = s.state_of(rid.bdf);
        let plan = if direction == Direction::Deassign && rid.role.is_shared_alias() {
            alias_on_release(rid.bdf, from, s.neighbours)
        } else {
            AliasPlan::Clear
        };
        let (to, backer, rid_mode) = match plan {
            AliasPlan::Keep { backer } => {
                let _ = credits.push((rid.bdf, backer));
                continue;
            }
            AliasPlan::HandOver {
                heir,
                state,
                heir_rmrr,
            } => (
                NewEntry::State(state),
                heir,
                if heir_rmrr {
                    mode.union(ReassignMode::WITH_RMRR)
                } else {
                    mode
                },
            ),
            AliasPlan::Clear => match target {
                Custody::Unassigned => (NewEntry::State(ContextState::NotPresent), device, mode),
                _ => (NewEntry::Acquired, device, mode),
            },
        };
        if target == Custody::Quarantined && to == NewEntry::Acquired {
            push(PlannedStep::QuarantineRid {
                rid: rid.bdf,
                from,
                mode,
            })?;
            continue;
        }
        let from = if s.two_step
            && from.did().is_some()
            && to != NewEntry::State(ContextState::NotPresent)
        {
            // The pre-XSA-400 way: unmap (clear and flush), then map.
            push(PlannedStep::SwitchContext {
                rid: rid.bdf,
                from,
                to: NewEntry::State(ContextState::NotPresent),
                mode: rid_mode,
                backer,
            })?;
            ContextState::NotPresent
        } else {
            from
        };
        push(PlannedStep::SwitchContext {
            rid: rid.bdf,
            from,
            to,
            mode: rid_mode,
            backer,
        })?;
    }
    // 4. The device's interrupts follow its DMA (or are blocked), in one
    // atomic write of its interrupt-remapping entry.
    if let Some(now) = s.interrupt {
        let to = route_for(target, s.vectors, facts);
        if to != now.current {
            push(PlannedStep::SetIrte {
                handle: now.handle,
                from: now.current,
                to,
            })?;
        }
    }
    // 5. and 6. Its registers leave the source's owner, then reach the
    // target's: never mapped into two tasks, even for a step.
    if let Some(now) = s.registers {
        let want = holder_for(target, s.books);
        if now.holder != want {
            if let Some(from) = now.holder {
                push(PlannedStep::RevokeRegisters {
                    index: now.index,
                    from,
                })?;
            }
            if let Some(to) = want {
                push(PlannedStep::GrantRegisters {
                    index: now.index,
                    to,
                })?;
            }
        }
    }
    if let Some(refused) = neighbour_refusal(device, target, s, &steps) {
        return Err(refused);
    }
    Ok(Planned::Move(Plan {
        record,
        unit,
        mode,
        previous: own,
        steps,
        cleanup: cleanup_for(&record, facts, s.books),
        credits,
    }))
}
