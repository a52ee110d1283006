//! The two 16550 UARTs: COM1 is the operator's console (plain text, owned by
//! the console task once it runs; the kernel writes only its banner and
//! fatal errors there), COM2 carries the binary log records that xtask
//! decodes (`[MAGIC, task, len lo, len hi, frame...]`).

use super::cpu::{inb, outb};

/// COM1's base port.
pub const COM1: u16 = 0x3F8;
/// COM2's base port.
pub const COM2: u16 = 0x2F8;

const DATA: u16 = 0;
const INT_ENABLE: u16 = 1;
const FIFO_CTRL: u16 = 2;
const LINE_CTRL: u16 = 3;
const MODEM_CTRL: u16 = 4;
const LINE_STATUS: u16 = 5;
const LSR_TX_EMPTY: u8 = 0x20;
const LCR_DLAB: u8 = 0x80;
const LCR_8N1: u8 = 0x03;
/// 115200 baud.
const DIVISOR: u8 = 1;

/// Programs a UART for 115200 8N1 with FIFOs, no interrupts.
pub fn init(base: u16) {
    outb(base + INT_ENABLE, 0);
    outb(base + LINE_CTRL, LCR_DLAB);
    outb(base + DATA, DIVISOR);
    outb(base + INT_ENABLE, 0);
    outb(base + LINE_CTRL, LCR_8N1);
    outb(base + FIFO_CTRL, 0xC7);
    outb(base + MODEM_CTRL, 0x03);
}

/// Writes bytes, waiting for room.
pub fn write(base: u16, bytes: &[u8]) {
    for &b in bytes {
        while inb(base + LINE_STATUS) & LSR_TX_EMPTY == 0 {}
        outb(base + DATA, b);
    }
}

/// `core::fmt` onto COM1, for the banner and fatal errors.
pub struct Console;

impl core::fmt::Write for Console {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        write(COM1, s.as_bytes());
        Ok(())
    }
}
