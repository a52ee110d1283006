//! What the kernel tells the supervisor of one task (kipc `ReadTaskStatus`):
//! one record, encoded and decoded here so the kernel and the supervisor
//! cannot disagree on a byte offset.
//!
//! It answers the operator's "what is each task doing?" as `humility tasks`
//! does for Hubris: faulted and why, or its scheduling state (runnable,
//! blocked sending to whom, awaiting whose reply, receiving from anyone or
//! from one task, with the notification bits it waits for), and how deep its
//! stack has been used against its size.

use crate::FaultInfo;

/// A task's scheduling state, as the kernel holds it.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum SchedState {
    /// Ready to run (or running).
    Runnable,
    /// Blocked in `send` to this task index: the receiver is not receiving.
    InSend(u16),
    /// Its message was delivered to this task index; waiting for the reply.
    InReply(u16),
    /// Blocked in `recv`: from any task (`from: None`) or one task, and
    /// woken too by any of the `notifications` bits.
    InRecv {
        /// The one sender it accepts, or any.
        from: Option<u16>,
        /// The notification bits that wake it.
        notifications: u32,
    },
    /// Not started, or held by the supervisor after a crash loop.
    #[default]
    Stopped,
}

/// One task's status.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct TaskStatus {
    /// Its generation.
    pub generation: u8,
    /// Its fault, if it is faulted now (it runs no more until restarted).
    pub fault: Option<FaultInfo>,
    /// Its scheduling state (meaningless while faulted: [`SchedState::Stopped`]).
    pub sched: SchedState,
    /// Sends, posts and look-ups refused it for want of a right since boot.
    pub refusals: u32,
    /// Whether its current (or, if faulted, last) incarnation reached its
    /// serving loop (blocked in an open receive).
    pub served: bool,
    /// Bytes of its stack ever used (the painted high-water mark).
    pub stack_used: u32,
    /// Its stack's size in bytes.
    pub stack_size: u32,
}

/// Length of an encoded [`TaskStatus`].
pub const TASK_STATUS_LEN: usize = at::STACK_SIZE + core::mem::size_of::<u32>();

/// Scheduling-state codes on the wire.
mod code {
    pub const RUNNABLE: u8 = 0;
    pub const IN_SEND: u8 = 1;
    pub const IN_REPLY: u8 = 2;
    pub const IN_RECV_ANY: u8 = 3;
    pub const IN_RECV_FROM: u8 = 4;
    pub const STOPPED: u8 = 5;
}

/// Byte offsets of the encoding.
mod at {
    pub const FAULTED: usize = 0;
    pub const GENERATION: usize = 1;
    pub const FAULT_KIND: usize = 2;
    pub const FAULT_A: usize = 6;
    pub const FAULT_B: usize = 14;
    pub const REFUSALS: usize = 22;
    pub const SERVED: usize = 26;
    pub const SCHED: usize = 27;
    pub const PEER: usize = 28;
    pub const NOTIFICATIONS: usize = 30;
    pub const STACK_USED: usize = 34;
    pub const STACK_SIZE: usize = 38;
}

impl TaskStatus {
    /// The record as the kernel sends it.
    pub fn encode(&self) -> [u8; TASK_STATUS_LEN] {
        let mut out = [0u8; TASK_STATUS_LEN];
        if let Some(f) = self.fault {
            let (kind, a, b) = f.encode();
            out[at::FAULTED] = 1;
            out[at::FAULT_KIND..at::FAULT_A].copy_from_slice(&kind.to_le_bytes());
            out[at::FAULT_A..at::FAULT_B].copy_from_slice(&a.to_le_bytes());
            out[at::FAULT_B..at::REFUSALS].copy_from_slice(&b.to_le_bytes());
        }
        out[at::GENERATION] = self.generation;
        out[at::REFUSALS..at::SERVED].copy_from_slice(&self.refusals.to_le_bytes());
        out[at::SERVED] = u8::from(self.served);
        let (sched, peer, notifications) = match self.sched {
            SchedState::Runnable => (code::RUNNABLE, 0, 0),
            SchedState::InSend(t) => (code::IN_SEND, t, 0),
            SchedState::InReply(t) => (code::IN_REPLY, t, 0),
            SchedState::InRecv {
                from: None,
                notifications,
            } => (code::IN_RECV_ANY, 0, notifications),
            SchedState::InRecv {
                from: Some(t),
                notifications,
            } => (code::IN_RECV_FROM, t, notifications),
            SchedState::Stopped => (code::STOPPED, 0, 0),
        };
        out[at::SCHED] = sched;
        out[at::PEER..at::NOTIFICATIONS].copy_from_slice(&peer.to_le_bytes());
        out[at::NOTIFICATIONS..at::STACK_USED].copy_from_slice(&notifications.to_le_bytes());
        out[at::STACK_USED..at::STACK_SIZE].copy_from_slice(&self.stack_used.to_le_bytes());
        out[at::STACK_SIZE..].copy_from_slice(&self.stack_size.to_le_bytes());
        out
    }

    /// The record from the kernel's bytes; `None` if they are not one.
    pub fn decode(bytes: &[u8]) -> Option<TaskStatus> {
        let bytes: &[u8; TASK_STATUS_LEN] = bytes.try_into().ok()?;
        let u16_at = |i: usize| u16::from_le_bytes([bytes[i], bytes[i + 1]]);
        let u32_at =
            |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
        let u64_at = |i: usize| u64::from(u32_at(i)) | u64::from(u32_at(i + 4)) << 32;
        let fault = match bytes[at::FAULTED] {
            0 => None,
            1 => Some(FaultInfo::decode(
                u32_at(at::FAULT_KIND),
                u64_at(at::FAULT_A),
                u64_at(at::FAULT_B),
            )?),
            _ => return None,
        };
        let (peer, notifications) = (u16_at(at::PEER), u32_at(at::NOTIFICATIONS));
        let sched = match bytes[at::SCHED] {
            code::RUNNABLE => SchedState::Runnable,
            code::IN_SEND => SchedState::InSend(peer),
            code::IN_REPLY => SchedState::InReply(peer),
            code::IN_RECV_ANY => SchedState::InRecv {
                from: None,
                notifications,
            },
            code::IN_RECV_FROM => SchedState::InRecv {
                from: Some(peer),
                notifications,
            },
            code::STOPPED => SchedState::Stopped,
            _ => return None,
        };
        let served = match bytes[at::SERVED] {
            0 => false,
            1 => true,
            _ => return None,
        };
        Some(TaskStatus {
            generation: bytes[at::GENERATION],
            fault,
            sched,
            refusals: u32_at(at::REFUSALS),
            served,
            stack_used: u32_at(at::STACK_USED),
            stack_size: u32_at(at::STACK_SIZE),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(sched: SchedState, fault: Option<FaultInfo>) -> TaskStatus {
        TaskStatus {
            generation: 3,
            fault,
            sched,
            refusals: 0x0102_0304,
            served: true,
            stack_used: 12_345,
            stack_size: 65_536,
        }
    }

    #[test]
    fn every_scheduling_state_survives_the_kernels_encoding() {
        for sched in [
            SchedState::Runnable,
            SchedState::InSend(7),
            SchedState::InReply(0xFFFE),
            SchedState::InRecv {
                from: None,
                notifications: 0x8000_0001,
            },
            SchedState::InRecv {
                from: Some(2),
                notifications: 0,
            },
            SchedState::Stopped,
        ] {
            let s = status(sched, None);
            assert_eq!(TaskStatus::decode(&s.encode()), Some(s));
        }
    }

    #[test]
    fn a_fault_survives_the_kernels_encoding() {
        let s = status(
            SchedState::Stopped,
            Some(FaultInfo::PageFault {
                address: 0xdead_b000,
                write: true,
                execute: false,
                present: true,
            }),
        );
        assert_eq!(TaskStatus::decode(&s.encode()), Some(s));
    }

    #[test]
    fn a_record_of_the_wrong_length_or_with_unknown_codes_is_refused() {
        let good = status(SchedState::Runnable, None).encode();
        assert_eq!(TaskStatus::decode(&good[..TASK_STATUS_LEN - 1]), None);
        let mut bad = good;
        bad[at::SCHED] = 99;
        assert_eq!(TaskStatus::decode(&bad), None);
        let mut bad = good;
        bad[at::FAULTED] = 2;
        assert_eq!(TaskStatus::decode(&bad), None);
        let mut bad = good;
        bad[at::SERVED] = 2;
        assert_eq!(TaskStatus::decode(&bad), None);
    }
}
