//! What the simulator's integration tests share: the platform most of them
//! run on (QEMU's DMAR with the matrix's devices) and the devices of each
//! kind on it. Each test file uses its part.
#![allow(dead_code)]

use idl_types::{Bdf, Custody, DomainId, UnitId};
use sim::machine::Machine;
use sim::run::Kind;
use sim::transport::Fault;
use sim::{fixtures, Platform};

/// The first simulated domain.
pub const D1: DomainId = DomainId(1);
/// The second.
pub const D2: DomainId = DomainId(2);

/// QEMU's DMAR with every kind of device the matrix covers.
pub fn platform() -> Platform {
    fixtures::load(fixtures::QEMU)
        .and_then(Platform::matrix)
        .expect("matrix platform")
}

/// The first device of `kind` on the machine's platform, and its unit.
pub fn device_of(m: &Machine<'_, '_, '_>, kind: Kind) -> (Bdf, UnitId) {
    m.platform
        .devices
        .iter()
        .find(|d| kind.matches(d, m.platform))
        .map(|d| (d.bdf, d.unit))
        .expect("a device of the kind")
}

/// The simulated domain a device held in `custody` moves to: the other one.
pub fn other(custody: Option<Custody>) -> DomainId {
    if custody == Some(Custody::Domain(D1)) {
        D2
    } else {
        D1
    }
}

/// Every crash of one of `tasks` at one of `messages`, before the message
/// is handled and after.
pub fn message_faults(
    tasks: &[&'static str],
    messages: impl IntoIterator<Item = usize> + Clone,
) -> Vec<Fault> {
    let mut out = Vec::new();
    for &task in tasks {
        for message in messages.clone() {
            for after in [false, true] {
                out.push(Fault::Message {
                    task,
                    message,
                    after,
                });
            }
        }
    }
    out
}
