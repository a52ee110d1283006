//! The IPC benchmark's arithmetic: medians of instruction counts.
//!
//! Under QEMU's `-icount shift=0` the guest TSC advances one tick per
//! instruction, so an `rdtsc` delta is a deterministic path length. Each
//! figure is the median of [`SAMPLES`] deltas minus the median of an empty
//! measurement (two back-to-back `rdtsc`s), as sel4bench does.
#![no_std]

/// Samples per figure.
pub const SAMPLES: usize = 1000;
/// Unmeasured runs before them (caches, first-touch faults).
pub const WARM_UP: usize = 16;
/// Raw IPC operation with an empty message.
pub const RAW_EMPTY: u32 = 100;
/// Raw IPC operation with a 16-byte message and reply.
pub const RAW_16: u32 = 101;

/// The argument of the struct benchmark: one field of each kind the
/// system's requests carry. At these values its postcard encoding (what
/// the IDL sent before fixed layouts) is 16 bytes (a 2-byte DID, a 5-byte
/// IOVA, a 2-byte page count, every other field 1 byte each); its fixed
/// layout is 22 bytes, 24 on the wire, whatever the values.
pub const RECORD_16: idl_types::BenchRecord = idl_types::BenchRecord {
    device: idl_types::Bdf {
        bus: 0,
        device: 3,
        function: 0,
    },
    domain: idl_types::DomainId(1),
    did: idl_types::Did(300),
    range: idl_types::PageRange {
        iova: 0x1_0000_0000,
        pages: 512,
    },
    access: idl_types::Access::ReadWrite,
    mode: idl_types::ReassignMode::WITH_RMRR,
    atomic: true,
};

/// The argument of the u64 benchmark: a `MemRange`, whose fixed layout is
/// 16 bytes, the size of `raw_ipc_16_bytes`' message (values in 2^49..2^56,
/// which postcard took 8 varint bytes each for).
pub const RANGE_16: idl_types::MemRange = idl_types::MemRange {
    base: 0x00c0_0000_0000_0000,
    end: 0x00c0_0000_000f_ffff,
};

/// The median of `samples` (sorted in place); 0 for none.
pub fn median(samples: &mut [u64]) -> u64 {
    samples.sort_unstable();
    samples.get(samples.len() / 2).copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_count_is_the_middle() {
        assert_eq!(median(&mut [5, 1, 3]), 3);
    }

    #[test]
    fn median_ignores_outliers() {
        assert_eq!(median(&mut [100, 100, 100, 9999, 1]), 100);
    }

    #[test]
    fn median_of_nothing_is_zero() {
        assert_eq!(median(&mut []), 0);
    }

    #[test]
    fn record_16_travels_in_24_bytes() {
        use idl_types::wire::{encode_message, message_len, Fixed};
        assert_eq!(<idl_types::BenchRecord as Fixed>::SIZE, 22);
        assert_eq!(message_len(22), 24);
        let mut buf = [0u8; 32];
        assert_eq!(encode_message(&RECORD_16, &mut buf), Some(24));
        assert_eq!(encode_message(&RANGE_16, &mut buf), Some(16));
    }

    #[test]
    fn record_16_encodes_to_16_bytes() {
        let mut buf = [0u8; 32];
        let encoded = postcard::to_slice(&RECORD_16, &mut buf).map(|b| b.len());
        assert_eq!(encoded, Ok(16));
    }

    #[test]
    fn range_16_encodes_to_16_bytes() {
        let mut buf = [0u8; 32];
        let encoded = postcard::to_slice(&RANGE_16, &mut buf).map(|b| b.len());
        assert_eq!(encoded, Ok(16));
    }
}
