//! Which IDL interfaces a task crate implements and which it calls through
//! each of its task slots, so that swapping a component in app.toml is
//! checked before anything is built.
//!
//! A crate says so in its Cargo.toml:
//!
//! ```toml
//! [package.metadata.custody]
//! serves = ["Iommu"]                          # interfaces it implements
//! uses = { pci = "Pci", broker = "Broker" }   # slot name -> interface
//! ```
//!
//! Clients are built against the interface only (the generated client and a
//! `config::slots` ID), so the one thing that can go wrong in a swap is a
//! slot bound to a task whose crate does not implement what the client
//! calls. That is refused here with both names; without this check the
//! image would build and the calls would fail at run time as undefined
//! operations (codes carry their interface's tag).

use std::collections::BTreeMap;

/// A workspace crate as app.toml's checks see it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CrateInfo {
    /// The package name.
    pub name: String,
    /// Interfaces it implements (`serves`).
    pub serves: Vec<String>,
    /// Slot name → the interface it calls through that slot (`uses`).
    pub uses: BTreeMap<String, String>,
}

impl CrateInfo {
    /// A crate that declares nothing (raw protocols, tests).
    pub fn named(name: &str) -> CrateInfo {
        CrateInfo {
            name: name.to_string(),
            ..CrateInfo::default()
        }
    }

    /// Reads `[package.metadata.custody]` of a parsed Cargo.toml; `None`
    /// if it has no package name. Malformed metadata is an error naming
    /// the key.
    pub fn from_manifest(manifest: &toml::Value) -> Option<Result<CrateInfo, String>> {
        let package = manifest.get("package")?;
        let name = package.get("name")?.as_str()?.to_string();
        let Some(meta) = package.get("metadata").and_then(|m| m.get("custody")) else {
            return Some(Ok(CrateInfo::named(&name)));
        };
        Some(parse_metadata(name, meta))
    }
}

fn parse_metadata(name: String, meta: &toml::Value) -> Result<CrateInfo, String> {
    let bad = |key: &str, what: &str| {
        format!("{name}'s Cargo.toml: [package.metadata.custody] {key}: {what}")
    };
    let mut info = CrateInfo::named(&name);
    if let Some(serves) = meta.get("serves") {
        let list = serves
            .as_array()
            .ok_or_else(|| bad("serves", "expected a list of interface names"))?;
        for item in list {
            let iface = item
                .as_str()
                .ok_or_else(|| bad("serves", "expected interface names (strings)"))?;
            info.serves.push(iface.to_string());
        }
    }
    if let Some(uses) = meta.get("uses") {
        let table = uses
            .as_table()
            .ok_or_else(|| bad("uses", "expected a table of slot = \"Interface\""))?;
        for (slot, iface) in table {
            let iface = iface
                .as_str()
                .ok_or_else(|| bad("uses", &format!("{slot}: expected an interface name")))?;
            info.uses.insert(slot.clone(), iface.to_string());
        }
    }
    Ok(info)
}

/// Checks that the task bound to `slot` implements what `client` calls
/// through it.
pub fn check_slot(
    client: &CrateInfo,
    slot: &str,
    peer_task: &str,
    peer: &CrateInfo,
) -> Result<(), String> {
    let Some(wanted) = client.uses.get(slot) else {
        return Ok(());
    };
    if peer.serves.iter().any(|s| s == wanted) {
        return Ok(());
    }
    let has = if peer.serves.is_empty() {
        "no IDL interface".to_string()
    } else {
        peer.serves.join(", ")
    };
    Err(format!(
        "task-slots: \"{slot}\" is task \"{peer_task}\", whose crate {} does not implement \
         interface {wanted} that {} calls through this slot (it implements: {has})",
        peer.name, client.name
    ))
}

/// Checks that every slot `client` calls through is bound.
pub fn check_all_bound(client: &CrateInfo, bound: &[String]) -> Result<(), String> {
    for (slot, iface) in &client.uses {
        if !bound.iter().any(|b| b == slot) {
            return Err(format!(
                "task-slots: crate {} calls interface {iface} through a slot \"{slot}\"; \
                 bind it, e.g. task-slots = [{{ {slot} = \"TASK\" }}]",
                client.name
            ));
        }
    }
    Ok(())
}
