//! Booting an image in QEMU: the command line from app.toml's `[qemu]`
//! (plus the user's `--iommu` / `--qemu-arg`), the console on stdio, the log
//! stream decoded live, a hard time limit, and the exit status the image
//! reported through `isa-debug-exit`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::app::App;
use crate::logs::{Decoder, LogLine, Tables};
use crate::terminal::{Key, Keys, RawMode, Screen};

/// QEMU's binary.
pub const QEMU: &str = "qemu-system-x86_64";
/// The Debian package that has it.
const QEMU_PACKAGE: &str = "qemu-system-x86";
/// `isa-debug-exit` turns the guest's `0x10` into this status.
const EXIT_PASS: i32 = 33;
/// ... and `0x11` into this one.
const EXIT_FAIL: i32 = 35;
const POLL: Duration = Duration::from_millis(20);

/// The user's changes to the machine.
#[derive(Debug, Clone, Default)]
pub struct MachineOptions {
    /// `tcg` (default) or `kvm`.
    pub accel: Option<String>,
    /// Replaces the intel-iommu options.
    pub iommu: Option<String>,
    /// Appended to the command line.
    pub extra: Vec<String>,
    /// Count guest instructions (`-icount shift=0`) for benchmarks.
    pub icount: bool,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    /// The image reported success.
    Pass,
    /// The image reported failure.
    Fail,
    /// QEMU ended some other way (status).
    Other(i32),
    /// The time limit passed; QEMU was killed.
    Timeout,
    /// The operator quit (`Ctrl-A x`); QEMU was stopped.
    Quit,
}

/// What a run produced.
pub struct Outcome {
    pub exit: Exit,
    pub lines: Vec<LogLine>,
    pub console: String,
    /// For a scripted run: the console's answer to each line sent.
    pub answers: Vec<String>,
}

/// Lines to type into the console, each when it shows its prompt.
#[derive(Debug, Clone, Default)]
pub struct Script {
    /// The prompt that marks "ready for a line".
    pub prompt: String,
    /// (line, real milliseconds to wait before sending it).
    pub lines: Vec<(String, u64)>,
}

/// How long one console answer may take.
const ANSWER_LIMIT: Duration = Duration::from_secs(60);

/// Types `script` into QEMU's stdin, one line per prompt seen in `output`,
/// and returns each answer (the text between the line and the next prompt).
/// Stops waiting once `ended` is set (QEMU exited: no prompt will come).
fn drive(
    script: Script,
    output: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    mut stdin: std::process::ChildStdin,
    ended: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> Vec<String> {
    use std::io::Write;
    let prompt = script.prompt.as_bytes().to_vec();
    let count = |buf: &[u8]| {
        buf.windows(prompt.len().max(1))
            .filter(|w| *w == prompt.as_slice())
            .count()
    };
    let wait_for = |n: usize| {
        let start = Instant::now();
        loop {
            let text = output.lock().map(|b| b.clone()).unwrap_or_default();
            if count(&text) >= n {
                return Some(text);
            }
            if start.elapsed() > ANSWER_LIMIT || ended.load(std::sync::atomic::Ordering::Acquire) {
                return None;
            }
            std::thread::sleep(POLL);
        }
    };
    let answer_after = |text: &[u8], k: usize| -> String {
        // The text between the k-th prompt and the (k+1)-th.
        let mut at = 0;
        let mut seen = 0;
        let mut from = 0;
        while let Some(p) = text[at..]
            .windows(prompt.len().max(1))
            .position(|w| w == prompt.as_slice())
        {
            let end = at + p;
            if seen == k {
                from = end + prompt.len();
            }
            if seen == k + 1 {
                return String::from_utf8_lossy(&text[from..end]).into_owned();
            }
            seen += 1;
            at = end + prompt.len();
        }
        String::from_utf8_lossy(&text[from.min(text.len())..]).into_owned()
    };
    let mut answers = Vec::new();
    for (k, (line, delay)) in script.lines.iter().enumerate() {
        if wait_for(k + 1).is_none() {
            break;
        }
        std::thread::sleep(Duration::from_millis(*delay));
        if stdin
            .write_all(format!("{line}\r").as_bytes())
            .and_then(|_| stdin.flush())
            .is_err()
        {
            break;
        }
        let text =
            wait_for(k + 2).unwrap_or_else(|| output.lock().map(|b| b.clone()).unwrap_or_default());
        answers.push(answer_after(&text, k));
    }
    answers
}

/// Makes sure QEMU is there: installs it as root, else says how.
pub fn ensure_installed() -> Result<(), String> {
    crate::install::ensure(QEMU, QEMU_PACKAGE)
}

/// The QEMU command line (without the serial ports).
pub fn command(app: &App, image: &Path, opts: &MachineOptions) -> Result<Command, String> {
    let mut c = Command::new(QEMU);
    c.args([
        "-machine",
        "q35",
        "-display",
        "none",
        "-no-reboot",
        "-nic",
        "none",
    ]);
    match opts.accel.as_deref() {
        None | Some("tcg") => {
            c.args(["-accel", "tcg"]);
        }
        Some("kvm") => {
            if std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open("/dev/kvm")
                .is_err()
            {
                return Err("--accel kvm: /dev/kvm is not usable here; use tcg".into());
            }
            c.args(["-accel", "kvm"]);
        }
        Some(other) => return Err(format!("--accel {other}: use tcg or kvm")),
    }
    if opts.icount {
        c.args(["-icount", "shift=0"]);
    }
    c.args(["-cpu", &app.qemu.cpu, "-m", &app.qemu.memory]);
    let iommu = opts.iommu.as_deref().unwrap_or(&app.qemu.iommu);
    let iommu_dev = if iommu.is_empty() {
        "intel-iommu".to_string()
    } else {
        format!("intel-iommu,{iommu}")
    };
    c.args(["-device", &iommu_dev]);
    for d in &app.qemu.devices {
        c.args(["-device", d]);
    }
    c.args(["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]);
    c.arg("-kernel").arg(image);
    c.args(&opts.extra);
    Ok(c)
}

/// Forwards the operator's keys to the console until `Ctrl-A x`, which
/// sets `quit`.
fn relay_keys(mut console: std::process::ChildStdin, quit: &std::sync::atomic::AtomicBool) {
    use std::io::Write;
    let mut keys = Keys::default();
    let mut buf = [0u8; 256];
    let mut stdin = std::io::stdin();
    while let Ok(n) = stdin.read(&mut buf) {
        if n == 0 {
            break;
        }
        match keys.feed(&buf[..n]) {
            Key::Send(bytes) => {
                if console
                    .write_all(&bytes)
                    .and_then(|()| console.flush())
                    .is_err()
                {
                    break;
                }
            }
            Key::Quit => {
                quit.store(true, std::sync::atomic::Ordering::Release);
                break;
            }
        }
    }
}

/// Boots `image`; `interactive` gives the console to the user's terminal,
/// otherwise it is captured (and echoed when `echo`).
pub fn run(
    app: &App,
    image: &Path,
    tables: &Tables,
    opts: &MachineOptions,
    interactive: bool,
    echo: bool,
    script: Option<Script>,
) -> Result<Outcome, String> {
    let dir = crate::image::out_dir(app);
    let log_path: PathBuf = dir.join("log.bin");
    let _ = std::fs::remove_file(&log_path);
    std::fs::write(&log_path, []).map_err(|e| format!("{}: {e}", log_path.display()))?;
    let mut cmd = command(app, image, opts)?;
    // The console is always QEMU's stdio, relayed by xtask: so the logs can
    // be printed above the line being typed (see terminal.rs).
    let stdin = if script.is_some() || interactive {
        Stdio::piped()
    } else {
        Stdio::null()
    };
    cmd.args(["-serial", "stdio"])
        .stdin(stdin)
        .stdout(Stdio::piped());
    cmd.arg("-serial")
        .arg(format!("file:{}", log_path.display()));
    cmd.stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {QEMU}: {e}"))?;
    let shared = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let shown = echo || interactive;
    let screen = std::sync::Arc::new(std::sync::Mutex::new(Screen::new(std::io::stdout())));
    // Raw input while the operator has the console (restored when `run`
    // returns, however it returns).
    let _raw = interactive.then(RawMode::enter);
    let quit = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    if interactive {
        if let Some(stdin) = child.stdin.take() {
            let quit = quit.clone();
            // Not joined: it waits on the terminal, which outlives QEMU.
            std::thread::spawn(move || relay_keys(stdin, &quit));
        }
    }
    let console_thread = child.stdout.take().map(|mut out| {
        let shared = shared.clone();
        let screen = screen.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = out.read(&mut buf) {
                if n == 0 {
                    break;
                }
                if shown {
                    if let Ok(mut screen) = screen.lock() {
                        screen.console(&buf[..n]);
                    }
                }
                if let Ok(mut all) = shared.lock() {
                    all.extend_from_slice(&buf[..n]);
                }
            }
        })
    });
    let ended = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let script_thread = match (script, child.stdin.take()) {
        (Some(s), Some(stdin)) => {
            let shared = shared.clone();
            let ended = ended.clone();
            Some(std::thread::spawn(move || drive(s, shared, stdin, ended)))
        }
        _ => None,
    };
    let mut stderr = child.stderr.take();
    let mut decoder = Decoder::new(tables);
    let mut lines = Vec::new();
    let mut log = std::fs::File::open(&log_path).map_err(|e| e.to_string())?;
    let start = Instant::now();
    let limit = Duration::from_secs(app.qemu.timeout);
    let mut drain = |decoder: &mut Decoder, lines: &mut Vec<LogLine>| {
        let mut buf = Vec::new();
        let _ = log.read_to_end(&mut buf);
        for l in decoder.feed(&buf) {
            if shown {
                if let Ok(mut screen) = screen.lock() {
                    screen.log(&l.to_string());
                }
            }
            lines.push(l);
        }
    };
    let exit = loop {
        drain(&mut decoder, &mut lines);
        match child.try_wait() {
            Ok(Some(status)) => {
                break match status.code() {
                    Some(EXIT_PASS) => Exit::Pass,
                    Some(EXIT_FAIL) => Exit::Fail,
                    Some(c) => Exit::Other(c),
                    None => Exit::Other(-1),
                }
            }
            Ok(None) => {}
            Err(e) => return Err(format!("waiting for {QEMU}: {e}")),
        }
        if quit.load(std::sync::atomic::Ordering::Acquire) {
            let _ = child.kill();
            let _ = child.wait();
            println!();
            break Exit::Quit;
        }
        if !interactive && start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break Exit::Timeout;
        }
        std::thread::sleep(POLL);
    };
    drain(&mut decoder, &mut lines);
    if let Some(t) = console_thread {
        let _ = t.join();
    }
    // Everything QEMU printed is in `shared` now; the script may stop.
    ended.store(true, std::sync::atomic::Ordering::Release);
    let answers = script_thread
        .and_then(|t| t.join().ok())
        .unwrap_or_default();
    let console = shared
        .lock()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    if let Exit::Other(_) = exit {
        if let Some(mut e) = stderr.take() {
            let mut s = String::new();
            let _ = e.read_to_string(&mut s);
            if !s.trim().is_empty() {
                eprintln!("{QEMU}: {}", s.trim());
            }
        }
    }
    Ok(Outcome {
        exit,
        lines,
        console,
        answers,
    })
}
