//! The forward steps of a move, one type each: the message to send, the
//! undo to journal before sending it, and the exact undo once it replied.
//!
//! The undo before sending is computed from the arguments and what the
//! broker already knows (a context entry's current state); after the reply
//! it is the generated `Compensation::for_*` of the call, which is the truth
//! if the two differ.

use idl_runtime::Transport;
use idl_types::{
    Bdf, ContextChange, ContextState, Did, DidGrant, DomainId, InterruptChange, InterruptRoute,
    ReassignMode, RmrrList, TaskIndex, UnitId,
};

use crate::peers::{Peer, PeerFailure, Peers};
use crate::registers::RegisterUndo;
use crate::undo::Undo;
use crate::{domid, iommu};

/// One forward step of a transaction.
pub trait Step<T: Transport + Clone> {
    /// What the step replies.
    type Reply;
    /// The undo journaled before the message is sent.
    fn intent(&self) -> Undo;
    /// Sends the message.
    fn send(&self, peers: &mut Peers<T>) -> Result<Self::Reply, PeerFailure>;
    /// The exact undo, from the reply.
    fn undo(&self, reply: &Self::Reply) -> Undo;
    /// Whether the peer, when it refuses this message with its own error,
    /// is known to have changed nothing (then no undo is owed for it). The
    /// default assumes it may have: the undo journaled before sending
    /// runs, which must then be harmless whatever the step did.
    fn refusal_changes_nothing(&self) -> bool {
        false
    }
}

/// A grant as the journal's intent assumes it (the undo does not use it).
const ANY_GRANT: DidGrant = DidGrant {
    did: Did(0),
    fresh: false,
    counted: true,
};

/// Step 1: the device counted under (unit, domain) and the domain's DID
/// there, undone by uncounting it. A replay that counted nothing owes no
/// undo (it would drop a count the transaction did not take).
#[derive(Copy, Clone, Debug)]
pub struct AcquireDid {
    /// The unit.
    pub unit: UnitId,
    /// The target domain.
    pub domain: DomainId,
    /// The device moving.
    pub device: Bdf,
}

impl AcquireDid {
    fn args(&self) -> domid::AcquireArgs {
        domid::AcquireArgs {
            unit: self.unit,
            domain: self.domain,
            device: self.device,
        }
    }
}

impl<T: Transport + Clone> Step<T> for AcquireDid {
    type Reply = DidGrant;
    fn intent(&self) -> Undo {
        Undo::Domid(domid::Compensation::for_acquire(&self.args(), &ANY_GRANT))
    }
    fn send(&self, peers: &mut Peers<T>) -> Result<DidGrant, PeerFailure> {
        peers
            .domid
            .acquire(self.unit, self.domain, self.device)
            .map_err(|e| PeerFailure::from_client(Peer::Domid, e))
    }
    fn undo(&self, reply: &DidGrant) -> Undo {
        if reply.counted {
            Undo::Domid(domid::Compensation::for_acquire(&self.args(), reply))
        } else {
            Undo::Nothing
        }
    }
    fn refusal_changes_nothing(&self) -> bool {
        // domid counts the device only when it answers with a grant.
        true
    }
}

/// A quarantine pseudo-DID for one device, undone by releasing it.
#[derive(Copy, Clone, Debug)]
pub struct AcquireQuarantineDid {
    /// The unit.
    pub unit: UnitId,
    /// The device.
    pub device: Bdf,
}

impl AcquireQuarantineDid {
    fn args(&self) -> domid::AcquireQuarantineArgs {
        domid::AcquireQuarantineArgs {
            unit: self.unit,
            device: self.device,
        }
    }
}

impl<T: Transport + Clone> Step<T> for AcquireQuarantineDid {
    type Reply = DidGrant;
    fn intent(&self) -> Undo {
        Undo::Domid(domid::Compensation::for_acquire_quarantine(
            &self.args(),
            &ANY_GRANT,
        ))
    }
    fn send(&self, peers: &mut Peers<T>) -> Result<DidGrant, PeerFailure> {
        peers
            .domid
            .acquire_quarantine(self.unit, self.device)
            .map_err(|e| PeerFailure::from_client(Peer::Domid, e))
    }
    fn undo(&self, reply: &DidGrant) -> Undo {
        if reply.counted {
            Undo::Domid(domid::Compensation::for_acquire_quarantine(
                &self.args(),
                reply,
            ))
        } else {
            Undo::Nothing
        }
    }
    fn refusal_changes_nothing(&self) -> bool {
        // domid hands out the pseudo-DID only when it answers with a grant.
        true
    }
}

/// Step 2: RMRR pages identity-mapped into the target before the switch
/// (CVE-2022-26358), undone by unmapping what the call added.
#[derive(Copy, Clone, Debug)]
pub struct MapRmrr {
    /// The target domain.
    pub domain: DomainId,
    /// The pages (identity: I/O address = physical address).
    pub pages: idl_types::PageRange,
}

impl MapRmrr {
    fn args(&self) -> iommu::MapRangeArgs {
        iommu::MapRangeArgs {
            domain: self.domain,
            iova: self.pages.iova,
            phys: self.pages.iova,
            pages: self.pages.pages,
            access: idl_types::Access::ReadWrite,
        }
    }
}

impl<T: Transport + Clone> Step<T> for MapRmrr {
    type Reply = idl_types::PageRange;
    fn intent(&self) -> Undo {
        let args = self.args();
        let whole = idl_types::PageRange {
            iova: args.iova,
            pages: args.pages,
        };
        Undo::Iommu(iommu::Compensation::for_map_range(&args, &whole))
    }
    fn send(&self, peers: &mut Peers<T>) -> Result<idl_types::PageRange, PeerFailure> {
        let a = self.args();
        peers
            .iommu
            .map_range(a.domain, a.iova, a.phys, a.pages, a.access)
            .map_err(|e| PeerFailure::from_client(Peer::Iommu, e))
    }
    fn undo(&self, reply: &idl_types::PageRange) -> Undo {
        Undo::Iommu(iommu::Compensation::for_map_range(&self.args(), reply))
    }
    fn refusal_changes_nothing(&self) -> bool {
        // `map_range` adds all of the range or nothing: a refusal leaves the
        // domain's tables as they were (an overlap with its own mapping
        // included, which the journaled "unmap the range" would destroy).
        true
    }
}

/// Step 3: one requester ID's context entry replaced in place, undone by
/// setting it back to what it was.
#[derive(Copy, Clone, Debug)]
pub struct SwitchContext {
    /// The unit.
    pub unit: UnitId,
    /// The requester ID.
    pub rid: Bdf,
    /// What the entry holds now (from the books or the hardware).
    pub from: ContextState,
    /// What it should hold.
    pub to: ContextState,
    /// Xen's mode flags.
    pub mode: ReassignMode,
}

/// The mode of the undo of a context change: only WITH_RMRR, as Xen's fix
/// maps a device back to its previous owner with `mode & MAP_WITH_RMRR`.
/// OWNER_DYING and SINGLE_DEVICE describe the owner the entry was taken
/// from, and the undo gives it back to that owner: from the new one, who
/// is neither dying nor known to be alone, a best-effort write is warned
/// about.
pub fn rollback_mode(mode: ReassignMode) -> ReassignMode {
    ReassignMode(mode.0 & ReassignMode::WITH_RMRR.0)
}

impl SwitchContext {
    fn args(&self) -> iommu::SetContextArgs {
        iommu::SetContextArgs {
            unit: self.unit,
            rid: self.rid,
            entry: self.to,
            mode: self.mode,
        }
    }

    /// The arguments the undo is derived from (its mode Xen's).
    fn undo_args(&self) -> iommu::SetContextArgs {
        iommu::SetContextArgs {
            mode: rollback_mode(self.mode),
            ..self.args()
        }
    }
}

impl<T: Transport + Clone> Step<T> for SwitchContext {
    type Reply = ContextChange;
    fn intent(&self) -> Undo {
        let expected = ContextChange {
            previous: self.from,
            atomic: true,
        };
        Undo::Iommu(iommu::Compensation::for_set_context(
            &self.undo_args(),
            &expected,
        ))
    }
    fn send(&self, peers: &mut Peers<T>) -> Result<ContextChange, PeerFailure> {
        peers
            .iommu
            .set_context(self.unit, self.rid, self.to, self.mode)
            .map_err(|e| PeerFailure::from_client(Peer::Iommu, e))
    }
    fn undo(&self, reply: &ContextChange) -> Undo {
        Undo::Iommu(iommu::Compensation::for_set_context(
            &self.undo_args(),
            reply,
        ))
    }
}

/// One requester ID moved onto its device's quarantine tables, undone by
/// setting it back.
#[derive(Clone, Debug)]
pub struct QuarantineRid {
    /// The unit.
    pub unit: UnitId,
    /// The requester ID.
    pub rid: Bdf,
    /// The device's pseudo-DID.
    pub did: Did,
    /// What the entry holds now.
    pub from: ContextState,
    /// Xen's mode flags.
    pub mode: ReassignMode,
    /// The device's RMRRs, kept mapped in its quarantine tables.
    pub rmrrs: RmrrList,
}

impl QuarantineRid {
    fn args(&self) -> iommu::QuarantineDeviceArgs {
        iommu::QuarantineDeviceArgs {
            unit: self.unit,
            rid: self.rid,
            did: self.did,
            mode: self.mode,
            rmrrs: self.rmrrs.clone(),
        }
    }

    /// The arguments the undo is derived from (its mode Xen's).
    fn undo_args(&self) -> iommu::QuarantineDeviceArgs {
        iommu::QuarantineDeviceArgs {
            mode: rollback_mode(self.mode),
            ..self.args()
        }
    }
}

impl<T: Transport + Clone> Step<T> for QuarantineRid {
    type Reply = ContextChange;
    fn intent(&self) -> Undo {
        let expected = ContextChange {
            previous: self.from,
            atomic: true,
        };
        Undo::Iommu(iommu::Compensation::for_quarantine_device(
            &self.undo_args(),
            &expected,
        ))
    }
    fn send(&self, peers: &mut Peers<T>) -> Result<ContextChange, PeerFailure> {
        peers
            .iommu
            .quarantine_device(self.unit, self.rid, self.did, self.mode, self.rmrrs.clone())
            .map_err(|e| PeerFailure::from_client(Peer::Iommu, e))
    }
    fn undo(&self, reply: &ContextChange) -> Undo {
        Undo::Iommu(iommu::Compensation::for_quarantine_device(
            &self.undo_args(),
            reply,
        ))
    }
}

/// Step 4: the device's interrupt-remapping entry pointed at the target's
/// vector (or blocked), undone by setting it back to what it held.
#[derive(Copy, Clone, Debug)]
pub struct SetIrte {
    /// The unit.
    pub unit: UnitId,
    /// The entry (the device's handle).
    pub handle: u16,
    /// What it holds now.
    pub from: InterruptRoute,
    /// What it should hold.
    pub to: InterruptRoute,
}

impl SetIrte {
    fn args(&self) -> iommu::SetIrteArgs {
        iommu::SetIrteArgs {
            unit: self.unit,
            handle: self.handle,
            route: self.to,
        }
    }
}

impl<T: Transport + Clone> Step<T> for SetIrte {
    type Reply = InterruptChange;
    fn intent(&self) -> Undo {
        let expected = InterruptChange {
            previous: self.from,
            atomic: true,
        };
        Undo::Iommu(iommu::Compensation::for_set_irte(&self.args(), &expected))
    }
    fn send(&self, peers: &mut Peers<T>) -> Result<InterruptChange, PeerFailure> {
        peers
            .iommu
            .set_irte(self.unit, self.handle, self.to)
            .map_err(|e| PeerFailure::from_client(Peer::Iommu, e))
    }
    fn undo(&self, reply: &InterruptChange) -> Undo {
        Undo::Iommu(iommu::Compensation::for_set_irte(&self.args(), reply))
    }
}

/// Step 5: the source owner's mapping of the device's registers removed
/// (its TLB flushed before the kernel answers), undone by granting them
/// back.
#[derive(Copy, Clone, Debug)]
pub struct RevokeRegisters {
    /// The kernel's device index.
    pub index: u16,
    /// Who holds them now.
    pub from: TaskIndex,
}

impl<T: Transport + Clone> Step<T> for RevokeRegisters {
    type Reply = ();
    fn intent(&self) -> Undo {
        Undo::Kernel(RegisterUndo::Grant {
            index: self.index,
            task: self.from,
        })
    }
    fn send(&self, peers: &mut Peers<T>) -> Result<(), PeerFailure> {
        peers.kernel.revoke(self.index)
    }
    fn undo(&self, _: &()) -> Undo {
        <Self as Step<T>>::intent(self)
    }
}

/// Step 6: the device's registers mapped into the target owner, undone by
/// revoking them. A refusal (another task holds them) changed nothing.
#[derive(Copy, Clone, Debug)]
pub struct GrantRegisters {
    /// The kernel's device index.
    pub index: u16,
    /// The target domain's owner.
    pub to: TaskIndex,
}

impl<T: Transport + Clone> Step<T> for GrantRegisters {
    type Reply = ();
    fn intent(&self) -> Undo {
        Undo::Kernel(RegisterUndo::Revoke { index: self.index })
    }
    fn send(&self, peers: &mut Peers<T>) -> Result<(), PeerFailure> {
        peers.kernel.grant(self.index, self.to)
    }
    fn undo(&self, _: &()) -> Undo {
        <Self as Step<T>>::intent(self)
    }
    fn refusal_changes_nothing(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use idl_runtime::InProcessClient;
    use idl_types::{ContextChange, ContextState, Did, DomainId, RmrrList};

    use super::*;

    type T = InProcessClient<'static, 'static, 1>;

    fn undo_mode(undo: Undo) -> ReassignMode {
        match undo {
            Undo::Iommu(
                iommu::Compensation::SetContext(args) | iommu::Compensation::QuarantineDevice(args),
            ) => args.mode,
            other => panic!("not a context undo: {other:?}"),
        }
    }

    #[test]
    fn a_context_undo_keeps_only_with_rmrr_of_the_forward_mode_as_xen() {
        let all = ReassignMode::ALL;
        let from = ContextState::Domain {
            domain: DomainId(1),
            did: Did(1),
        };
        let switch = SwitchContext {
            unit: UnitId(0),
            rid: Bdf::from_requester_id(0x10),
            from,
            to: ContextState::NotPresent,
            mode: all,
        };
        let reply = ContextChange {
            previous: from,
            atomic: true,
        };
        let quarantine = QuarantineRid {
            unit: UnitId(0),
            rid: switch.rid,
            did: Did(0x8000),
            from,
            mode: all,
            rmrrs: RmrrList {
                device: switch.rid,
                ranges: heapless::Vec::new(),
            },
        };
        for undo in [
            Step::<T>::intent(&switch),
            Step::<T>::undo(&switch, &reply),
            Step::<T>::intent(&quarantine),
            Step::<T>::undo(&quarantine, &reply),
        ] {
            assert_eq!(undo_mode(undo), ReassignMode::WITH_RMRR);
        }
    }
}
