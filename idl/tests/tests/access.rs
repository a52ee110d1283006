//! `callers = [...]`: listed tasks get through, others get AccessDenied
//! and the server never sees their message.

mod common;

use common::kitchen::Kitchen;
use common::TASKS;
use idl_runtime::{ClientError, InProcess};
use idl_tests::{domid, kitchen};
use idl_types::*;

#[test]
fn a_caller_not_listed_is_denied_and_the_operation_does_not_run() {
    let mut server = kitchen::Endpoint(Kitchen::default());
    {
        let system = InProcess::new(TASKS);
        let id = system.register("kitchen", &mut server).unwrap();
        let mut console = kitchen::Client::new(system.client("console").unwrap(), id);
        assert_eq!(console.nothing(), Err(ClientError::AccessDenied));
    }
    assert_eq!(server.0.nothings, 0);
}

#[test]
fn every_listed_caller_is_let_through_including_quoted_names() {
    let mut server = kitchen::Endpoint(Kitchen::default());
    {
        let system = InProcess::new(TASKS);
        let id = system.register("kitchen", &mut server).unwrap();
        for name in ["alice", "bob-2"] {
            let mut c = kitchen::Client::new(system.client(name).unwrap(), id);
            assert_eq!(c.nothing(), Ok(()));
        }
    }
    assert_eq!(server.0.nothings, 2);
}

#[test]
fn an_operation_without_a_callers_list_is_open_to_every_task() {
    let mut server = domid::Endpoint(common::fakes::Domid::default());
    let system = InProcess::new(TASKS);
    let id = system.register("domid", &mut server).unwrap();
    let mut console = domid::Client::new(system.client("console").unwrap(), id);
    assert_eq!(console.lookup(UnitId(0), DomainId(1)), Ok(None));
    assert_eq!(
        console.acquire(UnitId(0), DomainId(1), Bdf::from_requester_id(0x10)),
        Err(ClientError::AccessDenied),
        "acquire is for the broker only"
    );
}
