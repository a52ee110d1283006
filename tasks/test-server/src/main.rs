//! Kernel test image: a server for the IPC, lease and interrupt scenarios.
#![no_std]
#![no_main]

mod edu_irq;
mod forge_msi;
mod uart_irq;

use abi::{lease, TaskId};
use test_api::*;
use userlib::*;

task_config!();

#[export_name = "main"]
fn main() -> ! {
    let mut buf = [0u8; abi::MAX_MESSAGE];
    loop {
        let Ok(msg) = sys_recv(&mut buf, 0, TaskId::ANY) else {
            continue;
        };
        let len = msg.message_len.min(buf.len());
        match msg.operation {
            SERVER_ECHO => sys_reply(msg.sender, 0, &buf[..len]),
            SERVER_LEASE_UPPER => lease_upper(msg),
            SERVER_LEASE_READ_AT => {
                let offset = u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
                let n = u32::from_le_bytes([buf[4], buf[5], buf[6], buf[7]]) as usize;
                let mut dst = [0u8; 64];
                let rc = match sys_borrow_read(msg.sender, 0, offset, &mut dst[..n.min(64)]) {
                    Ok(_) => 0,
                    Err(code) => code,
                };
                sys_reply(msg.sender, 0, &rc.to_le_bytes());
            }
            SERVER_IOAPIC_TEST => {
                let ok = uart_irq::raise_and_wait();
                sys_reply(msg.sender, 0, &[ok as u8]);
            }
            SERVER_FORGE_MSI => {
                let data = u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]);
                let done = forge_msi::forge(data);
                sys_reply(msg.sender, 0, &[done as u8]);
            }
            SERVER_IRQ_TEST => {
                let ok = edu_irq::raise_and_wait();
                sys_reply(msg.sender, 0, &[ok as u8]);
            }
            _ => sys_reply_fault(msg.sender, abi::ReplyFaultReason::UndefinedOperation),
        }
    }
}

fn lease_upper(msg: abi::RecvMessage) {
    let leases_ok = msg.lease_count == 2
        && sys_borrow_info(msg.sender, 0).is_ok_and(|(a, _)| a & lease::READ != 0)
        && sys_borrow_info(msg.sender, 1).is_ok_and(|(a, _)| a & lease::WRITE != 0);
    if !leases_ok {
        return sys_reply_fault(msg.sender, abi::ReplyFaultReason::BadLeases);
    }
    let mut data = [0u8; 64];
    let n = sys_borrow_info(msg.sender, 0).map_or(0, |(_, l)| l.min(64));
    if sys_borrow_read(msg.sender, 0, 0, &mut data[..n]).is_err() {
        return sys_reply_fault(msg.sender, abi::ReplyFaultReason::BadLeases);
    }
    data[..n].make_ascii_uppercase();
    let written = sys_borrow_write(msg.sender, 1, 0, &data[..n]).unwrap_or(0);
    sys_reply(msg.sender, 0, &(written as u32).to_le_bytes());
}
