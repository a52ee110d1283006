//! The iommu server on the VT-d model (QEMU 7.2's unit), driven through its
//! generated client over the in-process transport, as the broker drives it.

use std::cell::RefCell;

use idl_runtime::{ClientError, InProcess};
use idl_types::*;
use task_iommu::iommu::{Client, Compensation, Endpoint, SetContextArgs};
use task_iommu::{IommuServer, Ledger, SharedLedger, Started};
use vtd::format::RootEntry;
use vtd::model::{Model, ModelAllocator, ModelMemory, ModelRegisters, NoDelay};
use vtd::{regs, Config, Registers, Rid};

type Server<'l> =
    IommuServer<ModelRegisters, ModelMemory, ModelAllocator, NoDelay, SharedLedger<'l>>;

const TASKS: [&str; 3] = ["broker", "iommu", "console"];
const UNIT: UnitId = UnitId(0);
const A: DomainId = DomainId(1);
const B: DomainId = DomainId(2);
const DID_A: Did = Did(1);
const DID_B: Did = Did(2);
const PSEUDO: Did = Did(40);
/// An RMRR-style device and a second one.
const DEV: Bdf = Bdf {
    bus: 0,
    device: 2,
    function: 0,
};
const OTHER: Bdf = Bdf {
    bus: 0,
    device: 4,
    function: 0,
};
const IOVA: u64 = 0x10_0000;
const PHYS_A: u64 = 0x2000_0000;
const PHYS_B: u64 = 0x3000_0000;
const RMRR_BASE: u64 = 0x7c00_0000;
const RMRR_PAGES: u32 = 2;

fn rid(b: Bdf) -> Rid {
    Rid::from_sid(b.requester_id().unwrap())
}

fn server<'l>(model: &Model, ledger: &'l RefCell<Ledger>) -> (Server<'l>, Started) {
    let mut s = IommuServer::new(SharedLedger(ledger));
    let (unit, started) = s
        .add_unit(
            model.registers(),
            model.memory(),
            model.allocator(),
            NoDelay,
            Config::default(),
        )
        .unwrap();
    assert_eq!(unit, UNIT);
    (s, started)
}

fn entry(domain: DomainId, did: Did) -> ContextState {
    ContextState::Domain { domain, did }
}

fn rmrrs(device: Bdf) -> RmrrList {
    let mut ranges = heapless::Vec::new();
    ranges
        .push(MemRange {
            base: RMRR_BASE,
            end: RMRR_BASE + u64::from(RMRR_PAGES) * 0x1000 - 1,
        })
        .unwrap();
    RmrrList { device, ranges }
}

/// Domains A and B with a page each at IOVA and the RMRR identity-mapped.
fn two_domains<T: idl_runtime::Transport>(c: &mut Client<T>) {
    for (d, phys) in [(A, PHYS_A), (B, PHYS_B)] {
        c.create_domain(d).unwrap();
        c.map_range(d, IOVA, phys, 1, Access::ReadWrite).unwrap();
        c.map_range(d, RMRR_BASE, RMRR_BASE, RMRR_PAGES, Access::ReadWrite)
            .unwrap();
    }
}

/// The physical address of `b`'s context entry, found through the root
/// table the model's registers point at.
fn context_slot(model: &Model, b: Bdf) -> u64 {
    let root = model.registers().read64(regs::RTADDR) & !0xfff;
    let r = rid(b);
    let table = RootEntry::decode(model.read_phys(root + u64::from(r.bus) * 16)).context_table;
    table + u64::from(r.devfn) * 16
}

#[test]
fn a_domain_maps_a_range_and_dma_through_the_model_lands_there() {
    let model = Model::qemu();
    let ledger = RefCell::new(Ledger::EMPTY);
    let (s, started) = server(&model, &ledger);
    assert_eq!(started, Started::Fresh);
    let mut s = Endpoint(s);
    let system = InProcess::new(TASKS);
    let id = system.register("iommu", &mut s).unwrap();
    let mut c = Client::new(system.client("broker").unwrap(), id);
    c.create_domain(A).unwrap();
    assert_eq!(
        c.map_range(A, IOVA, PHYS_A, 2, Access::ReadWrite),
        Ok(PageRange {
            iova: IOVA,
            pages: 2
        })
    );
    let change = c
        .set_context(UNIT, DEV, entry(A, DID_A), ReassignMode::default())
        .unwrap();
    assert_eq!(change.previous, ContextState::NotPresent);
    assert_eq!(
        model.dma(rid(DEV), IOVA + 0x1008, true),
        Ok(PHYS_A + 0x1008)
    );
    assert!(
        model.dma(rid(DEV), IOVA + 0x2000, true).is_err(),
        "beyond the map"
    );
    assert!(model.dma(rid(OTHER), IOVA, true).is_err(), "no entry");
}

#[test]
fn direct_replacement_of_an_rmrr_device_has_no_disconnect_window() {
    let model = Model::qemu();
    let ledger = RefCell::new(Ledger::EMPTY);
    let mut s = Endpoint(server(&model, &ledger).0);
    let system = InProcess::new(TASKS);
    let id = system.register("iommu", &mut s).unwrap();
    let mut c = Client::new(system.client("broker").unwrap(), id);
    two_domains(&mut c);
    c.set_context(UNIT, DEV, entry(A, DID_A), ReassignMode::WITH_RMRR)
        .unwrap();
    c.set_context(UNIT, OTHER, entry(B, DID_B), ReassignMode::default())
        .unwrap();
    let root_a = c.get_context(UNIT, DEV).unwrap().root;
    let root_b = c.get_context(UNIT, OTHER).unwrap().root;
    model.register_domain(DID_A.0, root_a);
    model.register_domain(DID_B.0, root_b);
    model.watch(rid(DEV), &[(RMRR_BASE, u64::from(RMRR_PAGES) * 0x1000)]);
    assert_eq!(model.dma(rid(DEV), IOVA, true), Ok(PHYS_A), "caches warm");
    model.reset_observer();

    let change = c
        .set_context(UNIT, DEV, entry(B, DID_B), ReassignMode::WITH_RMRR)
        .unwrap();
    assert_eq!(change.previous, entry(A, DID_A));
    assert!(change.atomic);
    let seen = model.observer();
    assert_eq!(seen.stores, 1, "one compare-exchange");
    assert_eq!(seen.disconnect_windows, 0);
    assert_eq!(seen.mixed_states, 0);
    assert_eq!(model.dma(rid(DEV), IOVA, true), Ok(PHYS_B));
    assert_eq!(model.dma(rid(DEV), RMRR_BASE, true), Ok(RMRR_BASE));
    let counters = c.counters(UNIT).unwrap();
    assert_eq!(counters.atomic_changes, 3);
    assert!(counters.iotlb_invalidations.domain >= 1, "old DID flushed");
}

#[test]
fn the_recorded_compensation_puts_the_previous_entry_back_exactly() {
    let model = Model::qemu();
    let ledger = RefCell::new(Ledger::EMPTY);
    let mut s = Endpoint(server(&model, &ledger).0);
    let system = InProcess::new(TASKS);
    let id = system.register("iommu", &mut s).unwrap();
    let mut c = Client::new(system.client("broker").unwrap(), id);
    two_domains(&mut c);
    c.set_context(UNIT, DEV, entry(A, DID_A), ReassignMode::WITH_RMRR)
        .unwrap();
    let slot = context_slot(&model, DEV);
    let raw_before = (model.read_phys(slot), model.read_phys(slot + 8));
    let before = c.get_context(UNIT, DEV).unwrap();

    let args = SetContextArgs {
        unit: UNIT,
        rid: DEV,
        entry: entry(B, DID_B),
        mode: ReassignMode::WITH_RMRR,
    };
    let change = c
        .set_context(args.unit, args.rid, args.entry, args.mode)
        .unwrap();
    assert_eq!(model.dma(rid(DEV), IOVA, false), Ok(PHYS_B));
    Compensation::for_set_context(&args, &change)
        .execute(&mut c)
        .unwrap();
    assert_eq!(c.get_context(UNIT, DEV), Ok(before));
    assert_eq!(
        (model.read_phys(slot), model.read_phys(slot + 8)),
        raw_before,
        "all 128 bits as they were"
    );
    assert_eq!(model.dma(rid(DEV), IOVA, false), Ok(PHYS_A));
}

#[test]
fn the_compensation_of_a_first_assignment_clears_the_entry() {
    let model = Model::qemu();
    let ledger = RefCell::new(Ledger::EMPTY);
    let mut s = Endpoint(server(&model, &ledger).0);
    let system = InProcess::new(TASKS);
    let id = system.register("iommu", &mut s).unwrap();
    let mut c = Client::new(system.client("broker").unwrap(), id);
    two_domains(&mut c);
    let args = SetContextArgs {
        unit: UNIT,
        rid: OTHER,
        entry: entry(A, DID_A),
        mode: ReassignMode::default(),
    };
    let change = c
        .set_context(args.unit, args.rid, args.entry, args.mode)
        .unwrap();
    assert_eq!(change.previous, ContextState::NotPresent);
    Compensation::for_set_context(&args, &change)
        .execute(&mut c)
        .unwrap();
    let now = c.get_context(UNIT, OTHER).unwrap();
    assert_eq!(now.owner, EntryOwner::NotPresent);
    assert!(
        model.dma(rid(OTHER), IOVA, true).is_err(),
        "DMA faults again"
    );
}

#[test]
fn quarantine_sends_dma_to_the_scratch_page_and_keeps_the_rmrrs_mapped() {
    let model = Model::qemu();
    let ledger = RefCell::new(Ledger::EMPTY);
    let mut s = Endpoint(server(&model, &ledger).0);
    let system = InProcess::new(TASKS);
    let id = system.register("iommu", &mut s).unwrap();
    let mut c = Client::new(system.client("broker").unwrap(), id);
    two_domains(&mut c);
    c.set_context(UNIT, DEV, entry(A, DID_A), ReassignMode::WITH_RMRR)
        .unwrap();
    model.watch(rid(DEV), &[(RMRR_BASE, u64::from(RMRR_PAGES) * 0x1000)]);
    model.reset_observer();

    let change = c
        .quarantine_device(UNIT, DEV, PSEUDO, ReassignMode::WITH_RMRR, rmrrs(DEV))
        .unwrap();
    assert_eq!(change.previous, entry(A, DID_A));
    assert_eq!(model.observer().disconnect_windows, 0);
    let scratch = ledger.borrow().quarantines[0].unwrap().scratch;
    for iova in [0, IOVA, 0x40_0000_0000 - 0x1000] {
        assert_eq!(model.dma(rid(DEV), iova, true), Ok(scratch));
    }
    assert_eq!(
        model.dma(rid(DEV), RMRR_BASE + 0x1000, true),
        Ok(RMRR_BASE + 0x1000)
    );
    let now = c.get_context(UNIT, DEV).unwrap();
    assert_eq!(now.state(), Some(ContextState::Quarantine { did: PSEUDO }));

    // Something lands in the scratch page; after a stay in A, a new
    // quarantine starts from a zeroed page.
    model.write_phys(scratch, 0xdead_beef);
    c.set_context(UNIT, DEV, entry(A, DID_A), ReassignMode::WITH_RMRR)
        .unwrap();
    assert_eq!(
        model.read_phys(scratch),
        0xdead_beef,
        "left alone meanwhile"
    );
    c.quarantine_device(UNIT, DEV, PSEUDO, ReassignMode::WITH_RMRR, rmrrs(DEV))
        .unwrap();
    assert_eq!(model.read_phys(scratch), 0, "zeroed on re-quarantine");
    assert_eq!(
        ledger.borrow().quarantines.iter().flatten().count(),
        1,
        "tables reused"
    );
}

#[test]
fn a_restarted_server_reports_the_hardware_truth_and_keeps_working() {
    let model = Model::qemu();
    let ledger = RefCell::new(Ledger::EMPTY);
    let mut first = Endpoint(server(&model, &ledger).0);
    let system = InProcess::new(TASKS);
    let id = system.register("iommu", &mut first).unwrap();
    let mut c = Client::new(system.client("broker").unwrap(), id);
    two_domains(&mut c);
    c.set_context(UNIT, DEV, entry(A, DID_A), ReassignMode::WITH_RMRR)
        .unwrap();
    c.quarantine_device(UNIT, OTHER, PSEUDO, ReassignMode::default(), rmrrs(OTHER))
        .unwrap();
    let before = c.get_context(UNIT, DEV).unwrap();
    let pages_before = model.live_pages();

    // The task dies; its replacement is built over the same unit and ledger.
    let (second, started) = server(&model, &ledger);
    assert!(matches!(started, Started::Resumed { .. }));
    let mut second = Endpoint(second);
    system.restart("iommu", Some(&mut second)).unwrap();

    assert_eq!(
        c.get_context(UNIT, DEV),
        Ok(before),
        "retried after the restart"
    );
    assert_eq!(before.state(), Some(entry(A, DID_A)));
    let page = c.list_contexts(UNIT, None).unwrap();
    let states: Vec<_> = page.entries.iter().map(|e| (e.rid, e.state())).collect();
    assert_eq!(
        states,
        [
            (DEV, Some(entry(A, DID_A))),
            (OTHER, Some(ContextState::Quarantine { did: PSEUDO })),
        ]
    );
    assert_eq!(page.next, None);
    assert_eq!(
        model.dma(rid(DEV), IOVA, true),
        Ok(PHYS_A),
        "never interrupted"
    );
    assert_eq!(
        model.live_pages(),
        pages_before,
        "the takeover allocated nothing"
    );

    // And the restarted server moves the device on, directly.
    model.watch(rid(DEV), &[(RMRR_BASE, u64::from(RMRR_PAGES) * 0x1000)]);
    model.reset_observer();
    let change = c
        .set_context(UNIT, DEV, entry(B, DID_B), ReassignMode::WITH_RMRR)
        .unwrap();
    assert_eq!(change.previous, entry(A, DID_A));
    assert_eq!(model.observer().disconnect_windows, 0);
    assert_eq!(model.dma(rid(DEV), IOVA, true), Ok(PHYS_B));
}

#[test]
fn an_entry_with_a_did_the_server_cannot_attribute_is_refused() {
    let model = Model::qemu();
    let ledger = RefCell::new(Ledger::EMPTY);
    let mut s = Endpoint(server(&model, &ledger).0);
    let system = InProcess::new(TASKS);
    let id = system.register("iommu", &mut s).unwrap();
    let mut c = Client::new(system.client("broker").unwrap(), id);
    two_domains(&mut c);
    c.set_context(UNIT, DEV, entry(A, DID_A), ReassignMode::default())
        .unwrap();
    // Someone else rewrites the entry's DID (bits 87:72) to 9.
    let slot = context_slot(&model, DEV);
    let hi = model.read_phys(slot + 8);
    model.write_phys(slot + 8, (hi & !(0xffff << 8)) | (9 << 8));

    let seen = c.get_context(UNIT, DEV).unwrap();
    assert_eq!(seen.did, Did(9));
    assert_eq!(seen.owner, EntryOwner::Unknown);
    assert_eq!(
        c.set_context(UNIT, DEV, entry(B, DID_B), ReassignMode::default()),
        Err(ClientError::Op(IommuError::UnknownOwner {
            device: DEV,
            did: Did(9)
        }))
    );
    assert_eq!(
        c.clear_context(UNIT, DEV, ReassignMode::default()),
        Err(ClientError::Op(IommuError::UnknownOwner {
            device: DEV,
            did: Did(9)
        }))
    );
    assert_eq!(model.read_phys(slot + 8) >> 8 & 0xffff, 9, "untouched");
}

#[test]
fn a_did_already_on_other_tables_is_refused() {
    let model = Model::qemu();
    let ledger = RefCell::new(Ledger::EMPTY);
    let mut s = Endpoint(server(&model, &ledger).0);
    let system = InProcess::new(TASKS);
    let id = system.register("iommu", &mut s).unwrap();
    let mut c = Client::new(system.client("broker").unwrap(), id);
    two_domains(&mut c);
    c.set_context(UNIT, DEV, entry(A, DID_A), ReassignMode::default())
        .unwrap();
    assert_eq!(
        c.set_context(UNIT, OTHER, entry(B, DID_A), ReassignMode::default()),
        Err(ClientError::Op(IommuError::DidInUse {
            did: DID_A,
            holder: EntryOwner::Domain(A)
        }))
    );
    assert_eq!(
        c.set_context(UNIT, OTHER, entry(A, DID_B), ReassignMode::default()),
        Err(ClientError::Op(IommuError::DidMismatch {
            domain: A,
            held: DID_A,
            requested: DID_B
        }))
    );
}

#[test]
fn mapping_a_range_already_mapped_identically_adds_nothing_and_its_undo_keeps_it() {
    let model = Model::qemu();
    let ledger = RefCell::new(Ledger::EMPTY);
    let mut s = Endpoint(server(&model, &ledger).0);
    let system = InProcess::new(TASKS);
    let id = system.register("iommu", &mut s).unwrap();
    let mut c = Client::new(system.client("broker").unwrap(), id);
    two_domains(&mut c);
    c.set_context(UNIT, DEV, entry(A, DID_A), ReassignMode::default())
        .unwrap();
    let again = c
        .map_range(A, RMRR_BASE, RMRR_BASE, RMRR_PAGES, Access::ReadWrite)
        .unwrap();
    assert_eq!(again.pages, 0);
    c.unmap_range(A, again).unwrap();
    assert_eq!(model.dma(rid(DEV), RMRR_BASE, true), Ok(RMRR_BASE));
    assert_eq!(
        c.map_range(A, RMRR_BASE, PHYS_A, 1, Access::ReadWrite),
        Err(ClientError::Op(IommuError::Overlap { iova: RMRR_BASE }))
    );
    // Unmapping flushes: the DMA that used to land now faults.
    c.unmap_range(
        A,
        PageRange {
            iova: IOVA,
            pages: 1,
        },
    )
    .unwrap();
    assert!(model.dma(rid(DEV), IOVA, true).is_err());
    assert_eq!(
        c.unmap_range(
            A,
            PageRange {
                iova: IOVA,
                pages: 1
            }
        ),
        Err(ClientError::Op(IommuError::NotMapped { iova: IOVA }))
    );
}

#[test]
fn a_domain_in_use_cannot_be_destroyed_and_an_unused_one_frees_its_tables() {
    let model = Model::qemu();
    let ledger = RefCell::new(Ledger::EMPTY);
    let mut s = Endpoint(server(&model, &ledger).0);
    let system = InProcess::new(TASKS);
    let id = system.register("iommu", &mut s).unwrap();
    let mut c = Client::new(system.client("broker").unwrap(), id);
    let before = model.live_pages();
    two_domains(&mut c);
    c.set_context(UNIT, DEV, entry(A, DID_A), ReassignMode::default())
        .unwrap();
    assert_eq!(
        c.destroy_domain(A),
        Err(ClientError::Op(IommuError::DomainInUse(A)))
    );
    c.destroy_domain(B).unwrap();
    c.clear_context(UNIT, DEV, ReassignMode::default()).unwrap();
    c.destroy_domain(A).unwrap();
    assert_eq!(c.create_domain(A), Ok(()));
    c.destroy_domain(A).unwrap();
    // The context table page of bus 0 stays; every domain page is back.
    assert_eq!(model.live_pages(), before + 1);
    assert_eq!(model.double_frees(), 0);
}

#[test]
fn a_blocked_dma_is_reported_by_pull_faults() {
    let model = Model::qemu();
    let ledger = RefCell::new(Ledger::EMPTY);
    let mut s = Endpoint(server(&model, &ledger).0);
    let system = InProcess::new(TASKS);
    let id = system.register("iommu", &mut s).unwrap();
    let mut c = Client::new(system.client("broker").unwrap(), id);
    two_domains(&mut c);
    c.set_context(UNIT, DEV, entry(A, DID_A), ReassignMode::default())
        .unwrap();
    assert!(model.dma(rid(DEV), 0x5000_0000, true).is_err());
    let batch = c.pull_faults().unwrap();
    assert_eq!(batch.records.len(), 1);
    let f = batch.records[0];
    assert_eq!((f.unit, f.source, f.address), (UNIT, DEV, 0x5000_0000));
    assert_eq!(f.direction, DmaDirection::Write);
    assert_eq!(c.pull_faults().unwrap().records.len(), 0, "drained");
}

#[test]
fn without_cx16_an_rmrr_device_is_moved_best_effort_and_each_update_is_logged_with_both_owners() {
    thread_local! {
        static LOGGED: RefCell<Vec<task_iommu::BestEffortUpdate>> = const { RefCell::new(Vec::new()) };
    }
    fn record(u: &task_iommu::BestEffortUpdate) {
        LOGGED.with(|l| l.borrow_mut().push(*u));
    }
    let model = Model::qemu();
    model.set_cx16(false);
    let ledger = RefCell::new(Ledger::EMPTY);
    let mut server = server(&model, &ledger).0;
    server.set_best_effort_log(record);
    let mut s = Endpoint(server);
    let system = InProcess::new(TASKS);
    let id = system.register("iommu", &mut s).unwrap();
    let mut c = Client::new(system.client("broker").unwrap(), id);
    two_domains(&mut c);
    c.set_context(UNIT, DEV, entry(A, DID_A), ReassignMode::WITH_RMRR)
        .unwrap();
    let change = c
        .set_context(UNIT, DEV, entry(B, DID_B), ReassignMode::WITH_RMRR)
        .unwrap();
    assert!(!change.atomic);
    let counters = c.counters(UNIT).unwrap();
    assert_eq!(counters.best_effort_changes, 1);
    assert_eq!(counters.corruption_warnings, 1);
    // One log line per best-effort update, naming the device and both
    // owners, with Xen's warning unless the old owner is dying or had
    // no other device behind the unit.
    let single = ReassignMode::WITH_RMRR.union(ReassignMode::SINGLE_DEVICE);
    c.set_context(UNIT, DEV, entry(A, DID_A), single).unwrap();
    let logged = LOGGED.with(|l| l.borrow().clone());
    assert_eq!(
        logged,
        [
            task_iommu::BestEffortUpdate {
                unit: UNIT,
                rid: DEV,
                from: entry(A, DID_A),
                to: entry(B, DID_B),
                may_corrupt: true,
            },
            task_iommu::BestEffortUpdate {
                unit: UNIT,
                rid: DEV,
                from: entry(B, DID_B),
                to: entry(A, DID_A),
                may_corrupt: false,
            }
        ]
    );
    let caps = c.unit_caps(UNIT).unwrap();
    assert!(!caps.atomic_context);
    assert_eq!(caps.levels, 3);
}

#[test]
fn only_the_broker_may_change_context_entries() {
    let model = Model::qemu();
    let ledger = RefCell::new(Ledger::EMPTY);
    let mut s = Endpoint(server(&model, &ledger).0);
    let system = InProcess::new(TASKS);
    let id = system.register("iommu", &mut s).unwrap();
    let mut console = Client::new(system.client("console").unwrap(), id);
    assert_eq!(
        console.set_context(UNIT, DEV, ContextState::NotPresent, ReassignMode::default()),
        Err(ClientError::AccessDenied)
    );
    assert_eq!(console.unit_count(), Ok(1));
    assert_eq!(
        console.get_context(UnitId(3), DEV),
        Err(ClientError::Op(IommuError::NoSuchUnit(UnitId(3))))
    );
}

#[test]
fn present_entries_are_listed_a_page_at_a_time_in_requester_id_order() {
    let model = Model::qemu();
    let ledger = RefCell::new(Ledger::EMPTY);
    let mut s = Endpoint(server(&model, &ledger).0);
    let system = InProcess::new(TASKS);
    let id = system.register("iommu", &mut s).unwrap();
    let mut c = Client::new(system.client("broker").unwrap(), id);
    two_domains(&mut c);
    let devices: Vec<Bdf> = (0..11u16)
        .map(|i| Bdf::from_requester_id(0x0100 + (i << 3)))
        .collect();
    for d in devices.iter().rev() {
        c.set_context(UNIT, *d, entry(A, DID_A), ReassignMode::default())
            .unwrap();
    }
    let first = c.list_contexts(UNIT, None).unwrap();
    assert_eq!(first.entries.len(), CONTEXTS_PER_PAGE);
    assert_eq!(first.next, Some(devices[7]));
    let second = c.list_contexts(UNIT, first.next).unwrap();
    assert_eq!(second.next, None);
    let listed: Vec<Bdf> = first
        .entries
        .iter()
        .chain(second.entries.iter())
        .map(|e| e.rid)
        .collect();
    assert_eq!(listed, devices);
    assert!(first
        .entries
        .iter()
        .all(|e| e.state() == Some(entry(A, DID_A))));
}

#[test]
fn without_cx16_a_device_without_rmrr_passes_through_non_present() {
    let model = Model::qemu();
    model.set_cx16(false);
    let ledger = RefCell::new(Ledger::EMPTY);
    let mut s = Endpoint(server(&model, &ledger).0);
    let system = InProcess::new(TASKS);
    let id = system.register("iommu", &mut s).unwrap();
    let mut c = Client::new(system.client("broker").unwrap(), id);
    two_domains(&mut c);
    c.set_context(UNIT, OTHER, entry(A, DID_A), ReassignMode::default())
        .unwrap();
    model.watch(rid(OTHER), &[]);
    model.reset_observer();
    let change = c
        .set_context(UNIT, OTHER, entry(B, DID_B), ReassignMode::SINGLE_DEVICE)
        .unwrap();
    assert!(!change.atomic);
    assert!(model.observer().non_present_windows >= 1);
    let counters = c.counters(UNIT).unwrap();
    assert_eq!(counters.cleared_first_changes, 2, "first assignment too");
    assert_eq!(counters.corruption_warnings, 0);
    assert_eq!(model.dma(rid(OTHER), IOVA, true), Ok(PHYS_B));
}

#[test]
fn a_second_requester_id_of_a_quarantined_device_shares_its_tables_and_scratch() {
    let model = Model::qemu();
    let ledger = RefCell::new(Ledger::EMPTY);
    let mut s = Endpoint(server(&model, &ledger).0);
    let system = InProcess::new(TASKS);
    let id = system.register("iommu", &mut s).unwrap();
    let mut c = Client::new(system.client("broker").unwrap(), id);
    let alias = Bdf::from_requester_id(0x0100);
    c.quarantine_device(UNIT, DEV, PSEUDO, ReassignMode::default(), rmrrs(DEV))
        .unwrap();
    let scratch = ledger.borrow().quarantines[0].unwrap().scratch;
    model.write_phys(scratch, 7);
    c.quarantine_device(UNIT, alias, PSEUDO, ReassignMode::default(), rmrrs(DEV))
        .unwrap();
    assert_eq!(
        model.read_phys(scratch),
        7,
        "not zeroed while the device is in"
    );
    assert_eq!(model.dma(rid(alias), 0x1234_5000, false), Ok(scratch));
    assert_eq!(
        c.get_context(UNIT, alias).unwrap().root,
        c.get_context(UNIT, DEV).unwrap().root
    );
    assert_eq!(
        c.quarantine_device(UNIT, alias, Did(41), ReassignMode::default(), rmrrs(DEV)),
        Err(ClientError::Op(IommuError::DidInUse {
            did: PSEUDO,
            holder: EntryOwner::Quarantine
        })),
        "the tables already run under another pseudo-DID"
    );
}

#[test]
fn quarantine_tables_from_before_a_restart_are_reused() {
    let model = Model::qemu();
    let ledger = RefCell::new(Ledger::EMPTY);
    let mut first = Endpoint(server(&model, &ledger).0);
    let system = InProcess::new(TASKS);
    let id = system.register("iommu", &mut first).unwrap();
    let mut c = Client::new(system.client("broker").unwrap(), id);
    two_domains(&mut c);
    c.quarantine_device(UNIT, DEV, PSEUDO, ReassignMode::WITH_RMRR, rmrrs(DEV))
        .unwrap();
    c.set_context(UNIT, DEV, entry(A, DID_A), ReassignMode::WITH_RMRR)
        .unwrap();
    let record = ledger.borrow().quarantines[0].unwrap();

    let mut second = Endpoint(server(&model, &ledger).0);
    system.restart("iommu", Some(&mut second)).unwrap();
    assert_eq!(
        c.get_context(UNIT, DEV).unwrap().state(),
        Some(entry(A, DID_A)),
        "the client follows the restart"
    );
    model.write_phys(record.scratch, 9);
    let change = c
        .quarantine_device(UNIT, DEV, PSEUDO, ReassignMode::WITH_RMRR, rmrrs(DEV))
        .unwrap();
    assert_eq!(change.previous, entry(A, DID_A));
    assert_eq!(c.get_context(UNIT, DEV).unwrap().root, record.root);
    assert_eq!(model.read_phys(record.scratch), 0, "zeroed on entry");
    assert_eq!(model.dma(rid(DEV), RMRR_BASE, true), Ok(RMRR_BASE));
    assert_eq!(ledger.borrow().quarantines.iter().flatten().count(), 1);
}

#[test]
fn the_fault_interrupt_drains_the_registers_into_the_queue() {
    use task_iommu::iommu::Server as _;
    let model = Model::qemu();
    let ledger = RefCell::new(Ledger::EMPTY);
    let (mut s, _) = server(&model, &ledger);
    s.set_fault_notification(1 << 3);
    assert_eq!(s.notification_mask(), 1 << 3);
    // Two blocked DMAs; QEMU's unit records one at a time.
    assert!(model.dma(rid(DEV), 0x1000, true).is_err());
    s.notified(1 << 3);
    assert!(model.dma(rid(OTHER), 0x2000, false).is_err());
    let mut s = Endpoint(s);
    let system = InProcess::new(TASKS);
    let id = system.register("iommu", &mut s).unwrap();
    let mut c = Client::new(system.client("console").unwrap(), id);
    let batch = c.pull_faults().unwrap();
    let sources: Vec<_> = batch.records.iter().map(|f| f.source).collect();
    assert_eq!(sources, [DEV, OTHER]);
    assert_eq!(batch.pending, 0);
}

#[test]
fn more_domains_than_the_ledger_holds_are_refused_without_leaking_tables() {
    let model = Model::qemu();
    let ledger = RefCell::new(Ledger::EMPTY);
    let mut s = Endpoint(server(&model, &ledger).0);
    let system = InProcess::new(TASKS);
    let id = system.register("iommu", &mut s).unwrap();
    let mut c = Client::new(system.client("broker").unwrap(), id);
    for d in 0..task_iommu::MAX_DOMAINS as u16 {
        c.create_domain(DomainId(d)).unwrap();
    }
    let pages = model.live_pages();
    assert_eq!(
        c.create_domain(DomainId(999)),
        Err(ClientError::Op(IommuError::BooksFull {
            capacity: task_iommu::MAX_DOMAINS as u16
        }))
    );
    assert_eq!(model.live_pages(), pages);
    assert_eq!(
        c.create_domain(DomainId(3)),
        Err(ClientError::Op(IommuError::DomainExists(DomainId(3))))
    );
}

#[test]
fn a_map_that_fails_on_the_second_unit_is_undone_on_the_first() {
    let models = [Model::qemu(), Model::qemu()];
    let ledger = RefCell::new(Ledger::EMPTY);
    let mut s = IommuServer::new(SharedLedger(&ledger));
    for m in &models {
        s.add_unit(
            m.registers(),
            m.memory(),
            m.allocator(),
            NoDelay,
            Config::default(),
        )
        .unwrap();
    }
    let mut s = Endpoint(s);
    let system = InProcess::new(TASKS);
    let id = system.register("iommu", &mut s).unwrap();
    let mut c = Client::new(system.client("broker").unwrap(), id);
    assert_eq!(c.unit_count(), Ok(2));
    c.create_domain(A).unwrap();
    c.set_context(UnitId(1), DEV, entry(A, DID_A), ReassignMode::default())
        .unwrap();
    let pages = models.each_ref().map(|m| m.live_pages());
    models[1].fail_alloc_after(0);
    assert_eq!(
        c.map_range(A, IOVA, PHYS_A, 1, Access::ReadWrite),
        Err(ClientError::Op(IommuError::OutOfTables))
    );
    assert_eq!(
        models.each_ref().map(|m| m.live_pages()),
        pages,
        "nothing kept"
    );
    models[1].fail_alloc_after(u64::MAX);
    c.map_range(A, IOVA, PHYS_A, 1, Access::ReadWrite).unwrap();
    assert_eq!(models[1].dma(rid(DEV), IOVA, true), Ok(PHYS_A));
    assert!(
        models[0].dma(rid(DEV), IOVA, true).is_err(),
        "no entry on unit 0"
    );
}

#[test]
fn an_unmap_whose_flush_failed_is_reported_done_only_once_the_flush_succeeds() {
    let model = Model::qemu();
    let ledger = RefCell::new(Ledger::EMPTY);
    let mut s = Endpoint(server(&model, &ledger).0);
    let system = InProcess::new(TASKS);
    let id = system.register("iommu", &mut s).unwrap();
    let mut c = Client::new(system.client("broker").unwrap(), id);
    two_domains(&mut c);
    c.set_context(UNIT, DEV, entry(A, DID_A), ReassignMode::default())
        .unwrap();
    let rmrr = PageRange {
        iova: RMRR_BASE,
        pages: RMRR_PAGES,
    };
    model.reject_iotlb_invalidations(2);
    assert!(c.unmap_range(A, rmrr).is_err(), "the flush failed");
    // Unmapped in the tables, but still owed a flush: a retry says so.
    assert!(matches!(
        c.unmap_range(A, rmrr),
        Err(ClientError::Op(e)) if !matches!(e, IommuError::NotMapped { .. })
    ));
    // Once the owed flush goes through, the range is reported unmapped.
    assert!(matches!(
        c.unmap_range(A, rmrr),
        Err(ClientError::Op(IommuError::NotMapped { .. }))
    ));
}

/// Full fault lines and summaries the storm test's server logged.
static FULL_LINES: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
static SUMMARY_COUNT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

#[test]
fn a_fault_storm_masks_the_fault_event_until_the_interval_closes_and_is_logged_as_a_summary() {
    use std::sync::atomic::Ordering::SeqCst;
    let model = Model::qemu();
    let ledger = RefCell::new(Ledger::EMPTY);
    let (mut s, _) = server(&model, &ledger);
    s.set_fault_log(|_| {
        FULL_LINES.fetch_add(1, SeqCst);
    });
    s.set_fault_summary_log(|summary| {
        let total: u32 = summary.sources.iter().map(|s| s.count).sum();
        SUMMARY_COUNT.store(total, SeqCst);
    });
    model.registers().write32(regs::FECTL, 0);
    let storm = task_iommu::FAULT_BUDGET + 10;
    // The device faults again as soon as each drain frees the register.
    for _ in 0..storm {
        assert!(model.dma(rid(DEV), 0x5000_0000, true).is_err());
        s.drain_faults();
    }
    assert!(
        s.fault_event_masked(),
        "past the budget the event is masked"
    );
    assert_ne!(model.registers().read32(regs::FECTL) & regs::FECTL_IM, 0);
    // Once masked the unit no longer interrupts: the records after the
    // budget came without an event.
    let interrupts = model.stats().fault_interrupts;
    assert_eq!(interrupts, u64::from(task_iommu::FAULT_BUDGET) + 1);
    assert_eq!(FULL_LINES.load(SeqCst), 1, "one full line for the source");
    // A fault left pending while masked...
    assert!(model.dma(rid(DEV), 0x5000_0000, true).is_err());
    assert_eq!(model.stats().fault_interrupts, interrupts);
    let summary = s.end_fault_interval();
    assert_eq!(
        SUMMARY_COUNT.load(SeqCst),
        storm,
        "one summary with every record"
    );
    assert_eq!(summary.sources.len(), 1);
    assert_eq!(
        (summary.sources[0].source, summary.sources[0].count),
        (DEV, storm)
    );
    assert!(summary.masked);
    // ...raises the event when the interval closes and unmasks it.
    assert_eq!(model.registers().read32(regs::FECTL) & regs::FECTL_IM, 0);
    assert!(!s.fault_event_masked());
    assert_eq!(model.stats().fault_interrupts, interrupts + 1);
    assert_eq!(s.drain_faults(), 1, "nothing was lost to the mask");
    assert_eq!(s.fault_event_masks(), 1);
}

#[test]
fn a_few_faults_stay_under_the_budget_and_keep_the_event_unmasked() {
    let model = Model::qemu();
    let ledger = RefCell::new(Ledger::EMPTY);
    let (mut s, _) = server(&model, &ledger);
    model.registers().write32(regs::FECTL, 0);
    for _ in 0..task_iommu::FAULT_BUDGET {
        assert!(model.dma(rid(DEV), 0x5000_0000, true).is_err());
        s.drain_faults();
    }
    assert!(!s.fault_event_masked());
    assert!(s.fault_interval_open());
    assert!(!s.end_fault_interval().masked);
    assert!(!s.fault_interval_open());
}
