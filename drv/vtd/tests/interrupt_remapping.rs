//! Interrupt remapping on the model: turning it on, entries that decide
//! where a device's interrupts go, and replacing an entry the way context
//! entries are replaced (one compare-exchange, or a fallback that never
//! delivers through a half-written entry).

mod common;

use common::{rig_on, DEV, OTHER};
use vtd::format::{decode_msi, Descriptor, FaultReason, Irte, MsiRequest, SourceCheck};
use vtd::model::{Delivered, Model};
use vtd::{Config, Error, GstsBit, InvalidationChoice, Rid};

/// The remappable message pci programs for entry `handle`.
fn remappable_msi(handle: u16) -> (u32, u32) {
    let m = pci::MsiMessage::remappable(handle);
    (m.address as u32, u32::from(m.data))
}

const QUEUE: Config = Config {
    invalidation: InvalidationChoice::Queue,
    require_cx16: false,
    poll_limit: 1000,
};
const ENTRIES: u16 = 256;
const VECTOR_A: u8 = 64;
const VECTOR_B: u8 = 65;

fn remapping(model: Model) -> common::Rig {
    let mut rig = rig_on(model, QUEUE);
    rig.unit
        .enable_interrupt_remapping(ENTRIES)
        .expect("remapping on");
    rig
}

fn msi_of(rig: &common::Rig, handle: u16, from: Rid) -> Result<Delivered, FaultReason> {
    let (address, data) = remappable_msi(handle);
    rig.model.msi(address, data, Some(from))
}

fn to_cpu0(vector: u8) -> Delivered {
    Delivered {
        vector,
        destination: 0,
    }
}

#[test]
fn enabling_needs_ecap_ir_and_the_queue() {
    let mut rig = rig_on(Model::qemu(), QUEUE);
    assert_eq!(
        rig.unit.enable_interrupt_remapping(ENTRIES),
        Err(Error::InterruptRemappingUnsupported)
    );
    let registers = Config {
        invalidation: InvalidationChoice::Registers,
        ..QUEUE
    };
    let mut rig = rig_on(Model::qemu_intremap(), registers);
    assert_eq!(
        rig.unit.enable_interrupt_remapping(ENTRIES),
        Err(Error::InterruptRemappingNeedsQueue)
    );
    assert_eq!(rig.unit.interrupt_remapping(), None);
}

#[test]
fn a_table_size_that_is_no_power_of_two_or_beyond_a_page_is_refused() {
    let mut rig = rig_on(Model::qemu_intremap(), QUEUE);
    for entries in [0, 1, 3, 512] {
        assert_eq!(
            rig.unit.enable_interrupt_remapping(entries),
            Err(Error::IrtSize { entries })
        );
    }
}

#[test]
fn enabling_blocks_every_entry_until_one_is_set() {
    let rig = remapping(Model::qemu_intremap());
    assert_eq!(
        rig.unit.interrupt_remapping().map(|t| t.entries),
        Some(ENTRIES)
    );
    assert_eq!(msi_of(&rig, 0, DEV), Err(FaultReason::IrEntryNotPresent));
    assert_eq!(
        msi_of(&rig, ENTRIES, DEV),
        Err(FaultReason::IrIndexBeyondTable)
    );
}

#[test]
fn enabling_keeps_translation_and_the_queue_on_and_never_sets_cfi() {
    let rig = remapping(Model::qemu_intremap());
    let gsts = vtd::Registers::read32(&mut rig.model.registers(), vtd::regs::GSTS);
    for bit in [GstsBit::Te, GstsBit::Qies, GstsBit::Ires, GstsBit::Irtps] {
        assert_ne!(gsts & bit.mask(), 0, "{bit:?} in {gsts:#x}");
    }
    assert_eq!(gsts & GstsBit::Cfis.mask(), 0, "CFIS in {gsts:#x}");
    // A later GCMD write (a write-buffer flush) keeps remapping on, and
    // does not re-latch the table.
    let mut rig = rig;
    rig.unit.flush_write_buffer().unwrap();
    let gsts = vtd::Registers::read32(&mut rig.model.registers(), vtd::regs::GSTS);
    for bit in [GstsBit::Te, GstsBit::Qies, GstsBit::Ires] {
        assert_ne!(gsts & bit.mask(), 0, "{bit:?} in {gsts:#x}");
    }
}

#[test]
fn an_entry_with_fields_this_driver_never_writes_is_refused_as_reserved() {
    let mut rig = remapping(Model::qemu_intremap());
    let table = rig.unit.interrupt_remapping().unwrap();
    let ours = Irte::remapped(VECTOR_A, 0, SourceCheck::None);
    // Bit 15: the posted-interrupt format, which this unit does not offer.
    let posted = Irte::from_words(ours.lo() | 1 << 15, ours.hi());
    assert!(!posted.only_known_fields());
    rig.model.write_phys(table.base + 2 * 16, posted.lo());
    assert_eq!(msi_of(&rig, 2, DEV), Err(FaultReason::IrReservedEntry));
    rig.unit.set_irte(2, ours).unwrap();
    assert_eq!(msi_of(&rig, 2, DEV), Ok(to_cpu0(VECTOR_A)));
}

#[test]
fn irte_fields_sit_at_spec_positions() {
    let entry = Irte::remapped(0x40, 0x03, SourceCheck::Exact(DEV));
    // P (0), vector 23:16, xAPIC destination 47:40; fixed, physical, edge,
    // RH 0, FPD 0.
    assert_eq!(entry.lo(), 1 | 0x40 << 16 | 0x03 << 40);
    // SID 79:64 = 00:02.0, SQ 81:80 = 0, SVT 83:82 = 01.
    assert_eq!(entry.hi(), 0x0010 | 0b01 << 18);
    assert!(entry.present());
    assert_eq!((entry.vector(), entry.destination()), (0x40, 0x03));
    assert_eq!(entry.source(), SourceCheck::Exact(DEV));
    assert_eq!(Irte::remapped(1, 2, SourceCheck::None).hi(), 0);
    assert!(!Irte::NOT_PRESENT.present());
    assert!(!entry.blocked().present());
    assert_eq!(entry.blocked().vector(), 0x40);
}

#[test]
fn a_compatibility_format_msi_is_blocked_once_remapping_is_on() {
    let model = Model::qemu_intremap();
    let rig = rig_on(model.clone(), QUEUE);
    // Before: a device writing 0xFEE00000 with a vector reaches the CPU.
    assert_eq!(model.msi(0xfee0_0000, 2, None), Ok(to_cpu0(2)));
    let rig = {
        let mut rig = rig;
        rig.unit.enable_interrupt_remapping(ENTRIES).unwrap();
        rig
    };
    for vector in [2, 8, 17, VECTOR_A] {
        assert_eq!(
            rig.model.msi(0xfee0_0000, u32::from(vector), None),
            Err(FaultReason::IrCompatibilityBlocked),
            "vector {vector}"
        );
    }
}

#[test]
fn a_set_irte_delivers_its_vector_to_its_destination_and_is_reported_blocked_before() {
    let mut rig = remapping(Model::qemu_intremap());
    let previous = rig
        .unit
        .set_irte(3, Irte::remapped(VECTOR_A, 0, SourceCheck::Exact(DEV)))
        .unwrap();
    assert_eq!(previous, Irte::NOT_PRESENT);
    assert_eq!(msi_of(&rig, 3, DEV), Ok(to_cpu0(VECTOR_A)));
    // QEMU's DMA writes carry no requester ID: no source check is possible.
    let (address, data) = remappable_msi(3);
    assert_eq!(rig.model.msi(address, data, None), Ok(to_cpu0(VECTOR_A)));
    assert_eq!(rig.unit.get_irte(3).unwrap().vector(), VECTOR_A);
}

#[test]
fn an_msi_from_another_source_is_refused_by_the_source_check_and_recorded() {
    let mut rig = remapping(Model::qemu_intremap());
    rig.unit
        .set_irte(3, Irte::remapped(VECTOR_A, 0, SourceCheck::Exact(DEV)))
        .unwrap();
    assert_eq!(msi_of(&rig, 3, OTHER), Err(FaultReason::IrSourceRefused));
    let mut seen = Vec::new();
    rig.unit
        .drain_faults(|f| seen.push((f.source.sid(), f.reason)));
    assert_eq!(seen, [(OTHER.sid(), FaultReason::IrSourceRefused)]);
}

#[test]
fn a_bridge_alias_range_admits_its_buses_only() {
    let range = SourceCheck::BusRange { first: 1, last: 2 };
    assert!(range.admits(Rid::new(1, 0, 0).sid()));
    assert!(range.admits(Rid::new(2, 31, 7).sid()));
    assert!(!range.admits(Rid::new(0, 3, 0).sid()));
    assert!(!range.admits(Rid::new(3, 0, 0).sid()));
    let entry = Irte::remapped(VECTOR_B, 0, range);
    assert_eq!(entry.source(), range);
    assert_eq!(entry.hi() >> 18 & 0b11, 0b10, "SVT = verify bus range");
    assert_eq!(entry.hi() & 0xffff, 0x0102, "SID = first bus, last bus");
}

#[test]
fn moving_an_irte_is_one_cmpxchg16b_and_one_index_invalidation() {
    let mut rig = remapping(Model::qemu_intremap());
    rig.unit
        .set_irte(3, Irte::remapped(VECTOR_A, 0, SourceCheck::Exact(DEV)))
        .unwrap();
    assert_eq!(msi_of(&rig, 3, DEV), Ok(to_cpu0(VECTOR_A)));
    let before = (*rig.unit.counters(), rig.model.iec_invalidations());
    rig.model.watch_irte(3);
    let new = Irte::remapped(VECTOR_B, 0, SourceCheck::Exact(DEV));
    let old = rig.unit.set_irte(3, new).unwrap();
    assert_eq!(old.vector(), VECTOR_A);
    // One store: memory goes straight from the old entry to the new (the
    // IEC keeps the old one until the invalidation); never blocked, never
    // torn.
    let states = rig.model.irte_states(3);
    assert_eq!(states.first(), Some(&Some(new)), "{states:#x?}");
    assert!(
        states.iter().all(|s| *s == Some(new) || *s == Some(old)),
        "{states:#x?}"
    );
    let after = (*rig.unit.counters(), rig.model.iec_invalidations());
    assert_eq!(after.0.irte_writes - before.0.irte_writes, 1);
    assert_eq!(after.0.irte_fallbacks, before.0.irte_fallbacks);
    assert_eq!(
        after.1 .1 - before.1 .1,
        1,
        "one index-selective invalidation"
    );
    assert_eq!(after.1 .0, before.1 .0, "no global invalidation");
    assert_eq!(msi_of(&rig, 3, DEV), Ok(to_cpu0(VECTOR_B)));
}

#[test]
fn without_the_iec_invalidation_the_old_owner_would_still_get_the_interrupt() {
    // The cache is why the invalidation matters: a store behind the
    // driver's back leaves the cached entry in force.
    let mut rig = remapping(Model::qemu_intremap());
    rig.unit
        .set_irte(3, Irte::remapped(VECTOR_A, 0, SourceCheck::Exact(DEV)))
        .unwrap();
    assert_eq!(msi_of(&rig, 3, DEV), Ok(to_cpu0(VECTOR_A)));
    let table = rig.unit.interrupt_remapping().unwrap();
    let moved = Irte::remapped(VECTOR_B, 0, SourceCheck::Exact(DEV));
    rig.model.write_phys(table.base + 3 * 16, moved.lo());
    assert_eq!(msi_of(&rig, 3, DEV), Ok(to_cpu0(VECTOR_A)), "stale");
    rig.unit.invalidate_iec(Some(3)).unwrap();
    assert_eq!(msi_of(&rig, 3, DEV), Ok(to_cpu0(VECTOR_B)));
}

/// Whether every state `states` records is blocked, `old` or `new`.
fn only_blocked_old_or_new(states: &[Option<Irte>], old: Irte, new: Irte) -> bool {
    states
        .iter()
        .all(|state| state.is_none() || *state == Some(old) || *state == Some(new))
}

#[test]
fn without_cx16_the_fallback_never_delivers_through_a_torn_entry() {
    let model = Model::qemu_intremap();
    model.set_cx16(false);
    let mut rig = remapping(model.clone());
    let old = Irte::remapped(VECTOR_A, 0, SourceCheck::Exact(DEV));
    let new = Irte::remapped(VECTOR_B, 1, SourceCheck::Exact(OTHER));
    rig.unit.set_irte(3, old).unwrap();
    // Cached, as it would be on a busy device.
    assert_eq!(msi_of(&rig, 3, DEV), Ok(to_cpu0(VECTOR_A)));
    model.watch_irte(3);
    let before = *rig.unit.counters();
    assert_eq!(rig.unit.set_irte(3, new), Ok(old));
    let after = *rig.unit.counters();
    assert_eq!(after.irte_fallbacks - before.irte_fallbacks, 1);
    assert_eq!(
        after.iec_invalidations - before.iec_invalidations,
        2,
        "after blocking, and after the new entry"
    );
    let states = model.irte_states(3);
    assert!(only_blocked_old_or_new(&states, old, new), "{states:#x?}");
    let blocked_at = states.iter().position(Option::is_none);
    let new_at = states.iter().position(|s| *s == Some(new));
    assert!(
        matches!((blocked_at, new_at), (Some(b), Some(n)) if b < n),
        "blocked before the new entry appears: {states:#x?}"
    );
    assert_eq!(states.last(), Some(&Some(new)));
    assert_eq!(
        msi_of(&rig, 3, OTHER),
        Ok(Delivered {
            vector: VECTOR_B,
            destination: 1
        })
    );
    assert_eq!(msi_of(&rig, 3, DEV), Err(FaultReason::IrSourceRefused));
}

#[test]
fn the_entry_watch_sees_a_naive_two_store_update_as_torn() {
    // The check above can fail: two plain stores, low word first, pass
    // through "new vector, old source check".
    let model = Model::qemu_intremap();
    let mut rig = remapping(model.clone());
    let old = Irte::remapped(VECTOR_A, 0, SourceCheck::Exact(DEV));
    let new = Irte::remapped(VECTOR_B, 0, SourceCheck::Exact(OTHER));
    rig.unit.set_irte(3, old).unwrap();
    let slot = rig.unit.interrupt_remapping().unwrap().base + 3 * 16;
    model.watch_irte(3);
    let mut cpu = model.memory();
    vtd::TableMemory::write_u64(&mut cpu, slot, new.lo());
    vtd::TableMemory::write_u64(&mut cpu, slot + 8, new.hi());
    let states = model.irte_states(3);
    assert!(!only_blocked_old_or_new(&states, old, new), "{states:#x?}");
}

#[test]
fn setting_the_entry_again_finishes_a_store_whose_invalidation_never_ran() {
    // A restart between the store and the invalidation leaves the IEC's
    // old copy in force; repeating the call must not stop at "unchanged".
    let model = Model::qemu_intremap();
    let mut rig = remapping(model.clone());
    rig.unit
        .set_irte(3, Irte::remapped(VECTOR_A, 0, SourceCheck::Exact(DEV)))
        .unwrap();
    assert_eq!(msi_of(&rig, 3, DEV), Ok(to_cpu0(VECTOR_A)));
    let new = Irte::remapped(VECTOR_B, 0, SourceCheck::Exact(DEV));
    let slot = rig.unit.interrupt_remapping().unwrap().base + 3 * 16;
    model.write_phys(slot + 8, new.hi());
    model.write_phys(slot, new.lo());
    assert_eq!(msi_of(&rig, 3, DEV), Ok(to_cpu0(VECTOR_A)), "stale");
    let writes = rig.unit.counters().irte_writes;
    assert_eq!(rig.unit.set_irte(3, new), Ok(new));
    assert_eq!(rig.unit.counters().irte_writes, writes, "nothing stored");
    assert_eq!(msi_of(&rig, 3, DEV), Ok(to_cpu0(VECTOR_B)));
}

#[test]
fn policy_requiring_cx16_refuses_the_fallback() {
    let model = Model::qemu_intremap();
    model.set_cx16(false);
    let mut rig = rig_on(
        model,
        Config {
            require_cx16: true,
            ..QUEUE
        },
    );
    rig.unit.enable_interrupt_remapping(ENTRIES).unwrap();
    assert_eq!(
        rig.unit
            .set_irte(1, Irte::remapped(VECTOR_A, 0, SourceCheck::None)),
        Err(Error::IrteCx16Required { index: 1 })
    );
    assert_eq!(rig.unit.get_irte(1), Ok(Irte::NOT_PRESENT));
}

#[test]
fn an_entry_changed_underneath_is_not_overwritten() {
    let model = Model::qemu_intremap();
    let mut rig = remapping(model.clone());
    let stranger = Irte::remapped(VECTOR_B, 0, SourceCheck::None);
    model.interfere_with_next_cmpxchg(stranger.0);
    let r = rig
        .unit
        .set_irte(2, Irte::remapped(VECTOR_A, 0, SourceCheck::Exact(DEV)));
    assert!(
        matches!(r, Err(Error::IrteChanged { index: 2, .. })),
        "{r:?}"
    );
}

#[test]
fn an_irte_index_beyond_the_table_or_before_remapping_is_an_error() {
    let mut rig = rig_on(Model::qemu_intremap(), QUEUE);
    assert_eq!(rig.unit.get_irte(0), Err(Error::InterruptRemappingOff));
    rig.unit.enable_interrupt_remapping(16).unwrap();
    assert_eq!(
        rig.unit.set_irte(16, Irte::NOT_PRESENT),
        Err(Error::IrteIndex {
            index: 16,
            entries: 16
        })
    );
}

#[test]
fn resume_adopts_the_running_interrupt_table() {
    let model = Model::qemu_intremap();
    let mut rig = remapping(model.clone());
    rig.unit
        .set_irte(5, Irte::remapped(VECTOR_A, 0, SourceCheck::Exact(DEV)))
        .unwrap();
    let table = rig.unit.interrupt_remapping();
    let mut next = model.unit(QUEUE).unwrap();
    let found = next.resume().expect("resume");
    assert_eq!(found.interrupts, table);
    assert_eq!(next.interrupt_remapping(), table);
    assert_eq!(next.get_irte(5).unwrap().vector(), VECTOR_A);
}

#[test]
fn resume_refuses_an_interrupt_table_outside_the_pool() {
    let model = Model::qemu_intremap();
    let _rig = remapping(model.clone());
    assert!(model.set_register(vtd::regs::IRTA, 0x7000_0007));
    let mut next = model.unit(QUEUE).unwrap();
    assert!(matches!(
        next.resume(),
        Err(vtd::ResumeError::InterruptTableNotInPool { base: 0x7000_0000 })
    ));
}

#[test]
fn remappable_messages_round_trip_their_handle() {
    for handle in [0u16, 1, 255, 0x7fff, 0x8000, 0xffff] {
        let (address, data) = remappable_msi(handle);
        assert_eq!(address & 0xfff0_0000, 0xfee0_0000);
        assert_eq!(
            decode_msi(address, data),
            MsiRequest::Remappable {
                index: u32::from(handle)
            }
        );
    }
    assert_eq!(
        decode_msi(0xfee0_1000, 0x41),
        MsiRequest::Compatibility {
            vector: 0x41,
            destination: 1
        }
    );
}

#[test]
fn iec_descriptors_round_trip() {
    for d in [
        Descriptor::InterruptEntryCache { index: None },
        Descriptor::InterruptEntryCache {
            index: Some((0x1234, 3)),
        },
    ] {
        let (lo, hi) = d.encode();
        assert_eq!(lo & 0xf, 4);
        assert_eq!(Descriptor::decode(lo, hi), d);
    }
}
