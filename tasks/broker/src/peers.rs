//! The broker's peers: one generated client each, over any transport, and
//! the one shape their failures take.
//!
//! A failure is either a refusal (the peer answered with its own error: it
//! did nothing) or a death (`ServerDied`/`ServerRestarted`: it may or may
//! not have done the work, and it has restarted with fresh memory).

use core::fmt;

use idl_runtime::abi::TaskId;
use idl_runtime::{ClientError, Transport};
use idl_types::{AcpiError, DomidError, IommuError, NoError, PciError};

use crate::{acpi, domid, iommu, pci, supervisor};

/// Which peer.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Peer {
    /// The acpi task.
    Acpi,
    /// The domid task.
    Domid,
    /// The iommu task.
    Iommu,
    /// The pci task.
    Pci,
    /// The supervisor.
    Supervisor,
    /// The kernel (device registers).
    Kernel,
}

/// How a call failed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum FailureKind {
    /// The iommu refused.
    Iommu(IommuError),
    /// Domid refused.
    Domid(DomidError),
    /// Acpi refused.
    Acpi(AcpiError),
    /// Pci refused.
    Pci(PciError),
    /// The kernel refused a register request.
    Kernel(crate::registers::RegisterRefusal),
    /// The peer died during the call; it may have done the work.
    Died,
    /// The peer could not be reached or answered nonsense.
    Unreachable,
}

/// A failed call to a peer.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct PeerFailure {
    /// Who.
    pub peer: Peer,
    /// How.
    pub kind: FailureKind,
}

impl PeerFailure {
    /// Classifies a client error of `peer`.
    pub fn from_client<E: Into<FailureKind>>(peer: Peer, e: ClientError<E>) -> PeerFailure {
        let kind = match e {
            ClientError::Op(op) => op.into(),
            ClientError::ServerDied { .. } | ClientError::ServerRestarted { .. } => {
                FailureKind::Died
            }
            _ => FailureKind::Unreachable,
        };
        PeerFailure { peer, kind }
    }

    /// Whether the peer died (and so restarted with fresh memory).
    pub fn died(&self) -> bool {
        self.kind == FailureKind::Died
    }

    /// Whether the peer answered with its own error (it handled the
    /// message and refused it), rather than dying or not answering.
    pub fn is_refusal(&self) -> bool {
        !matches!(self.kind, FailureKind::Died | FailureKind::Unreachable)
    }
}

impl From<IommuError> for FailureKind {
    fn from(e: IommuError) -> Self {
        FailureKind::Iommu(e)
    }
}
impl From<DomidError> for FailureKind {
    fn from(e: DomidError) -> Self {
        FailureKind::Domid(e)
    }
}
impl From<AcpiError> for FailureKind {
    fn from(e: AcpiError) -> Self {
        FailureKind::Acpi(e)
    }
}
impl From<PciError> for FailureKind {
    fn from(e: PciError) -> Self {
        FailureKind::Pci(e)
    }
}
impl From<NoError> for FailureKind {
    fn from(e: NoError) -> Self {
        match e {}
    }
}

impl fmt::Display for PeerFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            FailureKind::Iommu(e) => write!(f, "iommu refused: {e}"),
            FailureKind::Domid(e) => write!(f, "domid refused: {e}"),
            FailureKind::Acpi(e) => write!(f, "acpi refused: {e}"),
            FailureKind::Pci(e) => write!(f, "pci refused: {e}"),
            FailureKind::Kernel(e) => write!(f, "the kernel refused: {e}"),
            FailureKind::Died => write!(f, "{:?} died during the call", self.peer),
            FailureKind::Unreachable => write!(f, "{:?} could not be reached", self.peer),
        }
    }
}

/// The clients of every peer, all over one kind of transport.
pub struct Peers<T: Transport + Clone> {
    /// Platform facts.
    pub acpi: acpi::Client<T>,
    /// DID allocation.
    pub domid: domid::Client<T>,
    /// Context entries and page tables.
    pub iommu: iommu::Client<T>,
    /// PCI topology.
    pub pci: pci::Client<T>,
    /// Deaths of tasks.
    pub supervisor: supervisor::Client<T>,
    /// Device registers (kernel IPC).
    pub kernel: crate::registers::Registers<T>,
}

/// The task IDs of the broker's peers.
#[derive(Copy, Clone, Debug)]
pub struct PeerIds {
    /// acpi.
    pub acpi: TaskId,
    /// domid.
    pub domid: TaskId,
    /// iommu.
    pub iommu: TaskId,
    /// pci.
    pub pci: TaskId,
    /// supervisor.
    pub supervisor: TaskId,
}

impl<T: Transport + Clone> Peers<T> {
    /// Clients of the peers at `ids`, each over a copy of `transport`.
    pub fn new(transport: T, ids: PeerIds) -> Peers<T> {
        Peers {
            acpi: acpi::Client::new(transport.clone(), ids.acpi),
            domid: domid::Client::new(transport.clone(), ids.domid),
            iommu: iommu::Client::new(transport.clone(), ids.iommu),
            pci: pci::Client::new(transport.clone(), ids.pci),
            supervisor: supervisor::Client::new(transport.clone(), ids.supervisor),
            kernel: crate::registers::Registers::new(transport),
        }
    }
}
