//! The supervisor's raw operations: kernel IPC with small operation codes,
//! so that every task, generated code or not (the test harness, the
//! console), can reach it. Replies are little-endian. Deaths are not here:
//! the broker pulls them through the `Supervisor` IDL interface, served in
//! the same loop (its codes carry the interface tag in the upper 16 bits, so
//! they never collide with these).

/// `[u16 task]` → `[u32 faults, u32 kind, u64 a, u64 b]`: how often the
/// task faulted, and its last fault (`abi::FaultInfo::encode`).
pub const OP_TASK_RECORD: u32 = 1;
/// `[u8 code]`: stop the machine (test images).
pub const OP_SHUTDOWN: u32 = 2;
// 3 was OP_TAKE_DEATH (deaths are `Supervisor::death_after` now); unused
// so that an old client is refused rather than misread.
/// `[u16 task]`: fault that task on purpose (fault injection). Only in
/// images built with the supervisor's `fault-injection` feature; otherwise
/// refused like any unknown operation.
pub const OP_FAULT_TASK: u32 = 4;
/// `[u16 task, u16 n]`: fault that task as its `n`th message from now
/// reaches it (a chosen message boundary of, say, a reassignment). Only with
/// the `fault-injection` feature.
pub const OP_ARM_FAULT: u32 = 5;
/// `[u16 task]` → `[u32 count]`: messages the kernel has delivered to that
/// task since boot (wrapping), for measurements such as the console's
/// `bench`.
pub const OP_MESSAGE_COUNT: u32 = 6;
/// Length of the `OP_TASK_RECORD` reply.
pub const TASK_RECORD_LEN: usize = 24;
/// The largest raw request (`OP_ARM_FAULT`).
pub const MAX_REQUEST: usize = 4;

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
