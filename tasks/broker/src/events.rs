//! The broker's event stream: numbered events that clients pull after the
//! last number they saw. Old events fall off; a slow client sees a gap in
//! the numbers, never a stale event. Numbers wrap (skipping 0, which asks
//! for the oldest): "after" is serial-number order, right across the wrap.
//!
//! DMA faults are kept apart from ownership events (moves, deaths, failed
//! rollbacks, quarantines): a device in a loop of bad DMA makes faults far
//! faster than anything else happens, and if they shared one ring they
//! would push out the events an owner must not miss. Both kinds share the
//! numbers, so a client pulling `after` sees them interleaved in order.

use heapless::Deque;
use idl_types::{BrokerEvent, SequencedEvent};

/// Ownership events kept.
pub const EVENT_RING: usize = 32;

/// DMA fault events kept (the newest; a storm's count is in
/// `FaultQuarantined`, and the iommu logs a summary per source).
pub const FAULT_EVENTS: usize = 8;

/// The rings.
#[derive(Clone, Debug, Default)]
pub struct EventRing {
    events: Deque<SequencedEvent, EVENT_RING>,
    faults: Deque<SequencedEvent, FAULT_EVENTS>,
    next_seq: u32,
}

impl EventRing {
    /// Empty rings; the first event is number 1.
    pub fn new() -> EventRing {
        EventRing {
            events: Deque::new(),
            faults: Deque::new(),
            next_seq: 1,
        }
    }

    /// Adds an event, dropping the oldest of its kind if its ring is full;
    /// returns its number.
    pub fn push(&mut self, event: BrokerEvent) -> u32 {
        let seq = self.next_seq.max(1);
        self.next_seq = seq.wrapping_add(1).max(1);
        let e = SequencedEvent { seq, event };
        if matches!(event, BrokerEvent::DmaFault { .. }) {
            push_dropping_oldest(&mut self.faults, e);
        } else {
            push_dropping_oldest(&mut self.events, e);
        }
        seq
    }

    /// The first event numbered after `after` (0: the oldest kept), of
    /// either kind.
    pub fn after(&self, after: u32) -> Option<SequencedEvent> {
        let wanted = |e: &&SequencedEvent| after == 0 || serial_after(e.seq, after);
        let own = self.events.iter().find(wanted).copied();
        let fault = self.faults.iter().find(wanted).copied();
        match (own, fault) {
            (Some(a), Some(b)) => Some(if serial_after(a.seq, b.seq) { b } else { a }),
            (a, b) => a.or(b),
        }
    }

    /// Every kept ownership event, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &SequencedEvent> {
        self.events.iter()
    }

    /// Every kept DMA fault event, oldest first.
    pub fn faults(&self) -> impl Iterator<Item = &SequencedEvent> {
        self.faults.iter()
    }
}

/// Whether number `a` comes after `b` in serial-number order.
fn serial_after(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}

fn push_dropping_oldest<const N: usize>(ring: &mut Deque<SequencedEvent, N>, e: SequencedEvent) {
    if ring.is_full() {
        ring.pop_front();
    }
    let _ = ring.push_back(e);
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

    fn fault(n: u64) -> BrokerEvent {
        BrokerEvent::DmaFault {
            device: idl_types::Bdf {
                bus: 0,
                device: 2,
                function: 0,
            },
            address: n,
            reason: 0x5,
            direction: idl_types::DmaDirection::Write,
        }
    }

    #[test]
    fn a_fault_storm_does_not_evict_ownership_events() {
        let mut ring = EventRing::new();
        ring.push(event(7));
        for n in 0..1000 {
            ring.push(fault(n));
        }
        assert_eq!(ring.after(0).map(|e| e.event), Some(event(7)));
        assert_eq!(ring.faults().count(), FAULT_EVENTS);
        let newest = ring.faults().last().map(|e| e.event);
        assert_eq!(newest, Some(fault(999)), "the newest faults are kept");
    }

    #[test]
    fn ownership_and_fault_events_come_out_interleaved_in_number_order() {
        let mut ring = EventRing::new();
        ring.next_seq = u32::MAX - 2;
        let pushed = [event(1), fault(1), fault(2), event(2), fault(3), event(3)];
        for e in pushed {
            ring.push(e);
        }
        let mut seen = 0;
        let mut got = std::vec::Vec::new();
        while let Some(e) = ring.after(seen) {
            got.push(e.event);
            seen = e.seq;
        }
        assert_eq!(got, pushed, "across the numbers' wrap too");
    }

    #[test]
    fn a_full_ownership_ring_still_drops_its_own_oldest() {
        let mut ring = EventRing::new();
        for n in 0..(EVENT_RING as u16 + 2) {
            ring.push(event(n));
        }
        assert_eq!(ring.after(0).map(|e| e.event), Some(event(2)));
        assert_eq!(ring.iter().count(), EVENT_RING);
    }
}
