//! A compensation recorded from a successful call, stored as bytes like a
//! journal entry and executed later, undoes that call.

mod common;

use common::fakes;
use common::TASKS;
use idl_runtime::serde::{de::DeserializeOwned, Serialize};
use idl_runtime::{InProcess, MaxEncodedLen};
use idl_tests::{domid, iommu, kitchen, pci};
use idl_types::*;

/// Stores an entry the way the broker's journal does (postcard, in a buffer
/// sized by its bound) and reads it back.
fn journal<T: Serialize + DeserializeOwned + MaxEncodedLen>(entry: &T) -> T {
    let mut buf = [0u8; 256];
    assert!(T::MAX_ENCODED_LEN <= buf.len());
    let bytes = postcard::to_slice(entry, &mut buf).expect("fits its bound");
    postcard::from_bytes(bytes).expect("decodes")
}

const UNIT: UnitId = UnitId(1);

/// What the iommu says the entry holds, in `set_context`'s terms.
fn state<T: idl_runtime::Transport>(
    client: &mut iommu::Client<T>,
    rid: Bdf,
) -> Option<ContextState> {
    client.get_context(UNIT, rid).unwrap().state()
}
const DOM: DomainId = DomainId(7);

#[test]
fn a_recorded_acquire_is_undone_by_release_executed_later() {
    let mut server = domid::Endpoint(fakes::Domid::default());
    let system = InProcess::new(TASKS);
    let id = system.register("domid", &mut server).unwrap();
    let mut client = domid::Client::new(system.client("broker").unwrap(), id);

    let args = domid::AcquireArgs {
        unit: UNIT,
        domain: DOM,
        device: Bdf::from_requester_id(0x10),
    };
    let grant = client.acquire(args.unit, args.domain, args.device).unwrap();
    let undo = journal(&domid::Compensation::for_acquire(&args, &grant));
    assert_eq!(
        undo,
        domid::Compensation::Acquire(domid::ReleaseArgs {
            unit: UNIT,
            domain: DOM,
            device: args.device,
        })
    );
    assert_eq!(client.lookup(UNIT, DOM), Ok(Some(grant.did)));
    undo.execute(&mut client).unwrap();
    assert_eq!(client.lookup(UNIT, DOM), Ok(None));
}

#[test]
fn undo_of_set_context_restores_the_previous_owner() {
    let mut server = iommu::Endpoint(fakes::Iommu::default());
    let system = InProcess::new(TASKS);
    let id = system.register("iommu", &mut server).unwrap();
    let mut client = iommu::Client::new(system.client("broker").unwrap(), id);
    let rid = Bdf {
        bus: 0,
        device: 3,
        function: 0,
    };
    let source = ContextState::Domain {
        domain: DomainId(1),
        did: Did(10),
    };
    let target = ContextState::Domain {
        domain: DomainId(2),
        did: Did(11),
    };
    client.create_domain(DomainId(1)).unwrap();
    client.create_domain(DomainId(2)).unwrap();
    client
        .set_context(UNIT, rid, source, ReassignMode::default())
        .unwrap();

    let args = iommu::SetContextArgs {
        unit: UNIT,
        rid,
        entry: target,
        mode: ReassignMode::SINGLE_DEVICE,
    };
    let change = client
        .set_context(args.unit, args.rid, args.entry, args.mode)
        .unwrap();
    let undo = journal(&iommu::Compensation::for_set_context(&args, &change));
    assert_eq!(state(&mut client, rid), Some(target));
    undo.execute(&mut client).unwrap();
    assert_eq!(state(&mut client, rid), Some(source));
}

#[test]
fn undo_of_set_context_clears_an_entry_that_was_not_present() {
    let mut server = iommu::Endpoint(fakes::Iommu::default());
    let system = InProcess::new(TASKS);
    let id = system.register("iommu", &mut server).unwrap();
    let mut client = iommu::Client::new(system.client("broker").unwrap(), id);
    let rid = Bdf::from_requester_id(0x0100);
    client.create_domain(DomainId(2)).unwrap();
    let args = iommu::SetContextArgs {
        unit: UNIT,
        rid,
        entry: ContextState::Domain {
            domain: DomainId(2),
            did: Did(5),
        },
        mode: ReassignMode::default(),
    };
    let change = client
        .set_context(args.unit, args.rid, args.entry, args.mode)
        .unwrap();
    assert_eq!(change.previous, ContextState::NotPresent);
    let undo = iommu::Compensation::for_set_context(&args, &change);
    undo.execute(&mut client).unwrap();
    assert_eq!(state(&mut client, rid), Some(ContextState::NotPresent));
}

#[test]
fn undo_of_map_range_unmaps_exactly_the_range_the_reply_reported() {
    let mut server = iommu::Endpoint(fakes::Iommu::default());
    let system = InProcess::new(TASKS);
    let id = system.register("iommu", &mut server).unwrap();
    let mut client = iommu::Client::new(system.client("broker").unwrap(), id);
    client.create_domain(DOM).unwrap();
    let args = iommu::MapRangeArgs {
        domain: DOM,
        iova: 0x7c00_0000,
        phys: 0x7c00_0000,
        pages: 4,
        access: Access::ReadWrite,
    };
    let range = client
        .map_range(args.domain, args.iova, args.phys, args.pages, args.access)
        .unwrap();
    let undo = iommu::Compensation::for_map_range(&args, &range);
    assert_eq!(
        undo,
        iommu::Compensation::MapRange(iommu::UnmapRangeArgs {
            domain: DOM,
            range: PageRange {
                iova: 0x7c00_0000,
                pages: 4
            }
        })
    );
    undo.execute(&mut client).unwrap();
    // The registry's borrow of the server ends with its last use above.
    assert!(server.0.domains[&DOM.0].is_empty(), "every page unmapped");
}

#[test]
fn undo_of_enable_bus_master_puts_back_the_previous_setting() {
    let mut server = pci::Endpoint(fakes::Pci::default());
    let system = InProcess::new(TASKS);
    let id = system.register("pci", &mut server).unwrap();
    let mut client = pci::Client::new(system.client("broker").unwrap(), id);
    let dev = Bdf::from_requester_id(0x08);
    let args = pci::EnableBusMasterArgs {
        device: dev,
        enable: true,
    };
    let previous = client.enable_bus_master(dev, true).unwrap();
    assert!(!previous);
    pci::Compensation::for_enable_bus_master(&args, &previous)
        .execute(&mut client)
        .unwrap();
    assert_eq!(client.enable_bus_master(dev, false), Ok(false));
}

#[test]
fn compensations_replayed_in_reverse_restore_the_starting_state() {
    let mut server = kitchen::Endpoint(common::kitchen::Kitchen::default());
    let system = InProcess::new(TASKS);
    let id = system.register("kitchen", &mut server).unwrap();
    let mut client = kitchen::Client::new(system.client("alice").unwrap(), id);
    let mut log = Vec::new();
    for amount in [5, 70, 300] {
        let args = kitchen::AddArgs { amount };
        let reply = client.add(amount).unwrap();
        log.push(journal(&kitchen::Compensation::for_add(&args, &reply)));
    }
    assert_eq!(client.add(0), Ok(375));
    for undo in log.iter().rev() {
        undo.execute(&mut client).unwrap();
    }
    assert_eq!(client.add(0), Ok(0));
}

#[test]
fn compensation_bounds_cover_their_largest_variant() {
    assert_eq!(
        iommu::Compensation::MAX_ENCODED_LEN,
        1 + <iommu::SetContextArgs as MaxEncodedLen>::MAX_ENCODED_LEN
            .max(<iommu::UnmapRangeArgs as MaxEncodedLen>::MAX_ENCODED_LEN)
            .max(<iommu::DestroyDomainArgs as MaxEncodedLen>::MAX_ENCODED_LEN)
    );
    let worst = iommu::Compensation::MapRange(iommu::UnmapRangeArgs {
        domain: DomainId(u16::MAX),
        range: PageRange {
            iova: u64::MAX,
            pages: u32::MAX,
        },
    });
    let bytes = postcard::to_stdvec(&worst).unwrap();
    assert!(bytes.len() <= iommu::Compensation::MAX_ENCODED_LEN);
}

/// The messages a `Recorder` saw: operation and bytes.
type Sent = std::rc::Rc<std::cell::RefCell<Vec<(u32, Vec<u8>)>>>;

/// A transport that keeps what was sent and answers with one fixed reply.
struct Recorder {
    sent: Sent,
    reply: Vec<u8>,
}

impl idl_runtime::Transport for Recorder {
    fn send(
        &mut self,
        _target: idl_runtime::abi::TaskId,
        op: u32,
        msg: &[u8],
        reply: &mut [u8],
        _leases: &mut [idl_runtime::Lease<'_>],
    ) -> Result<(u32, usize), idl_runtime::SendError> {
        self.sent.borrow_mut().push((op, msg.to_vec()));
        reply[..self.reply.len()].copy_from_slice(&self.reply);
        Ok((idl_runtime::reply_code::OK, self.reply.len()))
    }
}

#[test]
fn a_compensation_travels_in_its_undo_operations_fixed_layout() {
    let args = domid::AcquireArgs {
        unit: UNIT,
        domain: DOM,
        device: Bdf::from_requester_id(0x0208),
    };
    let grant = DidGrant {
        did: Did(5),
        fresh: true,
        counted: true,
    };
    // Journaled as postcard, as the broker does, and read back.
    let undo = journal(&domid::Compensation::for_acquire(&args, &grant));
    let mut reply = [0u8; 8];
    let len = wire::encode_message(&DidRelease::NotCounted, &mut reply).unwrap();
    let sent = Sent::default();
    let recorder = Recorder {
        sent: sent.clone(),
        reply: reply[..len].to_vec(),
    };
    let server = idl_runtime::abi::TaskId::new(3, idl_runtime::abi::Generation::new(0));
    let mut client = domid::Client::new(recorder, server);
    assert_eq!(undo.execute(&mut client), Ok(()));
    assert_eq!(domid::RELEASE.encoding, idl_runtime::Encoding::Fixed);
    let mut expected = [0u8; 8];
    let want = domid::ReleaseArgs {
        unit: UNIT,
        domain: DOM,
        device: Bdf::from_requester_id(0x0208),
    };
    let n = wire::encode_message(&want, &mut expected).unwrap();
    assert_eq!(
        *sent.borrow(),
        [(domid::Op::Release as u32, expected[..n].to_vec())]
    );
    // unit, domain (LE), device (bus, device, function), zeros to 8.
    assert_eq!(expected[..n], [1, 7, 0, 2, 1, 0, 0, 0]);
}
