//! Deaths reach the simulated broker the way they reach the firmware's: the
//! supervisor's death log (`task_supervisor::DeathLog`) records each, and
//! the broker library's `poll_deaths` handles it, with its cursor in the
//! journal so that a restarted broker neither repeats nor skips one.

use idl_types::{Bdf, Custody, DomainId, TaskIndex};
use sim::machine::{with_machine, Machine, Op};
use sim::transport::Fault;
use sim::{fixtures, Platform};
use task_broker::{Knobs, Peer};

const D1: DomainId = DomainId(1);

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

fn held_by(m: &Machine<'_, '_, '_>, domain: DomainId) -> Vec<Bdf> {
    m.platform
        .devices
        .iter()
        .map(|d| d.bdf)
        .filter(|d| m.custody(*d) == Some(Custody::Domain(domain)))
        .collect()
}

/// The broker dies at its first message of the next request.
fn broker_dies_at_first_message() -> Option<Fault> {
    Some(Fault::Message {
        task: "broker",
        message: 0,
        after: false,
    })
}

#[test]
fn a_restarted_broker_does_not_handle_an_old_owner_death_again() {
    run(|m| {
        let theirs = held_by(m, D1);
        assert!(!theirs.is_empty());
        m.step(Op::OwnerDied("dma-a"), None);
        m.step(Op::Reclaim("dma-a", theirs[0], D1), None);
        assert_eq!(m.custody(theirs[0]), Some(Custody::Domain(D1)));
        // A request the broker dies in; it restarts from its journal.
        m.step(Op::Reassign(theirs[0], D1), broker_dies_at_first_message());
        assert!(m.ctl.borrow().fired, "the broker died");
        assert_eq!(
            m.custody(theirs[0]),
            Some(Custody::Domain(D1)),
            "the reclaimed device stays: dma-a's old death is not handled again"
        );
    });
}

#[test]
fn a_broker_dying_while_handling_a_death_finishes_it_in_its_next_life() {
    run(|m| {
        let theirs = held_by(m, D1);
        assert!(!theirs.is_empty());
        m.step(Op::OwnerDied("dma-a"), broker_dies_at_first_message());
        assert!(m.ctl.borrow().fired, "the broker died");
        for d in &theirs {
            assert_eq!(m.custody(*d), Some(Custody::Quarantined), "{d}");
        }
    });
}

#[test]
fn a_killed_peer_reaches_the_broker_through_the_death_log() {
    run(|m| {
        let rebuilds = m.broker().stats().domid_rebuilds;
        m.step(Op::Restart("domid"), None);
        let record = m.servers.deaths.borrow().after(0).expect("domid's death");
        assert_eq!(record.task, m.task("domid"));
        assert_eq!(
            m.broker_ref().journal().deaths_seen(),
            record.seq,
            "handled and recorded as handled"
        );
        assert_eq!(
            m.broker().stats().domid_rebuilds,
            rebuilds + 1,
            "domid was recognised as the broker's peer and rebuilt"
        );
    });
}

#[test]
fn each_peer_task_is_recognised_by_its_index() {
    run(|m| {
        for (name, peer) in [
            ("iommu", Peer::Iommu),
            ("domid", Peer::Domid),
            ("pci", Peer::Pci),
            ("acpi", Peer::Acpi),
        ] {
            let task = m.task(name);
            assert_eq!(m.broker_ref().peer_of(task), Some(peer), "{name}");
        }
        for name in ["broker", "dma-a", "console"] {
            assert_eq!(m.broker_ref().peer_of(m.task(name)), None, "{name}");
        }
        assert_eq!(m.broker_ref().peer_of(TaskIndex(200)), None);
    });
}

#[test]
fn generation_of_follows_the_restarts_the_supervisor_logged() {
    run(|m| {
        let domid = m.task("domid");
        let before = m.servers.deaths.borrow().generation_of(domid);
        assert_eq!(before, Some(0));
        m.step(Op::Restart("domid"), None);
        m.step(Op::Restart("domid"), None);
        let id = m.system.task_id("domid").expect("domid");
        assert_eq!(
            m.servers.deaths.borrow().generation_of(domid),
            Some(id.generation().get())
        );
        let answered = m
            .broker()
            .peers()
            .supervisor
            .generation_of(domid)
            .expect("the supervisor answers");
        assert_eq!(answered, Some(id.generation().get()));
    });
}
