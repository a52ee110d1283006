//! Restarts of the iommu server over a running unit, with its page books in
//! a region that outlives it (as firmware keeps them): every restart takes
//! the unit over without allocating, so the books stay exact however often
//! the task dies, in both invalidation modes; a unit whose tables are not
//! in the books is refused with the reason.

use std::cell::RefCell;

use idl_types::{Access, DomainId, IommuError, UnitFault, UnitId};
use task_iommu::iommu::{Client, Endpoint};
use task_iommu::{pages_region_bytes, IommuServer, Ledger, RegionPages, SharedLedger, Started};
use vtd::model::{Model, ModelMemory, ModelRegisters, NoDelay};
use vtd::{regs, Config, InvalidationChoice, Registers, ResumeError};

type Server<'a> = IommuServer<
    ModelRegisters,
    ModelMemory,
    RegionPages<'a, ModelMemory>,
    NoDelay,
    SharedLedger<'a>,
>;

/// The DMA pool the books describe (away from the model's own pool).
const POOL: u64 = 0x4000_0000;
const POOL_BYTES: u64 = 64 * 4096;
const RESTARTS: usize = 5;

fn config(invalidation: InvalidationChoice) -> Config {
    Config {
        invalidation,
        ..Config::default()
    }
}

/// One life of the server: its books in `books`, its ledger in `ledger`.
fn life<'a>(
    model: &Model,
    books: &'a mut [u8],
    ledger: &'a RefCell<Ledger>,
    invalidation: InvalidationChoice,
) -> Result<(Server<'a>, Started), (IommuError, Option<task_iommu::StartError>)> {
    let pages = RegionPages::new(books, POOL, POOL_BYTES, model.memory()).unwrap();
    let mut server = IommuServer::new(SharedLedger(ledger));
    match server.add_unit(
        model.registers(),
        model.memory(),
        pages,
        NoDelay,
        config(invalidation),
    ) {
        Ok((_, started)) => Ok((server, started)),
        Err(e) => Err((e, server.start_error())),
    }
}

fn pages_in_use(server: &mut Server<'_>) -> u32 {
    server.unit(UnitId(0)).unwrap().hw().tables().1.in_use()
}

fn restarts_keep_the_books_exact(invalidation: InvalidationChoice, fresh_pages: u32) {
    let model = Model::qemu();
    let ledger = RefCell::new(Ledger::EMPTY);
    let mut books = vec![0u8; pages_region_bytes(POOL_BYTES)];
    let in_use = {
        let (server, started) = life(&model, &mut books, &ledger, invalidation).unwrap();
        assert_eq!(started, Started::Fresh);
        let mut server = Endpoint(server);
        {
            let system = idl_runtime::InProcess::new(["broker", "iommu"]);
            let id = system.register("iommu", &mut server).unwrap();
            let mut c = Client::new(system.client("broker").unwrap(), id);
            c.create_domain(DomainId(1)).unwrap();
            c.map_range(DomainId(1), 0x10_0000, 0x2000_0000, 1, Access::ReadWrite)
                .unwrap();
        }
        let in_use = pages_in_use(&mut server.0);
        assert!(in_use > fresh_pages, "the domain's tables are counted");
        in_use
    };
    let root = model.registers().read64(regs::RTADDR);
    let iqa = model.registers().read64(regs::IQA);
    for restart in 0..RESTARTS {
        let (mut server, started) = life(&model, &mut books, &ledger, invalidation).unwrap();
        let Started::Resumed(found) = started else {
            panic!("restart {restart} did not take over: {started:?}");
        };
        assert_eq!(found.root, root, "restart {restart}");
        assert_eq!(found.queue.is_some(), fresh_pages == 3, "restart {restart}");
        assert_eq!(pages_in_use(&mut server), in_use, "restart {restart}");
        // Each life invalidates a little, so the next one resumes a queue
        // that moved on.
        let unit = server.unit(UnitId(0)).unwrap().hw();
        unit.invalidate_iotlb_domain(1).unwrap();
    }
    assert_eq!(model.registers().read64(regs::RTADDR), root);
    assert_eq!(model.registers().read64(regs::IQA), iqa, "the same queue");
    assert_eq!(model.stats().queue_errors, 0);
}

#[test]
fn restarts_in_queue_mode_leave_the_page_books_unchanged() {
    // Fresh: queue page, status page and root table.
    restarts_keep_the_books_exact(InvalidationChoice::Queue, 3);
}

#[test]
fn restarts_in_register_mode_leave_the_page_books_unchanged() {
    // Fresh: the root table only.
    restarts_keep_the_books_exact(InvalidationChoice::Registers, 1);
}

#[test]
fn a_running_unit_whose_root_is_not_in_the_books_is_refused_with_the_reason() {
    let model = Model::qemu();
    let ledger = RefCell::new(Ledger::EMPTY);
    let mut unit = model.unit(config(InvalidationChoice::Queue)).unwrap();
    unit.bring_up().unwrap(); // tables from the model's pool, not the books'
    let root = model.registers().read64(regs::RTADDR);
    let mut books = vec![0u8; pages_region_bytes(POOL_BYTES)];
    let Err((error, why)) = life(&model, &mut books, &ledger, InvalidationChoice::Queue) else {
        panic!("a foreign root table was adopted");
    };
    assert_eq!(
        error,
        IommuError::UnitFailure {
            unit: UnitId(0),
            cause: UnitFault::ResumeFailed
        }
    );
    let why = why.expect("the reason is kept");
    assert_eq!(
        why,
        task_iommu::StartError::Resume(ResumeError::RootNotInPool { root })
    );
    assert!(
        why.to_string().contains("not a page of the table pool"),
        "{why}"
    );
    assert_eq!(model.registers().read64(regs::RTADDR), root, "untouched");
}
