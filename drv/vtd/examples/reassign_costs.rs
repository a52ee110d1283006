//! What one reassignment costs the hardware, direct (Xen's fix) versus the
//! two-step it replaced (clear the old entry, then write the new one), on
//! the VT-d model of QEMU 7.2 with a device that has an RMRR: context-entry
//! stores, invalidations by granularity, register writes, and what the DMA
//! observer saw meanwhile. `cargo xtask bench` prints these; run alone with
//! `cargo run -p vtd --features model --example reassign_costs`.

use vtd::model::{Model, ModelUnit};
use vtd::{Assignment, Config, Counters, DomainTables, MapMode, PageTable, Perm, Rid};

const DEV: Rid = Rid::new(0, 2, 0);
const RMRR: (u64, u64) = (0xe_0000, 0x2000);
const IOVA: u64 = 0x10_0000;

fn domain(unit: &mut ModelUnit, model: &Model, did: u16, phys: u64) -> PageTable {
    let mut t = unit.new_page_table().expect("table pages");
    unit.map(&mut t, did, IOVA, phys, 0x1000, Perm::RW)
        .expect("map");
    unit.map(&mut t, did, RMRR.0, RMRR.0, RMRR.1, Perm::RW)
        .expect("map RMRR");
    model.register_domain(did, t.root());
    t
}

fn to(t: &PageTable, did: u16) -> Assignment {
    Assignment {
        did,
        tables: DomainTables::Paged {
            root: t.root(),
            levels: t.levels(),
        },
        ats: false,
    }
}

fn delta(after: &Counters, before: &Counters) -> [u64; 9] {
    [
        after.context_stores + after.context_cmpxchg
            - before.context_stores
            - before.context_cmpxchg,
        after.context_invalidations.global - before.context_invalidations.global,
        after.context_invalidations.domain - before.context_invalidations.domain,
        after.context_invalidations.selective - before.context_invalidations.selective,
        after.iotlb_invalidations.global - before.iotlb_invalidations.global,
        after.iotlb_invalidations.domain - before.iotlb_invalidations.domain,
        after.iotlb_invalidations.selective - before.iotlb_invalidations.selective,
        after.register_writes - before.register_writes,
        0,
    ]
}

fn run(two_step: bool) -> ([u64; 9], u64) {
    let model = Model::qemu();
    let mut unit = model.unit(Config::default()).expect("QEMU's CAP/ECAP");
    unit.bring_up().expect("bring-up");
    let a = domain(&mut unit, &model, 1, 0x20_0000);
    let b = domain(&mut unit, &model, 2, 0x30_0000);
    unit.set_context(DEV, &to(&a, 1), MapMode::NONE, |_| false)
        .expect("first assignment");
    model.watch(DEV, &[RMRR]);
    model.reset_observer();
    let before = *unit.counters();
    if two_step {
        unit.clear_context(DEV).expect("clear");
        unit.set_context(DEV, &to(&b, 2), MapMode::WITH_RMRR, |_| false)
            .expect("set");
    } else {
        unit.set_context(DEV, &to(&b, 2), MapMode::WITH_RMRR, |d| d == 1)
            .expect("replace");
    }
    let mut d = delta(unit.counters(), &before);
    let seen = model.observer();
    d[8] = seen.disconnect_windows;
    (d, seen.mixed_states)
}

fn main() {
    let names = [
        "context_entry_writes",
        "context_cache_global",
        "context_cache_domain",
        "context_cache_device",
        "iotlb_global",
        "iotlb_domain",
        "iotlb_page",
        "register_writes",
        "rmrr_disconnect_windows",
    ];
    for (label, two_step) in [("direct", false), ("two_step", true)] {
        let (d, mixed) = run(two_step);
        for (n, v) in names.iter().zip(d) {
            println!("reassign_{label}_{n} {v}");
        }
        println!("reassign_{label}_mixed_states {mixed}");
    }
}
