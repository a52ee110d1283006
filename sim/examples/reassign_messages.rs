//! Messages per reassignment, counted on the real broker and servers
//! (the simulator's traced transport) on QEMU's platform, for
//! `cargo xtask bench`: one device of each kind the issue names (a PCIe
//! endpoint, an endpoint with an RMRR, a legacy device behind a
//! PCIe-to-PCI bridge), moved directly and the pre-XSA-400 two-step way.
//!
//! The count includes what the firmware broker does after every change
//! (telling pci the owners that changed, `sync_pci_owners`). Prints `NAME VALUE` lines:
//! `reassign_<kind>_<variant>_to_<peer>` per peer, `..._kernel_ipc_default`
//! (every message is one kernel IPC round trip, plus the client's own
//! call) and `..._kernel_ipc_fused` (only pci and the supervisor are
//! other tasks then), and `..._observer_violations` (for the two-step,
//! the RMRR windows Xen closed).

use std::collections::BTreeMap;

use idl_types::{Bdf, Custody, DomainId};
use sim::machine::{with_machine, Op};
use sim::{fixtures, Platform};
use task_broker::Knobs;

/// The devices of QEMU's matrix platform (see `sim/tests/xsa400_cases.rs`).
const DEVICES: [(&str, Bdf); 3] = [
    ("pcie_endpoint", bdf(0, 1, 0)),
    ("rmrr_endpoint", bdf(0, 0x1f, 2)),
    ("bridged_legacy", bdf(2, 1, 0)),
];
/// The broker's peers; the first three are fused into one task in the
/// fused build.
const FUSED: [&str; 3] = ["acpi", "domid", "iommu"];
const PEERS: [&str; 5] = ["acpi", "domid", "iommu", "pci", "supervisor"];

const fn bdf(bus: u8, device: u8, function: u8) -> Bdf {
    Bdf {
        bus,
        device,
        function,
    }
}

fn main() {
    let platform = match fixtures::load(fixtures::QEMU).and_then(Platform::matrix) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("reassign_messages: QEMU's platform: {e}");
            std::process::exit(1);
        }
    };
    for (variant, knobs) in [
        ("direct", Knobs::default()),
        (
            "two_step",
            Knobs {
                two_step: true,
                ..Knobs::default()
            },
        ),
    ] {
        let run = with_machine(&platform, knobs, |m| {
            // The firmware tells pci every owner at start.
            m.broker().sync_pci_owners();
            let mut lines = Vec::new();
            for (kind, device) in DEVICES {
                let target = match m.custody(device) {
                    Some(Custody::Domain(DomainId(1))) => DomainId(2),
                    _ => DomainId(1),
                };
                let violations_before = m.out.violations.len();
                m.ctl.borrow_mut().trace.clear();
                m.step(Op::Reassign(device, target), None);
                if m.last != Some(Ok(())) {
                    return Err(format!("{kind} ({variant}): {:?}", m.last));
                }
                m.broker().sync_pci_owners();
                let mut per_peer: BTreeMap<&str, u64> = PEERS.iter().map(|p| (*p, 0)).collect();
                for sent in m.ctl.borrow().trace.iter() {
                    *per_peer.entry(sent.task).or_default() += 1;
                }
                let all: u64 = per_peer.values().sum();
                let local: u64 = FUSED.iter().map(|p| per_peer[p]).sum();
                let name = format!("reassign_{kind}_{variant}");
                for (peer, n) in &per_peer {
                    lines.push(format!("{name}_to_{peer} {n}"));
                }
                // The client's own call to the broker is one more round trip.
                lines.push(format!("{name}_kernel_ipc_default {}", all + 1));
                lines.push(format!("{name}_kernel_ipc_fused {}", all - local + 1));
                let violations = m.out.violations.len() - violations_before;
                lines.push(format!("{name}_observer_violations {violations}"));
            }
            Ok(lines)
        });
        match run {
            Ok(Ok(lines)) => lines.iter().for_each(|l| println!("{l}")),
            Ok(Err(e)) | Err(e) => {
                eprintln!("reassign_messages: {e}");
                std::process::exit(1);
            }
        }
    }
}
