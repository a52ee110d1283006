//! The pci server on QEMU's q35 machine (the fake config space), through
//! its generated client over the in-process transport.

use idl_runtime::{ClientError, InProcess};
use idl_types::*;
use pci::fake::{FakeConfig, FAKE_CONFIG_SIZE};
use pci::q35;
use task_pci::pci::{Client, Compensation, EnableBusMasterArgs, Endpoint};
use task_pci::PciServer;

const TASKS: [&str; 5] = ["broker", "pci", "dma-a", "dma-b", "console"];
/// Index of "broker" in TASKS.
const BROKER: TaskIndex = TaskIndex(0);
const DMA_A: TaskIndex = TaskIndex(2);
/// The operator, who reads every device.
const CONSOLE: TaskIndex = TaskIndex(4);

type Server = PciServer<FakeConfig<{ q35::FUNCTIONS }>>;

fn wire(b: pci::Bdf) -> Bdf {
    Bdf {
        bus: b.bus(),
        device: b.dev(),
        function: b.func(),
    }
}

fn server() -> Endpoint<Server> {
    Endpoint(PciServer::new(q35::machine(), 0, &[BROKER], &[CONSOLE]))
}

#[test]
fn the_edu_behind_the_bridge_uses_its_own_id_the_bridge_and_secbus_0_0_in_that_order() {
    let mut s = server();
    let system = InProcess::new(TASKS);
    let id = system.register("pci", &mut s).unwrap();
    let mut c = Client::new(system.client("broker").unwrap(), id);
    let edu = wire(q35::EDU_BEHIND_BRIDGE);
    let list = c.requester_ids(edu, AliasOrder::Assign).unwrap();
    let expected = [
        edu,
        wire(q35::PCIE_PCI_BRIDGE),
        Bdf::from_requester_id(q35::EDU_BEHIND_BRIDGE_SOURCE_ID),
    ];
    assert_eq!(list.ids.as_slice(), &expected);
    let on_bus0 = c.requester_ids(wire(q35::EDU), AliasOrder::Assign).unwrap();
    assert_eq!(on_bus0.ids.as_slice(), &[wire(q35::EDU)]);
}

#[test]
fn bridges_have_no_requester_ids_to_assign() {
    let mut s = server();
    let system = InProcess::new(TASKS);
    let id = system.register("pci", &mut s).unwrap();
    let mut c = Client::new(system.client("broker").unwrap(), id);
    let bridge = wire(q35::PCIE_PCI_BRIDGE);
    assert_eq!(
        c.requester_ids(bridge, AliasOrder::Assign),
        Err(ClientError::Op(PciError::NotAssignable(bridge)))
    );
}

#[test]
fn the_device_list_walks_every_function_with_its_kind() {
    let mut s = server();
    let system = InProcess::new(TASKS);
    let id = system.register("pci", &mut s).unwrap();
    let mut c = Client::new(system.client("dma-b").unwrap(), id);
    let mut seen = Vec::new();
    let mut after = None;
    while let Some(d) = c.next_device(after).unwrap() {
        seen.push(d);
        after = Some(d);
    }
    assert_eq!(seen.len(), 8);
    let edu = c.device_info(wire(q35::EDU_BEHIND_BRIDGE)).unwrap();
    assert_eq!(
        (edu.vendor, edu.device_id),
        (q35::EDU_VENDOR, q35::EDU_DEVICE)
    );
    assert_eq!(edu.kind, DeviceKind::LegacyEndpoint);
    assert_eq!(edu.upstream_bridge, Some(wire(q35::PCIE_PCI_BRIDGE)));
    let bridge = c.device_info(wire(q35::PCIE_PCI_BRIDGE)).unwrap();
    assert_eq!(bridge.kind, DeviceKind::PcieToPciBridge);
    assert_eq!(bridge.secondary_bus, Some(1));
    let host = c.device_info(wire(q35::HOST_BRIDGE)).unwrap();
    assert_eq!(host.kind, DeviceKind::HostBridge);
    let absent = Bdf {
        bus: 0,
        device: 9,
        function: 0,
    };
    assert_eq!(
        c.device_info(absent),
        Err(ClientError::Op(PciError::NoDevice(absent)))
    );
}

#[test]
fn only_the_owner_or_the_broker_may_write_and_bus_master() {
    let mut s = server();
    let system = InProcess::new(TASKS);
    let id = system.register("pci", &mut s).unwrap();
    let mut broker = Client::new(system.client("broker").unwrap(), id);
    let mut a = Client::new(system.client("dma-a").unwrap(), id);
    let mut b = Client::new(system.client("dma-b").unwrap(), id);
    let edu = wire(q35::EDU);
    assert_eq!(
        a.enable_bus_master(edu, true),
        Err(ClientError::Op(PciError::NotOwner(edu)))
    );
    assert_eq!(broker.set_owner(edu, Some(DMA_A)), Ok(None));
    assert_eq!(a.enable_bus_master(edu, true), Ok(false));
    assert_eq!(
        a.config_read(edu, 0x04, AccessWidth::Word).unwrap() & 0x4,
        0x4,
        "bus master set in the command register"
    );
    assert_eq!(
        b.config_write(edu, 0x04, AccessWidth::Word, 0),
        Err(ClientError::Op(PciError::NotOwner(edu)))
    );
    assert_eq!(
        b.set_owner(edu, None),
        Err(ClientError::AccessDenied),
        "set_owner is the broker's"
    );
    let args = EnableBusMasterArgs {
        device: edu,
        enable: false,
    };
    let was = broker.enable_bus_master(edu, false).unwrap();
    assert!(was);
    Compensation::for_enable_bus_master(&args, &was)
        .execute(&mut broker)
        .unwrap();
    assert_eq!(
        a.enable_bus_master(edu, true),
        Ok(true),
        "undo turned it back on"
    );
}

#[test]
fn config_reads_check_alignment_and_dumps_stop_at_the_end_of_config_space() {
    let mut s = server();
    let system = InProcess::new(TASKS);
    let id = system.register("pci", &mut s).unwrap();
    let mut c = Client::new(system.client("console").unwrap(), id);
    let edu = wire(q35::EDU);
    assert_eq!(
        c.config_read(edu, 0, AccessWidth::Dword),
        Ok(u32::from(q35::EDU_DEVICE) << 16 | u32::from(q35::EDU_VENDOR))
    );
    assert_eq!(
        c.config_read(edu, 2, AccessWidth::Dword),
        Err(ClientError::Op(PciError::BadOffset {
            offset: 2,
            width: 4
        }))
    );
    let mut head = [0u8; 4];
    assert_eq!(c.config_dump(edu, 0, &mut head), Ok(4));
    assert_eq!(u16::from_le_bytes([head[0], head[1]]), q35::EDU_VENDOR);
    let mut big = [0u8; 4096];
    assert_eq!(
        c.config_dump(edu, 0, &mut big),
        Ok(FAKE_CONFIG_SIZE as u16),
        "the fake has 256 bytes of config space"
    );
    let mut tail = [0u8; 8];
    assert_eq!(
        c.config_dump(edu, FAKE_CONFIG_SIZE as u16 - 2, &mut tail),
        Ok(2)
    );
    assert_eq!(
        c.config_dump(edu, FAKE_CONFIG_SIZE as u16, &mut tail),
        Err(ClientError::Op(PciError::BadOffset {
            offset: FAKE_CONFIG_SIZE as u16,
            width: 1
        }))
    );
}
