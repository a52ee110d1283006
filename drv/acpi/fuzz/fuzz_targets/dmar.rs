//! Fuzz target: any bytes as a DMAR. Parsing, every structure and scope,
//! the warnings and both reports must not panic; a table that parses must
//! render. Run with `cargo +nightly fuzz run dmar` in drv/acpi/fuzz (see the
//! crate doc of `acpi`); seed the corpus with fixtures/dmar/**/*.bin.
#![no_main]

use acpi::quirks::{check, MemRange};
use acpi::Dmar;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(dmar) = Dmar::parse_header_only(data) else {
        return;
    };
    for structure in dmar.structures() {
        let Ok(structure) = structure else { break };
        for scope in structure.scopes() {
            let Ok(scope) = scope else { break };
            let _ = scope.to_string();
        }
    }
    if Dmar::parse(data).is_ok() {
        let ram = [MemRange {
            base: 0,
            end: 0xffff_ffff,
        }];
        check(&dmar, &ram, &mut |w| {
            let _ = w.to_string();
        });
        acpi::report::render_text("fuzz", data).expect("a parsed table renders as text");
        acpi::report::render_json("fuzz", data).expect("a parsed table renders as JSON");
    }
});
