//! What the outgoing workflow does to the PDF, by the Appendix I layout: before the leader
//! signs, the number and date fields are added and the visible signature is placed; at issue
//! the clerk's number and date are filled in and the organisation's seal signs over the left
//! third of the leader's signature; an electronic copy gets the no-image stamp at the top
//! right of page 1.
//!
//! Positions follow the usual layout of an administrative document on A4: the number under
//! the issuing body at the top left of page 1, the date at the top right, the signature block
//! at the bottom right of the last page. A draft that carries its own fields with the names
//! below keeps them where its author put them.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use vanthu_pades::appearance::{self, CopyKind, Rect, StampLabel};
use vanthu_pades::pdf::{Object, Reader};
use vanthu_pades::sign::{
    add_text_fields_bytes, fill_fields_bytes, place_on_page, shown_page, SignError, SignOptions,
    TextField, VisibleSignature,
};
use vanthu_routing::{CopyForm, NumberNotation, PageSelection};

use crate::error::ApiError;

/// Text field receiving `Số: 01/UBND-VP`.
pub(crate) const NUMBER_FIELD: &str = "so_ky_hieu";
/// Text field receiving `ngày 02 tháng 12 năm 2026`.
pub(crate) const DATE_FIELD: &str = "ngay_ban_hanh";
/// Signature field of the competent official.
const OFFICIAL_FIELD: &str = "chu_ky_nguoi_ky";
/// Signature field of the organisation's seal.
const SEAL_FIELD: &str = "chu_ky_co_quan";

/// Signature field of the organisation's seal on an electronic copy, before its time.
const COPY_FIELD: &str = "chu_ky_ban_sao";

/// Size of a seal drawn without an image, in points (about 35 mm).
const SEAL_SIZE: f32 = 100.0;

/// Refusals of the PDF layer become 422 with the reason: the file is the user's to fix.
pub(crate) fn refused(e: SignError) -> ApiError {
    match e {
        SignError::Pdf(e) => ApiError::UnreadablePdf(e.to_string()),
        SignError::Io(e) => ApiError::internal(e),
        other => ApiError::SignatureRefused(other.to_string()),
    }
}

fn page_count(pdf: &[u8]) -> Result<(Reader<&[u8]>, usize), SignError> {
    let reader = Reader::new(pdf)?;
    let pages = reader.pages()?.len();
    Ok((reader, pages))
}

/// Where the official's signature goes: the bottom right of the last page.
fn official_rect(reader: &Reader<&[u8]>) -> Result<(usize, Rect), SignError> {
    let last = reader.pages()?.len();
    let page = shown_page(reader, last)?;
    let shown = Rect {
        x: page.width * 0.52,
        y: page.height * 0.10,
        width: page.width * 0.40,
        height: 110.0_f32.min(page.height * 0.2),
    };
    Ok((last, place_on_page(reader, last, shown)?))
}

/// The draft with its number and date fields, and the options for the official's visible
/// signature: the signer's signature image when they uploaded one, over their name, position
/// and the signing time.
pub(crate) fn signable(
    draft: &[u8],
    signer_name: &str,
    position: &str,
    signature_png: Option<&[u8]>,
    at: DateTime<Utc>,
) -> Result<(Vec<u8>, SignOptions), SignError> {
    let reader = Reader::new(draft)?;
    let first = shown_page(&reader, 1)?;
    // Adding the fields changes no page: the signature's place is read from the draft.
    let (page, rect) = official_rect(&reader)?;
    let field = |name: &str, shown: Rect| -> Result<TextField, SignError> {
        Ok(TextField {
            name: name.to_owned(),
            page: 1,
            rect: place_on_page(&reader, 1, shown)?,
        })
    };
    let fields = [
        field(
            NUMBER_FIELD,
            Rect {
                x: first.width * 0.07,
                y: first.height * 0.80,
                width: first.width * 0.36,
                height: 16.0,
            },
        )?,
        field(
            DATE_FIELD,
            Rect {
                x: first.width * 0.50,
                y: first.height * 0.82,
                width: first.width * 0.43,
                height: 16.0,
            },
        )?,
    ];
    drop(reader);
    let with_fields = add_text_fields_bytes(draft, &fields)?;
    let time: DateTime<FixedOffset> = at.fixed_offset();
    let lines = [
        "Ký số bởi / Signed by".to_owned(),
        signer_name.to_owned(),
        position.to_owned(),
        appearance::vietnam_time(time),
    ];
    let opts = SignOptions {
        field_name: Some(OFFICIAL_FIELD.to_owned()),
        reason: Some(format!("{position} ký ban hành")),
        signing_time: Some(time),
        visible: Some(VisibleSignature {
            page,
            appearance: match signature_png {
                Some(png) => appearance::official(rect, png, &lines)?,
                None => appearance::text_only(rect, &lines)?,
            },
        }),
        ..SignOptions::default()
    };
    Ok((with_fields, opts))
}

/// Where the official's signature image is on the page: read back from the appearance of
/// their signature field (the placement `cm` before `/Im1 Do` that [`appearance::official`]
/// writes), so the seal covers the left third of the image actually drawn, whatever image
/// the official has now. `None` when the appearance draws no image.
fn drawn_image(reader: &Reader<&[u8]>, widget: Rect) -> Option<Rect> {
    let field = reader
        .fields()
        .ok()?
        .into_iter()
        .find(|f| f.name == OFFICIAL_FIELD)?;
    let ap = reader.resolve_dict(field.dict.get("AP")?).ok()?;
    let Object::Stream(stream) = reader.resolve(ap.get("N")?).ok()? else {
        return None;
    };
    let content = reader.decode_stream(&stream).ok()?;
    let marker: &[u8] = b" cm /Im1 Do";
    let end = content.windows(marker.len()).position(|w| w == marker)?;
    let before = String::from_utf8_lossy(&content[..end]);
    let numbers: Vec<f32> = before
        .split_whitespace()
        .rev()
        .take(6)
        .map(|n| n.parse().ok())
        .collect::<Option<_>>()?;
    // Reversed `w 0 0 h x y`, in the appearance's space, whose origin is the widget's corner.
    let &[y, x, h, _, _, w] = numbers.as_slice() else {
        return None;
    };
    Some(Rect {
        x: widget.x + x,
        y: widget.y + y,
        width: w,
        height: h,
    })
}

/// Số, ngày: the two values written into the signed file at issue.
pub(crate) fn number_values(number: &NumberNotation, date: NaiveDate) -> Vec<(String, String)> {
    vec![
        (NUMBER_FIELD.to_owned(), format!("Số: {number}")),
        (
            DATE_FIELD.to_owned(),
            date.format("ngày %d tháng %m năm %Y").to_string(),
        ),
    ]
}

/// The signed file with its number and date filled in, and the options for the seal
/// signature over the left third of the official's signature: the organisation's seal image
/// at its real size when there is one, else the organisation's name in a square.
pub(crate) fn sealable(
    signed: &[u8],
    number: &NumberNotation,
    date: NaiveDate,
    organisation: &str,
    seal_png: Option<&[u8]>,
    at: DateTime<Utc>,
) -> Result<(Vec<u8>, SignOptions), SignError> {
    let filled = fill_fields_bytes(signed, &number_values(number, date))?;
    let reader = Reader::new(&filled[..])?;
    let (page, widget) = official_rect(&reader)?;
    let official = drawn_image(&reader, widget).unwrap_or(widget);
    drop(reader);
    let time = at.fixed_offset();
    let seal = match seal_png {
        Some(png) => appearance::seal(official, png)?,
        None => {
            let rect = appearance::seal_rect(official, (SEAL_SIZE, SEAL_SIZE));
            appearance::text_only(
                rect,
                &[
                    organisation.to_owned(),
                    number.to_string(),
                    appearance::vietnam_time(time),
                ],
            )?
        }
    };
    let opts = SignOptions {
        field_name: Some(SEAL_FIELD.to_owned()),
        reason: Some(format!("{organisation} phát hành")),
        signing_time: Some(time),
        visible: Some(VisibleSignature {
            page,
            appearance: seal,
        }),
        ..SignOptions::default()
    };
    Ok((filled, opts))
}

/// The pages `selection` names of `held`, as a new PDF for a trích sao: a selection beyond the
/// document (or taking all of it) is the clerk's to correct (422 naming `pages`).
pub(crate) fn extract_pages(held: &[u8], selection: &PageSelection) -> Result<Vec<u8>, ApiError> {
    let unreadable = |e: vanthu_pades::pdf::PdfError| ApiError::UnreadablePdf(e.to_string());
    let (reader, count) = page_count(held).map_err(refused)?;
    let pages = selection.within(count)?;
    vanthu_pades::pdf::extract(&reader, &pages, Vec::new()).map_err(unreadable)
}

/// The options for the organisation's seal signature on an electronic copy of `held`: no
/// image, the stamp at the top right of page 1 naming the form of copy and the organisation,
/// with the signing time in ISO 8601 at the Vietnam offset. The copy is an incremental update
/// of `held`: of the file held itself for a sao y or sao lục (its earlier signatures stay as
/// they are), of the extract for a trích sao.
pub(crate) fn copy_options(
    held: &[u8],
    form: CopyForm,
    organisation: &str,
    at: DateTime<Utc>,
) -> Result<SignOptions, SignError> {
    let (reader, _) = page_count(held)?;
    let time = at.fixed_offset();
    let kind = match form {
        CopyForm::SaoY => CopyKind::SaoY,
        CopyForm::SaoLuc => CopyKind::SaoLuc,
        CopyForm::TrichSao => CopyKind::TrichSao,
    };
    let label = StampLabel::Copy {
        kind,
        organisation: organisation.to_owned(),
    };
    let mut stamp = appearance::stamp(shown_page(&reader, 1)?, &label, time)?;
    stamp.rect = place_on_page(&reader, 1, stamp.rect)?;
    Ok(SignOptions {
        // A file may be copied again, by this unit or by the next holder: each copy's field
        // is its own.
        field_name: Some(format!("{COPY_FIELD}_{}", at.timestamp_millis())),
        reason: Some(format!("{} - {organisation}", kind.label())),
        signing_time: Some(time),
        visible: Some(VisibleSignature {
            page: 1,
            appearance: stamp,
        }),
        ..SignOptions::default()
    })
}
