//! Shared set-up for the integration tests: a model, a unit brought up on
//! it, and domains with mappings.
#![allow(dead_code)]

use vtd::model::{Model, ModelUnit};
use vtd::{Assignment, Config, DomainTables, PageTable, Perm, Rid};

/// An endpoint on bus 0 (QEMU's first edu, 00:02.0).
pub const DEV: Rid = Rid::new(0, 2, 0);
/// Another endpoint.
pub const OTHER: Rid = Rid::new(0, 4, 0);
/// An RMRR range (base, length) for `DEV`.
pub const RMRR: (u64, u64) = (0xe_0000, 0x2000);
/// An IOVA both test domains map, to different pages.
pub const IOVA: u64 = 0x10_0000;
/// Where domain A's `IOVA` lands.
pub const PHYS_A: u64 = 0x20_0000;
/// Where domain B's `IOVA` lands.
pub const PHYS_B: u64 = 0x30_0000;
pub const DID_A: u16 = 1;
pub const DID_B: u16 = 2;

pub struct Rig {
    pub model: Model,
    pub unit: ModelUnit,
}

/// QEMU 7.2's unit, brought up with `config`.
pub fn rig(config: Config) -> Rig {
    rig_on(Model::qemu(), config)
}

pub fn rig_on(model: Model, config: Config) -> Rig {
    let mut unit = model.unit(config).expect("QEMU's CAP/ECAP decode");
    unit.bring_up().expect("bring-up on the model");
    Rig { model, unit }
}

/// A domain mapping `IOVA -> phys` and, if `rmrr`, the RMRR identity range.
pub fn domain(rig: &mut Rig, did: u16, phys: u64, rmrr: bool) -> PageTable {
    let mut table = rig.unit.new_page_table().expect("tables");
    rig.unit
        .map(&mut table, did, IOVA, phys, 0x1000, Perm::RW)
        .expect("map IOVA");
    if rmrr {
        rig.unit
            .map(&mut table, did, RMRR.0, RMRR.0, RMRR.1, Perm::RW)
            .expect("map RMRR");
    }
    rig.model.register_domain(did, table.root());
    table
}

/// The assignment of `table` under `did`.
pub fn to(table: &PageTable, did: u16) -> Assignment {
    Assignment {
        did,
        tables: DomainTables::Paged {
            root: table.root(),
            levels: table.levels(),
        },
        ats: false,
    }
}
