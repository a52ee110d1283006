//! The system app.toml describes beyond tasks: the PCI devices custody
//! manages, the DMA domains and who owns them, extra RMRRs (QEMU emits
//! none; Xen's `rmrr=` option is the model) and the broker's operators.
//! Checked here like the rest of app.toml, and handed to every task as
//! `config::system` constants.
//!
//! ```toml
//! [devices.edu0]
//! address = "00:02.0"          # [segment:]bus:device.function
//! domain = "dma_a"             # initial owner; none = quarantine
//! bar0 = 0xfe000000            # optional: where the pci task puts BAR0
//! bar0-size = 0x100000         # optional: BAR0's registers in custody,
//!                              # mapped only into the owner (needs bar0)
//!
//! [domains.dma_a]
//! owner = "dma_a"              # the task that owns the domain
//! maps = [{ iova = 0x100000, region = "dma-a-buf" }]
//!
//! [[platform.rmrr]]
//! base = 0x3000000
//! end = 0x3000fff              # inclusive, as in the DMAR table
//! devices = ["00:04.0"]
//!
//! [broker]
//! operators = ["console"]      # tasks that may assign anything
//! fault-budget = 8             # DMA faults per second before quarantine
//! ```

use serde::Deserialize;

use crate::app::{App, RegionKind};

/// A PCI address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Address {
    pub segment: u16,
    pub bus: u8,
    pub device: u8,
    pub function: u8,
}

impl Address {
    /// Parses `[SSSS:]BB:DD.F`.
    pub fn parse(s: &str) -> Result<Address, String> {
        let bad = || format!("\"{s}\" is not a PCI address ([segment:]bus:device.function, hex)");
        let (head, func) = s.rsplit_once('.').ok_or_else(bad)?;
        let parts: Vec<&str> = head.split(':').collect();
        let (seg, bus, dev) = match parts.as_slice() {
            [b, d] => ("0", *b, *d),
            [s, b, d] => (*s, *b, *d),
            _ => return Err(bad()),
        };
        let hex = |x: &str, max: u32| {
            u32::from_str_radix(x, 16)
                .ok()
                .filter(|v| *v <= max)
                .ok_or_else(bad)
        };
        Ok(Address {
            segment: hex(seg, 0xFFFF)? as u16,
            bus: hex(bus, 0xFF)? as u8,
            device: hex(dev, 0x1F)? as u8,
            function: hex(func, 7)? as u8,
        })
    }

    /// The requester ID (bus << 8 | devfn).
    pub fn rid(&self) -> u16 {
        (self.bus as u16) << 8 | (self.device as u16) << 3 | self.function as u16
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeviceToml {
    address: String,
    domain: Option<String>,
    /// Where the pci task places the device's BAR0 (so tasks can be
    /// granted its registers as an mmio region at a fixed address).
    bar0: Option<u64>,
    /// BAR0's size: its registers are in custody, mapped by the kernel
    /// only into the task that owns the device, on the broker's word.
    #[serde(rename = "bar0-size")]
    bar0_size: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MapToml {
    iova: u64,
    region: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DomainToml {
    owner: String,
    #[serde(default)]
    maps: Vec<MapToml>,
    /// The owner's notification (routed to a vector by its `interrupts`)
    /// that the domain's devices' interrupts reach.
    #[serde(default)]
    interrupt: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RmrrToml {
    base: u64,
    end: u64,
    devices: Vec<String>,
    /// Test images only: hand the RMRR over as if the firmware's DMAR
    /// declared it, without the build's check against custody memory, so
    /// the acpi task's run-time refusal can be tested.
    #[serde(default)]
    as_firmware: bool,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PlatformToml {
    #[serde(default)]
    rmrr: Vec<RmrrToml>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct BrokerToml {
    #[serde(default)]
    operators: Vec<String>,
    #[serde(rename = "fault-budget")]
    fault_budget: Option<i64>,
}

/// `[broker] fault-budget` when app.toml leaves it out: a device that
/// makes more DMA faults than this within a second goes to quarantine.
pub const DEFAULT_FAULT_BUDGET: u32 = 8;
/// The largest `fault-budget` app.toml may set.
pub const MAX_FAULT_BUDGET: u32 = 1_000_000;

/// The raw tables, as app.toml holds them.
#[derive(Debug, Default)]
pub struct SystemToml {
    pub devices: toml::map::Map<String, toml::Value>,
    pub domains: toml::map::Map<String, toml::Value>,
    pub platform: Option<toml::Value>,
    pub broker: Option<toml::Value>,
}

/// A checked device.
#[derive(Debug, Clone)]
pub struct Device {
    pub name: String,
    pub address: Address,
    /// Index into `System::domains`.
    pub domain: Option<usize>,
    /// The BAR0 placement, if app.toml fixes it.
    pub bar0: Option<u64>,
    /// BAR0's size when its registers are in custody.
    pub bar0_size: Option<u64>,
}

/// The largest BAR app.toml may put in custody (each domain owner keeps a
/// window for every device's registers).
pub const MAX_BAR_SIZE: u64 = 0x0100_0000;

/// A checked domain.
#[derive(Debug, Clone)]
pub struct Domain {
    pub name: String,
    /// Task index of the owner.
    pub owner: usize,
    /// (iova, region index).
    pub maps: Vec<(u64, usize)>,
    /// The vector the domain's devices' interrupts are remapped to: the
    /// one the owner's `interrupts` routes its `interrupt` notification to.
    pub vector: Option<u8>,
}

/// A checked extra RMRR.
#[derive(Debug, Clone)]
pub struct Rmrr {
    pub base: u64,
    pub end: u64,
    pub devices: Vec<Address>,
    /// Not checked against custody memory by the build (test images).
    pub as_firmware: bool,
}

/// Everything beyond the tasks.
#[derive(Debug, Clone, Default)]
pub struct System {
    pub devices: Vec<Device>,
    pub domains: Vec<Domain>,
    pub rmrrs: Vec<Rmrr>,
    /// Task indices.
    pub operators: Vec<usize>,
    /// DMA faults a device may make within the broker's fault interval
    /// before it is quarantined.
    pub fault_budget: u32,
}

const PAGE: u64 = 4096;
/// Domain numbers start here (0 is reserved for "no domain").
pub const FIRST_DOMAIN_ID: u16 = 1;

/// Checks the system tables against the app's tasks and regions. Errors
/// name the table and key, like the rest of app.toml's.
pub fn check(raw: SystemToml, app: &App) -> Result<System, (String, String)> {
    let task = |place: &str, key: &str, name: &str| {
        app.tasks
            .iter()
            .position(|t| t.name == name)
            .ok_or_else(|| {
                (
                    place.to_string(),
                    format!("{key}: no task named \"{name}\""),
                )
            })
    };
    let mut domains = Vec::new();
    for (name, v) in &raw.domains {
        let place = format!("[domains.{name}]");
        let d: DomainToml = v
            .clone()
            .try_into()
            .map_err(|e: toml::de::Error| (place.clone(), e.message().trim().to_string()))?;
        let owner = task(&place, "owner", &d.owner)?;
        let mut maps = Vec::new();
        for m in &d.maps {
            let Some(ri) = app.regions.iter().position(|r| r.name == m.region) else {
                return Err((place, format!("maps: no region named \"{}\"", m.region)));
            };
            if app.regions[ri].kind != RegionKind::Dma {
                return Err((
                    place,
                    format!("maps: region \"{}\" is not kind = \"dma\"", m.region),
                ));
            }
            if !m.iova.is_multiple_of(PAGE) {
                return Err((
                    place,
                    format!("maps: iova {:#x} is not 4 KiB aligned", m.iova),
                ));
            }
            maps.push((m.iova, ri));
        }
        let vector = match &d.interrupt {
            None => None,
            Some(note) => Some(msi_vector(&app.tasks[owner], note).ok_or_else(|| {
                (
                    place.clone(),
                    format!(
                        "interrupt: task \"{}\" routes no notification \"{note}\" (add it to its notifications and `interrupts = {{ {note} = VECTOR }}`)",
                        d.owner
                    ),
                )
            })?),
        };
        domains.push(Domain {
            name: name.clone(),
            owner,
            maps,
            vector,
        });
    }
    let mut devices: Vec<Device> = Vec::new();
    for (name, v) in &raw.devices {
        let place = format!("[devices.{name}]");
        let d: DeviceToml = v
            .clone()
            .try_into()
            .map_err(|e: toml::de::Error| (place.clone(), e.message().trim().to_string()))?;
        let address =
            Address::parse(&d.address).map_err(|e| (place.clone(), format!("address: {e}")))?;
        if let Some(other) = devices.iter().find(|x| x.address == address) {
            return Err((
                place,
                format!("address: {} is also device \"{}\"", d.address, other.name),
            ));
        }
        let domain = match &d.domain {
            None => None,
            Some(dn) => Some(
                domains
                    .iter()
                    .position(|x| &x.name == dn)
                    .ok_or_else(|| (place.clone(), format!("domain: no domain named \"{dn}\"")))?,
            ),
        };
        if let Some(b) = d.bar0 {
            if !b.is_multiple_of(PAGE) || b >= 1 << 32 {
                return Err((
                    place,
                    format!("bar0: {b:#x} is not a 4 KiB-aligned address below 4 GiB"),
                ));
            }
        }
        if let Some(size) = d.bar0_size {
            check_bar_size(d.bar0, size, app).map_err(|m| (place.clone(), m))?;
        }
        devices.push(Device {
            name: name.clone(),
            address,
            domain,
            bar0: d.bar0,
            bar0_size: d.bar0_size,
        });
    }
    let platform: PlatformToml = match raw.platform {
        None => PlatformToml::default(),
        Some(v) => v.try_into().map_err(|e: toml::de::Error| {
            ("[platform]".to_string(), e.message().trim().to_string())
        })?,
    };
    let mut rmrrs = Vec::new();
    for (i, r) in platform.rmrr.iter().enumerate() {
        let place = format!("[[platform.rmrr]] #{}", i + 1);
        if r.end < r.base {
            return Err((
                place,
                format!("end: {:#x} is below base {:#x}", r.end, r.base),
            ));
        }
        if !r.base.is_multiple_of(PAGE) || !(r.end + 1).is_multiple_of(PAGE) {
            return Err((
                place,
                "base/end: an RMRR covers whole 4 KiB pages (end is inclusive: ...fff)".into(),
            ));
        }
        let mut addrs = Vec::new();
        for d in &r.devices {
            let a = Address::parse(d).map_err(|e| (place.clone(), format!("devices: {e}")))?;
            if !devices.iter().any(|x| x.address == a) {
                return Err((place, format!("devices: {d} is not one of [devices]")));
            }
            addrs.push(a);
        }
        if addrs.is_empty() {
            return Err((place, "devices: an RMRR needs at least one device".into()));
        }
        if let Some(prev) = rmrrs
            .iter()
            .position(|p: &Rmrr| r.base <= p.end && p.base <= r.end)
        {
            return Err((place, format!("base: overlaps RMRR #{}", prev + 1)));
        }
        if r.as_firmware && app.test.is_none() {
            return Err((
                place,
                "as-firmware: a hostile-firmware stand-in, only for test images (with [test])"
                    .into(),
            ));
        }
        rmrrs.push(Rmrr {
            base: r.base,
            end: r.end,
            devices: addrs,
            as_firmware: r.as_firmware,
        });
    }
    let broker: BrokerToml = match raw.broker {
        None => BrokerToml::default(),
        Some(v) => v.try_into().map_err(|e: toml::de::Error| {
            ("[broker]".to_string(), e.message().trim().to_string())
        })?,
    };
    let mut operators = Vec::new();
    for o in &broker.operators {
        operators.push(task("[broker]", "operators", o)?);
    }
    let fault_budget = match broker.fault_budget {
        None => DEFAULT_FAULT_BUDGET,
        Some(n) => u32::try_from(n)
            .ok()
            .filter(|n| (1..=MAX_FAULT_BUDGET).contains(n))
            .ok_or_else(|| {
                (
                    "[broker] fault-budget".to_string(),
                    format!(
                        "{n}: DMA faults a device may make per second before quarantine, 1..={MAX_FAULT_BUDGET}"
                    ),
                )
            })?,
    };
    app.capacity
        .holds(&capacity::DEVICES, devices.len(), "[devices]")?;
    app.capacity
        .holds(&capacity::DOMAINS, domains.len(), "[domains]")?;
    Ok(System {
        devices,
        domains,
        rmrrs,
        operators,
        fault_budget,
    })
}

/// The MSI vector `task` routes its notification `note` to (not through
/// the IOAPIC), if any.
fn msi_vector(task: &crate::app::Task, note: &str) -> Option<u8> {
    let bit = 1u32 << task.notifications.iter().position(|n| n == note)?;
    task.irqs
        .iter()
        .find(|(_, b, gsi)| *b == bit && gsi.is_none())
        .map(|(vector, _, _)| *vector)
}

/// `bar0-size`: a power of two from 4 KiB to [`MAX_BAR_SIZE`], BAR0
/// naturally aligned to it (as PCI places BARs), and a custodian to move it.
fn check_bar_size(bar0: Option<u64>, size: u64, app: &App) -> Result<(), String> {
    let Some(base) = bar0 else {
        return Err(format!(
            "bar0-size: {size:#x} without bar0: registers in custody need a fixed BAR0 address"
        ));
    };
    if !size.is_power_of_two() || !(PAGE..=MAX_BAR_SIZE).contains(&size) {
        return Err(format!(
            "bar0-size: {size:#x} is not a power of two from 0x1000 to {MAX_BAR_SIZE:#x}"
        ));
    }
    if !base.is_multiple_of(size) {
        return Err(format!(
            "bar0-size: bar0 {base:#x} is not aligned to its size {size:#x} (PCI aligns a BAR to its size)"
        ));
    }
    if app.custodian.is_none() {
        return Err(
            "bar0-size: registers in custody need a task with device-custodian = true (the broker) to move them"
                .into(),
        );
    }
    Ok(())
}
