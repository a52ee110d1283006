//! A task's `config` module, included with `userlib::task_config!()`: who
//! it is, its peers, its notification bits and vectors, its regions, the
//! system's devices and domains ([`super::system`]) and who holds the
//! supervisor's powers.

use proc_macro2::TokenStream;
use quote::quote;

use super::{const_name, format, hex};
use crate::app::App;
use crate::layout::Layout;

/// The config file of task `index`.
pub fn task_config(app: &App, layout: &Layout, index: usize) -> Result<String, String> {
    let t = &app.tasks[index];
    let tl = &layout.tasks[index];
    let name = &t.name;
    let task_index = index as u16;
    let device_window = hex(tl.device_window.unwrap_or(0));
    let task_count = app.tasks.len();
    let names = app.tasks.iter().map(|t| &t.name);
    let slots = t.slots.iter().map(|(slot, peer)| {
        let (slot, peer) = (const_name(slot), *peer as u16);
        quote!(pub const #slot: userlib::abi::TaskId = userlib::abi::TaskId(#peer);)
    });
    let notify = t.notify.iter().map(|&(_, peer, bits)| {
        let (peer, bits) = (peer as u16, hex(u64::from(bits)));
        quote!(userlib::schema::task::Notify { task: userlib::abi::TaskId(#peer), bits: #bits })
    });
    let notify_count = t.notify.len();
    let notifications = t.notifications.iter().enumerate().map(|(bit, n)| {
        let (n, bit) = (const_name(n), bit as u32);
        quote!(pub const #n: u32 = 1 << #bit;)
    });
    let vectors = t.irqs.iter().map(|&(v, bits, _)| {
        let n = const_name(&t.notifications[bits.trailing_zeros() as usize]);
        quote!(pub const #n: u8 = #v;)
    });
    let regions: Vec<(proc_macro2::Ident, TokenStream)> = tl
        .grants
        .iter()
        .map(|g| {
            let r = &app.regions[g.region];
            let name = &r.name;
            let (vaddr, paddr, size) = (hex(g.vaddr), hex(layout.region_phys[g.region]), hex(r.size));
            let value = quote! {
                userlib::schema::task::Region { name: #name, vaddr: #vaddr, paddr: #paddr, size: #size }
            };
            (const_name(&r.name), value)
        })
        .collect();
    let region_count = regions.len();
    let region_consts = regions
        .iter()
        .map(|(n, v)| quote!(pub const #n: userlib::schema::task::Region = #v;));
    let region_names = regions.iter().map(|(n, _)| n);
    let system = super::system::module(app, layout);
    let powers = powers(app);
    let tasks = app.tasks.iter().enumerate().map(|(i, other)| {
        let (n, i) = (const_name(&other.name), i as u16);
        quote!(pub const #n: u16 = #i;)
    });
    let tokens = quote! {
        #[allow(dead_code)]
        pub mod config {
            pub const TASK_NAME: &str = #name;
            pub const TASK_INDEX: u16 = #task_index;
            /// Where device registers granted to this task go (0: it may hold
            /// none); device `d` at `DEVICE_WINDOW + system::DEVICE_REGISTERS[d].offset`.
            pub const DEVICE_WINDOW: u64 = #device_window;
            pub const TASK_COUNT: usize = #task_count;
            pub const TASK_NAMES: [&str; #task_count] = [#(#names),*];
            /// Peers, generation 0 (the client refreshes on a dead code).
            pub mod slots {
                #(#slots)*
            }
            /// Tasks this one posts to, from app.toml `notify`.
            pub const NOTIFY: [userlib::schema::task::Notify; #notify_count] = [#(#notify),*];
            /// Notification bits.
            pub mod notifications {
                #(#notifications)*
            }
            /// Interrupt vectors routed to this task.
            pub mod vectors {
                #(#vectors)*
            }
            /// Granted regions, by name.
            pub mod regions {
                #(#region_consts)*
            }
            /// Every granted region.
            pub const REGIONS: [userlib::schema::task::Region; #region_count] = [#(regions::#region_names),*];
            #system
            #powers
            /// Every task's index, by name.
            pub mod tasks {
                #(#tasks)*
            }
        }
    };
    format(tokens, &app.path)
}

/// `config::powers`: who holds the supervisor's powers (IDL caller groups).
fn powers(app: &App) -> TokenStream {
    let members = |holds: fn(&crate::app::Task) -> bool| {
        let list = app
            .tasks
            .iter()
            .enumerate()
            .filter(|(_, t)| holds(t))
            .map(|(i, _)| i as u16);
        quote!(&[#(#list),*])
    };
    let operators = members(|t| t.operator);
    let injectors = members(|t| t.fault_injection);
    quote! {
        /// The supervisor's caller groups (app.toml `operator`, `fault-injection`).
        pub mod powers {
            /// Tasks with `operator = true`.
            pub const OPERATORS: &[u16] = #operators;
            /// Tasks with `fault-injection = true`.
            pub const FAULT_INJECTORS: &[u16] = #injectors;
            /// The groups, for `callers = ["@group"]`.
            pub const GROUPS: [userlib::schema::task::CallerGroup; 2] = [
                userlib::schema::task::CallerGroup { name: "operators", members: OPERATORS },
                userlib::schema::task::CallerGroup { name: "fault-injectors", members: FAULT_INJECTORS },
            ];
        }
    }
}
