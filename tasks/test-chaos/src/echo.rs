//! The echo server the chaos task calls: replies with what it got, and
//! borrows whatever leases come with a `BORROW` at the offset asked for.

use abi::{TaskId, MAX_LEASES, MAX_MESSAGE};
use task_test_chaos::{BORROW, BORROW_REQUEST, ECHO};
use userlib::*;

pub fn run() -> ! {
    let mut buf = [0u8; MAX_MESSAGE];
    let mut scratch = [0u8; MAX_MESSAGE];
    loop {
        let Ok(msg) = sys_recv(&mut buf, 0, TaskId::ANY) else {
            continue;
        };
        let len = msg.message_len.min(buf.len());
        match msg.operation {
            ECHO => sys_reply(msg.sender, 0, &buf[..len]),
            BORROW if len >= BORROW_REQUEST => {
                let mut w8 = [0u8; 8];
                w8.copy_from_slice(&buf[..8]);
                let offset = u64::from_le_bytes(w8) as usize;
                let n = u32::from_le_bytes([buf[8], buf[9], buf[10], buf[11]]) as usize;
                let write = buf[12] != 0;
                let mut out = [0u8; 4 * MAX_LEASES];
                for (i, code) in out.chunks_exact_mut(4).enumerate().take(msg.lease_count) {
                    let _ = sys_borrow_info(msg.sender, i);
                    let window = &mut scratch[..n.min(MAX_MESSAGE)];
                    let r = if write {
                        sys_borrow_write(msg.sender, i, offset, window)
                    } else {
                        sys_borrow_read(msg.sender, i, offset, window)
                    };
                    let rc = match r {
                        Ok(_) => abi::rc::OK,
                        Err(rc) => rc,
                    };
                    code.copy_from_slice(&rc.to_le_bytes());
                }
                sys_reply(msg.sender, 0, &out[..4 * msg.lease_count.min(MAX_LEASES)]);
            }
            // Anything else: an empty answer, never a reply fault.
            _ => sys_reply(msg.sender, 0, &[]),
        }
    }
}
