//! The acpi server on QEMU 7.2's DMAR (q35, edu on the root bus, a second
//! edu behind a pcie-pci-bridge) with the q35 config space, through its
//! generated client over the in-process transport.

use std::path::PathBuf;

use acpi::extra_rmrr::{ExtraRmrr, PciAddress};
use acpi::quirks::MemRange as AcpiRange;
use idl_runtime::{ClientError, InProcess};
use idl_types::*;
use pci::fake::FakeConfig;
use pci::q35;
use task_acpi::acpi::{Client, Endpoint};
use task_acpi::{AcpiServer, BuildError, PciConfigSpace};

const TASKS: [&str; 2] = ["broker", "acpi"];
const RMRR_BASE: u64 = 0x7c00_0000;
const RMRR_END: u64 = 0x7c00_1fff;
const EDU_ADDRESS: PciAddress = PciAddress {
    segment: 0,
    bus: 0,
    device: 2,
    function: 0,
};

type Config = PciConfigSpace<FakeConfig<{ q35::FUNCTIONS }>>;

fn qemu_table() -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/dmar/qemu-7.2-q35-edu-bridge.bin");
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn wire(b: pci::Bdf) -> Bdf {
    Bdf {
        bus: b.bus(),
        device: b.dev(),
        function: b.func(),
    }
}

fn config() -> Config {
    PciConfigSpace(q35::machine())
}

#[test]
fn the_qemu_table_has_unit_0_at_fed90000_without_include_all() {
    let table = qemu_table();
    let mut s = Endpoint(AcpiServer::new(&table, &[], &[], config()).unwrap());
    let system = InProcess::new(TASKS);
    let id = system.register("acpi", &mut s).unwrap();
    let mut c = Client::new(system.client("broker").unwrap(), id);
    assert_eq!(c.unit_count(), Ok(1));
    assert_eq!(
        c.unit_info(UnitId(0)),
        Ok(UnitInfo {
            unit: UnitId(0),
            segment: 0,
            register_base: 0xfed9_0000,
            include_all: false,
        })
    );
    assert_eq!(
        c.unit_info(UnitId(1)),
        Err(ClientError::Op(AcpiError::NoSuchUnit(UnitId(1))))
    );
}

#[test]
fn unit_scopes_resolve_to_the_edu_and_the_bridge_hierarchy() {
    let table = qemu_table();
    let mut s = Endpoint(AcpiServer::new(&table, &[], &[], config()).unwrap());
    let system = InProcess::new(TASKS);
    let id = system.register("acpi", &mut s).unwrap();
    let mut c = Client::new(system.client("broker").unwrap(), id);
    let mut scopes = Vec::new();
    for index in 0.. {
        match c.unit_scope(UnitId(0), index).unwrap() {
            Some(scope) => scopes.push(scope),
            None => break,
        }
    }
    assert_eq!(scopes.len(), 8, "IOAPIC and seven PCI functions");
    assert_eq!(scopes[0].kind, ScopeKind::IoApic);
    assert!(scopes.contains(&ScopeInfo {
        kind: ScopeKind::PciEndpoint,
        resolved: ResolvedScope::Device(wire(q35::EDU)),
    }));
    assert!(scopes.contains(&ScopeInfo {
        kind: ScopeKind::PciSubHierarchy,
        resolved: ResolvedScope::Hierarchy {
            bridge: wire(q35::PCIE_PCI_BRIDGE),
            secondary: 1,
            subordinate: 1,
        },
    }));
}

#[test]
fn the_unit_covering_a_device_comes_from_its_scope_or_the_bridge_above_it() {
    let table = qemu_table();
    let mut s = Endpoint(AcpiServer::new(&table, &[], &[], config()).unwrap());
    let system = InProcess::new(TASKS);
    let id = system.register("acpi", &mut s).unwrap();
    let mut c = Client::new(system.client("broker").unwrap(), id);
    assert_eq!(c.unit_of(wire(q35::EDU)), Ok(UnitId(0)));
    assert_eq!(c.unit_of(wire(q35::EDU_BEHIND_BRIDGE)), Ok(UnitId(0)));
    let unlisted = Bdf {
        bus: 0,
        device: 5,
        function: 0,
    };
    assert_eq!(
        c.unit_of(unlisted),
        Err(ClientError::Op(AcpiError::NotCovered(unlisted))),
        "no INCLUDE_PCI_ALL unit in QEMU's table"
    );
}

#[test]
fn an_app_declared_rmrr_is_reported_for_its_device_only() {
    let table = qemu_table();
    let devices = [EDU_ADDRESS];
    let extras = [ExtraRmrr {
        base: RMRR_BASE,
        end: RMRR_END,
        devices: &devices,
    }];
    let ram = [AcpiRange {
        base: 0,
        end: 0x3fff_ffff,
    }];
    let mut s = Endpoint(AcpiServer::new(&table, &extras, &ram, config()).unwrap());
    let system = InProcess::new(TASKS);
    let id = system.register("acpi", &mut s).unwrap();
    let mut c = Client::new(system.client("broker").unwrap(), id);
    let edu = c.rmrrs_of(wire(q35::EDU)).unwrap();
    assert_eq!(
        edu.ranges.as_slice(),
        &[MemRange {
            base: RMRR_BASE,
            end: RMRR_END
        }]
    );
    let other = c.rmrrs_of(wire(q35::EDU_BEHIND_BRIDGE)).unwrap();
    assert!(other.ranges.is_empty(), "QEMU's firmware declares no RMRR");
}

#[test]
fn a_configured_rmrr_over_ram_is_refused_at_construction() {
    let table = qemu_table();
    let devices = [EDU_ADDRESS];
    let extras = [ExtraRmrr {
        base: RMRR_BASE,
        end: RMRR_END,
        devices: &devices,
    }];
    let ram = [AcpiRange {
        base: 0,
        end: 0xffff_ffff,
    }];
    let err = AcpiServer::new(&table, &extras, &ram, config()).err();
    assert!(matches!(err, Some(BuildError::ExtraRmrr(_))));
    assert!(err.unwrap().to_string().contains("RAM"), "names the rule");
}

#[test]
fn a_malformed_table_is_an_error_naming_the_problem_not_a_panic() {
    let mut table = qemu_table();
    table[9] = table[9].wrapping_add(1); // checksum byte
    let err = AcpiServer::new(&table, &[], &[], config()).err();
    assert!(matches!(err, Some(BuildError::Table(_))));
    assert!(err.unwrap().to_string().contains("checksum"));
    let whole = qemu_table();
    for len in 0..whole.len() {
        assert!(AcpiServer::new(&whole[..len], &[], &[], config()).is_err());
    }
}

#[test]
fn the_raw_table_can_be_read_back_from_any_offset() {
    let table = qemu_table();
    let mut s = Endpoint(AcpiServer::new(&table, &[], &[], config()).unwrap());
    let system = InProcess::new(TASKS);
    let id = system.register("acpi", &mut s).unwrap();
    let mut c = Client::new(system.client("broker").unwrap(), id);
    let mut head = [0u8; 4];
    assert_eq!(c.read_dmar(0, &mut head), Ok(table.len() as u32));
    assert_eq!(&head, b"DMAR");
    let mut tail = [0u8; 16];
    c.read_dmar(table.len() as u32 - 16, &mut tail).unwrap();
    assert_eq!(&tail[..], &table[table.len() - 16..]);
    assert_eq!(
        c.read_dmar(table.len() as u32 + 1, &mut tail),
        Err(ClientError::Op(AcpiError::OffsetBeyondTable {
            offset: table.len() as u32 + 1,
            length: table.len() as u32
        }))
    );
}

#[test]
fn a_device_whose_rmrr_covers_custody_memory_gets_a_refusal_not_the_range() {
    let table = qemu_table();
    let devices = [EDU_ADDRESS];
    let extras = [ExtraRmrr {
        base: 0x10_0000,
        end: 0x10_0fff,
        devices: &devices,
    }];
    let custody = [task_acpi::CustodyRange {
        start: 0x10_0000,
        end: 0x200_0000,
        what: "the kernel image and its frame pool",
    }];
    let server = AcpiServer::new(&table, &extras, &[], config())
        .unwrap()
        .with_custody_memory(&custody);
    let mut s = Endpoint(server);
    let system = InProcess::new(TASKS);
    let id = system.register("acpi", &mut s).unwrap();
    let mut c = Client::new(system.client("broker").unwrap(), id);
    assert_eq!(
        c.rmrrs_of(wire(q35::EDU)),
        Err(ClientError::Op(AcpiError::RmrrOverCustodyMemory {
            device: wire(q35::EDU),
            base: 0x10_0000,
            end: 0x10_0fff
        }))
    );
    // Other devices are answered as ever.
    assert!(c.rmrrs_of(wire(q35::EDU_BEHIND_BRIDGE)).is_ok());
}
