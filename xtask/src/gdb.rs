//! `cargo xtask gdb`: the image under QEMU's gdbstub, stopped before the
//! first instruction, and gdb with the kernel and every task's ELF loaded,
//! so `break task_broker::engine::...`, `bt` and `print` work in any task.
//!
//! Each task is linked at its own window, so its ELF's addresses are the
//! addresses it runs at and `add-symbol-file` needs no offset. Under TCG,
//! QEMU's gdbstub keeps breakpoints itself (it does not patch memory), so a
//! breakpoint in a task is set while paging is still off and fires when
//! that task runs, whichever address space is current when it is set.
//! Reading a task's variables works once it is stopped in that task (its
//! page tables are the current ones).
//!
//! QEMU's COM1 (the console) and COM2 (the log stream) go to files beside
//! the build (`console.log`, `log.bin`), since gdb has the terminal;
//! `cargo xtask gdb` prints their paths.

use std::io::{Read, Write as _};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use crate::app::App;
use crate::image::Image;
use crate::qemu::{self, MachineOptions};

/// The debugger, and the Debian package that has it.
const GDB: &str = "gdb";
const GDB_PACKAGE: &str = "gdb";

/// Where QEMU's console goes while gdb has the terminal.
const CONSOLE_FILE: &str = "console.log";
/// The gdb commands that load every ELF and connect.
const SCRIPT_FILE: &str = "gdbinit";
/// How long a batch session may take (boot to the breakpoint is well
/// under a second of guest time).
const BATCH_TIMEOUT: Duration = Duration::from_secs(120);
/// How often a batch session is checked for its end.
const POLL: Duration = Duration::from_millis(50);

/// Boots `app` stopped under the gdbstub and runs gdb on it, on this
/// terminal; `batch` holds gdb commands to run non-interactively instead.
pub fn run(
    app: &App,
    img: &Image,
    opts: &MachineOptions,
    batch: &[String],
) -> Result<ExitCode, String> {
    let (ok, _) = session(app, img, opts, batch, false)?;
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Runs gdb in batch mode on `app` and returns what it printed (for the
/// test that a breakpoint in a task is hit and its variables read).
pub fn batch_output(
    app: &App,
    img: &Image,
    opts: &MachineOptions,
    commands: &[String],
) -> Result<String, String> {
    session(app, img, opts, commands, true).map(|(_, out)| out)
}

/// One gdb session over a freshly booted QEMU: whether gdb succeeded, and
/// its output when `capture` (else it has the terminal).
fn session(
    app: &App,
    img: &Image,
    opts: &MachineOptions,
    batch: &[String],
    capture: bool,
) -> Result<(bool, String), String> {
    qemu::ensure_installed()?;
    crate::install::ensure(GDB, GDB_PACKAGE)?;
    let port = free_port()?;
    let dir = crate::image::out_dir(app);
    let console = dir.join(CONSOLE_FILE);
    let log = dir.join("log.bin");
    let mut cmd = qemu::command(app, &img.image, opts)?;
    cmd.args(["-S", "-gdb", &format!("tcp:127.0.0.1:{port}")])
        .arg("-serial")
        .arg(format!("file:{}", console.display()))
        .arg("-serial")
        .arg(format!("file:{}", log.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut qemu_child = cmd.spawn().map_err(|e| format!("cannot start QEMU: {e}"))?;
    let script = dir.join(SCRIPT_FILE);
    write_script(&script, app, img, port)?;
    if !capture {
        eprintln!(
            "xtask: QEMU stopped at reset under gdb (port {port}); console: {}, log stream: {}",
            console.display(),
            log.display()
        );
    }
    let mut gdb = Command::new(GDB);
    gdb.arg("-q").arg("-x").arg(&script);
    if !batch.is_empty() {
        gdb.arg("-batch");
        for c in batch {
            gdb.arg("-ex").arg(c);
        }
    }
    let result = if capture {
        captured(gdb)
    } else {
        gdb.status()
            .map(|s| (s.success(), String::new()))
            .map_err(|e| format!("cannot start {GDB}: {e}"))
    };
    let _ = qemu_child.kill();
    let _ = qemu_child.wait();
    result
}

/// Runs a batch gdb, its output captured; stopped after
/// [`BATCH_TIMEOUT`] (a breakpoint that is never hit would wait forever).
fn captured(mut gdb: Command) -> Result<(bool, String), String> {
    let mut child = gdb
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {GDB}: {e}"))?;
    let read = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_string(&mut text);
            }
            text
        })
    };
    let out = read(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = read(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + BATCH_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break Some(s),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(POLL),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    let mut text = out.join().unwrap_or_default();
    text.push_str(&err.join().unwrap_or_default());
    match status {
        Some(s) => Ok((s.success(), text)),
        None => Err(format!(
            "gdb did not finish within {} s; it printed:\n{text}",
            BATCH_TIMEOUT.as_secs()
        )),
    }
}

/// The gdb script: the kernel's symbols, each task's ELF at its own
/// addresses, then the connection.
fn write_script(path: &Path, app: &App, img: &Image, port: u16) -> Result<(), String> {
    let mut s = String::new();
    s.push_str("set pagination off\nset confirm off\nset architecture i386:x86-64\n");
    s.push_str(&format!("file {}\n", quoted(&img.image)));
    for (task, elf) in app.tasks.iter().zip(&img.task_elves) {
        s.push_str(&format!("# task {}\n", task.name));
        s.push_str(&format!("add-symbol-file {}\n", quoted(elf)));
    }
    s.push_str(&format!("target remote 127.0.0.1:{port}\n"));
    let mut f = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    f.write_all(s.as_bytes())
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// A path as gdb's command line takes it (quoted if it has spaces).
fn quoted(p: &Path) -> String {
    let s = p.display().to_string();
    if s.contains(' ') {
        format!("\"{s}\"")
    } else {
        s
    }
}

/// A TCP port nobody listens on now.
fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free TCP port: {e}"))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("no free TCP port: {e}"))
}
