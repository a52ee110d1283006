//! `vtd::Unit::resume` over arbitrary register and table contents: a unit
//! of the model is brought up and given two domains (the state a previous
//! driver life leaves), then the input rewrites registers and memory as
//! hostile or broken hardware might, and a second life resumes. It must
//! refuse or adopt, never panic or loop; an adopted unit must then take a
//! context change without panicking.

use vtd::model::Model;
use vtd::{
    regs, Assignment, Config, DomainTables, InvalidationChoice, MapMode, Perm, Registers, Rid,
};

use crate::script::Reader;

/// Registers the input may rewrite.
const REGISTERS: [usize; 6] = [
    regs::GSTS,
    regs::FSTS,
    regs::RTADDR,
    regs::IQA,
    regs::IQH,
    regs::IQT,
];
/// Rewrites per input, at most.
const MAX_WRITES: usize = 32;
/// Polls the resumed unit may make of a status.
const POLLS: u32 = 64;
/// The device the first life assigns, and the one the second moves.
const DEV: Rid = Rid::new(0, 2, 0);
const OTHER: Rid = Rid::new(0, 4, 0);

fn choice(b: u8) -> InvalidationChoice {
    match b % 3 {
        0 => InvalidationChoice::Registers,
        1 => InvalidationChoice::Queue,
        _ => InvalidationChoice::Auto,
    }
}

fn config(invalidation: InvalidationChoice) -> Config {
    Config {
        invalidation,
        poll_limit: POLLS,
        ..Config::default()
    }
}

/// Fuzz target `vtd_resume`.
pub fn resume(data: &[u8]) {
    let mut r = Reader::new(data);
    let first = choice(r.u8());
    let second = choice(r.u8());
    let model = Model::qemu();
    let Ok(mut unit) = model.unit(config(first)) else {
        return;
    };
    unit.bring_up().expect("bring-up on the model");
    let mut pages = Vec::new();
    for (did, rid, phys) in [(1u16, DEV, 0x20_0000u64), (2, OTHER, 0x30_0000)] {
        let mut table = unit.new_page_table().expect("tables");
        unit.map(&mut table, did, 0x10_0000, phys, 0x1000, Perm::RW)
            .expect("map");
        let to = Assignment {
            did,
            tables: DomainTables::Paged {
                root: table.root(),
                levels: table.levels(),
            },
            ats: false,
        };
        unit.set_context(rid, &to, MapMode::NONE, |_| false)
            .expect("assign");
        pages.push(table.root());
    }
    let mut registers = model.registers();
    pages.push(registers.read64(regs::RTADDR) & regs::RTADDR_BASE_MASK);
    pages.push(registers.read64(regs::IQA) & regs::IQA_BASE_MASK);
    drop(unit);

    for _ in 0..MAX_WRITES {
        if r.is_empty() {
            break;
        }
        let kind = r.u8();
        let value = r.u64();
        if kind.is_multiple_of(2) {
            let offset = REGISTERS[usize::from(kind / 2) % REGISTERS.len()];
            model.set_register(offset, value);
        } else {
            // A table page the first life used, at an offset the input
            // picks, or an address the input names outright.
            let pick = usize::from(kind / 2);
            let offset = u64::from(r.u16()) & 0xff8;
            let addr = match pages.get(pick % (pages.len() + 1)) {
                Some(page) => page + offset,
                None => value & !7,
            };
            model.write_phys(addr, r.u64());
        }
    }

    let Ok(mut next) = model.unit(config(second)) else {
        return;
    };
    if next.resume().is_ok() {
        let moved = Assignment {
            did: 3,
            tables: DomainTables::PassThrough,
            ats: false,
        };
        let _ = next.set_context(DEV, &moved, MapMode::NONE, |did| did == 1);
    }
}
