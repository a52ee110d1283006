//! app.toml's tables, as xtask generates them (`config::system`), turned
//! into the library's [`System`] at compile time: the one place in the
//! console that knows their shape.

use task_console::{Buffer, Device, Domain, System};

use crate::{config, NAMES};

const DEVICE_COUNT: usize = config::system::DEVICES.len();
const DOMAIN_COUNT: usize = config::system::DOMAINS.len();

static DEVICES: [Device<'static>; DEVICE_COUNT] = devices();
static DOMAINS: [Domain<'static>; DOMAIN_COUNT] = domains();

/// The machine the console describes.
pub fn system() -> System<'static> {
    System {
        devices: &DEVICES,
        domains: &DOMAINS,
        first_domain_id: config::system::FIRST_DOMAIN_ID,
        task_names: &NAMES,
        // Task indices are u16 in every IDL type; the image's tasks fit.
        supervisor: config::slots::SUPERVISOR.index() as u16,
        fault_budget: config::system::FAULT_BUDGET,
    }
}

/// Each device's name and requester ID, and whether its registers are in
/// custody.
const fn devices() -> [Device<'static>; DEVICE_COUNT] {
    let mut out = [Device {
        name: "",
        rid: 0,
        registers: false,
    }; DEVICE_COUNT];
    let mut i = 0;
    while i < DEVICE_COUNT {
        let d = &config::system::DEVICES[i];
        out[i] = Device {
            name: d.name,
            rid: d.address.rid,
            registers: config::system::DEVICE_REGISTERS[i].is_some(),
        };
        i += 1;
    }
    out
}

/// Each domain's name and owner; its buffer is its first map.
const fn domains() -> [Domain<'static>; DOMAIN_COUNT] {
    let mut out = [Domain {
        name: "",
        owner: 0,
        buffer: None,
    }; DOMAIN_COUNT];
    let mut i = 0;
    while i < DOMAIN_COUNT {
        let d = &config::system::DOMAINS[i];
        let buffer = match d.maps.first() {
            Some(m) => Some(Buffer {
                iova: m.iova,
                bytes: m.size,
            }),
            None => None,
        };
        out[i] = Domain {
            name: d.name,
            owner: d.owner,
            buffer,
        };
        i += 1;
    }
    out
}
