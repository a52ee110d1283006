//! Splits an `.idl` file into tokens, each with its position.
//!
//! `//` comments are dropped; `///` comments are kept as tokens because they
//! become the generated code's documentation.

use crate::error::{Error, Pos};

/// One token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tok {
    /// A name or keyword.
    Ident(String),
    /// A decimal or `0x` hexadecimal number.
    Int(u64),
    /// A `"..."` string (task names with dashes).
    Str(String),
    /// A `///` comment's text, without the slashes and one leading space.
    Doc(String),
    /// Punctuation: one of `{ } ( ) [ ] < > : ; , = ! & .` or `->`.
    Punct(&'static str),
    /// The end of the file.
    Eof,
}

impl Tok {
    /// How an error message names it.
    pub fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("`{s}`"),
            Tok::Int(n) => format!("number {n}"),
            Tok::Str(s) => format!("string \"{s}\""),
            Tok::Doc(_) => "a doc comment".to_string(),
            Tok::Punct(p) => format!("`{p}`"),
            Tok::Eof => "end of file".to_string(),
        }
    }
}

/// A token and where it starts.
#[derive(Clone, Debug)]
pub struct Token {
    /// The token.
    pub tok: Tok,
    /// Its first character.
    pub pos: Pos,
}

const PUNCT: &[&str] = &[
    "->", "{", "}", "(", ")", "[", "]", "<", ">", ":", ";", ",", "=", "!", "&", ".",
];

/// Tokenizes `src`; `file` names it in errors.
pub fn lex(file: &str, src: &str) -> Result<Vec<Token>, Error> {
    let chars: Vec<char> = src.chars().collect();
    let mut tokens = Vec::new();
    let (mut i, mut line, mut column) = (0usize, 1u32, 1u32);
    let at = |i: usize| chars.get(i).copied();

    while let Some(c) = at(i) {
        let pos = Pos { line, column };
        // Advances over `n` characters of the current line.
        let width = |n: usize| n as u32;
        if c == '\n' {
            i += 1;
            line += 1;
            column = 1;
            continue;
        }
        if c.is_whitespace() {
            i += 1;
            column += 1;
            continue;
        }
        if c == '/' && at(i + 1) == Some('/') {
            let start = i;
            while at(i).is_some_and(|c| c != '\n') {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            column += width(i - start);
            if let Some(doc) = text.strip_prefix("///") {
                if !doc.starts_with('/') {
                    let doc = doc.strip_prefix(' ').unwrap_or(doc);
                    tokens.push(Token {
                        tok: Tok::Doc(doc.trim_end().to_string()),
                        pos,
                    });
                }
            }
            continue;
        }
        if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while at(i).is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                i += 1;
            }
            column += width(i - start);
            tokens.push(Token {
                tok: Tok::Ident(chars[start..i].iter().collect()),
                pos,
            });
            continue;
        }
        if c.is_ascii_digit() {
            let start = i;
            while at(i).is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                i += 1;
            }
            column += width(i - start);
            let text: String = chars[start..i].iter().filter(|c| **c != '_').collect();
            let value = match text.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => text.parse(),
            };
            let value = value.map_err(|_| Error::Syntax {
                file: file.to_string(),
                pos,
                expected: "a number that fits 64 bits".to_string(),
                found: format!("`{text}`"),
            })?;
            tokens.push(Token {
                tok: Tok::Int(value),
                pos,
            });
            continue;
        }
        if c == '"' {
            let start = i + 1;
            let mut end = start;
            while at(end).is_some_and(|c| c != '"' && c != '\n') {
                end += 1;
            }
            if at(end) != Some('"') {
                return Err(Error::Syntax {
                    file: file.to_string(),
                    pos,
                    expected: "a closing `\"` on the same line".to_string(),
                    found: "end of line".to_string(),
                });
            }
            column += width(end + 1 - i);
            tokens.push(Token {
                tok: Tok::Str(chars[start..end].iter().collect()),
                pos,
            });
            i = end + 1;
            continue;
        }
        let punct = PUNCT
            .iter()
            .find(|p| p.chars().enumerate().all(|(k, pc)| at(i + k) == Some(pc)));
        match punct {
            Some(p) => {
                i += p.len();
                column += width(p.len());
                tokens.push(Token {
                    tok: Tok::Punct(p),
                    pos,
                });
            }
            None => {
                return Err(Error::Syntax {
                    file: file.to_string(),
                    pos,
                    expected: "a name, a number or punctuation".to_string(),
                    found: format!("`{c}`"),
                })
            }
        }
    }
    tokens.push(Token {
        tok: Tok::Eof,
        pos: Pos { line, column },
    });
    Ok(tokens)
}
