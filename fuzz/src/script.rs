//! A fuzz input for a server: who calls, then a few calls, each an
//! operation code, message bytes, a reply capacity and a lease table.
//!
//! The same encoding is written by the seed generator (from messages the
//! real generated clients send, see [`Recorder`]) and read back from any
//! bytes by [`Script::decode`], which never fails: missing bytes read as
//! zero-length, so every input is some script and libFuzzer's mutations of
//! a real call stay close to it.
//!
//! Layout: `caller: u8`, then per call `op: u8`, `reply: u8` (capacity;
//! 0 = `MAX_MESSAGE`), `len: u8` and `len` message bytes, `leases: u8`
//! (count, taken modulo `MAX_LEASES + 2` so a table one too long is tried),
//! and per lease `kind: u8` (odd = write), `len: u16` little-endian (at
//! most [`MAX_LEASE`]) and, for a read lease, its bytes.

use std::cell::RefCell;
use std::rc::Rc;

use abi::{TaskId, MAX_LEASES, MAX_MESSAGE};
use idl_runtime::{Lease, SendError, Transport};

/// Calls decoded from one input, at most.
pub const MAX_CALLS: usize = 12;
/// The largest lease a script carries.
pub const MAX_LEASE: usize = 4096;

/// One lease of a call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RawLease {
    /// The server may read these bytes.
    Read(Vec<u8>),
    /// The server may write this many bytes.
    Write(usize),
}

/// One call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawCall {
    /// Operation code.
    pub op: u8,
    /// Reply buffer size the caller offers.
    pub reply_capacity: usize,
    /// Message bytes.
    pub message: Vec<u8>,
    /// Leases.
    pub leases: Vec<RawLease>,
}

/// A caller and its calls.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Script {
    /// Index of the calling task in the harness's task names (modulo).
    pub caller: u8,
    /// The calls, in order.
    pub calls: Vec<RawCall>,
}

/// Reads bytes, yielding zeros and empty slices past the end.
pub struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader of `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Reader { data }
    }

    /// Whether every byte was read.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The next byte, or 0.
    pub fn u8(&mut self) -> u8 {
        self.bytes(1).first().copied().unwrap_or(0)
    }

    /// The next little-endian u16, or what is left of it.
    pub fn u16(&mut self) -> u16 {
        u16::from(self.u8()) | (u16::from(self.u8()) << 8)
    }

    /// The next little-endian u64, or what is left of it.
    pub fn u64(&mut self) -> u64 {
        (0..8).fold(0, |v, i| v | (u64::from(self.u8()) << (8 * i)))
    }

    /// Up to `n` next bytes.
    pub fn bytes(&mut self, n: usize) -> &'a [u8] {
        let (head, tail) = self.data.split_at(n.min(self.data.len()));
        self.data = tail;
        head
    }

    /// Everything left.
    pub fn rest(&mut self) -> &'a [u8] {
        self.bytes(self.data.len())
    }
}

impl Script {
    /// The script in `data` (any bytes are one).
    pub fn decode(data: &[u8]) -> Script {
        let mut r = Reader::new(data);
        let caller = r.u8();
        let mut calls = Vec::new();
        while !r.is_empty() && calls.len() < MAX_CALLS {
            let op = r.u8();
            let reply_capacity = match r.u8() {
                0 => MAX_MESSAGE,
                n => usize::from(n),
            };
            let len = usize::from(r.u8());
            let message = r.bytes(len).to_vec();
            let count = usize::from(r.u8()) % (MAX_LEASES + 2);
            let leases = (0..count)
                .map(|_| {
                    let write = r.u8() % 2 == 1;
                    let len = usize::from(r.u16()).min(MAX_LEASE);
                    if write {
                        RawLease::Write(len)
                    } else {
                        RawLease::Read(r.bytes(len).to_vec())
                    }
                })
                .collect();
            calls.push(RawCall {
                op,
                reply_capacity,
                message,
                leases,
            });
        }
        Script { caller, calls }
    }

    /// The bytes [`Script::decode`] reads back as this script.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![self.caller];
        for c in &self.calls {
            out.push(c.op);
            out.push(if c.reply_capacity >= MAX_MESSAGE {
                0
            } else {
                c.reply_capacity as u8
            });
            let len = c.message.len().min(usize::from(u8::MAX));
            out.push(len as u8);
            out.extend_from_slice(&c.message[..len]);
            out.push(c.leases.len() as u8);
            for l in &c.leases {
                match l {
                    RawLease::Read(bytes) => {
                        let len = bytes.len().min(MAX_LEASE);
                        out.push(0);
                        out.extend_from_slice(&(len as u16).to_le_bytes());
                        out.extend_from_slice(&bytes[..len]);
                    }
                    RawLease::Write(len) => {
                        out.push(1);
                        out.extend_from_slice(&((*len).min(MAX_LEASE) as u16).to_le_bytes());
                    }
                }
            }
        }
        out
    }

    /// Sends every call to `target` through `transport` (the in-process
    /// transport: its copies and limits are the kernel's) and checks the
    /// server's answer to each: a reply, or a reply fault (a refusal).
    /// Anything else (a reply longer than the caller offered, a server
    /// that is gone or re-entered) is a bug and panics, as does a panic
    /// in the server itself.
    pub fn run<T: Transport>(&self, transport: &mut T, target: TaskId) {
        for call in &self.calls {
            let mut reply = vec![0u8; call.reply_capacity];
            let mut buffers: Vec<Vec<u8>> = call
                .leases
                .iter()
                .map(|l| match l {
                    RawLease::Read(b) => b.clone(),
                    RawLease::Write(n) => vec![0; *n],
                })
                .collect();
            let mut leases: Vec<Lease<'_>> = call
                .leases
                .iter()
                .zip(buffers.iter_mut())
                .map(|(l, b)| match l {
                    RawLease::Read(_) => Lease::Read(b),
                    RawLease::Write(_) => Lease::Write(b),
                })
                .collect();
            let result = transport.send(
                target,
                u32::from(call.op),
                &call.message,
                &mut reply,
                &mut leases,
            );
            match result {
                Ok((_, len)) => assert!(len <= call.reply_capacity, "reply beyond capacity"),
                Err(SendError::Faulted(_)) => {}
                Err(SendError::TooManyLeases(n)) if n > MAX_LEASES => {}
                Err(e) => panic!("op {}: neither an answer nor a refusal: {e}", call.op),
            }
        }
    }
}

/// A transport that records what a real client sends (for seeds) and
/// passes it on; clones share the record.
#[derive(Clone)]
pub struct Recorder<T> {
    /// The transport underneath.
    pub inner: T,
    /// The calls sent so far.
    pub calls: Rc<RefCell<Vec<RawCall>>>,
}

impl<T> Recorder<T> {
    /// Records over `inner`.
    pub fn new(inner: T) -> Self {
        Recorder {
            inner,
            calls: Rc::default(),
        }
    }

    /// The calls recorded, as a script of caller `caller`.
    pub fn script(&self, caller: u8) -> Script {
        Script {
            caller,
            calls: self.calls.borrow().clone(),
        }
    }
}

impl<T: Transport> Transport for Recorder<T> {
    fn send(
        &mut self,
        target: TaskId,
        op: u32,
        msg: &[u8],
        reply: &mut [u8],
        leases: &mut [Lease<'_>],
    ) -> Result<(u32, usize), SendError> {
        self.calls.borrow_mut().push(RawCall {
            op: op as u8,
            reply_capacity: reply.len(),
            message: msg.to_vec(),
            leases: leases
                .iter()
                .map(|l| match l {
                    Lease::Read(b) => RawLease::Read(b.to_vec()),
                    Lease::Write(b) => RawLease::Write(b.len()),
                })
                .collect(),
        });
        self.inner.send(target, op, msg, reply, leases)
    }
}
