//! Tests that arm the broker's deliberate bugs (a feature only the
//! simulator's own tests enable): the simulator must catch each.

use task_broker::Knobs;

use crate::fixtures;
use crate::platform::Platform;
use crate::run::{run_matrix_of, Kind};

fn matrix_platform() -> Platform {
    fixtures::load(fixtures::QEMU)
        .and_then(Platform::matrix)
        .expect("QEMU's matrix platform builds")
}

#[test]
fn simulator_catches_a_missing_journal_write_before_a_step() {
    let knobs = Knobs {
        skip_intent: true,
        ..Knobs::default()
    };
    let (_, o) = run_matrix_of(&matrix_platform(), &[Kind::Endpoint], knobs);
    assert!(!o.violations.is_empty());
}

#[test]
fn simulator_catches_a_compensation_with_the_wrong_previous_entry() {
    let knobs = Knobs {
        wrong_previous: true,
        ..Knobs::default()
    };
    let (_, o) = run_matrix_of(&matrix_platform(), &[Kind::Endpoint], knobs);
    assert!(!o.violations.is_empty());
}

#[test]
fn simulator_catches_the_pre_xsa400_two_step_leaving_an_rmrr_untranslated() {
    let knobs = Knobs {
        two_step: true,
        ..Knobs::default()
    };
    let (_, o) = run_matrix_of(&matrix_platform(), &[Kind::EndpointWithRmrr], knobs);
    assert!(
        o.violations
            .iter()
            .any(|v| v.contains("disconnect windows for an RMRR device")),
        "{:#?}",
        o.violations.first()
    );
}
