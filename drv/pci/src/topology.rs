//! Enumeration of a segment and the facts the IOMMU needs from it.
//!
//! The walk starts at bus 0 and follows each bridge's *secondary bus number*
//! as firmware programmed it (this library never renumbers buses). Buses are
//! visited breadth first, each at most once, so a bridge pointing back at a
//! bus already seen (or at bus 0) is not followed: bad bus numbers cannot
//! make the walk loop. Functions 1..7 are scanned only when function 0's
//! header has the multi-function bit, as the specification requires.

use heapless::Vec;

use crate::access::ConfigAccess;
use crate::addr::{Bdf, DEVICES_PER_BUS, FUNCTIONS_PER_DEVICE};
use crate::devtype::{DeviceType, PcieInfo};
use crate::error::{at, PciError};
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
    /// Bus numbers, for a type 1 header.
    pub buses: Option<BridgeBuses>,
    /// The bridge through which the walk reached this function's bus
    /// (`None` on bus 0).
    pub parent: Option<Bdf>,
}

const BUSES: usize = 256;

/// The functions of one segment, at most `N`.
#[derive(Clone, Debug)]
pub struct Topology<const N: usize> {
    seg: u16,
    functions: Vec<PciFunction, N>,
}

impl<const N: usize> Topology<N> {
    /// Walk segment `seg` through `a`.
    pub fn enumerate<A: ConfigAccess + ?Sized>(a: &A, seg: u16) -> Result<Self, PciError> {
        let mut topo = Topology {
            seg,
            functions: Vec::new(),
        };
        let mut visited = [false; BUSES];
        let mut queue: Vec<(u8, Option<Bdf>), BUSES> = Vec::new();
        visited[0] = true;
        // Cannot fail: every bus is queued at most once (`visited`).
        let _ = queue.push((0, None));
        let mut next = 0;
        while let Some(&(bus, parent)) = queue.get(next) {
            next += 1;
            for dev in 0..DEVICES_PER_BUS {
                let f0 = Bdf::new(seg, bus, dev, 0)?;
                let Some(h0) = Header::read(a, f0)? else {
                    continue;
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
                        match Header::read(a, bdf)? {
                            Some(h) => h,
                            None => continue,
                        }
                    };
                    let f = topo.record(a, bdf, header, parent)?;
                    if let Some(b) = f.buses {
                        let sec = b.secondary as usize;
                        if let Some(seen @ false) = visited.get_mut(sec) {
                            *seen = true;
                            let _ = queue.push((b.secondary, Some(bdf)));
                        }
                    }
                }
            }
        }
        Ok(topo)
    }

    fn record<A: ConfigAccess + ?Sized>(
        &mut self,
        a: &A,
        bdf: Bdf,
        header: Header,
        parent: Option<Bdf>,
    ) -> Result<PciFunction, PciError> {
        let pcie = PcieInfo::read(a, bdf)?;
        let buses = if header.kind == HeaderKind::Bridge {
            Some(BridgeBuses {
                primary: at(bdf, a.read8(bdf, regs::PRIMARY_BUS))?,
                secondary: at(bdf, a.read8(bdf, regs::SECONDARY_BUS))?,
                subordinate: at(bdf, a.read8(bdf, regs::SUBORDINATE_BUS))?,
            })
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
        };
        self.functions
            .push(f)
            .map_err(|_| PciError::TopologyFull { capacity: N })?;
        Ok(f)
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

    /// The function at `bdf` or an error naming it.
    pub fn require(&self, bdf: Bdf) -> Result<&PciFunction, PciError> {
        self.get(bdf).ok_or(PciError::NoDevice(bdf))
    }
}
