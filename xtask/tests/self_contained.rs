//! A clone of the repository, with nothing beside it, is the whole project:
//! no source, manifest, script or document may name a path that climbs out
//! of the repository (a fixture directory beside it, a sibling checkout).
//!
//! A relative path is resolved from where it is used: Rust sources and
//! manifests join their paths to their crate's directory
//! (`CARGO_MANIFEST_DIR`), scripts and documents to their own directory. A
//! run of `../` longer than that directory is deep inside the repository
//! leaves it.

use std::path::{Path, PathBuf};

/// Directories that hold no authored text.
const SKIPPED_DIRS: &[&str] = &["target", ".git", "fixtures", "corpus", "artifacts"];

/// This test's own file, which spells out what it refuses.
const THIS_FILE: &str = "xtask/tests/self_contained.rs";

/// Extensions of the files whose text is checked.
const TEXT_EXTENSIONS: &[&str] = &["rs", "toml", "md", "sh", "idl", "ld", "x", "json", "yml"];

fn repository_root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.parent().map(Path::to_path_buf).unwrap_or(here)
}

/// Every checked file under `dir`.
fn text_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if !SKIPPED_DIRS.contains(&name.as_str()) {
                text_files(&path, out);
            }
        } else if path
            .extension()
            .and_then(|x| x.to_str())
            .is_some_and(|x| TEXT_EXTENSIONS.contains(&x))
            || path
                .parent()
                .and_then(Path::file_name)
                .is_some_and(|n| n == ".ci")
        {
            out.push(path);
        }
    }
}

/// How many directories `dir` lies below the repository's root.
fn depth(root: &Path, dir: &Path) -> usize {
    dir.strip_prefix(root)
        .map(|d| d.components().count())
        .unwrap_or(0)
}

/// The directory a relative path in `file` is resolved from.
fn base_dir(file: &Path) -> PathBuf {
    let own = file.parent().map(Path::to_path_buf).unwrap_or_default();
    let is_rust_or_manifest = file.extension().is_some_and(|x| x == "rs" || x == "toml");
    if !is_rust_or_manifest {
        return own;
    }
    let mut dir = own.clone();
    loop {
        if dir.join("Cargo.toml").is_file() {
            return dir;
        }
        match dir.parent() {
            Some(p) => dir = p.to_path_buf(),
            None => return own,
        }
    }
}

/// The longest run of `../` in `line`.
fn longest_climb(line: &str) -> usize {
    let bytes = line.as_bytes();
    let mut best = 0;
    let mut i = 0;
    while i < bytes.len() {
        let mut run = 0;
        let mut j = i;
        while bytes[j..].starts_with(b"../") {
            run += 1;
            j += 3;
        }
        best = best.max(run);
        i = if run > 0 { j } else { i + 1 };
    }
    best
}

/// Every (file, line number, line) that names a path outside the repository.
fn escapes(root: &Path) -> Vec<String> {
    let mut files = Vec::new();
    text_files(root, &mut files);
    files.sort();
    let mut found = Vec::new();
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        if file.ends_with(THIS_FILE) {
            continue; // its own examples of what it refuses
        }
        let allowed = depth(root, &base_dir(&file));
        // `#[path]` and the `include*!` macros resolve from the file's own
        // directory, not the crate's.
        let own = file.parent().map(|d| depth(root, d)).unwrap_or(allowed);
        let from_own_dir = |line: &str| {
            file.extension().is_some_and(|x| x == "rs")
                && ["#[path", "include_bytes!", "include_str!", "include!("]
                    .iter()
                    .any(|m| line.contains(m))
        };
        // A document's code samples are written from a crate's directory; its
        // links are what it resolves from its own.
        let is_document = file.extension().is_some_and(|x| x == "md");
        for (n, line) in text.lines().enumerate() {
            let path_like = !is_document || line.contains("](");
            let limit = if from_own_dir(line) { own } else { allowed };
            let climbs_out = path_like && longest_climb(line) > limit;
            let names_shared = line.contains("shared/fixtures");
            if climbs_out || names_shared {
                let rel = file.strip_prefix(root).unwrap_or(&file);
                found.push(format!("{}:{}: {}", rel.display(), n + 1, line.trim()));
            }
        }
    }
    found
}

#[test]
fn no_file_of_the_repository_names_a_path_outside_it() {
    let found = escapes(&repository_root());
    assert!(
        found.is_empty(),
        "these lines name paths outside the repository (a bare clone lacks them):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_climb_check_sees_a_path_out_of_a_crate() {
    // The rule itself, on the shape the fixtures used to have.
    assert_eq!(
        longest_climb(r#"join("../../../elsewhere/fixtures/dmar")"#),
        3
    );
    assert_eq!(longest_climb("cd \"$(dirname \"$0\")/..\""), 0);
    assert_eq!(longest_climb("a/../b ../../c"), 2);
}

#[test]
fn the_fixtures_are_inside_the_repository() {
    let dmar = repository_root().join("fixtures/dmar");
    assert!(dmar.join("qemu-7.2-q35-edu-bridge.bin").is_file());
    assert!(
        dmar.join("README.md").is_file(),
        "the fixtures' licence and attribution"
    );
    let tables = std::fs::read_dir(dmar.join("linuxhw"))
        .map(|d| {
            d.flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "bin"))
                .count()
        })
        .unwrap_or(0);
    assert_eq!(tables, 180, "the real machines' DMAR tables");
}

#[test]
fn no_task_or_driver_crate_depends_on_the_kernel_crate() {
    // Tasks reach the kernel only through `sys/abi` and `sys/userlib`. The
    // simulator may: its kernel model runs the kernel's own decisions
    // (`kern::device_regs`), so the model cannot drift from the kernel.
    let root = repository_root();
    let mut offenders = Vec::new();
    for group in ["tasks", "drv", "idl"] {
        let Ok(entries) = std::fs::read_dir(root.join(group)) else {
            continue;
        };
        let mut manifests: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path().join("Cargo.toml"))
            .collect();
        manifests.push(root.join(group).join("Cargo.toml"));
        for manifest in manifests.into_iter().filter(|m| m.is_file()) {
            let text = std::fs::read_to_string(&manifest).unwrap_or_default();
            let doc: toml::Table = match text.parse() {
                Ok(d) => d,
                Err(e) => panic!("{}: {e}", manifest.display()),
            };
            for table in ["dependencies", "dev-dependencies", "build-dependencies"] {
                if doc.get(table).and_then(|t| t.get("kern")).is_some() {
                    offenders.push(format!(
                        "{} [{table}]",
                        manifest.strip_prefix(&root).unwrap_or(&manifest).display()
                    ));
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "these crates depend on the kernel crate: {offenders:?}"
    );
}
