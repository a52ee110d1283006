//! The IPC benchmark's struct argument (`bench.idl`'s `echo_record`).
//!
//! It exists so `cargo xtask bench` measures the IDL on the kinds of fields
//! the system's operations really carry (a device, a domain, a DID, a page
//! range, an enum, flags, a bool) rather than on a byte array that a decoder
//! can check in one step; the benchmark's values make it 16 bytes.

use crate::context::{Access, PageRange, ReassignMode};
use crate::ids::{Bdf, Did, DomainId};
use crate::wire::Fixed;

wire_struct! {
    /// A request shaped like the system's: one of each field kind.
    #[derive(Copy)]
    #[derive(Fixed)]
    #[fixed(size = 22)]
    pub struct BenchRecord {
        /// A device.
        pub device: Bdf,
        /// A protection domain.
        pub domain: DomainId,
        /// A hardware domain ID.
        pub did: Did,
        /// An I/O virtual address range.
        pub range: PageRange,
        /// An access enum.
        pub access: Access,
        /// Flags.
        pub mode: ReassignMode,
        /// A bool.
        pub atomic: bool,
    }
}
