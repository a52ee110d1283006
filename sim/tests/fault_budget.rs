//! The broker's fault budget on the simulated machine: the real broker,
//! iommu and domid servers over QEMU's VT-d model. A device that makes
//! DMA faults past the budget within the interval is quarantined by a real
//! transaction (the invariants hold after it), the broker says so with its
//! count, and its DMA then reaches only its scratch page.

use idl_types::{Bdf, BrokerEvent, Custody, DomainId, UnitId};
use sim::machine::{with_machine, Machine};
use sim::{fixtures, Platform};
use task_broker::{Knobs, DEFAULT_FAULT_BUDGET, FAULT_INTERVAL_MS};

const D1: DomainId = DomainId(1);
/// An IOVA no domain maps.
const STRAY: u64 = 0x7_0000_0000;

fn run(f: impl FnOnce(&mut Machine<'_, '_, '_>)) {
    let p = fixtures::load(fixtures::QEMU)
        .and_then(Platform::matrix)
        .expect("matrix platform");
    let violations = with_machine(&p, Knobs::default(), |m| {
        f(m);
        m.check("after the fault storm", None);
        m.out.violations.clone()
    })
    .expect("machine boots");
    assert!(violations.is_empty(), "{violations:#?}");
}

/// A device of domain 1 and its unit.
fn victim(m: &Machine<'_, '_, '_>) -> (Bdf, UnitId) {
    m.platform
        .devices
        .iter()
        .find(|d| m.custody(d.bdf) == Some(Custody::Domain(D1)))
        .map(|d| (d.bdf, d.unit))
        .expect("a device in domain 1")
}

/// `count` faults of `device`, `gap_ms` apart, each pulled by the broker
/// as the iommu's notification would make it; the time after the last.
fn storm(m: &mut Machine<'_, '_, '_>, (device, unit): (Bdf, UnitId), count: u32, gap_ms: u64) {
    let mut now = 0;
    for _ in 0..count {
        assert_eq!(m.hw.dma(unit, device, STRAY), None, "the stray DMA faults");
        m.broker().pull_dma_faults(now);
        now += gap_ms;
    }
}

fn fault_quarantines(m: &Machine<'_, '_, '_>) -> Vec<(Bdf, u32)> {
    m.broker_ref()
        .events()
        .iter()
        .filter_map(|e| match e.event {
            BrokerEvent::FaultQuarantined { device, faults } => Some((device, faults)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_device_past_its_fault_budget_is_quarantined_by_a_real_transaction() {
    run(|m| {
        let (device, unit) = victim(m);
        let committed = m.broker_ref().stats().committed;
        storm(m, (device, unit), DEFAULT_FAULT_BUDGET + 1, 10);
        assert_eq!(m.custody(device), Some(Custody::Quarantined));
        assert_eq!(m.broker_ref().stats().committed, committed + 1, "one move");
        assert_eq!(fault_quarantines(m), [(device, DEFAULT_FAULT_BUDGET + 1)]);
        // Its DMA now reaches its scratch page: no more faults.
        assert!(m.hw.dma(unit, device, STRAY).is_some());
        assert_eq!(m.broker().pull_dma_faults(1000).seen, 0);
    });
}

#[test]
fn faults_within_the_budget_per_interval_leave_the_device_where_it_is() {
    run(|m| {
        let v = victim(m);
        // The budget's worth in every interval, for five intervals.
        let gap = FAULT_INTERVAL_MS / u64::from(DEFAULT_FAULT_BUDGET) + 1;
        storm(m, v, DEFAULT_FAULT_BUDGET * 5, gap);
        assert_eq!(m.custody(v.0), Some(Custody::Domain(D1)));
        assert!(fault_quarantines(m).is_empty());
    });
}

#[test]
fn a_fault_storm_keeps_the_ownership_events_a_client_has_not_read() {
    run(|m| {
        let v = victim(m);
        let before: Vec<_> = m.broker_ref().events().iter().map(|e| e.seq).collect();
        assert!(!before.is_empty(), "the initial assignments are events");
        // Far more faults than the ring holds, each under the budget.
        storm(m, v, 200, FAULT_INTERVAL_MS);
        let after: Vec<_> = m.broker_ref().events().iter().map(|e| e.seq).collect();
        assert_eq!(before, after, "no ownership event was pushed out");
        assert_eq!(m.custody(v.0), Some(Custody::Domain(D1)));
    });
}
