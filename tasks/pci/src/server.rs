//! The `Pci` server: topology queries, owner-checked config writes and bus
//! mastering.

use heapless::Vec;
use idl_runtime::abi::TaskId;
use idl_runtime::WriteLease;
use idl_types::{AccessWidth, AliasOrder, Bdf, DeviceInfo, PciError, RequesterIdList, TaskIndex};
use pci::{ConfigAccess, Direction, Topology};

use crate::convert;
use crate::pci as ipc;

/// Functions one server knows (app.toml `[capacity] functions`).
pub const MAX_FUNCTIONS: usize = capacity::FUNCTIONS.value;
/// Tasks allowed to write any device, and tasks allowed to read any.
pub const MAX_PRIVILEGED: usize = 8;

// A device's requester IDs always fit the wire's list.
const _: () = assert!(idl_types::MAX_REQUESTER_IDS >= pci::MAX_REQUESTER_IDS);

/// Bytes copied per lease write in a dump.
const DUMP_CHUNK: usize = 64;

/// Serves `Pci` for one segment.
pub struct PciServer<C> {
    config: C,
    topology: Topology<MAX_FUNCTIONS>,
    owners: Vec<(pci::Bdf, TaskIndex), MAX_FUNCTIONS>,
    privileged: Vec<TaskIndex, MAX_PRIVILEGED>,
    readers: Vec<TaskIndex, MAX_PRIVILEGED>,
}

impl<C: ConfigAccess> PciServer<C> {
    /// Enumerates segment `seg` through `config` (never failing: what
    /// cannot be trusted is recorded as flawed, see [`pci::Flaw`]).
    /// `privileged` may write every device (the broker), `readers` read
    /// every device (operators, the acpi task); entries beyond
    /// [`MAX_PRIVILEGED`] are ignored.
    pub fn new(config: C, seg: u16, privileged: &[TaskIndex], readers: &[TaskIndex]) -> Self {
        let topology = Topology::enumerate(&config, seg);
        PciServer {
            config,
            topology,
            owners: Vec::new(),
            privileged: bounded(privileged),
            readers: bounded(readers),
        }
    }

    /// The enumerated topology.
    pub fn topology(&self) -> &Topology<MAX_FUNCTIONS> {
        &self.topology
    }

    /// The config space (tests look at what was written).
    pub fn config(&self) -> &C {
        &self.config
    }

    /// A function of the topology, or `NoDevice`.
    fn known(&self, device: Bdf) -> Result<pci::Bdf, PciError> {
        let b = convert::bdf(self.topology.seg(), device)?;
        self.topology
            .get(b)
            .map(|f| f.bdf)
            .ok_or(PciError::NoDevice(device))
    }

    fn owner_of(&self, b: pci::Bdf) -> Option<TaskIndex> {
        self.owners.iter().find(|(d, _)| *d == b).map(|(_, t)| *t)
    }

    /// Refuses a caller that neither owns `device` nor is privileged.
    fn may_write(&self, caller: TaskId, device: Bdf, b: pci::Bdf) -> Result<(), PciError> {
        let task = index(caller);
        if self.privileged.contains(&task) || self.owner_of(b) == Some(task) {
            Ok(())
        } else {
            Err(PciError::NotOwner(device))
        }
    }

    /// Refuses a caller that neither owns `device` nor reads every device
    /// (an operator, the acpi task).
    fn may_read(&self, caller: TaskId, device: Bdf, b: pci::Bdf) -> Result<(), PciError> {
        let task = index(caller);
        if self.readers.contains(&task) || self.owner_of(b) == Some(task) {
            Ok(())
        } else {
            Err(PciError::NotOwner(device))
        }
    }
}

impl<C: ConfigAccess> ipc::Server for PciServer<C> {
    fn config_read(&mut self, caller: TaskId, a: ipc::ConfigReadArgs) -> Result<u32, PciError> {
        let b = self.known(a.device)?;
        self.may_read(caller, a.device, b)?;
        let c = &self.config;
        let value = match a.width {
            AccessWidth::Byte => c.read8(b, a.offset).map(u32::from),
            AccessWidth::Word => c.read16(b, a.offset).map(u32::from),
            AccessWidth::Dword => c.read32(b, a.offset),
        };
        value.map_err(|e| convert::access(a.device, e))
    }

    fn config_write(&mut self, caller: TaskId, a: ipc::ConfigWriteArgs) -> Result<(), PciError> {
        let b = self.known(a.device)?;
        self.may_write(caller, a.device, b)?;
        let width = a.width.bytes() as u8;
        let too_wide = PciError::BadOffset {
            offset: a.offset,
            width,
        };
        // Whoever writes (the broker too), the registers that decide where
        // the device decodes, interrupts or forwards stay pci's.
        let kind = self.topology.require(b).map(|f| f.header.kind);
        let kind = kind.map_err(|e| convert::error(a.device, e))?;
        pci::check_owner_write(&self.config, b, kind, a.offset, width, a.value)
            .map_err(|e| convert::error(a.device, e))?;
        let c = &mut self.config;
        let done = match a.width {
            AccessWidth::Byte => {
                c.write8(b, a.offset, u8::try_from(a.value).map_err(|_| too_wide)?)
            }
            AccessWidth::Word => {
                c.write16(b, a.offset, u16::try_from(a.value).map_err(|_| too_wide)?)
            }
            AccessWidth::Dword => c.write32(b, a.offset, a.value),
        };
        done.map_err(|e| convert::access(a.device, e))
    }

    fn config_dump(
        &mut self,
        caller: TaskId,
        a: ipc::ConfigDumpArgs,
        out: WriteLease<'_>,
    ) -> Result<u16, PciError> {
        let b = self.known(a.device)?;
        self.may_read(caller, a.device, b)?;
        let limit = out.len();
        let mut chunk = [0u8; DUMP_CHUNK];
        let mut copied = 0usize;
        // Byte reads, so any offset and length work; the end of config
        // space ends the dump.
        while copied < limit {
            let n = (limit - copied).min(DUMP_CHUNK);
            let mut got = 0usize;
            for byte in chunk.iter_mut().take(n) {
                let offset = usize::from(a.offset) + copied + got;
                match u16::try_from(offset).map(|o| self.config.read8(b, o)) {
                    Ok(Ok(value)) => *byte = value,
                    _ => break,
                }
                got += 1;
            }
            out.write(copied, chunk.get(..got).unwrap_or(&[]))
                .map_err(|_| PciError::LeaseFailed)?;
            copied += got;
            if got < n {
                break;
            }
        }
        if copied == 0 && limit > 0 {
            return Err(PciError::BadOffset {
                offset: a.offset,
                width: 1,
            });
        }
        Ok(u16::try_from(copied).unwrap_or(u16::MAX))
    }

    fn enable_bus_master(
        &mut self,
        caller: TaskId,
        a: ipc::EnableBusMasterArgs,
    ) -> Result<bool, PciError> {
        let b = self.known(a.device)?;
        self.may_write(caller, a.device, b)?;
        let was = pci::is_bus_master(&self.config, b).map_err(|e| convert::error(a.device, e))?;
        pci::set_bus_master(&mut self.config, b, a.enable)
            .map_err(|e| convert::error(a.device, e))?;
        Ok(was)
    }

    fn device_info(&mut self, _: TaskId, a: ipc::DeviceInfoArgs) -> Result<DeviceInfo, PciError> {
        let b = self.known(a.device)?;
        let f = self
            .topology
            .require(b)
            .map_err(|e| convert::error(a.device, e))?;
        let upstream = self
            .topology
            .upstream_bridge(b)
            .map_err(|e| convert::error(a.device, e))?;
        Ok(DeviceInfo {
            device: a.device,
            vendor: f.header.vendor,
            device_id: f.header.device,
            kind: convert::kind(f.kind),
            upstream_bridge: upstream.map(|u| convert::wire(u.bridge)),
            secondary_bus: f.buses.map(|buses| buses.secondary),
            phantom_stride: f.pcie.and_then(|p| p.phantom_stride()).unwrap_or(0),
        })
    }

    fn next_device(&mut self, _: TaskId, a: ipc::NextDeviceArgs) -> Option<Bdf> {
        let functions = self.topology.functions();
        let next = match a.after {
            None => 0,
            Some(after) => {
                let b = convert::bdf(self.topology.seg(), after).ok()?;
                functions.iter().position(|f| f.bdf == b)? + 1
            }
        };
        functions.get(next).map(|f| convert::wire(f.bdf))
    }

    fn requester_ids(
        &mut self,
        _: TaskId,
        a: ipc::RequesterIdsArgs,
    ) -> Result<RequesterIdList, PciError> {
        let b = self.known(a.device)?;
        let direction = match a.order {
            AliasOrder::Assign => Direction::Assign,
            AliasOrder::Deassign => Direction::Deassign,
        };
        let rids = self
            .topology
            .requester_ids(b, direction)
            .map_err(|e| convert::error(a.device, e))?;
        let mut ids = heapless::Vec::new();
        for rid in rids {
            // Both lists hold pci::MAX_REQUESTER_IDS entries.
            let _ = ids.push(convert::wire(rid));
        }
        Ok(RequesterIdList {
            device: a.device,
            ids,
        })
    }

    fn program_msi(&mut self, _: TaskId, a: ipc::ProgramMsiArgs) -> Result<(), PciError> {
        let b = self.known(a.device)?;
        let mut msi = pci::require_msi(&self.config, b).map_err(|e| convert::error(a.device, e))?;
        msi.program(&mut self.config, b, pci::MsiMessage::remappable(a.handle))
            .map_err(|e| convert::error(a.device, e))
    }

    fn set_owner(
        &mut self,
        _: TaskId,
        a: ipc::SetOwnerArgs,
    ) -> Result<Option<TaskIndex>, PciError> {
        let b = self.known(a.device)?;
        let previous = self.owner_of(b);
        self.owners.retain(|(d, _)| *d != b);
        if let Some(owner) = a.owner {
            // One entry per known function, so there is room.
            let _ = self.owners.push((b, owner));
        }
        Ok(previous)
    }
}

/// The caller's task index (one beyond any task if it does not fit).
fn index(caller: TaskId) -> TaskIndex {
    TaskIndex(u16::try_from(caller.index()).unwrap_or(u16::MAX))
}

fn bounded(tasks: &[TaskIndex]) -> Vec<TaskIndex, MAX_PRIVILEGED> {
    tasks.iter().take(MAX_PRIVILEGED).copied().collect()
}
