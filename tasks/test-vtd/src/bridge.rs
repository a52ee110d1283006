//! A PCI-to-PCI bridge's non-prefetchable memory window (type 1 header
//! 0x20/0x22), which must cover the BAR of a device behind it before the
//! device's registers can be reached.

/// Memory base register (16 bits: address bits 31:20 in bits 15:4).
pub const MEMORY_BASE: u16 = 0x20;
/// Memory limit register (same format; the window ends at limit | 0xFFFFF).
pub const MEMORY_LIMIT: u16 = 0x22;
/// The window's granularity.
pub const WINDOW_ALIGN: u64 = 1 << 20;

/// The (base, limit) register values of a window covering
/// `[start, start+len)`, or `None` if that range is not 1 MiB aligned, is
/// empty, or does not sit below 4 GiB.
pub fn memory_window(start: u64, len: u64) -> Option<(u16, u16)> {
    let end = start.checked_add(len)?;
    if len == 0
        || !start.is_multiple_of(WINDOW_ALIGN)
        || !len.is_multiple_of(WINDOW_ALIGN)
        || end > 1 << 32
    {
        return None;
    }
    let reg = |addr: u64| ((addr >> 16) & 0xfff0) as u16;
    Some((reg(start), reg(end - 1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_registers_hold_address_bits_31_to_20() {
        assert_eq!(
            memory_window(0xfe80_0000, 0x10_0000),
            Some((0xfe80, 0xfe80))
        );
        assert_eq!(
            memory_window(0xfe00_0000, 0x20_0000),
            Some((0xfe00, 0xfe10))
        );
    }

    #[test]
    fn window_refuses_unaligned_empty_or_high_ranges() {
        assert_eq!(memory_window(0xfe80_1000, 0x10_0000), None);
        assert_eq!(memory_window(0xfe80_0000, 0), None);
        assert_eq!(memory_window(0xfff0_0000, 0x20_0000), None);
        assert_eq!(memory_window(!0xfffff, 0x10_0000), None);
    }
}
