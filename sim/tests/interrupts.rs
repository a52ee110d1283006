//! A device's interrupts on the simulated machine: the real broker, iommu
//! and pci servers over QEMU's VT-d model with interrupt remapping on. The
//! broker programs every device's MSI once at start and moves its
//! interrupt-remapping entry as the last step of each move; the invariants
//! (checked after every request) hold that an entry delivers only its
//! custodian's vector, or nothing.

use idl_types::{Bdf, Custody, DomainId, UnitId};
use sim::machine::{vector_of, with_machine, Machine, Op, DOMAINS};
use sim::run::Kind;
use task_broker::Knobs;

mod common;
use common::{device_of, message_faults, other, platform};

fn vector(domain: DomainId) -> u8 {
    let i = DOMAINS
        .iter()
        .position(|(d, _)| *d == domain)
        .expect("a simulated domain");
    vector_of(i)
}

/// Where the device's entry sends its interrupts: `Some(vector)` or
/// blocked.
fn route(m: &Machine<'_, '_, '_>, device: Bdf, unit: UnitId) -> Option<u8> {
    let handle = m.interrupt_handle(device).expect("a broker device");
    let entry = m.hw.irte(unit, handle).expect("the unit remaps");
    entry.present().then(|| entry.vector())
}

#[test]
fn every_device_starts_with_its_interrupt_at_its_domains_vector() {
    let p = platform();
    let violations = with_machine(&p, Knobs::default(), |m| {
        for d in &m.platform.devices {
            let Some(Custody::Domain(domain)) = m.custody(d.bdf) else {
                panic!("{} starts unassigned", d.bdf);
            };
            assert_eq!(route(m, d.bdf, d.unit), Some(vector(domain)), "{}", d.bdf);
        }
        m.check("at start", None);
        m.out.violations.clone()
    })
    .expect("machine boots");
    assert!(violations.is_empty(), "{violations:#?}");
}

#[test]
fn a_move_points_the_interrupt_at_the_new_domain_and_quarantine_blocks_it() {
    let p = platform();
    let violations = with_machine(&p, Knobs::default(), |m| {
        for kind in [Kind::Endpoint, Kind::Legacy, Kind::Phantom] {
            let (device, unit) = device_of(m, kind);
            let other = other(m.custody(device));
            m.step(Op::Reassign(device, other), None);
            assert_eq!(route(m, device, unit), Some(vector(other)), "{kind:?}");
            m.step(Op::Quarantine(device), None);
            assert_eq!(route(m, device, unit), None, "{kind:?} quarantined");
            m.step(Op::Reassign(device, other), None);
            assert_eq!(route(m, device, unit), Some(vector(other)), "{kind:?} back");
            m.step(Op::Release(device), None);
            assert_eq!(route(m, device, unit), None, "{kind:?} released");
        }
        m.out.violations.clone()
    })
    .expect("machine boots");
    assert!(violations.is_empty(), "{violations:#?}");
}

#[test]
fn a_crash_at_any_message_of_a_move_never_delivers_to_the_other_domain() {
    let p = platform();
    for fault in message_faults(&["iommu", "broker", "pci", "domid"], 0..12) {
        let violations = with_machine(&p, Knobs::default(), |m| {
            let (device, unit) = device_of(m, Kind::Endpoint);
            let Some(Custody::Domain(from)) = m.custody(device) else {
                panic!("the endpoint starts assigned");
            };
            m.step(
                Op::Reassign(device, other(Some(Custody::Domain(from)))),
                Some(fault),
            );
            // Committed or rolled back: the interrupt is where the DMA is,
            // or blocked; never with the other domain.
            let custody = m.custody(device);
            let got = route(m, device, unit);
            let want = match custody {
                Some(Custody::Domain(d)) => Some(vector(d)),
                _ => None,
            };
            assert!(
                got.is_none() || got == want,
                "{fault:?}: {custody:?} but the interrupt goes to {got:?}"
            );
            m.out.violations.clone()
        })
        .expect("machine boots");
        assert!(violations.is_empty(), "{fault:?}: {violations:#?}");
    }
}
