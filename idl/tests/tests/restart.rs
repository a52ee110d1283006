//! A server restart seen from the client: the dead code is turned into the
//! new generation, idempotent operations are retried once, the others
//! report the death.

mod common;

use common::fakes;
use common::TASKS;
use idl_runtime::abi::Generation;
use idl_runtime::{ClientError, InProcess, InjectedFault};
use idl_tests::domid;
use idl_types::*;

const UNIT: UnitId = UnitId(0);
const DOM: DomainId = DomainId(3);
const DEV: Bdf = Bdf {
    bus: 0,
    device: 2,
    function: 0,
};

#[test]
fn idempotent_call_after_a_restart_is_retried_and_succeeds() {
    let mut server = domid::Endpoint(fakes::Domid::default());
    let system = InProcess::new(TASKS);
    let id = system.register("domid", &mut server).unwrap();
    let mut client = domid::Client::new(system.client("broker").unwrap(), id);
    let did = client.acquire(UNIT, DOM, DEV).unwrap().did;

    let restarted = system.restart("domid", None).unwrap();
    assert_ne!(restarted, client.server());
    assert_eq!(client.lookup(UNIT, DOM), Ok(Some(did)));
    assert_eq!(
        client.server(),
        restarted,
        "client adopted the new generation"
    );
}

#[test]
fn non_idempotent_call_after_a_restart_reports_the_death_with_the_new_generation() {
    let mut server = domid::Endpoint(fakes::Domid::default());
    let system = InProcess::new(TASKS);
    let id = system.register("domid", &mut server).unwrap();
    let mut client = domid::Client::new(system.client("broker").unwrap(), id);

    let restarted = system.restart("domid", None).unwrap();
    assert_eq!(
        client.acquire(UNIT, DOM, DEV),
        Err(ClientError::ServerDied {
            new_generation: Generation::new(1)
        })
    );
    assert_eq!(client.server(), restarted);
    // Nothing was done, and the next call reaches the restarted server.
    assert_eq!(client.lookup(UNIT, DOM), Ok(None));
    assert!(client.acquire(UNIT, DOM, DEV).is_ok());
}

#[test]
fn death_after_handling_reports_died_although_the_work_was_done() {
    let mut server = domid::Endpoint(fakes::Domid::default());
    let system = InProcess::new(TASKS);
    let id = system.register("domid", &mut server).unwrap();
    let mut client = domid::Client::new(system.client("broker").unwrap(), id);

    system
        .inject("domid", InjectedFault::AfterHandling)
        .unwrap();
    assert!(matches!(
        client.acquire(UNIT, DOM, DEV),
        Err(ClientError::ServerDied { .. })
    ));
    // The caller must find out what happened: here, the acquire did happen.
    assert!(client.lookup(UNIT, DOM).unwrap().is_some());
}

#[test]
fn idempotent_call_whose_retry_also_dies_reports_server_restarted() {
    let mut server = domid::Endpoint(fakes::Domid::default());
    let system = InProcess::new(TASKS);
    let id = system.register("domid", &mut server).unwrap();
    let mut client = domid::Client::new(system.client("broker").unwrap(), id);

    system.restart("domid", None).unwrap();
    system
        .inject("domid", InjectedFault::BeforeDelivery)
        .unwrap();
    assert_eq!(
        client.lookup(UNIT, DOM),
        Err(ClientError::ServerRestarted {
            new_generation: Generation::new(2)
        })
    );
    assert_eq!(client.lookup(UNIT, DOM), Ok(None), "third time reaches it");
}

#[test]
fn a_restart_with_a_fresh_server_loses_the_old_state() {
    let mut server = domid::Endpoint(fakes::Domid::default());
    let mut fresh = domid::Endpoint(fakes::Domid::default());
    let system = InProcess::new(TASKS);
    let id = system.register("domid", &mut server).unwrap();
    let mut client = domid::Client::new(system.client("broker").unwrap(), id);
    let did = client.acquire(UNIT, DOM, DEV).unwrap().did;

    system.restart("domid", Some(&mut fresh)).unwrap();
    assert_eq!(client.lookup(UNIT, DOM), Ok(None), "books are gone");
    // The recovery path: the broker rebuilds domid from what it knows.
    let record = RebuildRecord {
        unit: UNIT,
        rid: DEV,
        did,
        owner: RebuildOwner::Domain(DOM),
        device: DEV,
    };
    assert_eq!(client.rebuild(&record.encode().unwrap()), Ok(1));
    assert_eq!(client.lookup(UNIT, DOM), Ok(Some(did)));
}
