//! What survives every restart: one VT-d model per unit (registers, tables,
//! caches, the DMA observer) and the iommu's ledger in a persist-like cell.
//! The invariants read the truth here, from memory, without asking any
//! server.
//!
//! Two things a reader must know: the owner of a context entry is decided
//! by its table root against the ledger (a domain's root or a device's
//! quarantine root), exactly the fact the iommu persists; and the observer
//! is told which DID each domain uses on a unit before every iommu message
//! ([`Hardware::register_domains`]), so it can tell a mixed entry (one
//! domain's DID over another's tables) from a clean one.

use std::cell::RefCell;
use std::collections::BTreeMap;

use idl_types::{Bdf, DomainId, UnitId};
use task_iommu::Ledger;
use vtd::format::{ContextEntry, RootEntry, SlPte};
use vtd::model::Model;
use vtd::{regs, Rid};

use crate::platform::{Platform, MAX_UNITS};

/// Root-table address bits of RTADDR.
const RTADDR_MASK: u64 = !0xfff;
/// Bytes of a root or context entry.
const ENTRY_BYTES: u64 = 16;
/// Index bits per page-table level.
const LEVEL_BITS: u32 = 9;
/// Page-table levels of QEMU's unit (39-bit address width).
const LEVELS: u32 = 3;
/// Where the observer is told a DID no domain uses any more points: no
/// table is ever allocated up there.
const RETIRED_ROOT: u64 = 0x7fff_0000_0000;

/// Whose tables a context entry uses.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Owner {
    /// Not present.
    None,
    /// A domain's tables.
    Domain(DomainId),
    /// A device's quarantine tables.
    Quarantine(Bdf),
    /// Tables nobody recorded.
    Unknown(u64),
}

/// The hardware of one simulated machine.
pub struct Hardware<'p> {
    /// The platform.
    pub platform: &'p Platform,
    /// One model per unit the iommu drives.
    pub models: Vec<Model>,
    /// The iommu's ledger, as its persist region holds it.
    pub ledger: RefCell<Ledger>,
    /// Per unit, the DIDs the observer was told about (DID → root).
    registered: RefCell<Vec<BTreeMap<u16, u64>>>,
    /// The kernel's page tables, as far as device registers go.
    pub kernel: crate::kernel_model::KernelModel,
}

fn rid(b: Bdf) -> Rid {
    Rid::from_sid(u16::from(b.bus) << 8 | u16::from(b.device) << 3 | u16::from(b.function))
}

impl<'p> Hardware<'p> {
    /// Fresh units (translation off) and an empty ledger.
    pub fn new(platform: &'p Platform) -> Hardware<'p> {
        let units = platform.units.min(MAX_UNITS);
        let models: Vec<Model> = (0..units)
            .map(|_| {
                let m = Model::qemu_intremap();
                m.set_cx16(platform.cx16);
                m
            })
            .collect();
        Hardware {
            platform,
            registered: RefCell::new(vec![BTreeMap::new(); units]),
            models,
            ledger: RefCell::new(Ledger::EMPTY),
            kernel: crate::kernel_model::KernelModel::new(
                &vec![None; platform.devices.len()],
                &crate::machine::DOMAINS.map(|(_, owner)| crate::servers::index(owner)),
                crate::servers::index("broker"),
            ),
        }
    }

    /// The model of `unit`.
    pub fn model(&self, unit: UnitId) -> Option<&Model> {
        self.models.get(usize::from(unit.0))
    }

    /// The context entry of `b` on `unit`, read from memory.
    pub fn entry(&self, unit: UnitId, b: Bdf) -> ContextEntry {
        let Some(m) = self.model(unit) else {
            return ContextEntry::empty();
        };
        let root = rtaddr(m) & RTADDR_MASK;
        if root == 0 {
            return ContextEntry::empty();
        }
        let r = RootEntry::decode(m.read_phys(root + u64::from(b.bus) * ENTRY_BYTES));
        if !r.present {
            return ContextEntry::empty();
        }
        let devfn = u64::from(b.device) << 3 | u64::from(b.function);
        let at = r.context_table + devfn * ENTRY_BYTES;
        ContextEntry::decode(m.read_phys(at), m.read_phys(at + 8))
    }

    /// Whose tables an entry on `unit` uses, by the ledger.
    pub fn owner(&self, unit: UnitId, e: &ContextEntry) -> Owner {
        if !e.present {
            return Owner::None;
        }
        let ledger = self.ledger.borrow();
        if let Some(d) = ledger
            .domains
            .iter()
            .flatten()
            .find(|d| d.root(unit) == Some(e.slptptr))
        {
            return Owner::Domain(d.domain);
        }
        match ledger
            .quarantines
            .iter()
            .flatten()
            .find(|q| q.unit == unit && q.root == e.slptptr)
        {
            Some(q) => Owner::Quarantine(q.device),
            None => Owner::Unknown(e.slptptr),
        }
    }

    /// The root of `domain`'s tables on `unit`.
    pub fn domain_root(&self, unit: UnitId, domain: DomainId) -> Option<u64> {
        let ledger = self.ledger.borrow();
        let d = ledger
            .domains
            .iter()
            .flatten()
            .find(|d| d.domain == domain)?;
        d.root(unit)
    }

    /// The scratch page of `device`'s quarantine tables on `unit`.
    pub fn scratch(&self, unit: UnitId, device: Bdf) -> Option<u64> {
        let ledger = self.ledger.borrow();
        let q = ledger
            .quarantines
            .iter()
            .flatten()
            .find(|q| q.unit == unit && q.device == device)?;
        Some(q.scratch)
    }

    /// Where `iova` lands through the tables at `root` on `unit` (memory
    /// only, no cache).
    pub fn walk(&self, unit: UnitId, root: u64, iova: u64) -> Option<u64> {
        let m = self.model(unit)?;
        let mut table = root;
        for level in (1..=LEVELS).rev() {
            let shift = 12 + LEVEL_BITS * (level - 1);
            let index = (iova >> shift) & ((1 << LEVEL_BITS) - 1);
            let pte = SlPte::decode(m.read_phys(table + index * 8));
            if !pte.present() {
                return None;
            }
            if level == 1 || pte.superpage {
                return Some(pte.addr + (iova & ((1u64 << shift) - 1)));
            }
            table = pte.addr;
        }
        None
    }

    /// A DMA read by `b` at `iova` through `unit` (caches and all, as a
    /// device would).
    pub fn dma(&self, unit: UnitId, b: Bdf, iova: u64) -> Option<u64> {
        self.model(unit)?.dma(rid(b), iova, false).ok()
    }

    /// Tells the observer of `unit` to watch `b`, with samples of its RMRRs.
    pub fn watch(&self, unit: UnitId, b: Bdf, rmrr_pages: &[u64]) {
        if let Some(m) = self.model(unit) {
            let ranges: Vec<(u64, u64)> = rmrr_pages.iter().map(|&p| (p, 0x1000)).collect();
            m.watch(rid(b), &ranges);
        }
    }

    /// Tells each unit's observer which DID every domain uses there now
    /// (`did_of(unit, domain)`), retiring DIDs whose tables another DID
    /// took over. Quarantine pseudo-DIDs are never registered: they and
    /// their tables are each device's own, so only a domain's DID over
    /// foreign tables (or the reverse) is a mixed state.
    pub fn register_domains(&self, did_of: impl Fn(UnitId, DomainId) -> Option<u16>) {
        let ledger = *self.ledger.borrow();
        let mut registered = self.registered.borrow_mut();
        for (u, (m, seen)) in self.models.iter().zip(registered.iter_mut()).enumerate() {
            let unit = UnitId(u as u8);
            for d in ledger.domains.iter().flatten() {
                let (Some(root), Some(did)) = (d.root(unit), did_of(unit, d.domain)) else {
                    continue;
                };
                if seen.get(&did) == Some(&root) {
                    continue;
                }
                let stale: Vec<u16> = seen
                    .iter()
                    .filter(|(&other, &r)| r == root && other != did)
                    .map(|(&other, _)| other)
                    .collect();
                for other in stale {
                    let retired = RETIRED_ROOT + (u64::from(other) << 12);
                    m.register_domain(other, retired);
                    seen.insert(other, retired);
                }
                m.register_domain(did, root);
                seen.insert(did, root);
            }
        }
    }

    /// The observer's counters summed over units: (disconnect windows,
    /// mixed states).
    pub fn observed(&self) -> (u64, u64) {
        self.models.iter().fold((0, 0), |(d, x), m| {
            let o = m.observer();
            (d + o.disconnect_windows, x + o.mixed_states)
        })
    }
}

/// RTADDR of a model, read as the CPU would.
impl Hardware<'_> {
    /// Interrupt-remapping entry `handle` of `unit`, read from memory, once
    /// the unit remaps interrupts.
    pub fn irte(&self, unit: UnitId, handle: u16) -> Option<vtd::format::Irte> {
        use vtd::Registers;
        let m = self.model(unit)?;
        let mut registers = m.registers();
        let remapping = vtd::format::GstsBit::Ires.mask();
        if registers.read32(regs::GSTS) & remapping == 0 {
            return None;
        }
        let base = registers.read64(regs::IRTA) & regs::IRTA_BASE_MASK;
        let at = base + u64::from(handle) * vtd::IRTE_SIZE;
        Some(vtd::format::Irte::from_words(
            m.read_phys(at),
            m.read_phys(at + 8),
        ))
    }
}

fn rtaddr(m: &Model) -> u64 {
    use vtd::Registers;
    m.registers().read64(regs::RTADDR)
}
