//! The system's capacities: how many IOMMU units, devices, PCI functions,
//! domains and quarantined devices the broker's books, the iommu's ledger,
//! domid's maps and pci's topology hold.
//!
//! No task allocates, so every table is sized when the firmware is built.
//! The sizes come from the system description: app.toml's `[capacity]`
//! table, which xtask checks and passes to the build as one environment
//! variable per key (`CUSTODY_CAPACITY_UNITS`, ...); a key app.toml leaves
//! out, and every host build (tests, the simulator), gets the default. The
//! defaults hold a two-socket server (a dozen remapping units, hundreds of
//! functions), not just QEMU's machine.
//!
//! A table that needs more than a capacity is never cut silently: whoever
//! meets the limit names it with [`Capacity::describe`], which says the key
//! that raises it.
#![no_std]

/// One capacity: its app.toml key, its build variable, its default and
/// what it counts.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Capacity {
    /// The key under `[capacity]` in app.toml.
    pub key: &'static str,
    /// The environment variable the build reads.
    pub env: &'static str,
    /// The value when app.toml says nothing.
    pub default: usize,
    /// The least value a system may set.
    pub min: usize,
    /// The most value a system may set (the tables' memory stays bounded).
    pub max: usize,
    /// What it counts, as a noun phrase.
    pub counts: &'static str,
    /// The value this build uses.
    pub value: usize,
}

impl Capacity {
    /// One line naming the limit and how to raise it, for a table that
    /// needs `needed`.
    pub fn describe(&self, needed: usize) -> Describe {
        Describe {
            capacity: *self,
            needed,
        }
    }
}

/// [`Capacity::describe`]'s text.
pub struct Describe {
    capacity: Capacity,
    needed: usize,
}

impl core::fmt::Display for Describe {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let c = &self.capacity;
        write!(
            f,
            "{} {} needed, the build holds {} (app.toml [capacity] {} = {}, at most {})",
            self.needed, c.counts, c.value, c.key, self.needed, c.max
        )
    }
}

/// `text` as a decimal number, at compile time; `default` when absent.
/// A malformed value stops the build (xtask checks app.toml first, so only
/// a hand-set variable can get here).
pub const fn parse(text: Option<&str>, default: usize) -> usize {
    let Some(text) = text else {
        return default;
    };
    let bytes = text.as_bytes();
    assert!(!bytes.is_empty(), "an empty CUSTODY_CAPACITY_* variable");
    let mut value: usize = 0;
    let mut i = 0;
    while i < bytes.len() {
        let d = bytes[i];
        assert!(
            d.is_ascii_digit(),
            "a CUSTODY_CAPACITY_* variable is not a decimal number"
        );
        value = match value.checked_mul(10) {
            Some(v) => v,
            None => panic!("a CUSTODY_CAPACITY_* variable is too large"),
        };
        value = match value.checked_add((d - b'0') as usize) {
            Some(v) => v,
            None => panic!("a CUSTODY_CAPACITY_* variable is too large"),
        };
        i += 1;
    }
    value
}

macro_rules! capacities {
    ($($(#[$doc:meta])* $name:ident = $key:literal, $env:literal, $default:literal, $min:literal..=$max:literal, $counts:literal;)*) => {
        $(
            $(#[$doc])*
            pub const $name: Capacity = {
                let value = parse(option_env!($env), $default);
                assert!(value >= $min && value <= $max, concat!($env, " is out of range"));
                Capacity {
                    key: $key,
                    env: $env,
                    default: $default,
                    min: $min,
                    max: $max,
                    counts: $counts,
                    value,
                }
            };
        )*
        /// Every capacity, in app.toml's order.
        pub const ALL: &[Capacity] = &[$($name),*];
    };
}

capacities! {
    /// Remapping units (DRHDs) the iommu drives and domid keeps DIDs for.
    UNITS = "units", "CUSTODY_CAPACITY_UNITS", 16, 1..=64, "remapping units";
    /// Devices the broker keeps books for.
    DEVICES = "devices", "CUSTODY_CAPACITY_DEVICES", 256, 1..=4096, "devices";
    /// PCI functions pci's topology holds (bridges, endpoints, everything
    /// enumerated).
    FUNCTIONS = "functions", "CUSTODY_CAPACITY_FUNCTIONS", 512, 8..=8192, "PCI functions";
    /// Domains with books, page tables and DIDs at once.
    DOMAINS = "domains", "CUSTODY_CAPACITY_DOMAINS", 32, 2..=1024, "domains";
    /// Devices in quarantine (each with its own tables) at once.
    QUARANTINED = "quarantined", "CUSTODY_CAPACITY_QUARANTINED", 32, 1..=4096, "quarantined devices";
}

/// The capacity named `key` in app.toml.
pub fn by_key(key: &str) -> Option<&'static Capacity> {
    ALL.iter().find(|c| c.key == key)
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::string::ToString;

    use super::*;

    #[test]
    fn a_missing_variable_gives_the_default() {
        assert_eq!(parse(None, 16), 16);
        assert_eq!(parse(Some("0042"), 16), 42);
    }

    #[test]
    fn host_builds_get_the_defaults() {
        for c in ALL {
            assert_eq!(c.value, c.default, "{}", c.key);
            assert!(c.min <= c.default && c.default <= c.max, "{}", c.key);
        }
    }

    #[test]
    fn the_limit_names_the_key_that_raises_it() {
        let line = UNITS.describe(20).to_string();
        assert_eq!(
            line,
            "20 remapping units needed, the build holds 16 (app.toml [capacity] units = 20, at most 64)"
        );
        assert_eq!(by_key("devices"), Some(&DEVICES));
        assert_eq!(by_key("nope"), None);
    }
}
