//! Log records on COM2, and the kernel's own defmt logger.
//!
//! A record is `[LOG_FRAME_MAGIC, task index, time in ms (u32 LE),
//! length (u16 LE), frame bytes]`: xtask finds the ELF of the task index and
//! decodes the defmt frame with it. Tasks hand over whole frames with the
//! `log` syscall; the kernel's frames carry `KERNEL_LOG_INDEX`.

use abi::{KERNEL_LOG_INDEX, LOG_FRAME_MAGIC};

use crate::arch::serial::{self, COM2};

/// Longest kernel frame; longer ones are dropped and counted.
const FRAME_CAP: usize = 512;

/// Writes one record.
pub fn record(task: u8, now_ms: u64, frame: &[u8]) {
    let t = (now_ms as u32).to_le_bytes();
    let l = (frame.len() as u16).to_le_bytes();
    serial::write(
        COM2,
        &[LOG_FRAME_MAGIC, task, t[0], t[1], t[2], t[3], l[0], l[1]],
    );
    serial::write(COM2, frame);
}

struct FrameBuf {
    bytes: [u8; FRAME_CAP],
    len: usize,
    overflow: bool,
}

static mut BUF: FrameBuf = FrameBuf {
    bytes: [0; FRAME_CAP],
    len: 0,
    overflow: false,
};
static mut ENCODER: defmt::Encoder = defmt::Encoder::new();

fn buf() -> &'static mut FrameBuf {
    let p = &raw mut BUF;
    // SAFETY: one CPU, interrupts masked while logging (the idle loop does
    // not log), so acquire/write/release never nest.
    unsafe { &mut *p }
}

fn encoder() -> &'static mut defmt::Encoder {
    let p = &raw mut ENCODER;
    // SAFETY: as `buf`.
    unsafe { &mut *p }
}

fn push(bytes: &[u8]) {
    let b = buf();
    match b.bytes.get_mut(b.len..b.len + bytes.len()) {
        Some(dst) => {
            dst.copy_from_slice(bytes);
            b.len += bytes.len();
        }
        None => b.overflow = true,
    }
}

#[defmt::global_logger]
struct KernelLogger;

// SAFETY: the kernel is single-threaded with interrupts masked; acquire and
// release bracket every frame.
unsafe impl defmt::Logger for KernelLogger {
    fn acquire() {
        let b = buf();
        b.len = 0;
        b.overflow = false;
        encoder().start_frame(push);
    }

    unsafe fn flush() {}

    unsafe fn release() {
        encoder().end_frame(push);
        let b = buf();
        let now = crate::kernel::k().now_ms;
        if b.overflow {
            crate::kernel::k().dropped_logs += 1;
        } else {
            record(KERNEL_LOG_INDEX, now, &b.bytes[..b.len]);
        }
    }

    unsafe fn write(bytes: &[u8]) {
        encoder().write(bytes, push);
    }
}
