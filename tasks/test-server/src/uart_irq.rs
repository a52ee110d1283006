//! Raises an interrupt through the IOAPIC: COM1's transmitter-empty
//! interrupt (ISA IRQ 4), which fires as soon as it is enabled with nothing
//! to send. The whole legacy path: IOAPIC input → vector → task
//! notification → masked until `irq_control`.

use core::arch::asm;
use userlib::*;

use crate::config;

const COM1: u16 = 0x3F8;
const INT_ENABLE: u16 = 1;
const MODEM_CTRL: u16 = 4;
const IER_TX_EMPTY: u8 = 1 << 1;
/// The PC's gate between the UART and its interrupt line.
const MCR_OUT2: u8 = 1 << 3;
/// How long to wait for the interrupt.
const WAIT_MS: u64 = 200;

fn outb(port: u16, v: u8) {
    // SAFETY: COM1's ports are granted to this task in app.toml.
    unsafe { asm!("out dx, al", in("dx") port, in("al") v, options(nomem, nostack)) }
}

fn inb(port: u16) -> u8 {
    let v: u8;
    // SAFETY: as `outb`.
    unsafe { asm!("in al, dx", in("dx") port, out("al") v, options(nomem, nostack)) }
    v
}

/// Returns whether the interrupt arrived as the `uart-irq` notification.
pub fn raise_and_wait() -> bool {
    sys_irq_control(config::notifications::UART_IRQ, true);
    outb(COM1 + MODEM_CTRL, inb(COM1 + MODEM_CTRL) | MCR_OUT2);
    outb(COM1 + INT_ENABLE, IER_TX_EMPTY);
    sys_set_timer(
        Some(sys_get_timer() + WAIT_MS),
        config::notifications::TIMER,
    );
    let bits =
        sys_recv_notification(config::notifications::UART_IRQ | config::notifications::TIMER);
    outb(COM1 + INT_ENABLE, 0);
    sys_set_timer(None, 0);
    bits & config::notifications::UART_IRQ != 0
}
