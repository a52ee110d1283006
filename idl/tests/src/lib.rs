//! The interfaces compiled by this crate's build.rs, for the tests in
//! `tests/`: the six of the system and `Kitchen`, which exists only to use
//! every kind of type the IDL has.

include!(concat!(env!("OUT_DIR"), "/interfaces.rs"));
include!(concat!(env!("OUT_DIR"), "/kitchen.rs"));
