//! The response code a server puts on each reply.
//!
//! The kernel passes the code through untouched; dead codes
//! (`abi::rc::DEAD_BASE | generation`) are the kernel's own and never collide
//! with these small numbers.

/// The body is the operation's reply value.
pub const OK: u32 = 0;
/// The body is the operation's error value.
pub const OP_ERROR: u32 = 1;
/// The caller is not on the operation's `callers` list; the body is empty.
pub const ACCESS_DENIED: u32 = 2;
/// The server was already handling a message (a server shared by two
/// dispatchers in one task, as the fused build does, reached re-entrantly);
/// nothing was done and the body is empty.
pub const BUSY: u32 = 3;
