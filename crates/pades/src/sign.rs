//! The signing flow: a signature field and dictionary in an incremental update, the byte range
//! hashed as a stream (the input file is never held in memory), the CMS from [`crate::cms`],
//! then for B-LT/B-LTA the DSS and a document time-stamp in further updates.
//!
//! Files are written to a temporary file beside the output, synced and renamed, so a failure
//! never leaves a partial output.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::str::FromStr;

use chrono::{DateTime, FixedOffset, Utc};

use crate::appearance::{self, Appearance, AppearanceError, Rect};
use crate::byte_range;
use crate::cms::{self, CmsError};
use crate::ltv::{self, LtvError, RevocationMode};
use crate::pdf::reader::Field;
use crate::pdf::{
    Dictionary, IncrementalUpdate, Object, ObjectId, PdfError, PdfString, Reader, Source,
};
use crate::signer::{DigestAlgorithm, Signer, SignerError};
use crate::tsa::{TsaClient, TsaError};

/// PAdES baseline level (ETSI EN 319 142-1 §6).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Level {
    /// Basic signature.
    #[serde(rename = "B-B")]
    BB,
    /// With a signature time-stamp.
    #[serde(rename = "B-T")]
    BT,
    /// With validation data in a DSS.
    #[serde(rename = "B-LT")]
    BLT,
    /// With a document time-stamp over the DSS.
    #[serde(rename = "B-LTA")]
    BLTA,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::BB => "B-B",
            Level::BT => "B-T",
            Level::BLT => "B-LT",
            Level::BLTA => "B-LTA",
        })
    }
}

impl FromStr for Level {
    type Err = SignError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().as_str() {
            "B-B" => Ok(Level::BB),
            "B-T" => Ok(Level::BT),
            "B-LT" => Ok(Level::BLT),
            "B-LTA" => Ok(Level::BLTA),
            _ => Err(SignError::Options(format!(
                "unknown level {s:?}: use B-B, B-T, B-LT or B-LTA"
            ))),
        }
    }
}

/// A visible signature: where, and what it looks like.
#[derive(Debug, Clone)]
pub struct VisibleSignature {
    /// Page number, 1-based.
    pub page: usize,
    /// The appearance, drawn upright as the page is shown. Its rectangle is the widget's /Rect
    /// in user space; on a page turned a quarter (/Rotate 90 or 270) its width and height are
    /// the shown ones, swapped in the /Rect, and the appearance is turned to match
    /// ([`place_on_page`] gives such a rectangle).
    pub appearance: Appearance,
}

/// Everything about one signature except the key.
#[derive(Debug, Clone)]
pub struct SignOptions {
    /// Baseline level to reach.
    pub level: Level,
    /// Field to sign: an existing empty signature field, or the name of a new one.
    pub field_name: Option<String>,
    /// Make this a certification signature (DocMDP P=2: form filling and signing allowed).
    pub certify: bool,
    /// /Reason.
    pub reason: Option<String>,
    /// /Location.
    pub location: Option<String>,
    /// /ContactInfo.
    pub contact: Option<String>,
    /// Visible appearance; `None` signs invisibly.
    pub visible: Option<VisibleSignature>,
    /// Time-stamp authority for B-T and above.
    pub tsa_url: Option<String>,
    /// Where revocation data for B-LT and above comes from.
    pub revocation: RevocationMode,
    /// Claimed signing time (/M); now when `None`.
    pub signing_time: Option<DateTime<FixedOffset>>,
}

impl Default for SignOptions {
    fn default() -> Self {
        Self {
            level: Level::BB,
            field_name: None,
            certify: false,
            reason: None,
            location: None,
            contact: None,
            visible: None,
            tsa_url: None,
            revocation: RevocationMode::Online,
            signing_time: None,
        }
    }
}

/// What a signing run did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SignReport {
    /// The signature field's name.
    pub field_name: String,
    /// Level reached.
    pub level: Level,
    /// The signature's /ByteRange.
    pub byte_range: [u64; 4],
    /// Bytes reserved for the CMS in /Contents.
    pub reserved: usize,
    /// Bytes the CMS actually took.
    pub used: usize,
    /// Size of the output file.
    pub output_len: u64,
}

/// Why signing failed.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// The input PDF cannot be read or updated.
    #[error(transparent)]
    Pdf(#[from] PdfError),
    /// Options do not make sense.
    #[error("{0}")]
    Options(String),
    /// The document forbids this signature.
    #[error("{0}")]
    Refused(String),
    /// The key failed.
    #[error(transparent)]
    Signer(#[from] SignerError),
    /// The CMS could not be built.
    #[error(transparent)]
    Cms(#[from] CmsError),
    /// The time-stamp authority failed.
    #[error(transparent)]
    Tsa(#[from] TsaError),
    /// Validation data could not be collected or written.
    #[error(transparent)]
    Ltv(#[from] LtvError),
    /// The visible appearance could not be drawn.
    #[error(transparent)]
    Appearance(#[from] AppearanceError),
    /// The CMS came out larger than the space reserved for it in /Contents.
    #[error("the signature ({needed} bytes) does not fit the {reserved} bytes reserved for it")]
    ContentsTooSmall {
        /// Bytes the CMS took.
        needed: usize,
        /// Bytes reserved.
        reserved: usize,
    },
    /// Reading or writing files failed.
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Signs the file at `input` into `output` (written atomically).
pub fn sign_file(
    input: &Path,
    output: &Path,
    signer: &dyn Signer,
    opts: &SignOptions,
) -> Result<SignReport, SignError> {
    let tmp = working_copy(input, output, ".vanthu-sign-")?;
    let report = {
        let mut work = FileWork::open(tmp.path())?;
        sign_work(&mut work, signer, opts)?
    };
    persist(tmp, output)?;
    Ok(report)
}

/// A temporary copy of `input` beside `output`, renamed over it once complete.
///
/// Error messages name the user's paths only: the temporary file's name means nothing to them.
fn working_copy(
    input: &Path,
    output: &Path,
    prefix: &str,
) -> Result<tempfile::NamedTempFile, SignError> {
    refuse_same_file(input, output)?;
    let dir = output
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| Path::new("."));
    if !dir.is_dir() {
        return Err(SignError::Options(format!(
            "cannot write {}: the folder {} does not exist",
            output.display(),
            dir.display()
        )));
    }
    let tmp = tempfile::Builder::new()
        .prefix(prefix)
        .tempfile_in(dir)
        .map_err(|e| {
            // tempfile's error text carries the temporary name; keep only the OS reason.
            let reason = io::Error::from(e.kind());
            io::Error::new(
                e.kind(),
                format!("cannot write {}: {reason}", output.display()),
            )
        })?;
    std::fs::copy(input, tmp.path())
        .map_err(|e| io::Error::new(e.kind(), format!("cannot read {}: {e}", input.display())))?;
    Ok(tmp)
}

/// Renames the finished temporary file over `output`; a failure names `output` only.
fn persist(tmp: tempfile::NamedTempFile, output: &Path) -> Result<(), SignError> {
    tmp.as_file().sync_all()?;
    tmp.persist(output).map_err(|e| {
        let reason = io::Error::from(e.error.kind());
        SignError::Io(io::Error::new(
            e.error.kind(),
            format!("cannot write {}: {reason}", output.display()),
        ))
    })?;
    Ok(())
}

/// Refuses an output that is the input itself, under any name (another path, a symbolic or a
/// hard link): renaming the result over it would replace the document being read.
fn refuse_same_file(input: &Path, output: &Path) -> Result<(), SignError> {
    let same = match (std::fs::metadata(input), std::fs::metadata(output)) {
        (Ok(a), Ok(b)) => same_file(&a, &b),
        _ => false,
    } || matches!(
        (std::fs::canonicalize(input), std::fs::canonicalize(output)),
        (Ok(a), Ok(b)) if a == b
    );
    if same {
        return Err(SignError::Options(format!(
            "the output {} is the input file itself: write the result to another file",
            output.display()
        )));
    }
    Ok(())
}

#[cfg(unix)]
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

#[cfg(not(unix))]
fn same_file(_: &std::fs::Metadata, _: &std::fs::Metadata) -> bool {
    false
}

/// Signs PDF bytes held in memory and returns the signed file.
pub fn sign_bytes(
    input: &[u8],
    signer: &dyn Signer,
    opts: &SignOptions,
) -> Result<(Vec<u8>, SignReport), SignError> {
    let mut work = input.to_vec();
    let report = sign_work(&mut work, signer, opts)?;
    Ok((work, report))
}

/// A growing document: the bytes so far, which later steps re-read and append to.
pub(crate) trait Work {
    /// The source type for reading the current bytes.
    type Src<'a>: Source
    where
        Self: 'a;
    /// A reader over the current bytes.
    fn reader(&self) -> Result<Reader<Self::Src<'_>>, PdfError>;
    /// Appends an update.
    fn append(&mut self, bytes: &[u8]) -> io::Result<()>;
    /// Current length in bytes.
    fn len(&self) -> io::Result<u64>;
}

impl Work for Vec<u8> {
    type Src<'a> = &'a [u8];
    fn reader(&self) -> Result<Reader<&[u8]>, PdfError> {
        Reader::new(self.as_slice())
    }
    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.extend_from_slice(bytes);
        Ok(())
    }
    fn len(&self) -> io::Result<u64> {
        Ok(Vec::len(self) as u64)
    }
}

/// A file being extended in place (a temporary copy of the input).
pub(crate) struct FileWork {
    file: File,
}

impl FileWork {
    pub(crate) fn open(path: &Path) -> io::Result<Self> {
        Ok(Self {
            file: OpenOptions::new().read(true).append(true).open(path)?,
        })
    }
}

impl Work for FileWork {
    type Src<'a> = &'a File;
    fn reader(&self) -> Result<Reader<&File>, PdfError> {
        Reader::new(&self.file)
    }
    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.file.write_all(bytes)
    }
    fn len(&self) -> io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }
}

fn sign_work<W: Work>(
    work: &mut W,
    signer: &dyn Signer,
    opts: &SignOptions,
) -> Result<SignReport, SignError> {
    let time = opts
        .signing_time
        .unwrap_or_else(|| Utc::now().fixed_offset());
    check_validity_period(signer, time)?;
    let tsa = match (&opts.tsa_url, opts.level) {
        (Some(url), _) => Some(TsaClient::new(url)?),
        (None, Level::BB) => None,
        (None, level) => {
            return Err(SignError::Options(format!(
                "level {level} needs a time-stamp authority (--tsa URL)"
            )))
        }
    };
    let (update, report) = {
        let reader = work.reader()?;
        signature_update(&reader, signer, opts, tsa.as_ref())?
    };
    work.append(&update)?;
    let mut report = report;
    if opts.level >= Level::BLT {
        let reader = work.reader()?;
        let tsa = tsa.as_ref().ok_or_else(|| {
            SignError::Options("B-LT needs a time-stamp authority (--tsa URL)".into())
        })?;
        let chain: Vec<Vec<u8>> = std::iter::once(signer.certificate().to_vec())
            .chain(signer.chain().iter().cloned())
            .collect();
        let dss = ltv::dss_update_for_new_signature(&reader, &opts.revocation, &chain)?;
        drop(reader);
        if let Some(bytes) = dss {
            work.append(&bytes)?;
        }
        if opts.level == Level::BLTA {
            let reader = work.reader()?;
            let bytes = document_timestamp_update(&reader, tsa)?;
            drop(reader);
            work.append(&bytes)?;
            // The time-stamp itself needs validation data to be verifiable later (B-LTA).
            let reader = work.reader()?;
            let dss = ltv::dss_update(&reader, &opts.revocation)?;
            drop(reader);
            if let Some(bytes) = dss {
                work.append(&bytes)?;
            }
        }
    }
    report.output_len = work.len()?;
    Ok(report)
}

/// Refuses to sign outside the signer certificate's validity period: every validator would
/// reject the result, and the official should learn it now rather than from the recipient.
fn check_validity_period(
    signer: &dyn Signer,
    time: DateTime<FixedOffset>,
) -> Result<(), SignError> {
    let unreadable = || SignError::Refused("the signer's certificate cannot be read".into());
    // The process-wide parse: OpenSSL 3 decodes the public key of every certificate it reads.
    let cert =
        crate::certificate::parse_certificate(signer.certificate()).ok_or_else(unreadable)?;
    let at = openssl::asn1::Asn1Time::from_unix(time.timestamp()).map_err(|_| unreadable())?;
    let before_start = cert
        .not_before()
        .compare(&at)
        .map_err(|_| unreadable())?
        .is_gt();
    let after_end = cert
        .not_after()
        .compare(&at)
        .map_err(|_| unreadable())?
        .is_lt();
    if before_start || after_end {
        return Err(SignError::Refused(format!(
            "the signer's certificate is valid from {} to {}, not at the signing time {}: \
             a signature made with it would not be valid",
            cert.not_before(),
            cert.not_after(),
            time.to_rfc3339()
        )));
    }
    Ok(())
}

/// Extends signed files from B-B/B-T to B-LT or B-LTA: the DSS for every signature, then
/// (B-LTA) a document time-stamp.
pub fn extend_file(
    input: &Path,
    output: &Path,
    level: Level,
    tsa_url: Option<&str>,
    revocation: &RevocationMode,
) -> Result<u64, SignError> {
    if level < Level::BLT {
        return Err(SignError::Options("extension targets B-LT or B-LTA".into()));
    }
    let tsa = tsa_url.map(TsaClient::new).transpose()?;
    let need_tsa = || {
        tsa.as_ref().ok_or_else(|| {
            SignError::Options(format!("{level} needs a time-stamp authority (--tsa URL)"))
        })
    };
    let tmp = working_copy(input, output, ".vanthu-extend-")?;
    let len = {
        let mut work = FileWork::open(tmp.path())?;
        let untimed = {
            let reader = work.reader()?;
            if signature_fields(&reader)?.is_empty() {
                return Err(SignError::Refused(
                    "the document has no signature to extend".into(),
                ));
            }
            lacks_time_evidence(&reader)?
        };
        // B-LT builds on B-T: a B-B signature gets its proof of time from a document
        // time-stamp, whose authority's chain the DSS then covers too.
        if untimed && level == Level::BLT {
            let reader = work.reader()?;
            let bytes = document_timestamp_update(&reader, need_tsa()?)?;
            drop(reader);
            work.append(&bytes)?;
        }
        let steps = if level == Level::BLTA { 2 } else { 1 };
        for step in 0..steps {
            let reader = work.reader()?;
            let dss = ltv::dss_update(&reader, revocation)?;
            drop(reader);
            if let Some(bytes) = dss {
                work.append(&bytes)?;
            }
            if step == 0 && level == Level::BLTA {
                let reader = work.reader()?;
                let bytes = document_timestamp_update(&reader, need_tsa()?)?;
                drop(reader);
                work.append(&bytes)?;
            }
        }
        work.len()?
    };
    persist(tmp, output)?;
    Ok(len)
}

/// True when some signature has neither a signature time-stamp nor a document time-stamp
/// after it.
fn lacks_time_evidence<S: Source>(reader: &Reader<S>) -> Result<bool, SignError> {
    let mut untimed = false;
    for field in signature_fields(reader)? {
        let Some(v) = field.dict.get("V") else {
            continue;
        };
        let sig = reader.resolve_dict(v)?;
        if sig.name_is("SubFilter", "ETSI.RFC3161") {
            // A document time-stamp vouches for the time of every signature before it.
            return Ok(false);
        }
        let Some(contents) = sig.get("Contents").and_then(Object::as_string) else {
            continue;
        };
        let parsed = cms::ParsedSignedData::parse(&contents.bytes)?;
        untimed |= parsed.signer.timestamp_tokens.is_empty();
    }
    Ok(untimed)
}

/// The visible box of a page (1-based): its CropBox, else its MediaBox, as
/// `[llx, lly, urx, ury]`; for placing stamps relative to the page edges.
pub fn page_box<S: Source>(reader: &Reader<S>, page: usize) -> Result<[f64; 4], SignError> {
    let pages = reader.pages()?;
    let id = *pages.get(page.wrapping_sub(1)).ok_or_else(|| {
        SignError::Options(format!(
            "page {page} does not exist (the document has {} pages)",
            pages.len()
        ))
    })?;
    for key in ["CropBox", "MediaBox"] {
        if let Some(Object::Array(a)) = reader.page_attribute(id, key)? {
            let v: Vec<f64> = a.iter().filter_map(Object::as_f64).collect();
            if let [x0, y0, x1, y1] = v[..] {
                return Ok([x0.min(x1), y0.min(y1), x0.max(x1), y0.max(y1)]);
            }
        }
    }
    Err(SignError::Pdf(PdfError::Corrupt("page without a MediaBox")))
}

/// Places a rectangle given as the page is shown, relative to the lower-left corner of page
/// `page`'s visible box (CropBox, else MediaBox) and turned with its /Rotate, in the page's
/// user space. The result keeps the shown width and height (the size to draw an appearance
/// at) with its lower-left corner moved to the widget's lower-left corner in user space; see
/// [`VisibleSignature`]. A page whose box does not start at 0,0 gets the rectangle moved with
/// it. Refuses page numbers outside the document, empty rectangles and rectangles not wholly
/// on the page.
pub fn place_on_page<S: Source>(
    reader: &Reader<S>,
    page: usize,
    rect: Rect,
) -> Result<Rect, SignError> {
    if page == 0 {
        return Err(SignError::Options(
            "page 0 does not exist: pages are numbered from 1".into(),
        ));
    }
    let [x0, y0, x1, y1] = page_box(reader, page)?;
    let (w, h) = (x1 - x0, y1 - y0);
    let rotation = page_rotation(reader, page)?;
    let (shown_w, shown_h) = if rotation % 180 == 0 { (w, h) } else { (h, w) };
    let [x, y, rw, rh] = [rect.x, rect.y, rect.width, rect.height].map(f64::from);
    // As the user wrote it: f32 prints 20.1 as 20.1, where its f64 widening would not.
    let spec = format!("{},{},{},{}", rect.x, rect.y, rect.width, rect.height);
    if !(rw > 0.0 && rh > 0.0 && rw.is_finite() && rh.is_finite()) {
        return Err(SignError::Options(format!(
            "the rectangle {spec} needs a positive width and height"
        )));
    }
    if !fits(x, y, rw, rh, shown_w, shown_h) {
        return Err(SignError::Options(format!(
            "the rectangle {spec} does not lie on page {page}, which is {} x {} points as shown \
             (X,Y count from its lower-left corner)",
            num(shown_w),
            num(shown_h)
        )));
    }
    // Where the shown rectangle's corners fall in user space, page turned back.
    let (ux, uy) = match rotation {
        90 => (w - y - rh, x),
        180 => (w - x - rw, h - y - rh),
        270 => (y, h - x - rw),
        _ => (x, y),
    };
    Ok(Rect {
        x: (x0 + ux) as f32,
        y: (y0 + uy) as f32,
        ..rect
    })
}

/// The page as shown: its visible box's size, turned by its /Rotate, at 0,0; the frame in
/// which [`place_on_page`] takes rectangles.
pub fn shown_page<S: Source>(reader: &Reader<S>, page: usize) -> Result<Rect, SignError> {
    let [x0, y0, x1, y1] = page_box(reader, page)?;
    let (w, h) = ((x1 - x0) as f32, (y1 - y0) as f32);
    let (width, height) = if page_rotation(reader, page)? % 180 == 0 {
        (w, h)
    } else {
        (h, w)
    };
    Ok(Rect {
        x: 0.0,
        y: 0.0,
        width,
        height,
    })
}

/// True when the rectangle `x,y,rw,rh` lies within `0,0,w,h`; a hundredth of a point of
/// slack absorbs rounding of boxes written with decimals.
fn fits(x: f64, y: f64, rw: f64, rh: f64, w: f64, h: f64) -> bool {
    const SLACK: f64 = 0.01;
    x >= -SLACK && y >= -SLACK && x + rw <= w + SLACK && y + rh <= h + SLACK
}

/// A number for a message: no trailing zeros.
fn num(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The page's /Rotate (inherited), as 0, 90, 180 or 270; other values count as 0, as viewers
/// treat them.
pub fn page_rotation<S: Source>(reader: &Reader<S>, page: usize) -> Result<i64, SignError> {
    let pages = reader.pages()?;
    let Some(id) = pages.get(page.wrapping_sub(1)) else {
        return Ok(0);
    };
    let rotate = reader
        .page_attribute(*id, "Rotate")?
        .and_then(|o| o.as_int())
        .map_or(0, |r| r.rem_euclid(360));
    Ok(if rotate % 90 == 0 { rotate } else { 0 })
}

/// The widget's /Rect in user space for an appearance placed on a page turned by `rotation`:
/// the shown width and height swap on a quarter turn.
fn widget_rect(rect: Rect, rotation: i64) -> Rect {
    if rotation % 180 == 0 {
        rect
    } else {
        Rect {
            width: rect.height,
            height: rect.width,
            ..rect
        }
    }
}

/// The appearance stream's /Matrix that turns it against the page's rotation, so it is shown
/// upright; `None` on an unturned page.
fn upright_matrix(rotation: i64) -> Option<[i64; 6]> {
    match rotation {
        90 => Some([0, 1, -1, 0, 0, 0]),
        180 => Some([-1, 0, 0, -1, 0, 0]),
        270 => Some([0, -1, 1, 0, 0, 0]),
        _ => None,
    }
}

/// Refuses a new widget whose rectangle (user space) is not wholly on its page.
fn check_on_page<S: Source>(reader: &Reader<S>, page: usize, rect: Rect) -> Result<(), SignError> {
    let [x0, y0, x1, y1] = page_box(reader, page)?;
    let [x, y, rw, rh] = [rect.x, rect.y, rect.width, rect.height].map(f64::from);
    if fits(x - x0, y - y0, rw, rh, x1 - x0, y1 - y0) {
        Ok(())
    } else {
        Err(SignError::Options(format!(
            "the signature rectangle [{} {} {} {}] does not lie on page {page} [{} {} {} {}]",
            num(x),
            num(y),
            num(x + rw),
            num(y + rh),
            num(x0),
            num(y0),
            num(x1),
            num(y1)
        )))
    }
}

/// The signer's name as a visible signature shows it: the certificate subject's common name.
pub fn signer_name(signer: &dyn Signer) -> Result<String, SignError> {
    let cert = openssl::x509::X509::from_der(signer.certificate())
        .map_err(|e| SignError::Options(format!("the signing certificate cannot be read: {e}")))?;
    Ok(crate::certificate::subject_label(&cert))
}

/// The image-less visible signature: "Ký bởi / Signed by", the signer's name and the signing
/// time (ISO 8601, +07:00) in the embedded font, inside `rect` (user space).
pub fn text_appearance(
    signer: &dyn Signer,
    rect: Rect,
    time: DateTime<FixedOffset>,
) -> Result<Appearance, SignError> {
    let lines = [
        "Ký bởi / Signed by".to_owned(),
        signer_name(signer)?,
        appearance::vietnam_time(time),
    ];
    Ok(appearance::text_only(rect, &lines)?)
}

/// Formats a time as a PDF date (§7.9.4) in Vietnam time: `D:20261122104500+07'00'`.
pub fn pdf_date(time: DateTime<FixedOffset>) -> String {
    let ict = FixedOffset::east_opt(7 * 3600).unwrap_or(*time.offset());
    let t = time.with_timezone(&ict);
    let off = t.offset().local_minus_utc();
    let sign = if off < 0 { '-' } else { '+' };
    let off = off.abs();
    format!(
        "D:{}{}{:02}'{:02}'",
        t.format("%Y%m%d%H%M%S"),
        sign,
        off / 3600,
        off % 3600 / 60
    )
}

/// Signature fields (terminal fields of type /Sig), signed or not.
pub(crate) fn signature_fields<S: Source>(reader: &Reader<S>) -> Result<Vec<Field>, PdfError> {
    Ok(reader
        .fields()?
        .into_iter()
        .filter(|f| f.field_type.as_deref() == Some(b"Sig"))
        .collect())
}

/// The DocMDP permission of a certified document, if any.
fn docmdp_permission<S: Source>(reader: &Reader<S>) -> Result<Option<i64>, PdfError> {
    let (_, catalog) = reader.catalog()?;
    let Some(perms) = catalog.get("Perms") else {
        return Ok(None);
    };
    let perms = reader.resolve_dict(perms)?;
    let Some(sig) = perms.get("DocMDP") else {
        return Ok(None);
    };
    let sig = reader.resolve_dict(sig)?;
    let refs = match sig.get("Reference") {
        Some(r) => reader.resolve(r)?,
        None => return Ok(Some(2)),
    };
    for r in refs.as_array().into_iter().flatten() {
        let r = reader.resolve_dict(r)?;
        if r.name_is("TransformMethod", "DocMDP") {
            let p = match r.get("TransformParams") {
                Some(tp) => reader.resolve_dict(tp)?.get_int("P").unwrap_or(2),
                None => 2,
            };
            return Ok(Some(p));
        }
    }
    Ok(Some(2))
}

/// Where the new signature's value goes and how it is made.
struct SigPlan<'a> {
    sig_dict: Dictionary,
    contents_len: usize,
    field_name: Option<&'a str>,
    default_prefix: &'a str,
    visible: Option<&'a VisibleSignature>,
    certify: bool,
}

/// Builds the update holding the field, widget and signature dictionary (with placeholders).
fn build_field_update<S: Source>(
    reader: &Reader<S>,
    plan: SigPlan<'_>,
) -> Result<(IncrementalUpdate, String), SignError> {
    let mut update = IncrementalUpdate::new(reader)?;
    let (root_id, mut catalog) = reader.catalog()?;
    let fields = reader.fields()?;
    let sig_id = update.allocate();
    let sig_fields: Vec<&Field> = fields
        .iter()
        .filter(|f| f.field_type.as_deref() == Some(b"Sig"))
        .collect();

    let docmdp = docmdp_permission(reader)?;
    if let Some(p) = docmdp {
        if p == 1 {
            return Err(SignError::Refused(
                "the document is certified with no changes allowed (DocMDP P=1)".into(),
            ));
        }
        if plan.certify {
            return Err(SignError::Refused(
                "the document is already certified; only its first signature may certify".into(),
            ));
        }
    }
    if plan.certify && sig_fields.iter().any(|f| f.has_value()) {
        return Err(SignError::Refused(
            "a certification signature must be the document's first signature".into(),
        ));
    }

    let existing = plan
        .field_name
        .and_then(|n| fields.iter().find(|f| f.name == n));
    // DocMDP P=1 and P=2 do not allow new annotations: a visible signature on a certified
    // document goes into a field the certifier left empty for it.
    if existing.is_none() && plan.visible.is_some() && docmdp.is_some_and(|p| p < 3) {
        return Err(SignError::Refused(
            "the document is certified: a visible signature must use one of its empty \
             signature fields (--field NAME), or sign invisibly"
                .into(),
        ));
    }
    let mut catalog_changed = false;
    let field_name;
    match existing {
        Some(f) => {
            if f.field_type.as_deref() != Some(b"Sig") {
                return Err(SignError::Options(format!(
                    "field {:?} exists and is not a signature field",
                    f.name
                )));
            }
            if f.has_value() {
                return Err(SignError::Refused(format!(
                    "field {:?} is already signed",
                    f.name
                )));
            }
            field_name = f.name.clone();
            let mut dict = f.dict.clone();
            dict.set("V", sig_id);
            if let Some(v) = plan.visible {
                // The prepared widget keeps its /Rect (moving it is not form filling); viewers
                // fit the appearance's bounding box into it. The widget is the field itself
                // (merged) or, as some form tools write it, the field's first kid.
                let mut apd = Dictionary::new();
                apd.set("N", v.appearance.add_to(&mut update));
                if dict.name_is("Subtype", "Widget") {
                    dict.set("AP", apd);
                } else if let Some(kid) = dict
                    .get("Kids")
                    .and_then(Object::as_array)
                    .and_then(|kids| kids.iter().find_map(Object::as_reference))
                {
                    let mut widget = reader.resolve_dict(&Object::Reference(kid))?;
                    widget.set("AP", apd);
                    update.set(kid, widget);
                }
            }
            update.set(f.id, dict);
        }
        None => {
            field_name = match plan.field_name {
                Some(n) => {
                    if n.is_empty() || n.contains('.') {
                        return Err(SignError::Options(format!(
                            "invalid field name {n:?}: it must be non-empty and contain no '.'"
                        )));
                    }
                    n.to_string()
                }
                None => (1..)
                    .map(|i| format!("{}{i}", plan.default_prefix))
                    .find(|n| fields.iter().all(|f| &f.name != n))
                    .unwrap_or_else(|| plan.default_prefix.to_string()),
            };
            let pages = reader.pages()?;
            let page_index = plan.visible.map_or(1, |v| v.page);
            let page_id = *pages.get(page_index.wrapping_sub(1)).ok_or_else(|| {
                SignError::Options(format!(
                    "page {page_index} does not exist (the document has {} pages)",
                    pages.len()
                ))
            })?;
            let widget_id = update.allocate();
            let mut widget = Dictionary::new();
            widget.set("Type", Object::name("Annot"));
            widget.set("Subtype", Object::name("Widget"));
            widget.set("FT", Object::name("Sig"));
            widget.set("T", PdfString::text(&field_name));
            widget.set("V", sig_id);
            widget.set("P", page_id);
            match plan.visible {
                Some(v) => {
                    let rotation = page_rotation(reader, page_index)?;
                    let rect = widget_rect(v.appearance.rect, rotation);
                    check_on_page(reader, page_index, rect)?;
                    widget.set("Rect", rect_object(rect));
                    // Print, and locked so viewers do not move it.
                    widget.set("F", 4 | 128);
                    let ap = v.appearance.add_to(&mut update);
                    if let Some(m) = upright_matrix(rotation) {
                        if let Some(Object::Stream(mut form)) = update.get(ap).cloned() {
                            form.dict.set(
                                "Matrix",
                                m.iter().map(|v| Object::Integer(*v)).collect::<Vec<_>>(),
                            );
                            update.set(ap, Object::Stream(form));
                        }
                    }
                    let mut apd = Dictionary::new();
                    apd.set("N", ap);
                    widget.set("AP", apd);
                }
                None => {
                    widget.set(
                        "Rect",
                        vec![
                            Object::Integer(0),
                            Object::Integer(0),
                            Object::Integer(0),
                            Object::Integer(0),
                        ],
                    );
                    // Print + Locked (§12.5.3): invisible widgets of PAdES signatures.
                    widget.set("F", 132);
                }
            }
            update.set(widget_id, widget);
            add_annotation(reader, &mut update, page_id, widget_id)?;
            catalog_changed |=
                add_to_acroform(reader, &mut update, &mut catalog, &[widget_id], true)?;
        }
    }
    if plan.certify {
        let mut perms = match catalog.get("Perms") {
            Some(p) => reader.resolve_dict(p)?,
            None => Dictionary::new(),
        };
        perms.set("DocMDP", sig_id);
        catalog.set("Perms", perms);
        catalog_changed = true;
    }
    if existing.is_some() {
        // Signing a prepared field: keep SigFlags right too, in the AcroForm object or in the
        // catalog when the AcroForm is held there directly.
        match reader.acroform()? {
            Some((Some(form_id), mut form))
                if form.get_int("SigFlags") != Some(3) && update.get(form_id).is_none() =>
            {
                form.set("SigFlags", 3);
                update.set(form_id, form);
            }
            Some((None, mut form)) if form.get_int("SigFlags") != Some(3) => {
                form.set("SigFlags", 3);
                catalog.set("AcroForm", form);
                catalog_changed = true;
            }
            _ => {}
        }
    }
    if catalog_changed {
        update.set(root_id, catalog);
    }
    let mut sig = plan.sig_dict;
    if plan.certify {
        let mut params = Dictionary::new();
        params.set("Type", Object::name("TransformParams"));
        params.set("P", 2);
        params.set("V", Object::name("1.2"));
        let mut sigref = Dictionary::new();
        sigref.set("Type", Object::name("SigRef"));
        sigref.set("TransformMethod", Object::name("DocMDP"));
        sigref.set("TransformParams", params);
        sig.set("Reference", vec![Object::Dictionary(sigref)]);
    }
    byte_range::reserve(&mut update, sig_id, sig, plan.contents_len);
    Ok((update, field_name))
}

fn rect_object(rect: Rect) -> Object {
    Object::Array(
        rect.to_pdf()
            .iter()
            .map(|v| Object::Real(f64::from(*v)))
            .collect(),
    )
}

/// Adds `widget` to the page's /Annots (rewriting the array object when it is indirect).
fn add_annotation<S: Source>(
    reader: &Reader<S>,
    update: &mut IncrementalUpdate,
    page_id: ObjectId,
    widget: ObjectId,
) -> Result<(), PdfError> {
    // The page or its /Annots may already be in this update (a second widget on one page).
    let mut page = match update.get(page_id) {
        Some(Object::Dictionary(d)) => d.clone(),
        _ => reader.resolve_dict(&Object::Reference(page_id))?,
    };
    match page.get("Annots").cloned() {
        Some(Object::Reference(arr_id)) => {
            let mut arr = match update.get(arr_id) {
                Some(Object::Array(a)) => a.clone(),
                _ => match reader.get(arr_id)? {
                    Object::Array(a) => a,
                    _ => Vec::new(),
                },
            };
            arr.push(Object::Reference(widget));
            update.set(arr_id, Object::Array(arr));
        }
        Some(Object::Array(mut arr)) => {
            arr.push(Object::Reference(widget));
            page.set("Annots", arr);
            update.set(page_id, page);
        }
        _ => {
            page.set("Annots", vec![Object::Reference(widget)]);
            update.set(page_id, page);
        }
    }
    Ok(())
}

/// Adds `fields` to the AcroForm /Fields, with /SigFlags 3 for signature fields; returns true
/// when the catalog changed.
fn add_to_acroform<S: Source>(
    reader: &Reader<S>,
    update: &mut IncrementalUpdate,
    catalog: &mut Dictionary,
    fields: &[ObjectId],
    signature: bool,
) -> Result<bool, PdfError> {
    let (form_id, mut form) = match reader.acroform()? {
        Some((id, d)) => (id, d),
        None => (None, Dictionary::new()),
    };
    let new = fields.iter().map(|&f| Object::Reference(f));
    match form.get("Fields").cloned() {
        Some(Object::Reference(arr_id)) => {
            let mut arr = match reader.get(arr_id)? {
                Object::Array(a) => a,
                _ => Vec::new(),
            };
            arr.extend(new);
            update.set(arr_id, Object::Array(arr));
        }
        Some(Object::Array(mut arr)) => {
            arr.extend(new);
            form.set("Fields", arr);
        }
        _ => form.set("Fields", new.collect::<Vec<_>>()),
    }
    if signature {
        form.set("SigFlags", 3);
    }
    match form_id {
        Some(id) => {
            update.set(id, form);
            Ok(false)
        }
        None => {
            let id = update.add(form);
            catalog.set("AcroForm", id);
            Ok(true)
        }
    }
}

/// Writes the update, hashes the byte range (file streamed from the source) and fills in
/// /Contents (`reserved` bytes) with what `produce` returns for the digest.
fn finish_update<S: Source>(
    reader: &Reader<S>,
    update: &IncrementalUpdate,
    reserved: usize,
    digest: DigestAlgorithm,
    produce: impl FnOnce(&[u8]) -> Result<Vec<u8>, SignError>,
) -> Result<(Vec<u8>, [u64; 4], usize), SignError> {
    let mut written = update.write()?;
    let range = byte_range::patch_byte_range(&mut written)?;
    let mut hasher = digest
        .hasher()
        .map_err(|e| SignError::Io(io::Error::other(e.to_string())))?;
    let mut feed = |chunk: &[u8]| -> io::Result<()> {
        hasher
            .update(chunk)
            .map_err(|e| io::Error::other(e.to_string()))
    };
    reader.copy_range(0, written.base_len, &mut feed)?;
    let (before, after) = byte_range::signed_parts(&written)?;
    feed(before)?;
    feed(after)?;
    let digest_value = hasher
        .finish()
        .map_err(|e| SignError::Io(io::Error::other(e.to_string())))?;
    let der = produce(&digest_value)?;
    if der.len() > reserved {
        return Err(SignError::ContentsTooSmall {
            needed: der.len(),
            reserved,
        });
    }
    byte_range::patch_contents(&mut written, &der)?;
    Ok((written.bytes, range, der.len()))
}

/// The signature update; returns the bytes to append.
fn signature_update<S: Source>(
    reader: &Reader<S>,
    signer: &dyn Signer,
    opts: &SignOptions,
    tsa: Option<&TsaClient>,
) -> Result<(Vec<u8>, SignReport), SignError> {
    let digest = signer.digest();
    // Measure a real token from this TSA so the placeholder fits it without megabytes of
    // zeros; tokens from one TSA differ by a few bytes (serial, nonce, time precision).
    let token_estimate = match tsa {
        Some(t) if opts.level >= Level::BT => {
            time_stamp(t, digest, &digest.digest(b"probe"))?.len() + 256
        }
        _ => 0,
    };
    let reserved = cms::estimated_size(signer, token_estimate)? + 64;
    with_room(reserved, |r| {
        signature_attempt(reader, signer, opts, tsa, r)
    })
}

/// Runs `attempt` with `reserved` bytes for the CMS and, when the real CMS turned out larger
/// (an estimate can miss: a TSA whose tokens grow, a key whose signature length varies), once
/// more with room for what it needed plus a margin.
fn with_room<T>(
    reserved: usize,
    mut attempt: impl FnMut(usize) -> Result<T, SignError>,
) -> Result<T, SignError> {
    match attempt(reserved) {
        Err(SignError::ContentsTooSmall { needed, .. }) => attempt(needed + needed / 8 + 256),
        other => other,
    }
}

/// One try at the signature update with `reserved` bytes for the CMS in /Contents.
fn signature_attempt<S: Source>(
    reader: &Reader<S>,
    signer: &dyn Signer,
    opts: &SignOptions,
    tsa: Option<&TsaClient>,
    reserved: usize,
) -> Result<(Vec<u8>, SignReport), SignError> {
    let digest = signer.digest();
    let time = opts
        .signing_time
        .unwrap_or_else(|| Utc::now().fixed_offset());
    let mut sig = Dictionary::new();
    sig.set("Type", Object::name("Sig"));
    sig.set("Filter", Object::name("Adobe.PPKLite"));
    sig.set("SubFilter", Object::name("ETSI.CAdES.detached"));
    sig.set("ByteRange", Object::Null);
    sig.set("Contents", Object::Null);
    sig.set("M", PdfString::literal(pdf_date(time)));
    if let Some(r) = &opts.reason {
        sig.set("Reason", PdfString::text(r));
    }
    if let Some(l) = &opts.location {
        sig.set("Location", PdfString::text(l));
    }
    if let Some(c) = &opts.contact {
        sig.set("ContactInfo", PdfString::text(c));
    }
    let plan = SigPlan {
        sig_dict: sig,
        contents_len: reserved,
        field_name: opts.field_name.as_deref(),
        default_prefix: "Signature",
        visible: opts.visible.as_ref(),
        certify: opts.certify,
    };
    let (update, field_name) = build_field_update(reader, plan)?;
    let level = opts.level;
    let (bytes, byte_range, used) =
        finish_update(reader, &update, reserved, digest, |doc_digest| {
            let der = cms::build_signed_data(signer, doc_digest)?;
            match tsa {
                Some(t) if level >= Level::BT => {
                    let value = cms::signature_value(&der)?;
                    let token = time_stamp(t, digest, &digest.digest(&value))?;
                    Ok(cms::add_signature_timestamp(&der, &token)?)
                }
                _ => Ok(der),
            }
        })?;
    Ok((
        bytes,
        SignReport {
            field_name,
            level,
            byte_range,
            reserved,
            used,
            output_len: 0,
        },
    ))
}

/// A time-stamp token over `imprint`, refused when the authority's certificate is not one for
/// time-stamping (extended key usage timeStamping): every validator would reject it.
fn time_stamp(
    tsa: &TsaClient,
    digest: DigestAlgorithm,
    imprint: &[u8],
) -> Result<Vec<u8>, SignError> {
    let token = tsa.timestamp(digest, imprint)?;
    let parsed = cms::ParsedSignedData::parse(&token)?;
    // A token without its certificate cannot be judged here; validators look it up elsewhere.
    if let Some(der) = parsed.signer_certificate() {
        let cert = openssl::x509::X509::from_der(der).map_err(|e| {
            SignError::Refused(format!(
                "the time-stamp authority's certificate cannot be read: {e}"
            ))
        })?;
        crate::trust::check_usage(&cert, crate::trust::Usage::TimeStamping)
            .map_err(SignError::Refused)?;
    }
    Ok(token)
}

/// A document time-stamp update (/Type /DocTimeStamp, /SubFilter /ETSI.RFC3161).
pub(crate) fn document_timestamp_update<S: Source>(
    reader: &Reader<S>,
    tsa: &TsaClient,
) -> Result<Vec<u8>, SignError> {
    let digest = DigestAlgorithm::Sha256;
    let reserved = time_stamp(tsa, digest, &digest.digest(b"probe"))?.len() + 512;
    with_room(reserved, |r| document_timestamp_attempt(reader, tsa, r))
}

/// One try at the document time-stamp update with `reserved` bytes for the token.
fn document_timestamp_attempt<S: Source>(
    reader: &Reader<S>,
    tsa: &TsaClient,
    reserved: usize,
) -> Result<Vec<u8>, SignError> {
    let digest = DigestAlgorithm::Sha256;
    let mut sig = Dictionary::new();
    sig.set("Type", Object::name("DocTimeStamp"));
    sig.set("Filter", Object::name("Adobe.PPKLite"));
    sig.set("SubFilter", Object::name("ETSI.RFC3161"));
    sig.set("ByteRange", Object::Null);
    sig.set("Contents", Object::Null);
    let plan = SigPlan {
        sig_dict: sig,
        contents_len: reserved,
        field_name: None,
        default_prefix: "DocTimeStamp",
        visible: None,
        certify: false,
    };
    let (update, _) = build_field_update(reader, plan)?;
    let (bytes, _, _) = finish_update(reader, &update, reserved, digest, |d| {
        time_stamp(tsa, digest, d)
    })?;
    Ok(bytes)
}

/// An empty text field to add to a document, for a value written in later (the number and
/// date a clerk gives a signed document).
#[derive(Debug, Clone, PartialEq)]
pub struct TextField {
    /// Field name (no `.`).
    pub name: String,
    /// Page number, 1-based.
    pub page: usize,
    /// Where on the page, in user space.
    pub rect: Rect,
}

/// Adds empty text fields in an incremental update, skipping those the document already has
/// by name. Returns the updated file (the input itself when nothing was missing).
pub fn add_text_fields_bytes(input: &[u8], wanted: &[TextField]) -> Result<Vec<u8>, SignError> {
    let reader = Reader::new(input)?;
    if docmdp_permission(&reader)?.is_some() {
        return Err(SignError::Refused(
            "the document is certified: fields cannot be added to it".into(),
        ));
    }
    let existing = reader.fields()?;
    let missing: Vec<&TextField> = wanted
        .iter()
        .filter(|f| existing.iter().all(|e| e.name != f.name))
        .collect();
    if missing.is_empty() {
        return Ok(input.to_vec());
    }
    let pages = reader.pages()?;
    let (root_id, mut catalog) = reader.catalog()?;
    let mut update = IncrementalUpdate::new(&reader)?;
    let mut widgets = Vec::with_capacity(missing.len());
    for field in missing {
        if field.name.is_empty() || field.name.contains('.') {
            return Err(SignError::Options(format!(
                "invalid field name {:?}: it must be non-empty and contain no '.'",
                field.name
            )));
        }
        let page_id = *pages.get(field.page.wrapping_sub(1)).ok_or_else(|| {
            SignError::Options(format!(
                "page {} does not exist (the document has {} pages)",
                field.page,
                pages.len()
            ))
        })?;
        check_on_page(&reader, field.page, field.rect)?;
        let mut widget = Dictionary::new();
        widget.set("Type", Object::name("Annot"));
        widget.set("Subtype", Object::name("Widget"));
        widget.set("FT", Object::name("Tx"));
        widget.set("T", PdfString::text(&field.name));
        widget.set("P", page_id);
        widget.set("Rect", rect_object(field.rect));
        // Printed.
        widget.set("F", 4);
        let widget_id = update.add(widget);
        add_annotation(&reader, &mut update, page_id, widget_id)?;
        widgets.push(widget_id);
    }
    if add_to_acroform(&reader, &mut update, &mut catalog, &widgets, false)? {
        update.set(root_id, catalog);
    }
    let mut out = input.to_vec();
    out.extend_from_slice(&update.write()?.bytes);
    Ok(out)
}

/// Fills text fields by name in an incremental update (values and appearances only), so
/// earlier signatures see form filling and stay valid. Returns the updated file.
pub fn fill_fields_bytes(input: &[u8], values: &[(String, String)]) -> Result<Vec<u8>, SignError> {
    let mut out = input.to_vec();
    let bytes = {
        let reader = Reader::new(input)?;
        fill_update(&reader, values)?
    };
    out.extend_from_slice(&bytes);
    Ok(out)
}

/// File form of [`fill_fields_bytes`], written atomically.
pub fn fill_fields(
    input: &Path,
    output: &Path,
    values: &[(String, String)],
) -> Result<(), SignError> {
    let tmp = working_copy(input, output, ".vanthu-fill-")?;
    {
        let mut work = FileWork::open(tmp.path())?;
        let bytes = {
            let reader = work.reader()?;
            fill_update(&reader, values)?
        };
        work.append(&bytes)?;
    }
    persist(tmp, output)?;
    Ok(())
}

fn fill_update<S: Source>(
    reader: &Reader<S>,
    values: &[(String, String)],
) -> Result<Vec<u8>, SignError> {
    if let Some(1) = docmdp_permission(reader)? {
        return Err(SignError::Refused(
            "the document is certified with no changes allowed (DocMDP P=1)".into(),
        ));
    }
    let fields = reader.fields()?;
    let mut update = IncrementalUpdate::new(reader)?;
    for (name, value) in values {
        let field = fields
            .iter()
            .find(|f| &f.name == name)
            .ok_or_else(|| SignError::Options(format!("the document has no field {name:?}")))?;
        if field.field_type.as_deref() != Some(b"Tx") {
            return Err(SignError::Options(format!(
                "field {name:?} is not a text field"
            )));
        }
        if field.dict.get_int("Ff").unwrap_or(0) & 1 != 0 {
            return Err(SignError::Refused(format!("field {name:?} is read-only")));
        }
        let mut dict = field.dict.clone();
        dict.set("V", PdfString::text(value));
        // Widgets: the field itself (merged) or its kids.
        let widgets: Vec<ObjectId> = if dict.name_is("Subtype", "Widget") {
            vec![field.id]
        } else {
            dict.get("Kids")
                .and_then(Object::as_array)
                .map(|a| a.iter().filter_map(Object::as_reference).collect())
                .unwrap_or_default()
        };
        for w in widgets {
            let mut wd = if w == field.id {
                dict.clone()
            } else {
                reader.resolve_dict(&Object::Reference(w))?
            };
            let rect = wd
                .get("Rect")
                .and_then(Object::as_array)
                .map(|a| a.iter().filter_map(Object::as_f64).collect::<Vec<_>>())
                .filter(|v| v.len() == 4)
                .unwrap_or_else(|| vec![0.0, 0.0, 0.0, 0.0]);
            // A hidden zero-size widget still gets a (one-point) appearance with the new value.
            let (width, height) = ((rect[2] - rect[0]).abs(), (rect[3] - rect[1]).abs());
            let ap =
                appearance::field_text((width as f32).max(1.0), (height as f32).max(1.0), value)?;
            let ap_id = ap.add_to(&mut update);
            let mut apd = Dictionary::new();
            apd.set("N", ap_id);
            wd.set("AP", apd);
            if w == field.id {
                dict = wd;
            } else {
                update.set(w, wd);
            }
        }
        update.set(field.id, dict);
    }
    Ok(update.write()?.bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cms::{check_integrity, ParsedSignedData};
    use crate::pdf::testing::simple_pdf;
    use crate::signer::tests::rsa_signer;

    /// Checks the newest signature: byte range over everything but /Contents, CMS intact.
    fn assert_last_signature_intact(file: &[u8]) -> Dictionary {
        let reader = Reader::new(file).unwrap();
        let fields = signature_fields(&reader).unwrap();
        let sig = reader
            .resolve_dict(fields.last().unwrap().dict.get("V").unwrap())
            .unwrap();
        let range: Vec<usize> = sig
            .get("ByteRange")
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o.as_int().unwrap() as usize)
            .collect();
        assert_eq!(range[0], 0);
        assert_eq!(file[range[1]], b'<');
        assert_eq!(file[range[2] - 1], b'>');
        let mut signed = file[..range[1]].to_vec();
        signed.extend_from_slice(&file[range[2]..range[2] + range[3]]);
        let der = &sig.get("Contents").unwrap().as_string().unwrap().bytes;
        let parsed = ParsedSignedData::parse(der).unwrap();
        let check = check_integrity(&parsed, parsed.signer_certificate().unwrap(), &signed[..]);
        assert!(check.intact(), "{check:?}");
        sig
    }

    #[test]
    fn refuses_to_sign_outside_the_certificate_validity() {
        let input = simple_pdf();
        for when in ["2020-01-01T00:00:00+07:00", "2099-01-01T00:00:00+07:00"] {
            let opts = SignOptions {
                signing_time: Some(DateTime::parse_from_rfc3339(when).unwrap()),
                ..SignOptions::default()
            };
            let err = sign_bytes(&input, &rsa_signer(), &opts).unwrap_err();
            assert!(matches!(err, SignError::Refused(_)), "{when}: {err}");
            assert!(err.to_string().contains("valid from"), "{err}");
        }
    }

    #[test]
    fn signs_incrementally_with_an_intact_cms() {
        let input = simple_pdf();
        let time = DateTime::parse_from_rfc3339("2026-11-22T15:00:00+07:00").unwrap();
        let opts = SignOptions {
            signing_time: Some(time),
            reason: Some("Phê duyệt".into()),
            ..SignOptions::default()
        };
        let (out, report) = sign_bytes(&input, &rsa_signer(), &opts).unwrap();
        assert!(out.starts_with(&input));
        assert_eq!(report.field_name, "Signature1");
        assert!(report.used <= report.reserved && report.reserved < report.used + 1024);
        let sig = assert_last_signature_intact(&out);
        assert_eq!(sig.get_name("SubFilter"), Some(&b"ETSI.CAdES.detached"[..]));
        assert_eq!(
            sig.get("M").unwrap().as_string().unwrap().bytes,
            b"D:20261122150000+07'00'"
        );
        let reader = Reader::new(out.as_slice()).unwrap();
        assert_eq!(reader.revisions().len(), 2);
        let (_, form) = reader.acroform().unwrap().unwrap();
        assert_eq!(form.get_int("SigFlags"), Some(3));
        let page = reader
            .resolve_dict(&Object::Reference(reader.pages().unwrap()[0]))
            .unwrap();
        assert_eq!(page.get("Annots").unwrap().as_array().unwrap().len(), 1);
    }

    #[test]
    fn serial_signatures_and_certification_rules() {
        let certify = SignOptions {
            certify: true,
            field_name: Some("Official".into()),
            ..SignOptions::default()
        };
        let (first, _) = sign_bytes(&simple_pdf(), &rsa_signer(), &certify).unwrap();
        let (_, catalog) = Reader::new(first.as_slice()).unwrap().catalog().unwrap();
        assert!(catalog.get("Perms").is_some());
        // Only the first signature may certify.
        assert!(matches!(
            sign_bytes(&first, &rsa_signer(), &certify),
            Err(SignError::Refused(_))
        ));
        // The same field cannot be signed twice.
        let same = SignOptions {
            field_name: Some("Official".into()),
            ..SignOptions::default()
        };
        assert!(matches!(
            sign_bytes(&first, &rsa_signer(), &same),
            Err(SignError::Refused(_))
        ));
        let (second, report) = sign_bytes(&first, &rsa_signer(), &SignOptions::default()).unwrap();
        assert!(second.starts_with(&first));
        assert_eq!(report.field_name, "Signature1");
        assert_last_signature_intact(&second);
        let reader = Reader::new(second.as_slice()).unwrap();
        assert_eq!(signature_fields(&reader).unwrap().len(), 2);
        assert_eq!(reader.revisions().len(), 3);
    }

    #[test]
    fn higher_levels_need_a_tsa_and_bad_pages_are_rejected() {
        let bt = SignOptions {
            level: Level::BT,
            ..SignOptions::default()
        };
        assert!(matches!(
            sign_bytes(&simple_pdf(), &rsa_signer(), &bt),
            Err(SignError::Options(_))
        ));
        assert!(matches!(
            sign_bytes(b"not a pdf", &rsa_signer(), &SignOptions::default()),
            Err(SignError::Pdf(PdfError::NotPdf))
        ));
    }

    #[test]
    fn fills_text_fields_in_a_new_revision() {
        // Add a text field to the simple document first.
        let base = simple_pdf();
        let reader = Reader::new(base.as_slice()).unwrap();
        let mut up = IncrementalUpdate::new(&reader).unwrap();
        let (root, mut catalog) = reader.catalog().unwrap();
        let page = reader.pages().unwrap()[0];
        let mut field = Dictionary::new();
        field.set("Type", Object::name("Annot"));
        field.set("Subtype", Object::name("Widget"));
        field.set("FT", Object::name("Tx"));
        field.set("T", PdfString::literal("number"));
        field.set("P", page);
        field.set(
            "Rect",
            vec![
                Object::Integer(10),
                Object::Integer(10),
                Object::Integer(200),
                Object::Integer(30),
            ],
        );
        let field_id = up.add(field);
        let mut form = Dictionary::new();
        form.set("Fields", vec![Object::Reference(field_id)]);
        catalog.set("AcroForm", form);
        up.set(root, catalog);
        let mut with_form = base.clone();
        with_form.extend_from_slice(&up.write().unwrap().bytes);

        let filled =
            fill_fields_bytes(&with_form, &[("number".into(), "12/QĐ-UBND".into())]).unwrap();
        assert!(filled.starts_with(&with_form));
        let reader = Reader::new(filled.as_slice()).unwrap();
        let f = reader
            .fields()
            .unwrap()
            .into_iter()
            .find(|f| f.name == "number")
            .unwrap();
        assert_eq!(
            f.dict.get("V").unwrap().as_string().unwrap().to_text(),
            "12/QĐ-UBND"
        );
        // The appearance draws the exact text in the embedded font (Identity-H), not a
        // WinAnsi approximation ("QD").
        let ap = reader
            .resolve(
                f.dict
                    .get("AP")
                    .unwrap()
                    .as_dict()
                    .unwrap()
                    .get("N")
                    .unwrap(),
            )
            .unwrap();
        let Object::Stream(ap) = ap else {
            panic!("the appearance is a stream")
        };
        let res = reader
            .resolve_dict(ap.dict.get("Resources").unwrap())
            .unwrap();
        let fonts = reader.resolve_dict(res.get("Font").unwrap()).unwrap();
        let font = reader.resolve_dict(fonts.get("F1").unwrap()).unwrap();
        assert_eq!(font.get_name("Subtype"), Some(&b"Type0"[..]));
        assert_eq!(font.get_name("Encoding"), Some(&b"Identity-H"[..]));
        assert!(fonts.get("Helv").is_none());
        assert!(fill_fields_bytes(&with_form, &[("nope".into(), "x".into())]).is_err());
    }

    /// The simple document with its page's MediaBox at 100,200 and a CropBox inside it.
    fn offset_pdf() -> Vec<u8> {
        let base = simple_pdf();
        let reader = Reader::new(base.as_slice()).unwrap();
        let page_id = reader.pages().unwrap()[0];
        let mut page = reader.resolve_dict(&Object::Reference(page_id)).unwrap();
        let boxed = |v: [i64; 4]| Object::Array(v.into_iter().map(Object::Integer).collect());
        page.set("MediaBox", boxed([100, 200, 712, 992]));
        page.set("CropBox", boxed([150, 250, 700, 900]));
        let mut up = IncrementalUpdate::new(&reader).unwrap();
        up.set(page_id, page);
        let mut out = base.clone();
        out.extend_from_slice(&up.write().unwrap().bytes);
        out
    }

    fn rect(x: f32, y: f32, width: f32, height: f32) -> Rect {
        Rect {
            x,
            y,
            width,
            height,
        }
    }

    #[test]
    fn rectangles_are_placed_from_the_visible_box_origin() {
        let file = offset_pdf();
        let reader = Reader::new(file.as_slice()).unwrap();
        // The CropBox (550 x 650 at 150,250) is the visible box.
        let placed = place_on_page(&reader, 1, rect(10.0, 20.0, 100.0, 50.0)).unwrap();
        assert_eq!(placed, rect(160.0, 270.0, 100.0, 50.0));
        // Touching the far corner is on the page; a point beyond it is not.
        assert!(place_on_page(&reader, 1, rect(450.0, 600.0, 100.0, 50.0)).is_ok());
        let err = place_on_page(&reader, 1, rect(451.0, 600.1, 100.0, 49.9)).unwrap_err();
        assert!(err.to_string().contains("550 x 650 points"), "{err}");
        assert!(err.to_string().contains("451,600.1,100,49.9 "), "{err}");
        for bad in [
            rect(-1.0, 0.0, 10.0, 10.0),
            rect(0.0, 0.0, 0.0, 10.0),
            rect(0.0, 0.0, 10.0, -5.0),
            rect(1e38, 1e38, 1e38, 1e38),
            rect(0.0, 0.0, f32::INFINITY, 10.0),
        ] {
            assert!(
                matches!(place_on_page(&reader, 1, bad), Err(SignError::Options(_))),
                "{bad:?}"
            );
        }
        let page0 = place_on_page(&reader, 0, rect(0.0, 0.0, 10.0, 10.0)).unwrap_err();
        assert!(page0.to_string().contains("numbered from 1"), "{page0}");
        let page2 = place_on_page(&reader, 2, rect(0.0, 0.0, 10.0, 10.0)).unwrap_err();
        assert!(page2.to_string().contains("has 1 pages"), "{page2}");
    }

    #[test]
    fn rectangles_on_a_turned_page_are_given_as_shown_and_drawn_upright() {
        let base = simple_pdf();
        let reader = Reader::new(base.as_slice()).unwrap();
        let page_id = reader.pages().unwrap()[0];
        let mut page = reader.resolve_dict(&Object::Reference(page_id)).unwrap();
        page.set("Rotate", 450);
        let mut up = IncrementalUpdate::new(&reader).unwrap();
        up.set(page_id, page);
        let mut turned = base.clone();
        turned.extend_from_slice(&up.write().unwrap().bytes);
        let reader = Reader::new(turned.as_slice()).unwrap();
        assert_eq!(page_rotation(&reader, 1).unwrap(), 90);
        // Shown 842 wide and 595 high: 700,10 fits only because the page is turned.
        assert_eq!(
            shown_page(&reader, 1).unwrap(),
            rect(0.0, 0.0, 842.0, 595.0)
        );
        let err = place_on_page(&reader, 1, rect(10.0, 560.0, 100.0, 50.0)).unwrap_err();
        assert!(err.to_string().contains("842 x 595 points"), "{err}");
        let placed = place_on_page(&reader, 1, rect(10.0, 20.0, 100.0, 50.0)).unwrap();
        // The shown lower-left corner is user space's lower-right one.
        assert_eq!(placed, rect(525.0, 10.0, 100.0, 50.0));
        let signer = rsa_signer();
        let time = DateTime::parse_from_rfc3339("2026-11-22T15:00:00+07:00").unwrap();
        let opts = SignOptions {
            visible: Some(VisibleSignature {
                page: 1,
                appearance: text_appearance(&signer, placed, time).unwrap(),
            }),
            ..SignOptions::default()
        };
        let (out, _) = sign_bytes(&turned, &signer, &opts).unwrap();
        assert_last_signature_intact(&out);
        let update = String::from_utf8_lossy(&out[turned.len()..]);
        assert!(update.contains("/Rect [525 10 575 110]"), "{update}");
        assert!(update.contains("/Matrix [0 1 -1 0 0 0]"), "{update}");
    }

    #[test]
    fn a_visible_signature_off_its_page_is_refused() {
        let time = DateTime::parse_from_rfc3339("2026-11-22T15:00:00+07:00").unwrap();
        let signer = rsa_signer();
        let file = offset_pdf();
        // In user space the page starts at 150,250: 10,20 is off it.
        let off = VisibleSignature {
            page: 1,
            appearance: text_appearance(&signer, rect(10.0, 20.0, 100.0, 50.0), time).unwrap(),
        };
        let opts = SignOptions {
            visible: Some(off),
            ..SignOptions::default()
        };
        assert!(matches!(
            sign_bytes(&file, &signer, &opts),
            Err(SignError::Options(_))
        ));
        let reader = Reader::new(file.as_slice()).unwrap();
        let on = place_on_page(&reader, 1, rect(10.0, 20.0, 100.0, 50.0)).unwrap();
        let opts = SignOptions {
            visible: Some(VisibleSignature {
                page: 1,
                appearance: text_appearance(&signer, on, time).unwrap(),
            }),
            ..SignOptions::default()
        };
        let (out, _) = sign_bytes(&file, &signer, &opts).unwrap();
        assert_last_signature_intact(&out);
        let text = String::from_utf8_lossy(&out[file.len()..]);
        assert!(text.contains("/Rect [160 270 260 320]"), "{text}");
    }

    #[test]
    fn a_prepared_field_with_a_kid_widget_gets_the_appearance() {
        // The field and its widget are separate objects; the AcroForm sits in the catalog.
        let base = simple_pdf();
        let reader = Reader::new(base.as_slice()).unwrap();
        let mut up = IncrementalUpdate::new(&reader).unwrap();
        let (root, mut catalog) = reader.catalog().unwrap();
        let page_id = reader.pages().unwrap()[0];
        let field_id = up.allocate();
        let mut widget = Dictionary::new();
        widget.set("Type", Object::name("Annot"));
        widget.set("Subtype", Object::name("Widget"));
        widget.set("Parent", field_id);
        widget.set("P", page_id);
        widget.set(
            "Rect",
            vec![
                Object::Integer(300),
                Object::Integer(100),
                Object::Integer(480),
                Object::Integer(180),
            ],
        );
        let widget_id = up.add(widget);
        let mut field = Dictionary::new();
        field.set("FT", Object::name("Sig"));
        field.set("T", PdfString::literal("KyChinh"));
        field.set("Kids", vec![Object::Reference(widget_id)]);
        up.set(field_id, field);
        let mut page = reader.resolve_dict(&Object::Reference(page_id)).unwrap();
        page.set("Annots", vec![Object::Reference(widget_id)]);
        up.set(page_id, page);
        let mut form = Dictionary::new();
        form.set("Fields", vec![Object::Reference(field_id)]);
        catalog.set("AcroForm", form);
        up.set(root, catalog);
        let mut prepared = base.clone();
        prepared.extend_from_slice(&up.write().unwrap().bytes);

        let signer = rsa_signer();
        let time = DateTime::parse_from_rfc3339("2026-11-22T15:00:00+07:00").unwrap();
        let opts = SignOptions {
            field_name: Some("KyChinh".into()),
            visible: Some(VisibleSignature {
                page: 1,
                appearance: text_appearance(&signer, rect(300.0, 100.0, 180.0, 80.0), time)
                    .unwrap(),
            }),
            ..SignOptions::default()
        };
        let (out, report) = sign_bytes(&prepared, &signer, &opts).unwrap();
        assert_eq!(report.field_name, "KyChinh");
        assert_last_signature_intact(&out);
        let reader = Reader::new(out.as_slice()).unwrap();
        let widget = reader.resolve_dict(&Object::Reference(widget_id)).unwrap();
        assert!(
            widget.get("AP").is_some(),
            "the kid widget has no appearance"
        );
        let (_, form) = reader.acroform().unwrap().unwrap();
        assert_eq!(form.get_int("SigFlags"), Some(3));
    }

    #[test]
    fn text_appearance_names_the_signer_from_the_certificate() {
        let signer = rsa_signer();
        let name = signer_name(&signer).unwrap();
        assert!(!name.is_empty() && !name.contains('='), "{name}");
        let time = DateTime::parse_from_rfc3339("2026-11-22T03:00:00Z").unwrap();
        let ap = text_appearance(&signer, rect(0.0, 0.0, 200.0, 60.0), time).unwrap();
        let cmap = String::from_utf8(ap.fonts[0].to_unicode.clone()).unwrap();
        // "Ký bởi": ý and ở are in the subset.
        assert!(cmap.contains("<00FD>") && cmap.contains("<1EDF>"), "{cmap}");
        assert_eq!(
            String::from_utf8_lossy(&ap.content).matches(" Tj").count(),
            3
        );
    }

    #[test]
    fn a_cms_larger_than_the_placeholder_gets_a_second_larger_try() {
        let input = simple_pdf();
        let reader = Reader::new(input.as_slice()).unwrap();
        let signer = rsa_signer();
        let opts = SignOptions::default();
        assert!(matches!(
            signature_attempt(&reader, &signer, &opts, None, 64),
            Err(SignError::ContentsTooSmall { reserved: 64, .. })
        ));
        let mut tries = Vec::new();
        let (update, report) = with_room(64, |r| {
            tries.push(r);
            signature_attempt(&reader, &signer, &opts, None, r)
        })
        .unwrap();
        assert_eq!(tries.len(), 2);
        assert!(report.used > 64 && report.used <= report.reserved);
        let mut out = input.clone();
        out.extend_from_slice(&update);
        assert_last_signature_intact(&out);
    }

    #[test]
    fn output_onto_the_input_is_refused_under_any_name() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.pdf");
        std::fs::write(&input, simple_pdf()).unwrap();
        let link = dir.path().join("link.pdf");
        std::os::unix::fs::symlink(&input, &link).unwrap();
        let hard = dir.path().join("hard.pdf");
        std::fs::hard_link(&input, &hard).unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let dotted = dir.path().join("sub/../in.pdf");
        for output in [&input, &link, &hard, &dotted] {
            let err =
                sign_file(&input, output, &rsa_signer(), &SignOptions::default()).unwrap_err();
            assert!(err.to_string().contains("is the input file"), "{err}");
            let err = fill_fields(&input, output, &[]).unwrap_err();
            assert!(err.to_string().contains("is the input file"), "{err}");
        }
        assert_eq!(std::fs::read(&input).unwrap(), simple_pdf());
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 4, "no temporary file left");
    }

    #[test]
    fn errors_name_the_users_paths_not_temporary_files() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.pdf");
        std::fs::write(&input, simple_pdf()).unwrap();
        let output = dir.path().join("no/such/folder/out.pdf");
        let err = sign_file(&input, &output, &rsa_signer(), &SignOptions::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("no/such/folder"), "{err}");
        assert!(!err.contains(".vanthu-"), "{err}");
        // Input that is not a PDF: the failure comes from the temporary copy's reader.
        std::fs::write(&input, b"not a pdf").unwrap();
        let output = dir.path().join("out.pdf");
        let err = sign_file(&input, &output, &rsa_signer(), &SignOptions::default())
            .unwrap_err()
            .to_string();
        assert!(!err.contains(".vanthu-"), "{err}");
        assert!(!output.exists());
    }

    #[test]
    fn signs_hybrid_reference_files() {
        let input = crate::pdf::testing::hybrid_pdf();
        let (out, _) = sign_bytes(&input, &rsa_signer(), &SignOptions::default()).unwrap();
        assert!(out.starts_with(&input));
        assert_last_signature_intact(&out);
        let reader = Reader::new(out.as_slice()).unwrap();
        assert!(!reader.is_damaged());
        let page = reader
            .resolve_dict(&Object::Reference(ObjectId::new(3, 0)))
            .unwrap();
        assert_eq!(page.get("Annots").unwrap().as_array().unwrap().len(), 1);
    }

    #[test]
    fn pdf_dates_are_in_vietnam_time() {
        let t = DateTime::parse_from_rfc3339("2026-11-22T03:04:05Z").unwrap();
        assert_eq!(pdf_date(t), "D:20261122100405+07'00'");
    }

    #[test]
    fn levels_parse() {
        assert_eq!("b-lta".parse::<Level>().unwrap(), Level::BLTA);
        assert!("B-X".parse::<Level>().is_err());
        assert!(Level::BT > Level::BB);
    }
}
