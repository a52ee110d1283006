//! A software VT-d unit for host tests and the simulator (feature `model`).
//!
//! [`Model`] is a cheap handle to one shared state; [`Model::registers`],
//! [`Model::memory`] and [`Model::allocator`] give the trait objects a
//! [`crate::Unit`] is built from, and the test drives DMA with
//! [`Model::dma`]. It behaves like QEMU 7.2's intel-iommu where the facts
//! file says so: synchronous invalidations, a context cache and a
//! source-ID-keyed, DID-tagged IOTLB that stay stale until invalidated with
//! the right DID, one fault recording register, and the QIE and SW+IF quirks.

mod caches;
mod interrupts;
mod irte_watch;
mod memory;
mod observer;
mod registers;
mod state;
mod walk;

use std::cell::RefCell;
use std::rc::Rc;

pub use caches::IotlbEntry;
pub use interrupts::Delivered;
pub use memory::TABLE_POOL_BASE;
pub use observer::ObserverCounts;
pub use state::ModelStats;

use crate::format::{ContextEntry, FaultReason, GstsBit};
use crate::hw::{Cmpxchg16bError, Delay, PageAllocator, Registers, TableMemory};
use crate::rid::Rid;
use state::State;

/// QEMU 7.2's CAP with the default aw-bits=39.
pub const QEMU_CAP: u64 = 0x00d2_008c_2226_0206;
/// QEMU 7.2's ECAP with intremap=off.
pub const QEMU_ECAP: u64 = 0xf42;
/// QEMU 7.2's ECAP with intremap=on.
pub const QEMU_ECAP_INTREMAP: u64 = 0xf0_0f4a;

/// A handle to one model unit and its memory.
#[derive(Clone)]
pub struct Model(Rc<RefCell<State>>);

impl Model {
    /// A unit presenting `cap` and `ecap` (anything, even what the driver
    /// must refuse), with CX16.
    pub fn new(cap: u64, ecap: u64) -> Model {
        Model(Rc::new(RefCell::new(State::new(cap, ecap))))
    }

    /// QEMU 7.2 with intremap=off.
    pub fn qemu() -> Model {
        Model::new(QEMU_CAP, QEMU_ECAP)
    }

    /// QEMU 7.2 with intremap=on,eim=off (ECAP.IR set).
    pub fn qemu_intremap() -> Model {
        Model::new(QEMU_CAP, QEMU_ECAP_INTREMAP)
    }

    /// The register page.
    pub fn registers(&self) -> ModelRegisters {
        ModelRegisters(self.0.clone())
    }

    /// The physical memory.
    pub fn memory(&self) -> ModelMemory {
        ModelMemory(self.0.clone())
    }

    /// The table page allocator.
    pub fn allocator(&self) -> ModelAllocator {
        ModelAllocator(self.0.clone())
    }

    /// Whether the "CPU" has CMPXCHG16B.
    pub fn set_cx16(&self, present: bool) {
        self.0.borrow_mut().knobs.has_cx16 = present;
    }

    /// Makes a GSTS bit ignore GCMD from now on.
    pub fn stick_gsts(&self, bit: GstsBit) {
        self.0.borrow_mut().knobs.stuck_gsts |= bit.mask();
    }

    /// Hostile or broken hardware: the register at `offset` (GSTS,
    /// RTADDR, IQA, IQH, IQT or FSTS's sticky bits) reads `value` from now
    /// on, as if the unit had set it, with none of a write's effects.
    /// Returns false for any other offset.
    pub fn set_register(&self, offset: usize, value: u64) -> bool {
        self.0.borrow_mut().set_register(offset, value)
    }

    /// Wait descriptors stop writing their status word.
    pub fn never_complete_waits(&self) {
        self.0.borrow_mut().knobs.never_complete_waits = true;
    }

    /// Just before the next compare-exchange, something else stores `value`
    /// in the target entry.
    pub fn interfere_with_next_cmpxchg(&self, value: u128) {
        self.0.borrow_mut().knobs.interfere_next_cmpxchg = Some(value);
    }

    /// The next `count` IOTLB invalidations are refused (IAIG = 0 through
    /// the register, a queue error through the queue): nothing is
    /// invalidated, and the driver must see the error.
    pub fn reject_iotlb_invalidations(&self, count: u32) {
        self.reject_iotlb_invalidations_after(0, count);
    }

    /// [`Model::reject_iotlb_invalidations`], after `skip` more that work.
    pub fn reject_iotlb_invalidations_after(&self, skip: u32, count: u32) {
        let knobs = &mut self.0.borrow_mut().knobs;
        knobs.accept_iotlb_invalidations = skip;
        knobs.reject_iotlb_invalidations = count;
    }

    /// The allocator fails after `pages` more allocations.
    pub fn fail_alloc_after(&self, pages: u64) {
        self.0.borrow_mut().alloc.fail_after = Some(pages);
    }

    /// A DMA request from `rid` at `iova`: the physical address reached, or
    /// the fault (recorded in the fault register unless suppressed).
    pub fn dma(&self, rid: Rid, iova: u64, write: bool) -> Result<u64, FaultReason> {
        self.0.borrow_mut().dma(rid.sid(), iova, write)
    }

    /// A message (`address`, `data`) written to the MSI window by `rid`
    /// (`None`: a request without requester ID, as QEMU's DMA writes):
    /// where it was delivered, or why it was blocked (recorded as a fault).
    pub fn msi(&self, address: u32, data: u32, rid: Option<Rid>) -> Result<Delivered, FaultReason> {
        self.0.borrow_mut().msi(address, data, rid.map(Rid::sid))
    }

    /// The interrupt entry cache's copy of entry `index`, if cached.
    pub fn cached_irte(&self, index: u32) -> Option<crate::format::Irte> {
        self.0.borrow().ir.iec.get(&index).copied()
    }

    /// Interrupt requests delivered and blocked so far.
    pub fn interrupts(&self) -> (u64, u64) {
        let state = self.0.borrow();
        (state.ir.delivered, state.ir.blocked)
    }

    /// IEC invalidations run so far: (global, index-selective).
    pub fn iec_invalidations(&self) -> (u64, u64) {
        let state = self.0.borrow();
        (state.ir.iec_global, state.ir.iec_index)
    }

    /// Watches interrupt-remapping entry `index` from now on: every CPU
    /// store into it records the entry a message naming it would use
    /// (see [`Model::irte_states`]). Forgets what was recorded before.
    pub fn watch_irte(&self, index: u32) {
        self.0.borrow_mut().ir_watch.seen.insert(index, Vec::new());
    }

    /// What watched entry `index` was after each CPU store into it, in
    /// order: the entry as stored, then the IEC's copy when it differs;
    /// `None` where it was not present (a message would be blocked).
    pub fn irte_states(&self, index: u32) -> Vec<Option<crate::format::Irte>> {
        self.0
            .borrow()
            .ir_watch
            .seen
            .get(&index)
            .cloned()
            .unwrap_or_default()
    }

    /// Watches `rid` from now on; `rmrrs` are its (base, length) ranges.
    pub fn watch(&self, rid: Rid, rmrrs: &[(u64, u64)]) {
        self.0
            .borrow_mut()
            .observer
            .watched
            .insert(rid.sid(), rmrrs.to_vec());
    }

    /// Tells the observer that domain `did` uses tables rooted at `root`.
    pub fn register_domain(&self, did: u16, root: u64) {
        self.0.borrow_mut().observer.domains.insert(did, root);
    }

    /// The observer's counters.
    pub fn observer(&self) -> ObserverCounts {
        self.0.borrow().observer.counts
    }

    /// Zeroes the observer's counters.
    pub fn reset_observer(&self) {
        self.0.borrow_mut().observer.counts = ObserverCounts::default();
    }

    /// The model's counters.
    pub fn stats(&self) -> ModelStats {
        self.0.borrow().stats
    }

    /// Reads physical memory.
    pub fn read_phys(&self, addr: u64) -> u64 {
        self.0.borrow().mem.read_u64(addr)
    }

    /// Writes physical memory (as a device or the test would, unobserved).
    pub fn write_phys(&self, addr: u64, value: u64) {
        let mut state = self.0.borrow_mut();
        state.mem.write_u64(addr, value);
        if state.regs.root == Some(addr & !0xfff) {
            state.rebuild_context_pages();
        }
    }

    /// Table pages currently allocated.
    pub fn live_pages(&self) -> usize {
        self.0.borrow().alloc.live.len()
    }

    /// Pages freed twice (or never allocated).
    pub fn double_frees(&self) -> u64 {
        self.0.borrow().alloc.double_frees
    }

    /// The cached context entry of `rid`, if any.
    pub fn cached_context(&self, rid: Rid) -> Option<ContextEntry> {
        self.0.borrow().caches.context.get(&rid.sid()).copied()
    }

    /// The IOTLB entry `rid` would hit at `iova`, if any.
    pub fn iotlb_entry(&self, rid: Rid, iova: u64) -> Option<IotlbEntry> {
        self.0.borrow().caches.lookup(rid.sid(), iova)
    }
}

/// The register page of a [`Model`].
pub struct ModelRegisters(Rc<RefCell<State>>);

impl Registers for ModelRegisters {
    fn read32(&mut self, offset: usize) -> u32 {
        self.0.borrow_mut().read32(offset)
    }
    fn write32(&mut self, offset: usize, value: u32) {
        self.0.borrow_mut().write32(offset, value)
    }
    fn read64(&mut self, offset: usize) -> u64 {
        self.0.borrow_mut().read64(offset)
    }
    fn write64(&mut self, offset: usize, value: u64) {
        self.0.borrow_mut().write64(offset, value)
    }
}

/// The physical memory of a [`Model`], as the CPU sees it.
pub struct ModelMemory(Rc<RefCell<State>>);

impl TableMemory for ModelMemory {
    fn read_u64(&mut self, addr: u64) -> u64 {
        self.0.borrow().mem.read_u64(addr)
    }
    fn write_u64(&mut self, addr: u64, value: u64) {
        self.0.borrow_mut().cpu_store(addr, value)
    }
    fn cmpxchg16b(&mut self, addr: u64, old: u128, new: u128) -> Result<(), Cmpxchg16bError> {
        let mut state = self.0.borrow_mut();
        if !state.knobs.has_cx16 || !addr.is_multiple_of(16) {
            return Err(Cmpxchg16bError::Refused);
        }
        state
            .cpu_cmpxchg16b(addr, old, new)
            .map_err(Cmpxchg16bError::Changed)
    }
    fn has_cx16(&self) -> bool {
        self.0.borrow().knobs.has_cx16
    }
}

/// The table page allocator of a [`Model`].
pub struct ModelAllocator(Rc<RefCell<State>>);

impl PageAllocator for ModelAllocator {
    fn alloc_page(&mut self) -> Option<u64> {
        let mut state = self.0.borrow_mut();
        let state = &mut *state;
        state.alloc.alloc(&mut state.mem)
    }
    fn free_page(&mut self, phys: u64) {
        let mut state = self.0.borrow_mut();
        let state = &mut *state;
        state.alloc.free(&mut state.mem, phys)
    }
    fn owns(&self, phys: u64) -> bool {
        self.0.borrow().alloc.live.contains(&phys)
    }
}

/// A [`Delay`] that does not wait (the model answers synchronously).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoDelay;

impl Delay for NoDelay {
    fn pause(&mut self) {}
}

/// The unit type host tests build on a model.
pub type ModelUnit = crate::Unit<ModelRegisters, ModelMemory, ModelAllocator, NoDelay>;

impl Model {
    /// A [`crate::Unit`] on this model (not yet brought up).
    pub fn unit(&self, config: crate::Config) -> Result<ModelUnit, crate::Error> {
        crate::Unit::new(
            self.registers(),
            self.memory(),
            self.allocator(),
            NoDelay,
            config,
        )
    }
}
