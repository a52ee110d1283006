//! The DIDs the runner holds, as the context entries a real system would
//! have written for them: one entry per (unit, device) pointing at the
//! domain's DID. After domid restarts, these are what the broker would
//! read back from the iommu and rebuild domid with.

use core::fmt;

use heapless::Vec;
use idl_types::{Bdf, Did, DomainId, RebuildOwner, RebuildRecord, UnitId};

/// The most holdings kept (a scenario needs a handful).
pub const MAX_HOLDINGS: usize = 16;

/// One counted device: `device` of `domain` behind `unit`, tagged `did`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Holding {
    pub unit: UnitId,
    pub domain: DomainId,
    pub device: Bdf,
    pub did: Did,
}

/// Why a holding or a rebuild could not be written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HoldingsError {
    /// More than [`MAX_HOLDINGS`] devices held.
    Full,
    /// The rebuild buffer holds fewer bytes than the records need.
    BufferTooSmall { needed: usize, available: usize },
    /// A device address out of range (device > 31 or function > 7).
    BadDevice(Bdf),
}

impl fmt::Display for HoldingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HoldingsError::Full => write!(f, "more than {MAX_HOLDINGS} devices held"),
            HoldingsError::BufferTooSmall { needed, available } => {
                write!(
                    f,
                    "rebuild needs {needed} bytes, the buffer has {available}"
                )
            }
            HoldingsError::BadDevice(d) => write!(f, "device {d} is not a valid address"),
        }
    }
}

/// What the runner holds, in acquisition order.
#[derive(Clone, Debug, Default)]
pub struct Holdings {
    held: Vec<Holding, MAX_HOLDINGS>,
}

impl Holdings {
    pub const fn new() -> Self {
        Holdings { held: Vec::new() }
    }

    /// Notes a counted device (a device already noted is not noted twice).
    pub fn hold(&mut self, h: Holding) -> Result<(), HoldingsError> {
        let same = |x: &Holding| x.unit == h.unit && x.domain == h.domain && x.device == h.device;
        if self.held.iter().any(same) {
            return Ok(());
        }
        self.held.push(h).map_err(|_| HoldingsError::Full)
    }

    /// Forgets a released device.
    pub fn release(&mut self, unit: UnitId, domain: DomainId, device: Bdf) {
        self.held
            .retain(|x| !(x.unit == unit && x.domain == domain && x.device == device));
    }

    pub fn as_slice(&self) -> &[Holding] {
        &self.held
    }

    /// The rebuild: one [`RebuildRecord`] per holding, each in its 10-byte
    /// encoding, written to the start of `buf`.
    pub fn encode_rebuild<'b>(&self, buf: &'b mut [u8]) -> Result<&'b [u8], HoldingsError> {
        let needed = self.held.len() * RebuildRecord::ENCODED_LEN;
        let available = buf.len();
        let out = buf
            .get_mut(..needed)
            .ok_or(HoldingsError::BufferTooSmall { needed, available })?;
        for (h, chunk) in self
            .held
            .iter()
            .zip(out.chunks_exact_mut(RebuildRecord::ENCODED_LEN))
        {
            let record = RebuildRecord {
                unit: h.unit,
                rid: h.device,
                did: h.did,
                owner: RebuildOwner::Domain(h.domain),
                device: h.device,
            };
            let bytes = record.encode().ok_or(HoldingsError::BadDevice(h.device))?;
            chunk.copy_from_slice(&bytes);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EDU: Bdf = Bdf {
        bus: 0,
        device: 2,
        function: 0,
    };
    const BRIDGED: Bdf = Bdf {
        bus: 1,
        device: 1,
        function: 0,
    };

    fn holding(domain: u16, device: Bdf, did: u16) -> Holding {
        Holding {
            unit: UnitId(0),
            domain: DomainId(domain),
            device,
            did: Did(did),
        }
    }

    #[test]
    fn rebuild_has_one_decodable_record_per_held_device() {
        let mut h = Holdings::new();
        h.hold(holding(1, EDU, 3)).unwrap();
        h.hold(holding(2, BRIDGED, 4)).unwrap();
        let mut buf = [0u8; 64];
        let rebuild = h.encode_rebuild(&mut buf).unwrap();
        assert_eq!(rebuild.len(), 2 * RebuildRecord::ENCODED_LEN);
        let records: std::vec::Vec<RebuildRecord> = RebuildRecord::decode_all(rebuild)
            .map(Result::unwrap)
            .collect();
        assert_eq!(records[0].did, Did(3));
        assert_eq!(records[0].owner, RebuildOwner::Domain(DomainId(1)));
        assert_eq!(records[1].rid, BRIDGED);
        assert_eq!(records[1].device, BRIDGED);
    }

    #[test]
    fn holding_the_same_device_twice_is_one_record() {
        let mut h = Holdings::new();
        h.hold(holding(1, EDU, 3)).unwrap();
        h.hold(holding(1, EDU, 3)).unwrap();
        assert_eq!(h.as_slice().len(), 1);
    }

    #[test]
    fn a_released_device_leaves_the_rebuild() {
        let mut h = Holdings::new();
        h.hold(holding(1, EDU, 3)).unwrap();
        h.release(UnitId(0), DomainId(1), EDU);
        assert_eq!(h.encode_rebuild(&mut [0u8; 16]).unwrap(), &[] as &[u8]);
    }

    #[test]
    fn a_rebuild_larger_than_the_buffer_is_an_error() {
        let mut h = Holdings::new();
        h.hold(holding(1, EDU, 3)).unwrap();
        assert_eq!(
            h.encode_rebuild(&mut [0u8; 9]),
            Err(HoldingsError::BufferTooSmall {
                needed: 10,
                available: 9
            })
        );
    }

    #[test]
    fn more_holdings_than_room_is_an_error() {
        let mut h = Holdings::new();
        for i in 0..MAX_HOLDINGS as u16 {
            h.hold(holding(i, EDU, i)).unwrap();
        }
        assert_eq!(h.hold(holding(99, EDU, 99)), Err(HoldingsError::Full));
    }
}
