//! The broker's event stream: a ring of numbered events that clients pull
//! after the last number they saw. Old events fall off the ring; a slow
//! client sees a gap in the numbers, never a stale event. Numbers wrap
//! (skipping 0, which asks for the oldest): "after" is serial-number order,
//! right across the wrap.

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

    /// The first event numbered after `after` (0: the oldest kept).
    pub fn after(&self, after: u32) -> Option<SequencedEvent> {
        self.events
            .iter()
            .find(|e| after == 0 || (e.seq.wrapping_sub(after) as i32) > 0)
            .copied()
    }

    /// Every kept event, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &SequencedEvent> {
        self.events.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use idl_types::{BrokerEvent, DomainId};

    fn event(n: u16) -> BrokerEvent {
        BrokerEvent::OwnerDied {
            domain: DomainId(n),
        }
    }

    #[test]
    fn a_client_follows_the_events_across_the_numbers_wrap() {
        let mut ring = EventRing::new();
        ring.next_seq = u32::MAX - 1;
        let mut seen = 0;
        for n in 0..5u16 {
            let seq = ring.push(event(n));
            assert_ne!(seq, 0, "0 asks for the oldest: never a number");
            let got = ring.after(seen).expect("the new event");
            assert_eq!(got.event, event(n));
            seen = got.seq;
            assert_eq!(ring.after(seen), None, "nothing after the newest");
        }
        assert_eq!(seen, 3, "u32::MAX - 1, u32::MAX, 1, 2, 3");
    }
}
