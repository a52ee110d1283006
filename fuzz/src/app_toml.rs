//! xtask's app.toml checker over arbitrary TOML: every text is an app or
//! an error naming its place and saying what is wrong, never a panic.
//!
//! The checker's modules are xtask's own source files, compiled here
//! (xtask is a binary; see `xtask` in lib.rs), against the workspace's
//! real crates and the interfaces each serves and uses.

use std::path::PathBuf;
use std::sync::OnceLock;

use crate::app::{App, CrateInfo};
use crate::root;

/// The workspace's crates as xtask reads them (members' manifests).
fn crates() -> &'static [CrateInfo] {
    static CRATES: OnceLock<Vec<CrateInfo>> = OnceLock::new();
    CRATES.get_or_init(|| {
        let read = |p: PathBuf| -> Option<toml::Value> {
            toml::from_str(&std::fs::read_to_string(p).ok()?).ok()
        };
        let Some(ws) = read(root().join("Cargo.toml")) else {
            return Vec::new();
        };
        let members = ws
            .get("workspace")
            .and_then(|w| w.get("members"))
            .and_then(|m| m.as_array())
            .cloned()
            .unwrap_or_default();
        members
            .iter()
            .filter_map(|m| m.as_str())
            .filter_map(|m| read(root().join(m).join("Cargo.toml")))
            .filter_map(|c| CrateInfo::from_manifest(&c))
            .filter_map(Result::ok)
            .collect()
    })
}

/// Fuzz target `app_toml`.
pub fn app_toml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = root().join("app.toml");
    if let Err(e) = App::parse(text, &path, crates()) {
        assert!(
            !e.message.trim().is_empty(),
            "an error says what is wrong: {e}"
        );
    }
}
