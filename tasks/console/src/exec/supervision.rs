//! `kill` and `shutdown`: the operator's powers the supervisor holds
//! (fault injection, now or at a task's Nth message from now; stopping the
//! machine).

use core::fmt::{self, Write};

use idl_types::TaskIndex;

use super::Console;
use crate::services::Services;

impl<S: Services> Console<'_, S> {
    pub(super) fn kill(&mut self, o: &mut dyn Write, task: &str, at: Option<u16>) -> fmt::Result {
        let Some(i) = self.system.task_index(task) else {
            return writeln!(o, "error: no task named '{task}' (see 'tasks')");
        };
        let r = match at {
            None => self.services.fault_task(TaskIndex(i)),
            Some(n) => self.services.arm_fault(TaskIndex(i), n),
        };
        match (r, at) {
            (Ok(()), None) => writeln!(o, "{task}: faulted on request; the supervisor restarts it"),
            (Ok(()), Some(n)) => writeln!(
                o,
                "{task}: armed to fault as its message {n} from now arrives"
            ),
            (Err(e), _) => writeln!(o, "error: the supervisor refused: {e}"),
        }
    }

    pub(super) fn shutdown(&mut self, o: &mut dyn Write) -> fmt::Result {
        writeln!(o, "shutting down")?;
        match self.services.shutdown(abi::DEBUG_EXIT_SUCCESS) {
            Ok(()) => Ok(()),
            Err(e) => writeln!(o, "error: the supervisor refused: {e}"),
        }
    }
}
