//! The server's state: its units, the ledger and the fault queue, and how a
//! unit joins (started or taken over, then its DIDs read back from its
//! context entries).

use heapless::Vec;
use idl_types::{Bdf, ContextState, Did, EntryOwner, IommuError, UnitFault, UnitId};
use vtd::{
    Config, ContextEntry, Delay, PageAllocator, PageTable, Quarantine, Registers, TableMemory,
    TranslationType, Unit,
};

use crate::adopt::OnePage;
use crate::convert;
use crate::dids::DidMap;
use crate::faults::FaultQueue;
use crate::ledger::{Ledger, LedgerStore, RootOwner, MAX_DOMAINS, MAX_QUARANTINED, MAX_UNITS};
use crate::start::{start_unit, StartError, Started};

/// DIDs one unit's present entries can use: one per table tree.
pub const MAX_DIDS_PER_UNIT: usize = MAX_DOMAINS + MAX_QUARANTINED;

/// What the server counts per unit beyond the library's counters.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Stats {
    pub changes: u64,
    pub atomic: u64,
    pub cleared_first: u64,
    pub best_effort: u64,
    pub warnings: u64,
}

/// A context entry replaced Xen's best-effort way (no CX16, an RMRR
/// device, a present entry): the low half with the new tables first, the
/// DID last, so for a moment the old DID tags the new tables.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct BestEffortUpdate {
    /// The unit.
    pub unit: UnitId,
    /// The requester ID.
    pub rid: Bdf,
    /// What the entry held.
    pub from: ContextState,
    /// What it holds now.
    pub to: ContextState,
    /// Whether Xen warns of data corruption of the old owner (neither
    /// OWNER_DYING nor SINGLE_DEVICE).
    pub may_corrupt: bool,
}

/// One unit with the server's books about it.
pub struct ServerUnit<R, M, A, D> {
    pub(crate) hw: Unit<R, M, A, D>,
    pub(crate) dids: DidMap<MAX_DIDS_PER_UNIT>,
    /// Quarantine tables built in this life of the server (after a restart
    /// the ledger still names the older ones, which can be pointed at but
    /// not extended).
    pub(crate) quarantines: Vec<(Bdf, Quarantine), MAX_QUARANTINED>,
    pub(crate) stats: Stats,
    pub(crate) started: Started,
}

impl<R: Registers, M: TableMemory, A: PageAllocator, D: Delay> ServerUnit<R, M, A, D> {
    /// The vtd unit (diagnostics and tests).
    pub fn hw(&mut self) -> &mut Unit<R, M, A, D> {
        &mut self.hw
    }

    /// How the unit was started.
    pub fn started(&self) -> Started {
        self.started
    }

    /// A `PageTable` over the existing tables rooted at `root` (`new`
    /// takes its root from `OnePage`, so it only fails if that were empty).
    pub(crate) fn table_view(&self, root: u64) -> Result<PageTable, IommuError> {
        PageTable::new(
            &mut OnePage(Some(root)),
            self.hw.levels(),
            self.hw.large_pages(),
        )
        .map_err(|_| IommuError::OutOfTables)
    }
}

/// The `Iommu` interface over VT-d units bound to `R`/`M`/`A`/`D`, with its
/// ledger kept in `L`.
pub struct IommuServer<R, M, A, D, L> {
    pub(crate) units: Vec<ServerUnit<R, M, A, D>, MAX_UNITS>,
    pub(crate) ledger: Ledger,
    pub(crate) store: L,
    pub(crate) faults: FaultQueue,
    pub(crate) fault_notification: u32,
    pub(crate) fault_log: Option<fn(&idl_types::FaultRecord)>,
    pub(crate) fault_budget: crate::fault_budget::FaultBudget,
    pub(crate) fault_summary_log: Option<fn(&crate::IntervalSummary)>,
    pub(crate) fault_mask_log: Option<fn(u32)>,
    pub(crate) best_effort_log: Option<fn(&BestEffortUpdate)>,
    /// Why the last `add_unit` could not start its unit, in the library's
    /// words (the IDL error only says `ResumeFailed` or the like).
    pub(crate) start_error: Option<StartError>,
}

impl<R, M, A, D, L> IommuServer<R, M, A, D, L>
where
    R: Registers,
    M: TableMemory,
    A: PageAllocator,
    D: Delay,
    L: LedgerStore,
{
    /// A server with no unit yet, remembering what `store` holds.
    pub fn new(mut store: L) -> Self {
        let ledger = store.load();
        IommuServer {
            units: Vec::new(),
            ledger,
            store,
            faults: FaultQueue::default(),
            fault_notification: 0,
            fault_log: None,
            fault_budget: crate::fault_budget::FaultBudget::new(),
            fault_summary_log: None,
            fault_mask_log: None,
            best_effort_log: None,
            start_error: None,
        }
    }

    /// Why the last [`Self::add_unit`] failed to start its unit, if it did.
    pub fn start_error(&self) -> Option<StartError> {
        self.start_error
    }

    /// Adds the next unit (its `UnitId` is the number of units before it):
    /// brings it up, or takes it over if a previous life of the server left
    /// it running, then reads back which DIDs its context entries use.
    pub fn add_unit(
        &mut self,
        regs: R,
        mem: M,
        alloc: A,
        delay: D,
        config: Config,
    ) -> Result<(UnitId, Started), IommuError> {
        let id = UnitId(u8::try_from(self.units.len()).unwrap_or(u8::MAX));
        if self.units.is_full() {
            return Err(IommuError::BooksFull {
                capacity: MAX_UNITS as u16,
            });
        }
        let started = start_unit(regs, mem, alloc, delay, config);
        self.start_error = started.as_ref().err().copied();
        let (hw, started) = started.map_err(|e| match e {
            StartError::Unit(e) => convert::error(id, e, (0, 0)),
            StartError::Resume(_) => IommuError::UnitFailure {
                unit: id,
                cause: UnitFault::ResumeFailed,
            },
        })?;
        let mut unit = ServerUnit {
            hw,
            dids: DidMap::default(),
            quarantines: Vec::new(),
            stats: Stats::default(),
            started,
        };
        read_back_dids(id, &mut unit)?;
        self.units.push(unit).map_err(|_| IommuError::BooksFull {
            capacity: MAX_UNITS as u16,
        })?;
        Ok((id, started))
    }

    /// A unit (diagnostics and tests).
    pub fn unit(&mut self, unit: UnitId) -> Option<&mut ServerUnit<R, M, A, D>> {
        self.units.get_mut(unit.0 as usize)
    }

    /// The ledger as the server holds it.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// The notification bit the fault interrupt posts (0: none); the server
    /// drains the fault registers when it fires.
    pub fn set_fault_notification(&mut self, mask: u32) {
        self.fault_notification = mask;
    }

    pub(crate) fn slot(&mut self, unit: UnitId) -> Result<&mut ServerUnit<R, M, A, D>, IommuError> {
        self.units
            .get_mut(unit.0 as usize)
            .ok_or(IommuError::NoSuchUnit(unit))
    }

    pub(crate) fn save(&mut self) {
        self.store.store(&self.ledger);
    }

    /// Whose tables a context entry points at, as far as the books say.
    pub(crate) fn owner(&self, unit: UnitId, entry: &ContextEntry) -> EntryOwner {
        if !entry.present {
            return EntryOwner::NotPresent;
        }
        if entry.tt == TranslationType::PassThrough {
            return EntryOwner::Unknown;
        }
        let Some(slot) = self.units.get(unit.0 as usize) else {
            return EntryOwner::Unknown;
        };
        let trusted = slot
            .dids
            .get(entry.did)
            .is_some_and(|u| !u.conflicted && u.root == entry.slptptr);
        if !trusted {
            return EntryOwner::Unknown;
        }
        match self.ledger.owner_of_root(unit, entry.slptptr) {
            RootOwner::Domain(d) => EntryOwner::Domain(d),
            RootOwner::Quarantine(_) => EntryOwner::Quarantine,
            RootOwner::Nobody => EntryOwner::Unknown,
        }
    }

    /// A context entry in `set_context`'s terms; an entry of unknown
    /// ownership is an error, since it could never be put back.
    pub(crate) fn state_of(
        &self,
        unit: UnitId,
        device: Bdf,
        entry: &ContextEntry,
    ) -> Result<ContextState, IommuError> {
        match self.owner(unit, entry) {
            EntryOwner::NotPresent => Ok(ContextState::NotPresent),
            EntryOwner::Domain(domain) => Ok(ContextState::Domain {
                domain,
                did: Did(entry.did),
            }),
            EntryOwner::Quarantine => Ok(ContextState::Quarantine {
                did: Did(entry.did),
            }),
            EntryOwner::Unknown => Err(IommuError::UnknownOwner {
                device,
                did: Did(entry.did),
            }),
        }
    }
}

/// Fills the unit's DID map from its present context entries.
fn read_back_dids<R, M, A, D>(
    id: UnitId,
    unit: &mut ServerUnit<R, M, A, D>,
) -> Result<(), IommuError>
where
    R: Registers,
    M: TableMemory,
    A: PageAllocator,
    D: Delay,
{
    let mut full = false;
    let dids = &mut unit.dids;
    dids.clear();
    unit.hw
        .for_each_present_context(|_, entry| {
            full |= dids.add(entry.did, entry.slptptr).is_err();
        })
        .map_err(|e| convert::error(id, e, (0, 0)))?;
    if full {
        return Err(IommuError::BooksFull {
            capacity: MAX_DIDS_PER_UNIT as u16,
        });
    }
    Ok(())
}
