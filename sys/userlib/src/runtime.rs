//! The image-only runtime: `_start`, panics, and the defmt logger that hands
//! whole frames to the kernel.

use core::arch::global_asm;

extern crate rt;

global_asm!(
    ".section .text.start, \"ax\"",
    ".global _start",
    "_start:",
    "    xor ebp, ebp",
    "    call main",
    "    ud2",
);

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    let mut buf = Text {
        bytes: [0; 128],
        len: 0,
    };
    let _ = core::fmt::write(&mut buf, format_args!("{}", info.message()));
    if let Some(loc) = info.location() {
        let _ = core::fmt::write(&mut buf, format_args!(" at {}:{}", loc.file(), loc.line()));
    }
    crate::sys::sys_panic(&buf.bytes[..buf.len])
}

/// A fixed buffer for the panic message (no heap).
struct Text {
    bytes: [u8; 128],
    len: usize,
}

impl core::fmt::Write for Text {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for &b in s.as_bytes() {
            if self.len < self.bytes.len() {
                self.bytes[self.len] = b;
                self.len += 1;
            }
        }
        Ok(())
    }
}

const FRAME_CAP: usize = abi::MAX_MESSAGE;

struct Frame {
    bytes: [u8; FRAME_CAP],
    len: usize,
    overflow: bool,
}

static mut FRAME: Frame = Frame {
    bytes: [0; FRAME_CAP],
    len: 0,
    overflow: false,
};
static mut ENCODER: defmt::Encoder = defmt::Encoder::new();

fn frame() -> &'static mut Frame {
    let p = &raw mut FRAME;
    // SAFETY: a task is single-threaded and has no interrupts of its own:
    // acquire/write/release never overlap.
    unsafe { &mut *p }
}

fn encoder() -> &'static mut defmt::Encoder {
    let p = &raw mut ENCODER;
    // SAFETY: as `frame`.
    unsafe { &mut *p }
}

fn push(bytes: &[u8]) {
    let f = frame();
    match f.bytes.get_mut(f.len..f.len + bytes.len()) {
        Some(dst) => {
            dst.copy_from_slice(bytes);
            f.len += bytes.len();
        }
        None => f.overflow = true,
    }
}

#[defmt::global_logger]
struct TaskLogger;

// SAFETY: single-threaded task; acquire and release bracket every frame.
unsafe impl defmt::Logger for TaskLogger {
    fn acquire() {
        let f = frame();
        f.len = 0;
        f.overflow = false;
        encoder().start_frame(push);
    }

    unsafe fn flush() {}

    unsafe fn release() {
        encoder().end_frame(push);
        let f = frame();
        if !f.overflow {
            crate::sys::sys_log(&f.bytes[..f.len]);
        }
    }

    unsafe fn write(bytes: &[u8]) {
        encoder().write(bytes, push);
    }
}
