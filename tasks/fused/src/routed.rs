//! One transport over two: in-process servers and the kernel's IPC, chosen
//! by the target's task index.
//!
//! The in-process registry lists the image's real tasks first (same
//! indices, so `callers` checks see the fused task's own app.toml name) and
//! the fused servers after them; an index at or above `first_local` is one
//! of those. The kernel itself (`TaskId::KERNEL`: kernel IPC, such as the
//! broker's register grants) is always reached through the kernel.

use idl_runtime::abi::TaskId;
use idl_runtime::{Lease, SendError, Transport};

/// Sends to `local` for task indices from `first_local` on, else to `kernel`.
#[derive(Copy, Clone, Debug)]
pub struct Routed<K, L> {
    /// The kernel's IPC (real tasks).
    pub kernel: K,
    /// The in-process registry's client (fused servers).
    pub local: L,
    /// The first in-process task index (the image's task count).
    pub first_local: usize,
}

impl<K: Transport, L: Transport> Transport for Routed<K, L> {
    fn send(
        &mut self,
        target: TaskId,
        op: u32,
        msg: &[u8],
        reply: &mut [u8],
        leases: &mut [Lease<'_>],
    ) -> Result<(u32, usize), SendError> {
        if target != TaskId::KERNEL && target.index() >= self.first_local {
            self.local.send(target, op, msg, reply, leases)
        } else {
            self.kernel.send(target, op, msg, reply, leases)
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::vec::Vec;

    use idl_runtime::abi::Generation;

    use super::*;

    /// Records the targets it was asked to reach.
    #[derive(Default)]
    struct Recorder {
        sent: Vec<usize>,
        code: u32,
    }

    impl Transport for &mut Recorder {
        fn send(
            &mut self,
            target: TaskId,
            _op: u32,
            _msg: &[u8],
            _reply: &mut [u8],
            _leases: &mut [Lease<'_>],
        ) -> Result<(u32, usize), SendError> {
            self.sent.push(target.index());
            Ok((self.code, 0))
        }
    }

    fn id(index: u16) -> TaskId {
        TaskId::new(index, Generation::new(0))
    }

    #[test]
    fn tasks_below_first_local_go_over_the_kernel_and_the_rest_in_process() {
        let mut kernel = Recorder {
            code: 1,
            ..Recorder::default()
        };
        let mut local = Recorder {
            code: 2,
            ..Recorder::default()
        };
        let mut routed = Routed {
            kernel: &mut kernel,
            local: &mut local,
            first_local: 10,
        };
        let mut reply = [0u8; 4];
        for index in [0, 9, 10, 12] {
            routed.send(id(index), 1, &[], &mut reply, &mut []).unwrap();
        }
        assert_eq!(kernel.sent, [0, 9]);
        assert_eq!(local.sent, [10, 12]);
    }

    #[test]
    fn kernel_ipc_goes_to_the_kernel_though_its_index_is_above_every_task() {
        let mut kernel = Recorder::default();
        let mut local = Recorder::default();
        let mut routed = Routed {
            kernel: &mut kernel,
            local: &mut local,
            first_local: 10,
        };
        routed
            .send(TaskId::KERNEL, 9, &[], &mut [], &mut [])
            .unwrap();
        assert_eq!(kernel.sent, [TaskId::KERNEL.index()]);
        assert!(local.sent.is_empty());
    }

    #[test]
    fn the_reply_code_comes_from_the_transport_that_carried_the_message() {
        let mut kernel = Recorder {
            code: 7,
            ..Recorder::default()
        };
        let mut local = Recorder {
            code: 9,
            ..Recorder::default()
        };
        let mut routed = Routed {
            kernel: &mut kernel,
            local: &mut local,
            first_local: 3,
        };
        let mut reply = [0u8; 4];
        assert_eq!(routed.send(id(2), 1, &[], &mut reply, &mut []), Ok((7, 0)));
        assert_eq!(routed.send(id(3), 1, &[], &mut reply, &mut []), Ok((9, 0)));
    }
}
