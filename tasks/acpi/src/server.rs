//! The `Acpi` server: units, the unit covering a device, a device's RMRRs
//! (firmware and configured), the raw table, and resolved unit scopes.

use core::fmt;

use acpi::dmar::{DeviceScope, Drhd, ScopeType};
use acpi::extra_rmrr::{validate_extra_rmrrs, ExtraRmrr, PciAddress};
use acpi::quirks::{MemRange as AcpiRange, Warning};
use acpi::resolve::{resolve_scope, rmrrs_for, unit_for, ConfigSpace, RequesterId, Resolved};
use acpi::Dmar;
use idl_runtime::abi::TaskId;
use idl_runtime::WriteLease;
use idl_types::{
    AcpiError, Bdf, MemRange, ResolvedScope, RmrrList, ScopeInfo, ScopeKind, UnitId, UnitInfo,
};

use crate::acpi as ipc;

/// The PCI segment served (custody's platforms have one).
const SEGMENT: u16 = 0;

/// Why a server could not be built.
#[derive(Clone, Copy, Debug)]
pub enum BuildError<'t> {
    /// The DMAR table is malformed.
    Table(acpi::AcpiError),
    /// A configured RMRR breaks a rule (the first warning found).
    ExtraRmrr(Warning<'t>),
}

impl fmt::Display for BuildError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::Table(e) => write!(f, "DMAR table: {e}"),
            BuildError::ExtraRmrr(w) => write!(f, "configured RMRR refused: {w}"),
        }
    }
}

/// Serves `Acpi` from a DMAR table borrowed for `'t`.
pub struct AcpiServer<'t, C> {
    dmar: Dmar<'t>,
    extras: &'t [ExtraRmrr<'t>],
    config: C,
    /// Memory no RMRR may cover (`crate::custody`).
    custody: &'t [crate::CustodyRange],
}

impl<'t, C: ConfigSpace> AcpiServer<'t, C> {
    /// Parses `table` (a DMAR, checksum and every structure checked) and
    /// checks the configured RMRRs against it and against `ram` (any
    /// warning is fatal: configuration is meant to be right).
    pub fn new(
        table: &'t [u8],
        extras: &'t [ExtraRmrr<'t>],
        ram: &[AcpiRange],
        config: C,
    ) -> Result<Self, BuildError<'t>> {
        let dmar = Dmar::parse(table).map_err(BuildError::Table)?;
        let mut first = None;
        validate_extra_rmrrs(extras, Some(&dmar), ram, &mut |w| {
            first.get_or_insert(w);
        });
        if let Some(w) = first {
            return Err(BuildError::ExtraRmrr(w));
        }
        Ok(AcpiServer {
            dmar,
            extras,
            config,
            custody: &[],
        })
    }

    /// Refuses, from now on, the devices whose RMRRs cover `custody` (the
    /// kernel, its frames, app.toml's regions): see `crate::custody`.
    pub fn with_custody_memory(self, custody: &'t [crate::CustodyRange]) -> Self {
        AcpiServer { custody, ..self }
    }

    fn drhd(&self, unit: UnitId) -> Result<Drhd<'t>, AcpiError> {
        self.dmar
            .drhds()
            .nth(usize::from(unit.0))
            .ok_or(AcpiError::NoSuchUnit(unit))
    }

    fn index_of(&self, drhd: &Drhd<'_>) -> Option<UnitId> {
        self.dmar
            .drhds()
            .position(|d| d.offset() == drhd.offset())
            .and_then(|i| u8::try_from(i).ok())
            .map(UnitId)
    }
}

fn requester_id(device: Bdf) -> Option<RequesterId> {
    device.requester_id().map(RequesterId)
}

fn wire(rid: RequesterId) -> Bdf {
    Bdf::from_requester_id(rid.0)
}

fn scope_kind(kind: ScopeType) -> ScopeKind {
    match kind {
        ScopeType::PciEndpoint => ScopeKind::PciEndpoint,
        ScopeType::PciSubHierarchy => ScopeKind::PciSubHierarchy,
        ScopeType::IoApic => ScopeKind::IoApic,
        ScopeType::Hpet => ScopeKind::Hpet,
        ScopeType::AcpiNamespace => ScopeKind::AcpiNamespace,
        ScopeType::Unknown(code) => ScopeKind::Unknown(code),
    }
}

fn resolved<C: ConfigSpace>(scope: &DeviceScope<'_>, config: &C) -> ResolvedScope {
    match resolve_scope(SEGMENT, scope, config) {
        Ok(Resolved::Device(rid)) => ResolvedScope::Device(wire(rid)),
        Ok(Resolved::Hierarchy {
            bridge,
            secondary,
            subordinate,
        }) => ResolvedScope::Hierarchy {
            bridge: wire(bridge),
            secondary,
            subordinate,
        },
        Err(_) => ResolvedScope::Unresolved,
    }
}

/// Whether a configured RMRR names `device`.
fn names(extra: &ExtraRmrr<'_>, device: Bdf) -> bool {
    let wanted = PciAddress {
        segment: SEGMENT,
        bus: device.bus,
        device: device.device,
        function: device.function,
    };
    extra.devices.contains(&wanted)
}

impl<C: ConfigSpace> ipc::Server for AcpiServer<'_, C> {
    fn unit_count(&mut self, _: TaskId, _: ipc::UnitCountArgs) -> u8 {
        u8::try_from(self.dmar.drhds().count()).unwrap_or(u8::MAX)
    }

    fn unit_info(&mut self, _: TaskId, a: ipc::UnitInfoArgs) -> Result<UnitInfo, AcpiError> {
        let d = self.drhd(a.unit)?;
        Ok(UnitInfo {
            unit: a.unit,
            segment: d.segment(),
            register_base: d.register_base(),
            include_all: d.include_pci_all(),
        })
    }

    fn unit_of(&mut self, _: TaskId, a: ipc::UnitOfArgs) -> Result<UnitId, AcpiError> {
        let rid = requester_id(a.device).ok_or(AcpiError::NotCovered(a.device))?;
        let drhd = unit_for(&self.dmar, SEGMENT, rid, &self.config)
            .ok_or(AcpiError::NotCovered(a.device))?;
        self.index_of(&drhd).ok_or(AcpiError::NotCovered(a.device))
    }

    fn rmrrs_of(&mut self, _: TaskId, a: ipc::RmrrsOfArgs) -> Result<RmrrList, AcpiError> {
        let mut list = RmrrList {
            device: a.device,
            ranges: heapless::Vec::new(),
        };
        let Some(rid) = requester_id(a.device) else {
            return Ok(list);
        };
        let firmware = rmrrs_for(&self.dmar, SEGMENT, rid, &self.config).map(|r| MemRange {
            base: r.base(),
            end: r.end(),
        });
        let configured = self
            .extras
            .iter()
            .filter(|e| names(e, a.device))
            .map(|e| MemRange {
                base: e.base,
                end: e.end,
            });
        let mut count = 0u16;
        for range in firmware.chain(configured) {
            crate::custody::admit(self.custody, a.device, range.base, range.end)?;
            count = count.saturating_add(1);
            // Past the capacity only the count goes on, for the error.
            let _ = list.ranges.push(range);
        }
        if usize::from(count) > list.ranges.capacity() {
            return Err(AcpiError::TooManyRmrrs {
                device: a.device,
                count,
            });
        }
        Ok(list)
    }

    fn read_dmar(
        &mut self,
        _: TaskId,
        a: ipc::ReadDmarArgs,
        out: WriteLease<'_>,
    ) -> Result<u32, AcpiError> {
        let bytes = self.dmar.sdt().bytes();
        let length = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
        let rest = usize::try_from(a.offset)
            .ok()
            .and_then(|o| bytes.get(o..))
            .ok_or(AcpiError::OffsetBeyondTable {
                offset: a.offset,
                length,
            })?;
        let n = rest.len().min(out.len());
        out.write(0, rest.get(..n).unwrap_or(&[]))
            .map_err(|_| AcpiError::LeaseFailed)?;
        Ok(length)
    }

    fn unit_scope(
        &mut self,
        _: TaskId,
        a: ipc::UnitScopeArgs,
    ) -> Result<Option<ScopeInfo>, AcpiError> {
        let d = self.drhd(a.unit)?;
        // A parsed table's scopes all read; one that does not is absent.
        let Some(Ok(scope)) = d.scopes().nth(usize::from(a.index)) else {
            return Ok(None);
        };
        Ok(Some(ScopeInfo {
            kind: scope_kind(scope.kind()),
            resolved: resolved(&scope, &self.config),
        }))
    }
}
