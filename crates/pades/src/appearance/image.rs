//! PNG signature and seal images as PDF image XObjects, with the alpha channel as /SMask.

use png::{BitDepth, ColorType, Transformations};

use super::font::deflate;
use super::object::{name, Dict, Object, Value};
use super::AppearanceError;

/// Largest image accepted, in pixels: a 40 mm seal scanned at 1200 dpi is 1,900 px across, so
/// 25 megapixels leaves room while keeping a hostile PNG from exhausting memory.
const MAX_PIXELS: u64 = 25_000_000;

/// Resolution assumed when a PNG does not say (no pHYs chunk): the usual scan resolution.
const DEFAULT_DPI: f32 = 300.0;

/// A decoded PNG, described completely enough for any PDF writer.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageResource {
    /// Name under which the appearance's /Resources /XObject lists it (e.g. `Im1`).
    pub name: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `DeviceRGB` or `DeviceGray`.
    pub color_space: &'static str,
    /// Colour samples, 8 bits per component, flate-compressed.
    pub data: Vec<u8>,
    /// Alpha samples (8-bit DeviceGray), flate-compressed; `None` when fully opaque.
    pub alpha: Option<Vec<u8>>,
    /// Physical size in points from the PNG's pHYs chunk (300 dpi assumed without one).
    pub natural_size: (f32, f32),
}

impl ImageResource {
    /// Decodes a PNG (any colour type and depth, palette and tRNS transparency included).
    pub fn from_png(bytes: &[u8], resource_name: &str) -> Result<Self, AppearanceError> {
        let png_err = |e: png::DecodingError| AppearanceError::Png(e.to_string());
        let mut decoder = png::Decoder::new_with_limits(
            std::io::Cursor::new(bytes),
            png::Limits {
                bytes: (MAX_PIXELS * 4) as usize,
            },
        );
        decoder.set_transformations(Transformations::EXPAND | Transformations::STRIP_16);
        let mut reader = decoder.read_info().map_err(png_err)?;
        let info = reader.info();
        let (width, height) = (info.width, info.height);
        if u64::from(width) * u64::from(height) > MAX_PIXELS {
            return Err(AppearanceError::ImageTooLarge { width, height });
        }
        let dpi = info
            .pixel_dims
            .filter(|d| d.unit == png::Unit::Meter && d.xppu > 0 && d.yppu > 0)
            .map(|d| (d.xppu as f32 * 0.0254, d.yppu as f32 * 0.0254))
            .unwrap_or((DEFAULT_DPI, DEFAULT_DPI));
        let size = reader
            .output_buffer_size()
            .ok_or(AppearanceError::ImageTooLarge { width, height })?;
        let mut buf = vec![0; size];
        let frame = reader.next_frame(&mut buf).map_err(png_err)?;
        buf.truncate(frame.buffer_size());
        let (color_type, depth) = reader.output_color_type();
        if depth != BitDepth::Eight {
            return Err(AppearanceError::Png(format!(
                "unexpected bit depth {depth:?} after expansion"
            )));
        }
        let (color, alpha, color_space) = split_alpha(&buf, color_type)?;
        let alpha = alpha.filter(|a| a.iter().any(|v| *v != 255));
        Ok(Self {
            name: resource_name.to_owned(),
            width,
            height,
            color_space,
            data: deflate(&color),
            alpha: alpha.map(|a| deflate(&a)),
            natural_size: (width as f32 * 72.0 / dpi.0, height as f32 * 72.0 / dpi.1),
        })
    }

    /// Appends the image (and its soft mask) to `objects`; returns the image's index.
    pub(crate) fn push_objects(&self, objects: &mut Vec<Object>) -> usize {
        let base = |cs: &str| {
            Dict::default()
                .with("Type", name("XObject"))
                .with("Subtype", name("Image"))
                .with("Width", Value::Integer(i64::from(self.width)))
                .with("Height", Value::Integer(i64::from(self.height)))
                .with("ColorSpace", name(cs))
                .with("BitsPerComponent", Value::Integer(8))
                .with("Filter", name("FlateDecode"))
        };
        let smask = self.alpha.as_ref().map(|alpha| {
            objects.push(Object {
                dict: base("DeviceGray"),
                stream: Some(alpha.clone()),
            });
            objects.len() - 1
        });
        let mut dict = base(self.color_space);
        if let Some(i) = smask {
            dict = dict.with("SMask", Value::Ref(i));
        }
        objects.push(Object {
            dict,
            stream: Some(self.data.clone()),
        });
        objects.len() - 1
    }
}

type Planes = (Vec<u8>, Option<Vec<u8>>, &'static str);

/// Separates colour and alpha samples of an 8-bit decoded image.
fn split_alpha(buf: &[u8], color_type: ColorType) -> Result<Planes, AppearanceError> {
    let split = |channels: usize| {
        let mut color = Vec::with_capacity(buf.len() / (channels + 1) * channels);
        let mut alpha = Vec::with_capacity(buf.len() / (channels + 1));
        for px in buf.chunks_exact(channels + 1) {
            color.extend_from_slice(&px[..channels]);
            alpha.push(px[channels]);
        }
        (color, Some(alpha))
    };
    Ok(match color_type {
        ColorType::Rgb => (buf.to_vec(), None, "DeviceRGB"),
        ColorType::Grayscale => (buf.to_vec(), None, "DeviceGray"),
        ColorType::Rgba => {
            let (c, a) = split(3);
            (c, a, "DeviceRGB")
        }
        ColorType::GrayscaleAlpha => {
            let (c, a) = split(1);
            (c, a, "DeviceGray")
        }
        ColorType::Indexed => {
            return Err(AppearanceError::Png(
                "palette image was not expanded".to_owned(),
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::read::ZlibDecoder;
    use std::io::Read;

    fn inflate(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        ZlibDecoder::new(data).read_to_end(&mut out).unwrap();
        out
    }

    fn encode(
        width: u32,
        height: u32,
        color: ColorType,
        data: &[u8],
        trns: Option<&[u8]>,
    ) -> Vec<u8> {
        let mut out = Vec::new();
        let mut enc = png::Encoder::new(&mut out, width, height);
        enc.set_color(color);
        enc.set_depth(BitDepth::Eight);
        if color == ColorType::Indexed {
            enc.set_palette(vec![255, 0, 0, 0, 0, 255]);
        }
        if let Some(t) = trns {
            enc.set_trns(t.to_vec());
        }
        let mut w = enc.write_header().unwrap();
        w.write_image_data(data).unwrap();
        w.finish().unwrap();
        out
    }

    #[test]
    fn rgba_splits_into_colour_and_soft_mask() {
        let png = encode(
            2,
            1,
            ColorType::Rgba,
            &[10, 20, 30, 0, 40, 50, 60, 255],
            None,
        );
        let img = ImageResource::from_png(&png, "Im1").unwrap();
        assert_eq!(img.color_space, "DeviceRGB");
        assert_eq!(inflate(&img.data), [10, 20, 30, 40, 50, 60]);
        assert_eq!(inflate(img.alpha.as_ref().unwrap()), [0, 255]);
        // No pHYs: 300 dpi assumed, 2 px = 0.48 pt.
        assert!((img.natural_size.0 - 0.48).abs() < 1e-4);
    }

    #[test]
    fn palette_with_trns_keeps_its_transparency() {
        let png = encode(2, 1, ColorType::Indexed, &[0, 1], Some(&[0]));
        let img = ImageResource::from_png(&png, "Im1").unwrap();
        assert_eq!(inflate(&img.data), [255, 0, 0, 0, 0, 255]);
        assert_eq!(inflate(img.alpha.as_ref().unwrap()), [0, 255]);
    }

    #[test]
    fn opaque_images_get_no_mask() {
        let png = encode(1, 1, ColorType::Rgba, &[1, 2, 3, 255], None);
        let img = ImageResource::from_png(&png, "Im1").unwrap();
        assert!(img.alpha.is_none());
        let mut objects = Vec::new();
        assert_eq!(img.push_objects(&mut objects), 0);
        assert!(objects[0].dict.get("SMask").is_none());
    }

    #[test]
    fn hostile_pngs_are_refused_not_allocated() {
        assert!(ImageResource::from_png(b"not a png", "Im1").is_err());
        // A valid header claiming 100000 x 100000 pixels, then nothing.
        let mut png = encode(1, 1, ColorType::Rgba, &[0, 0, 0, 0], None);
        png[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        png[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        let crc = crc32(&png[12..29]);
        png[29..33].copy_from_slice(&crc.to_be_bytes());
        assert!(ImageResource::from_png(&png, "Im1").is_err());
        let truncated = encode(4, 4, ColorType::Rgba, &[7; 64], None);
        assert!(ImageResource::from_png(&truncated[..truncated.len() - 20], "Im1").is_err());
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xffff_ffffu32;
        for b in data {
            crc ^= u32::from(*b);
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn demo_seal_has_its_real_size() {
        let img =
            ImageResource::from_png(include_bytes!("../../assets/demo/seal.png"), "Im1").unwrap();
        // 425 px at 300 dpi: 36 mm = 102 pt.
        assert!(
            (img.natural_size.0 - 102.0).abs() < 0.5,
            "{:?}",
            img.natural_size
        );
        assert!(img.alpha.is_some());
    }
}
