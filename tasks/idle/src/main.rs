//! The idle task. It blocks forever in a receive that nothing can satisfy;
//! with every task blocked, the kernel halts the CPU until an interrupt.
//! It exists so that the lowest priority is always taken, as in Hubris.
#![no_std]
#![no_main]

use userlib::*;

#[export_name = "main"]
fn main() -> ! {
    loop {
        sys_recv_notification(0);
    }
}
