//! The scenarios, in order (each builds on the custody the previous left):
//! the initial assignments, DMA inside and outside a domain, a direct
//! reassignment of an endpoint and of a device with an RMRR behind a
//! PCIe-to-PCI bridge (moved when alone there, refused as Xen does when
//! another device shares the bridge: feature `shared-bridge`), and a
//! restart of the iommu task under running translation.

use defmt::{Debug2Format as Dbg, Display2Format as D};
use idl_types::{Bdf, BrokerEvent, ContextState, Custody, EntryOwner, TaskIndex, UnitId};

use crate::config;
use crate::rig::{domain, ensure, sleep_ms, Rig, BRIDGE, EDU0, EDU1, EDU_BRIDGED, SECBUS_ALIAS};
use crate::Outcome;

type Scenario = test_harness::Scenario<Rig>;

pub const ALL: [Scenario; 6] = [
    (
        "broker_assigns_initial_devices_at_boot",
        broker_assigns_initial_devices_at_boot,
    ),
    (
        "dma_lands_in_the_owner_domain_buffer",
        dma_lands_in_the_owner_domain_buffer,
    ),
    (
        "dma_outside_the_domain_is_blocked_and_reported",
        dma_outside_the_domain_is_blocked_and_reported,
    ),
    (
        "direct_reassign_moves_dma_to_the_new_owner",
        direct_reassign_moves_dma_to_the_new_owner,
    ),
    #[cfg(not(feature = "shared-bridge"))]
    (
        "an_rmrr_device_alone_behind_the_bridge_moves_with_its_aliases_beyond_xen",
        device_behind_bridge_reassigns_with_its_aliases,
    ),
    #[cfg(feature = "shared-bridge")]
    (
        "xen_refuses_to_move_an_rmrr_device_sharing_its_bridge",
        xen_refuses_to_move_an_rmrr_device_sharing_its_bridge,
    ),
    (
        "iommu_restart_keeps_translation_and_reports_the_truth",
        iommu_restart_keeps_translation_and_reports_the_truth,
    ),
];

/// The only unit of QEMU's DMAR.
const UNIT: UnitId = UnitId(0);
/// An IOVA neither domain maps (their memory sits at 0x100000).
const STRAY: u64 = 0x30_0000;
/// Requester IDs a device behind the pcie-pci-bridge uses.
const BRIDGED_RIDS: [Bdf; 3] = [EDU_BRIDGED, BRIDGE, SECBUS_ALIAS];
/// The domain the bridged edu (which has an RMRR) ends in: moved when it is
/// alone behind its bridge (beyond Xen), kept where it booted when
/// another edu sits behind the bridge too (Xen's refusal; the
/// `shared-bridge` image, apps/broker-qi-tests.toml).
const BRIDGED_DOMAIN: u16 = if cfg!(feature = "shared-bridge") {
    0
} else {
    1
};

/// What the broker's books say holds `dev`.
pub(crate) fn custody(rig: &mut Rig, dev: Bdf) -> Result<Custody, &'static str> {
    let mut start = 0;
    loop {
        let page = rig
            .broker
            .list_devices(start)
            .map_err(|_| "the broker did not list its devices")?;
        if let Some(e) = page.entries.iter().find(|e| e.device == dev) {
            return Ok(e.custody);
        }
        start = page.next.ok_or("the broker does not keep the device")?;
    }
}

/// Whose tables the hardware's context entry for `rid` points at.
fn hardware(rig: &mut Rig, rid: Bdf) -> Result<EntryOwner, &'static str> {
    let ctx = rig
        .iommu
        .get_context(UNIT, rid)
        .map_err(|_| "the iommu did not answer get_context")?;
    Ok(ctx.owner)
}

/// Books and hardware both say domain `index` holds `dev` (and every
/// requester ID in `rids`).
fn held_by(rig: &mut Rig, dev: Bdf, rids: &[Bdf], index: u16) -> Outcome {
    let want = domain(index);
    let books = custody(rig, dev)?;
    if books != Custody::Domain(want) {
        defmt::error!("{}: books say {}", D(&dev), Dbg(&books));
        return Err("the books do not give the device to the expected domain");
    }
    for &rid in rids {
        let owner = hardware(rig, rid)?;
        if owner != EntryOwner::Domain(want) {
            defmt::error!("{}: context entry owner {}", D(&rid), Dbg(&owner));
            return Err("a context entry does not point at the expected domain");
        }
    }
    Ok(())
}

/// Reassigns through the broker and checks the report's previous and
/// current entries.
pub(crate) fn reassign(rig: &mut Rig, dev: Bdf, from: u16, to: u16) -> Outcome {
    let report = rig.broker.reassign(dev, domain(to)).map_err(|e| {
        defmt::error!("reassign {}: {}", D(&dev), Dbg(&e));
        "the broker refused the reassignment"
    })?;
    defmt::info!("reassign {}: {}", D(&dev), Dbg(&report));
    ensure(
        matches!(report.previous, ContextState::Domain { domain: d, .. } if d == domain(from)),
        "the report's previous entry is not the source domain",
    )?;
    ensure(
        matches!(report.current, ContextState::Domain { domain: d, .. } if d == domain(to)),
        "the report's current entry is not the target domain",
    )
}

fn broker_assigns_initial_devices_at_boot(rig: &mut Rig) -> Outcome {
    held_by(rig, EDU0, &[EDU0], 0)?;
    held_by(rig, EDU1, &[EDU1], 1)?;
    held_by(rig, EDU_BRIDGED, &BRIDGED_RIDS, 0)
}

fn dma_lands_in_the_owner_domain_buffer(rig: &mut Rig) -> Outcome {
    rig.transfer(EDU0, [0x11, 0x22])?;
    rig.landed_in(0, [0x11, 0x22])?;
    rig.transfer(EDU1, [0x33, 0x44])?;
    rig.landed_in(1, [0x33, 0x44])
}

fn dma_outside_the_domain_is_blocked_and_reported(rig: &mut Rig) -> Outcome {
    rig.stray_write(EDU0, STRAY)?;
    // A write, refused by DMA translation (reasons below 0x20; interrupt
    // remapping's start there).
    let seen = rig.wait_event(|e| {
        matches!(*e, BrokerEvent::DmaFault { device, address, reason, direction }
            if device == EDU0 && address == STRAY && (1..0x20).contains(&reason)
                && direction == idl_types::DmaDirection::Write)
    });
    ensure(
        seen,
        "no DmaFault event names the device, the address, a write and a DMA fault reason",
    )
}

fn direct_reassign_moves_dma_to_the_new_owner(rig: &mut Rig) -> Outcome {
    reassign(rig, EDU0, 0, 1)?;
    held_by(rig, EDU0, &[EDU0], 1)?;
    rig.transfer(EDU0, [0x55, 0x66])?;
    rig.landed_in(1, [0x55, 0x66])
}

/// Alone behind the bridge, the bridged edu (which has an RMRR) moves with
/// both aliases: beyond Xen, as its own comment allows.
#[cfg(not(feature = "shared-bridge"))]
fn device_behind_bridge_reassigns_with_its_aliases(rig: &mut Rig) -> Outcome {
    rig.transfer(EDU_BRIDGED, [0x77, 0x88])?;
    rig.landed_in(0, [0x77, 0x88])?;
    reassign(rig, EDU_BRIDGED, 0, 1)?;
    held_by(rig, EDU_BRIDGED, &BRIDGED_RIDS, 1)?;
    rig.transfer(EDU_BRIDGED, [0x99, 0xaa])?;
    rig.landed_in(1, [0x99, 0xaa])
}

/// Another edu behind the bridge DMAs through the same aliases: Xen's fix
/// (Xen's EOPNOTSUPP) refuses to move a present device with an RMRR there,
/// and nothing changes.
#[cfg(feature = "shared-bridge")]
fn xen_refuses_to_move_an_rmrr_device_sharing_its_bridge(rig: &mut Rig) -> Outcome {
    let refused = rig.broker.reassign(EDU_BRIDGED, domain(1));
    defmt::info!("reassign {}: {}", D(&EDU_BRIDGED), Dbg(&refused));
    ensure(
        matches!(
            refused,
            Err(idl_runtime::ClientError::Op(
                idl_types::BrokerError::RmrrBehindSharedBridge { device, bridge }
            )) if device == EDU_BRIDGED && bridge == BRIDGE
        ),
        "the broker did not refuse with Xen's reason",
    )?;
    held_by(rig, EDU_BRIDGED, &BRIDGED_RIDS, 0)?;
    rig.transfer(EDU_BRIDGED, [0x99, 0xaa])?;
    rig.landed_in(0, [0x99, 0xaa])
}

fn iommu_restart_keeps_translation_and_reports_the_truth(rig: &mut Rig) -> Outcome {
    let iommu = config::slots::IOMMU.index() as u16;
    let mut supervisor = task_supervisor::supervisor::Client::new(
        idl_runtime::KernelTransport::new(&[]),
        config::slots::SUPERVISOR,
    );
    ensure(
        supervisor.fault_task(TaskIndex(iommu)).is_ok(),
        "the supervisor refused to fault the iommu",
    )?;
    // The supervisor restarts it and tells the broker, both above us.
    sleep_ms(50);
    // Every entry is still attributed: the ledger outlived the task.
    let mut after = None;
    let mut present = 0;
    loop {
        let page = rig
            .iommu
            .list_contexts(UNIT, after)
            .map_err(|_| "the restarted iommu did not list its contexts")?;
        for e in page.entries.iter() {
            if e.owner == EntryOwner::Unknown {
                defmt::error!("{}: DID {=u16} of unknown owner", D(&e.rid), e.did.0);
                return Err("the restarted iommu cannot attribute an entry");
            }
            present += 1;
        }
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    ensure(
        present == 5,
        "the restarted iommu lists another number of entries",
    )?;
    held_by(rig, EDU0, &[EDU0], 1)?;
    held_by(rig, EDU_BRIDGED, &BRIDGED_RIDS, BRIDGED_DOMAIN)?;
    // Translation never stopped...
    rig.transfer(EDU0, [0xbb, 0xcc])?;
    rig.landed_in(1, [0xbb, 0xcc])?;
    // ...and the new life can change it.
    reassign(rig, EDU0, 1, 0)?;
    rig.transfer(EDU0, [0xdd, 0xee])?;
    rig.landed_in(0, [0xdd, 0xee])
}
