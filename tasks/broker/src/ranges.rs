//! RMRR ranges in whole 4 KiB pages, and what is left of one once the
//! ranges other devices need are taken out. Two devices' RMRRs may be
//! equal, disjoint or overlap in part: a domain maps each page once, and
//! keeps it while any of its devices needs it.

use heapless::Vec;
use idl_types::{MemRange, PageRange};

/// Pieces one range can leave (each cover splits at most one piece in two;
/// more pieces than this are reported as [`TooManyPieces`]).
pub const MAX_PIECES: usize = 2 * idl_types::MAX_RMRRS_PER_DEVICE;

/// Page size.
const PAGE_SHIFT: u32 = 12;

/// The pieces did not fit [`MAX_PIECES`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TooManyPieces;

/// The 4 KiB pages covering an inclusive byte range.
pub fn pages_of(range: &MemRange) -> PageRange {
    let (first, last) = page_numbers(range);
    to_pages(first, last)
}

/// First and last page number of an inclusive byte range.
fn page_numbers(range: &MemRange) -> (u64, u64) {
    (
        range.base >> PAGE_SHIFT,
        range.end.max(range.base) >> PAGE_SHIFT,
    )
}

fn to_pages(first: u64, last: u64) -> PageRange {
    PageRange {
        iova: first << PAGE_SHIFT,
        pages: u32::try_from(last - first + 1).unwrap_or(u32::MAX),
    }
}

/// The pages of `range` that none of `covers` contains, as pieces in
/// ascending order.
pub fn uncovered<'a>(
    range: &MemRange,
    covers: impl Iterator<Item = &'a MemRange>,
) -> Result<Vec<PageRange, MAX_PIECES>, TooManyPieces> {
    let mut pieces: Vec<(u64, u64), MAX_PIECES> = Vec::new();
    let _ = pieces.push(page_numbers(range));
    for cover in covers {
        let (c0, c1) = page_numbers(cover);
        let mut next: Vec<(u64, u64), MAX_PIECES> = Vec::new();
        for &(p0, p1) in pieces.iter() {
            if c1 < p0 || c0 > p1 {
                next.push((p0, p1)).map_err(|_| TooManyPieces)?;
                continue;
            }
            if c0 > p0 {
                next.push((p0, c0 - 1)).map_err(|_| TooManyPieces)?;
            }
            if c1 < p1 {
                next.push((c1 + 1, p1)).map_err(|_| TooManyPieces)?;
            }
        }
        pieces = next;
    }
    Ok(pieces.iter().map(|&(a, b)| to_pages(a, b)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(base: u64, end: u64) -> MemRange {
        MemRange { base, end }
    }

    fn p(iova: u64, pages: u32) -> PageRange {
        PageRange { iova, pages }
    }

    #[test]
    fn a_range_is_left_whole_equal_or_disjoint_covers_aside() {
        let range = r(0x1000, 0x3fff);
        assert_eq!(uncovered(&range, [].iter()).unwrap(), [p(0x1000, 3)]);
        assert_eq!(uncovered(&range, [r(0x1000, 0x3fff)].iter()).unwrap(), []);
        assert_eq!(
            uncovered(&range, [r(0x8000, 0x8fff)].iter()).unwrap(),
            [p(0x1000, 3)]
        );
    }

    #[test]
    fn a_partial_overlap_is_shared_for_the_overlap_only() {
        let range = r(0x1000, 0x4fff);
        // Overlapping the start, the end, and the middle.
        assert_eq!(
            uncovered(&range, [r(0x0, 0x1fff)].iter()).unwrap(),
            [p(0x2000, 3)]
        );
        assert_eq!(
            uncovered(&range, [r(0x4000, 0x9fff)].iter()).unwrap(),
            [p(0x1000, 3)]
        );
        assert_eq!(
            uncovered(&range, [r(0x2000, 0x2fff)].iter()).unwrap(),
            [p(0x1000, 1), p(0x3000, 2)]
        );
        // Bytes count by page: a cover ending mid-page takes that page.
        assert_eq!(
            uncovered(&range, [r(0x1800, 0x1801)].iter()).unwrap(),
            [p(0x2000, 3)]
        );
    }

    #[test]
    fn too_many_pieces_are_an_error_not_a_silent_loss() {
        let range = r(0, 0xfff_ffff);
        let covers: std::vec::Vec<MemRange> = (0..=MAX_PIECES as u64)
            .map(|i| r(0x10_0000 * (i + 1), 0x10_0000 * (i + 1) + 0xfff))
            .collect();
        assert_eq!(uncovered(&range, covers.iter()), Err(TooManyPieces));
    }
}
