//! Wire compatibility is explicit: each operation's encoding is part of the
//! interface's tag, so a client and a server built from different encodings
//! of an interface refuse each other's messages as unknown operations,
//! rather than one misreading the other's bytes.
//!
//! `Compat` v1 and v2 differ in one operation (`place` takes a 3-byte
//! `Bdf` in v1, a `DomainId` and a `bool` in v2: the same 8-byte message,
//! so without the tag v2 would read a device as a domain).

mod common;

use common::TASKS;
use idl_runtime::abi::{ReplyFaultReason, TaskId};
use idl_runtime::{ClientError, InProcess, SendError};
use idl_tests::v1::compat as v1;
use idl_tests::v2::compat as v2;
use idl_types::{Bdf, DomainId};

struct One;

impl v1::Server for One {
    fn ping(&mut self, _: TaskId, args: v1::PingArgs) -> u32 {
        args.value + 1
    }
    fn place(&mut self, _: TaskId, args: v1::PlaceArgs) -> bool {
        args.device.function == 1
    }
}

struct Two;

impl v2::Server for Two {
    fn ping(&mut self, _: TaskId, args: v2::PingArgs) -> u32 {
        args.value + 2
    }
    fn place(&mut self, _: TaskId, args: v2::PlaceArgs) -> bool {
        args.strict && args.domain == DomainId(0x0201)
    }
}

const DEVICE: Bdf = Bdf {
    bus: 1,
    device: 2,
    function: 1,
};

fn refused<T: core::fmt::Debug>(result: Result<T, ClientError<idl_types::NoError>>) {
    assert_eq!(
        result.err(),
        Some(ClientError::Transport(SendError::Faulted(
            ReplyFaultReason::UndefinedOperation
        ))),
        "the server must refuse the message as an operation it does not have"
    );
}

#[test]
fn a_client_and_a_server_built_from_different_encodings_refuse_each_other() {
    assert_ne!(v1::INTERFACE_ID, v2::INTERFACE_ID);

    let mut old_server = v1::Endpoint(One);
    let mut new_server = v2::Endpoint(Two);
    let system = InProcess::new(TASKS);
    let old = system.register("domid", &mut old_server).unwrap();
    let new = system.register("iommu", &mut new_server).unwrap();

    // Each version talks to itself.
    let mut c1 = v1::Client::new(system.client("alice").unwrap(), old);
    assert_eq!(c1.ping(1), Ok(2));
    assert_eq!(c1.place(DEVICE), Ok(true));
    let mut c2 = v2::Client::new(system.client("alice").unwrap(), new);
    assert_eq!(c2.ping(1), Ok(3));
    assert_eq!(c2.place(DomainId(0x0201), true), Ok(true));

    // Across versions every operation is refused, the unchanged one too:
    // the tag covers the whole interface.
    let mut old_to_new = v1::Client::new(system.client("alice").unwrap(), new);
    refused(old_to_new.place(DEVICE));
    refused(old_to_new.ping(1));
    let mut new_to_old = v2::Client::new(system.client("alice").unwrap(), old);
    refused(new_to_old.place(DomainId(0x0201), true));
    refused(new_to_old.ping(1));
}

#[test]
fn the_same_number_of_another_encoding_is_not_the_same_operation() {
    assert_eq!(v1::Op::Place as u32 & 0xFFFF, v2::Op::Place as u32 & 0xFFFF);
    assert_ne!(v1::Op::Place as u32, v2::Op::Place as u32);
    assert!(v2::Op::from_raw(v1::Op::Place as u32).is_none());
    assert!(v1::Op::from_raw(v2::Op::Ping as u32).is_none());
    // What v2 would have read from v1's message without the tag: a device
    // taken for a domain.
    let mut message = [0u8; 8];
    let args = v1::PlaceArgs { device: DEVICE };
    assert_eq!(
        idl_types::wire::encode_message(&args, &mut message),
        Some(8)
    );
    let misread = idl_types::wire::decode_message::<v2::PlaceArgs>(&message);
    assert_eq!(
        misread.and_then(Result::ok),
        Some(v2::PlaceArgs {
            domain: DomainId(0x0201),
            strict: true
        }),
        "the layouts collide: only the tag tells them apart"
    );
}
