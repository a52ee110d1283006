//! A quarantine pseudo-DID domid freed and handed to another device, on
//! QEMU's platform (one unit): endpoint 00:01.0 and endpoint-with-RMRR
//! 00:1f.2.
//!
//! The iommu keeps a device's quarantine tables after it leaves quarantine,
//! still naming the pseudo-DID they last used; the undo of a move out of
//! quarantine is `set_context(Quarantine { did })`, which the iommu resolves
//! by DID; tasks/iommu now forgets a pseudo-DID on idle tables once it is
//! given to another device.

use idl_types::{Bdf, Custody, DomainId, UnitId};
use sim::hardware::Owner;
use sim::machine::{with_machine, Op};
use sim::{fixtures, Fault, Platform};
use task_broker::Knobs;

const FIRST: Bdf = Bdf {
    bus: 0,
    device: 1,
    function: 0,
};
const SECOND: Bdf = Bdf {
    bus: 0,
    device: 0x1f,
    function: 2,
};
const UNIT: UnitId = UnitId(0);
const OP_SET_CONTEXT: u32 = task_iommu::iommu::Op::SetContext as u32;

#[test]
fn rollback_into_quarantine_after_pseudo_did_reuse_finds_the_devices_own_tables() {
    let p = fixtures::load(fixtures::QEMU)
        .and_then(Platform::matrix)
        .expect("matrix platform");
    let violations = with_machine(&p, Knobs::default(), |m| {
        // FIRST's quarantine tables keep naming the pseudo-DID it leaves.
        m.step(Op::Quarantine(FIRST), None);
        let pseudo = m.hw.entry(UNIT, FIRST).did;
        m.step(Op::Reassign(FIRST, DomainId(3)), None);
        m.step(Op::Quarantine(SECOND), None);
        assert_eq!(m.last, Some(Ok(())));
        assert_eq!(m.hw.entry(UNIT, SECOND).did, pseudo, "domid reuses it");
        // The broker dies right after switching SECOND out of quarantine;
        // its restarted self undoes the switch by that pseudo-DID.
        m.step(Op::Reassign(SECOND, DomainId(1)), None);
        let switch = m
            .ctl
            .borrow()
            .trace
            .iter()
            .position(|s| s.task == "iommu" && s.op == OP_SET_CONTEXT)
            .expect("switched");
        m.step(Op::Quarantine(SECOND), None);
        m.step(
            Op::Reassign(SECOND, DomainId(1)),
            Some(Fault::Message {
                task: "broker",
                message: switch,
                after: true,
            }),
        );
        assert_eq!(m.custody(SECOND), Some(Custody::Quarantined));
        assert_eq!(
            m.hw.owner(UNIT, &m.hw.entry(UNIT, SECOND)),
            Owner::Quarantine(SECOND),
            "undone onto its own tables"
        );
        m.out.violations.clone()
    })
    .expect("machine boots");
    assert!(violations.is_empty(), "{violations:#?}");
}
