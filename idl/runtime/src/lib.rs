//! IDL runtime: transports, dispatch loop, client errors
#![no_std]
