//! Leases: a client lends a buffer for one call; the server copies through it.
//!
//! The client side ([`Lease`]) borrows Rust slices, so no raw address is ever
//! made up by hand; the kernel transport turns them into `abi::Lease`. The
//! server side ([`ReadLease`], [`WriteLease`]) holds only an index and checks
//! every copy against the lease's length before asking the transport.

use core::fmt;

use abi::TaskId;

use crate::transport::ServerContext;

/// A buffer a client lends with a message.
#[derive(Debug)]
pub enum Lease<'a> {
    /// The server may read these bytes.
    Read(&'a [u8]),
    /// The server may write these bytes.
    Write(&'a mut [u8]),
}

impl Lease<'_> {
    /// `abi::lease::READ` or `abi::lease::WRITE`.
    pub fn attributes(&self) -> u32 {
        match self {
            Lease::Read(_) => abi::lease::READ,
            Lease::Write(_) => abi::lease::WRITE,
        }
    }

    /// Its length in bytes.
    pub fn len(&self) -> usize {
        match self {
            Lease::Read(b) => b.len(),
            Lease::Write(b) => b.len(),
        }
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The kernel's form: attributes, address and length. The address is only
    /// meaningful while `self` is borrowed, i.e. for the duration of a send.
    pub fn to_abi(&self) -> abi::Lease {
        let base = match self {
            Lease::Read(b) => b.as_ptr() as u64,
            Lease::Write(b) => b.as_ptr() as u64,
        };
        abi::Lease {
            attributes: self.attributes(),
            reserved: 0,
            base,
            length: self.len() as u64,
        }
    }
}

/// Why a copy through a lease failed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum LeaseError {
    /// The copy would run past the lease's end.
    OutOfRange {
        /// Where the copy started.
        offset: usize,
        /// How many bytes it wanted.
        len: usize,
        /// The lease's length.
        lease_len: usize,
    },
    /// The client died while we held its lease.
    ClientDied,
    /// The kernel refused the copy with this code.
    Refused(u32),
}

impl fmt::Display for LeaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LeaseError::OutOfRange {
                offset,
                len,
                lease_len,
            } => write!(
                f,
                "{len} bytes at offset {offset} run past a lease of {lease_len} bytes"
            ),
            LeaseError::ClientDied => write!(f, "the client died while its lease was held"),
            LeaseError::Refused(code) => write!(f, "the kernel refused the copy ({code:#x})"),
        }
    }
}

fn check_range(offset: usize, len: usize, lease_len: usize) -> Result<(), LeaseError> {
    match offset.checked_add(len) {
        Some(end) if end <= lease_len => Ok(()),
        _ => Err(LeaseError::OutOfRange {
            offset,
            len,
            lease_len,
        }),
    }
}

fn map_code(code: u32) -> LeaseError {
    if abi::rc::dead_generation(code).is_some() {
        LeaseError::ClientDied
    } else {
        LeaseError::Refused(code)
    }
}

/// A lease the server may read, already checked to be readable and within
/// the operation's maximum length.
pub struct ReadLease<'a> {
    ctx: &'a dyn ServerContext,
    sender: TaskId,
    index: usize,
    len: usize,
}

impl<'a> ReadLease<'a> {
    /// Wraps lease `index` of `sender`, of `len` bytes (dispatch checked it).
    pub fn new(ctx: &'a dyn ServerContext, sender: TaskId, index: usize, len: usize) -> Self {
        ReadLease {
            ctx,
            sender,
            index,
            len,
        }
    }

    /// The lease's length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Fills `dst` from the lease starting at `offset`.
    pub fn read(&self, offset: usize, dst: &mut [u8]) -> Result<(), LeaseError> {
        check_range(offset, dst.len(), self.len)?;
        match self.ctx.borrow_read(self.sender, self.index, offset, dst) {
            Ok(n) if n == dst.len() => Ok(()),
            Ok(_) => Err(LeaseError::Refused(abi::rc::LEASE_OUT_OF_RANGE)),
            Err(code) => Err(map_code(code)),
        }
    }
}

/// A lease the server may write, already checked to be writable and within
/// the operation's maximum length.
pub struct WriteLease<'a> {
    ctx: &'a dyn ServerContext,
    sender: TaskId,
    index: usize,
    len: usize,
}

impl<'a> WriteLease<'a> {
    /// Wraps lease `index` of `sender`, of `len` bytes (dispatch checked it).
    pub fn new(ctx: &'a dyn ServerContext, sender: TaskId, index: usize, len: usize) -> Self {
        WriteLease {
            ctx,
            sender,
            index,
            len,
        }
    }

    /// The lease's length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Copies all of `src` into the lease starting at `offset`.
    pub fn write(&self, offset: usize, src: &[u8]) -> Result<(), LeaseError> {
        check_range(offset, src.len(), self.len)?;
        match self.ctx.borrow_write(self.sender, self.index, offset, src) {
            Ok(n) if n == src.len() => Ok(()),
            Ok(_) => Err(LeaseError::Refused(abi::rc::LEASE_OUT_OF_RANGE)),
            Err(code) => Err(map_code(code)),
        }
    }
}
