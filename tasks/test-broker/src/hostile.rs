//! Scenarios of broker-tests that need the hostile parts of its machine
//! (feature `hostile`): a device whose RMRR lies over the kernel image, as
//! a lying firmware would declare it (app.toml `as-firmware`, which the
//! build lets through only in test images).

use idl_types::{Bdf, Custody, EntryOwner, UnitId};

use crate::rig::{domain, ensure, Rig};
use crate::Outcome;

type Scenario = test_harness::Scenario<Rig>;

/// The edu at 00:05.0, whose RMRR covers kernel text.
pub const EDU_HOSTILE_RMRR: Bdf = Bdf {
    bus: 0,
    device: 5,
    function: 0,
};

pub const ALL: &[Scenario] = &[(
    "rmrr_over_the_kernel_is_refused_and_the_device_stays_blocked",
    rmrr_over_the_kernel,
)];

/// app.toml gives the device dom_a at boot; the acpi task refuses its
/// RMRR (it covers the kernel), so the broker never assigns it: the books
/// hold it unassigned, the hardware has no context entry for it (all its
/// DMA is blocked), and an operator's assignment is refused too.
fn rmrr_over_the_kernel(rig: &mut Rig) -> Outcome {
    let dev = EDU_HOSTILE_RMRR;
    let mut start = 0;
    let custody = loop {
        let page = rig
            .broker
            .list_devices(start)
            .map_err(|_| "the broker did not list its devices")?;
        if let Some(e) = page.entries.iter().find(|e| e.device == dev) {
            break e.custody;
        }
        start = page.next.ok_or("the broker does not keep the device")?;
    };
    ensure(
        !matches!(custody, Custody::Domain(_)),
        "the device with an RMRR over the kernel was assigned to a domain",
    )?;
    let ctx = rig
        .iommu
        .get_context(UnitId(0), dev)
        .map_err(|_| "the iommu did not answer get_context")?;
    ensure(
        ctx.owner == EntryOwner::NotPresent,
        "the device has a context entry: its DMA is not blocked",
    )?;
    ensure(
        rig.broker.assign(dev, domain(0)).is_err(),
        "the broker assigned the device on request",
    )?;
    let ctx = rig
        .iommu
        .get_context(UnitId(0), dev)
        .map_err(|_| "the iommu did not answer get_context")?;
    ensure(
        ctx.owner == EntryOwner::NotPresent,
        "the refused assignment left a context entry",
    )
}
