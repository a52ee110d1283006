//! Which requester IDs a device's DMA arrives with, and in what order the
//! IOMMU must switch their context entries.
//!
//! A conventional PCI device behind a bridge does not always master with its
//! own ID: a PCIe-to-PCI bridge takes ownership of its transactions and tags
//! them with its own ID or with (secondary bus, 0.0) — on QEMU the edu at
//! 01:01.0 behind the pcie-pci-bridge 00:03.0 DMAs as 0x0100 — and a legacy
//! PCI-to-PCI bridge tags them with its own. PCIe devices may also use
//! phantom functions as extra tags. So moving a device means rewriting every
//! one of these entries, in Xen's order: the device, its upstream bridge and
//! (secbus, 0.0), then the phantom functions on assign; phantom functions
//! first, then the device and its aliases, on deassign.

use heapless::Vec;

use crate::addr::{Bdf, FUNCTIONS_PER_DEVICE};
use crate::devtype::DeviceType;
use crate::error::PciError;
use crate::quirks::me_wifi_phantom;
use crate::topology::{PciFunction, Topology};

/// The most requester IDs one device can use: itself, 7 phantom functions,
/// a bridge, (secbus, 0.0) and the ME WiFi phantom.
pub const MAX_REQUESTER_IDS: usize = 11;

/// The requester IDs of one device, in the order to switch them.
pub type RequesterIds = Vec<Bdf, MAX_REQUESTER_IDS>;

/// Which way the device is moving.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Into a domain: the real function first, phantom functions after.
    Assign,
    /// Out of a domain: phantom functions first, the real function last.
    Deassign,
}

/// The bridge whose ID replaces a legacy device's on the way up.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct UpstreamBridge {
    pub bridge: Bdf,
    pub kind: DeviceType,
    /// The bus directly below the bridge on the device's path (its
    /// secondary bus): the bus of the (secbus, 0.0) alias.
    pub secondary_bus: u8,
}

impl<const N: usize> Topology<N> {
    /// Xen's `find_upstream_bridge`: walking up from the device through the
    /// legacy bridges (PCIe-to-PCI or PCI-to-PCI) that open each bus, the
    /// topmost of that unbroken chain, the last one to rewrite the
    /// requester ID. The walk stops at the first bus a legacy bridge does
    /// not open (Xen's `bus2bridge` has no mapping for it): a bridge of any
    /// kind above a PCIe bridge is not climbed to. `None` for a device on
    /// bus 0 or whose bus a PCIe bridge opens.
    pub fn upstream_bridge(&self, bdf: Bdf) -> Result<Option<UpstreamBridge>, PciError> {
        let mut cur = self.require(bdf)?;
        let mut found = None;
        // Parent links come from a walk that visits each bus once, so the
        // chain has at most 256 links; the bound is a guard, not a limit.
        for _ in 0..=u8::MAX as usize {
            let Some(parent) = cur.parent else { break };
            let bridge = self.require(parent)?;
            if !bridge.kind.is_legacy_bridge() {
                break;
            }
            found = Some(UpstreamBridge {
                bridge: bridge.bdf,
                kind: bridge.kind,
                secondary_bus: cur.bdf.bus(),
            });
            cur = bridge;
        }
        Ok(found)
    }

    /// The phantom functions of `f`: function + k·stride within the same
    /// device, where the stride comes from DevCap. None if the function
    /// number is not below the stride (it is then itself in the phantom
    /// range of function 0), and none if a real function answers on one of
    /// them (the device cannot be using that number as a tag).
    pub fn phantom_functions(&self, f: &PciFunction) -> Vec<Bdf, 7> {
        let mut out = Vec::new();
        let Some(stride) = f.pcie.and_then(|p| p.phantom_stride()) else {
            return out;
        };
        if f.bdf.func() >= stride {
            return out;
        }
        let mut func = f.bdf.func() + stride;
        while func < FUNCTIONS_PER_DEVICE {
            let phantom = f.bdf.with_func(func);
            if self.get(phantom).is_some() || out.push(phantom).is_err() {
                return Vec::new();
            }
            func += stride;
        }
        out
    }

    /// The requester IDs the device's DMA uses, in the order to switch their
    /// context entries when moving in `direction`. Host bridges and bridges
    /// are refused: they are never assigned; so is a flawed function (one
    /// the walk did not trust, or reached through a bridge it did not): its
    /// IDs would come from a claim that did not pass the checks.
    pub fn requester_ids(&self, bdf: Bdf, direction: Direction) -> Result<RequesterIds, PciError> {
        let f = self.require(bdf)?;
        if let Some(flaw) = f.flaw {
            return Err(PciError::Unassignable { bdf, flaw });
        }
        if !f.kind.is_assignable() {
            return Err(PciError::NotAssignable { bdf, kind: f.kind });
        }
        let mut group: RequesterIds = Vec::new();
        push_unique(&mut group, bdf);
        if let Some(me) = self.me_wifi_alias(f) {
            push_unique(&mut group, me);
        }
        if f.kind == DeviceType::LegacyEndpoint {
            if let Some(up) = self.upstream_bridge(bdf)? {
                push_unique(&mut group, up.bridge);
                if up.kind == DeviceType::PcieToPciBridge {
                    if let Ok(alias) = Bdf::new(self.seg(), up.secondary_bus, 0, 0) {
                        push_unique(&mut group, alias);
                    }
                }
            }
        }
        let phantoms = self.phantom_functions(f);
        let mut out: RequesterIds = Vec::new();
        let (first, second) = match direction {
            Direction::Assign => (&group[..], &phantoms[..]),
            Direction::Deassign => (&phantoms[..], &group[..]),
        };
        for &rid in first.iter().chain(second) {
            push_unique(&mut out, rid);
        }
        Ok(out)
    }

    /// The ME phantom function to map with a WLAN device (see
    /// [`crate::quirks`]).
    pub fn me_wifi_alias(&self, f: &PciFunction) -> Option<Bdf> {
        let host = Bdf::new(self.seg(), 0, 0, 0).ok()?;
        let host_id = self.get(host).map(|h| h.header.id());
        me_wifi_phantom(self.seg(), host_id, f.header.id(), |dev| {
            Bdf::new(self.seg(), 0, dev, 0)
                .ok()
                .and_then(|b| self.get(b))
                .is_some()
        })
    }
}

/// Capacity is MAX_REQUESTER_IDS, which counts every possible alias once;
/// duplicates are dropped so an entry is never switched twice.
fn push_unique(v: &mut RequesterIds, bdf: Bdf) {
    if !v.contains(&bdf) {
        let _ = v.push(bdf);
    }
}
