//! Turning serial bytes into lines: echo, backspace, CR/LF, and a refusal
//! (not a crash, not a silent cut) when a line is longer than the buffer.

use heapless::String;

/// The longest line accepted.
pub const MAX_LINE: usize = 96;
const BACKSPACE: u8 = 0x08;
const DELETE: u8 = 0x7F;
const CTRL_C: u8 = 0x03;

/// What one byte did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineEvent {
    /// Nothing to act on; echo these bytes.
    Echo(&'static [u8]),
    /// Echo this byte.
    EchoByte(u8),
    /// A complete line.
    Line(String<MAX_LINE>),
    /// The line was too long and was dropped.
    TooLong,
    /// Ctrl-C: the line was discarded.
    Cancelled,
    /// Nothing at all (ignored control byte, or LF after CR).
    Nothing,
}

/// Accumulates bytes into a line.
#[derive(Debug, Default)]
pub struct LineEditor {
    buf: String<MAX_LINE>,
    overflowed: bool,
    last_cr: bool,
}

impl LineEditor {
    /// An empty editor.
    pub const fn new() -> Self {
        LineEditor {
            buf: String::new(),
            overflowed: false,
            last_cr: false,
        }
    }

    /// Takes one byte from the serial port.
    pub fn push(&mut self, byte: u8) -> LineEvent {
        let after_cr = core::mem::replace(&mut self.last_cr, byte == b'\r');
        match byte {
            b'\n' if after_cr => LineEvent::Nothing,
            b'\r' | b'\n' => {
                let line = core::mem::take(&mut self.buf);
                if core::mem::take(&mut self.overflowed) {
                    LineEvent::TooLong
                } else {
                    LineEvent::Line(line)
                }
            }
            BACKSPACE | DELETE => {
                if self.buf.pop().is_some() {
                    LineEvent::Echo(b"\x08 \x08")
                } else {
                    LineEvent::Nothing
                }
            }
            CTRL_C => {
                self.buf.clear();
                self.overflowed = false;
                LineEvent::Cancelled
            }
            0x20..=0x7E => {
                if self.buf.push(byte as char).is_err() {
                    self.overflowed = true;
                    LineEvent::Nothing
                } else {
                    LineEvent::EchoByte(byte)
                }
            }
            _ => LineEvent::Nothing,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(e: &mut LineEditor, s: &[u8]) -> std::vec::Vec<LineEvent> {
        s.iter()
            .map(|b| e.push(*b))
            .filter(|x| *x != LineEvent::Nothing)
            .collect()
    }

    fn line(s: &str) -> LineEvent {
        LineEvent::Line(String::try_from(s).unwrap())
    }

    #[test]
    fn carriage_return_ends_a_line() {
        let mut e = LineEditor::new();
        assert_eq!(feed(&mut e, b"ab\r").last(), Some(&line("ab")));
    }

    #[test]
    fn crlf_gives_one_line_not_two() {
        let mut e = LineEditor::new();
        let lines: std::vec::Vec<_> = feed(&mut e, b"ab\r\ncd\n")
            .into_iter()
            .filter(|x| matches!(x, LineEvent::Line(_)))
            .collect();
        assert_eq!(lines, [line("ab"), line("cd")]);
    }

    #[test]
    fn backspace_removes_the_last_character() {
        let mut e = LineEditor::new();
        assert_eq!(feed(&mut e, b"abc\x7f\x08d\r").last(), Some(&line("ad")));
    }

    #[test]
    fn overlong_line_is_refused_whole_and_the_next_line_works() {
        let mut e = LineEditor::new();
        let long = [b'x'; MAX_LINE + 5];
        assert_eq!(feed(&mut e, &long).len(), MAX_LINE);
        assert_eq!(e.push(b'\r'), LineEvent::TooLong);
        assert_eq!(feed(&mut e, b"ok\r").last(), Some(&line("ok")));
    }

    #[test]
    fn control_bytes_are_ignored_and_ctrl_c_cancels() {
        let mut e = LineEditor::new();
        assert_eq!(
            feed(&mut e, b"a\x01\x1bb\x03"),
            [
                LineEvent::EchoByte(b'a'),
                LineEvent::EchoByte(b'b'),
                LineEvent::Cancelled
            ]
        );
        assert_eq!(e.push(b'\r'), line(""));
    }
}
