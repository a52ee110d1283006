//! One client call: encode, send, survive a server restart, decode.
//!
//! Every generated client method ends here. A dead code from the kernel means
//! the server died (maybe before, maybe after doing the work): the client
//! always adopts the new generation so its next call reaches the restarted
//! server, retries once if the operation is `idempotent`, and otherwise tells
//! the caller, who alone knows how to find out what happened.
//!
//! Two encodings share that loop: [`call_fixed`] for operations whose
//! arguments, reply and error all have fixed layouts (the request is the
//! arguments' layout, the reply is checked in place), [`call`] (postcard)
//! for the others. The generated code picks one per operation.

use core::fmt;

use abi::{Generation, TaskId};
use idl_types::wire::zerocopy::IntoBytes;
use idl_types::wire::{self, Fixed, FixedError, Padded, WireError};
use serde::{de::DeserializeOwned, Serialize};

use crate::dispatch::OpSpec;
use crate::lease::Lease;
use crate::reply_code;
use crate::transport::{SendError, Transport};

/// Why a call did not return the operation's value.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ClientError<E> {
    /// The operation ran and returned its own error.
    Op(E),
    /// The server died during this (non-idempotent) call: it may or may not
    /// have done the work. The client now addresses `new_generation`.
    ServerDied {
        /// The server's generation after its restart.
        new_generation: Generation,
    },
    /// An idempotent call was retried after a server restart and the server
    /// died again: it keeps restarting.
    ServerRestarted {
        /// The generation the client now addresses.
        new_generation: Generation,
    },
    /// The caller is not on the operation's `callers` list.
    AccessDenied,
    /// The reply did not decode as this operation's value or error (a
    /// server built from a different interface version).
    BadReply {
        /// The reply's response code.
        code: u32,
        /// Its length.
        len: usize,
    },
    /// A fixed-layout reply of the right size held a byte its type does
    /// not have (a `bool` of 2, an unknown tag): the field is named.
    InvalidReply(WireError),
    /// A lease is longer than the operation allows; nothing was sent.
    LeaseTooLong {
        /// Which lease.
        index: usize,
        /// Its length.
        len: usize,
        /// The operation's maximum.
        max: usize,
    },
    /// The arguments did not fit the request buffer sized from their
    /// `MaxEncodedLen`: that bound is wrong.
    RequestTooLarge,
    /// The transport could not deliver (in-process transport only).
    Transport(SendError),
}

impl<E: fmt::Display> fmt::Display for ClientError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Op(e) => e.fmt(f),
            ClientError::ServerDied { new_generation } => write!(
                f,
                "the server died during the call (now generation {})",
                new_generation.get()
            ),
            ClientError::ServerRestarted { new_generation } => write!(
                f,
                "the server died again on retry (now generation {})",
                new_generation.get()
            ),
            ClientError::AccessDenied => write!(f, "this task may not call the operation"),
            ClientError::BadReply { code, len } => {
                write!(f, "undecodable reply (code {code:#x}, {len} bytes)")
            }
            ClientError::InvalidReply(e) => write!(f, "invalid reply: {e}"),
            ClientError::LeaseTooLong { index, len, max } => {
                write!(
                    f,
                    "lease {index} has {len} bytes, more than the {max} allowed"
                )
            }
            ClientError::RequestTooLarge => {
                write!(f, "the arguments encode larger than their stated maximum")
            }
            ClientError::Transport(e) => e.fmt(f),
        }
    }
}

/// Calls operation `spec` of `server` with `args` encoded by postcard,
/// using `request` and `reply` as scratch (sized by the generated code to
/// the operation's maxima). `server` is updated to the new generation
/// whenever a dead code arrives.
pub fn call<T, A, R, E>(
    transport: &mut T,
    server: &mut TaskId,
    spec: &OpSpec,
    args: &A,
    request: &mut [u8],
    reply: &mut [u8],
    leases: &mut [Lease<'_>],
) -> Result<R, ClientError<E>>
where
    T: Transport + ?Sized,
    A: Serialize,
    R: DeserializeOwned,
    E: DeserializeOwned,
{
    check_leases(spec, leases)?;
    // The generated buffers are sized from MaxEncodedLen, so this fails only
    // if a type's bound is wrong; say so rather than panic.
    let msg: &[u8] = match postcard::to_slice(args, request) {
        Ok(encoded) => encoded,
        Err(_) => return Err(ClientError::RequestTooLarge),
    };
    let (code, len) = exchange(transport, server, spec, msg, reply, leases)?;
    let bad = || ClientError::BadReply { code, len };
    let body = reply.get(..len).ok_or_else(bad)?;
    match code {
        reply_code::OK => decode_exact::<R>(body).map_err(|()| bad()),
        reply_code::OP_ERROR => {
            Err(decode_exact::<E>(body).map_or_else(|()| bad(), ClientError::Op))
        }
        reply_code::ACCESS_DENIED | abi::rc::NO_RIGHT => Err(ClientError::AccessDenied),
        _ => Err(bad()),
    }
}

/// Calls operation `spec` of `server` with `args` in their fixed layout,
/// written straight into the message (padded to whole words,
/// `idl_types::wire::message_len`); the reply is `R`'s or `E`'s layout,
/// checked in place. `reply` is scratch of the operation's reply size.
#[inline]
pub fn call_fixed<T, A, R, E>(
    transport: &mut T,
    server: &mut TaskId,
    spec: &OpSpec,
    args: &A,
    reply: &mut [u8],
    leases: &mut [Lease<'_>],
) -> Result<R, ClientError<E>>
where
    T: Transport + ?Sized,
    A: Fixed,
    R: Fixed,
    E: FixedError,
{
    check_leases(spec, leases)?;
    let request = Padded::new(args.to_wire());
    let message = request
        .as_bytes()
        .get(..wire::message_len(A::SIZE))
        .ok_or(ClientError::RequestTooLarge)?;
    let (code, len) = exchange(transport, server, spec, message, reply, leases)?;
    // The usual answer first: a valid value of its exact size, read in
    // place without building an error.
    let value_len = wire::message_len(R::SIZE);
    if code == reply_code::OK && len == value_len {
        let value = reply
            .get(..value_len)
            .and_then(|body| wire::message_layout::<R>(body).ok())
            .and_then(R::read_valid);
        if let Some(value) = value {
            return Ok(value);
        }
    }
    other_reply(code, len, reply)
}

/// Any answer to a fixed-layout call but a valid value: the error, a
/// refusal, or bytes that are neither (then which field is wrong). Out of
/// line: not the usual path.
#[inline(never)]
fn other_reply<R: Fixed, E: FixedError>(
    code: u32,
    len: usize,
    reply: &[u8],
) -> Result<R, ClientError<E>> {
    let bad = ClientError::BadReply { code, len };
    let Some(body) = reply.get(..len) else {
        return Err(bad);
    };
    match code {
        reply_code::OK => match wire::decode_message::<R>(body) {
            Some(Ok(value)) => Ok(value),
            Some(Err(e)) => Err(ClientError::InvalidReply(e)),
            None => Err(bad),
        },
        reply_code::OP_ERROR => match E::decode_error(body) {
            Some(Ok(error)) => Err(ClientError::Op(error)),
            Some(Err(e)) => Err(ClientError::InvalidReply(e)),
            None => Err(bad),
        },
        reply_code::ACCESS_DENIED | abi::rc::NO_RIGHT => Err(ClientError::AccessDenied),
        _ => Err(bad),
    }
}

/// Refuses leases longer than the operation allows, before sending.
#[inline]
fn check_leases<E>(spec: &OpSpec, leases: &[Lease<'_>]) -> Result<(), ClientError<E>> {
    for (index, (lease, rule)) in leases.iter().zip(spec.leases).enumerate() {
        if lease.len() > rule.max_len {
            return Err(ClientError::LeaseTooLong {
                index,
                len: lease.len(),
                max: rule.max_len,
            });
        }
    }
    Ok(())
}

/// Sends `msg` until a reply that is not a dead code arrives (retrying an
/// idempotent operation once after a restart); its code and length.
#[inline]
fn exchange<T, E>(
    transport: &mut T,
    server: &mut TaskId,
    spec: &OpSpec,
    msg: &[u8],
    reply: &mut [u8],
    leases: &mut [Lease<'_>],
) -> Result<(u32, usize), ClientError<E>>
where
    T: Transport + ?Sized,
{
    let mut retried = false;
    loop {
        let (code, len) = transport
            .send(*server, spec.op, msg, reply, leases)
            .map_err(ClientError::Transport)?;
        let Some(raw) = abi::rc::dead_generation(code) else {
            return Ok((code, len));
        };
        let new_generation = Generation::new(raw);
        *server = server.with_generation(new_generation);
        if spec.idempotent && !retried {
            retried = true;
            continue;
        }
        return Err(if retried {
            ClientError::ServerRestarted { new_generation }
        } else {
            ClientError::ServerDied { new_generation }
        });
    }
}

/// Decodes a whole buffer as one `T`; trailing bytes are an error.
fn decode_exact<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ()> {
    match postcard::take_from_bytes::<T>(bytes) {
        Ok((value, [])) => Ok(value),
        _ => Err(()),
    }
}
