//! IDL runtime: what the generated clients and servers stand on.
//!
//! Generated code is written against two traits, [`Transport`] for clients
//! and [`ServerContext`]/[`ServerTransport`] for servers, so the same code
//! runs over the kernel's syscalls (feature `kernel`) and over
//! [`InProcess`], which calls a server's dispatch directly (host tests, the
//! simulator, a fused build). Each operation's messages are either fixed
//! layouts (`idl_types::wire`, checked in place) or postcard ([`Encoding`]);
//! replies carry a [`reply_code`] saying whether the body is the value or
//! the error.
#![no_std]

mod client;
mod dispatch;
mod inprocess;
mod lease;
pub mod reply_code;
mod serve;
mod transport;

#[cfg(feature = "kernel")]
mod kernel;

pub use client::{call, call_fixed, ClientError};
pub use dispatch::{
    admit, admit_fixed, encode_reply, encode_reply_fixed, Admitted, Call, Dispatch,
    DispatchOutcome, Encoding, LeaseRule, OpSpec,
};
pub use inprocess::{InProcess, InProcessClient, InjectedFault, RegistryError};
pub use lease::{Lease, LeaseError, ReadLease, WriteLease};
pub use serve::{serve, serve_once, Served};
pub use transport::{SendError, ServerContext, ServerTransport, Transport};

#[cfg(feature = "kernel")]
pub use kernel::KernelTransport;

// Generated code names these through the runtime, so a task crate depends on
// `idl-runtime` and `idl-types` only.
pub use abi;
pub use idl_types::wire::{zerocopy, Fixed, FixedError, WireError};
pub use idl_types::MaxEncodedLen;
pub use postcard;
pub use serde;
