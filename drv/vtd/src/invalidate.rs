//! Context-cache and IOTLB invalidation, by registers or by the invalidation
//! queue, never both: the mode is fixed at bring-up, because QEMU ignores
//! CCMD/IOTLB writes once QIE is set and their busy bits never clear.
//!
//! Queued invalidations end with a wait descriptor that asks only for a
//! status write (SW), never SW+IF together (QEMU aborts on that), and the
//! status word is polled a bounded number of times.

use crate::error::{Error, WaitFor};
use crate::format::{CcGranularity, Ccmd, Descriptor, IotlbCmd, IotlbGranularity, Iva};
use crate::hw::{Delay, PageAllocator, Registers, TableMemory};
use crate::regs;
use crate::unit::Unit;

/// Descriptors in the queue (QS = 0: one 4 KiB page).
pub(crate) const QUEUE_ENTRIES: u64 = 256;
/// Bytes per descriptor.
pub(crate) const DESC_SIZE: u64 = 16;

/// The invalidation queue as the driver sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Queue {
    base: u64,
    /// Next free descriptor index.
    tail: u64,
    /// Physical address of the wait status word.
    status: u64,
    /// Last status value asked for.
    seq: u32,
}

impl Queue {
    pub(crate) fn new(base: u64, status: u64) -> Queue {
        Queue {
            base,
            tail: 0,
            status,
            seq: 0,
        }
    }

    /// The queue a previous life left: the next free slot is `tail` and
    /// the last wait asked for `seq` at `status`.
    pub(crate) fn resumed(base: u64, tail: u64, status: u64, seq: u32) -> Queue {
        Queue {
            base,
            tail,
            status,
            seq,
        }
    }
}

/// How invalidations are issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InvalidationMode {
    /// Before bring-up.
    Off,
    Registers,
    Queue(Queue),
}

/// Which IOTLB invalidation a range flush used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeFlush {
    /// Page-selective: `pages` pages from `addr` (a power of two, aligned).
    Pages { addr: u64, am: u8 },
    /// Domain-selective (CAP.PSI clear or the range exceeds CAP.MAMV).
    Domain,
}

impl<R: Registers, M: TableMemory, A: PageAllocator, D: Delay> Unit<R, M, A, D> {
    /// Invalidates every context-cache entry.
    pub fn invalidate_context_global(&mut self) -> Result<(), Error> {
        self.counters.context_invalidations.global += 1;
        self.invalidate_context(CcGranularity::Global, 0, 0, 0)
    }

    /// Invalidates the context-cache entries tagged with `did`.
    pub fn invalidate_context_domain(&mut self, did: u16) -> Result<(), Error> {
        self.counters.context_invalidations.domain += 1;
        self.invalidate_context(CcGranularity::Domain, did, 0, 0)
    }

    /// Invalidates the context-cache entry of `sid` (function mask `fm`),
    /// which was tagged with `did`.
    pub fn invalidate_context_device(&mut self, did: u16, sid: u16, fm: u8) -> Result<(), Error> {
        self.counters.context_invalidations.selective += 1;
        self.invalidate_context(CcGranularity::Device, did, sid, fm)
    }

    /// Invalidates the whole IOTLB.
    pub fn invalidate_iotlb_global(&mut self) -> Result<(), Error> {
        self.counters.iotlb_invalidations.global += 1;
        self.invalidate_iotlb(IotlbGranularity::Global, 0, 0, 0)
    }

    /// Invalidates the IOTLB entries tagged with `did`.
    pub fn invalidate_iotlb_domain(&mut self, did: u16) -> Result<(), Error> {
        self.counters.iotlb_invalidations.domain += 1;
        self.invalidate_iotlb(IotlbGranularity::Domain, did, 0, 0)
    }

    /// Invalidates the IOTLB entries of `did` covering `[iova, iova+len)`:
    /// page-selective when CAP.PSI allows one naturally aligned block of at
    /// most 2^MAMV pages to cover the range, else domain-selective.
    pub fn invalidate_iotlb_range(
        &mut self,
        did: u16,
        iova: u64,
        len: u64,
    ) -> Result<RangeFlush, Error> {
        match self.psi_block(iova, len) {
            Some((addr, am)) => {
                self.counters.iotlb_invalidations.selective += 1;
                self.invalidate_iotlb(IotlbGranularity::Page, did, addr, am)?;
                Ok(RangeFlush::Pages { addr, am })
            }
            None => {
                self.invalidate_iotlb_domain(did)?;
                Ok(RangeFlush::Domain)
            }
        }
    }

    /// The smallest aligned block `(addr, am)` of 2^am pages covering the
    /// range, if page-selective invalidation can express it.
    fn psi_block(&self, iova: u64, len: u64) -> Option<(u64, u8)> {
        if !self.cap.psi || len == 0 {
            return None;
        }
        let first = iova >> 12;
        let last = iova.checked_add(len - 1)? >> 12;
        let mut am = 0u8;
        while (first >> am) != (last >> am) {
            am += 1;
            // Beyond MAMV the unit cannot express it; beyond 51 the block
            // would exceed the address space (and the shift below).
            if am > self.cap.mamv || am > 51 {
                return None;
            }
        }
        Some(((first >> am) << (am as u32 + 12), am))
    }

    fn invalidate_context(
        &mut self,
        granularity: CcGranularity,
        did: u16,
        sid: u16,
        fm: u8,
    ) -> Result<(), Error> {
        match self.inval {
            InvalidationMode::Off => Err(Error::NotBroughtUp),
            InvalidationMode::Queue(_) => self.submit(Descriptor::ContextCache {
                granularity,
                did,
                sid,
                fm,
            }),
            InvalidationMode::Registers => {
                let cmd = Ccmd {
                    icc: true,
                    request: granularity,
                    actual: CcGranularity::None,
                    fm,
                    sid,
                    did,
                };
                self.write64(regs::CCMD, cmd.encode());
                let limit = self.config.poll_limit;
                for _ in 0..limit {
                    if !Ccmd::decode(self.read64(regs::CCMD)).icc {
                        return Ok(());
                    }
                    self.delay.pause();
                }
                Err(Error::Timeout {
                    what: WaitFor::ContextCommand,
                    polls: limit,
                })
            }
        }
    }

    fn invalidate_iotlb(
        &mut self,
        granularity: IotlbGranularity,
        did: u16,
        addr: u64,
        am: u8,
    ) -> Result<(), Error> {
        let drain_reads = self.cap.drd;
        let drain_writes = self.cap.dwd;
        match self.inval {
            InvalidationMode::Off => Err(Error::NotBroughtUp),
            InvalidationMode::Queue(_) => self.submit(Descriptor::Iotlb {
                granularity,
                drain_reads,
                drain_writes,
                did,
                addr,
                ih: false,
                am,
            }),
            InvalidationMode::Registers => {
                if granularity == IotlbGranularity::Page {
                    let iva = Iva {
                        addr,
                        ih: false,
                        am,
                    };
                    let offset = self.ecap.iva_offset();
                    self.write64(offset, iva.encode());
                }
                let cmd = IotlbCmd {
                    ivt: true,
                    request: granularity,
                    actual: IotlbGranularity::None,
                    dr: drain_reads,
                    dw: drain_writes,
                    did,
                };
                let offset = self.ecap.iotlb_offset();
                self.write64(offset, cmd.encode());
                let limit = self.config.poll_limit;
                for _ in 0..limit {
                    let now = IotlbCmd::decode(self.read64(offset));
                    if !now.ivt {
                        if now.actual == IotlbGranularity::None {
                            return Err(Error::IotlbInvalidationRejected { did });
                        }
                        return Ok(());
                    }
                    self.delay.pause();
                }
                Err(Error::Timeout {
                    what: WaitFor::IotlbCommand,
                    polls: limit,
                })
            }
        }
    }

    /// Queues `desc` and a status-write wait, rings IQT and waits for the
    /// status word.
    pub(crate) fn submit(&mut self, desc: Descriptor) -> Result<(), Error> {
        let InvalidationMode::Queue(mut queue) = self.inval else {
            return Err(Error::NotBroughtUp);
        };
        let head = self.read64(regs::IQH) >> regs::IQ_INDEX_SHIFT;
        let used = (queue.tail + QUEUE_ENTRIES - head % QUEUE_ENTRIES) % QUEUE_ENTRIES;
        // Two slots are needed and one must stay free (head == tail means empty).
        if used + 2 >= QUEUE_ENTRIES {
            return Err(Error::QueueFull {
                head: head << regs::IQ_INDEX_SHIFT,
                tail: queue.tail << regs::IQ_INDEX_SHIFT,
            });
        }
        queue.seq = queue.seq.wrapping_add(1);
        if queue.seq == 0 {
            queue.seq = 1;
        }
        let wait = Descriptor::Wait {
            interrupt: false,
            status_write: true,
            fence: false,
            status_data: queue.seq,
            status_addr: queue.status,
        };
        self.mem.write_u64(queue.status, 0);
        self.sync(queue.status, 8);
        for desc in [desc, wait] {
            let slot = queue.base + queue.tail * DESC_SIZE;
            let (lo, hi) = desc.encode();
            self.mem.write_u64(slot, lo);
            self.mem.write_u64(slot + 8, hi);
            self.sync(slot, DESC_SIZE);
            queue.tail = (queue.tail + 1) % QUEUE_ENTRIES;
        }
        self.counters.wait_descriptors += 1;
        self.inval = InvalidationMode::Queue(queue);
        self.write64(regs::IQT, queue.tail << regs::IQ_INDEX_SHIFT);

        let limit = self.config.poll_limit;
        for _ in 0..limit {
            if self.read32(regs::FSTS) & regs::FSTS_IQE != 0 {
                let head = self.read64(regs::IQH);
                self.write32(regs::FSTS, regs::FSTS_IQE);
                return Err(Error::QueueError { head });
            }
            if self.mem.read_u64(queue.status) as u32 == queue.seq {
                return Ok(());
            }
            self.delay.pause();
        }
        Err(Error::Timeout {
            what: WaitFor::QueueWait { data: queue.seq },
            polls: limit,
        })
    }

    /// The flushes after a context entry changed, by Xen's rules: a
    /// previously present entry flushes the context cache for the device and
    /// the IOTLB for the **previous** DID. A previously non-present entry
    /// needs no flush unless CAP.CM (then DID 0), only a write-buffer flush
    /// when CAP.RWBF.
    pub(crate) fn flush_after_context_change(
        &mut self,
        sid: u16,
        previous_did: Option<u16>,
    ) -> Result<(), Error> {
        match previous_did {
            Some(did) => {
                self.invalidate_context_device(did, sid, 0)?;
                self.invalidate_iotlb_domain(did)
            }
            None if self.cap.cm => {
                self.invalidate_context_device(0, sid, 0)?;
                self.invalidate_iotlb_domain(0)
            }
            None if self.cap.rwbf => self.flush_write_buffer(),
            None => Ok(()),
        }
    }
}
