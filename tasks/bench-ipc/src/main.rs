//! IPC benchmark image. One crate, four roles chosen by feature: a raw
//! server (kernel IPC only), two IDL servers (generated dispatch: `Bench`,
//! and `BenchStruct`, whose struct operations live apart so that `Bench`'s
//! figures keep their dispatch code), and the client that measures round trips with `rdtsc` and logs
//! `BENCH <name> <instructions>` for `cargo xtask bench`.
#![no_std]
#![no_main]

include!(concat!(env!("OUT_DIR"), "/idl.rs"));

#[cfg(any(
    feature = "raw-server",
    feature = "idl-server",
    feature = "idl-struct-server"
))]
use abi::TaskId;
#[cfg(any(feature = "raw-server", feature = "client"))]
use task_bench_ipc::*;
use userlib::*;

task_config!();

#[cfg(any(
    feature = "idl-server",
    feature = "idl-struct-server",
    feature = "client"
))]
static NAMES: [&str; config::TASK_COUNT] = config::TASK_NAMES;

#[cfg(feature = "raw-server")]
#[export_name = "main"]
fn main() -> ! {
    let mut buf = [0u8; 16];
    let mut received = sys_recv(&mut buf, 0, TaskId::ANY);
    loop {
        received = match received {
            Ok(msg) => {
                let len = if msg.operation == RAW_16 { 16 } else { 0 };
                let reply = buf;
                sys_reply_recv(msg.sender, 0, &reply[..len], &mut buf, 0, TaskId::ANY)
            }
            Err(_) => sys_recv(&mut buf, 0, TaskId::ANY),
        };
    }
}

#[cfg(feature = "idl-server")]
struct Server;

#[cfg(feature = "idl-server")]
impl bench::Server for Server {
    fn nop(&mut self, _caller: TaskId, _args: bench::NopArgs) {}

    fn echo16(&mut self, _caller: TaskId, args: bench::Echo16Args) -> [u8; 16] {
        args.data
    }
}

#[cfg(feature = "idl-server")]
#[export_name = "main"]
fn main() -> ! {
    let mut t = idl_runtime::KernelTransport::new(&NAMES);
    idl_runtime::serve(
        &mut t,
        &mut bench::Endpoint(Server),
        &mut [0; abi::MAX_MESSAGE],
    )
}

#[cfg(feature = "idl-struct-server")]
struct StructServer;

#[cfg(feature = "idl-struct-server")]
impl bench_struct::Server for StructServer {
    fn echo_record(
        &mut self,
        _caller: TaskId,
        args: bench_struct::EchoRecordArgs,
    ) -> idl_types::BenchRecord {
        args.record
    }

    fn echo_range(
        &mut self,
        _caller: TaskId,
        args: bench_struct::EchoRangeArgs,
    ) -> idl_types::MemRange {
        args.range
    }
}

#[cfg(feature = "idl-struct-server")]
#[export_name = "main"]
fn main() -> ! {
    let mut t = idl_runtime::KernelTransport::new(&NAMES);
    idl_runtime::serve(
        &mut t,
        &mut bench_struct::Endpoint(StructServer),
        &mut [0; abi::MAX_MESSAGE],
    )
}

#[cfg(feature = "client")]
fn measure(name: &str, empty: u64, samples: &mut [u64; SAMPLES], mut f: impl FnMut()) -> u64 {
    // One call site for `f`, warm-up included: the compiler then treats
    // every figure's closure alike (inlined), whatever its size.
    for i in 0..WARM_UP + SAMPLES {
        let t0 = rdtsc();
        f();
        let spent = rdtsc().wrapping_sub(t0);
        if let Some(s) = i.checked_sub(WARM_UP).and_then(|i| samples.get_mut(i)) {
            *s = spent;
        }
    }
    let m = median(samples).saturating_sub(empty);
    defmt::info!("BENCH {=str} {=u64}", name, m);
    m
}

#[cfg(feature = "client")]
#[export_name = "main"]
fn main() -> ! {
    let mut samples = [0u64; SAMPLES];
    let empty = measure("empty_measurement", 0, &mut samples, || {});
    let raw = config::slots::RAW;
    measure("null_syscall", empty, &mut samples, || {
        let _ = sys_refresh_task_id(raw);
    });
    measure("raw_ipc_0_bytes", empty, &mut samples, || {
        sys_send(raw, RAW_EMPTY, &[], &mut [], &[]);
    });
    let msg = [7u8; 16];
    let mut reply = [0u8; 16];
    measure("raw_ipc_16_bytes", empty, &mut samples, || {
        sys_send(raw, RAW_16, &msg, &mut reply, &[]);
    });
    let mut c = bench::Client::new(
        idl_runtime::KernelTransport::new(&NAMES),
        config::slots::IDL,
    );
    measure("idl_ipc_0_bytes", empty, &mut samples, || {
        let _ = c.nop();
    });
    measure("idl_ipc_16_bytes", empty, &mut samples, || {
        let _ = c.echo16(msg);
    });
    let mut s = bench_struct::Client::new(
        idl_runtime::KernelTransport::new(&NAMES),
        config::slots::IDL_STRUCT,
    );
    // black_box: a real client's arguments are not constants the compiler
    // can encode at build time.
    measure("idl_ipc_16_bytes_struct", empty, &mut samples, || {
        let _ = s.echo_record(core::hint::black_box(RECORD_16));
    });
    measure("idl_ipc_16_bytes_u64_fields", empty, &mut samples, || {
        let _ = s.echo_range(core::hint::black_box(RANGE_16));
    });
    let mut s = task_supervisor::supervisor::Client::new(
        idl_runtime::KernelTransport::new(&[]),
        config::slots::SUPERVISOR,
    );
    let _ = s.shutdown(abi::DEBUG_EXIT_SUCCESS);
    loop {
        sys_recv_notification(0);
    }
}
