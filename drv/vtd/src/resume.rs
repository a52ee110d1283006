//! Taking over a unit that is already translating (the driver's task was
//! restarted): read what the unit runs, check it against the page
//! allocator's books, and set up the driver's state, writing no register.
//!
//! Two things a reader must know:
//! - Every address read from the unit (root table, queue page, wait status
//!   word) must be a page the allocator still counts as handed out
//!   ([`PageAllocator::owns`]); anything else is refused, never written to.
//! - The wait status word is found again from the queue itself: every batch
//!   the driver submits ends with a status-write wait, so the descriptor
//!   just before IQT names the status address and the last sequence number.
//!   No other record is kept, and a queue that does not end that way (not
//!   filled by this driver) is refused.

use crate::error::{ResumeError, WaitFor};
use crate::format::{Ccmd, Descriptor, GstsBit, IotlbCmd};
use crate::hw::{Delay, PageAllocator, Registers, TableMemory};
use crate::invalidate::{InvalidationMode, Queue, DESC_SIZE, QUEUE_ENTRIES};
use crate::regs;
use crate::unit::{InvalidationChoice, Unit};
use crate::Error;

/// What [`Unit::resume`] found running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resumed {
    /// The root table the unit translates with.
    pub root: u64,
    /// The invalidation queue, when the unit runs queued invalidation.
    pub queue: Option<ResumedQueue>,
    /// FSTS showed pending fault records or an overflow; they are left for
    /// [`Unit::drain_faults`] so no fault of the gap is lost.
    pub faults_pending: bool,
    /// The interrupt-remapping table, when the unit remaps interrupts.
    pub interrupts: Option<crate::interrupt::IrTable>,
}

/// The invalidation queue taken over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResumedQueue {
    /// Physical address of the queue page.
    pub base: u64,
    /// Physical address of the wait status word.
    pub status: u64,
    /// IQT (byte offset of the next free descriptor), where the driver
    /// continues.
    pub tail: u64,
    /// The status data of the last wait; the next wait asks for one more.
    pub seq: u32,
}

impl<R: Registers, M: TableMemory, A: PageAllocator, D: Delay> Unit<R, M, A, D> {
    /// Adopts a unit that is already translating with tables from this
    /// unit's allocator: its root table and, if it runs one, its
    /// invalidation queue and wait status word. Writes no register and
    /// allocates nothing; waits (bounded) for an invalidation a previous
    /// life left in flight to finish.
    ///
    /// The policy's invalidation choice must match what runs (`Auto`
    /// follows the unit): switching would need new pages or a queue
    /// disable, which is what bring-up is for.
    pub fn resume(&mut self) -> Result<Resumed, ResumeError> {
        if self.root_table.is_some() || self.inval != InvalidationMode::Off {
            return Err(ResumeError::AlreadyStarted);
        }
        let gsts = self.read32(regs::GSTS);
        if gsts & GstsBit::Te.mask() == 0 {
            return Err(ResumeError::TranslationOff { gsts });
        }
        let rtaddr = self.read64(regs::RTADDR);
        if rtaddr & regs::RTADDR_TTM_MASK != 0 {
            return Err(ResumeError::RootTableMode { rtaddr });
        }
        let root = rtaddr & regs::RTADDR_BASE_MASK;
        if !self.alloc.owns(root) {
            return Err(ResumeError::RootNotInPool { root });
        }

        let queue_running = gsts & GstsBit::Qies.mask() != 0;
        match (self.config.invalidation, queue_running) {
            (InvalidationChoice::Registers, true) => return Err(ResumeError::QueueRunning),
            (InvalidationChoice::Queue, false) => return Err(ResumeError::QueueNotRunning),
            _ => {}
        }
        let queue = if queue_running {
            Some(self.adopt_queue(root)?)
        } else {
            self.wait_register_invalidations()
                .map_err(ResumeError::Hardware)?;
            None
        };

        let interrupts = if gsts & GstsBit::Ires.mask() != 0 {
            let irta = self.read64(regs::IRTA);
            let table = crate::interrupt::IrTable::from_irta(irta)
                .ok_or(ResumeError::InterruptTableFormat { irta })?;
            if !self.alloc.owns(table.base) {
                return Err(ResumeError::InterruptTableNotInPool { base: table.base });
            }
            Some(table)
        } else {
            None
        };
        let fsts = self.read32(regs::FSTS);
        let faults_pending = fsts & (regs::FSTS_PPF | regs::FSTS_PFO) != 0;
        self.ir_table = interrupts;
        self.root_table = Some(root);
        self.inval = match queue {
            Some(q) => InvalidationMode::Queue(Queue::resumed(
                q.base,
                q.tail >> regs::IQ_INDEX_SHIFT,
                q.status,
                q.seq,
            )),
            None => InvalidationMode::Registers,
        };
        Ok(Resumed {
            root,
            queue,
            faults_pending,
            interrupts,
        })
    }

    /// Checks the running queue, waits until the unit has consumed it up to
    /// IQT, and recovers the status word from the last wait descriptor.
    fn adopt_queue(&mut self, root: u64) -> Result<ResumedQueue, ResumeError> {
        let iqa = self.read64(regs::IQA);
        if iqa & (regs::IQA_QS_MASK | regs::IQA_DW_AND_RESERVED) != 0 {
            return Err(ResumeError::QueueFormat { iqa });
        }
        let base = iqa & regs::IQA_BASE_MASK;
        if !self.alloc.owns(base) {
            return Err(ResumeError::QueueNotInPool { base });
        }
        let tail = self.read64(regs::IQT);
        let limit = self.config.poll_limit;
        let mut head = self.read64(regs::IQH);
        let queue_bytes = QUEUE_ENTRIES * DESC_SIZE;
        for pointer in [head, tail] {
            if pointer % DESC_SIZE != 0 || pointer >= queue_bytes {
                return Err(ResumeError::QueuePointers { head, tail });
            }
        }
        let mut polls = 0;
        while head != tail {
            if self.read32(regs::FSTS) & regs::FSTS_IQE != 0 {
                return Err(ResumeError::QueueHalted { head });
            }
            if polls == limit {
                return Err(ResumeError::QueueNotDrained { head, tail, polls });
            }
            polls += 1;
            self.delay.pause();
            head = self.read64(regs::IQH);
        }

        let offset = (tail + queue_bytes - DESC_SIZE) % queue_bytes;
        let lo = self.mem.read_u64(base + offset);
        let hi = self.mem.read_u64(base + offset + 8);
        let (status, seq) = match Descriptor::decode(lo, hi) {
            Descriptor::Wait {
                status_write: true,
                interrupt: false,
                status_addr,
                status_data,
                ..
            } => (status_addr, status_data),
            _ => {
                return Err(ResumeError::NoWaitBeforeTail {
                    offset,
                    kind: (lo & 0xf) as u8,
                })
            }
        };
        let page = status & !regs::PAGE_MASK;
        if status % 8 != 0 || page == base || page == root || !self.alloc.owns(page) {
            return Err(ResumeError::StatusMisplaced { status });
        }
        Ok(ResumedQueue {
            base,
            status,
            tail,
            seq,
        })
    }

    /// Waits for CCMD.ICC and IOTLB.IVT to clear: a register invalidation
    /// the previous life started may still be running.
    fn wait_register_invalidations(&mut self) -> Result<(), Error> {
        let limit = self.config.poll_limit;
        for (what, busy) in [
            (
                WaitFor::ContextCommand,
                Self::context_busy as fn(&mut Self) -> bool,
            ),
            (WaitFor::IotlbCommand, Self::iotlb_busy),
        ] {
            let mut polls = 0;
            while busy(self) {
                if polls == limit {
                    return Err(Error::Timeout { what, polls });
                }
                polls += 1;
                self.delay.pause();
            }
        }
        Ok(())
    }

    fn context_busy(&mut self) -> bool {
        Ccmd::decode(self.read64(regs::CCMD)).icc
    }

    fn iotlb_busy(&mut self) -> bool {
        let offset = self.ecap.iotlb_offset();
        IotlbCmd::decode(self.read64(offset)).ivt
    }
}
