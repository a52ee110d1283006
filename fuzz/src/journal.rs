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
    roll_back, Journal, Knobs, PeerIds, Peers, Phase, Rollback, TxState, JOURNAL_BYTES,
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

/// The region of an input.
fn region(data: &[u8]) -> Vec<u8> {
    let mut bytes = data.to_vec();
    if bytes.len() < JOURNAL_BYTES {
        bytes.resize(JOURNAL_BYTES, 0);
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
