//! The memory custody uses, and the checks that app.toml cannot give a
//! device (or a fixed region) the keys to it.
//!
//! Custody memory is the kernel image and its frame pool, and every
//! region's physical range (DMA pools, persistent memory, device and
//! IOMMU registers). Before anything is built:
//! - a region with an explicit `base` must not fall on the kernel, its
//!   frame pool or a region the layout places (the kernel zeroes DMA and
//!   persist regions at boot);
//! - an app.toml RMRR is identity-mapped into its device's domain, so it
//!   must not cover custody memory (the firmware's RMRRs are checked at run
//!   time by the acpi task, from [`custody`]'s list, generated as
//!   `config::system::CUSTODY_MEMORY`);
//! - a domain may map only DMA regions its owner holds and no other task
//!   does (never the iommu's page tables, never another domain's buffer),
//!   at IOVA ranges that overlap neither each other nor an RMRR;
//! - a device's registers reach one task at most: no region may cover the
//!   BAR of a device whose registers are in custody (`bar0-size`: the
//!   kernel maps it into the device's owner alone), and a region over any
//!   other device's BAR0 may be granted to one task only.
//!
//! Each refusal is one line naming the table and key.

use crate::app::{App, RegionKind};
use crate::layout::{Layout, FRAMES_END, KERNEL_BASE};

/// `(first byte, one past the last, what it is)`.
pub type Range = (u64, u64, String);

const PAGE: u64 = 4096;

/// What the kernel image and its frame pool are called in refusals.
const KERNEL_MEMORY: &str = "the kernel image and its frame pool";

/// Every range of custody memory, the kernel first.
pub fn custody(app: &App, layout: &Layout) -> Vec<Range> {
    let mut out = vec![(KERNEL_BASE, FRAMES_END, KERNEL_MEMORY.to_string())];
    for (r, &pa) in app.regions.iter().zip(&layout.region_phys) {
        if pa != 0 {
            out.push((pa, pa.saturating_add(r.size), format!("region {}", r.name)));
        }
    }
    out
}

fn overlaps(a: (u64, u64), b: (u64, u64)) -> bool {
    a.0 < b.1 && b.0 < a.1
}

/// Checks `app` placed as `layout`: `Err((place, message))`.
pub fn check(app: &App, layout: &Layout) -> Result<(), (String, String)> {
    check_bases(app, layout)?;
    check_rmrrs(app, layout)?;
    check_domains(app)?;
    check_device_registers(app, layout)
}

/// No device's registers in two tasks, none in custody as a region.
fn check_device_registers(app: &App, layout: &Layout) -> Result<(), (String, String)> {
    for d in &app.system.devices {
        let Some(bar) = d.bar0 else { continue };
        let bar_end = bar.saturating_add(d.bar0_size.unwrap_or(PAGE));
        for (r, &pa) in app.regions.iter().zip(&layout.region_phys) {
            if r.kind != RegionKind::Mmio
                || !overlaps((pa, pa.saturating_add(r.size)), (bar, bar_end))
            {
                continue;
            }
            let place = format!("[regions.{}]", r.name);
            if d.bar0_size.is_some() {
                return Err((
                    place,
                    format!(
                        "base: {pa:#x} covers the registers of device {} ({bar:#x}..{bar_end:#x}), which are in custody: the kernel maps them into the device's owner only; remove the region",
                        d.name
                    ),
                ));
            }
            let holders: Vec<&str> = app
                .tasks
                .iter()
                .filter(|t| t.regions.contains(&r.name))
                .map(|t| t.name.as_str())
                .collect();
            if let [first, second, ..] = holders.as_slice() {
                return Err((
                    place,
                    format!(
                        "granted to {first} and {second}: it covers device {}'s registers, and one device's registers go to one task (give the device bar0-size to have them follow its owner)",
                        d.name
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Explicit bases against the kernel, its pool and placed regions.
fn check_bases(app: &App, layout: &Layout) -> Result<(), (String, String)> {
    for (r, &pa) in app.regions.iter().zip(&layout.region_phys) {
        let Some(base) = r.base else { continue };
        let place = format!("[regions.{}]", r.name);
        let Some(end) = base.checked_add(r.size) else {
            return Err((
                place,
                format!("base: {base:#x} + size wraps past the top of memory"),
            ));
        };
        if overlaps((base, end), (KERNEL_BASE, FRAMES_END)) {
            return Err((
                place,
                format!("base: {base:#x}..{end:#x} overlaps {KERNEL_MEMORY} ({KERNEL_BASE:#x}..{FRAMES_END:#x})"),
            ));
        }
        for (other, &opa) in app.regions.iter().zip(&layout.region_phys) {
            if other.base.is_some() || opa == 0 {
                continue;
            }
            let oend = opa.saturating_add(other.size);
            if overlaps((base, end), (opa, oend)) {
                return Err((
                    place,
                    format!(
                        "base: {base:#x}..{end:#x} overlaps region \"{}\", which the layout places at {opa:#x}..{oend:#x}",
                        other.name
                    ),
                ));
            }
        }
        debug_assert_eq!(base, pa);
    }
    Ok(())
}

/// app.toml's RMRRs against custody memory.
fn check_rmrrs(app: &App, layout: &Layout) -> Result<(), (String, String)> {
    let custody = custody(app, layout);
    for (i, rmrr) in app.system.rmrrs.iter().enumerate() {
        if rmrr.as_firmware {
            continue;
        }
        let range = (rmrr.base, rmrr.end.saturating_add(1));
        if let Some((lo, hi, what)) = custody.iter().find(|c| overlaps(range, (c.0, c.1))) {
            return Err((
                format!("[[platform.rmrr]] #{}", i + 1),
                format!(
                    "base: {:#x}..={:#x} overlaps {what} ({lo:#x}..{hi:#x}): its devices could DMA into it",
                    rmrr.base, rmrr.end
                ),
            ));
        }
    }
    Ok(())
}

/// Domain maps: whose memory, and where.
fn check_domains(app: &App) -> Result<(), (String, String)> {
    let mut mapped: Vec<(usize, &str)> = Vec::new();
    for d in &app.system.domains {
        let place = format!("[domains.{}]", d.name);
        let owner = &app.tasks[d.owner];
        let mut iovas: Vec<(u64, u64, &str)> = Vec::new();
        for &(iova, ri) in &d.maps {
            let r = &app.regions[ri];
            if !owner.regions.contains(&r.name) {
                return Err((
                    place,
                    format!(
                        "maps: region \"{}\" is not granted to the domain's owner {}: a device may reach only its owner's buffers",
                        r.name, owner.name
                    ),
                ));
            }
            if let Some(t) = app
                .tasks
                .iter()
                .find(|t| t.name != owner.name && t.regions.contains(&r.name))
            {
                return Err((
                    place,
                    format!(
                        "maps: region \"{}\" is also granted to task {}: a device of this domain could write memory that task relies on (page tables, another owner's buffer)",
                        r.name, t.name
                    ),
                ));
            }
            if let Some((_, other)) = mapped.iter().find(|(m, _)| *m == ri) {
                return Err((
                    place,
                    format!(
                        "maps: region \"{}\" is already mapped by domain {other}: one buffer, one domain",
                        r.name
                    ),
                ));
            }
            let Some(end) = iova.checked_add(r.size) else {
                return Err((
                    place,
                    format!("maps: iova {iova:#x} + the size of \"{}\" wraps", r.name),
                ));
            };
            if let Some((lo, hi, name)) = iovas.iter().find(|m| overlaps((iova, end), (m.0, m.1))) {
                return Err((
                    place,
                    format!(
                        "maps: \"{}\" at iova {iova:#x}..{end:#x} overlaps \"{name}\" at {lo:#x}..{hi:#x}",
                        r.name
                    ),
                ));
            }
            if let Some((i, rm)) = app
                .system
                .rmrrs
                .iter()
                .enumerate()
                .find(|(_, rm)| overlaps((iova, end), (rm.base, rm.end.saturating_add(1))))
            {
                return Err((
                    place,
                    format!(
                        "maps: \"{}\" at iova {iova:#x}..{end:#x} overlaps RMRR #{} ({:#x}..={:#x}), which its devices keep identity-mapped",
                        r.name,
                        i + 1,
                        rm.base,
                        rm.end
                    ),
                ));
            }
            iovas.push((iova, end, &r.name));
            mapped.push((ri, &d.name));
        }
    }
    Ok(())
}
