//! The domain-ID allocator: hands out the hardware domain IDs (DIDs) of each
//! VT-d unit and keeps the books that say who holds them.
//!
//! **The DID space** of a unit comes from its CAP: 2^(4+2·ND) DIDs, ND = 7
//! refused, DID 0 withheld under CAP.CM. The lower half goes to domains, the
//! upper half to per-device quarantine pseudo-DIDs (Xen 97af062b89), so the
//! two never collide. At ND = 0 (16 DIDs) that leaves 8 domain DIDs (7 with
//! CM: DIDs 1..=7) and 8 pseudo-DIDs (8..=15).
//!
//! **Reference counting, idempotently.** A domain's DID on a unit is held by
//! the *set* of its devices (requester IDs) behind that unit, not by a
//! counter: `acquire(unit, domain, device)` adds the device to the set (a
//! device already in it changes nothing) and `release` removes it (a device
//! not in it changes nothing); the DID is freed when the set becomes empty,
//! which is Xen's `check_cleanup_domid_map` ("no device of the domain left
//! behind this unit"). So a transaction step or compensation replayed after a
//! broker restart cannot count twice. [`Acquired::counted`] tells the caller
//! whether its call added the device, i.e. whether a release is the right
//! compensation. During a move a device is briefly in two sets (source and
//! target); size `DEVICES` for that.
//!
//! **Restart.** The allocator starts not rebuilt and refuses to hand out DIDs
//! until `rebuild_from` has replayed the present context entries the iommu
//! reports (an empty list on first boot), because the hardware, not this
//! task's lost memory, is the truth.
//!
//! **Memory** (no heap; fixed capacities as const generics): the bitmap
//! pool is 8 KiB per unit (one bit for each of the 65 536 DIDs of ND = 6,
//! whatever the unit's ND), plus 4 bytes per domain slot and 8 bytes per
//! device (a membership and a quarantine entry), plus 16 bytes of space and
//! padding and 24 of table lengths (the tables are compact vectors).
//! `BitmapAllocator::<1, 64, 128>::memory_per_unit()` is
//! 8 192 + 16 + 24 + 64·4 + 128·8 = 9 512 bytes. The free-list pool replaces the
//! 8 KiB with 4 bytes per domain and per device plus a few words.
//!
//! **Serving.** [`server::DomidServer`] implements the `Domid` IDL
//! interface ([`domid`], generated from `idl/domid.idl`) over any
//! [`DidAllocator`]; [`wire`] converts between the allocator's types and
//! the wire's.
//!
//! Implementations: [`BitmapAllocator`] (lowest free DID, as Xen) and
//! [`FreeListAllocator`] (O(1) reuse of returned DIDs), both the generic
//! [`Allocator`] over a [`DidPool`], both behind [`DidAllocator`].
#![no_std]

mod allocator;
mod api;
mod bitmap;
mod error;
mod freelist;
mod ids;
mod pool;
pub mod server;
mod space;
mod unit;
pub mod wire;

include!(concat!(env!("OUT_DIR"), "/idl.rs"));

pub use allocator::{Allocator, BitmapAllocator, FreeListAllocator};
pub use api::{Acquired, ContextRecord, DidAllocator, Released};
pub use bitmap::{BitmapPool, BITMAP_WORDS};
pub use error::DidError;
pub use freelist::FreeListPool;
pub use ids::{Did, DidOwner, DomainId, Owner, Rid, UnitId};
pub use pool::DidPool;
pub use server::DomidServer;
pub use space::{DidClass, DidSpace, SpaceError, MAX_DIDS, ND_MAX, ND_RESERVED};

/// Units, domains per unit (the system's domains and a pseudo-domain per
/// quarantined device) and (domain, requester ID) memberships per unit the
/// firmware's allocator is sized for, from app.toml's `[capacity]`.
const FIRMWARE_UNITS: usize = capacity::UNITS.value;
const FIRMWARE_DOMAINS: usize = capacity::DOMAINS.value + capacity::QUARANTINED.value;
const FIRMWARE_MEMBERSHIPS: usize = 2 * capacity::DEVICES.value;

/// The allocator firmware builds (the domid task and the fused build):
/// bitmaps by default, free lists with the `freelist` feature.
#[cfg(not(feature = "freelist"))]
pub type FirmwareAllocator =
    BitmapAllocator<FIRMWARE_UNITS, FIRMWARE_DOMAINS, FIRMWARE_MEMBERSHIPS>;
/// The allocator firmware builds (the domid task and the fused build):
/// bitmaps by default, free lists with the `freelist` feature.
#[cfg(feature = "freelist")]
pub type FirmwareAllocator =
    FreeListAllocator<FIRMWARE_UNITS, FIRMWARE_DOMAINS, FIRMWARE_MEMBERSHIPS>;

/// Which allocator [`FirmwareAllocator`] is, for start-up logs.
pub const FIRMWARE_ALLOCATOR: &str = if cfg!(feature = "freelist") {
    "free-list"
} else {
    "bitmap"
};
