//! The ledger kept in a byte region that outlives the task (a `persist`
//! region in the image), so a restarted server still knows whose tables
//! each root is.
//!
//! Two things a reader must know:
//! - The region holds two copies, each with a magic number, a sequence
//!   number and a checksum. A store writes the copy that is *not* the newest
//!   valid one, so a store torn by a crash leaves the previous ledger intact
//!   and loading picks the newest copy whose checksum holds.
//! - The encoding is this module's own fixed little-endian layout, not a
//!   memory image of [`Ledger`], so nothing is trusted that was not
//!   checked: a zeroed region (first boot) or a corrupt one loads as
//!   [`Ledger::EMPTY`].

use core::fmt;

use idl_types::{Bdf, Did, DomainId, UnitId};

use crate::ledger::{
    DomainRecord, Ledger, LedgerStore, QuarantineRecord, MAX_DOMAINS, MAX_QUARANTINED, MAX_UNITS,
};

/// "CIOL" at the start of a valid copy.
const MAGIC: u32 = 0x4349_4f4c;
/// Magic, sequence number.
const HEADER_LEN: usize = 8;
/// Present flag, domain, one root per unit.
const DOMAIN_LEN: usize = 1 + 2 + 8 * MAX_UNITS;
/// Present flag, unit, bus/device/function, DID, root, scratch page.
const QUARANTINE_LEN: usize = 1 + 1 + 3 + 2 + 8 + 8;
const BODY_LEN: usize = MAX_DOMAINS * DOMAIN_LEN + MAX_QUARANTINED * QUARANTINE_LEN;
const CHECKSUM_LEN: usize = 4;
/// Bytes of one copy.
const COPY_LEN: usize = HEADER_LEN + BODY_LEN + CHECKSUM_LEN;
/// Bytes the region must have.
pub const LEDGER_REGION_BYTES: usize = 2 * COPY_LEN;

/// The region is too small for two copies.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct RegionTooSmall {
    /// Its size.
    pub len: usize,
}

impl fmt::Display for RegionTooSmall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ledger region of {} bytes, need {LEDGER_REGION_BYTES}",
            self.len
        )
    }
}

/// A [`LedgerStore`] over a region that survives the task's restarts.
pub struct RegionLedger<'a> {
    bytes: &'a mut [u8],
    /// Sequence number of the newest valid copy (0: none yet).
    seq: u32,
    /// Which copy the next store writes.
    next: usize,
}

impl<'a> RegionLedger<'a> {
    /// A store over `bytes` (at least [`LEDGER_REGION_BYTES`]); finds the
    /// newest valid copy, if any.
    pub fn new(bytes: &'a mut [u8]) -> Result<Self, RegionTooSmall> {
        if bytes.len() < LEDGER_REGION_BYTES {
            return Err(RegionTooSmall { len: bytes.len() });
        }
        let mut store = RegionLedger {
            bytes,
            seq: 0,
            next: 0,
        };
        if let Some((copy, seq, _)) = store.newest() {
            store.seq = seq;
            store.next = 1 - copy;
        }
        Ok(store)
    }

    /// Whether a ledger from an earlier life was found.
    pub fn found(&self) -> bool {
        self.seq != 0
    }

    fn copy(&self, index: usize) -> &[u8] {
        let start = index * COPY_LEN;
        self.bytes.get(start..start + COPY_LEN).unwrap_or(&[])
    }

    /// The valid copy written last: (index, seq, ledger). Sequence numbers
    /// wrap (0 is skipped), so "later" is serial-number order: the two
    /// copies are one write apart, never half the number space.
    fn newest(&self) -> Option<(usize, u32, Ledger)> {
        let mut best: Option<(usize, u32, Ledger)> = None;
        for i in 0..2 {
            if let Some((seq, ledger)) = decode(self.copy(i)) {
                if best.as_ref().is_none_or(|&(_, b, _)| is_after(seq, b)) {
                    best = Some((i, seq, ledger));
                }
            }
        }
        best
    }
}

impl LedgerStore for RegionLedger<'_> {
    fn load(&mut self) -> Ledger {
        self.newest().map_or(Ledger::EMPTY, |(_, _, l)| l)
    }

    fn store(&mut self, ledger: &Ledger) {
        let seq = self.seq.wrapping_add(1).max(1);
        let start = self.next * COPY_LEN;
        if let Some(dst) = self.bytes.get_mut(start..start + COPY_LEN) {
            encode(ledger, seq, dst);
            self.seq = seq;
            self.next = 1 - self.next;
        }
    }
}

/// Whether sequence number `a` was written after `b` (RFC 1982 serial
/// numbers: correct across the wrap as long as they are less than half the
/// space apart).
fn is_after(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}

/// FNV-1a: cheap, and any torn write changes it.
fn checksum(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5u32, |h, &b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// Appends bytes at a cursor (the copy's length is fixed, so the cursor
/// never runs past it).
struct Writer<'b> {
    out: &'b mut [u8],
    at: usize,
}

impl Writer<'_> {
    fn put(&mut self, data: &[u8]) {
        if let Some(dst) = self.out.get_mut(self.at..self.at + data.len()) {
            dst.copy_from_slice(data);
        }
        self.at += data.len();
    }
}

/// Reads fields at a cursor; `None` past the end.
struct Reader<'b> {
    data: &'b [u8],
    at: usize,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let bytes = self.data.get(self.at..self.at + N)?;
        self.at += N;
        bytes.try_into().ok()
    }
    fn u8(&mut self) -> Option<u8> {
        self.take::<1>().map(|[b]| b)
    }
    fn u16(&mut self) -> Option<u16> {
        self.take().map(u16::from_le_bytes)
    }
    fn u32(&mut self) -> Option<u32> {
        self.take().map(u32::from_le_bytes)
    }
    fn u64(&mut self) -> Option<u64> {
        self.take().map(u64::from_le_bytes)
    }
    /// A present flag: 0 or 1, anything else is corruption.
    fn flag(&mut self) -> Option<bool> {
        match self.u8()? {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }
}

fn encode(ledger: &Ledger, seq: u32, out: &mut [u8]) {
    out.fill(0);
    let mut w = Writer { out, at: 0 };
    w.put(&MAGIC.to_le_bytes());
    w.put(&seq.to_le_bytes());
    for slot in ledger.domains.iter() {
        let start = w.at;
        if let Some(d) = slot {
            w.put(&[1]);
            w.put(&d.domain.0.to_le_bytes());
            for root in d.roots {
                w.put(&root.to_le_bytes());
            }
        }
        w.at = start + DOMAIN_LEN;
    }
    for slot in ledger.quarantines.iter() {
        let start = w.at;
        if let Some(q) = slot {
            w.put(&[
                1,
                q.unit.0,
                q.device.bus,
                q.device.device,
                q.device.function,
            ]);
            w.put(&q.did.0.to_le_bytes());
            w.put(&q.root.to_le_bytes());
            w.put(&q.scratch.to_le_bytes());
        }
        w.at = start + QUARANTINE_LEN;
    }
    let end = w.at;
    let sum = checksum(w.out.get(..end).unwrap_or(&[]));
    w.put(&sum.to_le_bytes());
}

fn decode(copy: &[u8]) -> Option<(u32, Ledger)> {
    let body_end = HEADER_LEN + BODY_LEN;
    let mut r = Reader { data: copy, at: 0 };
    if r.u32()? != MAGIC {
        return None;
    }
    let seq = r.u32()?;
    let stored = u32::from_le_bytes(
        copy.get(body_end..body_end + CHECKSUM_LEN)?
            .try_into()
            .ok()?,
    );
    if seq == 0 || stored != checksum(copy.get(..body_end)?) {
        return None;
    }
    let mut ledger = Ledger::EMPTY;
    for slot in ledger.domains.iter_mut() {
        let start = r.at;
        if r.flag()? {
            let domain = DomainId(r.u16()?);
            let mut roots = [0u64; MAX_UNITS];
            for root in roots.iter_mut() {
                *root = r.u64()?;
            }
            *slot = Some(DomainRecord { domain, roots });
        }
        r.at = start + DOMAIN_LEN;
    }
    for slot in ledger.quarantines.iter_mut() {
        let start = r.at;
        if r.flag()? {
            let unit = UnitId(r.u8()?);
            let device = Bdf {
                bus: r.u8()?,
                device: r.u8()?,
                function: r.u8()?,
            };
            let did = Did(r.u16()?);
            let root = r.u64()?;
            let scratch = r.u64()?;
            *slot = Some(QuarantineRecord {
                unit,
                device,
                did,
                root,
                scratch,
            });
        }
        r.at = start + QUARANTINE_LEN;
    }
    Some((seq, ledger))
}

#[cfg(test)]
mod tests {

    #[test]
    fn the_copy_written_last_wins_across_the_sequence_numbers_wrap() {
        let mut bytes = std::vec![0u8; LEDGER_REGION_BYTES];
        let mut store = RegionLedger::new(&mut bytes).unwrap();
        store.seq = u32::MAX - 1;
        let mut ledger = Ledger::EMPTY;
        for round in 0..4u8 {
            ledger.domains[0] = Some(crate::ledger::DomainRecord {
                domain: idl_types::DomainId(u16::from(round)),
                roots: [0; crate::ledger::MAX_UNITS],
            });
            store.store(&ledger);
            assert_eq!(store.load(), ledger, "round {round} (seq {})", store.seq);
        }
        assert_eq!(store.seq, 3, "u32::MAX, then 1 (0 is skipped), 2, 3");
    }
    extern crate std;
    use std::vec;

    use super::*;

    /// Roots on the first units, none on the others.
    fn roots(first: &[u64]) -> [u64; MAX_UNITS] {
        let mut r = [0; MAX_UNITS];
        r[..first.len()].copy_from_slice(first);
        r
    }

    fn sample() -> Ledger {
        let mut l = Ledger::EMPTY;
        l.domains[0] = Some(DomainRecord {
            domain: DomainId(1),
            roots: roots(&[0x1000]),
        });
        l.domains[5] = Some(DomainRecord {
            domain: DomainId(7),
            roots: roots(&[0x2000, 0x3000]),
        });
        l.quarantines[2] = Some(QuarantineRecord {
            unit: UnitId(0),
            device: Bdf {
                bus: 1,
                device: 1,
                function: 0,
            },
            did: Did(60),
            root: 0x4000,
            scratch: 0x5000,
        });
        l
    }

    #[test]
    fn a_zeroed_region_loads_as_the_empty_ledger() {
        let mut bytes = vec![0u8; LEDGER_REGION_BYTES];
        let mut store = RegionLedger::new(&mut bytes).unwrap();
        assert!(!store.found());
        assert_eq!(store.load(), Ledger::EMPTY);
    }

    #[test]
    fn a_stored_ledger_is_found_by_the_next_life() {
        let mut bytes = vec![0u8; LEDGER_REGION_BYTES];
        RegionLedger::new(&mut bytes).unwrap().store(&sample());
        let mut again = RegionLedger::new(&mut bytes).unwrap();
        assert!(again.found());
        assert_eq!(again.load(), sample());
    }

    #[test]
    fn the_newest_of_several_stores_wins() {
        let mut bytes = vec![0u8; LEDGER_REGION_BYTES];
        let mut store = RegionLedger::new(&mut bytes).unwrap();
        store.store(&Ledger::EMPTY);
        store.store(&sample());
        let mut newer = sample();
        newer.domains[0] = None;
        store.store(&newer);
        assert_eq!(RegionLedger::new(&mut bytes).unwrap().load(), newer);
    }

    #[test]
    fn a_torn_store_leaves_the_previous_ledger() {
        let mut bytes = vec![0u8; LEDGER_REGION_BYTES];
        let mut store = RegionLedger::new(&mut bytes).unwrap();
        store.store(&sample());
        let mut newer = sample();
        newer.domains[5] = None;
        store.store(&newer);
        // The second store went to copy 1; tear it in the middle.
        bytes[COPY_LEN + HEADER_LEN + 40] ^= 0xff;
        assert_eq!(RegionLedger::new(&mut bytes).unwrap().load(), sample());
    }

    #[test]
    fn a_store_after_a_restart_does_not_overwrite_the_newest_copy() {
        let mut bytes = vec![0u8; LEDGER_REGION_BYTES];
        let mut first = RegionLedger::new(&mut bytes).unwrap();
        first.store(&Ledger::EMPTY);
        first.store(&sample());
        let mut second = RegionLedger::new(&mut bytes).unwrap();
        let mut newer = sample();
        newer.quarantines[2] = None;
        second.store(&newer);
        // Tearing the copy just written falls back to `sample`, which the
        // restarted store must not have overwritten.
        let torn = second.next;
        let _ = second;
        bytes[(1 - torn) * COPY_LEN + HEADER_LEN + 3] ^= 0x55;
        assert_eq!(RegionLedger::new(&mut bytes).unwrap().load(), sample());
    }

    #[test]
    fn a_copy_with_a_bad_present_flag_is_refused() {
        let mut bytes = vec![0u8; LEDGER_REGION_BYTES];
        RegionLedger::new(&mut bytes).unwrap().store(&sample());
        bytes[HEADER_LEN] = 2;
        let end = HEADER_LEN + BODY_LEN;
        let sum = checksum(&bytes[..end]);
        bytes[end..end + 4].copy_from_slice(&sum.to_le_bytes());
        assert_eq!(RegionLedger::new(&mut bytes).unwrap().load(), Ledger::EMPTY);
    }

    #[test]
    fn a_region_too_small_for_two_copies_is_refused() {
        let mut bytes = vec![0u8; LEDGER_REGION_BYTES - 1];
        assert_eq!(
            RegionLedger::new(&mut bytes).err(),
            Some(RegionTooSmall {
                len: LEDGER_REGION_BYTES - 1
            })
        );
    }
}
