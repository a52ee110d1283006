//! The checks every generated dispatch function makes before it calls the
//! server, and the encoding of its answer.
//!
//! Order matters: the caller is checked first (a task that may not call the
//! operation learns nothing about its message), then the message size, the
//! leases and the client's reply buffer, and only then is the message
//! decoded, completely, with no bytes left over. Nothing here panics on what
//! a client sent: every refusal is a `DispatchOutcome`.
//!
//! Each operation has one [`Encoding`]: a fixed-layout message
//! ([`admit_fixed`], [`encode_reply_fixed`]) must be exactly its layout's
//! size and is checked in place; a postcard message ([`admit`],
//! [`encode_reply`]) is decoded by serde.

use abi::{ReplyFaultReason, TaskId, MAX_LEASES};
use idl_types::wire::{self, Fixed, FixedError};
use serde::{de::DeserializeOwned, Serialize};

use crate::lease::{ReadLease, WriteLease};
use crate::reply_code;
use crate::transport::ServerContext;

/// One received message, as the dispatch function sees it.
#[derive(Copy, Clone, Debug)]
pub struct Call<'a> {
    /// Who sent it.
    pub caller: TaskId,
    /// The operation number.
    pub op: u32,
    /// The message body.
    pub message: &'a [u8],
    /// How large a reply the caller can take.
    pub reply_capacity: usize,
    /// How many leases came with it.
    pub lease_count: usize,
}

/// What to answer a message with.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum DispatchOutcome {
    /// Reply with this response code and the first `len` bytes of the reply
    /// buffer.
    Reply {
        /// A [`reply_code`].
        code: u32,
        /// Bytes of reply body.
        len: usize,
    },
    /// Refuse the message; the kernel faults the caller.
    Fault(ReplyFaultReason),
}

/// A server that can handle any message sent to it: the object-safe face of
/// a generated `Endpoint`, used by [`crate::serve`] and [`crate::InProcess`].
pub trait Dispatch {
    /// Handles one message, writing the reply body into `reply`.
    fn dispatch(
        &mut self,
        call: &Call<'_>,
        ctx: &dyn ServerContext,
        reply: &mut [u8],
    ) -> DispatchOutcome;

    /// The notification bits the server wants to wake up for.
    fn notification_mask(&self) -> u32 {
        0
    }

    /// Called with the bits that fired.
    fn notified(&mut self, _bits: u32) {}
}

/// What an operation's lease must be.
#[derive(Copy, Clone, Debug)]
pub struct LeaseRule {
    /// The server writes it (else reads it).
    pub write: bool,
    /// Its largest allowed length.
    pub max_len: usize,
}

/// How an operation's messages are encoded (`idl/README.md`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// Arguments, reply and error in their fixed layouts
    /// (`idl_types::wire`): exact sizes, checked in place.
    Fixed,
    /// postcard, for operations with variable-length data.
    Postcard,
}

/// The generated facts of one operation, used by both client and server.
#[derive(Copy, Clone, Debug)]
pub struct OpSpec {
    /// Its stable number.
    pub op: u32,
    /// How its messages are encoded.
    pub encoding: Encoding,
    /// Whether the client may retry it after a server restart.
    pub idempotent: bool,
    /// Tasks that may call it, by name (or `"@group"`, every member of a
    /// group the server's context knows); empty means any task.
    pub callers: &'static [&'static str],
    /// Its leases, in order.
    pub leases: &'static [LeaseRule],
    /// Requests shorter than this end inside the arguments' leading
    /// fixed-size byte fields (`u8`, `i8`, arrays of them), so decoding
    /// them could only fail for the message ending early. Checked before
    /// decoding, it gives the same refusal and lets the compiler drop the
    /// decoder's per-byte end-of-message checks. 0 when the arguments do
    /// not start with such fields.
    pub request_min: usize,
    /// The largest request it can have.
    pub request_max: usize,
    /// The largest reply (value or error) it can send.
    pub reply_max: usize,
}

/// A message that passed every check: its decoded arguments and leases.
#[derive(Debug)]
pub struct Admitted<A> {
    /// The decoded arguments.
    pub args: A,
    caller: TaskId,
    lease_lens: [usize; MAX_LEASES],
}

impl<A> Admitted<A> {
    /// The `index`-th lease, which [`admit`] checked is readable.
    pub fn read_lease<'a>(&self, ctx: &'a dyn ServerContext, index: usize) -> ReadLease<'a> {
        let len = self.lease_lens.get(index).copied().unwrap_or(0);
        ReadLease::new(ctx, self.caller, index, len)
    }

    /// The `index`-th lease, which [`admit`] checked is writable.
    pub fn write_lease<'a>(&self, ctx: &'a dyn ServerContext, index: usize) -> WriteLease<'a> {
        let len = self.lease_lens.get(index).copied().unwrap_or(0);
        WriteLease::new(ctx, self.caller, index, len)
    }
}

/// Marks a `callers` entry that names a group of tasks, not a task.
pub const GROUP_PREFIX: char = '@';

const fn fault(reason: ReplyFaultReason) -> DispatchOutcome {
    DispatchOutcome::Fault(reason)
}

/// Checks `call` against `rules` and decodes its arguments (postcard).
pub fn admit<A: DeserializeOwned>(
    call: &Call<'_>,
    ctx: &dyn ServerContext,
    rules: &OpSpec,
) -> Result<Admitted<A>, DispatchOutcome> {
    let lease_lens = check(call, ctx, rules)?;
    let args = match postcard::take_from_bytes::<A>(call.message) {
        Ok((args, [])) => args,
        // Bytes left over, or the message ended early: its size is wrong.
        Ok(_) | Err(postcard::Error::DeserializeUnexpectedEnd) => {
            return Err(fault(ReplyFaultReason::BadMessageSize))
        }
        Err(_) => return Err(fault(ReplyFaultReason::BadMessageContents)),
    };
    Ok(Admitted {
        args,
        caller: call.caller,
        lease_lens,
    })
}

/// Checks `call` against `rules` and reads its arguments in place from
/// their fixed layout: the message must be exactly the layout padded to
/// whole words (`rules.request_min` = `request_max`), and a byte no value
/// has (a `bool` of 2, an unknown tag, a nonzero unused or pad byte)
/// refuses it with `BadMessageContents`.
#[inline]
pub fn admit_fixed<A: Fixed>(
    call: &Call<'_>,
    ctx: &dyn ServerContext,
    rules: &OpSpec,
) -> Result<Admitted<A>, DispatchOutcome> {
    let lease_lens = check(call, ctx, rules)?;
    // The server only says which rule the message broke (the ABI has no
    // room for more); `wire::decode_message` names the field, for anyone
    // who wants it.
    let args = match wire::message_layout::<A>(call.message) {
        Ok(layout) => match A::read_valid(layout) {
            Some(args) => args,
            None => return Err(fault(ReplyFaultReason::BadMessageContents)),
        },
        Err(true) => return Err(fault(ReplyFaultReason::BadMessageContents)),
        Err(false) => return Err(fault(ReplyFaultReason::BadMessageSize)),
    };
    Ok(Admitted {
        args,
        caller: call.caller,
        lease_lens,
    })
}

/// The checks before decoding; the leases' lengths. The usual message
/// (caller allowed, no leases, a size in range, room for the reply) passes
/// in a few comparisons, inlined with the operation's constant `OpSpec`;
/// anything else goes through [`check_in_order`], which finds the first
/// check it fails.
#[inline(always)]
fn check(
    call: &Call<'_>,
    ctx: &dyn ServerContext,
    rules: &OpSpec,
) -> Result<[usize; MAX_LEASES], DispatchOutcome> {
    let len = call.message.len();
    let usual = (rules.callers.is_empty() || caller_allowed(call.caller, ctx, rules))
        && rules.leases.is_empty()
        && call.lease_count == 0
        && len <= rules.request_max
        && len >= rules.request_min
        && call.reply_capacity >= rules.reply_max;
    if usual {
        return Ok([0; MAX_LEASES]);
    }
    // The fields one by one: the usual path never stores a `Call`.
    check_in_order(
        call.caller,
        len,
        call.reply_capacity,
        call.lease_count,
        ctx,
        rules,
    )
}

/// Whether the caller is on the operation's `callers` list. Inlined with
/// the operation's constant list, so the allowed names' keys fold away and
/// only the caller's name is read.
#[inline(always)]
fn caller_allowed(caller: TaskId, ctx: &dyn ServerContext, rules: &OpSpec) -> bool {
    let name = ctx.task_name(caller);
    rules
        .callers
        .iter()
        .any(|allowed| match allowed.strip_prefix(GROUP_PREFIX) {
            Some(group) => ctx.in_group(caller, group),
            None => name.is_some_and(|name| same_bytes(allowed.as_bytes(), name.as_bytes())),
        })
}

/// `a == b`, cheaply for names: a task name is compared on every call of
/// an operation with a `callers` list, and `memcmp` here goes a byte at a
/// time (about seven instructions a byte). Names of up to 8 bytes (all of
/// a system's, in practice) are compared as one key of at most two loads.
#[inline(always)]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len()
        && match (short_key(a), short_key(b)) {
            (Some(x), Some(y)) => x == y,
            _ => a == b,
        }
}

/// The bytes of a slice of at most 8 as one word, from two loads that may
/// overlap (bytes 0..4 and len-4..len, or the same with 2 bytes): two
/// slices of the same length have the same key exactly when they are equal.
/// `None` for longer slices.
#[inline(always)]
fn short_key(s: &[u8]) -> Option<u64> {
    let n = s.len();
    let both = |lo: u64, hi: u64| Some(lo | hi << 32);
    match n {
        0 => Some(0),
        1 => s.first().map(|b| u64::from(*b)),
        2..=3 => match (s.first_chunk::<2>(), s.last_chunk::<2>()) {
            (Some(lo), Some(hi)) => both(
                u64::from(u16::from_le_bytes(*lo)),
                u64::from(u16::from_le_bytes(*hi)),
            ),
            _ => None,
        },
        4..=8 => match (s.first_chunk::<4>(), s.last_chunk::<4>()) {
            (Some(lo), Some(hi)) => both(
                u64::from(u32::from_le_bytes(*lo)),
                u64::from(u32::from_le_bytes(*hi)),
            ),
            _ => None,
        },
        _ => None,
    }
}

/// Every check, in the documented order; the first failure is the answer.
#[inline(never)]
fn check_in_order(
    caller: TaskId,
    message_len: usize,
    reply_capacity: usize,
    lease_count: usize,
    ctx: &dyn ServerContext,
    rules: &OpSpec,
) -> Result<[usize; MAX_LEASES], DispatchOutcome> {
    if !rules.callers.is_empty() && !caller_allowed(caller, ctx, rules) {
        return Err(DispatchOutcome::Reply {
            code: reply_code::ACCESS_DENIED,
            len: 0,
        });
    }
    if message_len > rules.request_max {
        return Err(fault(ReplyFaultReason::BadMessageSize));
    }
    if lease_count != rules.leases.len() || rules.leases.len() > MAX_LEASES {
        return Err(fault(ReplyFaultReason::BadLeases));
    }
    let mut lease_lens = [0; MAX_LEASES];
    for ((index, rule), len) in rules.leases.iter().enumerate().zip(lease_lens.iter_mut()) {
        let (attributes, length) = ctx
            .borrow_info(caller, index)
            .map_err(|_| fault(ReplyFaultReason::BadLeases))?;
        let needed = if rule.write {
            abi::lease::WRITE
        } else {
            abi::lease::READ
        };
        if attributes & needed == 0 || length > rule.max_len {
            return Err(fault(ReplyFaultReason::BadLeases));
        }
        *len = length;
    }
    if reply_capacity < rules.reply_max {
        return Err(fault(ReplyFaultReason::ReplyBufferTooSmall));
    }
    // It would end early inside the leading byte fields (postcard) or is
    // shorter than the layout (fixed), with this reason.
    if message_len < rules.request_min {
        return Err(fault(ReplyFaultReason::BadMessageSize));
    }
    Ok(lease_lens)
}

/// Encodes what the server returned into `reply`.
pub fn encode_reply<R: Serialize, E: Serialize>(
    result: Result<R, E>,
    reply: &mut [u8],
) -> DispatchOutcome {
    let (code, encoded) = match &result {
        Ok(value) => (reply_code::OK, postcard::to_slice(value, reply)),
        Err(error) => (reply_code::OP_ERROR, postcard::to_slice(error, reply)),
    };
    match encoded {
        Ok(body) => DispatchOutcome::Reply {
            code,
            len: body.len(),
        },
        // The server's own buffer is smaller than the operation's reply
        // maximum: a bug in the server's setup, reported as the nearest
        // reason the ABI has.
        Err(_) => fault(ReplyFaultReason::ReplyBufferTooSmall),
    }
}

/// Writes what the server returned into `reply` in its fixed layout.
#[inline]
pub fn encode_reply_fixed<R: Fixed, E: FixedError>(
    result: Result<R, E>,
    reply: &mut [u8],
) -> DispatchOutcome {
    let (code, written) = match &result {
        Ok(value) => (reply_code::OK, wire::encode_message(value, reply)),
        Err(error) => (reply_code::OP_ERROR, error.encode_error(reply)),
    };
    match written {
        Some(len) => DispatchOutcome::Reply { code, len },
        // As for postcard: the server's own buffer is too small.
        None => fault(ReplyFaultReason::ReplyBufferTooSmall),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_compare_equal_exactly_when_their_bytes_are() {
        let names = [
            "",
            "a",
            "ab",
            "broker",
            "console",
            "dma-a",
            "a-much-longer-name",
            "broker2",
        ];
        for x in names {
            for y in names {
                assert_eq!(same_bytes(x.as_bytes(), y.as_bytes()), x == y, "{x} {y}");
            }
        }
        for len in 0..20 {
            let a: [u8; 20] = core::array::from_fn(|i| i as u8);
            for at in 0..len {
                let mut b = a;
                b[at] ^= 0x40;
                assert!(!same_bytes(&a[..len], &b[..len]), "{len} {at}");
            }
            assert!(same_bytes(&a[..len], &a[..len]));
        }
    }

    /// A context with no leases and no names: enough for `admit`'s checks.
    struct NoLeases;

    impl ServerContext for NoLeases {
        fn borrow_read(&self, _: TaskId, _: usize, _: usize, _: &mut [u8]) -> Result<usize, u32> {
            Err(abi::rc::BAD_LEASE)
        }
        fn borrow_write(&self, _: TaskId, _: usize, _: usize, _: &[u8]) -> Result<usize, u32> {
            Err(abi::rc::BAD_LEASE)
        }
        fn borrow_info(&self, _: TaskId, _: usize) -> Result<(u32, usize), u32> {
            Err(abi::rc::BAD_LEASE)
        }
        fn task_name(&self, _: TaskId) -> Option<&str> {
            None
        }
    }

    /// An operation taking `[u8; 16]`, as the generator describes it.
    const SIXTEEN: OpSpec = OpSpec {
        op: 2,
        encoding: Encoding::Postcard,
        idempotent: false,
        callers: &[],
        leases: &[],
        request_min: 16,
        request_max: 16,
        reply_max: 0,
    };

    fn call(message: &[u8], lease_count: usize) -> Call<'_> {
        Call {
            caller: TaskId::new(1, abi::Generation::new(0)),
            op: SIXTEEN.op,
            message,
            reply_capacity: 0,
            lease_count,
        }
    }

    fn refusal(c: &Call<'_>) -> Option<DispatchOutcome> {
        admit::<[u8; 16]>(c, &NoLeases, &SIXTEEN).err()
    }

    #[test]
    fn message_shorter_than_request_min_is_bad_message_size() {
        assert_eq!(
            refusal(&call(&[7; 15], 0)),
            Some(fault(ReplyFaultReason::BadMessageSize))
        );
        assert_eq!(
            refusal(&call(&[], 0)),
            Some(fault(ReplyFaultReason::BadMessageSize))
        );
    }

    #[test]
    fn short_message_with_wrong_lease_count_reports_the_leases_first() {
        // The length bound is checked where the decoder would have failed:
        // after the leases, as before it existed.
        assert_eq!(
            refusal(&call(&[7; 3], 1)),
            Some(fault(ReplyFaultReason::BadLeases))
        );
    }

    /// Task 1 is "one" and in group "ops"; task 2 is "two" and in none.
    struct Named;

    impl ServerContext for Named {
        fn borrow_read(&self, _: TaskId, _: usize, _: usize, _: &mut [u8]) -> Result<usize, u32> {
            Err(abi::rc::BAD_LEASE)
        }
        fn borrow_write(&self, _: TaskId, _: usize, _: usize, _: &[u8]) -> Result<usize, u32> {
            Err(abi::rc::BAD_LEASE)
        }
        fn borrow_info(&self, _: TaskId, _: usize) -> Result<(u32, usize), u32> {
            Err(abi::rc::BAD_LEASE)
        }
        fn task_name(&self, t: TaskId) -> Option<&str> {
            ["zero", "one", "two"].get(t.index()).copied()
        }
        fn in_group(&self, t: TaskId, group: &str) -> bool {
            group == "ops" && t.index() == 1
        }
    }

    #[test]
    fn a_caller_group_admits_its_members_only() {
        let rules = OpSpec {
            callers: &["@ops"],
            ..SIXTEEN
        };
        let from = |index: u16| Call {
            caller: TaskId::new(index, abi::Generation::new(0)),
            ..call(&[0; 16], 0)
        };
        assert!(admit::<[u8; 16]>(&from(1), &Named, &rules).is_ok());
        let denied = DispatchOutcome::Reply {
            code: reply_code::ACCESS_DENIED,
            len: 0,
        };
        assert_eq!(
            admit::<[u8; 16]>(&from(2), &Named, &rules).err(),
            Some(denied)
        );
        // A task whose *name* is the group's is not thereby a member.
        let named_ops = OpSpec {
            callers: &["@two"],
            ..SIXTEEN
        };
        assert_eq!(
            admit::<[u8; 16]>(&from(2), &Named, &named_ops).err(),
            Some(denied)
        );
        // Names and groups mix.
        let mixed = OpSpec {
            callers: &["two", "@ops"],
            ..SIXTEEN
        };
        assert!(admit::<[u8; 16]>(&from(2), &Named, &mixed).is_ok());
        assert!(admit::<[u8; 16]>(&from(1), &Named, &mixed).is_ok());
    }

    #[test]
    fn message_of_exactly_request_min_bytes_decodes() {
        let bytes: [u8; 16] = core::array::from_fn(|i| i as u8);
        let admitted = admit::<[u8; 16]>(&call(&bytes, 0), &NoLeases, &SIXTEEN);
        assert_eq!(admitted.map(|a| a.args).ok(), Some(bytes));
    }
}
