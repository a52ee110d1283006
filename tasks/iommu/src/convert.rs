//! Conversions between the wire's types and the vtd library's, and the one
//! mapping of library errors to the errors a client sees.

use idl_types::{Access, Bdf, Did, IommuError, UnitFault, UnitId};
use vtd::{Error, Perm, Rid};

/// The library's requester ID, refusing an address that is no function.
pub(crate) fn rid(device: Bdf) -> Result<Rid, IommuError> {
    device
        .requester_id()
        .map(Rid::from_sid)
        .ok_or(IommuError::BadDevice(device))
}

/// The wire's name for a requester ID.
pub(crate) fn bdf(rid: Rid) -> Bdf {
    Bdf::from_requester_id(rid.sid())
}

/// The permissions a mapping grants.
pub(crate) fn perm(access: Access) -> Perm {
    match access {
        Access::Read => Perm::R,
        Access::Write => Perm::W,
        Access::ReadWrite => Perm::RW,
    }
}

/// Bytes in `pages` 4 KiB pages.
pub(crate) fn bytes(pages: u32) -> u64 {
    u64::from(pages) << 12
}

/// What a client is told when the library fails on `unit`. `range` is the
/// request's (iova, pages), for the range errors.
pub(crate) fn error(unit: UnitId, e: Error, range: (u64, u32)) -> IommuError {
    let failure = |cause| IommuError::UnitFailure { unit, cause };
    let bad_range = IommuError::BadRange {
        iova: range.0,
        pages: range.1,
    };
    match e {
        Error::ReservedDomainCount
        | Error::NoSupportedLevels { .. }
        | Error::QueueUnsupported
        | Error::PassThroughUnsupported
        | Error::LevelsUnsupported { .. } => failure(UnitFault::Unsupported),
        Error::Timeout { .. } => IommuError::InvalidationTimeout(unit),
        Error::IotlbInvalidationRejected { .. } => failure(UnitFault::IotlbRejected),
        Error::QueueError { .. } | Error::QueueFull { .. } => failure(UnitFault::QueueError),
        Error::NotBroughtUp => failure(UnitFault::NotBroughtUp),
        Error::OutOfMemory => IommuError::OutOfTables,
        Error::Misaligned { .. }
        | Error::BeyondAddressWidth { .. }
        | Error::PhysTooLarge { .. }
        | Error::NoAccess { .. } => bad_range,
        Error::Overlap { iova } => IommuError::Overlap { iova },
        Error::NotMapped { iova } => IommuError::NotMapped { iova },
        Error::SplitsLargePage { iova } => IommuError::SplitsLargePage { iova },
        Error::EntryChanged { rid, actual, .. } => IommuError::UnknownOwner {
            device: bdf(rid),
            did: Did(vtd::ContextEntry::from_u128(actual).did),
        },
        Error::UnknownOwner { rid, did } => IommuError::UnknownOwner {
            device: bdf(rid),
            did: Did(did),
        },
        Error::Cx16Required { rid } => IommuError::Cx16Required(bdf(rid)),
        Error::Cmpxchg16bRefused { .. } => failure(UnitFault::AtomicUpdateRefused),
        Error::DidOutOfRange { did, .. } => IommuError::BadDid(Did(did)),
        Error::DidZeroWithCachingMode => IommuError::BadDid(Did(0)),
        Error::InterruptRemappingUnsupported
        | Error::InterruptRemappingNeedsQueue
        | Error::InterruptRemappingOff => IommuError::InterruptRemappingOff(unit),
        Error::IrtSize { entries } => IommuError::NoSuchIrte {
            unit,
            handle: entries,
        },
        Error::IrteIndex { index, .. } => IommuError::NoSuchIrte {
            unit,
            handle: index,
        },
        Error::IrteChanged { .. } | Error::IrteCmpxchgRefused { .. } => {
            failure(UnitFault::AtomicUpdateRefused)
        }
        Error::IrteCx16Required { .. } => failure(UnitFault::AtomicUpdateRefused),
    }
}
