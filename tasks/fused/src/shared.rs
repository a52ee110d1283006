//! A server two dispatchers can reach: the in-process registry (the
//! broker's calls) and the task's kernel-facing dispatcher (the console's).
//!
//! The task is single-threaded, so the two never overlap unless a server's
//! handling of one message leads back to itself; that is refused with
//! `reply_code::BUSY` (nothing done), never a panic.

use core::cell::RefCell;

use idl_runtime::{reply_code, Call, Dispatch, DispatchOutcome, ServerContext};

/// Dispatches into the server in the cell, if it is free.
pub struct Shared<'a, S>(pub &'a RefCell<S>);

impl<S: Dispatch> Dispatch for Shared<'_, S> {
    fn dispatch(
        &mut self,
        call: &Call<'_>,
        ctx: &dyn ServerContext,
        reply: &mut [u8],
    ) -> DispatchOutcome {
        match self.0.try_borrow_mut() {
            Ok(mut server) => server.dispatch(call, ctx, reply),
            Err(_) => DispatchOutcome::Reply {
                code: reply_code::BUSY,
                len: 0,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use idl_runtime::abi::{Generation, TaskId};

    use super::*;

    /// Counts the messages it handled.
    #[derive(Default)]
    struct Counter(u32);

    impl Dispatch for Counter {
        fn dispatch(
            &mut self,
            _: &Call<'_>,
            _: &dyn ServerContext,
            _: &mut [u8],
        ) -> DispatchOutcome {
            self.0 += 1;
            DispatchOutcome::Reply {
                code: reply_code::OK,
                len: 0,
            }
        }
    }

    struct NoLeases;

    impl ServerContext for NoLeases {
        fn borrow_read(&self, _: TaskId, _: usize, _: usize, _: &mut [u8]) -> Result<usize, u32> {
            Err(0)
        }
        fn borrow_write(&self, _: TaskId, _: usize, _: usize, _: &[u8]) -> Result<usize, u32> {
            Err(0)
        }
        fn borrow_info(&self, _: TaskId, _: usize) -> Result<(u32, usize), u32> {
            Err(0)
        }
        fn task_name(&self, _: TaskId) -> Option<&str> {
            None
        }
    }

    fn call() -> Call<'static> {
        Call {
            caller: TaskId::new(1, Generation::new(0)),
            op: 1,
            message: &[],
            reply_capacity: 0,
            lease_count: 0,
        }
    }

    #[test]
    fn both_faces_reach_the_same_server() {
        let cell = RefCell::new(Counter::default());
        let mut a = Shared(&cell);
        let mut b = Shared(&cell);
        a.dispatch(&call(), &NoLeases, &mut []);
        b.dispatch(&call(), &NoLeases, &mut []);
        assert_eq!(cell.borrow().0, 2);
    }

    #[test]
    fn a_server_reached_while_busy_answers_busy_and_does_nothing() {
        let cell = RefCell::new(Counter::default());
        let held = cell.borrow_mut();
        let outcome = Shared(&cell).dispatch(&call(), &NoLeases, &mut []);
        assert_eq!(
            outcome,
            DispatchOutcome::Reply {
                code: reply_code::BUSY,
                len: 0
            }
        );
        drop(held);
        assert_eq!(cell.borrow().0, 0);
    }
}
