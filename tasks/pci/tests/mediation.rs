//! Config-space mediation: what a device's owner may read and write, what
//! nobody but pci changes, and who reads devices it does not own. On QEMU's
//! q35 (the fake config space), through the generated client.

use idl_runtime::{ClientError, InProcess, InProcessClient, Transport};
use idl_types::*;
use pci::fake::{FakeConfig, FakeFunction};
use pci::q35;
use task_pci::pci::{Client, Endpoint};
use task_pci::PciServer;

const TASKS: [&str; 5] = ["broker", "pci", "dma-a", "dma-b", "console"];
const BROKER: TaskIndex = TaskIndex(0);
const DMA_A: TaskIndex = TaskIndex(2);
const CONSOLE: TaskIndex = TaskIndex(4);

const COMMAND: u16 = 0x04;
const COMMAND_IO: u32 = 1 << 0;
const COMMAND_MEMORY: u32 = 1 << 1;
const COMMAND_BUS_MASTER: u32 = 1 << 2;
const COMMAND_INTX_DISABLE: u32 = 1 << 10;
const BAR0: u16 = 0x10;
const EXPANSION_ROM: u16 = 0x30;
const CAPABILITIES_POINTER: u16 = 0x34;
/// Where the fake puts the first capability (edu's MSI).
const FIRST_CAP: u16 = 0x40;
const MSI_ADDRESS_LO: u16 = FIRST_CAP + 4;
const MSI_DATA_64: u16 = FIRST_CAP + 0x0c;
const BRIDGE_BUSES: u16 = 0x18;
const BRIDGE_MEMORY_WINDOW: u16 = 0x20;
const BRIDGE_CONTROL: u16 = 0x3e;

type Config = FakeConfig<{ q35::FUNCTIONS }>;

fn wire(b: pci::Bdf) -> Bdf {
    Bdf {
        bus: b.bus(),
        device: b.dev(),
        function: b.func(),
    }
}

const fn edu() -> Bdf {
    Bdf {
        bus: 0,
        device: 2,
        function: 0,
    }
}

/// q35 with `extra` functions added; dma-a owns edu0.
type C<'a, 's> = Client<InProcessClient<'a, 's, { TASKS.len() }>>;

fn with_owner(config: Config, test: impl FnOnce(&mut C<'_, '_>, &mut C<'_, '_>)) {
    // The broker reads every device here too, so the tests can check its
    // refused writes changed nothing.
    let mut s = Endpoint(PciServer::new(config, 0, &[BROKER], &[CONSOLE, BROKER]));
    let system = InProcess::new(TASKS);
    let id = system.register("pci", &mut s).unwrap();
    let mut broker = Client::new(system.client("broker").unwrap(), id);
    broker.set_owner(edu(), Some(DMA_A)).unwrap();
    let mut owner = Client::new(system.client("dma-a").unwrap(), id);
    test(&mut owner, &mut broker);
}

fn refused(
    device: Bdf,
    offset: u16,
    register: ConfigRegister,
) -> Result<(), ClientError<PciError>> {
    Err(ClientError::Op(PciError::ProtectedRegister {
        device,
        offset,
        register,
    }))
}

/// Writes and checks the refusal names `register` and nothing changed.
fn assert_refused(
    c: &mut Client<impl Transport>,
    device: Bdf,
    offset: u16,
    width: AccessWidth,
    value: u32,
    register: ConfigRegister,
) {
    let before = c.config_read(device, offset, width).unwrap();
    assert_eq!(
        c.config_write(device, offset, width, value),
        refused(device, offset, register)
    );
    assert_eq!(
        c.config_read(device, offset, width).unwrap(),
        before,
        "a refused write changed {offset:#x}"
    );
}

#[test]
fn an_owners_write_to_a_bar_is_refused_naming_it_and_changes_nothing() {
    with_owner(q35::machine(), |owner, _| {
        assert_refused(
            owner,
            edu(),
            BAR0,
            AccessWidth::Dword,
            0xdead_0000,
            ConfigRegister::Bar(0),
        );
        // One byte into BAR1 is BAR1's.
        assert_refused(
            owner,
            edu(),
            BAR0 + 5,
            AccessWidth::Byte,
            0xff,
            ConfigRegister::Bar(1),
        );
    });
}

#[test]
fn an_owners_write_to_the_command_registers_decode_bits_is_refused() {
    with_owner(q35::machine(), |owner, _| {
        let command = owner
            .config_read(edu(), COMMAND, AccessWidth::Word)
            .unwrap();
        for bit in [COMMAND_MEMORY, COMMAND_IO] {
            assert_refused(
                owner,
                edu(),
                COMMAND,
                AccessWidth::Word,
                command ^ bit,
                ConfigRegister::CommandDecode,
            );
        }
        // A dword write covering command and status, and a byte write.
        assert_refused(
            owner,
            edu(),
            COMMAND,
            AccessWidth::Dword,
            command ^ COMMAND_MEMORY,
            ConfigRegister::CommandDecode,
        );
        assert_refused(
            owner,
            edu(),
            COMMAND,
            AccessWidth::Byte,
            (command ^ COMMAND_MEMORY) & 0xff,
            ConfigRegister::CommandDecode,
        );
    });
}

#[test]
fn an_owners_command_write_that_keeps_the_decode_and_bus_master_bits_lands() {
    with_owner(q35::machine(), |owner, _| {
        let command = owner
            .config_read(edu(), COMMAND, AccessWidth::Word)
            .unwrap();
        let new = command ^ COMMAND_INTX_DISABLE;
        assert_eq!(
            owner.config_write(edu(), COMMAND, AccessWidth::Word, new),
            Ok(())
        );
        assert_eq!(
            owner.config_read(edu(), COMMAND, AccessWidth::Word),
            Ok(new)
        );
    });
}

#[test]
fn bus_mastering_goes_through_enable_bus_master_not_a_command_write() {
    with_owner(q35::machine(), |owner, _| {
        let command = owner
            .config_read(edu(), COMMAND, AccessWidth::Word)
            .unwrap();
        assert_refused(
            owner,
            edu(),
            COMMAND,
            AccessWidth::Word,
            command | COMMAND_BUS_MASTER,
            ConfigRegister::CommandBusMaster,
        );
        assert_eq!(owner.enable_bus_master(edu(), true), Ok(false));
        let now = owner
            .config_read(edu(), COMMAND, AccessWidth::Word)
            .unwrap();
        assert_eq!(now & COMMAND_BUS_MASTER, COMMAND_BUS_MASTER);
    });
}

#[test]
fn an_owners_write_to_the_msi_capability_is_refused() {
    with_owner(q35::machine(), |owner, _| {
        assert_refused(
            owner,
            edu(),
            MSI_ADDRESS_LO,
            AccessWidth::Dword,
            0xfee0_f000,
            ConfigRegister::Msi,
        );
        assert_refused(
            owner,
            edu(),
            MSI_DATA_64,
            AccessWidth::Word,
            0x30,
            ConfigRegister::Msi,
        );
        assert_refused(
            owner,
            edu(),
            FIRST_CAP + 2,
            AccessWidth::Word,
            1,
            ConfigRegister::Msi,
        );
    });
}

#[test]
fn an_owners_write_to_the_msix_capability_is_refused() {
    let edu_msix = FakeFunction::new(
        q35::EDU,
        q35::EDU_VENDOR,
        q35::EDU_DEVICE,
        q35::EDU_CLASS,
        0,
    )
    .mem32_bar(0, q35::EDU_BAR0, q35::EDU_BAR0_SIZE, false)
    .msix(4);
    with_owner(q35::machine().with(edu_msix), |owner, _| {
        assert_refused(
            owner,
            edu(),
            FIRST_CAP + 2,
            AccessWidth::Word,
            0x8000,
            ConfigRegister::MsiX,
        );
    });
}

#[test]
fn an_owners_write_to_the_capability_pointer_or_the_expansion_rom_is_refused() {
    with_owner(q35::machine(), |owner, _| {
        assert_refused(
            owner,
            edu(),
            CAPABILITIES_POINTER,
            AccessWidth::Byte,
            0x80,
            ConfigRegister::CapabilityPointer,
        );
        assert_refused(
            owner,
            edu(),
            EXPANSION_ROM,
            AccessWidth::Dword,
            0xfff0_0001,
            ConfigRegister::ExpansionRom,
        );
    });
}

#[test]
fn a_write_past_the_header_of_a_function_whose_capability_list_loops_is_refused() {
    let looping = FakeFunction::new(
        q35::EDU,
        q35::EDU_VENDOR,
        q35::EDU_DEVICE,
        q35::EDU_CLASS,
        0,
    )
    .raw(0x06, &[0x10, 0])
    .raw(CAPABILITIES_POINTER, &[0x40])
    .raw(0x40, &[0x09, 0x40]);
    with_owner(q35::machine().with(looping), |owner, _| {
        assert_eq!(
            owner.config_write(edu(), 0x80, AccessWidth::Dword, 1),
            refused(edu(), 0x80, ConfigRegister::UncheckableCapabilities)
        );
    });
}

#[test]
fn an_owners_write_to_a_device_register_past_its_capabilities_is_allowed() {
    with_owner(q35::machine(), |owner, _| {
        assert_eq!(
            owner.config_write(edu(), 0x80, AccessWidth::Dword, 1),
            Ok(())
        );
    });
}

#[test]
fn a_bridges_bus_numbers_windows_and_bridge_control_are_refused_even_to_the_broker() {
    let bridge = wire(q35::PCIE_PCI_BRIDGE);
    with_owner(q35::machine(), |_, broker| {
        assert_refused(
            broker,
            bridge,
            BRIDGE_BUSES + 1,
            AccessWidth::Byte,
            5,
            ConfigRegister::BridgeBuses,
        );
        assert_refused(
            broker,
            bridge,
            BRIDGE_MEMORY_WINDOW,
            AccessWidth::Dword,
            0xfff0_0000,
            ConfigRegister::BridgeWindow,
        );
        assert_refused(
            broker,
            bridge,
            BRIDGE_CONTROL,
            AccessWidth::Word,
            0x8,
            ConfigRegister::BridgeWindow,
        );
    });
}

#[test]
fn a_non_owners_config_read_is_refused() {
    let mut s = Endpoint(PciServer::new(q35::machine(), 0, &[BROKER], &[CONSOLE]));
    let system = InProcess::new(TASKS);
    let id = system.register("pci", &mut s).unwrap();
    let mut broker = Client::new(system.client("broker").unwrap(), id);
    broker.set_owner(edu(), Some(DMA_A)).unwrap();
    let mut stranger = Client::new(system.client("dma-b").unwrap(), id);
    let not_owner = Err(ClientError::Op(PciError::NotOwner(edu())));
    assert_eq!(
        stranger.config_read(edu(), 0, AccessWidth::Dword),
        not_owner.map(|()| 0)
    );
    let mut out = [0u8; 16];
    assert_eq!(
        stranger.config_dump(edu(), 0, &mut out),
        not_owner.map(|()| 0)
    );
    assert_eq!(out, [0; 16], "nothing was copied");
}

#[test]
fn an_owner_reads_its_own_device_and_an_operator_reads_any() {
    let mut s = Endpoint(PciServer::new(q35::machine(), 0, &[BROKER], &[CONSOLE]));
    let system = InProcess::new(TASKS);
    let id = system.register("pci", &mut s).unwrap();
    let mut broker = Client::new(system.client("broker").unwrap(), id);
    broker.set_owner(edu(), Some(DMA_A)).unwrap();
    let id_dword = u32::from(q35::EDU_DEVICE) << 16 | u32::from(q35::EDU_VENDOR);
    let mut owner = Client::new(system.client("dma-a").unwrap(), id);
    assert_eq!(
        owner.config_read(edu(), 0, AccessWidth::Dword),
        Ok(id_dword)
    );
    let mut console = Client::new(system.client("console").unwrap(), id);
    assert_eq!(
        console.config_read(edu(), 0, AccessWidth::Dword),
        Ok(id_dword)
    );
    let bridge = wire(q35::PCIE_PCI_BRIDGE);
    assert!(console.config_read(bridge, 0, AccessWidth::Dword).is_ok());
    assert_eq!(
        owner.config_read(bridge, 0, AccessWidth::Dword),
        Err(ClientError::Op(PciError::NotOwner(bridge)))
    );
}
