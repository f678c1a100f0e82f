//! Lexer and parser for PDF objects over byte slices, bounded against hostile input:
//! nesting depth, string and collection sizes are limited and every failure is a typed error.

use super::object::{is_delimiter, is_whitespace, Dictionary, Object, ObjectId, PdfString};
use super::{Limits, PdfError};

/// A cursor over bytes that parses PDF objects.
pub struct Parser<'a> {
    data: &'a [u8],
    pos: usize,
    limits: &'a Limits,
}

/// The head of an indirect object: `n g obj <object>`; a stream's data is not read here.
#[derive(Debug)]
pub struct IndirectHead {
    /// The id written before `obj`.
    pub id: ObjectId,
    /// The object (a stream's dictionary as `Object::Dictionary`).
    pub object: Object,
    /// When the object is a stream: the position of the first data byte in the parsed slice.
    pub stream_data_at: Option<usize>,
}

impl<'a> Parser<'a> {
    /// A parser at the start of `data`.
    pub fn new(data: &'a [u8], limits: &'a Limits) -> Self {
        Self {
            data,
            pos: 0,
            limits,
        }
    }

    /// Current position in the slice.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// Moves the cursor.
    pub fn set_pos(&mut self, pos: usize) {
        self.pos = pos.min(self.data.len());
    }

    fn truncated(&self) -> PdfError {
        PdfError::Truncated {
            offset: self.pos as u64,
        }
    }

    fn syntax(&self, what: &'static str) -> PdfError {
        PdfError::Syntax {
            offset: self.pos as u64,
            what,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.data.get(self.pos).copied()
    }

    /// Skips white space and comments.
    pub fn skip_ws(&mut self) {
        while let Some(b) = self.peek() {
            if is_whitespace(b) {
                self.pos += 1;
            } else if b == b'%' {
                while let Some(c) = self.peek() {
                    if c == b'\r' || c == b'\n' {
                        break;
                    }
                    self.pos += 1;
                }
            } else {
                break;
            }
        }
    }

    /// Reads a regular-character token (keyword or number) without consuming delimiters.
    pub fn word(&mut self) -> &'a [u8] {
        let start = self.pos;
        while let Some(b) = self.peek() {
            if is_whitespace(b) || is_delimiter(b) {
                break;
            }
            self.pos += 1;
        }
        &self.data[start..self.pos]
    }

    /// Consumes `kw` (after white space) when it is next, as a whole word.
    pub fn eat_keyword(&mut self, kw: &[u8]) -> bool {
        self.skip_ws();
        let save = self.pos;
        if self.word() == kw {
            true
        } else {
            self.pos = save;
            false
        }
    }

    /// Parses an unsigned integer token, e.g. in `n g obj` or an xref table.
    pub fn unsigned(&mut self) -> Result<u64, PdfError> {
        self.skip_ws();
        let w = self.word();
        if w.is_empty() {
            return Err(if self.pos >= self.data.len() {
                self.truncated()
            } else {
                self.syntax("expected a number")
            });
        }
        if w.len() > 19 || !w.iter().all(u8::is_ascii_digit) {
            return Err(self.syntax("expected an unsigned integer"));
        }
        std::str::from_utf8(w)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| self.syntax("expected an unsigned integer"))
    }

    /// Parses `n g obj <object>` and notes where stream data would begin.
    pub fn indirect_head(&mut self) -> Result<IndirectHead, PdfError> {
        let num = self.unsigned()?;
        let gen = self.unsigned()?;
        if !self.eat_keyword(b"obj") {
            return Err(if self.pos >= self.data.len() {
                self.truncated()
            } else {
                self.syntax("expected 'obj'")
            });
        }
        let id = ObjectId::new(
            u32::try_from(num).map_err(|_| self.syntax("object number out of range"))?,
            u16::try_from(gen).map_err(|_| self.syntax("generation out of range"))?,
        );
        let object = self.object()?;
        self.skip_ws();
        let save = self.pos;
        let stream_data_at = if matches!(object, Object::Dictionary(_)) && self.word() == b"stream"
        {
            // §7.3.8.1: the keyword is followed by CRLF or LF; tolerate a lone CR.
            match self.peek() {
                Some(b'\r') => {
                    self.pos += 1;
                    if self.peek() == Some(b'\n') {
                        self.pos += 1;
                    }
                }
                Some(b'\n') => self.pos += 1,
                None => return Err(self.truncated()),
                _ => {}
            }
            Some(self.pos)
        } else {
            self.pos = save;
            None
        };
        Ok(IndirectHead {
            id,
            object,
            stream_data_at,
        })
    }

    /// Parses one direct object (references `n g R` included).
    pub fn object(&mut self) -> Result<Object, PdfError> {
        self.object_at_depth(0)
    }

    fn object_at_depth(&mut self, depth: usize) -> Result<Object, PdfError> {
        if depth > self.limits.max_depth {
            return Err(PdfError::Limit("nesting too deep"));
        }
        self.skip_ws();
        let Some(b) = self.peek() else {
            return Err(self.truncated());
        };
        match b {
            b'/' => {
                self.pos += 1;
                Ok(Object::Name(self.name_body()?))
            }
            b'(' => {
                self.pos += 1;
                Ok(Object::String(PdfString::literal(self.literal_body()?)))
            }
            b'<' => {
                if self.data.get(self.pos + 1) == Some(&b'<') {
                    self.pos += 2;
                    Ok(Object::Dictionary(self.dict_body(depth)?))
                } else {
                    self.pos += 1;
                    Ok(Object::String(PdfString::hex(self.hex_body()?)))
                }
            }
            b'[' => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_ws();
                    match self.peek() {
                        None => return Err(self.truncated()),
                        Some(b']') => {
                            self.pos += 1;
                            return Ok(Object::Array(items));
                        }
                        _ => {
                            if items.len() >= self.limits.max_collection {
                                return Err(PdfError::Limit("array too large"));
                            }
                            items.push(self.object_at_depth(depth + 1)?);
                        }
                    }
                }
            }
            b'+' | b'-' | b'.' | b'0'..=b'9' => self.number_or_reference(),
            _ => {
                let w = self.word();
                match w {
                    b"true" => Ok(Object::Bool(true)),
                    b"false" => Ok(Object::Bool(false)),
                    b"null" => Ok(Object::Null),
                    b"" => {
                        self.pos += 1;
                        Err(self.syntax("unexpected delimiter"))
                    }
                    _ if self.pos >= self.data.len() => Err(self.truncated()),
                    _ => Err(self.syntax("unexpected keyword")),
                }
            }
        }
    }

    fn dict_body(&mut self, depth: usize) -> Result<Dictionary, PdfError> {
        let mut dict = Dictionary::new();
        loop {
            self.skip_ws();
            match self.peek() {
                None => return Err(self.truncated()),
                Some(b'>') => {
                    if self.data.get(self.pos + 1) == Some(&b'>') {
                        self.pos += 2;
                        return Ok(dict);
                    }
                    if self.pos + 1 >= self.data.len() {
                        return Err(self.truncated());
                    }
                    return Err(self.syntax("expected '>>'"));
                }
                Some(b'/') => {
                    self.pos += 1;
                    let key = self.name_body()?;
                    if dict.len() >= self.limits.max_collection {
                        return Err(PdfError::Limit("dictionary too large"));
                    }
                    let value = self.object_at_depth(depth + 1)?;
                    // §7.3.7: a null value is equivalent to an absent entry.
                    if value != Object::Null {
                        dict.set_raw(key, value);
                    }
                }
                Some(_) => return Err(self.syntax("expected a name key")),
            }
        }
    }

    fn name_body(&mut self) -> Result<Vec<u8>, PdfError> {
        let mut name = Vec::new();
        while let Some(b) = self.peek() {
            if is_whitespace(b) || is_delimiter(b) {
                break;
            }
            self.pos += 1;
            if b == b'#' {
                let hi = self.peek().and_then(hex_val);
                let lo = self.data.get(self.pos + 1).copied().and_then(hex_val);
                if let (Some(h), Some(l)) = (hi, lo) {
                    self.pos += 2;
                    name.push(h << 4 | l);
                    continue;
                }
            }
            name.push(b);
            if name.len() > self.limits.max_string {
                return Err(PdfError::Limit("name too long"));
            }
        }
        if self.pos >= self.data.len() {
            // A name may run to the end of a window: the caller must retry with more bytes.
            return Err(self.truncated());
        }
        Ok(name)
    }

    fn literal_body(&mut self) -> Result<Vec<u8>, PdfError> {
        let mut out = Vec::new();
        let mut nesting = 0usize;
        loop {
            let Some(b) = self.peek() else {
                return Err(self.truncated());
            };
            self.pos += 1;
            if out.len() > self.limits.max_string {
                return Err(PdfError::Limit("string too long"));
            }
            match b {
                b'(' => {
                    nesting += 1;
                    out.push(b);
                }
                b')' => {
                    if nesting == 0 {
                        return Ok(out);
                    }
                    nesting -= 1;
                    out.push(b);
                }
                b'\\' => {
                    let Some(e) = self.peek() else {
                        return Err(self.truncated());
                    };
                    self.pos += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'b' => out.push(0x08),
                        b'f' => out.push(0x0c),
                        b'\r' => {
                            if self.peek() == Some(b'\n') {
                                self.pos += 1;
                            }
                        }
                        b'\n' => {}
                        b'0'..=b'7' => {
                            let mut v = u32::from(e - b'0');
                            for _ in 0..2 {
                                match self.peek() {
                                    Some(d @ b'0'..=b'7') => {
                                        self.pos += 1;
                                        v = v * 8 + u32::from(d - b'0');
                                    }
                                    _ => break,
                                }
                            }
                            out.push((v & 0xff) as u8);
                        }
                        other => out.push(other),
                    }
                }
                _ => out.push(b),
            }
        }
    }

    fn hex_body(&mut self) -> Result<Vec<u8>, PdfError> {
        let mut out = Vec::new();
        let mut half: Option<u8> = None;
        loop {
            let Some(b) = self.peek() else {
                return Err(self.truncated());
            };
            self.pos += 1;
            if b == b'>' {
                if let Some(h) = half {
                    out.push(h << 4);
                }
                return Ok(out);
            }
            if is_whitespace(b) {
                continue;
            }
            let v = hex_val(b).ok_or_else(|| self.syntax("bad hex string"))?;
            match half.take() {
                Some(h) => {
                    out.push(h << 4 | v);
                    if out.len() > self.limits.max_string {
                        return Err(PdfError::Limit("string too long"));
                    }
                }
                None => half = Some(v),
            }
        }
    }

    fn number_or_reference(&mut self) -> Result<Object, PdfError> {
        let start = self.pos;
        let first = self.number()?;
        let Object::Integer(num) = first else {
            return Ok(first);
        };
        // `n g R` needs two lookahead tokens; rewind when they are not there.
        let after_first = self.pos;
        self.skip_ws();
        if self.pos >= self.data.len() {
            return Err(self.truncated());
        }
        if matches!(self.peek(), Some(b'0'..=b'9')) {
            let w = self.word();
            if let Some(gen) = std::str::from_utf8(w)
                .ok()
                .and_then(|s| s.parse::<u16>().ok())
            {
                self.skip_ws();
                if self.pos >= self.data.len() {
                    return Err(self.truncated());
                }
                let kw = self.word();
                if kw == b"R" {
                    if num < 0 || num > i64::from(u32::MAX) {
                        self.pos = start;
                        return Err(self.syntax("object number out of range"));
                    }
                    return Ok(Object::Reference(ObjectId::new(num as u32, gen)));
                }
                if kw.is_empty() && self.pos >= self.data.len() {
                    return Err(self.truncated());
                }
            }
        }
        self.pos = after_first;
        Ok(Object::Integer(num))
    }

    fn number(&mut self) -> Result<Object, PdfError> {
        let w = self.word();
        if self.pos >= self.data.len() {
            return Err(self.truncated());
        }
        let s = std::str::from_utf8(w).map_err(|_| self.syntax("bad number"))?;
        if s.contains('.') {
            // Lenient like other readers: "-.5", "5." and a doubled sign ("--1") are accepted.
            let t = s.trim_start_matches(['+', '-']);
            let neg = s.starts_with('-');
            let v: f64 = if t == "." || t.is_empty() {
                0.0
            } else {
                t.parse().map_err(|_| self.syntax("bad number"))?
            };
            Ok(Object::Real(if neg { -v } else { v }))
        } else {
            match s.parse::<i64>() {
                Ok(v) => Ok(Object::Integer(v)),
                Err(_)
                    if s.trim_start_matches(['+', '-'])
                        .bytes()
                        .all(|c| c.is_ascii_digit())
                        && s.len() > 1 =>
                {
                    // Out-of-range integers are read as reals (§C.2 limits), never a panic.
                    let v: f64 = s
                        .trim_start_matches('+')
                        .parse()
                        .map_err(|_| self.syntax("bad number"))?;
                    Ok(Object::Real(v))
                }
                Err(_) => Err(self.syntax("bad number")),
            }
        }
    }
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Parses a single direct object from `bytes` (a trailing token is required after numbers,
/// so a space is appended when needed).
pub fn parse_object(bytes: &[u8], limits: &Limits) -> Result<Object, PdfError> {
    let mut buf = bytes.to_vec();
    buf.push(b' ');
    Parser::new(&buf, limits).object()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Object, PdfError> {
        parse_object(s.as_bytes(), &Limits::default())
    }

    #[test]
    fn parses_every_kind() {
        let o = parse(
            "<< /A 1 /B -2.5 /C (x\\(y\\)\\101) /D <414> /E [1 0 R 2 true null] /F#20G /N >>",
        )
        .unwrap();
        let d = o.as_dict().unwrap();
        assert_eq!(d.get_int("A"), Some(1));
        assert_eq!(d.get("B"), Some(&Object::Real(-2.5)));
        assert_eq!(d.get("C").unwrap().as_string().unwrap().bytes, b"x(y)A");
        assert_eq!(
            d.get("D").unwrap().as_string().unwrap().bytes,
            vec![0x41, 0x40]
        );
        let e = d.get("E").unwrap().as_array().unwrap();
        assert_eq!(e[0], Object::Reference(ObjectId::new(1, 0)));
        assert_eq!(e[1], Object::Integer(2));
        assert_eq!(e[2], Object::Bool(true));
        assert_eq!(d.get_name("F G"), Some(&b"N"[..]));
    }

    #[test]
    fn deep_nesting_is_a_limit_error() {
        let s = "[".repeat(10_000);
        assert!(matches!(parse(&s), Err(PdfError::Limit(_))));
    }

    #[test]
    fn truncation_is_reported() {
        assert!(matches!(
            parse("<< /A (abc"),
            Err(PdfError::Truncated { .. })
        ));
        assert!(matches!(parse("[1 2"), Err(PdfError::Truncated { .. })));
    }

    #[test]
    fn garbage_is_a_syntax_error() {
        assert!(matches!(parse("<< 1 2 >>"), Err(PdfError::Syntax { .. })));
        assert!(matches!(parse("<zz>"), Err(PdfError::Syntax { .. })));
        assert!(matches!(parse(")"), Err(PdfError::Syntax { .. })));
    }

    #[test]
    fn huge_numbers_do_not_panic() {
        assert!(matches!(
            parse("99999999999999999999999"),
            Ok(Object::Real(_))
        ));
        assert!(parse("99999999999 0 R").is_err());
    }

    #[test]
    fn indirect_stream_head() {
        let limits = Limits::default();
        let data = b"12 0 obj\n<< /Length 3 >>\nstream\r\nabc\nendstream endobj";
        let head = Parser::new(data, &limits).indirect_head().unwrap();
        assert_eq!(head.id, ObjectId::new(12, 0));
        assert_eq!(&data[head.stream_data_at.unwrap()..][..3], b"abc");
    }
}
