//! The kernel's config file: `APP`, the task table the kernel boots from
//! (`kern::desc::AppDesc`), and the few constants beside it.

use std::path::{Path, PathBuf};

use proc_macro2::TokenStream;
use quote::quote;

use super::{format, hex};
use crate::app::{App, RegionKind};
use crate::image::Seg;
use crate::layout::{self, Layout};

/// `abi::NO_HOLDER` and the kernel's "no such task": no task index.
const NO_TASK: u16 = u16::MAX;

/// The kernel's config file for `app`: its tasks' ELF segments (`segments`,
/// extracted from `elves`), regions, ports, interrupts and rights.
pub fn kernel_config(
    app: &App,
    layout: &Layout,
    segments: &[Vec<Seg>],
    elves: &[PathBuf],
) -> Result<String, String> {
    let task_count = app.tasks.len();
    let frames_end = hex(layout::FRAMES_END);
    let acpi_root = super::option(app.test_acpi_root.map(hex));
    let name = &app.name;
    let supervisor = app.supervisor as u16;
    let fault_notification = hex(u64::from(app.fault_bit));
    let custodian = app.custodian.map_or(NO_TASK, |c| c as u16);
    let devices = devices(app, layout);
    let tasks = (0..task_count)
        .map(|i| task(app, layout, i, &segments[i], &elves[i]))
        .collect::<Result<Vec<_>, String>>()?;
    let tokens = quote! {
        pub const TASK_COUNT: usize = #task_count;
        pub const FRAMES_END: u64 = #frames_end;
        pub const TEST_ACPI_ROOT: Option<u64> = #acpi_root;
        pub static APP: kern::desc::AppDesc = kern::desc::AppDesc {
            name: #name,
            supervisor: #supervisor,
            fault_notification: #fault_notification,
            custodian: #custodian,
            devices: &[#(#devices),*],
            tasks: &[#(#tasks),*],
        };
    };
    format(tokens, &app.path)
}

/// Every app.toml device's registers in custody (`kern::desc::DeviceRegs`).
fn devices(app: &App, layout: &Layout) -> Vec<TokenStream> {
    app.system
        .devices
        .iter()
        .zip(&layout.device_offsets)
        .map(|(d, offset)| {
            let holder = d
                .domain
                .map_or(NO_TASK, |di| app.system.domains[di].owner as u16);
            let (paddr, size) = match (offset, d.bar0, d.bar0_size) {
                (Some(_), Some(b), Some(sz)) => (b, sz),
                _ => (0, 0),
            };
            let name = &d.name;
            let (paddr, size, offset) = (hex(paddr), hex(size), hex(offset.unwrap_or(0)));
            quote! {
                kern::desc::DeviceRegs {
                    name: #name,
                    paddr: #paddr,
                    size: #size,
                    offset: #offset,
                    initial_holder: #holder,
                }
            }
        })
        .collect()
}

/// Task `i`'s descriptor (`kern::desc::TaskDesc`).
fn task(
    app: &App,
    layout: &Layout,
    i: usize,
    segments: &[Seg],
    elf: &Path,
) -> Result<TokenStream, String> {
    let t = &app.tasks[i];
    let tl = &layout.tasks[i];
    let name = &t.name;
    let priority = t.priority;
    let entry = hex(entry_of(elf)?);
    let stack_top = hex(tl.stack_top);
    let stack_size = hex(t.stacksize);
    let start = t.start;
    let rights = crate::rights::literal(app, i);
    let device_window = hex(tl.device_window.unwrap_or(0));
    let segments = segments.iter().map(|seg| {
        let (vaddr, memsz, flags) = (hex(seg.vaddr), hex(seg.memsz), seg.flags as u8);
        let file = seg.file.display().to_string();
        quote! {
            kern::desc::Segment { vaddr: #vaddr, memsz: #memsz, flags: #flags, data: include_bytes!(#file) }
        }
    });
    let regions = tl.grants.iter().map(|g| {
        let r = &app.regions[g.region];
        let name = &r.name;
        let (vaddr, paddr, size) = (hex(g.vaddr), hex(layout.region_phys[g.region]), hex(r.size));
        let kind = region_kind(r.kind);
        let writable = r.writable;
        quote! {
            kern::desc::RegionDesc {
                name: #name,
                vaddr: #vaddr,
                paddr: #paddr,
                size: #size,
                kind: kern::desc::RegionKind::#kind,
                writable: #writable,
            }
        }
    });
    let ports = t.io_ports.iter().map(|p| {
        let (base, count) = (hex(u64::from(p.base)), p.count);
        quote!(kern::desc::PortRange { base: #base, count: #count })
    });
    let irqs = t.irqs.iter().map(|&(vector, bits, gsi)| {
        let notification = hex(u64::from(bits));
        let gsi = gsi.unwrap_or(u8::MAX);
        quote!(kern::desc::IrqDesc { vector: #vector, notification: #notification, gsi: #gsi })
    });
    Ok(quote! {
        kern::desc::TaskDesc {
            name: #name,
            priority: #priority,
            entry: #entry,
            stack_top: #stack_top,
            stack_size: #stack_size,
            start: #start,
            rights: #rights,
            device_window: #device_window,
            segments: &[#(#segments),*],
            regions: &[#(#regions),*],
            io_ports: &[#(#ports),*],
            irqs: &[#(#irqs),*],
        }
    })
}

/// A region kind as the kernel's enum variant; a new kind fails to compile
/// here until it is written.
fn region_kind(kind: RegionKind) -> TokenStream {
    match kind {
        RegionKind::Mmio => quote!(Mmio),
        RegionKind::Dma => quote!(Dma),
        RegionKind::Persist => quote!(Persist),
        RegionKind::Ram => quote!(Ram),
        RegionKind::AcpiTables => quote!(AcpiTables),
    }
}

fn entry_of(elf: &Path) -> Result<u64, String> {
    let bytes = std::fs::read(elf).map_err(|e| format!("{}: {e}", elf.display()))?;
    let obj = object::File::parse(&*bytes).map_err(|e| format!("{}: {e}", elf.display()))?;
    Ok(object::Object::entry(&obj))
}
