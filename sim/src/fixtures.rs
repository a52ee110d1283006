//! The DMAR tables the simulator's platforms come from: QEMU's and the 180
//! real machines of `fixtures/dmar/linuxhw`, named by file stem
//! ("qemu" for QEMU's).

use std::path::PathBuf;

/// The name of QEMU's table.
pub const QEMU: &str = "qemu";
/// QEMU's table, relative to the fixture directory.
const QEMU_FILE: &str = "qemu-7.2-q35-edu-bridge.bin";
/// The real machines' tables, relative to the fixture directory.
const LINUXHW: &str = "linuxhw";

/// The fixture directory.
pub fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/dmar")
}

/// Every fixture's name, QEMU's first, then the real machines in order.
pub fn names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir().join(LINUXHW))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "bin"))
                .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names.insert(0, QEMU.to_string());
    names
}

/// The bytes of the fixture `name`.
pub fn load(name: &str) -> Result<Vec<u8>, String> {
    let path = if name == QEMU {
        dir().join(QEMU_FILE)
    } else {
        dir().join(LINUXHW).join(format!("{name}.bin"))
    };
    std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))
}
