//! `kill` and `shutdown`.

use std::format;
use std::vec;

use idl_runtime::ClientError;
use idl_types::{SupervisorError, TaskIndex};

use super::Machine;

#[test]
fn kill_faults_the_task_now_and_says_the_supervisor_restarts_it() {
    let mut m = Machine::new();
    assert_eq!(
        m.type_line("kill dma_b"),
        "dma_b: faulted on request; the supervisor restarts it\n"
    );
    assert_eq!(m.calls(), vec!["supervisor.fault_task 5"]);
}

#[test]
fn kill_at_n_arms_the_supervisor() {
    let mut m = Machine::new();
    assert_eq!(
        m.type_line("kill iommu at 2"),
        "iommu: armed to fault as its message 2 from now arrives\n"
    );
    assert_eq!(m.calls(), vec!["supervisor.arm_fault 2 2"]);
}

#[test]
fn kill_of_an_unknown_task_says_so_and_asks_nothing() {
    let mut m = Machine::new();
    assert_eq!(
        m.type_line("kill nobody"),
        "error: no task named 'nobody' (see 'tasks')\n"
    );
    assert!(m.calls().is_empty());
}

#[test]
fn a_supervisor_refusal_is_given_in_words() {
    let refusal = SupervisorError::NotInjectable(TaskIndex(0));
    let mut m = Machine::with(|s| s.supervisor_answer = Err(ClientError::Op(refusal)));
    assert_eq!(
        m.type_line("kill supervisor"),
        format!("error: the supervisor refused: {refusal}\n")
    );
}

#[test]
fn shutdown_asks_the_supervisor_to_exit_with_success() {
    let mut m = Machine::new();
    assert_eq!(m.type_line("shutdown"), "shutting down\n");
    assert_eq!(
        m.calls(),
        vec![format!("supervisor.shutdown {}", abi::DEBUG_EXIT_SUCCESS)]
    );
}
