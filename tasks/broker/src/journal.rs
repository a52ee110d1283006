//! The broker's persistent journal: what the open transaction did, as a
//! list of undo messages, in a region that survives the broker's restart.
//!
//! Layout: two header copies (A, B) then fixed-size entry slots. The log is
//! append-only: an entry is written into the next free slot, then the
//! *other* header copy is written with a higher sequence number, the new
//! count and a checksum over itself and every used slot. A write torn
//! anywhere leaves the older header valid (its checksum does not cover the
//! new slot), so loading picks the valid copy with the highest sequence:
//! the torn append simply never happened, and since an entry is journaled
//! before its message is sent, that message was never sent either.
//!
//! The header also keeps the number of the last death the broker handled
//! (`deaths_seen`, see `Broker::poll_deaths`), so a restarted broker neither
//! misses deaths nor handles old ones again.

use core::fmt;

use idl_types::{Bdf, Custody, MaxEncodedLen};
use serde::{Deserialize, Serialize};

use crate::undo::Undo;

/// Bytes at the start of a valid header ("CJNL").
const MAGIC: u32 = 0x434a_4e4c;
/// Bytes of one header copy: magic, length, body, checksum.
const HEADER_LEN: usize = 64;
/// The most body bytes a header holds.
const HEADER_BODY_MAX: usize = HEADER_LEN - 4 - 1 - 4;
/// Bytes of one entry slot: a length byte and the postcard body.
const SLOT_LEN: usize = 1 + JournalEntry::MAX_ENCODED_LEN;
/// Entry slots: three entries (intent, done, undone) for every step the
/// largest plan may hold, so a plan never runs out of journal.
pub const MAX_ENTRIES: usize = 3 * crate::plan::MAX_PLAN_STEPS;
/// Bytes the journal needs in its persistent region.
pub const JOURNAL_BYTES: usize = 2 * HEADER_LEN + MAX_ENTRIES * SLOT_LEN;

/// Byte storage that survives the broker's restart (a `persist` region).
pub trait JournalStore {
    /// The stored bytes (at least [`JOURNAL_BYTES`]).
    fn bytes(&self) -> &[u8];
    /// Writes `data` at `offset`. An error means nothing reliable was
    /// written.
    fn write(&mut self, offset: usize, data: &[u8]) -> Result<(), JournalError>;
}

impl JournalStore for &mut [u8] {
    fn bytes(&self) -> &[u8] {
        self
    }
    fn write(&mut self, offset: usize, data: &[u8]) -> Result<(), JournalError> {
        let end = offset
            .checked_add(data.len())
            .ok_or(JournalError::OutOfRange { offset })?;
        let dst = self
            .get_mut(offset..end)
            .ok_or(JournalError::OutOfRange { offset })?;
        dst.copy_from_slice(data);
        Ok(())
    }
}

/// Why the journal could not be read or written.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum JournalError {
    /// The region is smaller than [`JOURNAL_BYTES`].
    TooSmall {
        /// Its size.
        len: usize,
    },
    /// A write fell outside the region.
    OutOfRange {
        /// Where it started.
        offset: usize,
    },
    /// Every slot is used.
    Full,
    /// An entry or header did not encode (a size bound is wrong).
    Encode,
    /// The store refused the write (the broker is dead, in the simulator).
    StoreRefused,
}

impl fmt::Display for JournalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JournalError::TooSmall { len } => {
                write!(f, "journal region of {len} bytes, need {JOURNAL_BYTES}")
            }
            JournalError::OutOfRange { offset } => {
                write!(f, "journal write at {offset:#x} outside the region")
            }
            JournalError::Full => write!(f, "all {MAX_ENTRIES} journal slots are used"),
            JournalError::Encode => write!(f, "a journal record did not fit its slot"),
            JournalError::StoreRefused => write!(f, "the journal store refused the write"),
        }
    }
}

/// Where the journaled transaction stands.
#[derive(Serialize, Deserialize, Copy, Clone, Debug, PartialEq, Eq)]
pub enum TxState {
    /// No transaction.
    Idle,
    /// Forward steps are being taken.
    Running,
    /// A step failed; the undos are running.
    RollingBack,
    /// The books changed; the source's cleanup may still be pending.
    Committed,
}

/// The move a transaction makes.
#[derive(Serialize, Deserialize, Copy, Clone, Debug, PartialEq, Eq)]
pub struct TxRecord {
    /// The device.
    pub device: Bdf,
    /// Who held it before.
    pub source: Custody,
    /// Who gets it.
    pub target: Custody,
}

/// The phase of one forward step.
#[derive(Serialize, Deserialize, Copy, Clone, Debug, PartialEq, Eq)]
pub enum Phase {
    /// About to send: the step may or may not have happened.
    Intent,
    /// The step replied; its undo is exact.
    Done,
    /// The step's undo ran.
    Undone,
}

/// One journal record: the undo of step `step` in a phase.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct JournalEntry {
    /// Which forward step (0-based).
    pub step: u8,
    /// Its phase.
    pub phase: Phase,
    /// The message that undoes it.
    pub undo: Undo,
}

impl MaxEncodedLen for JournalEntry {
    const MAX_ENCODED_LEN: usize = 1 + 1 + Undo::MAX_ENCODED_LEN;
}

#[derive(Serialize, Deserialize, Copy, Clone, Debug, PartialEq, Eq)]
struct Header {
    seq: u32,
    state: TxState,
    count: u8,
    tx: Option<TxRecord>,
    /// Set once the first boot finished its initial assignments.
    booted: bool,
    /// The number of the last supervisor death record handled.
    deaths_seen: u32,
}

/// What opening the region found.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Opened {
    /// No valid header: a first boot (or a region wiped clean).
    Fresh,
    /// A valid journal.
    Existing,
}

/// The journal over a store.
pub struct Journal<S: JournalStore> {
    store: S,
    header: Header,
    /// Which copy (0 = A, 1 = B) holds `header`.
    current: usize,
}

/// Whether sequence number `a` was written after `b`: serial-number order
/// (RFC 1982), right across the wrap, since the two copies are always one
/// write apart.
fn is_after(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}

/// The valid header copy written last.
fn newest(bytes: &[u8]) -> Option<(usize, Header)> {
    let mut best: Option<(usize, Header)> = None;
    for copy in 0..2 {
        if let Some(h) = Journal::<&mut [u8]>::read_header(bytes, copy) {
            if best.is_none_or(|(_, b)| is_after(h.seq, b.seq)) {
                best = Some((copy, h));
            }
        }
    }
    best
}

fn checksum(parts: &[&[u8]]) -> u32 {
    // FNV-1a: cheap, and any torn byte changes it.
    let mut hash: u32 = 0x811c_9dc5;
    for part in parts {
        for byte in part.iter() {
            hash ^= u32::from(*byte);
            hash = hash.wrapping_mul(0x0100_0193);
        }
    }
    hash
}

impl<S: JournalStore> Journal<S> {
    /// Opens the journal in `store`, picking the newest valid header.
    pub fn open(store: S) -> Result<(Journal<S>, Opened), JournalError> {
        let len = store.bytes().len();
        if len < JOURNAL_BYTES {
            return Err(JournalError::TooSmall { len });
        }
        Ok(match newest(store.bytes()) {
            Some((current, header)) => (
                Journal {
                    store,
                    header,
                    current,
                },
                Opened::Existing,
            ),
            None => (
                Journal {
                    store,
                    header: Header {
                        seq: 0,
                        state: TxState::Idle,
                        count: 0,
                        tx: None,
                        booted: false,
                        deaths_seen: 0,
                    },
                    current: 1,
                },
                Opened::Fresh,
            ),
        })
    }

    /// The state a region's newest valid header records (what a broker
    /// starting on these bytes would find), for the simulator's checks.
    pub fn stored_state(bytes: &[u8]) -> Option<TxState> {
        newest(bytes).map(|(_, h)| h.state)
    }

    fn read_header(bytes: &[u8], copy: usize) -> Option<Header> {
        let raw = bytes.get(copy * HEADER_LEN..(copy + 1) * HEADER_LEN)?;
        let magic = u32::from_le_bytes(raw.get(0..4)?.try_into().ok()?);
        if magic != MAGIC {
            return None;
        }
        let body_len = usize::from(*raw.get(4)?);
        let body = raw.get(5..5 + body_len.min(HEADER_BODY_MAX))?;
        if body_len > HEADER_BODY_MAX {
            return None;
        }
        let stored = u32::from_le_bytes(raw.get(HEADER_LEN - 4..)?.try_into().ok()?);
        let header: Header = postcard::from_bytes(body).ok()?;
        let used =
            bytes.get(2 * HEADER_LEN..2 * HEADER_LEN + usize::from(header.count) * SLOT_LEN)?;
        (usize::from(header.count) <= MAX_ENTRIES && checksum(&[body, used]) == stored)
            .then_some(header)
    }

    fn write_header(&mut self, header: Header) -> Result<(), JournalError> {
        let mut raw = [0u8; HEADER_LEN];
        let body_len = {
            let body = raw
                .get_mut(5..5 + HEADER_BODY_MAX)
                .ok_or(JournalError::Encode)?;
            postcard::to_slice(&header, body)
                .map_err(|_| JournalError::Encode)?
                .len()
        };
        let used_end = 2 * HEADER_LEN + usize::from(header.count) * SLOT_LEN;
        let used = self
            .store
            .bytes()
            .get(2 * HEADER_LEN..used_end)
            .ok_or(JournalError::OutOfRange { offset: used_end })?;
        let body = raw.get(5..5 + body_len).ok_or(JournalError::Encode)?;
        let sum = checksum(&[body, used]);
        raw[0..4].copy_from_slice(&MAGIC.to_le_bytes());
        raw[4] = body_len as u8;
        raw[HEADER_LEN - 4..].copy_from_slice(&sum.to_le_bytes());
        let copy = 1 - self.current;
        self.store.write(copy * HEADER_LEN, &raw)?;
        self.current = copy;
        self.header = header;
        Ok(())
    }

    fn next_header(&self) -> Header {
        Header {
            seq: self.header.seq.wrapping_add(1),
            ..self.header
        }
    }

    /// Starts a transaction for `tx` (the journal must be idle).
    pub fn begin(&mut self, tx: TxRecord) -> Result<(), JournalError> {
        let header = Header {
            state: TxState::Running,
            count: 0,
            tx: Some(tx),
            ..self.next_header()
        };
        self.write_header(header)
    }

    /// Appends one entry, durably.
    pub fn append(&mut self, entry: &JournalEntry) -> Result<(), JournalError> {
        let index = usize::from(self.header.count);
        if index >= MAX_ENTRIES {
            return Err(JournalError::Full);
        }
        let mut slot = [0u8; SLOT_LEN];
        let len = {
            let body = slot.get_mut(1..).ok_or(JournalError::Encode)?;
            postcard::to_slice(entry, body)
                .map_err(|_| JournalError::Encode)?
                .len()
        };
        slot[0] = len as u8;
        self.store.write(2 * HEADER_LEN + index * SLOT_LEN, &slot)?;
        let header = Header {
            count: self.header.count + 1,
            ..self.next_header()
        };
        self.write_header(header)
    }

    /// Records the transaction's new state.
    pub fn set_state(&mut self, state: TxState) -> Result<(), JournalError> {
        let header = Header {
            state,
            ..self.next_header()
        };
        self.write_header(header)
    }

    /// Ends the transaction: no entries, idle.
    pub fn clear(&mut self) -> Result<(), JournalError> {
        let header = Header {
            state: TxState::Idle,
            count: 0,
            tx: None,
            ..self.next_header()
        };
        self.write_header(header)
    }

    /// Records that the first boot's initial assignments are done.
    pub fn mark_booted(&mut self) -> Result<(), JournalError> {
        let header = Header {
            booted: true,
            ..self.next_header()
        };
        self.write_header(header)
    }

    /// Whether the first boot finished.
    pub fn booted(&self) -> bool {
        self.header.booted
    }

    /// Records, durably, that every death up to number `seq` was handled.
    pub fn set_deaths_seen(&mut self, seq: u32) -> Result<(), JournalError> {
        let header = Header {
            deaths_seen: seq,
            ..self.next_header()
        };
        self.write_header(header)
    }

    /// The number of the last death handled (0: none, or a fresh region).
    pub fn deaths_seen(&self) -> u32 {
        self.header.deaths_seen
    }

    /// The transaction's state.
    pub fn state(&self) -> TxState {
        self.header.state
    }

    /// The open transaction, if any.
    pub fn tx(&self) -> Option<TxRecord> {
        self.header.tx
    }

    /// How many entries are stored.
    pub fn len(&self) -> usize {
        usize::from(self.header.count)
    }

    /// Whether no entries are stored.
    pub fn is_empty(&self) -> bool {
        self.header.count == 0
    }

    /// Entry `index`, or `None` if out of range or undecodable (which a
    /// valid checksum rules out).
    pub fn entry(&self, index: usize) -> Option<JournalEntry> {
        if index >= self.len() {
            return None;
        }
        let start = 2 * HEADER_LEN + index * SLOT_LEN;
        let slot = self.store.bytes().get(start..start + SLOT_LEN)?;
        let len = usize::from(*slot.first()?);
        postcard::from_bytes(slot.get(1..1 + len)?).ok()
    }

    /// The undos still owed, newest step first: for each step, its latest
    /// entry unless that is `Undone`. An `Intent` without `Done` is owed
    /// too: the step may have happened, and every undo is idempotent.
    pub fn owed(&self) -> heapless::Vec<(u8, Undo), MAX_ENTRIES> {
        let mut latest: heapless::Vec<JournalEntry, MAX_ENTRIES> = heapless::Vec::new();
        for index in 0..self.len() {
            let Some(entry) = self.entry(index) else {
                continue;
            };
            match latest.iter_mut().find(|e| e.step == entry.step) {
                Some(slot) => *slot = entry,
                None => {
                    let _ = latest.push(entry);
                }
            }
        }
        latest.sort_unstable_by_key(|e| core::cmp::Reverse(e.step));
        latest
            .into_iter()
            .filter(|e| e.phase != Phase::Undone)
            .map(|e| (e.step, e.undo))
            .collect()
    }

    /// The store (the simulator inspects it).
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Gives the store back.
    pub fn into_store(self) -> S {
        self.store
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use idl_types::{Bdf, DomainId};

    #[test]
    fn the_header_written_last_wins_across_the_sequence_numbers_wrap() {
        let mut bytes = std::vec![0u8; JOURNAL_BYTES];
        let (mut journal, _) = Journal::open(&mut bytes[..]).unwrap();
        journal.header.seq = u32::MAX - 2;
        let tx = TxRecord {
            device: Bdf {
                bus: 0,
                device: 1,
                function: 0,
            },
            source: Custody::Domain(DomainId(1)),
            target: Custody::Domain(DomainId(2)),
        };
        journal.begin(tx).unwrap();
        for state in [TxState::RollingBack, TxState::Committed, TxState::Running] {
            journal.set_state(state).unwrap();
            let seq = journal.header.seq;
            let bytes = journal.into_store();
            assert_eq!(
                Journal::<&mut [u8]>::stored_state(bytes),
                Some(state),
                "seq {seq}"
            );
            let (again, opened) = Journal::open(bytes).unwrap();
            assert_eq!(
                (opened, again.state(), again.tx()),
                (Opened::Existing, state, Some(tx))
            );
            journal = again;
        }
        assert!(journal.header.seq < 4, "the numbers wrapped");
    }
}
