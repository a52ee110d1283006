//! COM1, owned by the console task (app.toml grants ports 0x3f8..0x3ff).
//! Polled: the console checks for input every few milliseconds.

use core::arch::asm;

const COM1: u16 = 0x3F8;
const LINE_STATUS: u16 = 5;
const DATA_READY: u8 = 1;
const TX_EMPTY: u8 = 0x20;

fn inb(port: u16) -> u8 {
    let v: u8;
    // SAFETY: COM1's ports are granted to this task in app.toml.
    unsafe { asm!("in al, dx", in("dx") port, out("al") v, options(nomem, nostack)) };
    v
}

fn outb(port: u16, v: u8) {
    // SAFETY: as `inb`.
    unsafe { asm!("out dx, al", in("dx") port, in("al") v, options(nomem, nostack)) };
}

/// A byte, if one arrived.
pub fn read() -> Option<u8> {
    (inb(COM1 + LINE_STATUS) & DATA_READY != 0).then(|| inb(COM1))
}

/// Writes bytes (LF becomes CRLF).
pub fn write(bytes: &[u8]) {
    for &b in bytes {
        if b == b'\n' {
            put(b'\r');
        }
        put(b);
    }
}

fn put(b: u8) {
    while inb(COM1 + LINE_STATUS) & TX_EMPTY == 0 {}
    outb(COM1, b);
}

/// `core::fmt` onto COM1.
pub struct Out;

impl core::fmt::Write for Out {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        write(s.as_bytes());
        Ok(())
    }
}
