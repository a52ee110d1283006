//! What the operator can ask for: the parsed [`Command`] and the values it
//! carries. Which words spell each command is [`crate::table`]'s job;
//! reading them is [`crate::parse`]'s.

use core::fmt;

/// Reassignments `bench` times when not told (odd, so the median is one).
pub const BENCH_DEFAULT_COUNT: u16 = 21;
/// The most `bench` times in one command.
pub const BENCH_MAX_COUNT: u64 = 201;

/// How long `dma-storm` runs when not told (ms).
pub const STORM_DEFAULT_MS: u32 = 1000;
/// The longest `dma-storm` (ms).
pub const STORM_MAX_MS: u64 = 10_000;

/// A device as the operator named it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceRef<'a> {
    /// By address: segment, bus, device, function.
    Address {
        segment: u16,
        bus: u8,
        device: u8,
        function: u8,
    },
    /// By app.toml name (resolved by the caller).
    Name(&'a str),
}

/// An interrupt message a hostile device writes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ForgedMsi {
    /// Compatibility format: `vector` to CPU 0, fixed delivery.
    Vector(u8),
    /// Remappable format naming interrupt-remapping entry `handle`.
    Entry(u16),
}

impl ForgedMsi {
    /// The (address, data) the device writes.
    pub fn message(self) -> (u64, u32) {
        let m = match self {
            // CPU 0, as every other interrupt of the machine.
            ForgedMsi::Vector(v) => pci::MsiMessage::x86(0, v),
            ForgedMsi::Entry(h) => pci::MsiMessage::remappable(h),
        };
        (m.address, u32::from(m.data))
    }
}

impl fmt::Display for ForgedMsi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ForgedMsi::Vector(v) => write!(f, "a compatibility-format MSI for vector {v}"),
            ForgedMsi::Entry(h) => write!(f, "a remappable MSI naming entry {h}"),
        }
    }
}

/// A parsed command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command<'a> {
    Help,
    Devices,
    Domains,
    Tasks,
    Assign {
        device: DeviceRef<'a>,
        domain: &'a str,
    },
    Reassign {
        device: DeviceRef<'a>,
        domain: &'a str,
    },
    Quarantine {
        device: DeviceRef<'a>,
    },
    Release {
        device: DeviceRef<'a>,
    },
    Faults,
    Stats,
    Kill {
        task: &'a str,
        /// Fault as the task's `at`th message from now reaches it.
        at: Option<u16>,
    },
    /// Ask the owning worker to DMA; `iova` None = its default target.
    Dma {
        device: DeviceRef<'a>,
        iova: Option<u64>,
    },
    /// Start a DMA, reassign mid-flight, report where it landed.
    DmaMove {
        device: DeviceRef<'a>,
        domain: &'a str,
        iova: Option<u64>,
    },
    /// The device raises its interrupt; show whom it reached.
    Irq {
        device: DeviceRef<'a>,
    },
    /// Which task holds the device's registers, by the kernel's page
    /// tables.
    Regs {
        device: DeviceRef<'a>,
    },
    /// Worker `task` reads the device's ID register without asking the
    /// kernel whether it holds it.
    Touch {
        device: DeviceRef<'a>,
        task: &'a str,
    },
    /// The device's owner makes it DMA-write an interrupt message.
    ForgeMsi {
        device: DeviceRef<'a>,
        forged: ForgedMsi,
    },
    /// The device's owner DMAs to `iova` over and over for `millis` ms.
    DmaStorm {
        device: DeviceRef<'a>,
        iova: u64,
        millis: u32,
    },
    /// Time `count` reassignments of a device, alternating between two
    /// domains (it starts in `first` when it is elsewhere).
    Bench {
        device: DeviceRef<'a>,
        first: &'a str,
        second: &'a str,
        count: u16,
    },
    Shutdown,
    /// An empty line.
    Nothing,
}
