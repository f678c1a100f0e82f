//! The signature dictionary's /ByteRange and /Contents (ISO 32000-1 §12.8.1): reserved at a
//! fixed width in an incremental update, then filled once the update is laid out — the byte
//! range covering the whole file but the /Contents hex string, the CMS written into that.

use crate::pdf::{
    Dictionary, IncrementalUpdate, Object, ObjectId, PdfError, Placeholder, WrittenUpdate,
};

/// Bytes reserved for `/ByteRange [0 a b c]`: four offsets of a file up to 10^15 bytes.
const BYTE_RANGE_WIDTH: usize = 64;

/// Writes the signature dictionary `sig` as object `id` of `update`, its /ByteRange and its
/// /Contents (room for `contents` bytes of CMS) as placeholders.
pub fn reserve(update: &mut IncrementalUpdate, id: ObjectId, mut sig: Dictionary, contents: usize) {
    sig.set("ByteRange", vec![Object::Integer(0); 4]);
    sig.set("Contents", Object::Null);
    update.set_with_placeholders(
        id,
        sig,
        &[
            ("ByteRange", Placeholder::Padded(BYTE_RANGE_WIDTH)),
            ("Contents", Placeholder::HexString(contents)),
        ],
    );
}

/// Fills /ByteRange so it covers everything except the /Contents hex string, and returns the
/// range `[0, a, b, c]`.
pub fn patch_byte_range(written: &mut WrittenUpdate) -> Result<[u64; 4], PdfError> {
    let (at, len) = written.placeholder("Contents")?;
    let end = at + len as u64;
    let range = [0, at, end, written.total_len() - end];
    let value = Object::Array(range.iter().map(|&n| Object::Integer(n as i64)).collect());
    written.fill("ByteRange", &value)?;
    Ok(range)
}

/// The part of the update the byte range covers: before and after /Contents.
pub fn signed_parts(written: &WrittenUpdate) -> Result<(&[u8], &[u8]), PdfError> {
    written.around("Contents")
}

/// Writes the CMS `der` hex-encoded into /Contents (the rest stays zeros).
pub fn patch_contents(written: &mut WrittenUpdate, der: &[u8]) -> Result<(), PdfError> {
    written.fill_hex("Contents", der)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pdf::testing::simple_pdf;
    use crate::pdf::Reader;

    #[test]
    fn the_byte_range_covers_all_but_the_contents() {
        let base = simple_pdf();
        let reader = Reader::new(base.as_slice()).unwrap();
        let mut up = IncrementalUpdate::new(&reader).unwrap();
        let id = up.allocate();
        let mut sig = Dictionary::new();
        sig.set("Type", Object::name("Sig"));
        reserve(&mut up, id, sig, 4);
        let mut w = up.write().unwrap();
        let range = patch_byte_range(&mut w).unwrap();
        patch_contents(&mut w, &[0xde, 0xad]).unwrap();
        let (before, after) = signed_parts(&w).unwrap();
        let mut file = base.clone();
        file.extend_from_slice(&w.bytes);
        assert_eq!(&file[range[1] as usize..range[2] as usize], b"<DEAD0000>");
        assert_eq!(range[2] + range[3], file.len() as u64);
        assert_eq!(base.len() + before.len(), range[1] as usize);
        assert_eq!(after.len() as u64, range[3]);
        let r2 = Reader::new(file.as_slice()).unwrap();
        let d = r2.resolve_dict(&Object::Reference(id)).unwrap();
        let written: Vec<u64> = d
            .get("ByteRange")
            .and_then(Object::as_array)
            .unwrap()
            .iter()
            .filter_map(|n| n.as_int().map(|n| n as u64))
            .collect();
        assert_eq!(written, range);
        assert_eq!(
            d.get("Contents").unwrap().as_string().unwrap().bytes,
            vec![0xde, 0xad, 0, 0]
        );
        assert!(patch_contents(&mut w, &[1, 2, 3, 4, 5]).is_err());
    }
}
