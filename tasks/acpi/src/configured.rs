//! The extra RMRRs app.toml declares (`config::system::RMRRS`), turned into the
//! [`ExtraRmrr`]s the server checks and serves.
//!
//! No heap: the caller provides the storage (sized from the table at build
//! time), and a table larger than it is an error naming the counts.

use core::fmt;

use acpi::extra_rmrr::{ExtraRmrr, PciAddress};

/// One configured RMRR as xtask generates it.
pub use config_schema::system::Rmrr as ConfiguredRmrr;

/// Why the configured RMRRs do not fit the storage given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfiguredError {
    /// More RMRRs than slots.
    TooManyRmrrs {
        /// RMRRs configured.
        count: usize,
        /// Slots given.
        capacity: usize,
    },
    /// More devices (over all RMRRs) than address slots.
    TooManyDevices {
        /// The RMRR whose devices did not fit (0-based).
        rmrr: usize,
        /// Address slots given.
        capacity: usize,
    },
}

impl fmt::Display for ConfiguredError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfiguredError::TooManyRmrrs { count, capacity } => {
                write!(f, "{count} configured RMRRs, room for {capacity}")
            }
            ConfiguredError::TooManyDevices { rmrr, capacity } => write!(
                f,
                "the devices of configured RMRR #{rmrr} exceed the {capacity} address slots"
            ),
        }
    }
}

/// Devices named over all of `table` (to size the address storage).
pub const fn device_count(table: &[ConfiguredRmrr]) -> usize {
    let mut total = 0;
    let mut i = 0;
    while i < table.len() {
        total += table[i].devices.len();
        i += 1;
    }
    total
}

/// The PCI address a requester ID names on `segment`.
fn address(segment: u16, rid: u16) -> PciAddress {
    PciAddress {
        segment,
        bus: (rid >> 8) as u8,
        device: ((rid >> 3) & 0x1f) as u8,
        function: (rid & 0x7) as u8,
    }
}

/// Fills `out` with `table`'s RMRRs, their devices stored in `addresses`;
/// returns how many RMRRs were written (all of `table`).
pub fn configured_rmrrs<'a>(
    table: &[ConfiguredRmrr],
    addresses: &'a mut [PciAddress],
    out: &mut [ExtraRmrr<'a>],
) -> Result<usize, ConfiguredError> {
    if table.len() > out.len() {
        return Err(ConfiguredError::TooManyRmrrs {
            count: table.len(),
            capacity: out.len(),
        });
    }
    let capacity = addresses.len();
    let mut free = addresses;
    for (index, (rmrr, slot)) in table.iter().zip(out.iter_mut()).enumerate() {
        let devices = rmrr.devices;
        if devices.len() > free.len() {
            return Err(ConfiguredError::TooManyDevices {
                rmrr: index,
                capacity,
            });
        }
        let (mine, rest) = core::mem::take(&mut free).split_at_mut(devices.len());
        for (a, d) in mine.iter_mut().zip(devices.iter()) {
            *a = address(d.segment, d.rid);
        }
        free = rest;
        *slot = ExtraRmrr {
            base: rmrr.base,
            end: rmrr.end,
            devices: mine,
        };
    }
    Ok(table.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use config_schema::system::PciAddress as PciAddress2;

    const fn rmrr(base: u64, end: u64, devices: &'static [PciAddress2]) -> ConfiguredRmrr {
        ConfiguredRmrr { base, end, devices }
    }

    const NONE: PciAddress = PciAddress {
        segment: 0,
        bus: 0,
        device: 0,
        function: 0,
    };
    const EMPTY: ExtraRmrr<'static> = ExtraRmrr {
        base: 0,
        end: 0,
        devices: &[],
    };

    #[test]
    fn requester_ids_become_bus_device_function() {
        let table: [ConfiguredRmrr; 2] = [
            rmrr(
                0x300_0000,
                0x300_0fff,
                &[PciAddress2 {
                    segment: 0,
                    rid: 0x0108,
                }],
            ),
            rmrr(
                0x310_0000,
                0x310_1fff,
                &[
                    PciAddress2 {
                        segment: 0,
                        rid: 0x0010,
                    },
                    PciAddress2 {
                        segment: 1,
                        rid: 0x00ff,
                    },
                ],
            ),
        ];
        let mut addrs = [NONE; 3];
        let mut out = [EMPTY; 2];
        assert_eq!(configured_rmrrs(&table, &mut addrs, &mut out), Ok(2));
        assert_eq!(out[0].base, 0x300_0000);
        assert_eq!(out[0].end, 0x300_0fff);
        assert_eq!(
            out[0].devices,
            &[PciAddress {
                segment: 0,
                bus: 1,
                device: 1,
                function: 0
            }]
        );
        assert_eq!(
            out[1].devices,
            &[
                PciAddress {
                    segment: 0,
                    bus: 0,
                    device: 2,
                    function: 0
                },
                PciAddress {
                    segment: 1,
                    bus: 0,
                    device: 0x1f,
                    function: 7
                }
            ]
        );
    }

    #[test]
    fn more_rmrrs_than_slots_is_an_error() {
        let table: [ConfiguredRmrr; 2] = [rmrr(0, 0xfff, &[]), rmrr(0x1000, 0x1fff, &[])];
        let mut out = [EMPTY; 1];
        assert_eq!(
            configured_rmrrs(&table, &mut [], &mut out),
            Err(ConfiguredError::TooManyRmrrs {
                count: 2,
                capacity: 1
            })
        );
    }

    #[test]
    fn more_devices_than_address_slots_is_an_error_naming_the_rmrr() {
        let table: [ConfiguredRmrr; 2] = [
            rmrr(0, 0xfff, &[PciAddress2 { segment: 0, rid: 8 }]),
            rmrr(
                0x1000,
                0x1fff,
                &[PciAddress2 {
                    segment: 0,
                    rid: 16,
                }],
            ),
        ];
        let mut addrs = [NONE; 1];
        let mut out = [EMPTY; 2];
        assert_eq!(
            configured_rmrrs(&table, &mut addrs, &mut out),
            Err(ConfiguredError::TooManyDevices {
                rmrr: 1,
                capacity: 1
            })
        );
    }

    #[test]
    fn device_count_sums_every_rmrr() {
        let table: [ConfiguredRmrr; 3] = [
            rmrr(0, 0, &[PciAddress2 { segment: 0, rid: 1 }]),
            rmrr(0, 0, &[]),
            rmrr(
                0,
                0,
                &[
                    PciAddress2 { segment: 0, rid: 2 },
                    PciAddress2 { segment: 0, rid: 3 },
                ],
            ),
        ];
        assert_eq!(device_count(&table), 3);
    }
}
