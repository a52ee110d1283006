//! Telling pci who owns each device (the broker's `sync_pci_owners`, run
//! by the firmware after every request): only what changed is sent, and a
//! restarted pci, which starts knowing no owner, hears everything again.

use idl_types::{Bdf, Custody, DomainId};
use sim::machine::{with_machine, Machine, Op};
use sim::{fixtures, Platform};
use task_broker::Knobs;

const ENDPOINT: Bdf = Bdf {
    bus: 0,
    device: 1,
    function: 0,
};
const OP_SET_OWNER: u32 = task_pci::pci::Op::SetOwner as u32;

fn run(f: impl FnOnce(&mut Machine<'_, '_, '_>)) {
    let p = fixtures::load(fixtures::QEMU)
        .and_then(Platform::matrix)
        .expect("matrix platform");
    let violations = with_machine(&p, Knobs::default(), |m| {
        f(m);
        m.out.violations.clone()
    })
    .expect("machine boots");
    assert!(violations.is_empty(), "{violations:#?}");
}

/// The set_owner messages pci received since the trace was last cleared.
fn owner_updates(m: &Machine<'_, '_, '_>) -> usize {
    m.ctl
        .borrow()
        .trace
        .iter()
        .filter(|s| s.task == "pci" && s.op == OP_SET_OWNER)
        .count()
}

fn sync(m: &mut Machine<'_, '_, '_>) -> usize {
    m.ctl.borrow_mut().trace.clear();
    assert_eq!(m.broker().sync_pci_owners(), 0, "pci refused nothing");
    owner_updates(m)
}

#[test]
fn after_a_reassignment_pci_hears_only_the_moved_devices_owner() {
    run(|m| {
        let devices = m.broker_ref().books().devices().len();
        assert_eq!(sync(m), devices, "the first sync names every device");
        let target = match m.custody(ENDPOINT) {
            Some(Custody::Domain(DomainId(1))) => DomainId(2),
            _ => DomainId(1),
        };
        m.step(Op::Reassign(ENDPOINT, target), None);
        assert_eq!(m.last, Some(Ok(())));
        assert_eq!(sync(m), 1, "one device moved, one update");
        assert_eq!(sync(m), 0, "nothing changed, nothing sent");
    });
}

#[test]
fn a_restarted_pci_hears_every_owner_again() {
    run(|m| {
        let devices = m.broker_ref().books().devices().len();
        sync(m);
        m.step(Op::Restart("pci"), None);
        // Every device once, plus the first call's retry: it met pci's
        // old generation.
        assert_eq!(sync(m), devices + 1);
        assert_eq!(sync(m), 0, "pci knows every owner again");
    });
}
