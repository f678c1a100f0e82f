//! A writer-neutral description of the PDF objects an appearance needs.
//!
//! The appearance code does not know how the incremental writer numbers objects, so it hands
//! over a small graph: a list of [`Object`]s whose [`Value::Ref`]s point at other entries of the
//! same list by index. The writer allocates one object number per entry and maps the indices.

/// A PDF value inside an appearance's objects.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// An integer.
    Integer(i64),
    /// A real number.
    Real(f32),
    /// A name, without the leading slash.
    Name(String),
    /// A byte string.
    String(Vec<u8>),
    /// An array.
    Array(Vec<Value>),
    /// A direct dictionary.
    Dict(Dict),
    /// An indirect reference to the entry at this index of the same object list.
    Ref(usize),
}

/// A dictionary as ordered key/value pairs; keys are names without the leading slash.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Dict(pub Vec<(String, Value)>);

impl Dict {
    /// Appends an entry and returns the dictionary, for building literals.
    pub fn with(mut self, key: &str, value: Value) -> Self {
        self.0.push((key.to_owned(), value));
        self
    }

    /// The value stored under `key`, if any.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

/// One indirect object: a dictionary, and stream bytes when it is a stream.
///
/// Stream bytes are stored exactly as they go into the file (already filtered when the
/// dictionary names a /Filter); the writer adds /Length.
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    /// The dictionary (or stream dictionary without /Length).
    pub dict: Dict,
    /// The stream data, for stream objects.
    pub stream: Option<Vec<u8>>,
}

/// Shorthand for a name value.
pub(crate) fn name(n: &str) -> Value {
    Value::Name(n.to_owned())
}

/// Shorthand for a real number value.
pub(crate) fn real(v: f32) -> Value {
    Value::Real(v)
}

/// Shorthand for a rectangle array `[llx lly urx ury]`.
pub(crate) fn rect_array(r: [f32; 4]) -> Value {
    Value::Array(r.iter().map(|v| real(*v)).collect())
}

/// Formats a number for a content stream or dictionary: at most three decimals, no exponent.
pub(crate) fn fmt_num(v: f32) -> String {
    let mut s = format!("{:.3}", v);
    while s.ends_with('0') {
        s.pop();
    }
    if s.ends_with('.') {
        s.pop();
    }
    if s == "-0" {
        s = "0".to_owned();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_short_and_never_exponential() {
        assert_eq!(fmt_num(10.0), "10");
        assert_eq!(fmt_num(0.5), "0.5");
        assert_eq!(fmt_num(-0.0001), "0");
        assert_eq!(fmt_num(1e7), "10000000");
        assert_eq!(fmt_num(12.3456), "12.346");
    }
}
