//! A small JSON reader and string writer for the client's three fixed shapes: the token
//! response (here), `config.json` (`livechat-config`) and the chat message (the app).
//!
//! Not `serde_json`: these shapes are a handful of string and number fields, and a generic
//! deserializer costs the wasm build about 8 KB brotli (BENCHMARKS.md, "Issue 15 levers").
//!
//! # What it reads
//! RFC 8259 JSON, strictly: no comments, no trailing commas, no byte-order mark, nothing but
//! whitespace after the value.
//! - **Strings** are UTF-8 (invalid bytes are an error); `\uXXXX` escapes pair surrogates, and a
//!   lone surrogate is an error; control characters must be escaped.
//! - **Numbers** keep the text they were written as ([`Number`]); one whose value overflows an
//!   `f64` (`1e400`) is an error, as in `serde_json`.
//! - **Nesting** deeper than [`MAX_DEPTH`] arrays and objects is an error (`serde_json`'s limit),
//!   so hostile input cannot exhaust the stack.
//! - **Duplicate keys** are kept; [`Object::get`] returns the *last* one, as JavaScript's
//!   `JSON.parse` and `serde_json::Value` do. A reader that must refuse them can ask
//!   [`Object::count`].
//!
//! Errors name what was expected and the byte offset, never the content (a token response holds
//! a password).

use std::fmt;

/// The deepest nesting of arrays and objects accepted.
pub const MAX_DEPTH: usize = 127;

/// A parsed JSON value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, as written.
    Number(Number),
    /// A string, unescaped.
    String(String),
    /// An array.
    Array(Vec<Value>),
    /// An object.
    Object(Object),
}

/// A JSON number, kept as the (validated) text it was written as: the readers want it as an
/// integer, as an `f64` or as text, and keeping the text avoids a float parser and formatter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Number(String);

impl Number {
    /// The number as written (`17`, `-1.5e3`).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The value as an `f64` (finite: the reader refuses numbers that overflow).
    pub fn as_f64(&self) -> f64 {
        crate::wallclock::decimal(&self.0).unwrap_or_default()
    }

    /// The value as a `u64`, if it is written as a non-negative integer (no fraction, no
    /// exponent) that fits.
    pub fn as_u64(&self) -> Option<u64> {
        crate::net::parse_u64(&self.0)
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A JSON object: its members in document order, duplicates included.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Object(Vec<(String, Value)>);

impl Object {
    /// The value of the last member named `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// How many members are named `key`.
    pub fn count(&self, key: &str) -> usize {
        self.0.iter().filter(|(k, _)| k == key).count()
    }

    /// The members in document order.
    pub fn members(&self) -> &[(String, Value)] {
        &self.0
    }
}

/// Why a text is not JSON: what was expected, and where. Never quotes the input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    /// What is wrong, in words.
    pub what: &'static str,
    /// The byte offset where it went wrong.
    pub offset: usize,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.what, self.offset)
    }
}

impl std::error::Error for Error {}

/// Parses one JSON value, with nothing but whitespace around it.
pub fn parse(input: &[u8]) -> Result<Value, Error> {
    let mut reader = Reader { b: input, i: 0 };
    let value = reader.value(0)?;
    reader.skip_ws();
    if reader.i != input.len() {
        return Err(reader.error("trailing characters after the value"));
    }
    Ok(value)
}

struct Reader<'a> {
    b: &'a [u8],
    i: usize,
}

impl Reader<'_> {
    fn error(&self, what: &'static str) -> Error {
        Error {
            what,
            offset: self.i,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.skip_ws();
        let found = self.peek() == Some(c);
        if found {
            self.i += 1;
        }
        found
    }

    fn value(&mut self, depth: usize) -> Result<Value, Error> {
        self.skip_ws();
        let Some(c) = self.peek() else {
            return Err(self.error("end of input where a value was expected"));
        };
        if matches!(c, b'[' | b'{') && depth == MAX_DEPTH {
            return Err(self.error("nested too deeply"));
        }
        match c {
            b'"' => self.string().map(Value::String),
            b'-' | b'0'..=b'9' => self.number().map(Value::Number),
            b'[' => {
                self.i += 1;
                let mut items = Vec::new();
                if !self.eat(b']') {
                    loop {
                        items.push(self.value(depth + 1)?);
                        if self.eat(b']') {
                            break;
                        }
                        if !self.eat(b',') {
                            return Err(self.error("expected `,` or `]`"));
                        }
                    }
                }
                Ok(Value::Array(items))
            }
            b'{' => {
                self.i += 1;
                let mut members = Vec::new();
                if !self.eat(b'}') {
                    loop {
                        self.skip_ws();
                        if self.peek() != Some(b'"') {
                            return Err(self.error("expected a string key"));
                        }
                        let key = self.string()?;
                        if !self.eat(b':') {
                            return Err(self.error("expected `:`"));
                        }
                        members.push((key, self.value(depth + 1)?));
                        if self.eat(b'}') {
                            break;
                        }
                        if !self.eat(b',') {
                            return Err(self.error("expected `,` or `}`"));
                        }
                    }
                }
                Ok(Value::Object(Object(members)))
            }
            _ => {
                for (word, value) in [
                    (&b"null"[..], Value::Null),
                    (b"true", Value::Bool(true)),
                    (b"false", Value::Bool(false)),
                ] {
                    if self.b[self.i..].starts_with(word) {
                        self.i += word.len();
                        return Ok(value);
                    }
                }
                Err(self.error("expected a value"))
            }
        }
    }

    /// A number: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    fn number(&mut self) -> Result<Number, Error> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        let digits = |r: &mut Self| {
            let from = r.i;
            while r.peek().is_some_and(|c| c.is_ascii_digit()) {
                r.i += 1;
            }
            r.i - from
        };
        match self.peek() {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                digits(self);
            }
            _ => return Err(self.error("expected a digit")),
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if digits(self) == 0 {
                return Err(self.error("expected a digit after `.`"));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if digits(self) == 0 {
                return Err(self.error("expected a digit in the exponent"));
            }
        }
        // ASCII by construction.
        let text: String = self.b[start..self.i]
            .iter()
            .map(|&c| char::from(c))
            .collect();
        if !crate::wallclock::decimal(&text).is_some_and(f64::is_finite) {
            return Err(Error {
                what: "number out of range",
                offset: start,
            });
        }
        Ok(Number(text))
    }

    /// A string; `self.i` is at its opening quote.
    fn string(&mut self) -> Result<String, Error> {
        self.i += 1;
        let mut out = Vec::new();
        loop {
            let start = self.i;
            while self
                .peek()
                .is_some_and(|c| c != b'"' && c != b'\\' && c >= 0x20)
            {
                self.i += 1;
            }
            out.extend_from_slice(&self.b[start..self.i]);
            match self.peek() {
                Some(b'"') => {
                    self.i += 1;
                    break;
                }
                Some(b'\\') => {
                    self.i += 1;
                    let c = self.peek().ok_or(self.error("end of input in a string"))?;
                    self.i += 1;
                    let unescaped = match c {
                        b'"' | b'\\' | b'/' => c as char,
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => self.unicode_escape()?,
                        _ => {
                            self.i -= 1;
                            return Err(self.error("invalid escape"));
                        }
                    };
                    let mut utf8 = [0; 4];
                    out.extend_from_slice(unescaped.encode_utf8(&mut utf8).as_bytes());
                }
                Some(_) => return Err(self.error("unescaped control character in a string")),
                None => return Err(self.error("end of input in a string")),
            }
        }
        // Escapes add whole characters, so the text is valid exactly when its raw runs are.
        String::from_utf8(out).map_err(|e| Error {
            what: "invalid UTF-8 in a string",
            offset: e.utf8_error().valid_up_to(),
        })
    }

    /// The character of a `\u` escape (after the `u`), pairing surrogates.
    fn unicode_escape(&mut self) -> Result<char, Error> {
        let high = self.hex4()?;
        let code = match high {
            0xD800..=0xDBFF => {
                if !self.b[self.i..].starts_with(b"\\u") {
                    return Err(self.error("lone leading surrogate in a \\u escape"));
                }
                self.i += 2;
                let low = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&low) {
                    return Err(self.error("lone leading surrogate in a \\u escape"));
                }
                0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
            }
            0xDC00..=0xDFFF => return Err(self.error("lone trailing surrogate in a \\u escape")),
            _ => high,
        };
        char::from_u32(code).ok_or(self.error("invalid \\u escape"))
    }

    fn hex4(&mut self) -> Result<u32, Error> {
        let mut code = 0;
        for _ in 0..4 {
            let digit = self
                .peek()
                .and_then(|c| (c as char).to_digit(16))
                .ok_or(self.error("expected four hex digits after \\u"))?;
            code = code * 16 + digit;
            self.i += 1;
        }
        Ok(code)
    }
}

/// Appends `text` as a JSON string literal, quotes included: `"`, `\` and control characters
/// escaped (`\n`-style where JSON has one, else `\u00XX`), everything else as is. The same bytes
/// `serde_json` writes.
pub fn write_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c < ' ' => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.push_str("\\u00");
                out.push(HEX[c as usize >> 4] as char);
                out.push(HEX[c as usize & 15] as char);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `text` as a JSON string literal: quoted and escaped for error messages, without `Debug`'s
/// Unicode escaping tables.
pub struct Quoted<'a>(pub &'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        write_string(&mut out, self.0);
        f.write_str(&out)
    }
}

/// Compact JSON, as `serde_json` writes it (numbers as written).
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => f.write_str(if *b { "true" } else { "false" }),
            Value::Number(n) => f.write_str(n.as_str()),
            Value::String(s) => Quoted(s).fmt(f),
            Value::Array(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    item.fmt(f)?;
                }
                f.write_str("]")
            }
            Value::Object(object) => {
                f.write_str("{")?;
                for (i, (key, value)) in object.0.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    Quoted(key).fmt(f)?;
                    f.write_str(":")?;
                    value.fmt(f)?;
                }
                f.write_str("}")
            }
        }
    }
}

#[cfg(test)]
mod tests;
