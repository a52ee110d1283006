//! Which task addresses the kernel may touch on a task's behalf.
//!
//! Every pointer a task hands to a syscall (a message, a reply buffer, a
//! lease) is checked here against the task's own map before the kernel copies
//! a byte: the range must lie inside one region with the needed permission.
//! The answer is the physical address, which the kernel reaches through its
//! identity map.

/// Access a syscall needs.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Access {
    /// The kernel reads the task's bytes.
    Read,
    /// The kernel writes the task's bytes.
    Write,
}

/// One contiguous piece of a task's address space.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub struct Span {
    /// First virtual address.
    pub vaddr: u64,
    /// Physical address of `vaddr`.
    pub paddr: u64,
    /// Bytes.
    pub size: u64,
    /// Whether the task may write it (and so may the kernel on its behalf).
    pub writable: bool,
    /// Whether the kernel may copy through it at all (MMIO is excluded).
    pub copyable: bool,
}

/// The most spans one task has (segments, stack, granted regions).
pub const MAX_SPANS: usize = 24;

/// A task's map, as the kernel keeps it.
#[derive(Copy, Clone, Debug)]
pub struct SpanTable {
    spans: [Span; MAX_SPANS],
    len: usize,
}

/// Why a span could not be added.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TableFull;

impl SpanTable {
    /// An empty map.
    pub const fn new() -> Self {
        SpanTable {
            spans: [Span {
                vaddr: 0,
                paddr: 0,
                size: 0,
                writable: false,
                copyable: false,
            }; MAX_SPANS],
            len: 0,
        }
    }

    /// Adds a span.
    pub fn push(&mut self, span: Span) -> Result<(), TableFull> {
        let slot = self.spans.get_mut(self.len).ok_or(TableFull)?;
        *slot = span;
        self.len += 1;
        Ok(())
    }

    /// The spans.
    pub fn spans(&self) -> &[Span] {
        &self.spans[..self.len]
    }

    /// The physical address of `[vaddr, vaddr + len)` if it lies inside one
    /// span that allows `access`. A zero-length range is always allowed and
    /// maps to nothing (`Some(0)`).
    pub fn translate(&self, vaddr: u64, len: u64, access: Access) -> Option<u64> {
        if len == 0 {
            return Some(0);
        }
        // A hot path (every IPC): one subtraction and two compares a span.
        for s in &self.spans[..self.len] {
            let offset = vaddr.wrapping_sub(s.vaddr);
            if offset < s.size && len <= s.size - offset {
                let allowed = s.copyable && (access == Access::Read || s.writable);
                return allowed.then_some(s.paddr + offset);
            }
        }
        None
    }
}

impl Default for SpanTable {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> SpanTable {
        let mut t = SpanTable::new();
        t.push(Span {
            vaddr: 0x1000,
            paddr: 0x10_0000,
            size: 0x2000,
            writable: false,
            copyable: true,
        })
        .unwrap();
        t.push(Span {
            vaddr: 0x8000,
            paddr: 0x20_0000,
            size: 0x1000,
            writable: true,
            copyable: true,
        })
        .unwrap();
        t.push(Span {
            vaddr: 0x9000,
            paddr: 0xfea0_0000,
            size: 0x1000,
            writable: true,
            copyable: false,
        })
        .unwrap();
        t
    }

    #[test]
    fn range_inside_one_span_translates_to_its_physical_address() {
        assert_eq!(
            table().translate(0x1800, 0x10, Access::Read),
            Some(0x10_0800)
        );
    }

    #[test]
    fn range_crossing_a_span_end_is_refused() {
        assert_eq!(table().translate(0x2ff0, 0x20, Access::Read), None);
    }

    #[test]
    fn write_to_read_only_span_is_refused() {
        assert_eq!(table().translate(0x1000, 4, Access::Write), None);
        assert_eq!(table().translate(0x8000, 4, Access::Write), Some(0x20_0000));
    }

    #[test]
    fn mmio_is_never_copied_through() {
        assert_eq!(table().translate(0x9000, 4, Access::Read), None);
    }

    #[test]
    fn address_overflow_is_refused_not_wrapped() {
        assert_eq!(table().translate(u64::MAX - 1, 8, Access::Read), None);
    }

    #[test]
    fn unmapped_address_is_refused() {
        assert_eq!(
            table().translate(0xffff_8000_0000_0000, 1, Access::Read),
            None
        );
    }

    #[test]
    fn table_refuses_more_than_its_capacity() {
        let mut t = SpanTable::new();
        for _ in 0..MAX_SPANS {
            t.push(Span::default()).unwrap();
        }
        assert_eq!(t.push(Span::default()), Err(TableFull));
    }
}
