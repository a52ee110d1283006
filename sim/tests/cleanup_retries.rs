//! Cleanups after commit that fail are kept, counted and retried until
//! they succeed, never dropped: on QEMU's matrix platform, the endpoint with
//! an RMRR 00:1f.2 moves to domain 3 while the unit refuses the IOTLB flush
//! of the unmap that takes its RMRR out of its old domain.

use idl_types::{Bdf, Custody, DomainId, UnitId};
use sim::machine::{with_machine, Op};
use sim::{fixtures, Platform};
use task_broker::plan::Cleanup;
use task_broker::Knobs;

const RMRR_ENDPOINT: Bdf = Bdf {
    bus: 0,
    device: 0x1f,
    function: 2,
};
const ENDPOINT: Bdf = Bdf {
    bus: 0,
    device: 1,
    function: 0,
};
const D3: DomainId = DomainId(3);

#[test]
fn a_cleanup_that_fails_is_kept_counted_and_retried_until_it_succeeds() {
    let p = fixtures::load(fixtures::QEMU)
        .and_then(Platform::matrix)
        .expect("matrix platform");
    let violations = with_machine(&p, Knobs::default(), |m| {
        let Some(Custody::Domain(home)) = m.custody(RMRR_ENDPOINT) else {
            panic!("assigned at boot")
        };
        // The switch's own flush works; the cleanup's unmap flush is refused.
        m.hw.model(UnitId(0))
            .expect("unit 0")
            .reject_iotlb_invalidations_after(1, 1);
        m.step(Op::Reassign(RMRR_ENDPOINT, D3), None);
        assert_eq!(m.last, Some(Ok(())), "the move itself committed");
        let pending = m.broker_ref().pending_cleanups().to_vec();
        assert!(
            matches!(pending.as_slice(), [Cleanup::UnmapRange { domain, .. }] if *domain == home),
            "{pending:?}"
        );
        assert_eq!(m.broker_ref().stats().cleanup_failures, 1);
        // The next request retries it first; the owed flush goes through.
        m.step(Op::Reassign(ENDPOINT, D3), None);
        assert_eq!(m.last, Some(Ok(())));
        assert!(m.broker_ref().pending_cleanups().is_empty());
        m.out.violations.clone()
    })
    .expect("machine boots");
    assert!(violations.is_empty(), "{violations:#?}");
}
