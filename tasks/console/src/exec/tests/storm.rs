//! `dma-storm`.

use idl_runtime::ClientError;
use idl_types::WorkerError;

use super::fake::{DMA_A, DMA_B};
use super::Machine;

#[test]
fn a_storm_runs_while_a_bystander_dmas_and_says_where_the_device_ended() {
    let mut m = Machine::with(|s| s.workers.get_mut(&DMA_A).unwrap().storm = Some(Ok(7)));
    assert_eq!(
        m.type_line("dma-storm edu0 0x300000 1500"),
        "\
00:02.0 (edu0) DMAed to IOVA 0x300000 7 times in 1500 ms
meanwhile 01:01.0 (edu1) DMAed to IOVA 0x108000 of dom_b: landed in the owner's buffer (100 ms)
00:02.0 is now in dom_a
"
    );
    let calls = m.calls();
    let at = |c: &str| calls.iter().position(|x| x.starts_with(c)).unwrap();
    assert!(at("dma_b.start_dma 01:01.0 0x108000 0x3c") < at("dma_a.storm 00:02.0 0x300000 1500"));
    assert!(at("dma_a.storm") < at("dma_b.finish_dma"));
}

#[test]
fn a_storm_the_broker_ends_by_quarantine_says_it_took_the_device() {
    let mut m = Machine::with(|s| s.storm_quarantines = true);
    let out = m.type_line("dma-storm edu0 0x300000");
    assert!(
        out.starts_with("00:02.0 (edu0) DMAed to IOVA 0x300000 1000 times, until the broker took it from dma_a (its registers with it)\n"),
        "{out}"
    );
    assert!(out.ends_with("00:02.0 is now in (quarantine)\n"), "{out}");
}

#[test]
fn a_refused_storm_and_a_failed_bystander_are_said_in_words() {
    let mut m = Machine::with(|s| {
        s.workers.get_mut(&DMA_A).unwrap().storm = Some(Err(ClientError::Op(WorkerError::Busy)));
        s.workers.get_mut(&DMA_B).unwrap().start =
            Some(Err(ClientError::Op(WorkerError::NothingRunning)));
    });
    assert_eq!(
        m.type_line("dma-storm edu0 0x300000"),
        "\
error: the storm: a transfer is already running
meanwhile 01:01.0's DMA failed: no transfer was started
00:02.0 is now in dom_a
"
    );
    assert!(!m.asked("dma_b.finish_dma"));
}

#[test]
fn a_storm_of_an_unowned_device_asks_no_worker() {
    let mut m = Machine::new();
    assert_eq!(
        m.type_line("dma-storm nic0 0x300000"),
        "error: 00:04.0 is not owned by a worker's domain\n"
    );
    assert!(!m.asked("dma_"));
}
