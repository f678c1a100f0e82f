//! Stream filters (§7.4): FlateDecode with PNG/TIFF predictors, ASCIIHexDecode, ASCII85Decode.
//! Every decoder stops at a size cap so a decompression bomb costs bounded memory.

use std::io::Read;

use super::object::{Dictionary, Object};
use super::PdfError;

/// Decodes `data` through the filters named in `dict` with at most `cap` output bytes.
pub fn decode(dict: &Dictionary, data: &[u8], cap: usize) -> Result<Vec<u8>, PdfError> {
    let filters: Vec<&[u8]> = match dict.get("Filter") {
        None => return Ok(data.to_vec()),
        Some(Object::Name(n)) => vec![n.as_slice()],
        Some(Object::Array(a)) => a.iter().filter_map(Object::as_name).collect(),
        Some(_) => return Err(PdfError::Unsupported("malformed /Filter")),
    };
    let params: Vec<Option<&Dictionary>> = match dict.get("DecodeParms") {
        Some(Object::Array(a)) => a.iter().map(Object::as_dict).collect(),
        Some(o) => vec![o.as_dict()],
        None => Vec::new(),
    };
    let mut cur = data.to_vec();
    for (i, f) in filters.iter().enumerate() {
        let p = params.get(i).copied().flatten();
        cur = match *f {
            b"FlateDecode" | b"Fl" => {
                let raw = inflate(&cur, cap)?;
                unpredict(raw, p)?
            }
            b"ASCIIHexDecode" | b"AHx" => ascii_hex(&cur, cap)?,
            b"ASCII85Decode" | b"A85" => ascii85(&cur, cap)?,
            _ => return Err(PdfError::Unsupported("stream filter")),
        };
    }
    Ok(cur)
}

/// zlib-compresses `data` for a /FlateDecode stream of a written object.
pub fn deflate(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::ZlibEncoder::new(
        Vec::with_capacity(data.len() / 2 + 64),
        flate2::Compression::default(),
    );
    // Writing into a Vec cannot fail.
    let _ = std::io::Write::write_all(&mut enc, data);
    enc.finish().unwrap_or_default()
}

/// zlib inflate with an output cap; a truncated or corrupt tail keeps what decoded cleanly,
/// like other readers, because producers often end streams sloppily.
pub fn inflate(data: &[u8], cap: usize) -> Result<Vec<u8>, PdfError> {
    let mut out = Vec::new();
    let mut dec = flate2::read::ZlibDecoder::new(data).take(cap as u64 + 1);
    match dec.read_to_end(&mut out) {
        Ok(_) => {}
        Err(_) if !out.is_empty() => {}
        Err(_) => return Err(PdfError::Corrupt("FlateDecode data")),
    }
    if out.len() > cap {
        return Err(PdfError::Limit("decompressed stream exceeds the size cap"));
    }
    Ok(out)
}

fn unpredict(data: Vec<u8>, params: Option<&Dictionary>) -> Result<Vec<u8>, PdfError> {
    let Some(p) = params else { return Ok(data) };
    let predictor = p.get_int("Predictor").unwrap_or(1);
    if predictor == 1 {
        return Ok(data);
    }
    let colors = p.get_int("Colors").unwrap_or(1).clamp(1, 32) as usize;
    let bpc = p.get_int("BitsPerComponent").unwrap_or(8).clamp(1, 16) as usize;
    let columns = p.get_int("Columns").unwrap_or(1).clamp(1, 1 << 20) as usize;
    let bpp = (colors * bpc).div_ceil(8);
    let row_len = (colors * bpc * columns).div_ceil(8);
    if predictor == 2 {
        if bpc != 8 {
            return Err(PdfError::Unsupported(
                "TIFF predictor with bits per component other than 8",
            ));
        }
        let mut out = data;
        for row in out.chunks_mut(row_len) {
            for i in bpp..row.len() {
                row[i] = row[i].wrapping_add(row[i - bpp]);
            }
        }
        return Ok(out);
    }
    if predictor < 10 {
        return Err(PdfError::Unsupported("predictor"));
    }
    let mut out = Vec::with_capacity(data.len());
    let mut prev = vec![0u8; row_len];
    for chunk in data.chunks(row_len + 1) {
        let (&kind, row) = chunk
            .split_first()
            .ok_or(PdfError::Corrupt("predictor row"))?;
        let mut cur = row.to_vec();
        cur.resize(row_len, 0);
        for i in 0..row_len {
            let left = if i >= bpp { cur[i - bpp] } else { 0 };
            let up = prev[i];
            let up_left = if i >= bpp { prev[i - bpp] } else { 0 };
            cur[i] = match kind {
                0 => cur[i],
                1 => cur[i].wrapping_add(left),
                2 => cur[i].wrapping_add(up),
                3 => cur[i].wrapping_add(((u16::from(left) + u16::from(up)) / 2) as u8),
                4 => cur[i].wrapping_add(paeth(left, up, up_left)),
                _ => return Err(PdfError::Corrupt("PNG predictor type")),
            };
        }
        out.extend_from_slice(&cur[..row.len().min(row_len)]);
        prev = cur;
    }
    Ok(out)
}

fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let p = i16::from(a) + i16::from(b) - i16::from(c);
    let (pa, pb, pc) = (
        (p - i16::from(a)).abs(),
        (p - i16::from(b)).abs(),
        (p - i16::from(c)).abs(),
    );
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}

fn ascii_hex(data: &[u8], cap: usize) -> Result<Vec<u8>, PdfError> {
    let mut out = Vec::new();
    let mut half = None;
    for &b in data {
        if b == b'>' {
            break;
        }
        let v = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            b'A'..=b'F' => b - b'A' + 10,
            _ if super::object::is_whitespace(b) => continue,
            _ => return Err(PdfError::Corrupt("ASCIIHexDecode data")),
        };
        match half.take() {
            Some(h) => out.push(h << 4 | v),
            None => half = Some(v),
        }
        if out.len() > cap {
            return Err(PdfError::Limit("decompressed stream exceeds the size cap"));
        }
    }
    if let Some(h) = half {
        out.push(h << 4);
    }
    Ok(out)
}

fn ascii85(data: &[u8], cap: usize) -> Result<Vec<u8>, PdfError> {
    let mut out = Vec::new();
    let mut group = [0u32; 5];
    let mut n = 0;
    let mut iter = data.iter().copied();
    if data.starts_with(b"<~") {
        iter.nth(1);
    }
    for b in iter {
        match b {
            b'~' => break,
            b'z' if n == 0 => out.extend_from_slice(&[0; 4]),
            b'!'..=b'u' => {
                group[n] = u32::from(b - b'!');
                n += 1;
                if n == 5 {
                    let v = group.iter().fold(0u64, |acc, &d| acc * 85 + u64::from(d));
                    let v =
                        u32::try_from(v).map_err(|_| PdfError::Corrupt("ASCII85Decode data"))?;
                    out.extend_from_slice(&v.to_be_bytes());
                    n = 0;
                }
            }
            _ if super::object::is_whitespace(b) => {}
            _ => return Err(PdfError::Corrupt("ASCII85Decode data")),
        }
        if out.len() > cap {
            return Err(PdfError::Limit("decompressed stream exceeds the size cap"));
        }
    }
    if n > 1 {
        for g in group.iter_mut().skip(n) {
            *g = 84;
        }
        let v = group.iter().fold(0u64, |acc, &d| acc * 85 + u64::from(d));
        let v = u32::try_from(v).map_err(|_| PdfError::Corrupt("ASCII85Decode data"))?;
        out.extend_from_slice(&v.to_be_bytes()[..n - 1]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn deflate(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn flate_with_png_up_predictor() {
        // Two rows of 3 columns, "Up" filter: second row adds to the first.
        let raw = [2u8, 1, 2, 3, 2, 1, 1, 1];
        let mut dict = Dictionary::new();
        dict.set("Filter", Object::name("FlateDecode"));
        let mut p = Dictionary::new();
        p.set("Predictor", 12);
        p.set("Columns", 3);
        dict.set("DecodeParms", p);
        assert_eq!(
            decode(&dict, &deflate(&raw), 1000).unwrap(),
            vec![1, 2, 3, 2, 3, 4]
        );
    }

    #[test]
    fn bomb_is_capped() {
        let bomb = deflate(&vec![0u8; 10_000_000]);
        assert!(matches!(inflate(&bomb, 1_000_000), Err(PdfError::Limit(_))));
    }

    #[test]
    fn ascii_filters() {
        assert_eq!(ascii_hex(b"48 65 6c6c6f>", 100).unwrap(), b"Hello");
        assert_eq!(ascii85(b"<~87cURDZ~>", 100).unwrap(), b"Hello");
    }
}
