//! The ledger: which table roots belong to which domain and which device's
//! quarantine, the one fact a restarted server cannot read back from the
//! hardware.
//!
//! It is small plain data. The server keeps a working copy and writes it
//! through a [`LedgerStore`] after every change, before the change is used
//! by any context entry, so a restart never finds an entry pointing at
//! tables the ledger does not name. (A crash between building tables and
//! recording them only leaks pages.)

use core::cell::RefCell;

use idl_types::{Bdf, Did, DomainId, UnitId};

/// Units one server drives (app.toml `[capacity] units`).
pub const MAX_UNITS: usize = capacity::UNITS.value;
/// Domains with page tables at once (app.toml `[capacity] domains`).
pub const MAX_DOMAINS: usize = capacity::DOMAINS.value;
/// Devices with quarantine tables at once (app.toml `[capacity]
/// quarantined`).
pub const MAX_QUARANTINED: usize = capacity::QUARANTINED.value;

/// One domain's page-table roots, one per unit (0: none on that unit).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct DomainRecord {
    pub domain: DomainId,
    pub roots: [u64; MAX_UNITS],
}

impl DomainRecord {
    /// The root on `unit`, if the domain has tables there.
    pub fn root(&self, unit: UnitId) -> Option<u64> {
        self.roots.get(unit.0 as usize).copied().filter(|&r| r != 0)
    }
}

/// One device's quarantine tables on one unit.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct QuarantineRecord {
    pub unit: UnitId,
    /// The device (its real function, not an alias).
    pub device: Bdf,
    /// The pseudo-DID its entries last used.
    pub did: Did,
    /// Top table (the context entry's SLPTPTR).
    pub root: u64,
    /// The page every non-RMRR address reaches.
    pub scratch: u64,
}

/// Everything the server must remember across its own restarts.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Ledger {
    pub domains: [Option<DomainRecord>; MAX_DOMAINS],
    pub quarantines: [Option<QuarantineRecord>; MAX_QUARANTINED],
}

impl Ledger {
    /// The ledger of a first boot.
    pub const EMPTY: Ledger = Ledger {
        domains: [None; MAX_DOMAINS],
        quarantines: [None; MAX_QUARANTINED],
    };

    pub(crate) fn domain(&self, domain: DomainId) -> Option<&DomainRecord> {
        self.domains.iter().flatten().find(|r| r.domain == domain)
    }

    pub(crate) fn quarantine_of(&self, unit: UnitId, device: Bdf) -> Option<&QuarantineRecord> {
        self.quarantines
            .iter()
            .flatten()
            .find(|q| q.unit == unit && q.device == device)
    }

    pub(crate) fn quarantine_with_did(&self, unit: UnitId, did: Did) -> Option<&QuarantineRecord> {
        self.quarantines
            .iter()
            .flatten()
            .find(|q| q.unit == unit && q.did == did)
    }

    /// Whose tables `root` is on `unit`.
    pub(crate) fn owner_of_root(&self, unit: UnitId, root: u64) -> RootOwner {
        if root == 0 {
            return RootOwner::Nobody;
        }
        if let Some(d) = self
            .domains
            .iter()
            .flatten()
            .find(|d| d.root(unit) == Some(root))
        {
            return RootOwner::Domain(d.domain);
        }
        match self
            .quarantines
            .iter()
            .flatten()
            .find(|q| q.unit == unit && q.root == root)
        {
            Some(q) => RootOwner::Quarantine(q.device),
            None => RootOwner::Nobody,
        }
    }
}

impl Default for Ledger {
    fn default() -> Self {
        Ledger::EMPTY
    }
}

/// Whose tables a root is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum RootOwner {
    Domain(DomainId),
    Quarantine(Bdf),
    Nobody,
}

/// Where the ledger lives between two lives of the server.
pub trait LedgerStore {
    /// The ledger as last stored (or [`Ledger::EMPTY`] the first time).
    fn load(&mut self) -> Ledger;
    /// Stores the ledger; it must survive a restart of the task.
    fn store(&mut self, ledger: &Ledger);
}

/// A ledger that lives only as long as the server (tests, or an image
/// without a persist region: a restart then forgets every domain).
#[derive(Debug, Default)]
pub struct VolatileLedger(pub Ledger);

impl LedgerStore for VolatileLedger {
    fn load(&mut self) -> Ledger {
        self.0
    }
    fn store(&mut self, ledger: &Ledger) {
        self.0 = *ledger;
    }
}

/// A ledger shared with whoever outlives the server: the test or
/// simulator that restarts it.
#[derive(Debug, Clone, Copy)]
pub struct SharedLedger<'a>(pub &'a RefCell<Ledger>);

impl LedgerStore for SharedLedger<'_> {
    fn load(&mut self) -> Ledger {
        *self.0.borrow()
    }
    fn store(&mut self, ledger: &Ledger) {
        *self.0.borrow_mut() = *ledger;
    }
}
