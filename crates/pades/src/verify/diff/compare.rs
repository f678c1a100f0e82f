//! Structural comparison of PDF objects: what counts as "the same object" between two
//! revisions, and which keys of a dictionary changed.

use crate::pdf::{Dictionary, Object};

/// Recursion bound for structural comparison (the parser already bounds nesting).
const MAX_COMPARE_DEPTH: usize = 96;

/// Order-insensitive structural equality of PDF objects: key order, a stream's /Length,
/// null-valued keys, string notation and integer-vs-real spelling do not matter.
pub(crate) fn same(a: &Object, b: &Object) -> bool {
    same_at(a, b, 0)
}

fn same_at(a: &Object, b: &Object, depth: usize) -> bool {
    if depth > MAX_COMPARE_DEPTH {
        return false;
    }
    match (a, b) {
        (Object::Dictionary(x), Object::Dictionary(y)) => same_dict_except(x, y, &[], depth + 1),
        (Object::Stream(x), Object::Stream(y)) => {
            x.data == y.data && same_dict_except(&x.dict, &y.dict, &["Length"], depth + 1)
        }
        (Object::Array(x), Object::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_at(p, q, depth + 1))
        }
        (Object::Integer(x), Object::Real(y)) | (Object::Real(y), Object::Integer(x)) => {
            (*x as f64) == *y
        }
        (Object::String(x), Object::String(y)) => x.bytes == y.bytes,
        _ => a == b,
    }
}

fn same_dict_except(x: &Dictionary, y: &Dictionary, ignore: &[&str], depth: usize) -> bool {
    let skip = |k: &[u8]| ignore.iter().any(|i| i.as_bytes() == k);
    let count = |d: &Dictionary| {
        d.iter()
            .filter(|(k, v)| !skip(k) && !matches!(v, Object::Null))
            .count()
    };
    count(x) == count(y)
        && x.iter()
            .filter(|(k, v)| !skip(k) && !matches!(v, Object::Null))
            .all(|(k, v)| raw_get(y, k).is_some_and(|w| same_at(v, w, depth)))
}

/// Keys whose values differ (present in one only, or different).
pub(crate) fn changed_keys(old: &Dictionary, new: &Dictionary) -> Vec<String> {
    let mut keys: Vec<Vec<u8>> = old.iter().map(|(k, _)| k.to_vec()).collect();
    for (k, _) in new.iter() {
        if !keys.iter().any(|x| x == k) {
            keys.push(k.to_vec());
        }
    }
    keys.into_iter()
        .filter(|k| {
            // Raw byte keys: a lossy conversion could make two different keys look alike.
            match (raw_get(old, k), raw_get(new, k)) {
                (Some(a), Some(b)) => !same(a, b),
                (None, None) => false,
                (Some(v), None) | (None, Some(v)) => !matches!(v, Object::Null),
            }
        })
        .map(|k| String::from_utf8_lossy(&k).into_owned())
        .collect()
}

fn raw_get<'a>(d: &'a Dictionary, key: &[u8]) -> Option<&'a Object> {
    d.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pdf::PdfString;

    #[test]
    fn structural_equality_ignores_key_order_and_stream_length() {
        let mut a = Dictionary::new();
        a.set("A", Object::Integer(1));
        a.set("B", Object::String(PdfString::literal("x")));
        let mut b = Dictionary::new();
        b.set("B", Object::String(PdfString::hex("x")));
        b.set("A", Object::Real(1.0));
        assert!(same(
            &Object::Dictionary(a.clone()),
            &Object::Dictionary(b.clone())
        ));
        b.set("C", Object::Null);
        assert!(same(
            &Object::Dictionary(a.clone()),
            &Object::Dictionary(b.clone())
        ));
        b.set("A", Object::Integer(2));
        assert!(!same(
            &Object::Dictionary(a.clone()),
            &Object::Dictionary(b.clone())
        ));
        assert_eq!(changed_keys(&a, &b), vec!["A".to_string()]);
    }
}
