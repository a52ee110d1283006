//! Why an edu operation failed, in words.

use core::fmt;

/// Errors of the edu driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EduError {
    /// The ID register does not carry edu's 0xed signature.
    NotEdu { id: u32 },
    /// The liveness register did not return the complement of what was
    /// written.
    NotAlive { wrote: u32, read: u32 },
    /// A transfer of zero bytes was asked for.
    EmptyTransfer,
    /// The buffer range leaves edu's 4 KiB buffer (QEMU would abort).
    BufferRange { offset: u32, len: u32 },
    /// The IOVA range reaches beyond edu's 28-bit DMA mask (QEMU would
    /// silently cut the address).
    IovaBeyondMask { iova: u64, len: u32 },
    /// A DMA is still running; edu ignores new commands until it ends.
    DmaBusy,
    /// A DMA did not complete within the poll budget.
    DmaTimeout { polls: u32 },
}

impl fmt::Display for EduError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            EduError::NotEdu { id } => {
                write!(
                    f,
                    "ID register reads {id:#010x}, not an edu (low byte 0xed)"
                )
            }
            EduError::NotAlive { wrote, read } => write!(
                f,
                "liveness check: wrote {wrote:#010x}, read {read:#010x} instead of its complement"
            ),
            EduError::EmptyTransfer => f.write_str("DMA of zero bytes"),
            EduError::BufferRange { offset, len } => write!(
                f,
                "DMA of {len:#x} bytes at buffer offset {offset:#x} leaves edu's 4 KiB buffer"
            ),
            EduError::IovaBeyondMask { iova, len } => write!(
                f,
                "DMA of {len:#x} bytes at IOVA {iova:#x} reaches beyond edu's 28-bit DMA mask"
            ),
            EduError::DmaBusy => f.write_str("a DMA is still running"),
            EduError::DmaTimeout { polls } => {
                write!(f, "DMA did not complete after {polls} polls")
            }
        }
    }
}
