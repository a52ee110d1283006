//! Unit-level wrappers that pair a page-table change with the IOTLB flush it
//! needs: an unmap is not finished until the unit forgot the old
//! translations of the domain's DID.

use crate::error::Error;
use crate::hw::{Delay, PageAllocator, Registers, TableMemory};
use crate::invalidate::RangeFlush;
use crate::pagetable::{PageTable, Perm, Stats};
use crate::unit::Unit;

impl<R: Registers, M: TableMemory, A: PageAllocator, D: Delay> Unit<R, M, A, D> {
    /// New empty tables with this unit's depth and large-page support.
    pub fn new_page_table(&mut self) -> Result<PageTable, Error> {
        PageTable::new(&mut self.alloc, self.levels, self.cap.sp_2m)
    }

    /// Maps a range in `table`. A new mapping replaces no translation, so no
    /// IOTLB flush is needed (CAP.CM would cache non-present entries: then
    /// the range is flushed too).
    pub fn map(
        &mut self,
        table: &mut PageTable,
        did: u16,
        iova: u64,
        phys: u64,
        len: u64,
        perm: Perm,
    ) -> Result<Stats, Error> {
        let stats = table.map(&mut self.mem, &mut self.alloc, iova, phys, len, perm)?;
        if self.cap.cm {
            self.invalidate_iotlb_range(did, iova, len)?;
        } else if self.cap.rwbf {
            self.flush_write_buffer()?;
        }
        Ok(stats)
    }

    /// Unmaps a range from `table` and flushes the IOTLB of `did` for it
    /// (page-selective when possible). Table pages the unmap emptied are
    /// freed only after the flush succeeded; if it fails they wait, the
    /// flush is owed, and the error is returned. Owed flushes are retried
    /// first ([`Unit::settle_flushes`]): while one fails, nothing is
    /// unmapped.
    pub fn unmap_and_flush(
        &mut self,
        table: &mut PageTable,
        did: u16,
        iova: u64,
        len: u64,
    ) -> Result<(Stats, RangeFlush), Error> {
        self.settle_flushes()?;
        let Unit { mem, deferred, .. } = self;
        let stats = table.unmap_detached(mem, iova, len, &mut |page| deferred.detach(page))?;
        match self.invalidate_iotlb_range(did, iova, len) {
            Ok(flush) => {
                let Unit {
                    alloc, deferred, ..
                } = self;
                deferred.take_pages(|page| alloc.free_page(page));
                Ok((stats, flush))
            }
            Err(e) => {
                self.deferred.owe(did);
                Err(e)
            }
        }
    }

    /// Retries every IOTLB flush a failed unmap owes (domain-selective for
    /// each DID, global if too many were owed), then frees the table pages
    /// waiting for them. An error leaves the rest owed.
    pub fn settle_flushes(&mut self) -> Result<(), Error> {
        if self.deferred.owe_all {
            self.invalidate_iotlb_global()?;
            self.deferred.owe_all = false;
            while !self.deferred.owed().is_empty() {
                self.deferred.settled_first();
            }
        }
        while let Some(&did) = self.deferred.owed().first() {
            self.invalidate_iotlb_domain(did)?;
            self.deferred.settled_first();
        }
        let Unit {
            alloc, deferred, ..
        } = self;
        deferred.take_pages(|page| alloc.free_page(page));
        Ok(())
    }

    /// Whether no flush is owed and no detached table waits for one.
    pub fn flushes_settled(&self) -> bool {
        self.deferred.is_settled() && self.deferred.pages_waiting() == 0
    }

    /// Frees a table tree no context entry uses any more.
    pub fn destroy_page_table(&mut self, table: PageTable) {
        table.destroy(&mut self.mem, &mut self.alloc);
    }
}
