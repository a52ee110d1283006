//! The hardware formats: one type per register or table entry, with named
//! fields and exactly one `encode`/`decode` pair each. Nothing else in the
//! crate shifts or masks these bits.

mod command;
mod context;
mod descriptor;
mod fault_record;
mod irte;
mod pte;
mod root;

pub use command::{CcGranularity, Ccmd, GstsBit, IotlbCmd, IotlbGranularity, Iva, GCMD_ONE_SHOT};
pub use context::{ContextEntry, TranslationType};
pub use descriptor::{Descriptor, DESC_CONTEXT, DESC_IEC, DESC_IOTLB, DESC_WAIT};
pub use fault_record::{FaultReason, FaultRecord};
pub use irte::{decode_msi, Irte, MsiRequest, SourceCheck};
pub use pte::SlPte;
pub use root::RootEntry;

/// Address bits 51:12 of a table pointer or page frame.
pub(crate) const ADDR_MASK: u64 = 0x000f_ffff_ffff_f000;
