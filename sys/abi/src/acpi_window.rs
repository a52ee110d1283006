//! The ACPI-tables window's header: the layout the kernel writes at the
//! start of the `acpi-tables` region and the acpi task reads.
//!
//! The kernel copies the smallest physical range holding the RSDP's root
//! table and every table it lists into the region, behind this header, which
//! also holds a copy of the RSDP itself (it usually lies far from the
//! tables, in the BIOS area). The task then parses with physical addresses:
//! `offset = HEADER + pa - base`, and the RSDP at [`RSDP_COPY_AT`]. It is
//! ABI between the kernel and a task, so it lives here, not in the kernel.

/// "ACPW" in memory.
pub const MAGIC: u32 = 0x5750_4341;
/// Bytes before the copied tables.
pub const HEADER: usize = 72;
/// Where in the header the RSDP's copy sits.
pub const RSDP_COPY_AT: usize = 32;
/// Bytes of the RSDP copied (an ACPI 2.0 RSDP is 36 bytes).
pub const RSDP_COPY_LEN: usize = 36;

/// The header at the start of the window.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct WindowHeader {
    /// Physical address of the RSDP (0 if the loader gave none).
    pub rsdp: u64,
    /// Physical address of the first copied byte.
    pub base: u64,
    /// Copied bytes.
    pub len: u64,
    /// The RSDP's first [`RSDP_COPY_LEN`] bytes.
    pub rsdp_copy: [u8; RSDP_COPY_LEN],
}

impl WindowHeader {
    /// Encodes as stored.
    pub fn encode(&self) -> [u8; HEADER] {
        let mut out = [0u8; HEADER];
        out[0..4].copy_from_slice(&MAGIC.to_le_bytes());
        out[8..16].copy_from_slice(&self.rsdp.to_le_bytes());
        out[16..24].copy_from_slice(&self.base.to_le_bytes());
        out[24..32].copy_from_slice(&self.len.to_le_bytes());
        out[RSDP_COPY_AT..RSDP_COPY_AT + RSDP_COPY_LEN].copy_from_slice(&self.rsdp_copy);
        out
    }

    /// Decodes; `None` without the magic.
    pub fn decode(b: &[u8]) -> Option<Self> {
        let u64_at = |i: usize| Some(u64::from_le_bytes(b.get(i..i + 8)?.try_into().ok()?));
        (b.get(0..4)? == MAGIC.to_le_bytes()).then_some(())?;
        Some(WindowHeader {
            rsdp: u64_at(8)?,
            base: u64_at(16)?,
            len: u64_at(24)?,
            rsdp_copy: b
                .get(RSDP_COPY_AT..RSDP_COPY_AT + RSDP_COPY_LEN)?
                .try_into()
                .ok()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips_and_needs_its_magic() {
        let h = WindowHeader {
            rsdp: 1,
            base: 2,
            len: 3,
            rsdp_copy: [7; RSDP_COPY_LEN],
        };
        assert_eq!(WindowHeader::decode(&h.encode()), Some(h));
        assert_eq!(WindowHeader::decode(&[0u8; HEADER]), None);
    }
}
