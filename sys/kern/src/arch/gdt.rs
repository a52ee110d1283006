//! The TSS: the ring-0 stack for traps from ring 3 (`RSP0`, moved to the
//! current task's save area on every switch), IST stacks for the exceptions
//! that must never run on a suspect stack, and the I/O permission bitmap that
//! grants a task its app.toml ports.

use x86::bits64::segmentation::Descriptor64;
use x86::dtables::{lgdt, DescriptorTablePointer};
use x86::segmentation::{
    BuildDescriptor, DescriptorBuilder, GateDescriptorBuilder, SegmentSelector,
};
use x86::task::load_tr;

use super::boot::TSS_SEL;

/// Ports covered by the I/O bitmap; access above is always denied.
pub const IO_BITMAP_PORTS: usize = 0x1000;
const IO_BITMAP_BYTES: usize = IO_BITMAP_PORTS / 8;
/// IST slots: 1 NMI, 2 double fault, 3 machine check.
pub const IST_NMI: u8 = 1;
/// IST slot of #DF.
pub const IST_DOUBLE_FAULT: u8 = 2;
/// IST slot of #MC.
pub const IST_MACHINE_CHECK: u8 = 3;
const IST_STACK_SIZE: usize = 8192;

#[repr(C, packed)]
pub struct Tss {
    reserved0: u32,
    pub rsp0: u64,
    rsp1: u64,
    rsp2: u64,
    reserved1: u64,
    ist: [u64; 7],
    reserved2: u64,
    reserved3: u16,
    iomap_base: u16,
    /// One bit per port: 1 = denied. One extra byte of all ones, as the
    /// architecture requires.
    iomap: [u8; IO_BITMAP_BYTES + 1],
}

pub static mut TSS: Tss = Tss {
    reserved0: 0,
    rsp0: 0,
    rsp1: 0,
    rsp2: 0,
    reserved1: 0,
    ist: [0; 7],
    reserved2: 0,
    reserved3: 0,
    iomap_base: 0,
    iomap: [0xFF; IO_BITMAP_BYTES + 1],
};

#[repr(C, align(16))]
struct IstStacks([[u8; IST_STACK_SIZE]; 3]);
static mut IST_STACKS: IstStacks = IstStacks([[0; IST_STACK_SIZE]; 3]);

extern "C" {
    static mut GDT: [u64; 7];
}

/// The TSS descriptor's first GDT slot (its selector, [`TSS_SEL`], / 8).
const TSS_SLOT: usize = TSS_SEL as usize / 8;

/// Installs the TSS descriptor and loads it.
pub fn init() {
    // SAFETY: single CPU, called once at boot before any task runs; GDT and
    // TSS are statics that live forever.
    unsafe {
        let tss = &raw mut TSS;
        (*tss).iomap_base = core::mem::offset_of!(Tss, iomap) as u16;
        let ist = &raw mut IST_STACKS;
        for slot in [IST_NMI, IST_DOUBLE_FAULT, IST_MACHINE_CHECK] {
            let i = slot as usize - 1;
            let top = (&raw mut (*ist).0[i]) as u64 + IST_STACK_SIZE as u64;
            (*tss).ist[i] = top;
        }
        let base = tss as u64;
        let limit = (core::mem::size_of::<Tss>() - 1) as u64;
        let descriptor: Descriptor64 =
            <DescriptorBuilder as GateDescriptorBuilder<u64>>::tss_descriptor(base, limit, true)
                .present()
                .finish();
        // A 64-bit system descriptor is two GDT slots.
        let [low, high] = core::mem::transmute::<Descriptor64, [u64; 2]>(descriptor);
        let gdt = &raw mut GDT;
        (*gdt)[TSS_SLOT] = low;
        (*gdt)[TSS_SLOT + 1] = high;
        lgdt(&DescriptorTablePointer::new_from_slice(&*gdt));
        load_tr(SegmentSelector::from_raw(TSS_SEL));
    }
}

/// Points `RSP0` at the end of the current task's save area.
pub fn set_rsp0(top: u64) {
    let tss = &raw mut TSS;
    // SAFETY: single CPU, kernel code runs with interrupts masked.
    unsafe { (*tss).rsp0 = top }
}

/// Grants (`allow`) or revokes a port range in the I/O bitmap.
pub fn set_ports(base: u16, count: u16, allow: bool) {
    for port in base as usize..(base as usize + count as usize).min(IO_BITMAP_PORTS) {
        let (byte, bit) = (port / 8, port % 8);
        // SAFETY: single CPU, masked interrupts; `byte` is in bounds by the
        // `min` above.
        unsafe {
            let tss = &raw mut TSS;
            let map = &raw mut (*tss).iomap;
            if allow {
                (*map)[byte] &= !(1 << bit);
            } else {
                (*map)[byte] |= 1 << bit;
            }
        }
    }
}
