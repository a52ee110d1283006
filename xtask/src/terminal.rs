//! The terminal of `cargo xtask run`: the console and the decoded logs on
//! one screen without one cutting the other.
//!
//! The console echoes what the operator types, so the line being typed is
//! the console's unfinished last line. A log line that arrives meanwhile
//! used to land in the middle of it. [`Screen`] keeps that unfinished line:
//! a log line clears it, is printed on its own line, and the unfinished
//! line (prompt and typed characters) is drawn again below it.
//!
//! With `--interactive`, xtask (not QEMU) owns the terminal: [`RawMode`]
//! puts it in raw mode (keys go to the console one by one, unechoed; the
//! console echoes them) and [`Keys`] forwards them, keeping QEMU's escape
//! (`Ctrl-A x` quits, `Ctrl-A Ctrl-A` sends one `Ctrl-A`).

use std::io::Write;

/// `Ctrl-A`, the escape key, as QEMU's own `-serial mon:stdio` has it.
pub const ESCAPE: u8 = 0x01;
/// After [`ESCAPE`]: quit.
const QUIT: u8 = b'x';
/// The same, with shift.
const QUIT_UPPER: u8 = b'X';
/// Clears the line the cursor is on and returns to its start.
const CLEAR_LINE: &[u8] = b"\r\x1b[K";

/// The screen: console bytes and log lines, written in order.
pub struct Screen<W: Write> {
    out: W,
    /// The console's unfinished last line (the prompt and what is typed).
    pending: Vec<u8>,
}

impl<W: Write> Screen<W> {
    /// A screen writing to `out`.
    pub fn new(out: W) -> Self {
        Screen {
            out,
            pending: Vec::new(),
        }
    }

    /// Console output, as it comes.
    pub fn console(&mut self, bytes: &[u8]) {
        let _ = self.out.write_all(bytes);
        let _ = self.out.flush();
        match bytes.iter().rposition(|&b| b == b'\n') {
            Some(i) => {
                self.pending.clear();
                self.pending.extend_from_slice(&bytes[i + 1..]);
            }
            None => self.pending.extend_from_slice(bytes),
        }
        // A backspace the console echoes ("\x08 \x08") leaves the line as
        // drawn; keeping the bytes redraws it the same way.
    }

    /// One decoded log line, above the console's unfinished line.
    pub fn log(&mut self, line: &str) {
        if !self.pending.is_empty() {
            let _ = self.out.write_all(CLEAR_LINE);
        }
        let _ = self.out.write_all(line.as_bytes());
        let _ = self.out.write_all(b"\n");
        let _ = self.out.write_all(&self.pending);
        let _ = self.out.flush();
    }

    /// What was written (tests).
    #[cfg(test)]
    pub fn into_inner(self) -> W {
        self.out
    }
}

/// What a key typed at the terminal means.
#[derive(Debug, PartialEq, Eq)]
pub enum Key {
    /// Bytes for the console.
    Send(Vec<u8>),
    /// The operator quits (`Ctrl-A x`).
    Quit,
}

/// Turns typed bytes into what goes to the console, minding the escape.
#[derive(Default)]
pub struct Keys {
    escaped: bool,
}

impl Keys {
    /// `bytes` as typed; stops at a quit.
    pub fn feed(&mut self, bytes: &[u8]) -> Key {
        let mut out = Vec::with_capacity(bytes.len());
        for &b in bytes {
            if self.escaped {
                self.escaped = false;
                match b {
                    QUIT | QUIT_UPPER => return Key::Quit,
                    ESCAPE => out.push(ESCAPE),
                    // An unknown escape is dropped, as QEMU does.
                    _ => {}
                }
            } else if b == ESCAPE {
                self.escaped = true;
            } else {
                out.push(b);
            }
        }
        Key::Send(out)
    }
}

/// The terminal in raw mode while this lives (restored on drop), or
/// nothing when standard input is not a terminal.
pub struct RawMode {
    saved: Option<rustix::termios::Termios>,
}

impl RawMode {
    /// Raw mode on standard input, if it is a terminal.
    pub fn enter() -> RawMode {
        let stdin = std::io::stdin();
        let saved = rustix::termios::tcgetattr(&stdin).ok();
        if let Some(saved) = &saved {
            let mut raw = saved.clone();
            raw.make_raw();
            // Output stays as it was: a newline still starts the next line
            // at its start, for the console and the logs alike.
            raw.output_modes = saved.output_modes;
            if rustix::termios::tcsetattr(&stdin, rustix::termios::OptionalActions::Now, &raw)
                .is_err()
            {
                return RawMode { saved: None };
            }
        }
        RawMode { saved }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(saved) = &self.saved {
            let stdin = std::io::stdin();
            let _ =
                rustix::termios::tcsetattr(&stdin, rustix::termios::OptionalActions::Now, saved);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(screen: Screen<Vec<u8>>) -> String {
        String::from_utf8(screen.into_inner()).unwrap()
    }

    #[test]
    fn a_log_line_while_a_line_is_typed_goes_above_it_and_the_line_is_redrawn() {
        let mut s = Screen::new(Vec::new());
        s.console(b"custody> ");
        s.console(b"reas");
        s.log("INFO broker: edu0 faulted");
        s.console(b"sign");
        assert_eq!(
            shown(s),
            "custody> reas\r\x1b[KINFO broker: edu0 faulted\ncustody> reassign"
        );
    }

    #[test]
    fn a_log_line_after_a_finished_line_is_printed_plainly() {
        let mut s = Screen::new(Vec::new());
        s.console(b"done\n");
        s.log("INFO pci: ready");
        assert_eq!(shown(s), "done\nINFO pci: ready\n");
    }

    #[test]
    fn the_console_line_is_what_follows_its_last_newline() {
        let mut s = Screen::new(Vec::new());
        s.console(b"a\nb\ncustody> de");
        s.log("L");
        assert!(shown(s).ends_with("\r\x1b[KL\ncustody> de"));
    }

    #[test]
    fn ctrl_a_x_quits_and_ctrl_a_twice_sends_one() {
        let mut k = Keys::default();
        assert_eq!(k.feed(b"ab"), Key::Send(b"ab".to_vec()));
        assert_eq!(
            k.feed(&[ESCAPE, ESCAPE, b'c']),
            Key::Send(vec![ESCAPE, b'c'])
        );
        assert_eq!(k.feed(&[ESCAPE]), Key::Send(vec![]));
        assert_eq!(k.feed(b"x"), Key::Quit);
    }
}
