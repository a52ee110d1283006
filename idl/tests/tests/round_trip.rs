//! Every kind of argument, reply, error and lease makes a round trip through
//! generated client → in-process transport → generated dispatch → server.

mod common;

use common::kitchen::Kitchen;
use common::TASKS;
use idl_runtime::{ClientError, InProcess};
use idl_tests::kitchen::{Client, Endpoint};
use idl_types::*;
use proptest::prelude::*;

/// Runs `f` with a client (calling as `caller`) of a fresh Kitchen server.
fn with_kitchen<R>(
    caller: &str,
    f: impl FnOnce(&mut Client<idl_runtime::InProcessClient<'_, '_, 10>>) -> R,
) -> R {
    let mut server = Endpoint(Kitchen::default());
    let system = InProcess::new(TASKS);
    let id = system.register("kitchen", &mut server).unwrap();
    let mut client = Client::new(system.client(caller).unwrap(), id);
    f(&mut client)
}

#[test]
fn every_integer_width_arrives_intact_at_its_extremes() {
    with_kitchen("alice", |k| {
        let got = k
            .integers(
                u8::MAX,
                u16::MAX,
                u32::MAX,
                u64::MAX,
                i8::MIN,
                i16::MIN,
                i32::MIN,
                i64::MIN,
            )
            .unwrap();
        let unsigned = (255i64 + 65535 + 4294967295).wrapping_add(u64::MAX as i64);
        let signed = (-128i64 - 32768 - 2147483648).wrapping_add(i64::MIN);
        assert_eq!(got, [signed, unsigned]);
    });
}

#[test]
fn booleans_and_nested_options_keep_every_case_apart() {
    with_kitchen("alice", |k| {
        assert_eq!(k.flags(true, None, Some(Some(7))).unwrap(), Some(7));
        assert_eq!(k.flags(true, Some(true), Some(None)).unwrap(), None);
        assert_eq!(k.flags(true, Some(true), None).unwrap(), None);
        assert_eq!(k.flags(false, Some(true), Some(Some(9))).unwrap(), Some(1));
        assert_eq!(k.flags(false, None, None).unwrap(), None);
    });
}

#[test]
fn arrays_of_arrays_and_of_named_options_arrive_intact() {
    with_kitchen("alice", |k| {
        let mut bytes = [0u8; 32];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = i as u8 * 7;
        }
        let got = k
            .arrays(bytes, [[1, 2], [3, 4], [5, 600]], [Some(Did(9)), None])
            .unwrap();
        let mut want = bytes;
        want.reverse();
        want[0] = (615u16 % 256) as u8;
        want[1] = 1;
        assert_eq!(got, want);
    });
}

#[test]
fn named_types_travel_both_ways_and_errors_come_back_typed() {
    with_kitchen("alice", |k| {
        let device = Bdf {
            bus: 2,
            device: 3,
            function: 1,
        };
        let state = ContextState::Domain {
            domain: DomainId(4),
            did: Did(300),
        };
        let change = k.named(device, state, ReassignMode::WITH_RMRR).unwrap();
        assert_eq!(
            change,
            ContextChange {
                previous: state,
                atomic: true
            }
        );
        assert_eq!(
            k.named(device, state, ReassignMode(0x40)),
            Err(ClientError::Op(IommuError::BadMode(0x40)))
        );
    });
}

#[test]
fn an_operation_error_is_returned_as_the_error_not_a_transport_failure() {
    with_kitchen("alice", |k| {
        assert_eq!(k.fallible(false, u64::MAX - 1), Ok(u64::MAX));
        assert_eq!(
            k.fallible(true, 0xdead_0000),
            Err(ClientError::Op(IommuError::Overlap { iova: 0xdead_0000 }))
        );
    });
}

#[test]
fn an_operation_with_no_arguments_and_no_reply_round_trips() {
    with_kitchen("alice", |k| assert_eq!(k.nothing(), Ok(())));
}

#[test]
fn a_read_lease_is_read_by_the_server() {
    with_kitchen("alice", |k| {
        let data: Vec<u8> = (1..=64).collect();
        assert_eq!(k.checksum(&data), Ok(64 * 65 / 2));
        assert_eq!(k.checksum(&[]), Ok(0));
    });
}

#[test]
fn a_write_lease_is_filled_by_the_server_alongside_a_read_lease() {
    with_kitchen("alice", |k| {
        let mut out = [0u8; 10];
        assert_eq!(k.fill(0xaa, &mut out, &[1, 2, 3]), Ok(10));
        assert_eq!(out, [1, 2, 3, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa]);
    });
}

#[test]
fn a_lease_longer_than_its_max_is_refused_before_sending() {
    with_kitchen("alice", |k| {
        let data = [0u8; 65];
        assert_eq!(
            k.checksum(&data),
            Err(ClientError::LeaseTooLong {
                index: 0,
                len: 65,
                max: 64
            })
        );
    });
}

#[test]
fn a_variable_length_list_reply_round_trips() {
    with_kitchen("alice", |k| {
        let batch = k.list(10).unwrap();
        assert_eq!(batch.records.len(), FAULTS_PER_BATCH);
        assert_eq!(batch.pending, 2);
        assert_eq!(batch.records[3].source, Bdf::from_requester_id(27));
        assert_eq!(batch.records[3].direction, DmaDirection::Write);
        assert!(k.list(0).unwrap().records.is_empty());
    });
}

#[test]
fn system_interfaces_round_trip_through_their_generated_clients() {
    use idl_tests::{acpi, pci};
    let mut acpi_server = acpi::Endpoint(common::fakes::Acpi);
    let mut pci_server = pci::Endpoint(common::fakes::Pci::default());
    let system = InProcess::new(TASKS);
    let acpi_id = system.register("acpi", &mut acpi_server).unwrap();
    let pci_id = system.register("pci", &mut pci_server).unwrap();
    let mut a = acpi::Client::new(system.client("iommu").unwrap(), acpi_id);
    let mut p = pci::Client::new(system.client("broker").unwrap(), pci_id);
    assert_eq!(a.unit_count(), Ok(2));
    let rmrr_dev = Bdf {
        bus: 0,
        device: 2,
        function: 0,
    };
    assert_eq!(a.rmrrs_of(rmrr_dev).unwrap().ranges[0].base, 0x7c00_0000);
    assert_eq!(
        a.unit_info(UnitId(5)),
        Err(ClientError::Op(AcpiError::NoSuchUnit(UnitId(5))))
    );
    let mut dmar = [0u8; 4];
    assert_eq!(a.read_dmar(0, &mut dmar), Ok(9));
    assert_eq!(&dmar, b"DMAR");
    assert_eq!(p.next_device(None), Ok(Some(Bdf::from_requester_id(0))));
    assert_eq!(
        p.config_read(rmrr_dev, 2, AccessWidth::Dword),
        Err(ClientError::Op(PciError::BadOffset {
            offset: 2,
            width: 4
        }))
    );
}

proptest! {
    #[test]
    fn any_integers_round_trip(a: u8, b: u16, c: u32, d: u64, e: i8, f: i16, g: i32, h: i64) {
        let got = with_kitchen("alice", |k| k.integers(a, b, c, d, e, f, g, h)).unwrap();
        let unsigned = (a as i64).wrapping_add(b as i64).wrapping_add(c as i64).wrapping_add(d as i64);
        let signed = (e as i64).wrapping_add(f as i64).wrapping_add(g as i64).wrapping_add(h);
        prop_assert_eq!(got, [signed, unsigned]);
    }

    #[test]
    fn any_lease_contents_round_trip(data in proptest::collection::vec(any::<u8>(), 0..=64)) {
        let sum: u32 = data.iter().map(|b| u32::from(*b)).sum();
        prop_assert_eq!(with_kitchen("alice", |k| k.checksum(&data)), Ok(sum));
    }
}
