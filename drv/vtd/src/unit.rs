//! One VT-d unit (DRHD): its registers, decoded capabilities, root table,
//! invalidation mode and counters, and its bring-up (a unit that already
//! translates is taken over with [`Unit::resume`] instead).
//!
//! Bring-up follows a fixed order (faults cleared, queue enabled before any
//! invalidation, root table latched, caches flushed, translation enabled) and
//! every GSTS poll is bounded: a bit that never changes is an error naming
//! it.

use crate::cap::{Cap, Ecap, Levels};
use crate::counters::Counters;
use crate::error::{Error, WaitFor};
use crate::format::{GstsBit, RootEntry, GCMD_ONE_SHOT};
use crate::hw::{Delay, PageAllocator, Registers, TableMemory};
use crate::invalidate::{InvalidationMode, Queue};
use crate::regs;

/// Which invalidation interface to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InvalidationChoice {
    /// The queue when ECAP.QI says so, else registers.
    #[default]
    Auto,
    /// Always registers (CCMD/IOTLB).
    Registers,
    /// Always the queue (an error when ECAP.QI is clear).
    Queue,
}

/// Policy for a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    pub invalidation: InvalidationChoice,
    /// Refuse the non-atomic context-update fallback when CX16 is missing
    /// (what upstream Xen does since 2025).
    pub require_cx16: bool,
    /// Polls of a status before it is an error.
    pub poll_limit: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            invalidation: InvalidationChoice::Auto,
            require_cx16: false,
            poll_limit: 100_000,
        }
    }
}

/// A VT-d unit and the hardware it is bound to.
pub struct Unit<R, M, A, D> {
    pub(crate) regs: R,
    pub(crate) mem: M,
    pub(crate) alloc: A,
    pub(crate) delay: D,
    pub(crate) config: Config,
    pub(crate) cap: Cap,
    pub(crate) ecap: Ecap,
    pub(crate) levels: Levels,
    pub(crate) domains: u32,
    pub(crate) root_table: Option<u64>,
    pub(crate) inval: InvalidationMode,
    pub(crate) counters: Counters,
    /// Detached table pages and failed flushes waiting (see `deferred`).
    pub(crate) deferred: crate::deferred::Deferred,
    /// The interrupt-remapping table, once remapping is on.
    pub(crate) ir_table: Option<crate::interrupt::IrTable>,
}

impl<R: Registers, M: TableMemory, A: PageAllocator, D: Delay> Unit<R, M, A, D> {
    /// Reads and decodes CAP/ECAP. Touches nothing else.
    pub fn new(mut regs: R, mem: M, alloc: A, delay: D, config: Config) -> Result<Self, Error> {
        let cap = Cap::decode(regs.read64(regs::CAP))?;
        let ecap = Ecap::decode(regs.read64(regs::ECAP));
        let levels = cap.levels()?;
        let domains = cap.domain_count()?;
        if config.invalidation == InvalidationChoice::Queue && !ecap.qi {
            return Err(Error::QueueUnsupported);
        }
        Ok(Unit {
            regs,
            mem,
            alloc,
            delay,
            config,
            cap,
            ecap,
            levels,
            domains,
            root_table: None,
            inval: InvalidationMode::Off,
            counters: Counters::default(),
            deferred: crate::deferred::Deferred::default(),
            ir_table: None,
        })
    }

    /// Brings the unit up: clear and unmask faults; enable the queue if
    /// chosen (before any invalidation, since QEMU ignores CCMD/IOTLB once
    /// QIE is set); allocate and latch the root table; global context-cache
    /// and IOTLB invalidation; enable translation.
    pub fn bring_up(&mut self) -> Result<(), Error> {
        self.drain_faults(|_| {});
        self.write32(regs::FSTS, regs::FSTS_PFO | regs::FSTS_IQE);
        self.write32(regs::FECTL, 0);

        let use_queue = match self.config.invalidation {
            InvalidationChoice::Auto => self.ecap.qi,
            InvalidationChoice::Registers => false,
            InvalidationChoice::Queue => true,
        };
        if use_queue {
            self.enable_queue()?;
        } else {
            self.inval = InvalidationMode::Registers;
        }

        let root = match self.root_table {
            Some(root) => root,
            None => {
                let root = self.alloc.alloc_page().ok_or(Error::OutOfMemory)?;
                self.root_table = Some(root);
                root
            }
        };
        self.write64(regs::RTADDR, root);
        self.gcmd(GstsBit::Rtps, true);
        self.wait_gsts(GstsBit::Rtps, true)?;

        self.invalidate_context_global()?;
        self.invalidate_iotlb_global()?;

        self.gcmd(GstsBit::Te, true);
        self.wait_gsts(GstsBit::Te, true)
    }

    fn enable_queue(&mut self) -> Result<(), Error> {
        let base = self.alloc.alloc_page().ok_or(Error::OutOfMemory)?;
        let status = match self.alloc.alloc_page() {
            Some(page) => page,
            None => {
                self.alloc.free_page(base);
                return Err(Error::OutOfMemory);
            }
        };
        // QS = 0: 256 descriptors, exactly one page. IQA before QIE: the
        // unit fetches from it as soon as the queue is enabled.
        self.write64(regs::IQA, base & regs::IQA_BASE_MASK);
        self.write64(regs::IQT, 0);
        self.inval = InvalidationMode::Queue(Queue::new(base, status));
        self.gcmd(GstsBit::Qies, true);
        self.wait_gsts(GstsBit::Qies, true)
    }

    /// Sets or clears a GCMD command. GCMD is written from GSTS with the
    /// one-shot bits masked off, so no other command repeats.
    pub(crate) fn gcmd(&mut self, bit: GstsBit, on: bool) {
        let status = self.read32(regs::GSTS) & !GCMD_ONE_SHOT;
        let value = if on {
            status | bit.mask()
        } else {
            status & !bit.mask()
        };
        self.write32(regs::GCMD, value);
    }

    /// Polls GSTS until `bit` is `set`, at most `poll_limit` times.
    pub(crate) fn wait_gsts(&mut self, bit: GstsBit, set: bool) -> Result<(), Error> {
        let limit = self.config.poll_limit;
        for _ in 0..limit {
            if (self.read32(regs::GSTS) & bit.mask() != 0) == set {
                return Ok(());
            }
            self.delay.pause();
        }
        Err(Error::Timeout {
            what: WaitFor::Gsts { bit, set },
            polls: limit,
        })
    }

    /// Flushes the write buffer (needed when CAP.RWBF is set and an entry
    /// went from non-present to present without any cache flush).
    pub fn flush_write_buffer(&mut self) -> Result<(), Error> {
        self.counters.write_buffer_flushes += 1;
        self.gcmd(GstsBit::Wbfs, true);
        self.wait_gsts(GstsBit::Wbfs, false)
    }

    pub(crate) fn read32(&mut self, offset: usize) -> u32 {
        self.regs.read32(offset)
    }

    pub(crate) fn write32(&mut self, offset: usize, value: u32) {
        self.counters.register_writes += 1;
        self.regs.write32(offset, value);
    }

    pub(crate) fn read64(&mut self, offset: usize) -> u64 {
        self.regs.read64(offset)
    }

    pub(crate) fn write64(&mut self, offset: usize, value: u64) {
        self.counters.register_writes += 1;
        self.regs.write64(offset, value);
    }

    /// Makes a table write visible to a non-coherent unit.
    pub(crate) fn sync(&mut self, addr: u64, len: u64) {
        if !self.ecap.coherent {
            self.mem.sync(addr, len);
        }
    }

    /// The root table, allocated by `bring_up` or found by `resume`.
    pub(crate) fn root(&self) -> Result<u64, Error> {
        self.root_table.ok_or(Error::NotBroughtUp)
    }

    /// The context table of `bus`, allocated (and its root entry made
    /// present) when `create` is set and there is none yet.
    pub(crate) fn context_table(&mut self, bus: u8, create: bool) -> Result<Option<u64>, Error> {
        let slot = self.root()? + bus as u64 * regs::ENTRY128_SIZE;
        let entry = RootEntry::decode(self.mem.read_u64(slot));
        if entry.present {
            return Ok(Some(entry.context_table));
        }
        if !create {
            return Ok(None);
        }
        let table = self.alloc.alloc_page().ok_or(Error::OutOfMemory)?;
        self.sync(table, regs::PAGE_SIZE);
        let entry = RootEntry {
            present: true,
            context_table: table,
        };
        self.mem.write_u64(slot, entry.encode());
        self.sync(slot, regs::ENTRY128_SIZE);
        Ok(Some(table))
    }

    /// Decoded CAP.
    pub fn cap(&self) -> &Cap {
        &self.cap
    }

    /// Decoded ECAP.
    pub fn ecap(&self) -> &Ecap {
        &self.ecap
    }

    /// The table depth this unit uses.
    pub fn levels(&self) -> Levels {
        self.levels
    }

    /// Number of domain IDs (2^(4+2·ND)).
    pub fn domain_count(&self) -> u32 {
        self.domains
    }

    /// Whether invalidations go through the queue.
    pub fn uses_queue(&self) -> bool {
        matches!(self.inval, InvalidationMode::Queue(_))
    }

    /// Whether 2 MiB pages may be used in this unit's tables.
    pub fn large_pages(&self) -> bool {
        self.cap.sp_2m
    }

    /// Counters so far.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// The table memory (to build page tables with [`crate::PageTable`]).
    pub fn memory(&mut self) -> &mut M {
        &mut self.mem
    }

    /// Table memory and allocator together, for page-table operations.
    pub fn tables(&mut self) -> (&mut M, &mut A) {
        (&mut self.mem, &mut self.alloc)
    }

    /// The register page (for diagnostics).
    pub fn registers(&mut self) -> &mut R {
        &mut self.regs
    }
}
