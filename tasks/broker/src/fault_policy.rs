//! The fault budget: a device that makes more DMA faults within
//! [`FAULT_INTERVAL_MS`] than app.toml's `[broker] fault-budget` allows is
//! put in quarantine (a real move, through the same transaction as any
//! other), and the broker says so with `BrokerEvent::FaultQuarantined`.
//!
//! Why: a device in a loop of bad DMA costs the machine (the iommu drains,
//! the broker pulls, the event stream churns) for as long as its owner
//! lets it, and it is its owner that lets it. Quarantine stops the faults
//! (its DMA goes to its scratch page) without trusting the owner to stop.
//! The owner cannot take the device back by itself (no reclaim, unlike a
//! quarantine at its death): an operator assigns it again.
//!
//! Counting is per device in a fixed window that opens at the device's
//! first fault after a quiet spell; the table holds [`TRACKED_DEVICES`]
//! devices at once, and a new one takes the place of the one whose window
//! is oldest.

use heapless::Vec;
use idl_types::Bdf;

/// The window a device's faults are counted in (ms).
pub const FAULT_INTERVAL_MS: u64 = 1000;

/// Devices counted at once.
pub const TRACKED_DEVICES: usize = 16;

/// One device's window.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
struct Window {
    device: Bdf,
    opened_ms: u64,
    faults: u32,
}

/// The per-device fault counts and the budget they are held to.
#[derive(Clone, Debug)]
pub struct FaultPolicy {
    budget: u32,
    windows: Vec<Window, TRACKED_DEVICES>,
}

impl FaultPolicy {
    /// A policy allowing `budget` faults per device per interval.
    pub const fn new(budget: u32) -> FaultPolicy {
        FaultPolicy {
            budget,
            windows: Vec::new(),
        }
    }

    /// The budget.
    pub fn budget(&self) -> u32 {
        self.budget
    }

    /// Counts one fault of `device` at `now_ms`; `Some(faults)` when this
    /// one takes it past the budget within its window (the window then
    /// starts over, so a device is named once per excess).
    pub fn count(&mut self, device: Bdf, now_ms: u64) -> Option<u32> {
        let index = match self.windows.iter().position(|w| w.device == device) {
            Some(i) => i,
            None => self.make_room(device, now_ms),
        };
        let w = self.windows.get_mut(index)?;
        if now_ms.saturating_sub(w.opened_ms) >= FAULT_INTERVAL_MS {
            w.opened_ms = now_ms;
            w.faults = 0;
        }
        w.faults = w.faults.saturating_add(1);
        if w.faults > self.budget {
            let faults = w.faults;
            w.faults = 0;
            w.opened_ms = now_ms;
            return Some(faults);
        }
        None
    }

    /// Faults `device` made in its current window.
    pub fn faults(&self, device: Bdf) -> u32 {
        self.windows
            .iter()
            .find(|w| w.device == device)
            .map_or(0, |w| w.faults)
    }

    /// A fresh window for `device`, in a free slot or the oldest one's.
    fn make_room(&mut self, device: Bdf, now_ms: u64) -> usize {
        let fresh = Window {
            device,
            opened_ms: now_ms,
            faults: 0,
        };
        if self.windows.push(fresh).is_ok() {
            return self.windows.len() - 1;
        }
        let oldest = self
            .windows
            .iter()
            .enumerate()
            .min_by_key(|(_, w)| w.opened_ms)
            .map_or(0, |(i, _)| i);
        if let Some(w) = self.windows.get_mut(oldest) {
            *w = fresh;
        }
        oldest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev(device: u8) -> Bdf {
        Bdf {
            bus: 0,
            device,
            function: 0,
        }
    }

    #[test]
    fn a_device_past_the_budget_within_the_interval_is_named_once() {
        let mut p = FaultPolicy::new(3);
        for t in 0..3 {
            assert_eq!(p.count(dev(2), t * 100), None);
        }
        assert_eq!(p.count(dev(2), 300), Some(4));
        assert_eq!(p.count(dev(2), 310), None, "the window starts over");
    }

    #[test]
    fn faults_spread_over_intervals_stay_within_the_budget() {
        let mut p = FaultPolicy::new(3);
        for t in 0..20 {
            assert_eq!(p.count(dev(2), t * FAULT_INTERVAL_MS / 2), None);
        }
    }

    #[test]
    fn devices_are_counted_apart() {
        let mut p = FaultPolicy::new(2);
        for t in 0..2 {
            assert_eq!(p.count(dev(2), t), None);
            assert_eq!(p.count(dev(4), t), None);
        }
        assert_eq!(p.faults(dev(2)), 2);
        assert_eq!(p.count(dev(4), 5), Some(3));
        assert_eq!(p.faults(dev(2)), 2);
    }

    #[test]
    fn a_full_table_gives_the_oldest_window_to_a_new_device() {
        let mut p = FaultPolicy::new(1);
        for d in 0..TRACKED_DEVICES as u8 {
            p.count(dev(d), u64::from(d) + 10);
        }
        assert_eq!(p.count(dev(31), 100), None);
        assert_eq!(p.faults(dev(0)), 0, "the oldest made room");
        assert_eq!(p.faults(dev(31)), 1);
        assert_eq!(p.count(dev(31), 101), Some(2));
    }
}
