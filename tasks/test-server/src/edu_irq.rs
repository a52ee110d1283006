//! Raises an interrupt from QEMU's edu device through its MSI and waits for
//! it to arrive as a notification: the whole device-interrupt path of the
//! kernel (vector → task → notification → irq_control).
//!
//! The task owns port 0xCF8/0xCFC (config space) and edu's BAR0 region; it
//! places BAR0 at the region's address itself, so the test does not depend
//! on where firmware put it.

use core::arch::asm;
use userlib::*;

use crate::config;

const CONFIG_ADDRESS: u16 = 0xCF8;
const CONFIG_DATA: u16 = 0xCFC;
/// edu sits at 00:02.0 in the test machine.
const EDU_DEVFN: u32 = 2 << 3;
const EDU_ID: u32 = 0x11E8_1234;
const REG_ID: u16 = 0x00;
const REG_COMMAND: u16 = 0x04;
const REG_BAR0: u16 = 0x10;
const REG_CAP_PTR: u16 = 0x34;
const CAP_MSI: u8 = 0x05;
const CMD_MEMORY: u32 = 1 << 1;
const CMD_BUS_MASTER: u32 = 1 << 2;
const MSI_ENABLE: u32 = 1 << 16;
const MSI_ADDRESS: u32 = 0xFEE0_0000;
const EDU_RAISE: u64 = 0x60;
const EDU_ACK: u64 = 0x64;
/// How long to wait for the interrupt.
const WAIT_MS: u64 = 200;

fn outl(port: u16, v: u32) {
    // SAFETY: the port is granted to this task in app.toml (TSS bitmap).
    unsafe { asm!("out dx, eax", in("dx") port, in("eax") v, options(nomem, nostack)) }
}

fn inl(port: u16) -> u32 {
    let v: u32;
    // SAFETY: as `outl`.
    unsafe { asm!("in eax, dx", in("dx") port, out("eax") v, options(nomem, nostack)) }
    v
}

fn cfg_read(off: u16) -> u32 {
    outl(
        CONFIG_ADDRESS,
        0x8000_0000 | (EDU_DEVFN << 8) | (off as u32 & 0xFC),
    );
    inl(CONFIG_DATA)
}

fn cfg_write(off: u16, v: u32) {
    outl(
        CONFIG_ADDRESS,
        0x8000_0000 | (EDU_DEVFN << 8) | (off as u32 & 0xFC),
    );
    outl(CONFIG_DATA, v);
}

fn mmio_write(off: u64, v: u32) {
    // SAFETY: edu's BAR0, mapped uncached into this task by app.toml.
    unsafe { ((config::regions::EDU.vaddr + off) as *mut u32).write_volatile(v) }
}

/// Places edu's BAR0 at its region and enables memory decoding and bus
/// mastering; false if there is no edu at 00:02.0.
pub fn enable() -> bool {
    if cfg_read(REG_ID) != EDU_ID {
        defmt::error!("no edu at 00:02.0");
        return false;
    }
    let cmd = cfg_read(REG_COMMAND) & 0xFFFF;
    cfg_write(REG_COMMAND, cmd & !CMD_MEMORY);
    cfg_write(REG_BAR0, config::regions::EDU.paddr as u32);
    cfg_write(REG_COMMAND, cmd | CMD_MEMORY | CMD_BUS_MASTER);
    true
}

/// Returns whether the interrupt arrived.
pub fn raise_and_wait() -> bool {
    if !enable() {
        return false;
    }
    let mut cap = (cfg_read(REG_CAP_PTR) & 0xFF) as u16;
    while cap != 0 && (cfg_read(cap) & 0xFF) as u8 != CAP_MSI {
        cap = ((cfg_read(cap) >> 8) & 0xFF) as u16;
    }
    if cap == 0 {
        defmt::error!("edu has no MSI capability");
        return false;
    }
    cfg_write(cap + 4, MSI_ADDRESS);
    cfg_write(cap + 8, 0);
    cfg_write(cap + 12, config::vectors::EDU_IRQ as u32);
    cfg_write(cap, cfg_read(cap) | MSI_ENABLE);
    sys_irq_control(config::notifications::EDU_IRQ, true);
    mmio_write(EDU_RAISE, 1);
    sys_set_timer(
        Some(sys_get_timer() + WAIT_MS),
        config::notifications::TIMER,
    );
    let bits = sys_recv_notification(config::notifications::EDU_IRQ | config::notifications::TIMER);
    mmio_write(EDU_ACK, 1);
    sys_set_timer(None, 0);
    bits & config::notifications::EDU_IRQ != 0
}
