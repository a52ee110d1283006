//! `[capacity]`: the sizes of the system's tables (units, devices, PCI
//! functions, domains, quarantined devices), passed to every firmware build
//! as `CUSTODY_CAPACITY_*` variables (see the `capacity` crate for what
//! each one sizes and its default).
//!
//! A key app.toml leaves out gets the default. Every key is passed, set or
//! not, so a changed value rebuilds exactly what it sizes.

use capacity::Capacity;

/// Every capacity with the value this system uses.
#[derive(Clone, Debug)]
pub struct Capacities {
    values: Vec<(&'static Capacity, usize)>,
}

impl Default for Capacities {
    fn default() -> Self {
        Capacities {
            values: capacity::ALL.iter().map(|c| (c, c.default)).collect(),
        }
    }
}

impl Capacities {
    /// The value of `c` in this system.
    pub fn of(&self, c: &Capacity) -> usize {
        self.values
            .iter()
            .find(|(k, _)| k.key == c.key)
            .map(|(_, v)| *v)
            .unwrap_or(c.default)
    }

    /// The build's environment: one `CUSTODY_CAPACITY_*` per capacity.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        self.values
            .iter()
            .map(|(c, v)| (c.env, v.to_string()))
            .collect()
    }

    /// Refuses `count` items of what `c` counts when the system holds fewer,
    /// naming the key to raise.
    pub fn holds(&self, c: &Capacity, count: usize, place: &str) -> Result<(), (String, String)> {
        let have = self.of(c);
        if count <= have {
            return Ok(());
        }
        Err((
            place.to_string(),
            format!(
                "declares {count} {}, more than [capacity] {} = {have} holds; raise it (at most {})",
                c.counts, c.key, c.max
            ),
        ))
    }
}

/// Reads `[capacity]`: known keys, integers in each one's range.
pub fn check(raw: &toml::map::Map<String, toml::Value>) -> Result<Capacities, (String, String)> {
    let mut out = Capacities::default();
    for (key, value) in raw {
        let place = "[capacity]".to_string();
        let Some(c) = capacity::by_key(key) else {
            let known: Vec<&str> = capacity::ALL.iter().map(|c| c.key).collect();
            return Err((
                place,
                format!("{key}: no such capacity (known: {})", known.join(", ")),
            ));
        };
        let n = value
            .as_integer()
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| {
                (
                    place.clone(),
                    format!("{key}: {value} is not a whole number of {}", c.counts),
                )
            })?;
        if n < c.min || n > c.max {
            return Err((
                place,
                format!("{key}: {n} is outside {}..={} {}", c.min, c.max, c.counts),
            ));
        }
        if let Some(slot) = out.values.iter_mut().find(|(k, _)| k.key == c.key) {
            slot.1 = n;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> toml::map::Map<String, toml::Value> {
        toml::from_str(text).expect("test TOML")
    }

    #[test]
    fn capacity_keys_left_out_get_their_defaults() {
        let c = check(&table("units = 20")).expect("valid");
        assert_eq!(c.of(&capacity::UNITS), 20);
        assert_eq!(c.of(&capacity::DEVICES), capacity::DEVICES.default);
        assert!(c
            .env()
            .contains(&("CUSTODY_CAPACITY_UNITS", "20".to_string())));
    }

    #[test]
    fn capacity_unknown_key_wrong_type_and_range_are_refused_by_name() {
        let e = check(&table("unit = 4")).unwrap_err();
        assert!(
            e.1.starts_with("unit: no such capacity (known: units,"),
            "{e:?}"
        );
        let e = check(&table("units = \"many\"")).unwrap_err();
        assert!(
            e.1.contains("not a whole number of remapping units"),
            "{e:?}"
        );
        let e = check(&table("units = 0")).unwrap_err();
        assert!(e.1.contains("outside 1..=64"), "{e:?}");
        let e = check(&table("devices = -1")).unwrap_err();
        assert!(e.1.contains("devices"), "{e:?}");
    }

    #[test]
    fn a_system_beyond_a_capacity_names_the_key_to_raise() {
        let c = check(&table("domains = 2")).expect("valid");
        assert!(c.holds(&capacity::DOMAINS, 2, "[domains]").is_ok());
        let e = c.holds(&capacity::DOMAINS, 3, "[domains]").unwrap_err();
        assert_eq!(e.0, "[domains]");
        assert_eq!(
            e.1,
            "declares 3 domains, more than [capacity] domains = 2 holds; raise it (at most 1024)"
        );
    }
}
