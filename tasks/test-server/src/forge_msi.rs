//! A device forging an interrupt: edu DMA-writes a chosen MSI data word to
//! 0xFEE00000, the local APIC's interrupt window. DMA remapping does not
//! translate that window, so without interrupt remapping any device can
//! raise any vector (or an NMI) this way; the kernel must survive it.
//!
//! edu cannot be written directly, so the word goes RAM → edu's buffer →
//! 0xFEE00000, two DMAs. The machine gives edu `dma_mask=0xffffffff` (its
//! default of 28 bits would cut the address into RAM).

use userlib::*;

use crate::{config, edu_irq};

const DMA_SRC: u64 = 0x80;
const DMA_DST: u64 = 0x88;
const DMA_COUNT: u64 = 0x90;
const DMA_CMD: u64 = 0x98;
const CMD_RUN: u64 = 1 << 0;
const CMD_TO_RAM: u64 = 1 << 1;
/// edu's internal buffer as a DMA address.
const EDU_BUFFER: u64 = 0x4_0000;
/// Where a device's MSI write lands: the local APIC of CPU 0.
const INTERRUPT_WINDOW: u64 = 0xFEE0_0000;
/// edu finishes a transfer about 100 ms after it starts; wait at most this.
const DMA_WAIT_MS: u64 = 1000;
const POLL_MS: u64 = 10;

fn reg(off: u64) -> *mut u64 {
    (config::regions::EDU.vaddr + off) as *mut u64
}

/// Runs one edu DMA; false if it did not finish in time.
fn dma(src: u64, dst: u64, count: u64, cmd: u64) -> bool {
    // SAFETY: edu's BAR0, mapped uncached into this task by app.toml;
    // its DMA registers take 64-bit accesses.
    unsafe {
        reg(DMA_SRC).write_volatile(src);
        reg(DMA_DST).write_volatile(dst);
        reg(DMA_COUNT).write_volatile(count);
        reg(DMA_CMD).write_volatile(cmd | CMD_RUN);
    }
    let deadline = sys_get_timer() + DMA_WAIT_MS;
    while sys_get_timer() < deadline {
        // SAFETY: as above.
        if unsafe { reg(DMA_CMD).read_volatile() } & CMD_RUN == 0 {
            return true;
        }
        sys_set_timer(
            Some(sys_get_timer() + POLL_MS),
            config::notifications::TIMER,
        );
        sys_recv_notification(config::notifications::TIMER);
    }
    false
}

/// Makes edu write `data` to the interrupt window; whether both DMAs ran.
pub fn forge(data: u32) -> bool {
    if !edu_irq::enable() {
        return false;
    }
    let (va, pa) = (
        config::regions::SERVER_DMA.vaddr,
        config::regions::SERVER_DMA.paddr,
    );
    // SAFETY: this task's own DMA region, mapped writable.
    unsafe { (va as *mut u32).write_volatile(data) };
    dma(pa, EDU_BUFFER, 4, 0) && dma(EDU_BUFFER, INTERRUPT_WINDOW, 4, CMD_TO_RAM)
}
