//! Reads a line as a command, by the grammar [`crate::table::COMMANDS`]
//! gives each one.
//!
//! Every mistake gets a sentence that names the word at fault and what was
//! expected, with the command's usage from the same table entry that was
//! parsed; the parser never panics, whatever the bytes (a property test
//! feeds it random lines, and the fuzzer more).

use core::fmt;
use core::iter::Peekable;
use core::str::SplitAsciiWhitespace;

use crate::command::{Command, DeviceRef};
use crate::help::Usage;
use crate::table::{find, Arg, CommandSpec, MAX_ARGS};

/// Why a line is not a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError<'a> {
    /// The first word is not a command.
    UnknownCommand(&'a str),
    /// A command lacks an argument.
    Missing {
        command: &'static CommandSpec,
        what: Wanted,
    },
    /// A command got more words than it takes.
    Extra {
        command: &'static CommandSpec,
        word: &'a str,
    },
    /// A device address that does not parse.
    BadDevice { word: &'a str, why: &'static str },
    /// A number that does not parse.
    BadNumber(&'a str),
    /// A number outside what the command takes.
    OutOfRange {
        command: &'static CommandSpec,
        word: &'a str,
        min: u64,
        max: u64,
    },
    /// The command's table entry builds a command its grammar does not
    /// give the values for: a bug in [`crate::table::COMMANDS`] (a test
    /// parses every entry's examples so that this never ships).
    Table { command: &'static CommandSpec },
}

/// What a command lacked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wanted {
    /// The argument so named (`DEV`, `DOMAIN`).
    Arg(&'static str),
    /// The number after a keyword (`N after 'at'`).
    AfterKeyword {
        what: &'static str,
        keyword: &'static str,
    },
    /// One of two forms (`VECTOR or 'entry N'`).
    Either {
        what: &'static str,
        keyword: &'static str,
        keyword_what: &'static str,
    },
}

impl fmt::Display for Wanted {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match *self {
            Wanted::Arg(what) => f.write_str(what),
            Wanted::AfterKeyword { what, keyword } => write!(f, "{what} after '{keyword}'"),
            Wanted::Either {
                what,
                keyword,
                keyword_what,
            } => write!(f, "{what} or '{keyword} {keyword_what}'"),
        }
    }
}

impl fmt::Display for ParseError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            ParseError::UnknownCommand(w) => write!(f, "unknown command '{w}' (try 'help')"),
            ParseError::Missing { command, what } => write!(
                f,
                "{}: missing {what} (usage: {})",
                command.name,
                Usage(command)
            ),
            ParseError::Extra { command, word } => write!(
                f,
                "{}: unexpected '{word}' (usage: {})",
                command.name,
                Usage(command)
            ),
            ParseError::BadDevice { word, why } => write!(f, "bad device '{word}': {why}"),
            ParseError::BadNumber(w) => write!(f, "bad number '{w}' (decimal, or hex with 0x)"),
            ParseError::OutOfRange {
                command,
                word,
                min,
                max,
            } => write!(f, "{}: {word} is not in {min}..={max}", command.name),
            ParseError::Table { command } => write!(
                f,
                "{}: the console's command table does not match its grammar (a bug)",
                command.name
            ),
        }
    }
}

/// What one argument parsed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    /// An [`Arg::Device`].
    Device(DeviceRef<'a>),
    /// An [`Arg::Name`].
    Word(&'a str),
    /// A number given (or a [`Arg::Ranged`]'s default).
    Number(u64),
    /// The number after a keyword.
    Keyword(u64),
    /// An optional argument not given.
    Absent,
}

/// A builder asked for a value its grammar does not give there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mismatch;

/// The values a command's arguments parsed to, taken in order by its
/// [`crate::table::Build`].
pub struct Values<'v, 'a>(core::slice::Iter<'v, Value<'a>>);

impl<'a> Values<'_, 'a> {
    /// The next value, whatever it is.
    pub fn value(&mut self) -> Result<Value<'a>, Mismatch> {
        self.0.next().copied().ok_or(Mismatch)
    }

    /// The next value, a device.
    pub fn device(&mut self) -> Result<DeviceRef<'a>, Mismatch> {
        match self.value()? {
            Value::Device(d) => Ok(d),
            _ => Err(Mismatch),
        }
    }

    /// The next value, a word.
    pub fn word(&mut self) -> Result<&'a str, Mismatch> {
        match self.value()? {
            Value::Word(w) => Ok(w),
            _ => Err(Mismatch),
        }
    }

    /// The next value, a number that fits a `T`.
    pub fn number<T: TryFrom<u64>>(&mut self) -> Result<T, Mismatch> {
        match self.value()? {
            Value::Number(n) => T::try_from(n).map_err(|_| Mismatch),
            _ => Err(Mismatch),
        }
    }

    /// The next value, a number (after a keyword or not) or nothing.
    pub fn optional<T: TryFrom<u64>>(&mut self) -> Result<Option<T>, Mismatch> {
        match self.value()? {
            Value::Number(n) | Value::Keyword(n) => T::try_from(n).map(Some).map_err(|_| Mismatch),
            Value::Absent => Ok(None),
            _ => Err(Mismatch),
        }
    }
}

type Words<'a> = Peekable<SplitAsciiWhitespace<'a>>;

/// Parses one line.
pub fn parse(line: &str) -> Result<Command<'_>, ParseError<'_>> {
    let mut words = line.split_ascii_whitespace().peekable();
    let Some(first) = words.next() else {
        return Ok(Command::Nothing);
    };
    let command = find(first).ok_or(ParseError::UnknownCommand(first))?;
    let mut values = [Value::Absent; MAX_ARGS];
    if command.args.len() > MAX_ARGS {
        return Err(ParseError::Table { command });
    }
    for (arg, value) in command.args.iter().zip(values.iter_mut()) {
        *value = argument(command, *arg, &mut words)?;
    }
    if let Some(word) = words.next() {
        return Err(ParseError::Extra { command, word });
    }
    let given = values.get(..command.args.len()).unwrap_or(&[]);
    (command.build)(&mut Values(given.iter())).map_err(|Mismatch| ParseError::Table { command })
}

/// Reads `arg` of `command` from `words`.
fn argument<'a>(
    command: &'static CommandSpec,
    arg: Arg,
    words: &mut Words<'a>,
) -> Result<Value<'a>, ParseError<'a>> {
    let missing = |what| ParseError::Missing { command, what };
    let ranged = |word, min, max| in_range(command, word, min, max);
    Ok(match arg {
        Arg::Device => {
            let word = words.next().ok_or(missing(Wanted::Arg("DEV")))?;
            Value::Device(device(word)?)
        }
        Arg::Name(what) => Value::Word(words.next().ok_or(missing(Wanted::Arg(what)))?),
        Arg::Number(what) => {
            Value::Number(number(words.next().ok_or(missing(Wanted::Arg(what)))?)?)
        }
        Arg::OptionalNumber(_) => match words.next() {
            Some(word) => Value::Number(number(word)?),
            None => Value::Absent,
        },
        Arg::Ranged {
            min, max, default, ..
        } => match words.next() {
            Some(word) => Value::Number(ranged(word, min, max)?),
            None => Value::Number(default),
        },
        Arg::Keyword {
            keyword,
            what,
            min,
            max,
        } => match words.next_if_eq(&keyword) {
            Some(_) => {
                let word = words
                    .next()
                    .ok_or(missing(Wanted::AfterKeyword { what, keyword }))?;
                Value::Keyword(ranged(word, min, max)?)
            }
            None => Value::Absent,
        },
        Arg::Either {
            what,
            max,
            keyword,
            keyword_what,
            keyword_max,
        } => {
            let word = words.next().ok_or(missing(Wanted::Either {
                what,
                keyword,
                keyword_what,
            }))?;
            if word == keyword {
                let n = words.next().ok_or(missing(Wanted::AfterKeyword {
                    what: keyword_what,
                    keyword,
                }))?;
                Value::Keyword(ranged(n, 0, keyword_max)?)
            } else {
                Value::Number(ranged(word, 0, max)?)
            }
        }
    })
}

/// `word` as a number in `min..=max`.
fn in_range<'a>(
    command: &'static CommandSpec,
    word: &'a str,
    min: u64,
    max: u64,
) -> Result<u64, ParseError<'a>> {
    match number(word)? {
        n if (min..=max).contains(&n) => Ok(n),
        _ => Err(ParseError::OutOfRange {
            command,
            word,
            min,
            max,
        }),
    }
}

fn number(word: &str) -> Result<u64, ParseError<'_>> {
    let parsed = match word.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => word.parse(),
    };
    parsed.map_err(|_| ParseError::BadNumber(word))
}

/// A device by address (`BB:DD.F`, `SSSS:BB:DD.F`), or else by name.
fn device(word: &str) -> Result<DeviceRef<'_>, ParseError<'_>> {
    if !word.contains(':') {
        return Ok(DeviceRef::Name(word));
    }
    let bad = |why| ParseError::BadDevice { word, why };
    let (head, func) = word.rsplit_once('.').ok_or(bad("expected BB:DD.F"))?;
    let mut parts = head.split(':');
    let (a, b, c, d) = (parts.next(), parts.next(), parts.next(), parts.next());
    let (segment, bus, dev) = match (a, b, c, d) {
        (Some(b), Some(d), None, None) => ("0", b, d),
        (Some(s), Some(b), Some(d), None) => (s, b, d),
        _ => return Err(bad("expected BB:DD.F or SSSS:BB:DD.F")),
    };
    let hex = |s: &str, max: u32, why| {
        u32::from_str_radix(s, 16)
            .ok()
            .filter(|v| *v <= max && !s.is_empty() && s.len() <= 4)
            .ok_or(bad(why))
    };
    let segment = hex(segment, 0xFFFF, "segment is not 0..ffff")? as u16;
    let bus = hex(bus, 0xFF, "bus is not 00..ff")? as u8;
    let device = hex(dev, 0x1F, "device is not 00..1f")? as u8;
    let function = hex(func, 7, "function is not 0..7")? as u8;
    Ok(DeviceRef::Address {
        segment,
        bus,
        device,
        function,
    })
}

#[cfg(test)]
mod tests;
