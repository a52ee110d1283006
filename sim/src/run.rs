//! What the simulator runs: the exhaustive fault matrix (every killable
//! task at every message boundary, and a torn or refused write of every
//! journal write, of one reassignment of each device kind) and the seeded random
//! workload on every fixture platform.
//!
//! A violation carries the seed, the platform and the request history, and
//! the command that replays it: `cargo xtask sim --seed S --platform NAME`.

use idl_types::{Bdf, DeviceKind, DomainId};
use task_broker::Knobs;

use crate::fixtures;
use crate::machine::{with_machine, Op, Outcome, DOMAINS};
use crate::platform::{Platform, SimDevice};
use crate::rng::Rng;
use crate::servers::KILLABLE;
use crate::transport::Fault;

/// The device kinds the matrix moves.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A PCIe endpoint.
    Endpoint,
    /// A PCIe endpoint with an RMRR.
    EndpointWithRmrr,
    /// A conventional device alone behind a PCIe-to-PCI bridge.
    Legacy,
    /// The same with an RMRR (custody moves it, beyond Xen).
    LegacyWithRmrr,
    /// A conventional device sharing its bridge with another.
    SharedLegacy,
    /// The same with an RMRR (Xen refuses to move it).
    SharedLegacyWithRmrr,
    /// An endpoint with phantom functions.
    Phantom,
}

/// Every kind.
pub const KINDS: [Kind; 7] = [
    Kind::Endpoint,
    Kind::EndpointWithRmrr,
    Kind::Legacy,
    Kind::LegacyWithRmrr,
    Kind::SharedLegacy,
    Kind::SharedLegacyWithRmrr,
    Kind::Phantom,
];

impl Kind {
    /// Whether `d`, on `platform`, is of this kind.
    pub fn matches(self, d: &SimDevice, platform: &Platform) -> bool {
        let legacy = d.kind == DeviceKind::LegacyEndpoint && d.aliases().count() == 2;
        let rmrr = !d.rmrrs.is_empty();
        let phantom = d.phantoms().next().is_some();
        let shared = platform
            .devices
            .iter()
            .any(|o| o.bdf != d.bdf && o.aliases().any(|a| d.aliases().any(|b| a == b)));
        match self {
            Kind::Endpoint => !legacy && !rmrr && !phantom,
            Kind::EndpointWithRmrr => !legacy && rmrr && !phantom,
            Kind::Legacy => legacy && !rmrr && !shared,
            Kind::LegacyWithRmrr => legacy && rmrr && !shared,
            Kind::SharedLegacy => legacy && !rmrr && shared,
            Kind::SharedLegacyWithRmrr => legacy && rmrr && shared,
            Kind::Phantom => phantom && !rmrr,
        }
    }
}

/// The domain a device starts in (the broker's initial assignment).
pub fn initial_domain(platform: &Platform, device: Bdf) -> Option<DomainId> {
    crate::machine::initial_assignments(platform)
        .iter()
        .find(|d| d.device == device)
        .and_then(|d| d.initial)
}

/// Messages and journal writes of one fault-free reassignment of `device`
/// to domain 3.
fn measure(platform: &Platform, device: Bdf, knobs: Knobs) -> Result<(usize, usize), String> {
    with_machine(platform, knobs, |m| {
        m.step(Op::Reassign(device, DomainId(3)), None);
        let c = m.ctl.borrow();
        (c.sent, c.writes)
    })
}

/// The faults of the matrix for a reassignment of `messages` messages and
/// `writes` journal writes.
pub fn matrix_faults(messages: usize, writes: usize) -> Vec<Fault> {
    let mut faults = Vec::new();
    for task in KILLABLE {
        for message in 0..messages {
            for after in [false, true] {
                faults.push(Fault::Message {
                    task,
                    message,
                    after,
                });
            }
        }
    }
    for write in 0..writes {
        for keep in [1, 40] {
            faults.push(Fault::TornWrite { write, keep });
        }
        faults.push(Fault::JournalRefuses { write });
    }
    faults
}

/// The exhaustive matrix on `platform`: for each device kind, every fault
/// of [`matrix_faults`] during its reassignment to domain 3, then a
/// fault-free move back. Returns the number of cells.
pub fn run_matrix(platform: &Platform, knobs: Knobs) -> (usize, Outcome) {
    run_matrix_of(platform, &KINDS, knobs)
}

/// [`run_matrix`] for some device kinds only.
pub fn run_matrix_of(platform: &Platform, kinds: &[Kind], knobs: Knobs) -> (usize, Outcome) {
    let mut total = Outcome::default();
    let mut cells = 0;
    for &kind in kinds {
        let Some(device) = platform.find(|d| kind.matches(d, platform)).map(|d| d.bdf) else {
            total
                .violations
                .push(format!("{}: no device of kind {kind:?}", platform.name));
            continue;
        };
        let (messages, writes) = match measure(platform, device, knobs) {
            Ok(n) => n,
            Err(e) => {
                total.violations.push(e);
                continue;
            }
        };
        let Some(home) = initial_domain(platform, device) else {
            continue;
        };
        for fault in matrix_faults(messages, writes) {
            cells += 1;
            let run = with_machine(platform, knobs, |m| {
                m.step(Op::Reassign(device, DomainId(3)), Some(fault));
                m.step(Op::Reassign(device, home), None);
                if m.last != Some(Ok(())) {
                    let last = m.last;
                    m.out.violations.push(format!(
                        "{kind:?} {device}: after {fault:?} it could not be moved back: {last:?}"
                    ));
                }
                std::mem::take(&mut m.out)
            });
            match run {
                Ok(o) => total.absorb(o),
                Err(e) => total.violations.push(e),
            }
        }
    }
    (cells, total)
}

/// The second faults of the double matrix after a first fault whose
/// recovery sent `messages` messages: every killable task, before or after
/// each of them.
pub fn recovery_faults(messages: usize) -> Vec<Fault> {
    let mut faults = Vec::new();
    for task in KILLABLE {
        for message in 0..messages {
            for after in [false, true] {
                faults.push(Fault::Message {
                    task,
                    message,
                    after,
                });
            }
        }
    }
    faults
}

/// The double-fault matrix on `platform` for `kinds`: for every cell of
/// [`run_matrix_of`], the recovery that follows its fault (the rest of the
/// request's rollback, the broker's restart and replay, the handling of the
/// deaths: iommu takeover, books rebuilt, domid rebuilt, pci told) is
/// measured, and a second fault strikes at every one of its message
/// boundaries ([`recovery_faults`]); then a fault-free move back. Only
/// every `stride.0`-th first fault and every `stride.1`-th second fault is
/// taken ((1, 1): all). First faults run in parallel, one machine per cell.
/// Returns (double-fault cells, outcome).
pub fn run_double_matrix_of(
    platform: &Platform,
    kinds: &[Kind],
    knobs: Knobs,
    stride: (usize, usize),
) -> (usize, Outcome) {
    let mut total = Outcome::default();
    let mut cells = 0;
    for &kind in kinds {
        let Some(device) = platform.find(|d| kind.matches(d, platform)).map(|d| d.bdf) else {
            total
                .violations
                .push(format!("{}: no device of kind {kind:?}", platform.name));
            continue;
        };
        let (messages, writes) = match measure(platform, device, knobs) {
            Ok(n) => n,
            Err(e) => {
                total.violations.push(e);
                continue;
            }
        };
        let Some(home) = initial_domain(platform, device) else {
            continue;
        };
        let firsts: Vec<Fault> = matrix_faults(messages, writes)
            .into_iter()
            .step_by(stride.0.max(1))
            .collect();
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let chunk = firsts.len().div_ceil(threads).max(1);
        let results: Vec<(usize, Outcome)> = std::thread::scope(|scope| {
            let workers: Vec<_> = firsts
                .chunks(chunk)
                .map(|part| {
                    scope.spawn(move || {
                        let mut out = (0, Outcome::default());
                        for &first in part {
                            let (n, o) = double_cells(
                                platform,
                                knobs,
                                (kind, device, home),
                                first,
                                stride.1,
                            );
                            out.0 += n;
                            out.1.absorb(o);
                        }
                        out
                    })
                })
                .collect();
            workers
                .into_iter()
                .map(|w| {
                    w.join().unwrap_or_else(|_| {
                        let mut o = Outcome::default();
                        o.violations.push(format!("{kind:?}: a worker panicked"));
                        (0, o)
                    })
                })
                .collect()
        });
        for (n, o) in results {
            cells += n;
            total.absorb(o);
        }
    }
    (cells, total)
}

/// Every `stride`-th double-fault cell after one first fault: (cells,
/// outcome).
fn double_cells(
    platform: &Platform,
    knobs: Knobs,
    (kind, device, home): (Kind, Bdf, DomainId),
    first: Fault,
    stride: usize,
) -> (usize, Outcome) {
    let op = Op::Reassign(device, DomainId(3));
    let mut total = Outcome::default();
    let recovery = with_machine(platform, knobs, |m| {
        m.step(op, Some(first));
        m.ctl.borrow().recovery_sent
    });
    let recovery = match recovery {
        Ok(n) => n,
        Err(e) => {
            total.violations.push(e);
            return (0, total);
        }
    };
    let mut cells = 0;
    for second in recovery_faults(recovery).into_iter().step_by(stride.max(1)) {
        cells += 1;
        let run = with_machine(platform, knobs, |m| {
            m.step_twice(op, Some(first), Some(second));
            m.step(Op::Reassign(device, home), None);
            if m.last != Some(Ok(())) {
                let last = m.last;
                m.out.violations.push(format!(
                    "{kind:?} {device}: after {first:?} then {second:?} it could not be moved back: {last:?}"
                ));
            }
            std::mem::take(&mut m.out)
        });
        match run {
            Ok(o) => total.absorb(o),
            Err(e) => total.violations.push(e),
        }
    }
    (cells, total)
}

/// A seeded workload of `len` requests, a third of them with a fault.
pub fn workload(platform: &Platform, seed: u64, len: usize) -> Vec<(Op, Option<Fault>)> {
    let mut rng = Rng::new(seed ^ Rng::hash(&platform.name).rotate_left(7));
    let devices: Vec<Bdf> = platform.devices.iter().map(|d| d.bdf).collect();
    if devices.is_empty() {
        return Vec::new();
    }
    let owners = ["dma-a", "dma-b"];
    (0..len)
        .map(|_| {
            let d = devices[rng.below(devices.len())];
            let domain = DOMAINS[rng.below(DOMAINS.len())].0;
            let owner = rng.below(2);
            let op = match rng.below(20) {
                0..=9 => Op::Reassign(d, domain),
                10 | 11 => Op::Quarantine(d),
                12 => Op::Release(d),
                13 | 14 => Op::OwnerDied(owners[owner]),
                15 | 16 => Op::Reclaim(owners[owner], d, DOMAINS[owner].0),
                17 => Op::Unauthorized(owners[owner], d, DOMAINS[1 - owner].0),
                _ => Op::Restart(KILLABLE[1 + rng.below(KILLABLE.len() - 1)]),
            };
            let fault = match rng.below(6) {
                0 | 1 => Some(Fault::Message {
                    task: KILLABLE[rng.below(KILLABLE.len())],
                    message: rng.below(24),
                    after: rng.chance(2),
                }),
                2 if rng.chance(4) => Some(Fault::JournalRefuses {
                    write: rng.below(30),
                }),
                2 => Some(Fault::TornWrite {
                    write: rng.below(30),
                    keep: 1 + rng.below(80),
                }),
                _ => None,
            };
            (op, fault)
        })
        .collect()
}

/// One seed on one fixture: the platform the seed builds, its workload.
pub fn run_seed(name: &str, dmar: &[u8], seed: u64, len: usize, knobs: Knobs) -> Outcome {
    let platform = match Platform::random(name, dmar.to_vec(), seed) {
        Ok(p) => p,
        Err(e) => {
            return Outcome {
                violations: vec![format!("{name}: platform: {e}")],
                ..Outcome::default()
            }
        }
    };
    let ops = workload(&platform, seed, len);
    let run = with_machine(&platform, knobs, |m| {
        for &(op, fault) in &ops {
            m.step(op, fault);
        }
        std::mem::take(&mut m.out)
    });
    let mut o = match run {
        Ok(o) => o,
        Err(e) => Outcome {
            violations: vec![format!("{name}: machine: {e}")],
            ..Outcome::default()
        },
    };
    if let Some(first) = o.violations.first().cloned() {
        let more = o.violations.len() - 1;
        o.violations = vec![format!(
            "seed {seed} on {platform:?}: {first} (+{more} more)\n  replay: cargo xtask sim --seed {seed} --platform {name}"
        )];
    }
    o
}

/// Which fixtures parse into platforms, and why the others do not.
pub struct Fixtures {
    /// (name, DMAR bytes) of every fixture that parses.
    pub parsed: Vec<(String, Vec<u8>)>,
    /// (name, reason) of every fixture that does not.
    pub skipped: Vec<(String, String)>,
}

/// Loads every fixture (or only `only`), keeping those whose table builds
/// a platform.
pub fn load_fixtures(only: Option<&str>) -> Fixtures {
    let mut f = Fixtures {
        parsed: Vec::new(),
        skipped: Vec::new(),
    };
    for name in fixtures::names() {
        if only.is_some_and(|o| o != name) {
            continue;
        }
        match fixtures::load(&name).and_then(|b| Platform::random(&name, b.clone(), 0).map(|_| b)) {
            Ok(bytes) => f.parsed.push((name, bytes)),
            Err(e) => f.skipped.push((name, e)),
        }
    }
    f
}

/// Runs `seeds` seeds from `first` on every platform of `fixtures`, with
/// `len` requests each.
pub fn run_random(
    fixtures: &Fixtures,
    first: u64,
    seeds: u64,
    len: usize,
    knobs: Knobs,
) -> Outcome {
    let mut total = Outcome::default();
    for (name, bytes) in &fixtures.parsed {
        for seed in first..first + seeds {
            total.absorb(run_seed(name, bytes, seed, len, knobs));
        }
    }
    total
}
