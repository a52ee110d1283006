//! What the scenarios expect from the hardware, stated independently of the
//! driver so that QEMU can disagree: the store path Xen's fix prescribes for
//! a context replacement, and whether a drained fault record is the one a
//! blocked DMA should have left.

use vtd::{Fault, FaultReason, MapMode, Rid, StorePath};

/// Xen's store path for replacing an entry (`old_present`) on a CPU
/// with or without CX16, for a device with or without an RMRR.
pub fn store_path(cx16: bool, old_present: bool, mode: MapMode) -> StorePath {
    if cx16 {
        StorePath::Atomic
    } else if !old_present || !mode.contains(MapMode::WITH_RMRR) {
        StorePath::ClearedFirst
    } else {
        StorePath::BestEffort
    }
}

/// Whether Xen warns "may cause data corruption" for this change.
pub fn warns(path: StorePath, mode: MapMode) -> bool {
    path == StorePath::BestEffort && !mode.intersects(MapMode::OWNER_DYING | MapMode::SINGLE_DEVICE)
}

/// A fault record a scenario waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpectedFault {
    pub source: Rid,
    /// Page address of the blocked request.
    pub address: u64,
    pub write: bool,
    pub reason: FaultReason,
}

/// How a fault differs from the expected one (the first difference).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mismatch {
    Source,
    Address,
    Direction,
    Reason,
}

impl Mismatch {
    /// In words, for a `TEST ... FAIL` line.
    pub fn why(self) -> &'static str {
        match self {
            Mismatch::Source => "fault has the wrong source ID",
            Mismatch::Address => "fault has the wrong address",
            Mismatch::Direction => "fault has the wrong direction (read/write)",
            Mismatch::Reason => "fault has the wrong reason",
        }
    }
}

impl ExpectedFault {
    /// Compares a drained record with the expectation.
    pub fn check(&self, got: &Fault) -> Result<(), Mismatch> {
        if got.source != self.source {
            return Err(Mismatch::Source);
        }
        if got.address != self.address {
            return Err(Mismatch::Address);
        }
        if got.write != self.write {
            return Err(Mismatch::Direction);
        }
        if got.reason != self.reason {
            return Err(Mismatch::Reason);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cx16_always_takes_the_atomic_path() {
        for mode in [MapMode::NONE, MapMode::WITH_RMRR] {
            for present in [false, true] {
                assert_eq!(store_path(true, present, mode), StorePath::Atomic);
            }
        }
    }

    #[test]
    fn without_cx16_rmrr_device_with_present_entry_is_best_effort() {
        assert_eq!(
            store_path(false, true, MapMode::WITH_RMRR),
            StorePath::BestEffort
        );
        assert_eq!(
            store_path(false, false, MapMode::WITH_RMRR),
            StorePath::ClearedFirst
        );
        assert_eq!(
            store_path(false, true, MapMode::NONE),
            StorePath::ClearedFirst
        );
    }

    #[test]
    fn best_effort_warns_unless_owner_dying_or_device_alone() {
        assert!(warns(StorePath::BestEffort, MapMode::WITH_RMRR));
        assert!(!warns(
            StorePath::BestEffort,
            MapMode::WITH_RMRR | MapMode::OWNER_DYING
        ));
        assert!(!warns(
            StorePath::BestEffort,
            MapMode::WITH_RMRR | MapMode::SINGLE_DEVICE
        ));
        assert!(!warns(StorePath::ClearedFirst, MapMode::WITH_RMRR));
    }

    #[test]
    fn fault_check_names_the_first_difference() {
        let want = ExpectedFault {
            source: Rid::new(0, 2, 0),
            address: 0x20_0000,
            write: true,
            reason: FaultReason::NoWrite,
        };
        let mut got = Fault {
            source: Rid::new(0, 2, 0),
            address: 0x20_0000,
            write: true,
            reason: FaultReason::NoWrite,
        };
        assert_eq!(want.check(&got), Ok(()));
        got.reason = FaultReason::ContextNotPresent;
        assert_eq!(want.check(&got), Err(Mismatch::Reason));
        got.source = Rid::from_sid(0x0100);
        assert_eq!(want.check(&got), Err(Mismatch::Source));
    }
}
