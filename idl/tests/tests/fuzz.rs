//! Robustness of every generated dispatch function: random and mutated
//! messages, random operation numbers, leases, callers and reply buffers.
//! Every input must get a reply or a reply fault, no reply may exceed the
//! operation's computed maximum, and nothing may panic.
//!
//! A small corpus of accepted messages is kept per interface and mutated,
//! so inputs reach the servers' code and not only the decoder. Seeded, so a
//! failure reproduces.

mod common;

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};

use common::{fakes, kitchen::Kitchen, TASKS};
use idl_runtime::abi::{self, Generation, ReplyFaultReason, TaskId, MAX_MESSAGE};
use idl_runtime::{reply_code, Call, Dispatch, DispatchOutcome, Encoding, OpSpec, ServerContext};
use idl_tests::{acpi, broker, domid, iommu, kitchen, pci, supervisor};

/// Inputs per interface; seven interfaces make 112 000 in all.
const INPUTS_PER_INTERFACE: usize = 16_000;

/// xorshift64*: small, seeded, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// Leases with random attributes and lengths, and the system's task names.
struct FuzzContext {
    leases: Vec<(u32, usize)>,
}

impl FuzzContext {
    fn window(&self, lease: usize, need: u32, offset: usize, len: usize) -> Result<usize, u32> {
        let (attrs, length) = *self.leases.get(lease).ok_or(abi::rc::BAD_LEASE)?;
        if attrs & need == 0 {
            return Err(abi::rc::LEASE_DENIED);
        }
        match offset.checked_add(len) {
            Some(end) if end <= length => Ok(len),
            _ => Err(abi::rc::LEASE_OUT_OF_RANGE),
        }
    }
}

impl ServerContext for FuzzContext {
    fn borrow_read(
        &self,
        _s: TaskId,
        lease: usize,
        offset: usize,
        dst: &mut [u8],
    ) -> Result<usize, u32> {
        let n = self.window(lease, abi::lease::READ, offset, dst.len())?;
        dst.fill(0x5a);
        Ok(n)
    }
    fn borrow_write(
        &self,
        _s: TaskId,
        lease: usize,
        offset: usize,
        src: &[u8],
    ) -> Result<usize, u32> {
        self.window(lease, abi::lease::WRITE, offset, src.len())
    }
    fn borrow_info(&self, _s: TaskId, lease: usize) -> Result<(u32, usize), u32> {
        self.leases.get(lease).copied().ok_or(abi::rc::BAD_LEASE)
    }
    fn task_name(&self, task: TaskId) -> Option<&str> {
        TASKS.get(task.index()).copied()
    }
    /// As an app.toml would make them: the console is the operator, the
    /// kitchen injects faults.
    fn in_group(&self, task: TaskId, group: &str) -> bool {
        let member = match group {
            "operators" => "console",
            "fault-injectors" => "kitchen",
            _ => return false,
        };
        self.task_name(task) == Some(member)
    }
}

struct Target {
    name: &'static str,
    server: Box<dyn Dispatch>,
    ops: Vec<u32>,
    spec: fn(u32) -> Option<&'static OpSpec>,
}

fn targets() -> Vec<Target> {
    macro_rules! target {
        ($name:literal, $module:ident, $server:expr) => {
            Target {
                name: $name,
                server: Box::new($module::Endpoint($server)),
                ops: $module::Op::ALL.iter().map(|op| *op as u32).collect(),
                spec: |raw| $module::Op::from_raw(raw).map(|op| op.spec()),
            }
        };
    }
    vec![
        target!("acpi", acpi, fakes::Acpi),
        target!("broker", broker, fakes::Broker::default()),
        target!("domid", domid, fakes::Domid::default()),
        target!("iommu", iommu, fakes::Iommu::default()),
        target!("pci", pci, fakes::Pci::default()),
        target!("supervisor", supervisor, fakes::Supervisor::default()),
        target!("kitchen", kitchen, Kitchen::default()),
    ]
}

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut msg = seed.to_vec();
    for _ in 0..=rng.below(3) {
        match rng.below(6) {
            0 if !msg.is_empty() => {
                let i = rng.below(msg.len());
                msg[i] ^= 1 << rng.below(8);
            }
            1 if !msg.is_empty() => {
                let i = rng.below(msg.len());
                msg[i] = rng.next() as u8;
            }
            2 => {
                let i = rng.below(msg.len() + 1);
                msg.insert(i, rng.next() as u8);
            }
            3 if !msg.is_empty() => {
                let i = rng.below(msg.len());
                msg.remove(i);
            }
            4 => msg.truncate(rng.below(msg.len() + 1)),
            _ => msg.push(0xff),
        }
    }
    msg
}

#[derive(Default, Debug)]
struct Tally {
    ok: usize,
    op_error: usize,
    denied: usize,
    faults: BTreeMap<u32, usize>,
}

#[test]
fn every_dispatch_answers_random_and_mutated_messages_without_panicking() {
    let mut rng = Rng(0x00c0_ffee_d15e_a5e5);
    let mut total = 0;
    let mut contents_refused = 0;
    for mut target in targets() {
        let mut corpus: Vec<(u32, Vec<u8>)> = Vec::new();
        let mut tally = Tally::default();
        for _ in 0..INPUTS_PER_INTERFACE {
            let random_op = |rng: &mut Rng| {
                if rng.chance(85) {
                    target.ops[rng.below(target.ops.len())]
                } else {
                    rng.next() as u32 % 64
                }
            };
            let (op, message) = match corpus.len() {
                // Mutate an accepted message, usually sent to its own op.
                n if n > 0 && rng.chance(50) => {
                    let (seed_op, seed) = &corpus[rng.below(n)];
                    let op = if rng.chance(80) {
                        *seed_op
                    } else {
                        random_op(&mut rng)
                    };
                    (op, mutate(&mut rng, seed))
                }
                _ => {
                    let op = random_op(&mut rng);
                    match (target.spec)(op) {
                        // A fixed-layout message of its exact size, half its
                        // bytes zero (valid in every tag, bool and pad), so
                        // that many reach the server.
                        Some(spec) if spec.encoding == Encoding::Fixed && rng.chance(80) => {
                            let bytes = rng.bytes(spec.request_max);
                            let zeros = rng.bytes(spec.request_max);
                            let mut msg: Vec<u8> = bytes
                                .iter()
                                .zip(&zeros)
                                .map(|(b, z)| if z & 1 == 0 { 0 } else { *b })
                                .collect();
                            // Often a zero tail the length of a pad.
                            let pad = rng.below(8).min(msg.len());
                            let keep = msg.len() - pad;
                            msg[keep..].fill(0);
                            (op, msg)
                        }
                        _ => {
                            let len = if rng.chance(5) {
                                rng.below(MAX_MESSAGE + 16)
                            } else {
                                rng.below(24)
                            };
                            (op, rng.bytes(len))
                        }
                    }
                }
            };
            let spec = (target.spec)(op);
            // Usually the leases the operation wants, sometimes anything.
            let leases: Vec<(u32, usize)> = match spec {
                Some(spec) if rng.chance(80) => spec
                    .leases
                    .iter()
                    .map(|l| {
                        let attrs = if l.write {
                            abi::lease::WRITE
                        } else {
                            abi::lease::READ
                        };
                        (attrs, rng.below(l.max_len + 2))
                    })
                    .collect(),
                _ => (0..rng.below(5))
                    .map(|_| (rng.below(4) as u32, rng.below(300)))
                    .collect(),
            };
            // Half the time a caller the operation admits (a name on its
            // `callers` list, or a member of a group on it), else anyone.
            let admitted = spec
                .map(|s| s.callers)
                .unwrap_or(&[])
                .iter()
                .filter_map(|c| match c.strip_prefix('@') {
                    Some("operators") => Some("console"),
                    Some("fault-injectors") => Some("kitchen"),
                    Some(_) => None,
                    None => Some(*c),
                })
                .filter_map(|name| TASKS.iter().position(|t| *t == name))
                .collect::<Vec<_>>();
            let index = if !admitted.is_empty() && rng.chance(50) {
                admitted[rng.below(admitted.len())]
            } else {
                rng.below(TASKS.len() + 2)
            };
            let caller = TaskId::new(index as u16, Generation::new(0));
            let reply_capacity = if rng.chance(90) {
                MAX_MESSAGE
            } else {
                rng.below(MAX_MESSAGE)
            };
            let call = Call {
                caller,
                op,
                message: &message,
                reply_capacity,
                lease_count: leases.len(),
            };
            let ctx = FuzzContext { leases };
            let mut reply = [0u8; MAX_MESSAGE];
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                target.server.dispatch(&call, &ctx, &mut reply)
            }))
            .unwrap_or_else(|_| {
                panic!(
                    "{}: dispatch panicked on op {op} message {message:02x?}",
                    target.name
                )
            });
            total += 1;
            match outcome {
                DispatchOutcome::Reply { code, len } => {
                    let spec =
                        spec.unwrap_or_else(|| panic!("{}: reply to unknown op {op}", target.name));
                    assert!(
                        len <= spec.reply_max,
                        "{}: op {op} replied {len} bytes, more than its bound",
                        target.name
                    );
                    assert!(len <= reply_capacity);
                    if spec.encoding == Encoding::Fixed && code != reply_code::ACCESS_DENIED {
                        assert_eq!(
                            message.len(),
                            spec.request_max,
                            "{}: op {op} accepted a fixed message of the wrong size",
                            target.name
                        );
                        assert_eq!(len % 8, 0, "{}: a fixed reply is whole words", target.name);
                    }
                    match code {
                        reply_code::OK => tally.ok += 1,
                        reply_code::OP_ERROR => tally.op_error += 1,
                        reply_code::ACCESS_DENIED => tally.denied += 1,
                        other => panic!("{}: unknown reply code {other:#x}", target.name),
                    }
                    if code != reply_code::ACCESS_DENIED && corpus.len() < 512 {
                        corpus.push((op, message.clone()));
                    }
                }
                DispatchOutcome::Fault(reason) => {
                    *tally.faults.entry(reason as u32).or_default() += 1;
                }
            }
        }
        eprintln!("{}: {tally:?}", target.name);
        contents_refused += tally
            .faults
            .get(&(ReplyFaultReason::BadMessageContents as u32))
            .copied()
            .unwrap_or(0);
        // The inputs reached both the servers and every kind of refusal.
        assert!(
            tally.ok + tally.op_error > 1000,
            "{}: too few messages reached the server: {tally:?}",
            target.name
        );
        for reason in [
            ReplyFaultReason::UndefinedOperation,
            ReplyFaultReason::BadMessageSize,
        ] {
            assert!(
                tally.faults.contains_key(&(reason as u32)),
                "{}: never saw {reason:?}: {tally:?}",
                target.name
            );
        }
    }
    assert!(total >= 100_000, "only {total} inputs");
    assert!(
        contents_refused > 0,
        "hostile bytes in fixed layouts were refused as BadMessageContents"
    );
}
