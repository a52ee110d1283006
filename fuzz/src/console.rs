//! The operator's console: serial bytes through the line editor, each line
//! through the command parser. Every line is a command or an error that
//! says something; nothing panics, whatever the bytes.

use task_console::{parse, LineEditor, LineEvent, MAX_LINE};

/// Fuzz target `console`.
pub fn console(data: &[u8]) {
    let mut editor = LineEditor::new();
    // The bytes as typed, then (so short inputs reach the parser) the
    // whole input as one line if it is text.
    for &b in data.iter().chain(b"\r") {
        if let LineEvent::Line(line) = editor.push(b) {
            assert!(line.len() <= MAX_LINE, "a line fits its buffer");
            check(&line);
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        check(text);
    }
}

fn check(line: &str) {
    match parse(line) {
        Ok(command) => {
            let _ = format!("{command:?}");
        }
        Err(e) => {
            let message = e.to_string();
            assert!(!message.trim().is_empty(), "an error says what is wrong");
        }
    }
}
