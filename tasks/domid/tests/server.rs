//! The domid server through its generated client over the in-process
//! transport: rebuilding, idempotent acquire/release, compensations, restart.

use domid::domid::{AcquireArgs, Client, Compensation, Endpoint};
use domid::{BitmapAllocator, DomidServer, FreeListAllocator};
use idl_runtime::{ClientError, InProcess};
use idl_types::*;

type Server = DomidServer<BitmapAllocator<2, 8, 16>>;

const TASKS: [&str; 3] = ["broker", "domid", "console"];
const UNIT: UnitId = UnitId(0);
const A: DomainId = DomainId(1);
const B: DomainId = DomainId(2);
const DEV1: Bdf = Bdf {
    bus: 0,
    device: 2,
    function: 0,
};
const DEV2: Bdf = Bdf {
    bus: 1,
    device: 1,
    function: 0,
};

fn server() -> Endpoint<Server> {
    Endpoint(DomidServer::new(BitmapAllocator::new()))
}

/// Configures unit 0 (ND = 0: 8 domain DIDs, CM: DID 0 withheld) of the
/// client's domid and rebuilds its books from `records`.
fn boot<T: idl_runtime::Transport>(client: &mut Client<T>, records: &[RebuildRecord]) {
    assert_eq!(client.configure_unit(UNIT, 0, true), Ok(16));
    let mut bytes = Vec::new();
    for r in records {
        bytes.extend_from_slice(&r.encode().unwrap());
    }
    assert_eq!(client.rebuild(&bytes), Ok(records.len() as u16));
}

#[test]
fn acquire_before_the_first_rebuild_is_refused() {
    let mut s = server();
    let system = InProcess::new(TASKS);
    let id = system.register("domid", &mut s).unwrap();
    let mut client = Client::new(system.client("broker").unwrap(), id);
    assert_eq!(client.configure_unit(UNIT, 0, true), Ok(16));
    assert_eq!(client.is_rebuilt(), Ok(false));
    assert_eq!(
        client.acquire(UNIT, A, DEV1),
        Err(ClientError::Op(DomidError::NotRebuilt))
    );
    assert_eq!(client.rebuild(&[]), Ok(0), "first boot: an empty rebuild");
    assert_eq!(client.is_rebuilt(), Ok(true));
    let grant = client.acquire(UNIT, A, DEV1).unwrap();
    assert_eq!(grant.did, Did(1), "DID 0 is withheld under caching mode");
    assert!(grant.fresh && grant.counted);
}

#[test]
fn a_replayed_acquire_is_not_counted_twice_and_one_release_frees_the_did() {
    let mut s = server();
    let system = InProcess::new(TASKS);
    let id = system.register("domid", &mut s).unwrap();
    let mut client = Client::new(system.client("broker").unwrap(), id);
    boot(&mut client, &[]);
    let first = client.acquire(UNIT, A, DEV1).unwrap();
    let replay = client.acquire(UNIT, A, DEV1).unwrap();
    assert_eq!(replay.did, first.did);
    assert!(!replay.counted, "the replay says it counted nothing");
    assert_eq!(client.devices_of(UNIT, A), Ok(1));
    assert_eq!(
        client.release(UNIT, A, DEV1),
        Ok(DidRelease::Freed(first.did))
    );
    assert_eq!(
        client.release(UNIT, A, DEV1),
        Ok(DidRelease::NotCounted),
        "a replayed release changes nothing"
    );
    assert_eq!(client.lookup(UNIT, A), Ok(None));
    assert_eq!(client.dids_in_use(UNIT), Ok(0));
}

#[test]
fn the_did_is_kept_while_another_device_of_the_domain_remains() {
    let mut s = server();
    let system = InProcess::new(TASKS);
    let id = system.register("domid", &mut s).unwrap();
    let mut client = Client::new(system.client("broker").unwrap(), id);
    boot(&mut client, &[]);
    let did = client.acquire(UNIT, A, DEV1).unwrap().did;
    assert_eq!(client.acquire(UNIT, A, DEV2).unwrap().did, did);
    assert_eq!(
        client.release(UNIT, A, DEV1),
        Ok(DidRelease::Kept { did, remaining: 1 })
    );
    assert_eq!(client.owner_of(UNIT, did), Ok(Some(DidHolder::Domain(A))));
}

#[test]
fn the_recorded_compensation_of_an_acquire_releases_exactly_that_device() {
    let mut s = server();
    let system = InProcess::new(TASKS);
    let id = system.register("domid", &mut s).unwrap();
    let mut client = Client::new(system.client("broker").unwrap(), id);
    boot(&mut client, &[]);
    client.acquire(UNIT, B, DEV2).unwrap();
    let args = AcquireArgs {
        unit: UNIT,
        domain: B,
        device: DEV1,
    };
    let grant = client.acquire(args.unit, args.domain, args.device).unwrap();
    let undo = Compensation::for_acquire(&args, &grant);
    undo.execute(&mut client).unwrap();
    assert_eq!(client.devices_of(UNIT, B), Ok(1), "DEV2 still counted");
    assert_eq!(client.lookup(UNIT, B), Ok(Some(grant.did)));
}

#[test]
fn quarantine_pseudo_dids_come_from_the_upper_half_once_per_device() {
    let mut s = server();
    let system = InProcess::new(TASKS);
    let id = system.register("domid", &mut s).unwrap();
    let mut client = Client::new(system.client("broker").unwrap(), id);
    boot(&mut client, &[]);
    let q = client.acquire_quarantine(UNIT, DEV1).unwrap();
    assert!(q.did.0 >= 8, "pseudo-DIDs are 8..=15 at ND = 0");
    assert_eq!(client.acquire_quarantine(UNIT, DEV1).unwrap().did, q.did);
    assert_eq!(
        client.owner_of(UNIT, q.did),
        Ok(Some(DidHolder::Quarantine(DEV1)))
    );
    assert_eq!(
        client.release_quarantine(UNIT, DEV1),
        Ok(DidRelease::Freed(q.did))
    );
}

#[test]
fn a_restarted_domid_refuses_until_its_books_are_rebuilt_from_the_entries() {
    let mut first = server();
    let mut restarted = server();
    let system = InProcess::new(TASKS);
    let id = system.register("domid", &mut first).unwrap();
    let mut client = Client::new(system.client("broker").unwrap(), id);
    boot(&mut client, &[]);
    let did = client.acquire(UNIT, A, DEV1).unwrap().did;
    let q = client.acquire_quarantine(UNIT, DEV2).unwrap().did;

    system.restart("domid", Some(&mut restarted)).unwrap();
    assert!(matches!(
        client.acquire(UNIT, B, DEV2),
        Err(ClientError::ServerDied { .. })
    ));
    assert_eq!(
        client.acquire(UNIT, B, DEV2),
        Err(ClientError::Op(DomidError::NotRebuilt)),
        "the restarted server hands out nothing"
    );
    assert_eq!(client.is_rebuilt(), Ok(false));
    assert_eq!(client.configure_unit(UNIT, 0, true), Ok(16));
    // What the iommu's context entries say: DEV1 in A, DEV2 quarantined.
    let records = [
        RebuildRecord {
            unit: UNIT,
            rid: DEV1,
            did,
            owner: RebuildOwner::Domain(A),
            device: DEV1,
        },
        RebuildRecord {
            unit: UNIT,
            rid: DEV2,
            did: q,
            owner: RebuildOwner::Quarantine,
            device: DEV2,
        },
    ];
    let bytes: Vec<u8> = records.iter().flat_map(|r| r.encode().unwrap()).collect();
    assert_eq!(client.rebuild(&bytes), Ok(2));
    assert_eq!(client.lookup(UNIT, A), Ok(Some(did)));
    assert_eq!(
        client.owner_of(UNIT, q),
        Ok(Some(DidHolder::Quarantine(DEV2)))
    );
    let b = client.acquire(UNIT, B, DEV2).unwrap().did;
    assert!(b != did && b != q, "no live DID handed out twice");
}

#[test]
fn a_rebuild_with_a_partial_record_is_refused_and_domid_stays_not_rebuilt() {
    let mut s = server();
    let system = InProcess::new(TASKS);
    let id = system.register("domid", &mut s).unwrap();
    let mut client = Client::new(system.client("broker").unwrap(), id);
    assert_eq!(client.configure_unit(UNIT, 0, true), Ok(16));
    let record = RebuildRecord {
        unit: UNIT,
        rid: DEV1,
        did: Did(1),
        owner: RebuildOwner::Domain(A),
        device: DEV1,
    };
    let mut bytes = record.encode().unwrap().to_vec();
    bytes.extend_from_slice(&[0, 1, 2]);
    assert_eq!(
        client.rebuild(&bytes),
        Err(ClientError::Op(DomidError::BadRebuildRecord {
            index: 1,
            cause: RebuildDecodeError::Short { len: 3 }
        }))
    );
    assert_eq!(client.is_rebuilt(), Ok(false));
}

#[test]
fn a_rebuild_giving_one_did_to_two_domains_is_refused() {
    let mut s = server();
    let system = InProcess::new(TASKS);
    let id = system.register("domid", &mut s).unwrap();
    let mut client = Client::new(system.client("broker").unwrap(), id);
    assert_eq!(client.configure_unit(UNIT, 0, true), Ok(16));
    let records = [(A, DEV1), (B, DEV2)].map(|(domain, dev)| RebuildRecord {
        unit: UNIT,
        rid: dev,
        did: Did(3),
        owner: RebuildOwner::Domain(domain),
        device: dev,
    });
    let bytes: Vec<u8> = records.iter().flat_map(|r| r.encode().unwrap()).collect();
    assert_eq!(
        client.rebuild(&bytes),
        Err(ClientError::Op(DomidError::RebuildRejected {
            unit: UNIT,
            did: Did(3),
            cause: RebuildFault::Shared
        }))
    );
    assert_eq!(client.is_rebuilt(), Ok(false));
}

#[test]
fn a_reserved_domain_count_is_refused() {
    let mut s = server();
    let system = InProcess::new(TASKS);
    let id = system.register("domid", &mut s).unwrap();
    let mut client = Client::new(system.client("broker").unwrap(), id);
    assert_eq!(
        client.configure_unit(UNIT, 7, false),
        Err(ClientError::Op(DomidError::ReservedDomainCount(UNIT)))
    );
    assert_eq!(
        client.configure_unit(UnitId(9), 0, false),
        Err(ClientError::Op(DomidError::NoSuchUnit(UnitId(9))))
    );
}

#[test]
fn only_the_broker_may_acquire_but_anyone_may_look_up() {
    let mut s = server();
    let system = InProcess::new(TASKS);
    let id = system.register("domid", &mut s).unwrap();
    let mut console = Client::new(system.client("console").unwrap(), id);
    assert_eq!(
        console.acquire(UNIT, A, DEV1),
        Err(ClientError::AccessDenied)
    );
    assert_eq!(
        console.lookup(UNIT, A),
        Err(ClientError::Op(DomidError::NotRebuilt))
    );
}

#[test]
fn the_free_list_allocator_serves_the_same_interface() {
    let mut s = Endpoint(DomidServer::new(FreeListAllocator::<1, 4, 8>::new()));
    let system = InProcess::new(TASKS);
    let id = system.register("domid", &mut s).unwrap();
    let mut client = Client::new(system.client("broker").unwrap(), id);
    boot(&mut client, &[]);
    let did = client.acquire(UNIT, A, DEV1).unwrap().did;
    assert_eq!(client.release(UNIT, A, DEV1), Ok(DidRelease::Freed(did)));
}

#[test]
fn a_device_address_out_of_range_is_refused() {
    let mut s = server();
    let system = InProcess::new(TASKS);
    let id = system.register("domid", &mut s).unwrap();
    let mut client = Client::new(system.client("broker").unwrap(), id);
    boot(&mut client, &[]);
    let bad = Bdf {
        bus: 0,
        device: 40,
        function: 0,
    };
    assert_eq!(
        client.acquire(UNIT, A, bad),
        Err(ClientError::Op(DomidError::BadDevice(bad)))
    );
}
