//! The chaos task's seed: `CUSTODY_CHAOS_SEED` (decimal or 0x-hex) when
//! set, so a failing run replays with the seed it logged; a fixed one
//! otherwise, so `cargo xtask test` is repeatable.

const DEFAULT_SEED: u64 = 0xC0DE_5EED_CA05_0001;

fn main() {
    println!("cargo:rerun-if-env-changed=CUSTODY_CHAOS_SEED");
    let seed = std::env::var("CUSTODY_CHAOS_SEED")
        .ok()
        .map(|s| {
            let s = s.trim();
            let parsed = match s.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => s.parse(),
            };
            parsed.unwrap_or_else(|_| panic!("CUSTODY_CHAOS_SEED={s} is not a number"))
        })
        .unwrap_or(DEFAULT_SEED);
    println!("cargo:rustc-env=CHAOS_SEED={seed}");
}
