//! The supervisor's operations, as raw kernel IPC (the supervisor sits below
//! the IDL layer so that every task, generated code or not, can reach it).
//! Replies are little-endian.

/// `[u16 task]` → `[u32 faults, u32 kind, u64 a, u64 b]`: how often the
/// task faulted, and its last fault (`abi::FaultInfo::encode`).
pub const OP_TASK_RECORD: u32 = 1;
/// `[u8 code]`: stop the machine (test images).
pub const OP_SHUTDOWN: u32 = 2;
/// `[]` → `[u16 task]` of a task that died and was not yet reported, or
/// 0xFFFF; the broker calls it after the death notification.
pub const OP_TAKE_DEATH: u32 = 3;
/// `[u16 task]`: fault that task on purpose (fault injection). Only in
/// images built with the supervisor's `fault-injection` feature; otherwise
/// refused like any unknown operation.
pub const OP_FAULT_TASK: u32 = 4;
/// `[u16 task, u16 n]`: fault that task as its `n`th message from now
/// reaches it (a chosen message boundary of, say, a reassignment). Only with
/// the `fault-injection` feature.
pub const OP_ARM_FAULT: u32 = 5;
/// Length of the `OP_TASK_RECORD` reply.
pub const TASK_RECORD_LEN: usize = 24;
/// "Nobody" in `OP_TAKE_DEATH`.
pub const NO_TASK: u16 = 0xFFFF;

/// Encodes a task record reply.
pub fn encode_record(faults: u32, fault: (u32, u64, u64)) -> [u8; TASK_RECORD_LEN] {
    let mut out = [0u8; TASK_RECORD_LEN];
    out[0..4].copy_from_slice(&faults.to_le_bytes());
    out[4..8].copy_from_slice(&fault.0.to_le_bytes());
    out[8..16].copy_from_slice(&fault.1.to_le_bytes());
    out[16..24].copy_from_slice(&fault.2.to_le_bytes());
    out
}

/// Decodes a task record reply: `(faults, (kind, a, b))`.
pub fn decode_record(b: &[u8]) -> Option<(u32, (u32, u64, u64))> {
    let u32_at = |i: usize| Some(u32::from_le_bytes(b.get(i..i + 4)?.try_into().ok()?));
    let u64_at = |i: usize| Some(u64::from_le_bytes(b.get(i..i + 8)?.try_into().ok()?));
    Some((u32_at(0)?, (u32_at(4)?, u64_at(8)?, u64_at(16)?)))
}
