//! Where everything goes, decided once, before building.
//!
//! Virtual: task `i` owns a 256 MiB window at `TASK_SPACE + i * TASK_WINDOW`
//! (so every task's ELF can be loaded into one debugger session): its image
//! at the window's start, its stack ending at `STACK_TOP_OFFSET` (an
//! unmapped guard page below it), its granted regions from
//! `REGIONS_OFFSET`, and, for a domain owner, its device window from
//! `DEVICE_WINDOW_OFFSET`: one slot per device whose registers are in
//! custody (`bar0-size`), at the same offset in every owner, mapped only
//! while the task holds the device.
//!
//! Physical: the kernel image at 1 MiB, its page-frame pool up to
//! `FRAMES_END`; regions that need a fixed address (DMA pools, persistent
//! memory) are placed from `FRAMES_END` up, in file order, unless app.toml
//! gives their base.

use crate::app::{App, RegionKind};

/// Tasks live above the kernel's identity map (PML4 slot 1 onwards).
pub const TASK_SPACE: u64 = 0x80_0000_0000;
/// Each task's virtual window.
pub const TASK_WINDOW: u64 = 0x1000_0000;
/// Stack top within the window.
pub const STACK_TOP_OFFSET: u64 = 0x0800_0000;
/// First region within the window.
pub const REGIONS_OFFSET: u64 = 0x0C00_0000;
/// The device window within a domain owner's window: regions end below it.
pub const DEVICE_WINDOW_OFFSET: u64 = 0x0E00_0000;
/// Where the kernel image starts (`sys/kern/kernel.ld`); its frame pool
/// follows it up to [`FRAMES_END`].
pub const KERNEL_BASE: u64 = 0x0010_0000;
/// End of the kernel's frame pool; fixed-address regions start here.
pub const FRAMES_END: u64 = 0x0200_0000;
/// Fixed-address regions must end below this (the test machines have
/// at least 256 MiB of RAM).
pub const REGION_WINDOW_END: u64 = 0x0800_0000;
const PAGE: u64 = 4096;

/// A region's placement in one task.
#[derive(Debug, Clone)]
pub struct Grant {
    pub region: usize,
    pub vaddr: u64,
}

/// The decided layout.
#[derive(Debug, Clone)]
pub struct Layout {
    /// Per task: image base, stack top, granted regions.
    pub tasks: Vec<TaskLayout>,
    /// Per region: physical base (0 for `ram`, placed by the kernel).
    pub region_phys: Vec<u64>,
    /// Per device: its registers' offset in a device window, if in custody.
    pub device_offsets: Vec<Option<u64>>,
}

/// One task's addresses.
#[derive(Debug, Clone)]
pub struct TaskLayout {
    pub base: u64,
    pub stack_top: u64,
    pub grants: Vec<Grant>,
    /// Where device registers granted to it go (domain owners only).
    pub device_window: Option<u64>,
}

/// Why the layout failed.
#[derive(Debug)]
pub struct LayoutError(pub String);

/// Lays out `app`.
pub fn layout(app: &App) -> Result<Layout, LayoutError> {
    let mut next = FRAMES_END;
    let mut region_phys = Vec::new();
    for r in &app.regions {
        let pa = match (r.kind, r.base) {
            (_, Some(b)) => b,
            (RegionKind::Ram | RegionKind::AcpiTables, None) => 0,
            (_, None) => {
                let b = next;
                next += r.size.div_ceil(PAGE) * PAGE;
                if next > REGION_WINDOW_END {
                    return Err(LayoutError(format!(
                        "[regions.{}]: no room below {REGION_WINDOW_END:#x} for fixed regions",
                        r.name
                    )));
                }
                b
            }
        };
        region_phys.push(pa);
    }
    let device_offsets = device_offsets(app)?;
    let any_custody = device_offsets.iter().any(Option::is_some);
    let mut tasks = Vec::new();
    for (i, t) in app.tasks.iter().enumerate() {
        let base = TASK_SPACE + i as u64 * TASK_WINDOW;
        let mut va = base + REGIONS_OFFSET;
        let mut grants = Vec::new();
        for ri in t
            .regions
            .iter()
            .filter_map(|name| app.regions.iter().position(|r| &r.name == name))
        {
            grants.push(Grant {
                region: ri,
                vaddr: va,
            });
            va += app.regions[ri].size + PAGE;
        }
        let owner = app.system.domains.iter().any(|d| d.owner == i);
        let device_window = (owner && any_custody).then_some(base + DEVICE_WINDOW_OFFSET);
        let regions_end = if device_window.is_some() {
            DEVICE_WINDOW_OFFSET
        } else {
            TASK_WINDOW
        };
        if va - PAGE > base + regions_end {
            return Err(LayoutError(format!(
                "[tasks.{}]: its regions need {:#x} bytes; {:#x} fit",
                t.name,
                va - PAGE - base - REGIONS_OFFSET,
                regions_end - REGIONS_OFFSET
            )));
        }
        tasks.push(TaskLayout {
            base,
            stack_top: base + STACK_TOP_OFFSET,
            grants,
            device_window,
        });
    }
    Ok(Layout {
        tasks,
        region_phys,
        device_offsets,
    })
}

/// Each device's slot in a device window (a guard page between slots).
fn device_offsets(app: &App) -> Result<Vec<Option<u64>>, LayoutError> {
    let mut next = 0;
    let mut out = Vec::new();
    for d in &app.system.devices {
        let Some(size) = d.bar0_size else {
            out.push(None);
            continue;
        };
        out.push(Some(next));
        next += size + PAGE;
        if next > TASK_WINDOW - DEVICE_WINDOW_OFFSET {
            return Err(LayoutError(format!(
                "[devices.{}]: bar0-size: the registers in custody need more than the {:#x} bytes of a device window",
                d.name,
                TASK_WINDOW - DEVICE_WINDOW_OFFSET
            )));
        }
    }
    Ok(out)
}
