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
    /// (page-selective when possible).
    pub fn unmap_and_flush(
        &mut self,
        table: &mut PageTable,
        did: u16,
        iova: u64,
        len: u64,
    ) -> Result<(Stats, RangeFlush), Error> {
        let stats = table.unmap(&mut self.mem, &mut self.alloc, iova, len)?;
        let flush = self.invalidate_iotlb_range(did, iova, len)?;
        Ok((stats, flush))
    }

    /// Frees a table tree no context entry uses any more.
    pub fn destroy_page_table(&mut self, table: PageTable) {
        table.destroy(&mut self.mem, &mut self.alloc);
    }
}
