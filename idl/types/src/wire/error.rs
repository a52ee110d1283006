//! Why bytes are not a value of a fixed-layout type, and where.
//!
//! The check that finds a bad byte knows only its own type; each enclosing
//! struct, variant, array and argument list adds its field on the way out,
//! so the error reads `record.access: found 7, expected an Access tag
//! (0..=2)`. The path is a small array, not a string: no allocation, and
//! `Copy`, so it fits `ClientError`.

use core::fmt;

/// Path segments an error keeps (the outermost ones, if deeper).
pub const MAX_PATH: usize = 6;

/// One step of a field path.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Segment {
    /// A field, variant field (`Domain.did`), argument or `Some`.
    Field(&'static str),
    /// An array element.
    Index(u16),
}

/// A byte that no value of the type has.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct WireError {
    found: u8,
    expected: &'static str,
    /// Outermost first; `depth` of them are set.
    path: [Segment; MAX_PATH],
    depth: u8,
    /// Inner segments were dropped to keep the outer ones.
    truncated: bool,
}

impl WireError {
    /// `found` where the type wants `expected` (e.g. "a bool (0 or 1)").
    pub const fn new(found: u8, expected: &'static str) -> WireError {
        WireError {
            found,
            expected,
            path: [Segment::Field(""); MAX_PATH],
            depth: 0,
            truncated: false,
        }
    }

    /// The same error, inside field `name` of an enclosing value.
    #[must_use]
    pub fn within(self, name: &'static str) -> WireError {
        self.prepend(Segment::Field(name))
    }

    /// The same error, inside element `index` of an array.
    #[must_use]
    pub fn at_index(self, index: usize) -> WireError {
        self.prepend(Segment::Index(u16::try_from(index).unwrap_or(u16::MAX)))
    }

    fn prepend(mut self, segment: Segment) -> WireError {
        let depth = usize::from(self.depth);
        if depth == MAX_PATH {
            self.truncated = true;
        }
        self.path.copy_within(0..MAX_PATH - 1, 1);
        self.path[0] = segment;
        self.depth = (depth + 1).min(MAX_PATH) as u8;
        self
    }

    /// The byte found.
    pub fn found(&self) -> u8 {
        self.found
    }

    /// What the type allows there.
    pub fn expected(&self) -> &'static str {
        self.expected
    }

    /// The field path, outermost first.
    pub fn path(&self) -> &[Segment] {
        self.path.get(..usize::from(self.depth)).unwrap_or(&[])
    }

    /// Whether `name` is one of the path's fields (for tests and logs).
    pub fn names(&self, name: &str) -> bool {
        self.path()
            .iter()
            .any(|s| matches!(s, Segment::Field(f) if *f == name))
    }
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.path().iter().enumerate() {
            match segment {
                Segment::Field(name) if i == 0 => f.write_str(name)?,
                Segment::Field(name) => write!(f, ".{name}")?,
                Segment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        if self.truncated {
            f.write_str("...")?;
        }
        if self.depth == 0 {
            f.write_str("the value")?;
        }
        write!(f, ": found {}, expected {}", self.found, self.expected)
    }
}
