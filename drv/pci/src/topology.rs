//! Enumeration of a segment and the facts the IOMMU needs from it.
//!
//! The walk starts at bus 0 and follows each bridge's *secondary bus number*
//! as firmware programmed it (this library never renumbers buses). Buses are
//! visited breadth first, each at most once; functions 1..7 are scanned only
//! when function 0's header has the multi-function bit.
//!
//! Every header is the device's to present, so a bridge's claim on buses is
//! checked before the walk follows it (docs/DESIGN.md §10): its primary bus
//! must be the bus it sits on, and its secondary..=subordinate range must lie
//! above that bus and inside that bus's own range; a range two bridges of one
//! bus both claim goes to neither. A function that fails a check, or whose
//! config space cannot be read, is recorded with its [`Flaw`] and the walk
//! goes on; what sits behind it inherits the flaw. Running out of capacity is
//! counted, not an error. Requester IDs come only from unflawed functions
//! reached through unflawed bridges.

use heapless::Vec;

use crate::access::ConfigAccess;
use crate::addr::{Bdf, DEVICES_PER_BUS, FUNCTIONS_PER_DEVICE};
use crate::devtype::{DeviceType, PcieInfo};
use crate::error::{at, PciError};
use crate::flaw::{Flaw, Unreadable};
use crate::header::{Header, HeaderKind};
use crate::regs;

/// A bridge's bus numbers.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct BridgeBuses {
    pub primary: u8,
    pub secondary: u8,
    pub subordinate: u8,
}

/// One function found by the walk.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct PciFunction {
    pub bdf: Bdf,
    pub header: Header,
    pub kind: DeviceType,
    pub pcie: Option<PcieInfo>,
    /// Bus numbers, for a type 1 header (as read, checked or not).
    pub buses: Option<BridgeBuses>,
    /// The bridge through which the walk reached this function's bus
    /// (`None` on bus 0, and on a bus two bridges claim).
    pub parent: Option<Bdf>,
    /// Why the function is not trusted (and so not assignable), if it is not.
    pub flaw: Option<Flaw>,
}

const BUSES: usize = 256;

/// A bus waiting to be scanned: its number, the range of buses below it
/// (its bridge's secondary..=subordinate), and the index in `functions` of
/// the bridge it was reached through.
#[derive(Copy, Clone)]
struct Pending {
    bus: u8,
    first: u8,
    last: u8,
    via: Option<u16>,
}

/// The functions of one segment, at most `N`.
#[derive(Clone, Debug)]
pub struct Topology<const N: usize> {
    seg: u16,
    functions: Vec<PciFunction, N>,
    beyond_capacity: usize,
    unreadable_headers: usize,
}

impl<const N: usize> Topology<N> {
    /// Walk segment `seg` through `a`. Never fails: what cannot be read or
    /// trusted is recorded as flawed, what does not fit is counted.
    pub fn enumerate<A: ConfigAccess + ?Sized>(a: &A, seg: u16) -> Self {
        let mut topo = Topology {
            seg,
            functions: Vec::new(),
            beyond_capacity: 0,
            unreadable_headers: 0,
        };
        let mut visited = [false; BUSES];
        let mut queue: Vec<Pending, BUSES> = Vec::new();
        visited[0] = true;
        // Cannot fail: every bus is queued at most once (`visited`).
        let _ = queue.push(Pending {
            bus: 0,
            first: 0,
            last: u8::MAX,
            via: None,
        });
        let mut next = 0;
        while let Some(&bus) = queue.get(next) {
            next += 1;
            let start = topo.functions.len();
            topo.scan_bus(a, bus);
            let end = topo.functions.len();
            topo.settle_claims(bus, start, end);
            // Every claim that passed the checks against its bus is followed,
            // a disputed one too: the functions behind it are recorded, with
            // the flaw they inherit.
            for i in start..end {
                let Ok(Some(sec)) = topo.valid_claim(bus, i) else {
                    continue;
                };
                if let Some(seen @ false) = visited.get_mut(sec.0 as usize) {
                    *seen = true;
                    let _ = queue.push(Pending {
                        bus: sec.0,
                        first: sec.0,
                        last: sec.1,
                        via: u16::try_from(i).ok(),
                    });
                }
            }
        }
        topo
    }

    /// Records every function of `p.bus`.
    fn scan_bus<A: ConfigAccess + ?Sized>(&mut self, a: &A, p: Pending) {
        let (parent, inherited) = self.reached_through(p.via);
        for dev in 0..DEVICES_PER_BUS {
            let Ok(f0) = Bdf::new(self.seg, p.bus, dev, 0) else {
                continue;
            };
            let h0 = match Header::read(a, f0) {
                Ok(Some(h)) => h,
                Ok(None) => continue,
                Err(_) => {
                    self.unreadable_headers += 1;
                    continue;
                }
            };
            let funcs = if h0.multifunction {
                FUNCTIONS_PER_DEVICE
            } else {
                1
            };
            for func in 0..funcs {
                let bdf = f0.with_func(func);
                let header = if func == 0 {
                    h0
                } else {
                    match Header::read(a, bdf) {
                        Ok(Some(h)) => h,
                        Ok(None) => continue,
                        Err(_) => {
                            self.unreadable_headers += 1;
                            continue;
                        }
                    }
                };
                self.record(a, bdf, header, parent, inherited);
            }
        }
    }

    /// The parent and the inherited flaw of functions reached through the
    /// bridge at index `via`.
    fn reached_through(&self, via: Option<u16>) -> (Option<Bdf>, Option<Flaw>) {
        let Some(bridge) = via.and_then(|i| self.functions.get(usize::from(i))) else {
            return (None, None);
        };
        match bridge.flaw {
            None => (Some(bridge.bdf), None),
            // Two bridges claim this bus: it is attributed to neither.
            Some(flaw @ Flaw::BusClaimedTwice { .. }) => (None, Some(flaw.inherited(bridge.bdf))),
            Some(flaw) => (Some(bridge.bdf), Some(flaw.inherited(bridge.bdf))),
        }
    }

    fn record<A: ConfigAccess + ?Sized>(
        &mut self,
        a: &A,
        bdf: Bdf,
        header: Header,
        parent: Option<Bdf>,
        inherited: Option<Flaw>,
    ) {
        if self.functions.is_full() {
            self.beyond_capacity += 1;
            return;
        }
        let mut own = None;
        let pcie = PcieInfo::read(a, bdf).unwrap_or_else(|e| {
            own = Some(Unreadable::from_error(e));
            None
        });
        let buses = if header.kind == HeaderKind::Bridge {
            read_buses(a, bdf).map_or_else(
                |e| {
                    own = own.or(Some(Unreadable::from_error(e)));
                    None
                },
                Some,
            )
        } else {
            None
        };
        let f = PciFunction {
            bdf,
            header,
            kind: DeviceType::classify(&header, pcie.as_ref()),
            pcie,
            buses,
            parent,
            flaw: own.map(Flaw::Unreadable).or(inherited),
        };
        // Cannot fail: checked for room above.
        let _ = self.functions.push(f);
    }

    /// The range a bridge at index `i` claims, if it passes the checks
    /// against the bus `p` it sits on (not yet against its siblings).
    fn valid_claim(&self, p: Pending, i: usize) -> Result<Option<(u8, u8)>, Flaw> {
        let Some(b) = self.functions.get(i).and_then(|f| f.buses) else {
            return Ok(None);
        };
        if b.primary != p.bus {
            return Err(Flaw::ForeignPrimaryBus {
                bus: p.bus,
                primary: b.primary,
            });
        }
        let inside = p.bus < b.secondary
            && b.secondary <= b.subordinate
            && p.first <= b.secondary
            && b.subordinate <= p.last;
        if !inside {
            return Err(Flaw::BusRangeOutsideParent {
                secondary: b.secondary,
                subordinate: b.subordinate,
                first: p.first,
                last: p.last,
            });
        }
        Ok(Some((b.secondary, b.subordinate)))
    }

    /// Checks the claims of the bridges at `start..end` (all on bus `p`):
    /// a bad claim, and every claim overlapping a sibling's, flaws its
    /// bridge. A function keeps the first flaw it was given.
    fn settle_claims(&mut self, p: Pending, start: usize, end: usize) {
        for i in start..end {
            let flaw =
                match self.valid_claim(p, i) {
                    Err(flaw) => Some(flaw),
                    Ok(None) => None,
                    Ok(Some(mine)) => (start..end).filter(|&j| j != i).find_map(|j| {
                        match self.valid_claim(p, j) {
                            Ok(Some(theirs)) if overlap(mine, theirs) => {
                                let other = self.functions.get(j).map(|f| f.bdf)?;
                                Some(Flaw::BusClaimedTwice {
                                    bus: mine.0.max(theirs.0),
                                    other,
                                })
                            }
                            _ => None,
                        }
                    }),
                };
            if let (Some(flaw), Some(f)) = (flaw, self.functions.get_mut(i)) {
                f.flaw = f.flaw.or(Some(flaw));
            }
        }
    }

    /// The segment walked.
    pub fn seg(&self) -> u16 {
        self.seg
    }

    /// Every function found, in walk order.
    pub fn functions(&self) -> &[PciFunction] {
        &self.functions
    }

    /// The function at `bdf`, if the walk found one.
    pub fn get(&self, bdf: Bdf) -> Option<&PciFunction> {
        self.functions.iter().find(|f| f.bdf == bdf)
    }

    /// Every function recorded with a flaw (unassignable), in walk order.
    pub fn flawed(&self) -> impl Iterator<Item = &PciFunction> {
        self.functions.iter().filter(|f| f.flaw.is_some())
    }

    /// Functions the walk found but had no room for (app.toml `[capacity]
    /// functions`): they are unknown to the topology, so never assigned.
    pub fn beyond_capacity(&self) -> usize {
        self.beyond_capacity
    }

    /// Functions whose header could not be read (so not recorded).
    pub fn unreadable_headers(&self) -> usize {
        self.unreadable_headers
    }

    /// The function at `bdf` or an error naming it.
    pub fn require(&self, bdf: Bdf) -> Result<&PciFunction, PciError> {
        self.get(bdf).ok_or(PciError::NoDevice(bdf))
    }
}

/// A bridge's bus-number registers.
fn read_buses<A: ConfigAccess + ?Sized>(a: &A, bdf: Bdf) -> Result<BridgeBuses, PciError> {
    Ok(BridgeBuses {
        primary: at(bdf, a.read8(bdf, regs::PRIMARY_BUS))?,
        secondary: at(bdf, a.read8(bdf, regs::SECONDARY_BUS))?,
        subordinate: at(bdf, a.read8(bdf, regs::SUBORDINATE_BUS))?,
    })
}

/// Whether two inclusive bus ranges share a bus.
const fn overlap(a: (u8, u8), b: (u8, u8)) -> bool {
    a.0 <= b.1 && b.0 <= a.1
}
