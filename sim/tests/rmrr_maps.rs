//! RMRR maps: a rollback undoes only what its map did, and an RMRR that
//! overlaps another device's in part is shared for the overlap. On QEMU's
//! matrix platform: the endpoint with an RMRR 00:1f.2 and the conventional
//! device with an RMRR alone behind its bridge 03:01.0 (their RMRRs moved
//! where the tests need them), and the plain endpoint 00:01.0.

use idl_types::{Access, Bdf, BrokerError, Custody, DomainId, MemRange, UnitId};
use sim::machine::{with_machine, Op, PROBE_IOVA};
use sim::platform::FirmwareRmrr;
use sim::{fixtures, Platform};
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
const UNIT: UnitId = UnitId(0);

const LONE_LEGACY_RMRR: Bdf = Bdf {
    bus: 3,
    device: 1,
    function: 0,
};

/// The matrix platform with the configured RMRRs of `devices` replaced.
fn platform_with_rmrrs(devices: &[(Bdf, MemRange)]) -> Platform {
    let mut p = fixtures::load(fixtures::QEMU)
        .and_then(Platform::matrix)
        .expect("matrix platform");
    for &(bdf, range) in devices {
        let extra = p
            .extras
            .iter_mut()
            .find(|e| {
                e.devices
                    .iter()
                    .any(|d| (d.bus, d.device, d.function) == (bdf.bus, bdf.device, bdf.function))
            })
            .expect("the device has a configured RMRR");
        extra.range = range;
        let device = p
            .devices
            .iter_mut()
            .find(|d| d.bdf == bdf)
            .expect("the device is movable");
        device.rmrrs = vec![range];
    }
    p
}

/// The matrix platform with 00:1f.2's RMRR at `base` (one page).
fn platform_with_rmrr_at(base: u64) -> Platform {
    platform_with_rmrrs(&[(
        RMRR_ENDPOINT,
        MemRange {
            base,
            end: base + 0xfff,
        },
    )])
}

#[test]
fn an_rmrr_over_a_domains_memory_is_refused_and_its_devices_keep_their_dma() {
    // The reproduction of the finding: an RMRR at the page every domain
    // maps for its devices (the probe page).
    let p = platform_with_rmrr_at(PROBE_IOVA);
    let violations = with_machine(&p, Knobs::default(), |m| {
        // Its first assignment (at boot) was refused the same way.
        assert_eq!(m.custody(RMRR_ENDPOINT), Some(Custody::Unassigned));
        m.step(Op::Reassign(ENDPOINT, D3), None);
        assert_eq!(m.last, Some(Ok(())));
        m.step(Op::Reassign(RMRR_ENDPOINT, D3), None);
        assert_eq!(
            m.last,
            Some(Err(BrokerError::RmrrOverlapsDomainMemory {
                device: RMRR_ENDPOINT,
                domain: D3,
                iova: PROBE_IOVA,
            }))
        );
        // Every invariant ran: 00:01.0 in domain 3 still reaches its page.
        m.out.violations.clone()
    })
    .expect("machine boots");
    assert!(violations.is_empty(), "{violations:#?}");
}

#[test]
fn a_refused_rmrr_map_owes_no_undo_and_the_domains_own_mapping_stays() {
    const RMRR_PAGE: u64 = 0x0f_0010_0000;
    const ELSEWHERE: u64 = 0x5000_0000;
    let p = platform_with_rmrr_at(RMRR_PAGE);
    let violations = with_machine(&p, Knobs::default(), |m| {
        // Domain 3 maps that page somewhere else, unknown to the broker.
        let client = m.system.client("broker").expect("client");
        let id = m.system.task_id("iommu").expect("iommu");
        let mut iommu = task_iommu::iommu::Client::new(client, id);
        iommu
            .map_range(D3, RMRR_PAGE, ELSEWHERE, 1, Access::ReadWrite)
            .expect("mapped");
        m.step(Op::Reassign(RMRR_ENDPOINT, D3), None);
        assert!(
            matches!(m.last, Some(Err(BrokerError::RolledBack { .. }))),
            "{:?}",
            m.last
        );
        // The refused map changed nothing, so nothing was unmapped.
        let root = m.hw.domain_root(UNIT, D3).expect("domain 3 has tables");
        assert_eq!(m.hw.walk(UNIT, root, RMRR_PAGE), Some(ELSEWHERE));
        m.out.violations.clone()
    })
    .expect("machine boots");
    assert!(violations.is_empty(), "{violations:#?}");
}

#[test]
fn an_rmrr_partly_overlapping_a_neighbours_is_shared_for_the_overlap() {
    const X: u64 = 0x0f_0020_0000;
    // Firmware RMRRs (the table may overlap them; app.toml's may not).
    let rmrr = |base: u64, path: Vec<(u8, u8)>| FirmwareRmrr {
        base,
        end: base + 0x1fff,
        path,
    };
    let p = fixtures::load(fixtures::QEMU)
        .and_then(|dmar| {
            Platform::matrix_with(
                dmar,
                &[
                    rmrr(X, vec![(0x1f, 2)]),
                    rmrr(X + 0x1000, vec![(5, 0), (1, 0)]),
                ],
            )
        })
        .expect("matrix platform");
    let violations = with_machine(&p, Knobs::default(), |m| {
        let Some(Custody::Domain(home)) = m.custody(RMRR_ENDPOINT) else {
            panic!("assigned at boot")
        };
        // Both into domain 3: the second maps only the page the first did
        // not (a map over the shared page would be refused).
        for device in [RMRR_ENDPOINT, LONE_LEGACY_RMRR] {
            m.step(Op::Reassign(device, D3), None);
            assert_eq!(m.last, Some(Ok(())), "{device}");
        }
        let root = m.hw.domain_root(UNIT, D3).expect("tables");
        for page in [X, X + 0x1000, X + 0x2000] {
            assert_eq!(m.hw.walk(UNIT, root, page), Some(page), "{page:#x}");
        }
        // One leaves: its own page goes, the shared one stays (the
        // invariants check 03:01.0's RMRR through its IDs after every step).
        m.step(Op::Reassign(RMRR_ENDPOINT, home), None);
        assert_eq!(m.last, Some(Ok(())));
        assert_eq!(m.hw.walk(UNIT, root, X), None);
        assert_eq!(m.hw.walk(UNIT, root, X + 0x1000), Some(X + 0x1000));
        m.out.violations.clone()
    })
    .expect("machine boots");
    assert!(violations.is_empty(), "{violations:#?}");
}
