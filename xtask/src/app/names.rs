//! app.toml's names as the generated config's constants: `edu0-bar` is
//! `config::regions::EDU0_BAR`. Two names of one module that become the
//! same constant (`dma-a` and `dma_a`) would make the generated file fail
//! to compile with rustc's words; they are refused here with ours.

use std::collections::BTreeMap;

use super::App;

/// `name` as an upper-case Rust constant name: every character but an
/// ASCII letter or digit becomes `_`, and one that does not start with a
/// letter gets `N_` before it, so every name is an identifier.
pub fn const_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    if !out.starts_with(|c: char| c.is_ascii_alphabetic()) {
        out.insert_str(0, "N_");
    }
    out
}

/// The first pair of names of one module that share a constant, as
/// `(place, message)`.
pub fn check(app: &App) -> Result<(), (String, String)> {
    let tasks = app.tasks.iter().map(|t| t.name.as_str());
    distinct("[tasks]", "task names", "config::tasks", tasks)?;
    for t in &app.tasks {
        let place = format!("[tasks.{}]", t.name);
        let slots = t.slots.iter().map(|(s, _)| s.as_str());
        distinct(&place, "task-slots", "config::slots", slots)?;
        let notes = t.notifications.iter().map(String::as_str);
        distinct(&place, "notifications", "config::notifications", notes)?;
        let regions = t.regions.iter().map(String::as_str);
        distinct(&place, "regions", "config::regions", regions)?;
    }
    Ok(())
}

fn distinct<'a>(
    place: &str,
    key: &str,
    module: &str,
    names: impl Iterator<Item = &'a str>,
) -> Result<(), (String, String)> {
    let mut seen: BTreeMap<String, &str> = BTreeMap::new();
    for name in names {
        let constant = const_name(name);
        match seen.get(&constant) {
            Some(&other) if other != name => {
                return Err((
                    place.to_string(),
                    format!(
                        "{key}: \"{other}\" and \"{name}\" are both {module}::{constant} in the generated config; rename one"
                    ),
                ))
            }
            _ => {
                seen.insert(constant, name);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_upper_case_identifiers_whatever_they_hold() {
        assert_eq!(const_name("edu0-bar"), "EDU0_BAR");
        assert_eq!(const_name("0dev"), "N_0DEV");
        assert_eq!(const_name(""), "N_");
        assert_eq!(const_name("-"), "N__");
    }

    #[test]
    fn two_names_of_one_module_sharing_a_constant_are_refused_naming_both() {
        let e = distinct(
            "[tasks.x]",
            "regions",
            "config::regions",
            ["a-b", "a_b"].into_iter(),
        );
        assert_eq!(
            e,
            Err((
                "[tasks.x]".to_string(),
                "regions: \"a-b\" and \"a_b\" are both config::regions::A_B in the generated config; rename one".to_string()
            ))
        );
        assert!(
            distinct("", "", "", ["a", "b", "a"].into_iter()).is_ok(),
            "a repeat is another check's"
        );
    }
}
