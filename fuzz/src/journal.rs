//! The broker's journal over arbitrary persist-region bytes: torn, stale
//! or hostile, opening never panics, and no undo is ever applied twice.
//!
//! Three checks per input (the region is the input, zero-padded to the
//! journal's size as a fresh region is):
//! 1. `Journal::open`; what it owes is each step once, and never a step
//!    whose latest entry says its undo already ran (an oracle over the
//!    entries, independent of `owed`).
//! 2. In a booted simulated machine (the real iommu, domid, acpi and pci
//!    servers), the broker restarts over the region: replay, rebuild and
//!    the simulator's invariants (isolation, books against hardware).
//! 3. The replay itself (`roll_back`) twice, as after a crash right after
//!    the first: the first applies at most one undo per owed step, and an
//!    undo it applied and journaled is not owed to the second.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use abi::{rc, TaskId};
use idl_runtime::{Lease, SendError, Transport};
use sim::machine::with_machine;
use task_broker::{
    roll_back, Journal, JournalEntry, Knobs, PeerIds, Peers, Phase, Rollback, TxRecord, TxState,
    Undo, JOURNAL_BYTES,
};

use crate::servers::platform;

/// Counts undos the peers applied: replies with the success code.
#[derive(Clone)]
struct Applied<T> {
    inner: T,
    applied: Rc<RefCell<usize>>,
}

impl<T: Transport> Transport for Applied<T> {
    fn send(
        &mut self,
        target: TaskId,
        op: u32,
        msg: &[u8],
        reply: &mut [u8],
        leases: &mut [Lease<'_>],
    ) -> Result<(u32, usize), SendError> {
        let result = self.inner.send(target, op, msg, reply, leases);
        if matches!(result, Ok((rc::OK, _))) {
            *self.applied.borrow_mut() += 1;
        }
        result
    }
}

/// The region of an input: its bytes (a torn, stale or hostile region as
/// found), or, when the first byte is [`WRITTEN`], a journal the broker's
/// own code writes from the input (valid checksums around hostile
/// contents: any transaction, any steps, phases and undos) with a few
/// bytes then changed behind its back.
pub fn region(data: &[u8]) -> Vec<u8> {
    if data.first() == Some(&WRITTEN) {
        return written(&data[1..]);
    }
    let mut bytes = data.to_vec();
    if bytes.len() < JOURNAL_BYTES {
        bytes.resize(JOURNAL_BYTES, 0);
    }
    bytes
}

/// The first byte of an input that [`written`] interprets.
pub const WRITTEN: u8 = 0xA5;
/// Entries a written journal gets, at most.
const MAX_WRITTEN_ENTRIES: usize = 8;
/// Bytes changed after writing, at most.
const MAX_POKES: usize = 4;

/// A journal written with the journal's API from `data`: a transaction
/// record, entries, a state, then raw byte changes.
fn written(data: &[u8]) -> Vec<u8> {
    let mut bytes = vec![0u8; JOURNAL_BYTES];
    let mut rest = data;
    {
        let store: &mut [u8] = &mut bytes;
        let Ok((mut j, _)) = Journal::open(store) else {
            return bytes;
        };
        if rest.first().is_some_and(|b| b % 2 == 1) {
            let _ = j.mark_booted();
        }
        rest = rest.get(1..).unwrap_or(&[]);
        if let Ok((tx, tail)) = postcard::take_from_bytes::<TxRecord>(rest) {
            rest = tail;
            let _ = j.begin(tx);
            for _ in 0..MAX_WRITTEN_ENTRIES {
                let [step, phase, tail @ ..] = rest else {
                    break;
                };
                let Ok((undo, tail)) = postcard::take_from_bytes::<Undo>(tail) else {
                    break;
                };
                let phase = match phase % 3 {
                    0 => Phase::Intent,
                    1 => Phase::Done,
                    _ => Phase::Undone,
                };
                let _ = j.append(&JournalEntry {
                    step: *step,
                    phase,
                    undo,
                });
                rest = tail;
            }
            let state = match rest.first().map(|b| b % 4) {
                Some(0) => TxState::Idle,
                Some(1) => TxState::Running,
                Some(2) => TxState::RollingBack,
                _ => TxState::Committed,
            };
            let _ = j.set_state(state);
            rest = rest.get(1..).unwrap_or(&[]);
        }
    }
    for poke in rest.chunks_exact(3).take(MAX_POKES) {
        let at = usize::from(u16::from_le_bytes([poke[0], poke[1]])) % JOURNAL_BYTES;
        bytes[at] = poke[2];
    }
    bytes
}

/// Check 1: what the journal owes, against its entries.
fn owed_once(bytes: &mut [u8]) -> Option<(TxState, usize)> {
    let (journal, _) = Journal::open(bytes).ok()?;
    let owed = journal.owed();
    let mut latest: BTreeMap<u8, Phase> = BTreeMap::new();
    for i in 0..journal.len() {
        if let Some(e) = journal.entry(i) {
            latest.insert(e.step, e.phase);
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for (step, _) in &owed {
        assert!(seen.insert(*step), "step {step} owed twice");
        assert_ne!(
            latest.get(step),
            Some(&Phase::Undone),
            "step {step} owed although its undo ran"
        );
    }
    let expected = latest.values().filter(|p| **p != Phase::Undone).count();
    assert_eq!(owed.len(), expected, "an owed step was left out");
    Some((journal.state(), owed.len()))
}

/// Fuzz target `journal`.
pub fn journal(data: &[u8]) {
    let mut bytes = region(data);
    let Some((state, owed)) = owed_once(&mut bytes.clone()) else {
        return;
    };
    let p = platform();
    with_machine(p, Knobs::default(), |m| {
        // Check 2: the real restart over the region.
        if let Err(e) = m.restart_broker_with(bytes.clone()) {
            assert!(!e.is_empty(), "a refusal names its reason");
        }
        m.check("a restart over the fuzzed region", None);
        assert!(m.out.violations.is_empty(), "{:#?}", m.out.violations);

        // Check 3: the replay twice, a crash between.
        if !matches!(state, TxState::Running | TxState::RollingBack) {
            return;
        }
        let id = |n: &str| m.system.task_id(n).expect("a simulated task");
        let ids = PeerIds {
            acpi: id("acpi"),
            domid: id("domid"),
            iommu: id("iommu"),
            pci: id("pci"),
            supervisor: id("supervisor"),
        };
        let applied = Rc::new(RefCell::new(0usize));
        let transport = Applied {
            inner: m.system.client("broker").expect("the broker's client"),
            applied: applied.clone(),
        };
        let mut peers = Peers::new(transport, ids);
        let first = {
            let store: &mut [u8] = &mut bytes;
            let (mut j, _) = Journal::open(store).expect("it opened before");
            let (outcome, journal_ok) = roll_back(&mut j, &mut peers);
            (matches!(outcome, Rollback::Complete), journal_ok)
        };
        let applied_first = *applied.borrow();
        assert!(
            applied_first <= owed,
            "{applied_first} undos applied for {owed} owed steps"
        );
        let (complete, journal_ok) = first;
        if !journal_ok {
            return;
        }
        let store: &mut [u8] = &mut bytes;
        let (j, _) = Journal::open(store).expect("the replayed journal opens");
        let owed_again = j.owed().len();
        if complete {
            assert_eq!(owed_again, 0, "a completed replay left undos owed");
        }
        assert!(
            owed_again + applied_first <= owed,
            "an applied undo is owed again ({owed_again} owed after {applied_first} of {owed})"
        );
    })
    .expect("the machine boots");
}
