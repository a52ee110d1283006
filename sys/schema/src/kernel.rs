//! Descriptors of the image, written by xtask into the kernel's config file
//! (`kern::desc` re-exports them).
//!
//! They are `'static` data: the kernel reads them at boot (to build each
//! task's address space) and again at every restart (to re-initialize the
//! task's writable memory from the pristine bytes kept here).

/// Segment permission bits (from the task ELF's program headers).
pub mod seg {
    /// Readable.
    pub const R: u8 = 4;
    /// Writable.
    pub const W: u8 = 2;
    /// Executable.
    pub const X: u8 = 1;
}

/// One loadable segment of a task's ELF.
#[derive(Debug)]
pub struct Segment {
    /// Where the task sees it (page-aligned by the task linker script).
    pub vaddr: u64,
    /// Size in memory; bytes past `data` are zero.
    pub memsz: u64,
    /// [`seg`] bits.
    pub flags: u8,
    /// The file bytes, kept pristine for restarts.
    pub data: &'static [u8],
}

/// What a granted region is: app.toml's `kind` (kebab-case there, e.g.
/// `acpi-tables`) read by xtask into this very enum.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Deserialize),
    serde(rename_all = "kebab-case")
)]
pub enum RegionKind {
    /// Device registers: mapped uncached at a fixed physical address.
    Mmio,
    /// Memory a device may DMA into: fixed physical address, kept across
    /// restarts (a device may still be writing there), zeroed at boot.
    Dma,
    /// Memory whose contents survive the task's restart.
    Persist,
    /// Ordinary memory, zeroed at every start.
    Ram,
    /// A read-only snapshot of the firmware's ACPI tables, taken at boot
    /// (see `kern::acpi_window`).
    AcpiTables,
}

/// A region granted to a task.
#[derive(Debug)]
pub struct RegionDesc {
    /// Its name in app.toml.
    pub name: &'static str,
    /// Where the task sees it.
    pub vaddr: u64,
    /// Where it is.
    pub paddr: u64,
    /// Bytes, a multiple of 4 KiB.
    pub size: u64,
    /// What it is.
    pub kind: RegionKind,
    /// Whether the task may write it.
    pub writable: bool,
}

/// A range of I/O ports a task may use directly (TSS I/O bitmap).
#[derive(Debug)]
pub struct PortRange {
    /// First port.
    pub base: u16,
    /// How many.
    pub count: u16,
}

/// An interrupt vector that becomes a notification of a task.
#[derive(Debug)]
pub struct IrqDesc {
    /// The IDT vector (MSI data, or IOAPIC redirection).
    pub vector: u8,
    /// The notification bits posted when it fires.
    pub notification: u32,
    /// The IOAPIC input it comes from, or [`NO_GSI`] for an MSI.
    pub gsi: u8,
}

/// [`IrqDesc::gsi`] of an interrupt that does not come through the IOAPIC.
pub const NO_GSI: u8 = u8::MAX;

/// One task of the image.
#[derive(Debug)]
pub struct TaskDesc {
    /// Its name in app.toml.
    pub name: &'static str,
    /// 0 is the highest.
    pub priority: u8,
    /// Entry point.
    pub entry: u64,
    /// Loadable segments.
    pub segments: &'static [Segment],
    /// Top of the stack (exclusive); a guard page lies below the bottom.
    pub stack_top: u64,
    /// Stack bytes.
    pub stack_size: u64,
    /// Granted regions.
    pub regions: &'static [RegionDesc],
    /// Granted I/O ports.
    pub io_ports: &'static [PortRange],
    /// Interrupts routed to it.
    pub irqs: &'static [IrqDesc],
    /// Whether it starts at boot.
    pub start: bool,
    /// Whom it may send to and post to (app.toml `task-slots`, `notify`).
    pub rights: crate::rights::Rights,
    /// Where device registers granted to it are mapped (device `d` at
    /// `device_window + DEVICES[d].offset`), or [`NO_DEVICE_WINDOW`]: only
    /// domain owners may hold a device's registers.
    pub device_window: u64,
}

/// [`TaskDesc::device_window`] of a task that may hold no device's
/// registers.
pub const NO_DEVICE_WINDOW: u64 = 0;

/// A device's registers in custody (app.toml `[devices]`, in order): mapped
/// only into the task that owns the device, on the custodian's word.
#[derive(Debug)]
pub struct DeviceRegs {
    /// Its name in app.toml.
    pub name: &'static str,
    /// BAR0's physical base (app.toml `bar0`), or 0: no registers in
    /// custody.
    pub paddr: u64,
    /// BAR0's size (app.toml `bar0-size`), a multiple of 4 KiB.
    pub size: u64,
    /// Where in a device window it goes.
    pub offset: u64,
    /// The task that holds it at boot (its initial domain's owner), or
    /// `abi::NO_HOLDER`.
    pub initial_holder: u16,
}

/// The whole image.
#[derive(Debug)]
pub struct AppDesc {
    /// The application's name.
    pub name: &'static str,
    /// Tasks, by index.
    pub tasks: &'static [TaskDesc],
    /// The supervisor's index.
    pub supervisor: u16,
    /// Bits posted to the supervisor when a task faults.
    pub fault_notification: u32,
    /// The task that grants and revokes device registers (app.toml
    /// `device-custodian`), or `abi::NO_HOLDER`.
    pub custodian: u16,
    /// Every app.toml device, by index.
    pub devices: &'static [DeviceRegs],
}
