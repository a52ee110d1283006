//! app.toml's tables, as xtask generates them (`config::system`), are the
//! library's [`System`] as they are.

use task_console::System;

use crate::{config, NAMES};

/// The machine the console describes.
pub fn system() -> System<'static> {
    System {
        devices: &config::system::DEVICES,
        device_registers: &config::system::DEVICE_REGISTERS,
        domains: &config::system::DOMAINS,
        first_domain_id: config::system::FIRST_DOMAIN_ID,
        task_names: &NAMES,
        // Task indices are u16 in every IDL type; the image's tasks fit.
        supervisor: config::slots::SUPERVISOR.index() as u16,
        fault_budget: config::system::FAULT_BUDGET,
    }
}
