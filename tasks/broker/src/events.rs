//! The broker's event stream: a ring of numbered events that clients pull
//! after the last number they saw. Old events fall off the ring; a slow
//! client sees a gap in the numbers, never a stale event.

use heapless::Deque;
use idl_types::{BrokerEvent, SequencedEvent};

/// Events kept.
pub const EVENT_RING: usize = 32;

/// The ring.
#[derive(Clone, Debug, Default)]
pub struct EventRing {
    events: Deque<SequencedEvent, EVENT_RING>,
    next_seq: u32,
}

impl EventRing {
    /// An empty ring; the first event is number 1.
    pub fn new() -> EventRing {
        EventRing {
            events: Deque::new(),
            next_seq: 1,
        }
    }

    /// Adds an event, dropping the oldest if full; returns its number.
    pub fn push(&mut self, event: BrokerEvent) -> u32 {
        let seq = self.next_seq.max(1);
        self.next_seq = seq.wrapping_add(1).max(1);
        if self.events.is_full() {
            self.events.pop_front();
        }
        let _ = self.events.push_back(SequencedEvent { seq, event });
        seq
    }

    /// The first event numbered after `after`.
    pub fn after(&self, after: u32) -> Option<SequencedEvent> {
        self.events.iter().find(|e| e.seq > after).copied()
    }

    /// Every kept event, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &SequencedEvent> {
        self.events.iter()
    }
}
