//! IDL test image: calls the Counter server only through the generated
//! client, and reports each scenario to xtask.
#![no_std]
#![no_main]

include!(concat!(env!("OUT_DIR"), "/idl.rs"));

use counter::{AddArgs, Client, Compensation};
use idl_runtime::{ClientError, KernelTransport};
use userlib::*;

task_config!();

use test_harness::{ensure, Outcome};
type Counter = Client<KernelTransport>;

static NAMES: [&str; config::TASK_COUNT] = config::TASK_NAMES;

/// A named scenario.
type Scenario = test_harness::Scenario<Counter>;

const SCENARIOS: &[Scenario] = &[
    ("idl_call_returns_typed_reply", typed_reply),
    ("idl_read_lease_is_read_by_server", read_lease),
    ("idl_write_lease_is_written_by_server", write_lease),
    ("idl_compensation_undoes_its_call", compensation),
    ("idl_caller_not_listed_is_refused", access_refused),
    (
        "idl_server_death_is_reported_with_new_generation",
        server_death,
    ),
    (
        "idl_idempotent_call_reaches_restarted_server",
        idempotent_after_restart,
    ),
];

fn typed_reply(c: &mut Counter) -> Outcome {
    let before = c.total().map_err(|_| "total failed")?;
    let after = c.add(5).map_err(|_| "add failed")?;
    ensure(after == before + 5, "add did not return the new total")
}

fn read_lease(c: &mut Counter) -> Outcome {
    let data = [1u8, 2, 3, 4, 250];
    let sum = c.checksum(&data).map_err(|_| "checksum failed")?;
    ensure(sum == 260, "server read the lease wrongly")
}

fn write_lease(c: &mut Counter) -> Outcome {
    let mut out = [0u8; 12];
    let n = c.fill(0xAB, &mut out).map_err(|_| "fill failed")?;
    ensure(
        n == 12 && out == [0xAB; 12],
        "server did not fill the lease",
    )
}

fn compensation(c: &mut Counter) -> Outcome {
    let before = c.total().map_err(|_| "total failed")?;
    let args = AddArgs { amount: 42 };
    let reply = c.add(args.amount).map_err(|_| "add failed")?;
    let undo = Compensation::for_add(&args, &reply);
    let mut journal = [0u8; 32];
    let bytes = postcard::to_slice(&undo, &mut journal).map_err(|_| "encode failed")?;
    let back: Compensation = postcard::from_bytes(bytes).map_err(|_| "decode failed")?;
    back.execute(c).map_err(|_| "compensation failed")?;
    ensure(
        c.total().map_err(|_| "total failed")? == before,
        "compensation did not undo",
    )
}

fn access_refused(c: &mut Counter) -> Outcome {
    ensure(
        matches!(c.secret(), Err(ClientError::AccessDenied)),
        "unlisted caller not refused",
    )
}

fn server_death(c: &mut Counter) -> Outcome {
    let old = c.server().generation();
    match c.crash() {
        Err(ClientError::ServerDied { new_generation }) => {
            ensure(
                new_generation == old.next(),
                "death names the wrong generation",
            )?;
            ensure(
                c.server().generation() == old.next(),
                "client kept the old generation",
            )
        }
        _ => Err("crash did not report the server's death"),
    }
}

fn idempotent_after_restart(c: &mut Counter) -> Outcome {
    let t = c
        .total()
        .map_err(|_| "idempotent call to the restarted server failed")?;
    ensure(t == 0, "restarted server kept its old state")?;
    let mut out = [0u8; 4];
    let n = c
        .fill(1, &mut out)
        .map_err(|_| "lease call after restart failed")?;
    ensure(n == 4 && out == [1; 4], "lease after restart wrong")
}

#[export_name = "main"]
fn main() -> ! {
    let mut c = Client::new(KernelTransport::new(&NAMES), config::slots::SERVER);
    let failures = test_harness::run(&mut c, SCENARIOS);
    test_harness::finish(config::slots::SUPERVISOR, failures)
}
