//! A task's saved registers, and what each syscall finds in them and
//! leaves in them: the only place the kernel names an x86 register.
//!
//! The syscall convention is `abi`'s (arguments in `rdi, rsi, rdx, r10, r8,
//! r9, r12, r13`, results in `rax, rdi, rsi, rdx, r10, r8`). The rest of the
//! kernel reads typed arguments ([`SendArgs`], [`RecvArgs`], ...) and
//! writes typed results ([`SavedRegs::deliver_message`], ...), inlined to
//! the same loads and stores. Two values stay in the registers while a
//! task is blocked, because a later delivery needs them: a receiver's
//! buffer capacity ([`SavedRegs::receive_capacity`]) and a sender's reply
//! capacity and lease table ([`SavedRegs::reply_capacity`],
//! [`SavedRegs::lease_table`]).

use abi::{rc, TaskId};

/// Registers saved on every entry, laid out as the entry code pushes them:
/// general registers, then vector and error code, then the CPU's `iretq`
/// frame. Its end must be 16-byte aligned (`TSS.RSP0` points there).
#[repr(C, align(16))]
#[derive(Copy, Clone, Debug, Default)]
pub struct SavedRegs {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rbp: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rdx: u64,
    pub rcx: u64,
    pub rbx: u64,
    pub rax: u64,
    pub vector: u64,
    pub error: u64,
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
}

/// Size of [`SavedRegs`]; the entry code has it as a literal (22 * 8).
pub const SAVED_REGS_SIZE: usize = 22 * 8;
const _: () = assert!(core::mem::size_of::<SavedRegs>() == SAVED_REGS_SIZE);

/// The slots `syscall_entry` stores by number (`[rsp + n * 8]`).
const _: () = {
    use core::mem::offset_of;
    assert!(offset_of!(SavedRegs, r15) == 0);
    assert!(offset_of!(SavedRegs, r10) == 5 * 8);
    assert!(offset_of!(SavedRegs, rax) == 14 * 8);
    assert!(offset_of!(SavedRegs, rip) == 17 * 8);
    assert!(offset_of!(SavedRegs, rflags) == 19 * 8);
    assert!(offset_of!(SavedRegs, rsp) == 20 * 8);
};

/// A buffer a task names: its address and length, unchecked.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct UserBuf {
    /// The task's virtual address.
    pub addr: u64,
    /// Bytes.
    pub len: u64,
}

/// `send(target, op, msg, reply, leases)`.
#[derive(Copy, Clone, Debug)]
pub struct SendArgs {
    pub target: TaskId,
    pub op: u32,
    pub msg: UserBuf,
    pub reply: UserBuf,
    /// The lease table: address and *count* of `abi::Lease` records.
    pub leases: UserBuf,
}

/// `recv(buf, mask, from)`, and `reply_recv`'s receive half.
#[derive(Copy, Clone, Debug)]
pub struct RecvArgs {
    pub buf: UserBuf,
    pub mask: u32,
    pub from: TaskId,
}

/// `reply(to, code, msg)`, and `reply_recv`'s reply half.
#[derive(Copy, Clone, Debug)]
pub struct ReplyArgs {
    pub to: TaskId,
    pub code: u32,
    pub msg: UserBuf,
}

/// `borrow_read`/`borrow_write(from, lease, offset, buf)`,
/// `borrow_info(from, lease)`.
#[derive(Copy, Clone, Debug)]
pub struct BorrowArgs {
    pub from: TaskId,
    pub lease: u64,
    pub offset: u64,
    pub buf: UserBuf,
}

/// What a receiver learns of a message delivered to it.
#[derive(Copy, Clone, Debug)]
pub struct Delivery {
    pub sender: TaskId,
    pub op: u32,
    pub len: u64,
    pub reply_capacity: u64,
    pub leases: u64,
}

/// What a trap's frame says.
#[derive(Copy, Clone, Debug)]
pub struct Trap {
    pub vector: u64,
    pub error: u64,
    pub rip: u64,
    /// The privilege level it came from (3: a task).
    pub ring: u64,
}

impl SavedRegs {
    /// All zero: an unused task slot.
    pub const ZERO: SavedRegs = SavedRegs {
        r15: 0,
        r14: 0,
        r13: 0,
        r12: 0,
        r11: 0,
        r10: 0,
        r9: 0,
        r8: 0,
        rbp: 0,
        rdi: 0,
        rsi: 0,
        rdx: 0,
        rcx: 0,
        rbx: 0,
        rax: 0,
        vector: 0,
        error: 0,
        rip: 0,
        cs: 0,
        rflags: 0,
        rsp: 0,
        ss: 0,
    };

    /// The `n`th argument (0..8) of a syscall with plain values.
    #[inline(always)]
    pub fn arg(&self, n: usize) -> u64 {
        match n {
            0 => self.rdi,
            1 => self.rsi,
            2 => self.rdx,
            3 => self.r10,
            4 => self.r8,
            5 => self.r9,
            6 => self.r12,
            _ => self.r13,
        }
    }

    /// Every argument, for a log line about a refused syscall.
    pub fn args(&self) -> [u64; 8] {
        core::array::from_fn(|n| self.arg(n))
    }

    #[inline(always)]
    pub fn send_args(&self) -> SendArgs {
        SendArgs {
            target: TaskId(self.rdi as u16),
            op: self.rsi as u32,
            msg: UserBuf {
                addr: self.rdx,
                len: self.r10,
            },
            reply: UserBuf {
                addr: self.r8,
                len: self.r9,
            },
            leases: UserBuf {
                addr: self.r12,
                len: self.r13,
            },
        }
    }

    #[inline(always)]
    pub fn recv_args(&self) -> RecvArgs {
        RecvArgs {
            buf: UserBuf {
                addr: self.rdi,
                len: self.rsi,
            },
            mask: self.rdx as u32,
            from: TaskId(self.r10 as u16),
        }
    }

    #[inline(always)]
    pub fn reply_args(&self) -> ReplyArgs {
        ReplyArgs {
            to: TaskId(self.rdi as u16),
            code: self.rsi as u32,
            msg: UserBuf {
                addr: self.rdx,
                len: self.r10,
            },
        }
    }

    /// `reply_recv(to, code, msg, buf, mask, from)`: the reply's arguments
    /// are `reply`'s, the receive's follow.
    #[inline(always)]
    pub fn reply_recv_args(&self) -> (ReplyArgs, RecvArgs) {
        let recv = RecvArgs {
            buf: UserBuf {
                addr: self.r8,
                len: self.r9,
            },
            mask: self.r12 as u32,
            from: TaskId(self.r13 as u16),
        };
        (self.reply_args(), recv)
    }

    #[inline(always)]
    pub fn borrow_args(&self) -> BorrowArgs {
        BorrowArgs {
            from: TaskId(self.rdi as u16),
            lease: self.rsi,
            offset: self.rdx,
            buf: UserBuf {
                addr: self.r10,
                len: self.r8,
            },
        }
    }

    /// A blocked sender's reply buffer capacity (from its `send`).
    #[inline(always)]
    pub fn reply_capacity(&self) -> u64 {
        self.r9
    }

    /// A blocked sender's lease table (address, count), from its `send`.
    #[inline(always)]
    pub fn lease_table(&self) -> UserBuf {
        UserBuf {
            addr: self.r12,
            len: self.r13,
        }
    }

    /// A blocked receiver's buffer capacity: where `recv` put it.
    #[inline(always)]
    pub fn receive_capacity(&self) -> u64 {
        self.rsi
    }

    /// Keeps a receive's capacity where [`Self::receive_capacity`] finds it
    /// (`reply_recv` passes it elsewhere).
    #[inline(always)]
    pub fn set_receive_capacity(&mut self, cap: u64) {
        self.rsi = cap;
    }

    /// A syscall's response code, with no value (`rdi` cleared, so an
    /// error never carries a stale length or ID).
    #[inline(always)]
    pub fn set_code(&mut self, code: u32) {
        self.rax = code as u64;
        self.rdi = 0;
    }

    /// A syscall's success with up to two values.
    #[inline(always)]
    pub fn set_ok(&mut self, a: u64, b: u64) {
        self.rax = rc::OK as u64;
        self.rdi = a;
        self.rsi = b;
    }

    /// `get_timer`'s three values (its first is in the code's place).
    #[inline(always)]
    pub fn set_values(&mut self, first: u64, a: u64, b: u64) {
        self.rax = first;
        self.rdi = a;
        self.rsi = b;
    }

    /// A message arrives in a receive.
    #[inline(always)]
    pub fn deliver_message(&mut self, m: Delivery) {
        self.rax = rc::OK as u64;
        self.rdi = m.sender.0 as u64;
        self.rsi = m.op as u64;
        self.rdx = m.len;
        self.r10 = m.reply_capacity;
        self.r8 = m.leases;
    }

    /// Notification bits arrive in a receive.
    #[inline(always)]
    pub fn deliver_notification(&mut self, bits: u32) {
        self.deliver_message(Delivery {
            sender: TaskId::KERNEL,
            op: bits,
            len: 0,
            reply_capacity: 0,
            leases: 0,
        });
    }

    /// A reply arrives in a send.
    #[inline(always)]
    pub fn deliver_reply(&mut self, code: u32, len: u64) {
        self.rax = code as u64;
        self.rdi = len;
    }

    /// What the trap that saved these registers was.
    pub fn trap(&self) -> Trap {
        Trap {
            vector: self.vector,
            error: self.error,
            rip: self.rip,
            ring: self.cs & 3,
        }
    }

    /// A task's first registers: at `entry` with `stack_top`, interrupts on.
    pub fn initial(entry: u64, stack_top: u64, rflags: u64) -> Self {
        use super::boot::{USER_CS, USER_DS};
        SavedRegs {
            rip: entry,
            cs: USER_CS as u64,
            rflags,
            rsp: stack_top,
            ss: USER_DS as u64,
            ..SavedRegs::default()
        }
    }
}
