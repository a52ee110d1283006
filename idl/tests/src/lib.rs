//! The interfaces compiled by this crate's build.rs, for the tests in
//! `tests/`: the six of the system and `Kitchen`, which exists only to use
//! every kind of type the IDL has, and two versions of `Compat` that differ
//! in one operation's encoding.

include!(concat!(env!("OUT_DIR"), "/interfaces.rs"));
include!(concat!(env!("OUT_DIR"), "/kitchen.rs"));

/// `Compat` as `compat_v1.idl` has it.
pub mod v1 {
    include!(concat!(env!("OUT_DIR"), "/compat_v1.rs"));
}

/// `Compat` as `compat_v2.idl` has it: one operation's layout differs.
pub mod v2 {
    include!(concat!(env!("OUT_DIR"), "/compat_v2.rs"));
}
