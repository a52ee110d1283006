//! The `Kitchen` test server: each operation computes something checkable
//! from every argument, so a round trip proves each value arrived intact.

use idl_runtime::abi::TaskId;
use idl_runtime::{ReadLease, WriteLease};
use idl_tests::kitchen::*;
use idl_types::*;

#[derive(Default)]
pub struct Kitchen {
    pub counter: u64,
    pub nothings: u32,
    pub notified: u32,
}

impl Server for Kitchen {
    fn integers(&mut self, _caller: TaskId, a: IntegersArgs) -> [i64; 2] {
        let unsigned = (a.a as i64)
            .wrapping_add(a.b as i64)
            .wrapping_add(a.c as i64)
            .wrapping_add(a.d as i64);
        let signed = (a.e as i64)
            .wrapping_add(a.f as i64)
            .wrapping_add(a.g as i64)
            .wrapping_add(a.h);
        [signed, unsigned]
    }

    fn flags(&mut self, _caller: TaskId, a: FlagsArgs) -> Option<u32> {
        if a.on {
            a.nested.flatten().map(u32::from)
        } else {
            a.maybe.map(u32::from)
        }
    }

    fn arrays(&mut self, _caller: TaskId, a: ArraysArgs) -> [u8; 32] {
        let mut out = a.bytes;
        out.reverse();
        out[0] = a
            .words
            .iter()
            .flatten()
            .fold(0u16, |s, w| s.wrapping_add(*w)) as u8;
        out[1] = a.ids.iter().flatten().count() as u8;
        out
    }

    fn named(&mut self, _caller: TaskId, a: NamedArgs) -> Result<ContextChange, IommuError> {
        if !a.mode.is_valid() {
            return Err(IommuError::BadMode(a.mode.0));
        }
        if a.device.requester_id().is_none() {
            return Err(IommuError::NoUnitFor(a.device));
        }
        Ok(ContextChange {
            previous: a.state,
            atomic: a.mode.contains(ReassignMode::WITH_RMRR),
        })
    }

    fn fallible(&mut self, _caller: TaskId, a: FallibleArgs) -> Result<u64, IommuError> {
        if a.fail {
            Err(IommuError::Overlap { iova: a.value })
        } else {
            Ok(a.value.wrapping_add(1))
        }
    }

    fn nothing(&mut self, _caller: TaskId, _args: NothingArgs) {
        self.nothings += 1;
    }

    fn checksum(&mut self, _caller: TaskId, _args: ChecksumArgs, data: ReadLease<'_>) -> u32 {
        let mut buf = [0u8; 64];
        let Some(window) = buf.get_mut(..data.len()) else {
            return u32::MAX;
        };
        match data.read(0, window) {
            Ok(()) => window.iter().map(|b| u32::from(*b)).sum(),
            Err(_) => u32::MAX,
        }
    }

    fn fill(
        &mut self,
        _caller: TaskId,
        a: FillArgs,
        out: WriteLease<'_>,
        more: ReadLease<'_>,
    ) -> Result<u16, PciError> {
        let mut extra = [0u8; 8];
        let extra = extra.get_mut(..more.len()).ok_or(PciError::BadOffset {
            offset: 0,
            width: 8,
        })?;
        more.read(0, extra).map_err(|_| PciError::BadOffset {
            offset: 0,
            width: 8,
        })?;
        let mut bytes = [a.byte; 16];
        let end = (out.len() / 2).min(extra.len());
        bytes[..end].copy_from_slice(&extra[..end]);
        out.write(0, &bytes[..out.len()])
            .map_err(|_| PciError::BadOffset {
                offset: out.len() as u16,
                width: 1,
            })?;
        Ok(out.len() as u16)
    }

    fn list(&mut self, _caller: TaskId, a: ListArgs) -> FaultBatch {
        let mut records = heapless::Vec::new();
        for i in 0..a.count.min(FAULTS_PER_BATCH as u8) {
            let _ = records.push(FaultRecord {
                unit: UnitId(i),
                source: Bdf::from_requester_id(u16::from(i) * 9),
                address: u64::from(i) << 12,
                reason: i,
                direction: if i % 2 == 0 {
                    DmaDirection::Read
                } else {
                    DmaDirection::Write
                },
            });
        }
        FaultBatch {
            pending: u32::from(a.count.saturating_sub(FAULTS_PER_BATCH as u8)),
            records,
            lost: 0,
        }
    }

    fn add(&mut self, _caller: TaskId, a: AddArgs) -> u64 {
        self.counter = self.counter.wrapping_add(u64::from(a.amount));
        self.counter
    }

    fn subtract(&mut self, _caller: TaskId, a: SubtractArgs) -> u64 {
        self.counter = self.counter.wrapping_sub(u64::from(a.amount));
        self.counter
    }

    fn notification_mask(&self) -> u32 {
        0b101
    }

    fn notified(&mut self, bits: u32) {
        self.notified |= bits;
    }
}
