//! What the domid task answers, and the records it is rebuilt with after a
//! restart.
//!
//! A rebuild is a list of [`RebuildRecord`]s (one per present context entry the
//! iommu reports) sent in one lease, each in the fixed 10-byte layout that
//! [`RebuildRecord::encode`] and [`RebuildRecord::decode`] define, so the broker
//! and domid agree on it without a serializer.

use core::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::{Bdf, Did, DomainId, UnitId};
use crate::max_len::{MaxEncodedLen, ENUM_TAG_LEN};
use crate::wire::Fixed;

wire_struct! {
    /// What an acquire did.
    #[derive(Copy)]
    #[derive(Fixed)]
    #[fixed(size = 4)]
    pub struct DidGrant {
        /// The DID to write into the device's context entries.
        pub did: Did,
        /// The DID was allocated by this call.
        pub fresh: bool,
        /// This call counted the device. `false` means it was already
        /// counted (a replay): the recorded release must then not be run,
        /// or it would drop a device counted before the transaction.
        pub counted: bool,
    }
}

/// What a release did.
#[derive(Serialize, Deserialize, Copy, Clone, Debug, PartialEq, Eq, Fixed)]
#[fixed(size = 5)]
pub enum DidRelease {
    /// The device was the last one: the DID is free again.
    Freed(Did),
    /// The device left; `remaining` devices still hold the DID.
    Kept {
        /// The DID still held.
        did: Did,
        /// Devices still counted.
        remaining: u16,
    },
    /// The device was not counted (a replay): nothing changed.
    NotCounted,
}

impl MaxEncodedLen for DidRelease {
    const MAX_ENCODED_LEN: usize = ENUM_TAG_LEN + Did::MAX_ENCODED_LEN + u16::MAX_ENCODED_LEN;
}

/// Who holds a DID on a unit.
#[derive(Serialize, Deserialize, Copy, Clone, Debug, PartialEq, Eq, Fixed)]
#[fixed(size = 4)]
pub enum DidHolder {
    /// A domain (all its devices behind the unit share it).
    Domain(DomainId),
    /// The quarantine tables of one device (a pseudo-DID).
    Quarantine(Bdf),
}

impl MaxEncodedLen for DidHolder {
    const MAX_ENCODED_LEN: usize = ENUM_TAG_LEN + Bdf::MAX_ENCODED_LEN;
}

/// Whose tables a rebuilt context entry points at.
#[derive(Serialize, Deserialize, Copy, Clone, Debug, PartialEq, Eq, Fixed)]
#[fixed(size = 3)]
pub enum RebuildOwner {
    /// A domain's tables.
    Domain(DomainId),
    /// The device's quarantine tables.
    Quarantine,
}

impl MaxEncodedLen for RebuildOwner {
    const MAX_ENCODED_LEN: usize = ENUM_TAG_LEN + DomainId::MAX_ENCODED_LEN;
}

/// One present context entry, as the broker passes it to domid.
#[derive(Serialize, Deserialize, Copy, Clone, Debug, PartialEq, Eq)]
pub struct RebuildRecord {
    /// The unit whose context table holds the entry.
    pub unit: UnitId,
    /// The requester ID the entry translates.
    pub rid: Bdf,
    /// The entry's DID field.
    pub did: Did,
    /// Whose tables the entry points at.
    pub owner: RebuildOwner,
    /// The device the entry serves: `rid` itself, or for an alias (bridge,
    /// (secbus, 0.0), phantom function) the device it aliases.
    pub device: Bdf,
}

/// Why bytes are not a rebuild record.
#[derive(Serialize, Deserialize, Copy, Clone, Debug, PartialEq, Eq, Fixed)]
#[fixed(size = 3)]
pub enum RebuildDecodeError {
    /// Fewer than [`RebuildRecord::ENCODED_LEN`] bytes.
    Short {
        /// Bytes there were.
        len: u16,
    },
    /// The owner tag is neither 0 (quarantine) nor 1 (domain).
    BadOwnerTag(u8),
}

impl MaxEncodedLen for RebuildDecodeError {
    const MAX_ENCODED_LEN: usize = ENUM_TAG_LEN + u16::MAX_ENCODED_LEN;
}

impl fmt::Display for RebuildDecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RebuildDecodeError::Short { len } => write!(
                f,
                "rebuild record needs {} bytes, {len} left",
                RebuildRecord::ENCODED_LEN
            ),
            RebuildDecodeError::BadOwnerTag(t) => {
                write!(f, "rebuild record owner tag {t} is not 0 or 1")
            }
        }
    }
}

/// Owner tag values of the encoded record.
const OWNER_QUARANTINE: u8 = 0;
const OWNER_DOMAIN: u8 = 1;

impl RebuildRecord {
    /// Bytes per encoded record: unit (1), rid (2), DID (2), owner tag (1),
    /// domain (2, 0 for quarantine), device (2); integers little-endian.
    pub const ENCODED_LEN: usize = 10;

    /// The record's fixed layout, or `None` if `rid` or `device` has a
    /// device or function number out of range.
    pub fn encode(&self) -> Option<[u8; Self::ENCODED_LEN]> {
        let (tag, domain) = match self.owner {
            RebuildOwner::Quarantine => (OWNER_QUARANTINE, 0u16),
            RebuildOwner::Domain(d) => (OWNER_DOMAIN, d.0),
        };
        let rid = self.rid.requester_id()?;
        let device = self.device.requester_id()?;
        let mut out = [0u8; Self::ENCODED_LEN];
        out[0] = self.unit.0;
        out[1..3].copy_from_slice(&rid.to_le_bytes());
        out[3..5].copy_from_slice(&self.did.0.to_le_bytes());
        out[5] = tag;
        out[6..8].copy_from_slice(&domain.to_le_bytes());
        out[8..10].copy_from_slice(&device.to_le_bytes());
        Some(out)
    }

    /// Reads one record from the start of `bytes`.
    pub fn decode(bytes: &[u8]) -> Result<RebuildRecord, RebuildDecodeError> {
        let Some(b) = bytes.get(..Self::ENCODED_LEN) else {
            return Err(RebuildDecodeError::Short {
                len: bytes.len().min(u16::MAX as usize) as u16,
            });
        };
        let word = |at: usize| u16::from_le_bytes([b[at], b[at + 1]]);
        let owner = match b[5] {
            OWNER_QUARANTINE => RebuildOwner::Quarantine,
            OWNER_DOMAIN => RebuildOwner::Domain(DomainId(word(6))),
            other => return Err(RebuildDecodeError::BadOwnerTag(other)),
        };
        Ok(RebuildRecord {
            unit: UnitId(b[0]),
            rid: Bdf::from_requester_id(word(1)),
            did: Did(word(3)),
            owner,
            device: Bdf::from_requester_id(word(8)),
        })
    }

    /// Iterates over the records packed in `bytes`; a trailing partial
    /// record is an error.
    pub fn decode_all(
        bytes: &[u8],
    ) -> impl Iterator<Item = Result<RebuildRecord, RebuildDecodeError>> + '_ {
        bytes.chunks(Self::ENCODED_LEN).map(RebuildRecord::decode)
    }
}

/// The most records one rebuild lease carries (4096 bytes).
pub const REBUILD_RECORDS_MAX: usize = 4096 / RebuildRecord::ENCODED_LEN;
