//! A recursive-descent parser for the IDL grammar (see the README).
//!
//! Each grammar rule is one method. On the first token that does not fit,
//! the parser stops with an error naming the position, what the rule
//! expected, and what it found; there is no recovery.

use crate::ast::*;
use crate::error::{Error, Pos};
use crate::lexer::{Tok, Token};

/// Parses one file's tokens into its interface.
pub fn parse(file: &str, tokens: &[Token]) -> Result<Interface, Error> {
    let mut p = Parser {
        file,
        tokens,
        next: 0,
    };
    let interface = p.interface()?;
    p.expect_eof()?;
    Ok(interface)
}

struct Parser<'a> {
    file: &'a str,
    tokens: &'a [Token],
    next: usize,
}

impl Parser<'_> {
    fn peek(&self) -> &Tok {
        self.tokens.get(self.next).map_or(&Tok::Eof, |t| &t.tok)
    }

    fn pos(&self) -> Pos {
        self.tokens
            .get(self.next)
            .or(self.tokens.last())
            .map_or(Pos { line: 1, column: 1 }, |t| t.pos)
    }

    fn bump(&mut self) -> Tok {
        let tok = self.peek().clone();
        if self.next < self.tokens.len() {
            self.next += 1;
        }
        tok
    }

    fn error<T>(&self, expected: &str) -> Result<T, Error> {
        Err(Error::Syntax {
            file: self.file.to_string(),
            pos: self.pos(),
            expected: expected.to_string(),
            found: self.peek().describe(),
        })
    }

    fn invalid<T>(&self, pos: Pos, message: String) -> Result<T, Error> {
        Err(Error::Invalid {
            file: self.file.to_string(),
            pos,
            message,
        })
    }

    fn is_punct(&self, p: &str) -> bool {
        matches!(self.peek(), Tok::Punct(q) if *q == p)
    }

    fn is_keyword(&self, k: &str) -> bool {
        matches!(self.peek(), Tok::Ident(s) if s == k)
    }

    fn eat_punct(&mut self, p: &str) -> bool {
        let yes = self.is_punct(p);
        if yes {
            self.bump();
        }
        yes
    }

    fn punct(&mut self, p: &str) -> Result<(), Error> {
        if self.eat_punct(p) {
            Ok(())
        } else {
            self.error(&format!("`{p}`"))
        }
    }

    fn keyword(&mut self, k: &str) -> Result<(), Error> {
        if self.is_keyword(k) {
            self.bump();
            Ok(())
        } else {
            self.error(&format!("`{k}`"))
        }
    }

    fn ident(&mut self, what: &str) -> Result<(String, Pos), Error> {
        let pos = self.pos();
        match self.peek() {
            Tok::Ident(s) => {
                let s = s.clone();
                self.bump();
                Ok((s, pos))
            }
            _ => self.error(what),
        }
    }

    fn int(&mut self, what: &str) -> Result<(u64, Pos), Error> {
        let pos = self.pos();
        match self.peek() {
            Tok::Int(n) => {
                let n = *n;
                self.bump();
                Ok((n, pos))
            }
            _ => self.error(what),
        }
    }

    fn docs(&mut self) -> Vec<String> {
        let mut docs = Vec::new();
        while let Tok::Doc(d) = self.peek() {
            docs.push(d.clone());
            self.bump();
        }
        docs
    }

    fn expect_eof(&mut self) -> Result<(), Error> {
        self.docs();
        if *self.peek() == Tok::Eof {
            Ok(())
        } else {
            self.error("end of file (one interface per file)")
        }
    }

    /// `doc* interface Name { op* }`
    fn interface(&mut self) -> Result<Interface, Error> {
        let docs = self.docs();
        self.keyword("interface")?;
        let (name, pos) = self.ident("the interface's name")?;
        self.punct("{")?;
        let mut ops = Vec::new();
        loop {
            let docs = self.docs();
            if self.eat_punct("}") {
                break;
            }
            if !self.is_keyword("op") {
                return self.error("`op` or `}`");
            }
            ops.push(self.operation(docs)?);
        }
        Ok(Interface {
            docs,
            name,
            pos,
            ops,
        })
    }

    /// `op N name(params) (-> T)? (! E)? ([flags])? ;`
    fn operation(&mut self, docs: Vec<String>) -> Result<Operation, Error> {
        let pos = self.pos();
        self.keyword("op")?;
        let (number, number_pos) = self.int("the operation's number")?;
        let Ok(number) = u32::try_from(number) else {
            return self.invalid(
                number_pos,
                format!("operation number {number} does not fit 32 bits"),
            );
        };
        let (name, _) = self.ident("the operation's name")?;
        self.punct("(")?;
        let mut params = Vec::new();
        loop {
            let docs = self.docs();
            if self.eat_punct(")") {
                break;
            }
            params.push(self.param(docs)?);
            if !self.eat_punct(",") {
                self.punct(")")?;
                break;
            }
        }
        let reply_pos = self.pos();
        let has_reply = self.eat_punct("->");
        let reply = if has_reply {
            self.type_ref()?
        } else {
            TypeRef {
                ty: Type::Unit,
                pos: reply_pos,
            }
        };
        let error = if self.eat_punct("!") {
            Some(self.type_ref()?)
        } else {
            None
        };
        let mut op = Operation {
            docs,
            number,
            name,
            pos,
            params,
            reply,
            error,
            idempotent: false,
            callers: Vec::new(),
            compensated_by: None,
        };
        let has_flags = self.is_punct("[");
        if has_flags {
            self.flags(&mut op)?;
        }
        if !self.eat_punct(";") {
            // Name only what may still come here.
            let expected = if has_flags {
                "`;`"
            } else if op.error.is_some() {
                "`[` or `;`"
            } else if has_reply {
                "`!`, `[` or `;`"
            } else {
                "`->`, `!`, `[` or `;`"
            };
            return self.error(expected);
        }
        Ok(op)
    }

    /// `name: T` or `name: &[u8] max N` or `name: &mut [u8] max N`
    fn param(&mut self, docs: Vec<String>) -> Result<Param, Error> {
        let (name, pos) = self.ident("a parameter name or `)`")?;
        self.punct(":")?;
        let kind = if self.eat_punct("&") {
            let write = self.is_keyword("mut");
            if write {
                self.bump();
            }
            self.punct("[")?;
            self.keyword("u8")?;
            self.punct("]")?;
            self.keyword("max")?;
            let (max_len, _) = self.int("the lease's largest length")?;
            ParamKind::Lease { write, max_len }
        } else {
            ParamKind::Value(self.type_ref()?)
        };
        Ok(Param {
            docs,
            name,
            pos,
            kind,
        })
    }

    fn type_ref(&mut self) -> Result<TypeRef, Error> {
        let pos = self.pos();
        Ok(TypeRef {
            ty: self.ty()?,
            pos,
        })
    }

    /// `()` | `bool` | integer | `[T; N]` | `Option<T>` | Name
    fn ty(&mut self) -> Result<Type, Error> {
        if self.eat_punct("(") {
            self.punct(")")?;
            return Ok(Type::Unit);
        }
        if self.eat_punct("[") {
            let element = self.ty()?;
            self.punct(";")?;
            let (n, _) = self.int("the array's length")?;
            self.punct("]")?;
            return Ok(Type::Array(Box::new(element), n));
        }
        let (name, _) = self.ident("a type")?;
        if name == "bool" {
            return Ok(Type::Bool);
        }
        if let Some((int, _)) = IntType::ALL.iter().find(|(_, n)| *n == name) {
            return Ok(Type::Int(*int));
        }
        if name == "Option" {
            self.punct("<")?;
            let inner = self.ty()?;
            self.punct(">")?;
            return Ok(Type::Option(Box::new(inner)));
        }
        Ok(Type::Named(name))
    }

    /// `[flag, ...]`
    fn flags(&mut self, op: &mut Operation) -> Result<(), Error> {
        self.punct("[")?;
        let mut seen: Vec<String> = Vec::new();
        loop {
            if self.eat_punct("]") {
                return Ok(());
            }
            const FLAGS: [&str; 3] = ["idempotent", "callers", "compensated_by"];
            let pos = self.pos();
            let flag = match self.peek() {
                Tok::Ident(s) if FLAGS.contains(&s.as_str()) => s.clone(),
                _ => return self.error("`idempotent`, `callers` or `compensated_by`"),
            };
            if seen.contains(&flag) {
                return self.invalid(pos, format!("flag `{flag}` given twice"));
            }
            self.bump();
            match flag.as_str() {
                "idempotent" => op.idempotent = true,
                "callers" => {
                    self.punct("=")?;
                    op.callers = self.callers()?;
                }
                _ => {
                    self.punct("=")?;
                    op.compensated_by = Some(self.compensation()?);
                }
            }
            seen.push(flag);
            if !self.eat_punct(",") {
                self.punct("]")?;
                return Ok(());
            }
        }
    }

    /// `[task, "task-name", ...]`
    fn callers(&mut self) -> Result<Vec<String>, Error> {
        self.punct("[")?;
        let mut names = Vec::new();
        loop {
            if self.eat_punct("]") {
                break;
            }
            match self.peek() {
                Tok::Ident(s) | Tok::Str(s) => {
                    names.push(s.clone());
                    self.bump();
                }
                _ => return self.error("a task name or `]`"),
            }
            if !self.eat_punct(",") {
                self.punct("]")?;
                break;
            }
        }
        Ok(names)
    }

    /// `op(param = source, ...)`
    fn compensation(&mut self) -> Result<Compensation, Error> {
        let (op, pos) = self.ident("the undoing operation's name")?;
        self.punct("(")?;
        let mut bindings = Vec::new();
        loop {
            if self.eat_punct(")") {
                break;
            }
            let (param, pos) = self.ident("an argument of the undoing operation or `)`")?;
            self.punct("=")?;
            let (first, _) = self.ident("an argument name, or `reply`")?;
            let source = if first == "reply" {
                let mut path = Vec::new();
                while self.eat_punct(".") {
                    path.push(self.ident("a field of the reply")?.0);
                }
                Source::Reply(path)
            } else {
                Source::Arg(first)
            };
            bindings.push(Binding { param, pos, source });
            if !self.eat_punct(",") {
                self.punct(")")?;
                break;
            }
        }
        Ok(Compensation { op, pos, bindings })
    }
}
