//! The journal survives a write torn anywhere: the newest valid header
//! copy wins, so a torn append simply never happened.

use idl_types::{Bdf, Custody, DomainId};
use task_broker::{
    Journal, JournalEntry, JournalError, JournalStore, Opened, Phase, TxRecord, TxState, Undo,
    JOURNAL_BYTES,
};

/// A region whose `tear`-th write stores only `keep` bytes.
struct Tearing {
    bytes: Vec<u8>,
    writes: usize,
    tear: Option<(usize, usize)>,
}

impl JournalStore for Tearing {
    fn bytes(&self) -> &[u8] {
        &self.bytes
    }
    fn write(&mut self, offset: usize, data: &[u8]) -> Result<(), JournalError> {
        let n = self.writes;
        self.writes += 1;
        let keep = match self.tear {
            Some((at, keep)) if at == n => keep.min(data.len().saturating_sub(1)),
            _ => data.len(),
        };
        self.bytes[offset..offset + keep].copy_from_slice(&data[..keep]);
        if keep < data.len() {
            Err(JournalError::StoreRefused)
        } else {
            Ok(())
        }
    }
}

fn record() -> TxRecord {
    TxRecord {
        device: Bdf {
            bus: 0,
            device: 2,
            function: 0,
        },
        source: Custody::Domain(DomainId(1)),
        target: Custody::Domain(DomainId(2)),
    }
}

#[test]
fn journal_torn_write_falls_back_to_previous_header() {
    // Writes: begin (1 header), append (slot, then header) = writes 1, 2.
    for tear in 0..3usize {
        for keep in [0, 1, 20, 63] {
            let store = Tearing {
                bytes: vec![0; JOURNAL_BYTES],
                writes: 0,
                tear: None,
            };
            let (mut j, opened) = Journal::open(store).unwrap();
            assert_eq!(opened, Opened::Fresh);
            j.mark_booted().unwrap();
            let mut store = j.into_store();
            store.writes = 0;
            store.tear = Some((tear, keep));
            let (mut j, _) = Journal::open(store).unwrap();
            let entry = JournalEntry {
                step: 0,
                phase: Phase::Intent,
                undo: Undo::Nothing,
            };
            let result = j.begin(record()).and_then(|_| j.append(&entry));
            assert!(result.is_err(), "tear {tear} keep {keep}");
            let (j, opened) = Journal::open(j.into_store()).unwrap();
            assert_eq!(opened, Opened::Existing, "the older header stays valid");
            assert!(j.booted());
            match tear {
                0 => assert_eq!((j.state(), j.tx()), (TxState::Idle, None)),
                _ => {
                    assert_eq!(j.tx(), Some(record()));
                    assert_eq!(j.len(), 0, "the torn append never happened");
                }
            }
        }
    }
}

fn fresh() -> Tearing {
    Tearing {
        bytes: vec![0; JOURNAL_BYTES],
        writes: 0,
        tear: None,
    }
}

#[test]
fn the_death_cursor_survives_a_reopen_and_transactions() {
    let (mut j, _) = Journal::open(fresh()).unwrap();
    assert_eq!(j.deaths_seen(), 0, "a fresh region has handled no death");
    j.set_deaths_seen(7).unwrap();
    j.begin(record()).unwrap();
    j.set_state(TxState::Committed).unwrap();
    j.clear().unwrap();
    let (j, opened) = Journal::open(j.into_store()).unwrap();
    assert_eq!(opened, Opened::Existing);
    assert_eq!(j.deaths_seen(), 7);
}

#[test]
fn a_torn_death_cursor_write_keeps_the_older_cursor() {
    for keep in [0, 1, 20, 63] {
        let (mut j, _) = Journal::open(fresh()).unwrap();
        j.set_deaths_seen(3).unwrap();
        let mut store = j.into_store();
        store.writes = 0;
        store.tear = Some((0, keep));
        let (mut j, _) = Journal::open(store).unwrap();
        assert!(j.set_deaths_seen(4).is_err());
        let (j, _) = Journal::open(j.into_store()).unwrap();
        assert_eq!(
            j.deaths_seen(),
            3,
            "keep {keep}: the death is handled again, never skipped"
        );
    }
}
