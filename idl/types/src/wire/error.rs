//! Why bytes are not a value of a fixed-layout type, and where.
//!
//! The check that finds a bad byte knows only its own type; each enclosing
//! struct, variant, array and argument list adds its field on the way out,
//! so the error reads `record.access: found 7, expected an Access tag
//! (0..=2)`. The path is a few static names (an array element's index is
//! one of [`INDEX_NAMES`]), not a string: no allocation, and small and
//! `Copy`, since it travels inside every client's `ClientError`.

use core::fmt;

/// Path segments an error keeps (the outermost ones, if deeper).
pub const MAX_PATH: usize = 4;

/// The names of array elements in a path: `[0]` to `[31]` (arrays have at
/// most 32 elements, serde's limit), `[..]` beyond.
pub const INDEX_NAMES: [&str; 33] = [
    "[0]", "[1]", "[2]", "[3]", "[4]", "[5]", "[6]", "[7]", "[8]", "[9]", "[10]", "[11]", "[12]",
    "[13]", "[14]", "[15]", "[16]", "[17]", "[18]", "[19]", "[20]", "[21]", "[22]", "[23]", "[24]",
    "[25]", "[26]", "[27]", "[28]", "[29]", "[30]", "[31]", "[..]",
];

/// A byte that no value of the type has.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct WireError {
    found: u8,
    /// How many of `path` are set.
    depth: u8,
    /// Inner segments were dropped to keep the outer ones.
    truncated: bool,
    expected: &'static str,
    /// Field names (`Domain.did` for a variant's field, `Some`, `[3]`),
    /// outermost first.
    path: [&'static str; MAX_PATH],
}

impl WireError {
    /// `found` where the type wants `expected` (e.g. "a bool (0 or 1)").
    pub const fn new(found: u8, expected: &'static str) -> WireError {
        WireError {
            found,
            depth: 0,
            truncated: false,
            expected,
            path: [""; MAX_PATH],
        }
    }

    /// The same error, inside field `name` of an enclosing value.
    #[must_use]
    pub fn within(mut self, name: &'static str) -> WireError {
        let depth = usize::from(self.depth);
        if depth == MAX_PATH {
            self.truncated = true;
        }
        self.path.copy_within(0..MAX_PATH - 1, 1);
        self.path[0] = name;
        self.depth = (depth + 1).min(MAX_PATH) as u8;
        self
    }

    /// The same error, inside element `index` of an array.
    #[must_use]
    pub fn at_index(self, index: usize) -> WireError {
        let last = INDEX_NAMES.len() - 1;
        self.within(INDEX_NAMES[index.min(last)])
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
    pub fn path(&self) -> &[&'static str] {
        self.path.get(..usize::from(self.depth)).unwrap_or(&[])
    }

    /// Whether `name` is one of the path's fields (for tests and logs).
    pub fn names(&self, name: &str) -> bool {
        self.path().contains(&name)
    }
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, name) in self.path().iter().enumerate() {
            if i > 0 && !name.starts_with('[') {
                f.write_str(".")?;
            }
            f.write_str(name)?;
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
