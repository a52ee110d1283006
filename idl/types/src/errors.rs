//! The error of every interface, one enum each, with a variant per cause.
//!
//! They travel as the body of an error reply, so they are plain data; their
//! `Display` names the values involved so a log line says what went wrong.

use core::fmt;

use serde::{Deserialize, Serialize};

use crate::context::ContextState;
use crate::domid::RebuildDecodeError;
use crate::hardware::EntryOwner;
use crate::ids::{Bdf, Did, DomainId, UnitId};
use crate::max_len::{max_len, max_len_of, MaxEncodedLen, ENUM_TAG_LEN};
use crate::pci::{ConfigRegister, DeviceFlaw};
use crate::wire::Fixed;

/// The error of an operation that cannot fail; it has no values.
#[derive(Serialize, Deserialize, Copy, Clone, Debug, PartialEq, Eq)]
pub enum NoError {}

impl MaxEncodedLen for NoError {
    const MAX_ENCODED_LEN: usize = 0;
}

impl fmt::Display for NoError {
    fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {}
    }
}

/// Why the acpi task could not answer.
#[derive(Serialize, Deserialize, Copy, Clone, Debug, PartialEq, Eq, Fixed)]
#[fixed(size = 20)]
pub enum AcpiError {
    /// No unit with this index.
    NoSuchUnit(UnitId),
    /// No unit's scope covers the device.
    NotCovered(Bdf),
    /// The device has more RMRRs than one reply carries.
    TooManyRmrrs {
        /// The device.
        device: Bdf,
        /// How many it has.
        count: u16,
    },
    /// A read of the raw table starts beyond its end.
    OffsetBeyondTable {
        /// The offset asked for.
        offset: u32,
        /// The table's length.
        length: u32,
    },
    /// The client's buffer could not be written.
    LeaseFailed,
    /// An RMRR of the device covers memory custody uses (the kernel, its
    /// frames, a region of app.toml): it is refused, and the device stays
    /// blocked rather than get that identity map.
    RmrrOverCustodyMemory {
        /// The device.
        device: Bdf,
        /// The RMRR's first byte.
        base: u64,
        /// Its last byte.
        end: u64,
    },
}

impl MaxEncodedLen for AcpiError {
    const MAX_ENCODED_LEN: usize = ENUM_TAG_LEN
        + max_len_of(&[
            Bdf::MAX_ENCODED_LEN + u16::MAX_ENCODED_LEN,
            Bdf::MAX_ENCODED_LEN,
            2 * u32::MAX_ENCODED_LEN,
            Bdf::MAX_ENCODED_LEN + 2 * u64::MAX_ENCODED_LEN,
        ]);
}

impl fmt::Display for AcpiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AcpiError::NoSuchUnit(u) => write!(f, "no IOMMU {u} in the DMAR table"),
            AcpiError::NotCovered(d) => write!(f, "no IOMMU unit covers device {d}"),
            AcpiError::TooManyRmrrs { device, count } => {
                write!(
                    f,
                    "device {device} has {count} RMRRs, more than one reply carries"
                )
            }
            AcpiError::OffsetBeyondTable { offset, length } => {
                write!(
                    f,
                    "offset {offset:#x} is beyond the {length}-byte DMAR table"
                )
            }
            AcpiError::LeaseFailed => write!(f, "the client's buffer could not be written"),
            AcpiError::RmrrOverCustodyMemory { device, base, end } => write!(
                f,
                "the RMRR {base:#x}..={end:#x} of device {device} covers memory custody uses; refused, the device stays blocked"
            ),
        }
    }
}

/// Why the iommu task refused or failed an operation.
#[derive(Serialize, Deserialize, Copy, Clone, Debug, PartialEq, Eq, Fixed)]
#[fixed(size = 13)]
pub enum IommuError {
    /// The domain has no page tables.
    NoSuchDomain(DomainId),
    /// The domain already has page tables.
    DomainExists(DomainId),
    /// The domain still has devices attached.
    DomainInUse(DomainId),
    /// No unit covers the device.
    NoUnitFor(Bdf),
    /// A range is unaligned, empty, or beyond the address width.
    BadRange {
        /// First address.
        iova: u64,
        /// Pages.
        pages: u32,
    },
    /// The range overlaps a different existing mapping.
    Overlap {
        /// The first address already mapped differently.
        iova: u64,
    },
    /// Out of memory for page tables.
    OutOfTables,
    /// The context entry changed under us (the 128-bit exchange saw another
    /// value): it now holds `found`.
    ContextMismatch {
        /// The device.
        device: Bdf,
        /// What the entry holds.
        found: ContextState,
    },
    /// A device with an RMRR whose bridge alias is already present for
    /// another owner (Xen's EOPNOTSUPP); nothing was changed.
    SharedAliasWithRmrr {
        /// The device.
        device: Bdf,
        /// The alias already owned elsewhere.
        alias: Bdf,
    },
    /// Mode flags outside the defined set.
    BadMode(u8),
    /// The DID is out of the unit's range (or 0 under caching mode).
    BadDid(Did),
    /// The hardware did not finish an invalidation in time.
    InvalidationTimeout(UnitId),
    /// The server has no unit with this index.
    NoSuchUnit(UnitId),
    /// A device address with a device number above 31 or a function above 7.
    BadDevice(Bdf),
    /// Part of the range to unmap is not mapped; nothing was changed.
    NotMapped {
        /// The first address not mapped.
        iova: u64,
    },
    /// The unmap would cut a 2 MiB page in two; nothing was changed.
    SplitsLargePage {
        /// An address inside that page.
        iova: u64,
    },
    /// The entry is present with a DID the iommu cannot attribute to any
    /// owner (Xen's ESRCH); nothing was changed.
    UnknownOwner {
        /// The device.
        device: Bdf,
        /// The DID found in its entry.
        did: Did,
    },
    /// The DID asked for is in use on the unit by another owner.
    DidInUse {
        /// The DID.
        did: Did,
        /// Who uses it.
        holder: EntryOwner,
    },
    /// The domain already uses another DID on the unit.
    DidMismatch {
        /// The domain.
        domain: DomainId,
        /// The DID its entries carry.
        held: Did,
        /// The DID asked for.
        requested: Did,
    },
    /// A context entry was to point at quarantine tables the device does
    /// not have (quarantine it first).
    NoQuarantineTables(Bdf),
    /// Policy requires CMPXCHG16B and the CPU lacks it.
    Cx16Required(Bdf),
    /// The unit does not remap interrupts (no ECAP.IR, or the
    /// register-invalidation build, which cannot invalidate its cache).
    InterruptRemappingOff(UnitId),
    /// The unit's interrupt-remapping table has no entry `handle`.
    NoSuchIrte {
        /// The unit.
        unit: UnitId,
        /// The entry asked for.
        handle: u16,
    },
    /// The server's books (domains, quarantined devices, DIDs) are full.
    BooksFull {
        /// The capacity reached.
        capacity: u16,
    },
    /// The unit refused or failed an operation.
    UnitFailure {
        /// The unit.
        unit: UnitId,
        /// What went wrong.
        cause: UnitFault,
    },
}

/// How a unit failed, for [`IommuError::UnitFailure`].
#[derive(Serialize, Deserialize, Copy, Clone, Debug, PartialEq, Eq, Fixed)]
#[fixed(size = 1)]
pub enum UnitFault {
    /// The unit has not been brought up.
    NotBroughtUp,
    /// The invalidation queue reported an error or stopped consuming.
    QueueError,
    /// An IOTLB invalidation was not performed.
    IotlbRejected,
    /// The unit lacks a feature the request needs (table depth,
    /// pass-through, queued invalidation) or its CAP is unusable.
    Unsupported,
    /// A restarted server could not take the running unit over.
    ResumeFailed,
    /// The table memory could not do a 128-bit compare-exchange (no
    /// CMPXCHG16B after all, or the entry outside or misaligned in the
    /// pool); nothing was written.
    AtomicUpdateRefused,
}

impl MaxEncodedLen for UnitFault {
    const MAX_ENCODED_LEN: usize = ENUM_TAG_LEN;
}

impl fmt::Display for UnitFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UnitFault::NotBroughtUp => "not brought up",
            UnitFault::QueueError => "invalidation queue error",
            UnitFault::IotlbRejected => "IOTLB invalidation not performed",
            UnitFault::Unsupported => "feature not supported by the unit",
            UnitFault::ResumeFailed => "could not resume the running unit",
            UnitFault::AtomicUpdateRefused => "the table memory refused a 128-bit compare-exchange",
        })
    }
}

impl MaxEncodedLen for IommuError {
    const MAX_ENCODED_LEN: usize = ENUM_TAG_LEN
        + max_len_of(&[
            u64::MAX_ENCODED_LEN + u32::MAX_ENCODED_LEN,
            Bdf::MAX_ENCODED_LEN + ContextState::MAX_ENCODED_LEN,
            Did::MAX_ENCODED_LEN + EntryOwner::MAX_ENCODED_LEN,
            DomainId::MAX_ENCODED_LEN + 2 * Did::MAX_ENCODED_LEN,
            UnitId::MAX_ENCODED_LEN + UnitFault::MAX_ENCODED_LEN,
        ]);
}

impl fmt::Display for IommuError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IommuError::NoSuchDomain(d) => write!(f, "{d} has no page tables"),
            IommuError::DomainExists(d) => write!(f, "{d} already has page tables"),
            IommuError::DomainInUse(d) => write!(f, "{d} still has devices attached"),
            IommuError::NoUnitFor(b) => write!(f, "no IOMMU unit covers device {b}"),
            IommuError::BadRange { iova, pages } => {
                write!(f, "bad range: {pages} pages at {iova:#x}")
            }
            IommuError::Overlap { iova } => {
                write!(f, "{iova:#x} is already mapped to something else")
            }
            IommuError::OutOfTables => write!(f, "out of memory for page tables"),
            IommuError::ContextMismatch { device, found } => {
                write!(
                    f,
                    "context entry of {device} changed underneath: now {found:?}"
                )
            }
            IommuError::SharedAliasWithRmrr { device, alias } => write!(
                f,
                "device {device} has an RMRR and its alias {alias} belongs to another owner"
            ),
            IommuError::BadMode(m) => write!(f, "undefined reassignment mode bits {m:#x}"),
            IommuError::BadDid(d) => write!(f, "{d} is outside the unit's range"),
            IommuError::InvalidationTimeout(u) => {
                write!(f, "{u} did not finish an invalidation in time")
            }
            IommuError::NoSuchUnit(u) => write!(f, "the iommu has no {u}"),
            IommuError::BadDevice(b) => write!(f, "{b} is not a PCI function address"),
            IommuError::NotMapped { iova } => write!(f, "{iova:#x} is not mapped"),
            IommuError::SplitsLargePage { iova } => {
                write!(f, "unmapping would split the 2 MiB page holding {iova:#x}")
            }
            IommuError::UnknownOwner { device, did } => write!(
                f,
                "context entry of {device} holds {did}, which belongs to no known owner"
            ),
            IommuError::DidInUse { did, holder } => write!(f, "{did} is in use by {holder:?}"),
            IommuError::DidMismatch {
                domain,
                held,
                requested,
            } => write!(f, "{domain} uses {held} on this unit, not {requested}"),
            IommuError::NoQuarantineTables(b) => {
                write!(f, "device {b} has no quarantine tables")
            }
            IommuError::Cx16Required(b) => write!(
                f,
                "{b}: policy requires CMPXCHG16B for context updates and the CPU lacks it"
            ),
            IommuError::InterruptRemappingOff(u) => {
                write!(f, "{u} does not remap interrupts (MSIs are not isolated)")
            }
            IommuError::NoSuchIrte { unit, handle } => write!(
                f,
                "{unit}'s interrupt-remapping table has no entry {handle}"
            ),
            IommuError::BooksFull { capacity } => {
                write!(f, "the iommu's books are full ({capacity} entries)")
            }
            IommuError::UnitFailure { unit, cause } => write!(f, "{unit}: {cause}"),
        }
    }
}

/// Why the domid task refused.
#[derive(Serialize, Deserialize, Copy, Clone, Debug, PartialEq, Eq, Fixed)]
#[fixed(size = 6)]
pub enum DomidError {
    /// No such unit.
    NoSuchUnit(UnitId),
    /// Every DID of the unit is in use.
    Exhausted(UnitId),
    /// The domain holds no DID on the unit.
    NotHeld {
        /// The unit.
        unit: UnitId,
        /// The domain.
        domain: DomainId,
    },
    /// The unit reports CAP.ND = 7, which is reserved.
    ReservedDomainCount(UnitId),
    /// A rebuild names a DID already held by another domain.
    RebuildConflict {
        /// The unit.
        unit: UnitId,
        /// The DID.
        did: Did,
        /// The domain that holds it.
        holder: DomainId,
    },
    /// The DID is outside the unit's range (or 0 under caching mode).
    BadDid(Did),
    /// domid's books have not been rebuilt since it started; it hands out
    /// nothing until the broker rebuilds them from the context entries.
    NotRebuilt,
    /// The unit's CAP was never given (configure_unit).
    UnitNotConfigured(UnitId),
    /// CAP.ND is not a 3-bit value.
    BadDomainCount {
        /// The unit.
        unit: UnitId,
        /// The value given.
        nd: u8,
    },
    /// The unit already has another DID space and DIDs handed out.
    UnitReconfigured(UnitId),
    /// A table of the unit's books is full.
    TableFull {
        /// The unit.
        unit: UnitId,
        /// The table's capacity.
        capacity: u16,
    },
    /// A rebuild's records contradict each other or the unit's DID space;
    /// domid stays not rebuilt.
    RebuildRejected {
        /// The unit.
        unit: UnitId,
        /// The DID concerned.
        did: Did,
        /// What is wrong with it.
        cause: RebuildFault,
    },
    /// A rebuild record could not be read; domid stays not rebuilt.
    BadRebuildRecord {
        /// Its index in the lease.
        index: u16,
        /// Why.
        cause: RebuildDecodeError,
    },
    /// The client's buffer could not be read.
    LeaseFailed,
    /// A device address with a device number above 31 or a function above 7.
    BadDevice(Bdf),
    /// The books and the DID pool disagree (a bug, reported, not trusted).
    Inconsistent {
        /// The unit.
        unit: UnitId,
        /// The DID concerned.
        did: Did,
    },
}

/// What is wrong with a rebuild, for [`DomidError::RebuildRejected`].
#[derive(Serialize, Deserialize, Copy, Clone, Debug, PartialEq, Eq, Fixed)]
#[fixed(size = 1)]
pub enum RebuildFault {
    /// The DID is outside the half its owner's kind uses, or the space.
    OutOfRange,
    /// Two owners use the DID.
    Shared,
    /// One domain appears with two DIDs on the unit.
    DomainHasTwoDids,
    /// One quarantined device appears with two pseudo-DIDs.
    DeviceHasTwoPseudoDids,
}

impl MaxEncodedLen for RebuildFault {
    const MAX_ENCODED_LEN: usize = ENUM_TAG_LEN;
}

impl fmt::Display for RebuildFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RebuildFault::OutOfRange => "outside the range its owner's kind uses",
            RebuildFault::Shared => "used by two owners",
            RebuildFault::DomainHasTwoDids => "one of two DIDs of the same domain",
            RebuildFault::DeviceHasTwoPseudoDids => "one of two pseudo-DIDs of the same device",
        })
    }
}

impl MaxEncodedLen for DomidError {
    const MAX_ENCODED_LEN: usize = ENUM_TAG_LEN
        + max_len_of(&[
            UnitId::MAX_ENCODED_LEN + Did::MAX_ENCODED_LEN + DomainId::MAX_ENCODED_LEN,
            UnitId::MAX_ENCODED_LEN + Did::MAX_ENCODED_LEN + RebuildFault::MAX_ENCODED_LEN,
            u16::MAX_ENCODED_LEN + RebuildDecodeError::MAX_ENCODED_LEN,
            UnitId::MAX_ENCODED_LEN + u16::MAX_ENCODED_LEN,
        ]);
}

impl fmt::Display for DomidError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DomidError::NoSuchUnit(u) => write!(f, "{u} is not known to domid"),
            DomidError::Exhausted(u) => write!(f, "every DID of {u} is in use"),
            DomidError::NotHeld { unit, domain } => write!(f, "{domain} holds no DID on {unit}"),
            DomidError::ReservedDomainCount(u) => {
                write!(f, "{u} reports CAP.ND = 7, which is reserved")
            }
            DomidError::RebuildConflict { unit, did, holder } => {
                write!(f, "{did} on {unit} is already held by {holder}")
            }
            DomidError::BadDid(d) => write!(f, "{d} is outside the unit's range"),
            DomidError::NotRebuilt => write!(
                f,
                "domid's books have not been rebuilt from the context entries since it started"
            ),
            DomidError::UnitNotConfigured(u) => write!(f, "{u} has no DID space configured"),
            DomidError::BadDomainCount { unit, nd } => {
                write!(f, "{unit}: CAP.ND = {nd} does not fit the 3-bit field")
            }
            DomidError::UnitReconfigured(u) => {
                write!(f, "{u} already has another DID space with DIDs handed out")
            }
            DomidError::TableFull { unit, capacity } => {
                write!(
                    f,
                    "{unit}: a table of the books is full ({capacity} entries)"
                )
            }
            DomidError::RebuildRejected { unit, did, cause } => {
                write!(f, "rebuild rejected: {did} on {unit} is {cause}")
            }
            DomidError::BadRebuildRecord { index, cause } => {
                write!(f, "rebuild record {index}: {cause}")
            }
            DomidError::LeaseFailed => write!(f, "the client's buffer could not be read"),
            DomidError::BadDevice(b) => write!(f, "{b} is not a PCI function address"),
            DomidError::Inconsistent { unit, did } => {
                write!(f, "{unit}: the DID pool and the books disagree about {did}")
            }
        }
    }
}

/// Why the broker refused a request or could not finish it.
#[derive(Serialize, Deserialize, Copy, Clone, Debug, PartialEq, Eq, Fixed)]
#[fixed(size = 14)]
pub enum BrokerError {
    /// The broker does not know the device.
    UnknownDevice(Bdf),
    /// The broker does not know the domain.
    UnknownDomain(DomainId),
    /// Policy does not let the caller move this device.
    NotPermitted(Bdf),
    /// The device is already where it was asked to go.
    AlreadyThere(Bdf),
    /// Another transaction is running.
    Busy,
    /// A step failed and the move was rolled back; the device is where it was.
    RolledBack {
        /// The device.
        device: Bdf,
        /// The step (1-based) that failed.
        step: u8,
    },
    /// The rollback failed too; the device is in quarantine.
    Quarantined(Bdf),
    /// A participant the move needs is dead and was not restarted.
    PeerDown,
    /// The device has an RMRR, its entry is present, and other devices sit
    /// behind its upstream bridge: moving it would move the bridge's alias,
    /// through which their DMA arrives too (Xen's EOPNOTSUPP in "VT-d:
    /// re-assign devices directly"); nothing was changed.
    RmrrBehindSharedBridge {
        /// The device.
        device: Bdf,
        /// Its upstream bridge.
        bridge: Bdf,
    },
    /// The request would leave a device with an RMRR without translation.
    WouldDisconnectRmrr(Bdf),
    /// A peer refused a fact the move needs (unit, RMRRs, PCI topology).
    PlatformFact(Bdf),
    /// The device is in custody of the broker's recovery (a failed rollback
    /// or an unfinished journal); retry later.
    Recovering,
    /// The broker's persistent journal cannot be written.
    JournalFailed,
    /// Moving the device would change what another device sees through a
    /// bridge alias they share (devices behind one bridge move together);
    /// nothing was changed.
    AliasInUse {
        /// The device asked for.
        device: Bdf,
        /// The shared requester ID.
        alias: Bdf,
        /// A held device whose DMA arrives through it too.
        neighbour: Bdf,
    },
    /// The device's RMRR overlaps memory the target domain maps for its
    /// devices: it cannot be identity-mapped there; nothing was changed.
    RmrrOverlapsDomainMemory {
        /// The device.
        device: Bdf,
        /// The target domain.
        domain: DomainId,
        /// The first I/O address both claim.
        iova: u64,
    },
    /// Moving the device takes more steps than one transaction may journal
    /// (its RMRRs split into too many pieces); nothing was changed.
    PlanTooLarge(Bdf),
    /// pci's enumeration did not trust the device (a hostile or broken
    /// config space, or one it sits behind): its requester IDs are never
    /// derived, so it is never assigned; nothing was changed.
    Unassignable {
        /// The device.
        device: Bdf,
        /// Why.
        flaw: DeviceFlaw,
    },
}

impl MaxEncodedLen for BrokerError {
    const MAX_ENCODED_LEN: usize = ENUM_TAG_LEN
        + max_len(
            max_len(
                Bdf::MAX_ENCODED_LEN + u8::MAX_ENCODED_LEN,
                3 * Bdf::MAX_ENCODED_LEN,
            ),
            max_len(
                Bdf::MAX_ENCODED_LEN + DomainId::MAX_ENCODED_LEN + u64::MAX_ENCODED_LEN,
                Bdf::MAX_ENCODED_LEN + DeviceFlaw::MAX_ENCODED_LEN,
            ),
        );
}

impl fmt::Display for BrokerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BrokerError::UnknownDevice(d) => write!(f, "no device {d} in the books"),
            BrokerError::UnknownDomain(d) => write!(f, "no {d} in the books"),
            BrokerError::NotPermitted(d) => write!(f, "policy forbids this caller to move {d}"),
            BrokerError::AlreadyThere(d) => write!(f, "device {d} is already there"),
            BrokerError::Busy => write!(f, "another transaction is running"),
            BrokerError::RolledBack { device, step } => {
                write!(f, "moving {device} failed at step {step}; rolled back")
            }
            BrokerError::Quarantined(d) => {
                write!(f, "rollback of {d} failed; the device is in quarantine")
            }
            BrokerError::PeerDown => write!(f, "a task the move needs is down"),
            BrokerError::RmrrBehindSharedBridge { device, bridge } => write!(
                f,
                "device {device} has an RMRR and other devices sit behind its bridge {bridge}: \
                 moving it would move their DMA alias too (Xen refuses it: EOPNOTSUPP)"
            ),
            BrokerError::WouldDisconnectRmrr(d) => {
                write!(f, "device {d} has an RMRR and must not lose translation")
            }
            BrokerError::AliasInUse {
                device,
                alias,
                neighbour,
            } => write!(
                f,
                "moving {device} would change bridge alias {alias}, through which {neighbour} \
                 DMAs too: devices behind one bridge move together (release {neighbour} first)"
            ),
            BrokerError::RmrrOverlapsDomainMemory {
                device,
                domain,
                iova,
            } => write!(
                f,
                "device {device}'s RMRR overlaps {domain}'s memory at {iova:#x}: it cannot be \
                 identity-mapped there"
            ),
            BrokerError::PlanTooLarge(d) => write!(
                f,
                "moving {d} takes more steps than one transaction may journal"
            ),
            BrokerError::PlatformFact(d) => {
                write!(f, "the platform facts of device {d} could not be read")
            }
            BrokerError::Recovering => write!(f, "the broker is recovering; retry later"),
            BrokerError::JournalFailed => write!(f, "the broker's journal cannot be written"),
            BrokerError::Unassignable { device, flaw } => write!(
                f,
                "device {device} cannot be assigned: {flaw}; pci does not trust its requester IDs"
            ),
        }
    }
}

/// Why the pci task refused.
#[derive(Serialize, Deserialize, Copy, Clone, Debug, PartialEq, Eq, Fixed)]
#[fixed(size = 12)]
pub enum PciError {
    /// Nothing answers at that address.
    NoDevice(Bdf),
    /// The offset is unaligned for the width or beyond config space.
    BadOffset {
        /// The offset.
        offset: u16,
        /// Bytes per access.
        width: u8,
    },
    /// The caller does not own the device.
    NotOwner(Bdf),
    /// Bridges and host bridges are never assigned.
    NotAssignable(Bdf),
    /// The config access itself failed (segment or window not reachable).
    AccessFailed(Bdf),
    /// The client's buffer could not be written.
    LeaseFailed,
    /// Enumeration did not trust the device (or what it sits behind), so
    /// its requester IDs are never derived.
    Unassignable {
        /// The device.
        device: Bdf,
        /// Why.
        flaw: DeviceFlaw,
    },
    /// The device has no MSI capability, so its interrupts cannot be
    /// remapped.
    NoMsi(Bdf),
    /// The write reaches a register only pci may change; nothing was
    /// written.
    ProtectedRegister {
        /// The device.
        device: Bdf,
        /// The offset written.
        offset: u16,
        /// The register it reaches.
        register: ConfigRegister,
    },
}

impl MaxEncodedLen for PciError {
    const MAX_ENCODED_LEN: usize = ENUM_TAG_LEN
        + max_len(
            max_len(
                Bdf::MAX_ENCODED_LEN,
                u16::MAX_ENCODED_LEN + u8::MAX_ENCODED_LEN,
            ),
            max_len(
                Bdf::MAX_ENCODED_LEN + DeviceFlaw::MAX_ENCODED_LEN,
                Bdf::MAX_ENCODED_LEN + u16::MAX_ENCODED_LEN + ConfigRegister::MAX_ENCODED_LEN,
            ),
        );
}

impl fmt::Display for PciError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PciError::NoDevice(d) => write!(f, "no device answers at {d}"),
            PciError::BadOffset { offset, width } => {
                write!(
                    f,
                    "config offset {offset:#x} is bad for a {width}-byte access"
                )
            }
            PciError::NotOwner(d) => write!(f, "caller does not own device {d}"),
            PciError::NotAssignable(d) => write!(f, "{d} is a bridge; it is never assigned"),
            PciError::AccessFailed(d) => write!(f, "config space of {d} cannot be reached"),
            PciError::LeaseFailed => write!(f, "the client's buffer could not be written"),
            PciError::Unassignable { device, flaw } => {
                write!(f, "{device} is unassignable: {flaw}")
            }
            PciError::ProtectedRegister {
                device,
                offset,
                register,
            } => write!(
                f,
                "writing {device}'s config offset {offset:#x} is refused: it reaches {register}, which only pci may change"
            ),
            PciError::NoMsi(d) => write!(
                f,
                "{d} has no MSI capability, so its interrupts cannot be remapped"
            ),
        }
    }
}

/// Why the supervisor refused.
#[derive(Serialize, Deserialize, Copy, Clone, Debug, PartialEq, Eq, Fixed)]
#[fixed(size = 3)]
pub enum SupervisorError {
    /// No task has that index.
    NoSuchTask(crate::ids::TaskIndex),
    /// The supervisor does not fault itself (a supervisor fault stops the
    /// machine).
    NotInjectable(crate::ids::TaskIndex),
    /// The kernel did not answer the supervisor's request.
    KernelRefused,
}

impl MaxEncodedLen for SupervisorError {
    const MAX_ENCODED_LEN: usize = ENUM_TAG_LEN + crate::ids::TaskIndex::MAX_ENCODED_LEN;
}

impl fmt::Display for SupervisorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SupervisorError::NoSuchTask(t) => write!(f, "no task has index {}", t.0),
            SupervisorError::NotInjectable(t) => {
                write!(f, "task {} is the supervisor; it is never faulted", t.0)
            }
            SupervisorError::KernelRefused => write!(f, "the kernel refused the request"),
        }
    }
}
