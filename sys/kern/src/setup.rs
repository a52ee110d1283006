//! Boot-time construction: `syscall` MSRs, then each task's address space
//! from the generated table.
//!
//! Layout of every address space: PML4 slot 0 is the kernel's identity map
//! of the low 4 GiB (supervisor-only); the task's segments, stack (with an
//! unmapped guard page below) and granted regions sit at the virtual
//! addresses xtask chose, above 512 GiB.

use core::fmt;

use kern::desc::{seg, RegionKind, TaskDesc};
use kern::regions::Span;

use crate::arch::boot::{KERNEL_CS, USER_DS};
use crate::arch::cpu::{self, msr};
use crate::arch::paging::{self, FrameAllocator, MapError, NX, PAGE, PCD, PWT, RW, US};
use crate::arch::startinfo::{StartInfo, E820_RAM};
use crate::config;
use crate::kernel::k;
use crate::task::State;

const EFER_SCE: u64 = 1;
/// RFLAGS bits cleared on `syscall`: IF, DF, TF, AC.
const SYSCALL_FMASK: u64 = (1 << 9) | (1 << 10) | (1 << 8) | (1 << 18);

extern "C" {
    static BOOT_PDPT: u8;
    static __kernel_end: u8;
    fn syscall_entry();
}

/// Why the kernel could not lay out memory.
pub enum SetupError {
    Map(&'static str, MapError),
    NotRam(&'static str, u64),
    Misaligned(&'static str, u64),
    TooManySpans(&'static str),
}

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            SetupError::Map(t, MapError::OutOfMemory) => write!(f, "task {t}: out of memory"),
            SetupError::Map(t, MapError::AlreadyMapped(va)) => {
                write!(f, "task {t}: address {va:#x} mapped twice")
            }
            SetupError::NotRam(what, pa) => write!(f, "{what}: {pa:#x} is not RAM"),
            SetupError::Misaligned(t, va) => write!(f, "task {t}: {va:#x} is not page-aligned"),
            SetupError::TooManySpans(t) => write!(f, "task {t}: too many regions"),
        }
    }
}

/// Programs `syscall`: entry point, segments, flags to clear.
pub fn syscall_msrs() {
    // SAFETY: architectural MSRs with values that match our GDT; EFER keeps
    // the LME/NXE bits the boot code set.
    unsafe {
        cpu::wrmsr(msr::EFER, cpu::rdmsr(msr::EFER) | EFER_SCE);
        cpu::wrmsr(msr::LSTAR, syscall_entry as *const () as u64);
        cpu::wrmsr(
            msr::STAR,
            ((KERNEL_CS as u64) << 32) | (((USER_DS as u64 & !3) - 8) << 48),
        );
        cpu::wrmsr(msr::FMASK, SYSCALL_FMASK);
    }
}

fn is_ram(info: &StartInfo, base: u64, size: u64) -> bool {
    let Some(end) = base.checked_add(size) else {
        return false;
    };
    info.memory_map()
        .any(|r| r.kind == E820_RAM && base >= r.base && end <= r.end())
}

fn pages(bytes: u64) -> u64 {
    bytes.div_ceil(PAGE)
}

/// Builds every task and routes its interrupts.
pub fn tasks(info: &StartInfo) -> Result<(), SetupError> {
    // SAFETY: linker-defined symbol; only its address is used.
    let kernel_end = unsafe { &__kernel_end as *const u8 as u64 };
    let pool_end = config::FRAMES_END;
    if !is_ram(info, kernel_end, pool_end - kernel_end) {
        return Err(SetupError::NotRam("kernel frame pool", kernel_end));
    }
    for r in info.memory_map() {
        defmt::info!(
            "boot memory map: {=u64:#x}..{=u64:#x} type {=u32}",
            r.base,
            r.base.saturating_add(r.size),
            r.kind
        );
    }
    let kk = k();
    kk.frames = FrameAllocator::new(kernel_end, pool_end);
    for (i, desc) in config::APP.tasks.iter().enumerate() {
        build_task(info, i, desc)?;
        for irq in desc.irqs {
            kk.irq_routes[irq.vector as usize] = Some((i as u16, irq.notification));
            if irq.gsi != kern::desc::NO_GSI {
                crate::arch::ioapic::route(irq.gsi, irq.vector);
            }
        }
    }
    kk.init_schedule();
    defmt::info!(
        "{=usize} tasks built; kernel frames used up to {=u64:#x}",
        config::TASK_COUNT,
        kk.frames.watermark()
    );
    Ok(())
}

/// Copies the ACPI tables behind a window header into `[pa, pa + size)`,
/// with the boot memory map; an empty window if the firmware's pointers
/// lead outside its own memory (see `kern::acpi_window`).
fn snapshot_acpi(info: &StartInfo, pa: u64, size: u64) {
    use kern::acpi_window::{table_range, MemEntry, WindowHeader, HEADER, MEMORY_MAP_MAX};
    let mut memory_map = [MemEntry::default(); MEMORY_MAP_MAX];
    let mut map_len = 0;
    for (slot, e) in memory_map.iter_mut().zip(info.memory_map()) {
        *slot = e;
        map_len += 1;
    }
    let map = &memory_map[..map_len];
    let mut read = |addr: u64, buf: &mut [u8]| {
        // SAFETY: `table_range` reads only inside firmware memory below
        // 4 GiB (`firmware_covers`), which the kernel identity-maps.
        unsafe { core::ptr::copy_nonoverlapping(addr as *const u8, buf.as_mut_ptr(), buf.len()) };
        true
    };
    let cap = size.saturating_sub(HEADER as u64);
    let root = config::TEST_ACPI_ROOT;
    let (base, end) = match table_range(map, info.rsdp(), cap, root, &mut read) {
        Ok(range) => range,
        Err(why) => {
            defmt::warn!(
                "ACPI tables refused: {}; the acpi task gets an empty window",
                defmt::Display2Format(&why)
            );
            (0, 0)
        }
    };
    let mut header = WindowHeader {
        rsdp: info.rsdp(),
        base,
        len: end - base,
        rsdp_copy: [0; kern::acpi_window::RSDP_COPY_LEN],
        memory_map,
        map_len,
    };
    if end > base {
        // The RSDP was read (inside firmware memory) to find the tables.
        read(info.rsdp(), &mut header.rsdp_copy);
    }
    // SAFETY: [pa, pa + size) are fresh frames; HEADER + len <= size
    // (`cap`), and [base, end) lies in identity-mapped firmware memory.
    unsafe {
        core::ptr::copy_nonoverlapping(header.encode().as_ptr(), pa as *mut u8, HEADER);
        if end > base {
            core::ptr::copy_nonoverlapping(
                base as *const u8,
                (pa + HEADER as u64) as *mut u8,
                (end - base) as usize,
            );
        }
    }
    if end > base {
        defmt::info!(
            "ACPI tables {=u64:#x}..{=u64:#x} copied for the acpi task",
            base,
            end
        );
    }
}

fn build_task(info: &StartInfo, index: usize, desc: &'static TaskDesc) -> Result<(), SetupError> {
    let kk = k();
    let name = desc.name;
    let map_err = |e| SetupError::Map(name, e);
    let frames = &mut kk.frames;
    let pml4 = frames.alloc(1).map_err(map_err)?;
    // SAFETY: `pml4` is a fresh zeroed page; slot 0 shares the kernel's
    // identity map (supervisor-only entries below it).
    unsafe { (pml4 as *mut u64).write(&BOOT_PDPT as *const u8 as u64 | paging::P | RW) };
    let t = &mut kk.tasks[index];
    t.pml4 = pml4;
    t.desc = Some(desc);
    t.priority = desc.priority;
    t.io_ports = desc.io_ports;
    t.may_send = desc.rights.send;
    let mut add = |span: Span| {
        t.spans
            .push(span)
            .map_err(|_| SetupError::TooManySpans(name))
    };

    // The stack first: most IPC buffers live there, and `translate`
    // searches in order.
    let stack_base = desc.stack_top - desc.stack_size;
    let pa = frames.alloc(pages(desc.stack_size)).map_err(map_err)?;
    paging::map_range(frames, pml4, stack_base, pa, desc.stack_size, US | RW | NX)
        .map_err(map_err)?;
    // SAFETY: `pa` has `stack_size` fresh bytes, identity-mapped.
    unsafe { core::ptr::write_bytes(pa as *mut u8, kern::stack::PAINT, desc.stack_size as usize) };
    add(Span {
        vaddr: stack_base,
        paddr: pa,
        size: desc.stack_size,
        writable: true,
        copyable: true,
    })?;

    for s in desc.segments {
        if s.vaddr % PAGE != 0 {
            return Err(SetupError::Misaligned(name, s.vaddr));
        }
        let size = pages(s.memsz) * PAGE;
        let pa = frames.alloc(pages(s.memsz)).map_err(map_err)?;
        // SAFETY: `pa` has `size >= data.len()` fresh bytes (xtask checks
        // filesz <= memsz), identity-mapped.
        unsafe { core::ptr::copy_nonoverlapping(s.data.as_ptr(), pa as *mut u8, s.data.len()) };
        let mut flags = US;
        if s.flags & seg::W != 0 {
            flags |= RW;
        }
        if s.flags & seg::X == 0 {
            flags |= NX;
        }
        paging::map_range(frames, pml4, s.vaddr, pa, size, flags).map_err(map_err)?;
        add(Span {
            vaddr: s.vaddr,
            paddr: pa,
            size,
            writable: s.flags & seg::W != 0,
            copyable: true,
        })?;
    }

    for r in desc.regions {
        let (pa, mut flags) = match r.kind {
            RegionKind::Mmio => (r.paddr, US | NX | PCD | PWT),
            RegionKind::Dma | RegionKind::Persist => {
                if !is_ram(info, r.paddr, r.size) {
                    return Err(SetupError::NotRam(r.name, r.paddr));
                }
                // SAFETY: a fixed RAM window xtask reserved for this region,
                // outside the frame pool; zeroed once, at boot.
                unsafe { core::ptr::write_bytes(r.paddr as *mut u8, 0, r.size as usize) };
                (r.paddr, US | NX)
            }
            RegionKind::Ram => (frames.alloc(pages(r.size)).map_err(map_err)?, US | NX),
            RegionKind::AcpiTables => {
                let pa = frames.alloc(pages(r.size)).map_err(map_err)?;
                snapshot_acpi(info, pa, r.size);
                (pa, US | NX)
            }
        };
        if r.writable {
            flags |= RW;
        }
        paging::map_range(frames, pml4, r.vaddr, pa, r.size, flags).map_err(map_err)?;
        add(Span {
            vaddr: r.vaddr,
            paddr: pa,
            size: r.size,
            writable: r.writable,
            copyable: r.kind != RegionKind::Mmio,
        })?;
    }

    crate::registers::prepare(frames, t, index).map_err(map_err)?;
    t.reset_registers(desc.entry, desc.stack_top);
    t.state = if desc.start {
        State::Runnable
    } else {
        State::Stopped
    };
    Ok(())
}
