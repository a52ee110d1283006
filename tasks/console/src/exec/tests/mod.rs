//! Every command's execution against a made-up machine ([`fake`]): what it
//! asks of whom, and what it says, refusals and errors included.

mod fake;

mod bench;
mod custody;
mod dma;
mod interrupts;
mod listing;
mod registers;
mod storm;
mod supervision;

use std::cell::RefCell;
use std::rc::Rc;
use std::string::String;
use std::vec::Vec;

use fake::{Fake, State};

use super::Console;
use crate::parse::parse;

/// The console on the fake machine.
pub struct Machine {
    pub state: Rc<RefCell<State>>,
    console: Console<'static, Fake>,
}

impl Machine {
    /// The machine as [`State::new`] sets it up.
    pub fn new() -> Machine {
        Machine::with(|_| {})
    }

    /// The machine with `setup` applied.
    pub fn with(setup: impl FnOnce(&mut State)) -> Machine {
        let mut state = State::new();
        setup(&mut state);
        let state = Rc::new(RefCell::new(state));
        let console = Console::new(Fake(state.clone()), fake::system());
        Machine { state, console }
    }

    /// Types `line`; what the console answers. Calls made before are
    /// forgotten, so [`Machine::calls`] gives this command's.
    pub fn type_line(&mut self, line: &str) -> String {
        self.state.borrow_mut().calls.clear();
        let mut out = String::new();
        let cmd = parse(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        self.console.run(cmd, &mut out).unwrap();
        out
    }

    /// The calls the last command made, in order.
    pub fn calls(&self) -> Vec<String> {
        self.state.borrow().calls.clone()
    }

    /// Whether the last command made a call starting `prefix`.
    pub fn asked(&self, prefix: &str) -> bool {
        self.calls().iter().any(|c| c.starts_with(prefix))
    }
}

#[test]
fn help_writes_the_help() {
    let mut help = String::new();
    crate::help::write_help(&mut help).unwrap();
    let mut m = Machine::new();
    assert_eq!(m.type_line("help"), help);
    assert!(m.calls().is_empty());
}

#[test]
fn an_empty_line_says_and_asks_nothing() {
    let mut m = Machine::new();
    assert_eq!(m.type_line("   "), "");
    assert!(m.calls().is_empty());
}
