//! The exhaustive fault matrix and the bounded random simulation, on the
//! real servers.

use sim::run::{load_fixtures, run_matrix_of, run_seed, Kind};
use sim::{fixtures, Platform};
use task_broker::Knobs;

fn matrix_platform() -> Platform {
    fixtures::load(fixtures::QEMU)
        .and_then(Platform::matrix)
        .expect("QEMU's matrix platform builds")
}

fn assert_clean(cells: usize, o: &sim::Outcome) {
    assert!(cells > 0 && o.faults > 0);
    assert!(
        o.violations.is_empty(),
        "{} violations, first: {:#?}",
        o.violations.len(),
        &o.violations[..o.violations.len().min(3)]
    );
}

#[test]
fn every_fixture_table_builds_a_platform_with_devices() {
    let f = load_fixtures(None);
    assert_eq!(f.skipped.len(), 0, "{:?}", f.skipped);
    assert_eq!(f.parsed.len(), 181);
}

#[test]
fn fault_matrix_of_pcie_endpoints_with_and_without_rmrr_and_phantoms_finds_no_violation() {
    let kinds = [Kind::Endpoint, Kind::EndpointWithRmrr, Kind::Phantom];
    let (cells, o) = run_matrix_of(&matrix_platform(), &kinds, Knobs::default());
    assert_clean(cells, &o);
}

#[test]
fn fault_matrix_of_legacy_devices_behind_a_pcie_to_pci_bridge_finds_no_violation() {
    let kinds = [
        Kind::Legacy,
        Kind::LegacyWithRmrr,
        Kind::SharedLegacy,
        Kind::SharedLegacyWithRmrr,
    ];
    let (cells, o) = run_matrix_of(&matrix_platform(), &kinds, Knobs::default());
    assert_clean(cells, &o);
}

/// 200 seeds spread over every fixture platform (seed i on platform
/// i mod 181), 12 requests each, a third with a fault.
#[test]
fn random_workload_of_200_seeds_over_every_fixture_platform_finds_no_violation() {
    let f = load_fixtures(None);
    let mut total = sim::Outcome::default();
    for seed in 0..200u64 {
        let (name, bytes) = &f.parsed[seed as usize % f.parsed.len()];
        total.absorb(run_seed(name, bytes, seed, 12, Knobs::default()));
    }
    assert_clean(200, &total);
}
