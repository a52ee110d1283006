//! `config::system`: the devices, domains, RMRRs and memory of app.toml,
//! the same module in every task's config.

use proc_macro2::TokenStream;
use quote::quote;

use super::{hex, option};
use crate::app::App;
use crate::layout::Layout;
use crate::system::FIRST_DOMAIN_ID;

/// The `system` module.
pub fn module(app: &App, layout: &Layout) -> TokenStream {
    let sys = &app.system;
    let address = |a: &crate::system::Address| {
        let (segment, rid) = (hex(u64::from(a.segment)), hex(u64::from(a.rid())));
        quote!(userlib::schema::system::PciAddress { segment: #segment, rid: #rid })
    };
    let devices = sys.devices.iter().map(|d| {
        let name = &d.name;
        let addr = address(&d.address);
        let domain = option(d.domain.map(|i| i as u16));
        quote!(userlib::schema::system::Device { name: #name, address: #addr, domain: #domain })
    });
    let device_count = sys.devices.len();
    let bars: Vec<TokenStream> = sys
        .devices
        .iter()
        .filter_map(|d| {
            let (rid, bar) = (hex(u64::from(d.address.rid())), hex(d.bar0?));
            Some(quote!(userlib::schema::system::DeviceBar { rid: #rid, address: #bar }))
        })
        .collect();
    let bar_count = bars.len();
    let registers = layout
        .device_offsets
        .iter()
        .zip(&sys.devices)
        .map(|(o, d)| match (o, d.bar0_size) {
            (Some(off), Some(size)) => {
                let (off, size) = (hex(*off), hex(size));
                quote!(Some(userlib::schema::system::DeviceRegisters { offset: #off, size: #size }))
            }
            _ => quote!(None),
        });
    let domains = sys.domains.iter().map(|d| {
        let maps = d.maps.iter().map(|&(iova, ri)| {
            let (iova, paddr, size) = (
                hex(iova),
                hex(layout.region_phys[ri]),
                hex(app.regions[ri].size),
            );
            quote!(userlib::schema::system::DmaMap { iova: #iova, paddr: #paddr, size: #size })
        });
        let (name, owner) = (&d.name, d.owner as u16);
        quote!(userlib::schema::system::Domain { name: #name, owner: #owner, maps: &[#(#maps),*] })
    });
    let domain_count = sys.domains.len();
    let vectors = sys.domains.iter().map(|d| option(d.vector));
    let rmrrs = sys.rmrrs.iter().map(|r| {
        let (base, end) = (hex(r.base), hex(r.end));
        let devices = r.devices.iter().map(address);
        quote!(userlib::schema::system::Rmrr { base: #base, end: #end, devices: &[#(#devices),*] })
    });
    let rmrr_count = sys.rmrrs.len();
    let operators = sys.operators.iter().map(|&o| o as u16);
    let operator_count = sys.operators.len();
    let fault_budget = sys.fault_budget;
    let custody = crate::memory::custody(app, layout);
    let custody_count = custody.len();
    let custody = custody.iter().map(|(start, end, what)| {
        let (start, end) = (hex(*start), hex(*end));
        quote!(userlib::schema::system::CustodyRange { start: #start, end: #end, what: #what })
    });
    quote! {
        /// The devices, domains and RMRRs of app.toml.
        pub mod system {
            /// Every device, in app.toml's order.
            pub const DEVICES: [userlib::schema::system::Device; #device_count] = [#(#devices),*];
            /// BAR0 placements; the pci task applies them.
            pub const DEVICE_BARS: [userlib::schema::system::DeviceBar; #bar_count] = [#(#bars),*];
            /// Per device: its registers in custody, if any.
            pub const DEVICE_REGISTERS: [Option<userlib::schema::system::DeviceRegisters>; #device_count] = [#(#registers),*];
            /// Domain IDs are `FIRST_DOMAIN_ID + index`.
            pub const FIRST_DOMAIN_ID: u16 = #FIRST_DOMAIN_ID;
            /// Every domain, in app.toml's order.
            pub const DOMAINS: [userlib::schema::system::Domain; #domain_count] = [#(#domains),*];
            /// Per domain: the vector its devices' interrupts are remapped to.
            pub const DOMAIN_VECTORS: [Option<u8>; #domain_count] = [#(#vectors),*];
            /// Extra RMRRs.
            pub const RMRRS: [userlib::schema::system::Rmrr; #rmrr_count] = [#(#rmrrs),*];
            /// Tasks that may assign any device.
            pub const OPERATORS: [u16; #operator_count] = [#(#operators),*];
            /// `[broker] fault-budget`: DMA faults a device may make per fault interval.
            pub const FAULT_BUDGET: u32 = #fault_budget;
            /// Memory custody uses, the kernel first.
            pub const CUSTODY_MEMORY: [userlib::schema::system::CustodyRange; #custody_count] = [#(#custody),*];
        }
    }
}
