//! Host-only deterministic simulation of custody: the broker library with
//! stand-in peers over the in-process transport, a fault injector that
//! kills any task before or after any message, and invariants checked after
//! every event. Seeded and reproducible.

#[allow(missing_docs, clippy::all, dead_code)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/idl.rs"));
}

pub mod peers;
pub mod platform;
pub mod world;

pub use world::{cli, run_matrix, run_random, Outcome};

#[cfg(test)]
mod tests {
    use super::platform::Platform;
    use super::world::*;
    use task_broker::Knobs;

    #[test]
    fn fault_matrix_of_every_device_kind_finds_no_violation() {
        let (cells, o) = run_matrix(&Platform::standard(), Knobs::default());
        assert!(cells > 0);
        assert!(
            o.violations.is_empty(),
            "{:#?}",
            &o.violations[..o.violations.len().min(5)]
        );
    }

    #[test]
    fn random_workload_of_200_seeds_finds_no_violation() {
        let o = run_random(&Platform::standard(), 1, 200, 12, Knobs::default());
        assert!(o.faults > 0);
        assert!(
            o.violations.is_empty(),
            "{:#?}",
            &o.violations[..o.violations.len().min(3)]
        );
    }

    #[test]
    fn simulator_catches_a_missing_journal_write_before_a_step() {
        let knobs = Knobs {
            skip_intent: true,
            ..Knobs::default()
        };
        let (_, o) = run_matrix(&Platform::standard(), knobs);
        assert!(!o.violations.is_empty());
    }

    #[test]
    fn simulator_catches_a_compensation_with_the_wrong_previous_entry() {
        let knobs = Knobs {
            wrong_previous: true,
            ..Knobs::default()
        };
        let (_, o) = run_matrix(&Platform::standard(), knobs);
        assert!(!o.violations.is_empty());
    }
}
