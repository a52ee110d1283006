//! The generated code of every interface is pinned by a checked-in golden
//! file, so a change to the generator or an `.idl` shows up in review as a
//! diff of the Rust it produces. `UPDATE_GOLDEN=1 cargo test -p idl-codegen`
//! rewrites them.

use std::path::{Path, PathBuf};

fn idl_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn generated_code_matches_the_golden_files() {
    let golden_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let update = std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1");
    let mut checked = 0;
    let mut entries: Vec<_> = std::fs::read_dir(idl_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "idl"))
        .collect();
    entries.sort();
    for idl in entries {
        let generated = idl_codegen::generate(&idl).unwrap_or_else(|e| panic!("{e}"));
        let stem = idl.file_stem().unwrap().to_string_lossy().into_owned();
        let golden = golden_dir.join(format!("{stem}.rs"));
        if update {
            std::fs::write(&golden, &generated).unwrap();
        } else {
            let want = std::fs::read_to_string(&golden)
                .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_GOLDEN=1)", golden.display()));
            assert!(
                want == generated,
                "{} differs from what {} generates now; review and run with UPDATE_GOLDEN=1",
                golden.display(),
                idl.display()
            );
        }
        checked += 1;
    }
    let goldens = std::fs::read_dir(&golden_dir)
        .map(|d| {
            d.filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "rs"))
            })
            .count()
        })
        .unwrap_or(0);
    assert!(
        checked >= 6,
        "the system's interfaces are all checked ({checked})"
    );
    assert_eq!(
        checked, goldens,
        "one golden file per interface, and no stale ones"
    );
}

/// Every interface of the system has its own tag, so a message sent to the
/// wrong server (or to a task serving several) is never taken for another
/// interface's operation.
#[test]
fn every_interface_of_the_system_has_a_distinct_nonzero_id() {
    let mut seen = std::collections::BTreeMap::new();
    for entry in std::fs::read_dir(idl_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "idl") {
            continue;
        }
        let source = std::fs::read_to_string(&path).unwrap();
        let name = source
            .lines()
            .find_map(|l| l.trim().strip_prefix("interface "))
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("{}: no interface", path.display()))
            .to_string();
        let id = idl_codegen::interface_id_of(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(id, 0, "{name}: 0 is left to raw protocols");
        if let Some(other) = seen.insert(id, name.clone()) {
            panic!("{name} and {other} share interface id {id:#06x}");
        }
    }
    assert!(seen.len() >= 6, "found the system's interfaces: {seen:?}");
}
