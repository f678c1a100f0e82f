//! Verification of every signature and document time-stamp in a PDF: ByteRange and integrity,
//! signing certificate chain at the best-proven signing time, revocation, signature
//! time-stamps, difference analysis of later revisions, DocMDP, the PAdES level reached, and an
//! ETSI EN 319 102-1 indication per signature.

pub mod diff;
pub mod report;

#[cfg(test)]
mod legal_files;

use std::collections::HashSet;
use std::path::Path;

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};
use openssl::x509::X509;

use crate::algorithms::HashAlgorithm;
use crate::certificate;
use crate::cms::{self, ParsedSignedData, SignedContent, MAX_CMS_LEN};
use crate::pdf::reader::read_range;
use crate::pdf::{Dictionary, Object, ObjectId, PdfError, Reader, Source};
use crate::revocation::{Collector, Source as RevocationSource};
use crate::signer::DigestAlgorithm;
use crate::trust::{self, PathStatus, RevocationStatus, TrustAnchors, Usage};
use crate::tsa::{self, TimestampToken};

pub use report::{
    Coverage, DssSummary, Indication, ModificationLevel, Note, PadesLevel, Report,
    RevocationSummary, SignatureKind, SignatureReport, SubIndication, Verdict,
};

/// Most signatures examined in one file.
const MAX_SIGNATURES: usize = 128;
/// Most DSS items read per category.
const MAX_DSS_ITEMS: usize = 10_000;
/// Most decoded DSS bytes held in memory (certificates, CRLs and OCSP responses together).
const MAX_DSS_BYTES: usize = 128 << 20;

/// Why a file could not be verified at all (as opposed to a verdict about its signatures).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The file could not be opened.
    #[error("cannot open {path}: {reason}")]
    Open {
        /// The path given.
        path: String,
        /// Why.
        reason: String,
    },
    /// The bytes are not a readable PDF.
    #[error("cannot be read as a PDF: {0}")]
    Pdf(PdfError),
    /// The cross-reference is broken (typically a truncated file): revisions, and so what each
    /// signature covers, cannot be established.
    #[error("cannot be read as a PDF: the cross-reference is broken (truncated or damaged file)")]
    Damaged,
}

// Not `#[from]`: that would also make the PDF error the source, and error chains would print
// its message twice.
impl From<PdfError> for VerifyError {
    fn from(e: PdfError) -> Self {
        Self::Pdf(e)
    }
}

/// What to trust and how to look for revocation data.
#[derive(Clone, Debug, Default)]
pub struct VerifyOptions {
    /// Trust anchors; with none, every signature is untrusted.
    pub anchors: TrustAnchors,
    /// Never fetch CRLs or OCSP responses: use only what the file carries.
    pub offline: bool,
    /// The "current time" for signatures without a proven time (default: now).
    pub now: Option<DateTime<Utc>>,
}

/// Verifies a PDF file, reading it piece by piece.
pub fn verify_file(path: &Path, options: &VerifyOptions) -> Result<Report, VerifyError> {
    let file = std::fs::File::open(path).map_err(|e| VerifyError::Open {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    if file.metadata().map(|m| m.is_dir()).unwrap_or(false) {
        return Err(VerifyError::Open {
            path: path.display().to_string(),
            reason: "is a directory".into(),
        });
    }
    verify_reader(Reader::new(file)?, options)
}

/// Verifies a PDF held in memory.
pub fn verify_bytes(bytes: &[u8], options: &VerifyOptions) -> Result<Report, VerifyError> {
    verify_reader(Reader::new(bytes)?, options)
}

/// The first `len` bytes of a source: the document as it was at the end of a revision.
struct Prefix<'a, S: Source + ?Sized> {
    src: &'a S,
    len: u64,
}

impl<S: Source + ?Sized> Source for Prefix<'_, S> {
    fn len(&self) -> u64 {
        self.len
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        if offset >= self.len {
            return Ok(0);
        }
        let n = buf.len().min((self.len - offset) as usize);
        self.src.read_at(offset, &mut buf[..n])
    }
    fn as_bytes(&self) -> Option<&[u8]> {
        let bytes = self.src.as_bytes()?;
        bytes.get(..usize::try_from(self.len).ok()?.min(bytes.len()))
    }
}

/// Validation material the document carries in its /DSS.
#[derive(Default)]
struct Dss {
    present: bool,
    certs: Vec<Vec<u8>>,
    crls: Vec<Vec<u8>>,
    ocsps: Vec<Vec<u8>>,
}

fn read_dss<S: Source>(reader: &Reader<S>) -> Dss {
    let mut dss = Dss::default();
    let Ok((_, catalog)) = reader.catalog() else {
        return dss;
    };
    let Some(d) = catalog.get("DSS").and_then(|d| reader.resolve_dict(d).ok()) else {
        return dss;
    };
    dss.present = true;
    let mut budget = MAX_DSS_BYTES;
    let mut read = |key: &str| -> Vec<Vec<u8>> {
        let Some(arr) = d.get(key).and_then(|a| reader.resolve(a).ok()) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in arr.as_array().into_iter().flatten().take(MAX_DSS_ITEMS) {
            let Ok(Object::Stream(s)) = reader.resolve(item) else {
                continue;
            };
            let Ok(data) = reader.decode_stream(&s) else {
                continue;
            };
            if data.len() > budget {
                break;
            }
            budget -= data.len();
            out.push(data);
        }
        out
    };
    dss.certs = read("Certs");
    dss.crls = read("CRLs");
    dss.ocsps = read("OCSPs");
    dss
}

/// A signature dictionary found through the AcroForm.
struct Found {
    field: String,
    field_dict: Dictionary,
    /// The signature dictionary without /Contents (kept only as a digest, so many large
    /// signatures do not pile up in memory).
    sig: Dictionary,
    /// The field's value exists but does not parse as a dictionary.
    unreadable: bool,
    contents_digest: Option<Vec<u8>>,
}

/// The integrity stage's findings for one signature.
struct Checked {
    found: Found,
    kind: SignatureKind,
    byte_range: Option<[u64; 4]>,
    raw_byte_range: Option<Vec<i64>>,
    signed_end: u64,
    coverage: Option<Coverage>,
    parsed: Option<ParsedSignedData>,
    signer_cert: Option<X509>,
    intact: bool,
    failure: Option<(Indication, SubIndication, Note)>,
    /// For document time-stamps: the token itself; for signatures: the signature time-stamp.
    token: Option<TimestampToken>,
    problems: Vec<Note>,
}

fn verify_reader<S: Source>(
    reader: Reader<S>,
    options: &VerifyOptions,
) -> Result<Report, VerifyError> {
    if reader.is_encrypted() {
        return Err(PdfError::Encrypted.into());
    }
    if reader.is_damaged() {
        return Err(VerifyError::Damaged);
    }
    reader.catalog()?;
    let mut session = Session {
        options,
        now: options.now.unwrap_or_else(Utc::now),
        collector: std::cell::OnceCell::new(),
        usage: std::cell::OnceCell::new(),
        certified_from: None,
    };
    let dss = read_dss(&reader);
    let found = signed_fields(&reader)?;
    let mut checked: Vec<Checked> = found
        .into_iter()
        .map(|f| check_integrity(&reader, &dss, f))
        .collect();
    checked.sort_by_key(|c| c.signed_end);

    session.certified_from = checked
        .iter()
        .filter(|c| c.kind == SignatureKind::Certification)
        .map(|c| c.signed_end)
        .min();

    // Proofs of existence from valid, trusted document time-stamps: (covered end, time).
    let mut poe: Vec<(u64, DateTime<Utc>)> = Vec::new();
    for c in &checked {
        if c.kind != SignatureKind::DocumentTimestamp || !c.intact {
            continue;
        }
        if let Some(t) = &c.token {
            if tsa_trust(t, &dss.certs, &dss.crls, &dss.ocsps, options)
                .problems
                .is_empty()
            {
                poe.push((c.signed_end, t.gen_time));
            }
        }
    }

    let mut docmdp_permission = None;
    let mut reports = Vec::new();
    for c in &checked {
        let permission = docmdp_of(&reader, &c.found);
        if c.kind == SignatureKind::Certification {
            docmdp_permission = permission;
        }
        reports.push(judge(&reader, &dss, c, &poe, permission, &session));
    }
    let dss_summary = dss.present.then_some(DssSummary {
        certs: dss.certs.len(),
        crls: dss.crls.len(),
        ocsps: dss.ocsps.len(),
    });
    Ok(Report::new(
        reports,
        docmdp_permission,
        dss_summary,
        reader.revisions().len(),
    ))
}

/// Most earlier revisions opened to look for signature fields a later revision dropped.
const MAX_FORM_REVISIONS: usize = MAX_SIGNATURES;

/// Signature fields with a value, from the AcroForm of every revision, newest first: a later
/// revision that drops the AcroForm, or a field from /Fields, must not make the signatures it
/// held disappear from the report (the difference analysis judges the removal itself).
fn signed_fields<S: Source>(reader: &Reader<S>) -> Result<Vec<Found>, VerifyError> {
    let mut found = Vec::new();
    let mut seen = HashSet::new();
    let (fields, mut read) = reader.form_fields()?;
    collect_signed(reader, fields, &mut seen, &mut found);

    // Going back one revision at a time: revision k has the fields of revision k+1 unless
    // k+1 rewrote or freed an object the form walk of k+1 read, or changed the catalog.
    let revisions = reader.revisions();
    let mut root = reader.trailer().get("Root").cloned();
    let mut opened = 0;
    for k in (0..revisions.len().saturating_sub(1)).rev() {
        let next = &revisions[k + 1];
        let this_root = revisions[k].trailer.get("Root").cloned();
        let touched = next
            .objects
            .iter()
            .map(|(n, _)| n)
            .chain(&next.freed)
            .any(|n| read.contains(n));
        if !touched && this_root == root {
            continue;
        }
        if opened >= MAX_FORM_REVISIONS || found.len() >= MAX_SIGNATURES {
            break;
        }
        opened += 1;
        let Ok(old) = Reader::new(Prefix {
            src: reader.source(),
            len: revisions[k].end,
        }) else {
            continue;
        };
        // A repaired revision says nothing reliable about which fields it had.
        if old.is_damaged() {
            continue;
        }
        let Ok((fields, old_read)) = old.form_fields() else {
            continue;
        };
        collect_signed(&old, fields, &mut seen, &mut found);
        read = old_read;
        root = this_root;
    }
    Ok(found)
}

/// The signature a field holds: its value's object, or the field for a direct value.
#[derive(PartialEq, Eq, Hash)]
enum SignatureKey {
    Value(ObjectId),
    Field(ObjectId),
}

/// Adds the signature fields among `fields` (read with `r`) whose signature is not in
/// `seen` yet.
fn collect_signed<T: Source>(
    r: &Reader<T>,
    fields: Vec<crate::pdf::Field>,
    seen: &mut HashSet<SignatureKey>,
    found: &mut Vec<Found>,
) {
    for f in fields {
        if f.field_type.as_deref() != Some(b"Sig") || found.len() >= MAX_SIGNATURES {
            continue;
        }
        let Some(v) = f.value else { continue };
        let key = match v.as_reference() {
            Some(id) => SignatureKey::Value(id),
            None => SignatureKey::Field(f.id),
        };
        if !seen.insert(key) {
            continue;
        }
        // A signed field whose value cannot be read is a broken signature, not no signature.
        let (mut sig, unreadable) = match r.resolve_dict(&v) {
            Ok(sig) => (sig, false),
            Err(_) => (Dictionary::new(), true),
        };
        // Resolved in the revision the field was found in, which may be all that still
        // refers to it.
        if let Some(range) = sig.get("ByteRange").and_then(|b| r.resolve(b).ok()) {
            sig.set("ByteRange", range);
        }
        let contents_digest = sig.remove("Contents").and_then(|c| {
            c.as_string()
                .map(|s| DigestAlgorithm::Sha256.digest(&s.bytes))
        });
        found.push(Found {
            field: f.name,
            field_dict: f.dict,
            sig,
            unreadable,
            contents_digest,
        });
    }
}

fn kind_of(sig: &Dictionary) -> SignatureKind {
    if sig.name_is("Type", "DocTimeStamp") || sig.name_is("SubFilter", "ETSI.RFC3161") {
        return SignatureKind::DocumentTimestamp;
    }
    let certifies = sig
        .get("Reference")
        .and_then(Object::as_array)
        .is_some_and(|refs| {
            refs.iter()
                .filter_map(Object::as_dict)
                .any(|r| r.name_is("TransformMethod", "DocMDP"))
        });
    if certifies {
        SignatureKind::Certification
    } else {
        SignatureKind::Approval
    }
}

/// The DocMDP permission this signature imposes (its own transform or its field's /Lock /P).
fn docmdp_of<S: Source>(reader: &Reader<S>, found: &Found) -> Option<u8> {
    let from_refs = found
        .sig
        .get("Reference")
        .and_then(Object::as_array)
        .and_then(|refs| {
            refs.iter().filter_map(Object::as_dict).find_map(|r| {
                if !r.name_is("TransformMethod", "DocMDP") {
                    return None;
                }
                let p = r
                    .get("TransformParams")
                    .and_then(|t| reader.resolve_dict(t).ok())
                    .and_then(|t| t.get_int("P"))
                    .unwrap_or(2);
                Some(p)
            })
        });
    let from_lock = || {
        found
            .field_dict
            .get("Lock")
            .and_then(|l| reader.resolve_dict(l).ok())
            .and_then(|l| l.get_int("P"))
    };
    from_refs.or_else(from_lock).map(|p| p.clamp(1, 3) as u8)
}

/// The FieldMDP lock this signature imposes: a FieldMDP transform in its /Reference, or its
/// field's /Lock dictionary.
fn field_lock<S: Source>(reader: &Reader<S>, found: &Found) -> Option<diff::FieldLock> {
    let from_refs = found
        .sig
        .get("Reference")
        .and_then(Object::as_array)
        .and_then(|refs| {
            refs.iter().filter_map(Object::as_dict).find_map(|r| {
                if !r.name_is("TransformMethod", "FieldMDP") {
                    return None;
                }
                r.get("TransformParams")
                    .and_then(|t| reader.resolve_dict(t).ok())
                    .and_then(|t| diff::FieldLock::from_dict(&t))
            })
        });
    from_refs.or_else(|| {
        found
            .field_dict
            .get("Lock")
            .and_then(|l| reader.resolve_dict(l).ok())
            .and_then(|l| diff::FieldLock::from_dict(&l))
    })
}

fn fail(c: &mut Checked, indication: Indication, sub: SubIndication, why: Note) {
    c.problems.push(why.clone());
    c.intact = false;
    if c.failure.is_none() {
        c.failure = Some((indication, sub, why));
    }
}

/// ByteRange, /Contents, digest and signature value.
fn check_integrity<S: Source>(reader: &Reader<S>, dss: &Dss, found: Found) -> Checked {
    let kind = kind_of(&found.sig);
    let mut c = Checked {
        found,
        kind,
        byte_range: None,
        raw_byte_range: None,
        signed_end: 0,
        coverage: None,
        parsed: None,
        signer_cert: None,
        intact: true,
        failure: None,
        token: None,
        problems: Vec::new(),
    };
    if c.found.unreadable {
        fail(
            &mut c,
            Indication::TotalFailed,
            SubIndication::FormatFailure,
            Note::new(
                "the signature dictionary is damaged and cannot be read",
                "từ điển chữ ký bị hỏng, không đọc được",
            ),
        );
        return c;
    }
    let file_len = reader.len();
    let raw: Option<Vec<i64>> = c
        .found
        .sig
        .get("ByteRange")
        .and_then(|b| reader.resolve(b).ok())
        .and_then(|b| {
            b.as_array()
                .map(|a| a.iter().filter_map(Object::as_int).collect())
        });
    c.raw_byte_range = raw.clone();
    let range = match raw.as_deref() {
        Some(&[a, b, cc, d]) if a == 0 && b > 0 && cc > b && d >= 0 => {
            let (b, cc, d) = (b as u64, cc as u64, d as u64);
            match cc.checked_add(d) {
                Some(end) if end <= file_len => Some([0, b, cc, d]),
                _ => None,
            }
        }
        _ => None,
    };
    let Some([_, b, gap_end, d]) = range else {
        let why = if raw
            .as_ref()
            .is_some_and(|r| r.len() == 4 && r[2].saturating_add(r[3]) > file_len as i64)
        {
            Note::new(
                "the signed byte range extends beyond the end of the file (truncated or damaged)",
                "vùng dữ liệu được ký vượt quá cuối tệp (tệp bị cắt cụt hoặc bị hỏng)",
            )
        } else {
            Note::new(
                "the /ByteRange is missing or malformed",
                "thiếu /ByteRange hoặc /ByteRange sai cấu trúc",
            )
        };
        fail(
            &mut c,
            Indication::TotalFailed,
            SubIndication::FormatFailure,
            why,
        );
        return c;
    };
    c.byte_range = Some([0, b, gap_end, d]);
    c.signed_end = gap_end + d;
    c.coverage = Some(coverage_of(reader, c.signed_end));

    // The gap must be exactly the hex string of this dictionary's /Contents.
    let gap_len = gap_end - b;
    if gap_len > (MAX_CMS_LEN as u64) * 2 + 2 || gap_len < 2 {
        fail(
            &mut c,
            Indication::TotalFailed,
            SubIndication::FormatFailure,
            Note::new(
                "the /Contents gap has an impossible size",
                "khoảng trống /Contents có kích thước không thể có",
            ),
        );
        return c;
    }
    let gap = match read_range(reader.source(), b, gap_len as usize) {
        Ok(g) if g.len() as u64 == gap_len => g,
        _ => {
            fail(
                &mut c,
                Indication::TotalFailed,
                SubIndication::FormatFailure,
                Note::new(
                    "the /Contents gap cannot be read",
                    "không đọc được khoảng trống /Contents",
                ),
            );
            return c;
        }
    };
    let contents = match decode_gap(&gap) {
        Some(bytes) => bytes,
        None => {
            fail(
                &mut c,
                Indication::TotalFailed,
                SubIndication::FormatFailure,
                Note::new(
                    "the bytes outside the signed range are not exactly the /Contents hex string",
                    "phần nằm ngoài vùng được ký không đúng là chuỗi hex /Contents",
                ),
            );
            return c;
        }
    };
    if c.found.contents_digest.as_deref()
        != Some(DigestAlgorithm::Sha256.digest(&contents).as_slice())
    {
        fail(
            &mut c,
            Indication::TotalFailed,
            SubIndication::FormatFailure,
            Note::new(
                "the unsigned gap does not hold this signature's /Contents",
                "khoảng trống không được ký không chứa /Contents của chữ ký này",
            ),
        );
        return c;
    }
    let parsed = match ParsedSignedData::parse(&contents) {
        Ok(p) => p,
        Err(e) => {
            fail(
                &mut c,
                Indication::TotalFailed,
                SubIndication::FormatFailure,
                Note::new(
                    format!("the signature container is malformed: {e}"),
                    format!("khối dữ liệu chữ ký (CMS) sai cấu trúc: {e}"),
                ),
            );
            return c;
        }
    };
    let signed = SignedRanges {
        reader,
        ranges: [(0, b), (gap_end, d)],
        digests: std::cell::RefCell::new(Vec::new()),
    };

    if c.kind == SignatureKind::DocumentTimestamp {
        match tsa::read_token(&contents, &dss.certs) {
            Ok(token) => {
                let imprint_ok = token
                    .digest
                    .map(|alg| signed.digest(alg).is_some_and(|dg| dg == token.imprint));
                if imprint_ok == Some(false) {
                    fail(
                        &mut c,
                        Indication::TotalFailed,
                        SubIndication::HashFailure,
                        Note::new(
                            "the document time-stamp does not match the document",
                            "dấu thời gian tài liệu không khớp với tài liệu",
                        ),
                    );
                } else if imprint_ok.is_none() || unverifiable_by_policy(&token.integrity) {
                    // Nothing could be checked, so nothing is known to be intact; but this is
                    // the policy speaking, not a mismatch.
                    let alg = token.rejected_algorithm().unwrap_or_default();
                    fail(
                        &mut c,
                        Indication::Indeterminate,
                        SubIndication::CryptoConstraintsFailure,
                        Note::new(
                            format!(
                                "the document time-stamp uses algorithm {alg}, which this \
                                 verifier does not know, so it cannot be checked"
                            ),
                            format!(
                                "dấu thời gian tài liệu dùng thuật toán {alg} mà chương trình \
                                 kiểm tra không hỗ trợ, nên không kiểm tra được"
                            ),
                        ),
                    );
                } else if !token.integrity.intact() {
                    let why = match &token.integrity.problem {
                        Some(p) => Note::new(
                            p.clone(),
                            format!("không kiểm tra được chữ ký của dấu thời gian ({p})"),
                        ),
                        None => Note::new(
                            "the time-stamp token's signature does not verify",
                            "chữ ký của dấu thời gian không đúng",
                        ),
                    };
                    fail(
                        &mut c,
                        Indication::TotalFailed,
                        SubIndication::SigCryptoFailure,
                        why,
                    );
                }
                c.signer_cert = token
                    .tsa_certificate
                    .as_deref()
                    .and_then(certificate::parse_certificate);
                c.token = Some(token);
            }
            Err(e) => fail(
                &mut c,
                Indication::TotalFailed,
                SubIndication::FormatFailure,
                Note::new(
                    format!("the document time-stamp is malformed: {e}"),
                    format!("dấu thời gian tài liệu sai cấu trúc: {e}"),
                ),
            ),
        }
        c.parsed = Some(parsed);
        return c;
    }

    if parsed.signer_count != 1 {
        fail(
            &mut c,
            Indication::TotalFailed,
            SubIndication::FormatFailure,
            Note::new(
                format!(
                    "a PDF signature holds exactly one signer, this one holds {}",
                    parsed.signer_count
                ),
                format!(
                    "chữ ký PDF chỉ có đúng một người ký, chữ ký này có {}",
                    parsed.signer_count
                ),
            ),
        );
        c.parsed = Some(parsed);
        return c;
    }
    let Some(alg) = parsed.signer.digest.filter(|d| d.is_accepted()) else {
        fail(
            &mut c,
            Indication::Indeterminate,
            SubIndication::CryptoConstraintsFailure,
            Note::new(
                format!(
                    "digest algorithm {} is not accepted",
                    parsed.signer.digest_oid
                ),
                format!(
                    "thuật toán băm {} không được chấp nhận",
                    parsed.signer.digest_oid
                ),
            ),
        );
        c.parsed = Some(parsed);
        return c;
    };
    let cert_der = parsed.signer_certificate().map(<[u8]>::to_vec).or_else(|| {
        dss.certs
            .iter()
            .find(|d| cms::certificate_matches(d, &parsed.signer.sid))
            .cloned()
    });
    let Some(cert_der) = cert_der else {
        fail(
            &mut c,
            Indication::Indeterminate,
            SubIndication::NoSigningCertificateFound,
            Note::new(
                "the signer's certificate is not in the signature",
                "chứng thư số của người ký không có trong chữ ký",
            ),
        );
        c.parsed = Some(parsed);
        return c;
    };
    c.signer_cert = certificate::parse_certificate(&cert_der);
    if signed.digest(alg).is_none() {
        fail(
            &mut c,
            Indication::TotalFailed,
            SubIndication::FormatFailure,
            Note::new(
                "the signed bytes cannot be read",
                "không đọc được phần dữ liệu được ký",
            ),
        );
        c.parsed = Some(parsed);
        return c;
    }
    let check = cms::check_integrity(&parsed, &cert_der, &signed);
    let detached_data = parsed.econtent_type == cms::ID_DATA && parsed.econtent.is_none();
    if !check.content_type_ok || !detached_data {
        fail(
            &mut c,
            Indication::TotalFailed,
            SubIndication::FormatFailure,
            Note::new(
                "the signature does not sign detached data (content type mismatch)",
                "chữ ký không ký dữ liệu tách rời (kiểu nội dung không khớp)",
            ),
        );
    } else if let Some(p) = &check.problem {
        fail(
            &mut c,
            Indication::Indeterminate,
            SubIndication::CryptoConstraintsFailure,
            Note::new(p.clone(), format!("không kiểm tra được chữ ký ({p})")),
        );
    } else if !check.message_digest_ok {
        fail(
            &mut c,
            Indication::TotalFailed,
            SubIndication::HashFailure,
            Note::new(
                "the document was changed inside the signed range (digest mismatch)",
                "tài liệu đã bị thay đổi trong vùng được ký (giá trị băm không khớp)",
            ),
        );
    } else if !check.signature_ok {
        fail(
            &mut c,
            Indication::TotalFailed,
            SubIndication::SigCryptoFailure,
            Note::new(
                "the signature value does not verify",
                "giá trị chữ ký không đúng",
            ),
        );
    } else if let Some(alg) = &check.rejected_algorithm {
        fail(
            &mut c,
            Indication::Indeterminate,
            SubIndication::CryptoConstraintsFailure,
            Note::new(
                format!("the signature uses {alg}, which the validation policy does not accept"),
                format!("chữ ký dùng {alg}, thuật toán không được chính sách kiểm tra chấp nhận"),
            ),
        );
    } else if check.signing_certificate_ok == Some(false) {
        fail(
            &mut c,
            Indication::Indeterminate,
            SubIndication::NoSigningCertificateFound,
            Note::new(
                "signing-certificate attribute names another certificate",
                "thuộc tính signing-certificate chỉ tới một chứng thư số khác",
            ),
        );
    }
    if c.intact && parsed.signer.signed_attrs_der.is_none() {
        // Legal in ISO 32000 (adbe.pkcs7.detached), but PAdES needs signed attributes: the
        // clerk should know the signature reaches no PAdES level, not that it is broken.
        c.problems.push(Note::new(
            "the signature has no signed attributes (ISO 32000 adbe.pkcs7.detached): it was \
             verified directly over the document, but it is not a PAdES signature",
            "chữ ký không có thuộc tính được ký (kiểu adbe.pkcs7.detached của ISO 32000): đã \
             kiểm tra trực tiếp trên tài liệu, nhưng đây không phải chữ ký PAdES",
        ));
    }
    if parsed
        .signer
        .signed_attr_oids
        .contains(&cms::ID_SIGNING_TIME)
        && c.found.sig.name_is("SubFilter", "ETSI.CAdES.detached")
    {
        c.problems.push(Note::new(
            "signing-time is a signed attribute, which PAdES baseline forbids",
            "signing-time nằm trong các thuộc tính được ký, điều PAdES baseline không cho phép",
        ));
    }

    // Signature time-stamp: its imprint is the digest of the signature value.
    if let Some(token_der) = parsed.signer.timestamp_tokens.first() {
        let mut helpers = parsed.certificates.clone();
        helpers.extend(dss.certs.iter().cloned());
        match tsa::read_token(token_der, &helpers) {
            Ok(token) => {
                // A token whose algorithms the policy rejects (SHA-1) or does not know is
                // judged with its authority: it proves no time, and the signature it was meant
                // to date stays intact.
                let covers = token
                    .digest
                    .map(|d| d.digest(&parsed.signer.signature) == token.imprint);
                if covers == Some(false) {
                    fail(
                        &mut c,
                        Indication::TotalFailed,
                        SubIndication::HashFailure,
                        Note::new(
                            "the signature time-stamp does not cover this signature",
                            "dấu thời gian không phải là dấu thời gian của chữ ký này",
                        ),
                    );
                } else if !token.integrity.intact() && !unverifiable_by_policy(&token.integrity) {
                    fail(
                        &mut c,
                        Indication::TotalFailed,
                        SubIndication::SigCryptoFailure,
                        Note::new(
                            "the signature time-stamp's own signature does not verify",
                            "chữ ký của chính dấu thời gian không đúng",
                        ),
                    );
                }
                c.token = Some(token);
            }
            Err(e) => fail(
                &mut c,
                Indication::TotalFailed,
                SubIndication::FormatFailure,
                Note::new(
                    format!("the signature time-stamp is malformed: {e}"),
                    format!("dấu thời gian của chữ ký sai cấu trúc: {e}"),
                ),
            ),
        }
    }
    c.parsed = Some(parsed);
    c
}

/// Most bytes of signed content held in memory at once: only EdDSA signatures without signed
/// attributes need the content itself rather than its digest.
const MAX_HELD_CONTENT: u64 = 256 << 20;

/// The two byte ranges a signature covers, hashed from the file piece by piece; each digest is
/// computed once, however many checks ask for it.
struct SignedRanges<'a, S: Source> {
    reader: &'a Reader<S>,
    ranges: [(u64, u64); 2],
    digests: std::cell::RefCell<Vec<(HashAlgorithm, Option<Vec<u8>>)>>,
}

impl<S: Source> SignedContent for SignedRanges<'_, S> {
    fn digest(&self, algorithm: HashAlgorithm) -> Option<Vec<u8>> {
        if let Some((_, d)) = self.digests.borrow().iter().find(|(a, _)| *a == algorithm) {
            return d.clone();
        }
        let compute = || {
            let mut h = algorithm.hasher().ok()?;
            let mut sink = |chunk: &[u8]| h.update(chunk).map_err(std::io::Error::other);
            for (offset, len) in self.ranges {
                self.reader.copy_range(offset, len, &mut sink).ok()?;
            }
            algorithm.finish(&mut h).ok()
        };
        let d = compute();
        self.digests.borrow_mut().push((algorithm, d.clone()));
        d
    }

    fn bytes(&self) -> Option<Vec<u8>> {
        let total: u64 = self.ranges.iter().map(|(_, len)| len).sum();
        if total > MAX_HELD_CONTENT {
            return None;
        }
        let mut out = Vec::with_capacity(usize::try_from(total).ok()?);
        let mut sink = |chunk: &[u8]| {
            out.extend_from_slice(chunk);
            Ok(())
        };
        for (offset, len) in self.ranges {
            self.reader.copy_range(offset, len, &mut sink).ok()?;
        }
        Some(out)
    }
}

/// The check stopped at an algorithm the verifier does not know: no verdict on the data.
fn unverifiable_by_policy(check: &cms::IntegrityCheck) -> bool {
    check.problem.is_some() && check.rejected_algorithm.is_some()
}

/// The hex digits between `<` and `>`, decoded; `None` when the gap holds anything else.
fn decode_gap(gap: &[u8]) -> Option<Vec<u8>> {
    let inner = gap.strip_prefix(b"<")?.strip_suffix(b">")?;
    let digits: Vec<u8> = inner
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    if !digits.len().is_multiple_of(2) || !digits.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    hex::decode(&digits).ok()
}

/// Most white space (NUL included) after a revision's `%%EOF` that a signature may cover and
/// still cover exactly that revision.
const MAX_REVISION_PADDING: u64 = 1024;

fn coverage_of<S: Source>(reader: &Reader<S>, end: u64) -> Coverage {
    if end == reader.len() {
        return Coverage::EntireFile;
    }
    let blank = |from: u64, len: u64| {
        read_range(reader.source(), from, len as usize)
            .map(|b| {
                b.len() as u64 == len && b.iter().all(|c| crate::pdf::object::is_whitespace(*c))
            })
            .unwrap_or(false)
    };
    // A revision ends after %%EOF and its end-of-line; signers may leave the EOL out, or sign
    // white space after it (padding qpdf reads without a warning), which changes nothing.
    let on_boundary = reader.revisions().iter().any(|r| {
        r.end == end
            || (r.end > end
                && r.end - end <= 2
                && read_range(reader.source(), end, (r.end - end) as usize)
                    .map(|b| b.iter().all(|c| *c == b'\r' || *c == b'\n'))
                    .unwrap_or(false))
            || (end > r.end && end - r.end <= MAX_REVISION_PADDING && blank(r.end, end - r.end))
    });
    if on_boundary {
        Coverage::EntireRevision
    } else {
        Coverage::Partial
    }
}

/// Validates a time-stamp's TSA: path to an anchor at the token's own time, key usage and
/// revocation from the given data. Returns problems (empty when trusted).
fn tsa_trust(
    token: &TimestampToken,
    extra: &[Vec<u8>],
    crls: &[Vec<u8>],
    ocsps: &[Vec<u8>],
    options: &VerifyOptions,
) -> TsaTrust {
    if let Some(alg) = token.rejected_algorithm() {
        return TsaTrust {
            problems: vec![Note::new(
                format!(
                    "the time-stamp uses {alg}, which the validation policy does not accept, \
                     so it proves no time"
                ),
                format!(
                    "dấu thời gian dùng {alg}, thuật toán không được chính sách kiểm tra chấp \
                     nhận, nên không chứng minh được thời điểm"
                ),
            )],
            chain: vec![],
            revocation: RevocationSummary::NotChecked,
            algorithm_rejected: true,
            no_chain: false,
        };
    }
    let Some(cert) = token
        .tsa_certificate
        .as_deref()
        .and_then(certificate::parse_certificate)
    else {
        return TsaTrust {
            problems: vec![Note::new(
                "the time-stamp authority's certificate is missing",
                "thiếu chứng thư số của đơn vị cấp dấu thời gian",
            )],
            chain: vec![],
            revocation: RevocationSummary::NotChecked,
            algorithm_rejected: false,
            no_chain: true,
        };
    };
    let helpers: Vec<X509> = token
        .certificates
        .iter()
        .chain(extra)
        .filter_map(|d| certificate::parse_certificate(d))
        .collect();
    let path = trust::validate_path(&options.anchors, &cert, &helpers, token.gen_time);
    let mut problems = Vec::new();
    if path.status != PathStatus::Valid {
        let why = path_text(&path.status);
        problems.push(Note::new(
            format!("time-stamp authority not trusted: {}", why.en),
            format!("đơn vị cấp dấu thời gian không tin cậy được: {}", why.vi),
        ));
    }
    if let Err(e) = trust::check_usage(&cert, Usage::TimeStamping) {
        problems.push(usage_note(Usage::TimeStamping, e));
    }
    let revs = trust::check_revocation(&path.chain, &options.anchors, crls, ocsps, token.gen_time);
    let revocation = if path.status != PathStatus::Valid {
        RevocationSummary::NotChecked
    } else if revs
        .iter()
        .any(|r| matches!(r.status, RevocationStatus::Revoked { .. }))
    {
        problems.push(Note::new(
            "the time-stamp authority's certificate is revoked",
            "chứng thư số của đơn vị cấp dấu thời gian đã bị thu hồi",
        ));
        RevocationSummary::Revoked
    } else if revs.iter().any(|r| r.status == RevocationStatus::Unknown) {
        RevocationSummary::Unknown
    } else {
        RevocationSummary::Good
    };
    TsaTrust {
        problems,
        no_chain: matches!(path.status, PathStatus::NoChain(_)),
        chain: path.chain,
        revocation,
        algorithm_rejected: false,
    }
}

/// What was found about a time-stamp authority.
struct TsaTrust {
    /// Why it is not trusted; empty when trusted.
    problems: Vec<Note>,
    /// Its certification path (leaf first).
    chain: Vec<X509>,
    /// Revocation status of that path.
    revocation: RevocationSummary,
    /// The token's algorithms fall outside the validation policy (the first problem says
    /// which): INDETERMINATE / CRYPTO_CONSTRAINTS_FAILURE rather than a path failure.
    algorithm_rejected: bool,
    /// No path to a trust anchor was found (NO_CERTIFICATE_CHAIN_FOUND).
    no_chain: bool,
}

impl TsaTrust {
    /// The sub-indication of the first problem: an algorithm outside the policy, no path to
    /// an anchor (a self-signed or unknown authority), or another path or usage failure.
    fn sub_indication(&self) -> SubIndication {
        if self.algorithm_rejected {
            SubIndication::CryptoConstraintsFailure
        } else if self.no_chain {
            SubIndication::NoCertificateChainFound
        } else {
            SubIndication::CertificateChainGeneralFailure
        }
    }
}

fn path_text(s: &PathStatus) -> Note {
    match s {
        PathStatus::Valid => Note::new("valid", "hợp lệ"),
        PathStatus::NoChain(t) => Note::new(
            format!("no path to a trust anchor ({t})"),
            format!("không có đường dẫn tới chứng thư gốc tin cậy ({t})"),
        ),
        PathStatus::Expired(t) => Note::new(
            format!("certificate expired ({t})"),
            format!("chứng thư số đã hết hạn ({t})"),
        ),
        PathStatus::NotYetValid(t) => Note::new(
            format!("certificate not yet valid ({t})"),
            format!("chứng thư số chưa có hiệu lực ({t})"),
        ),
        PathStatus::Invalid(t) => Note::new(
            format!("certificate path invalid ({t})"),
            format!("đường dẫn chứng thư không hợp lệ ({t})"),
        ),
    }
}

/// A key-usage failure from [`trust::check_usage`] (worded in English there) for the report.
fn usage_note(usage: Usage, en: String) -> Note {
    let vi = match usage {
        Usage::DocumentSigning => "mục đích sử dụng khóa của chứng thư số không cho phép ký",
        Usage::TimeStamping => {
            "chứng thư số của đơn vị cấp dấu thời gian thiếu mục đích sử dụng timeStamping"
        }
    };
    Note::new(en, vi)
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Parses a PDF date (`D:YYYYMMDDHHmmSSOHH'mm'`), keeping its offset.
pub fn parse_pdf_date(text: &str) -> Option<DateTime<FixedOffset>> {
    let s = text.strip_prefix("D:").unwrap_or(text);
    let digits = |from: usize, len: usize, default: u32| -> Option<u32> {
        match s.get(from..from + len) {
            Some(p) if p.bytes().all(|b| b.is_ascii_digit()) => p.parse().ok(),
            Some(_) => None,
            None => Some(default),
        }
    };
    let year = digits(0, 4, 0)? as i32;
    if s.len() < 4 {
        return None;
    }
    let (mo, d, h, mi, se) = (
        digits(4, 2, 1)?,
        digits(6, 2, 1)?,
        digits(8, 2, 0)?,
        digits(10, 2, 0)?,
        digits(12, 2, 0)?,
    );
    let rest = s.get(14..).unwrap_or("");
    let offset = match rest.chars().next() {
        Some(sign @ ('+' | '-')) => {
            let tz: String = rest[1..].chars().filter(|c| c.is_ascii_digit()).collect();
            let oh: i32 = tz.get(0..2).and_then(|x| x.parse().ok()).unwrap_or(0);
            let om: i32 = tz.get(2..4).and_then(|x| x.parse().ok()).unwrap_or(0);
            let secs = (oh * 3600 + om * 60) * if sign == '-' { -1 } else { 1 };
            FixedOffset::east_opt(secs)?
        }
        _ => FixedOffset::east_opt(0)?,
    };
    let naive = NaiveDate::from_ymd_opt(year, mo, d)?.and_hms_opt(h, mi, se)?;
    offset.from_local_datetime(&naive).single()
}

#[allow(clippy::too_many_lines)]
fn judge<S: Source>(
    reader: &Reader<S>,
    dss: &Dss,
    c: &Checked,
    poe: &[(u64, DateTime<Utc>)],
    permission: Option<u8>,
    session: &Session<'_>,
) -> SignatureReport {
    let (now, options) = (session.now, session.options);
    let sig = &c.found.sig;
    let text = |key: &str| {
        sig.get(key)
            .and_then(Object::as_string)
            .map(|s| s.to_text())
    };
    let claimed = text("M").and_then(|m| parse_pdf_date(&m));
    let mut problems = c.problems.clone();
    let mut failure = c.failure.clone();
    let mut trusted = false;
    let mut trust_domain = None;
    let mut revocation = RevocationSummary::NotChecked;

    let (cms_certs, cms_crls, archived_ocsps) = match &c.parsed {
        Some(p) => {
            let mut crls = p.crls.clone();
            crls.extend(p.signer.archived_crls.iter().cloned());
            (
                p.certificates.clone(),
                crls,
                p.signer.archived_ocsps.clone(),
            )
        }
        None => (vec![], vec![], vec![]),
    };
    let mut crls: Vec<Vec<u8>> = dss.crls.clone();
    crls.extend(cms_crls);
    let mut ocsps: Vec<Vec<u8>> = dss.ocsps.clone();
    ocsps.extend(archived_ocsps);
    let mut helpers_der: Vec<Vec<u8>> = cms_certs;
    helpers_der.extend(dss.certs.iter().cloned());

    // The signature's own time-stamp, then document time-stamps covering it, prove existence.
    let mut timestamp_time = None;
    let mut own_poe = None;
    let mut tsa_chain = Vec::new();
    let mut tsa = None;
    // A signature time-stamp from an untrusted authority makes the signature untrusted, as in
    // pyHanko, rather than silently falling back to B-B.
    let mut timestamp_untrusted = false;
    if let Some(token) = c.token.as_ref().filter(|_| c.intact) {
        let t = tsa_trust(token, &helpers_der, &crls, &ocsps, options);
        tsa_chain = t.chain.clone();
        if t.problems.is_empty() {
            // Only a trusted authority's time is reported as the signature's time.
            timestamp_time = Some(rfc3339(token.gen_time));
            own_poe = Some(token.gen_time);
        } else {
            problems.extend(t.problems.iter().cloned());
            if c.kind != SignatureKind::DocumentTimestamp {
                timestamp_untrusted = true;
                failure.get_or_insert((
                    Indication::Indeterminate,
                    t.sub_indication(),
                    t.problems[0].clone(),
                ));
            }
        }
        tsa = Some(t);
    }
    let later_poe = poe
        .iter()
        .filter(|(end, _)| {
            *end > c.signed_end
                || (c.kind != SignatureKind::DocumentTimestamp && *end >= c.signed_end)
        })
        .map(|(_, t)| *t)
        .min();
    let proven = match (own_poe, later_poe) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let validation_time = if c.kind == SignatureKind::DocumentTimestamp {
        c.token.as_ref().map(|t| t.gen_time).unwrap_or(now)
    } else {
        proven.unwrap_or(now)
    };

    // Certificate path and revocation.
    let mut signer_chain: Vec<X509> = Vec::new();
    if let Some(cert) = &c.signer_cert {
        if c.kind == SignatureKind::DocumentTimestamp {
            if let Some(tsa) = tsa.as_ref().filter(|_| c.intact) {
                trusted = tsa.problems.is_empty();
                revocation = tsa.revocation;
                if let Some(p) = tsa.problems.first() {
                    failure.get_or_insert((
                        Indication::Indeterminate,
                        tsa.sub_indication(),
                        p.clone(),
                    ));
                }
            }
        } else {
            let helpers: Vec<X509> = helpers_der
                .iter()
                .filter_map(|d| certificate::parse_certificate(d))
                .collect();
            let path = trust::validate_path(&options.anchors, cert, &helpers, validation_time);
            signer_chain = path.chain.clone();
            match &path.status {
                PathStatus::Valid => {
                    trusted = true;
                    trust_domain.clone_from(&path.domain);
                    let mut revs = trust::check_revocation(
                        &path.chain,
                        &options.anchors,
                        &crls,
                        &ocsps,
                        validation_time,
                    );
                    if !options.offline
                        && revs.iter().any(|r| r.status == RevocationStatus::Unknown)
                    {
                        if let Some(fetched) = session.fetch(&path.chain) {
                            crls.extend(fetched.crls);
                            ocsps.extend(fetched.ocsps);
                            revs = trust::check_revocation(
                                &path.chain,
                                &options.anchors,
                                &crls,
                                &ocsps,
                                validation_time,
                            );
                        }
                    }
                    if let Some(r) = revs
                        .iter()
                        .find(|r| matches!(r.status, RevocationStatus::Revoked { .. }))
                    {
                        trusted = false;
                        revocation = RevocationSummary::Revoked;
                        let why = Note::new(
                            format!("certificate of {} is revoked", r.subject),
                            format!("chứng thư số của {} đã bị thu hồi", r.subject),
                        );
                        problems.push(why.clone());
                        let sub = if proven.is_some() {
                            SubIndication::Revoked
                        } else {
                            SubIndication::RevokedNoPoe
                        };
                        let ind = if proven.is_some() {
                            Indication::TotalFailed
                        } else {
                            Indication::Indeterminate
                        };
                        failure.get_or_insert((ind, sub, why));
                    } else if revs.iter().any(|r| r.status == RevocationStatus::Unknown) {
                        revocation = RevocationSummary::Unknown;
                        problems.push(Note::new(
                            "no revocation data for part of the chain (checked soft-fail)",
                            "không có dữ liệu thu hồi cho một phần chuỗi chứng thư \
                             (kiểm tra theo chế độ soft-fail: không ảnh hưởng kết luận)",
                        ));
                    } else {
                        revocation = RevocationSummary::Good;
                    }
                    if let Err(e) = trust::check_usage(cert, Usage::DocumentSigning) {
                        let e = usage_note(Usage::DocumentSigning, e);
                        trusted = false;
                        problems.push(e.clone());
                        failure.get_or_insert((
                            Indication::Indeterminate,
                            SubIndication::CertificateChainGeneralFailure,
                            e,
                        ));
                    }
                }
                other => {
                    let why = path_text(other);
                    problems.push(why.clone());
                    let (ind, sub) = match other {
                        PathStatus::NoChain(_) => (
                            Indication::Indeterminate,
                            SubIndication::NoCertificateChainFound,
                        ),
                        PathStatus::Expired(_) if proven.is_some() => {
                            (Indication::TotalFailed, SubIndication::Expired)
                        }
                        PathStatus::Expired(_) => {
                            (Indication::Indeterminate, SubIndication::OutOfBoundsNoPoe)
                        }
                        PathStatus::NotYetValid(_) => {
                            (Indication::TotalFailed, SubIndication::NotYetValid)
                        }
                        _ => (
                            Indication::Indeterminate,
                            SubIndication::CertificateChainGeneralFailure,
                        ),
                    };
                    failure.get_or_insert((ind, sub, why));
                }
            }
        }
    }

    // Changes after signing.
    let (modification, changes, visible_changes) = match c.coverage {
        Some(Coverage::EntireFile) | None => (ModificationLevel::None, vec![], vec![]),
        Some(Coverage::EntireRevision) => {
            match Reader::new(Prefix {
                src: reader.source(),
                len: c.signed_end,
            }) {
                Ok(old) => {
                    let lock = field_lock(reader, &c.found);
                    let usage = session.usage.get_or_init(|| diff::Usage::of(reader));
                    let constraints = diff::Constraints {
                        lock: lock.as_ref(),
                        certified: session
                            .certified_from
                            .is_some_and(|end| end <= c.signed_end),
                    };
                    let out = diff::analyse(&old, reader, usage, c.signed_end, constraints);
                    (out.level, out.changes, out.shown)
                }
                Err(_) => (
                    ModificationLevel::Other,
                    vec!["OTHER: NoRule: the signed revision cannot be read".into()],
                    vec![],
                ),
            }
        }
        Some(Coverage::Partial) => (
            ModificationLevel::Other,
            vec!["OTHER: NoRule: the signature does not cover a whole revision".into()],
            vec![],
        ),
    };
    let level_value = |l: ModificationLevel| match l {
        ModificationLevel::None => 0,
        ModificationLevel::LtaUpdates => 1,
        ModificationLevel::FormFilling => 2,
        ModificationLevel::Annotations => 3,
        ModificationLevel::Other => 4,
    };
    // Without a DocMDP permission, annotations count against the signature as in pyHanko
    // (whose default policy has no rule admitting them); P=3 admits them explicitly.
    let allowed = permission.map_or(2, i32::from);
    let docmdp_ok =
        modification != ModificationLevel::Other && level_value(modification) <= allowed;
    if !docmdp_ok && c.intact {
        let why = match permission {
            Some(p) if modification != ModificationLevel::Other => Note::new(
                format!("changes after signing exceed the certification's permission (P={p})"),
                format!(
                    "các thay đổi sau khi ký vượt quá quyền mà chữ ký chứng nhận cho phép (P={p})"
                ),
            ),
            _ => Note::new(
                "the document was changed after signing in ways no rule allows",
                "tài liệu đã bị thay đổi sau khi ký theo cách không quy tắc nào cho phép",
            ),
        };
        problems.push(why.clone());
        failure.get_or_insert((
            Indication::Indeterminate,
            SubIndication::SigConstraintsFailure,
            why,
        ));
    }

    let level = if c.intact && c.kind != SignatureKind::DocumentTimestamp {
        pades_level(
            reader,
            c,
            dss,
            proven.is_some(),
            &signer_chain,
            &tsa_chain,
            poe,
            options,
        )
    } else {
        None
    };

    let status = if !c.intact {
        Verdict::Invalid
    } else if !docmdp_ok {
        Verdict::Modified
    } else if !trusted || timestamp_untrusted {
        Verdict::Untrusted
    } else {
        Verdict::Valid
    };
    let (indication, sub_indication) = match (&failure, status) {
        (_, Verdict::Valid) => (Indication::TotalPassed, None),
        (Some((i, s, _)), _) => (*i, Some(*s)),
        (None, _) => (
            Indication::Indeterminate,
            Some(SubIndication::CertificateChainGeneralFailure),
        ),
    };
    // The reason behind the indication first, then the rest once each.
    let mut dedup = Vec::new();
    let lead = failure
        .as_ref()
        .filter(|_| status != Verdict::Valid)
        .map(|f| f.2.clone());
    for p in lead.into_iter().chain(problems) {
        if !dedup.contains(&p) {
            dedup.push(p);
        }
    }
    let (problems, problems_vi) = dedup.into_iter().map(|n| (n.en, n.vi)).unzip();
    SignatureReport {
        field: c.found.field.clone(),
        kind: c.kind,
        sub_filter: sig
            .get_name("SubFilter")
            .map(|n| String::from_utf8_lossy(n).into_owned()),
        signer: c.signer_cert.as_ref().map(certificate::subject_label),
        signer_subject: c
            .signer_cert
            .as_ref()
            .map(|x| certificate::display_name(x.subject_name())),
        issuer: c
            .signer_cert
            .as_ref()
            .map(|x| certificate::display_name(x.issuer_name())),
        intact: c.intact,
        trusted,
        trust_domain: trust_domain.filter(|_| trusted),
        coverage: c.coverage,
        modification,
        changes,
        visible_changes,
        docmdp_ok,
        level,
        signing_time: claimed.map(|t| t.to_rfc3339()),
        timestamp_time,
        validation_time: rfc3339(validation_time),
        revocation,
        digest_algorithm: c
            .parsed
            .as_ref()
            .and_then(|p| p.signer.digest)
            .map(|d| d.name().to_string()),
        reason: text("Reason"),
        byte_range: c.raw_byte_range.clone(),
        indication,
        sub_indication,
        status,
        problems,
        problems_vi,
    }
}

/// What one verification run shares between its signatures.
struct Session<'a> {
    options: &'a VerifyOptions,
    now: DateTime<Utc>,
    /// Created on first use; it remembers downloads, so serial signatures sharing issuers fetch
    /// each CRL once.
    collector: std::cell::OnceCell<Option<Collector>>,
    /// Roles of the objects in the whole file, for the difference analyses.
    usage: std::cell::OnceCell<diff::Usage>,
    /// End of the revision signed by the certification signature, if any.
    certified_from: Option<u64>,
}

impl Session<'_> {
    fn fetch(&self, chain: &[X509]) -> Option<crate::revocation::ValidationData> {
        let collector = self
            .collector
            .get_or_init(|| Collector::new(RevocationSource::Online).ok())
            .as_ref()?;
        let ders: Vec<Vec<u8>> = chain.iter().filter_map(|c| c.to_der().ok()).collect();
        collector.collect(&ders).ok().map(|c| c.data)
    }
}

/// B-B needs the PAdES CMS profile; B-T a proven time; B-LT revocation data for the signer's and
/// the TSA's chains in the document; B-LTA a document time-stamp over that data.
#[allow(clippy::too_many_arguments)]
fn pades_level<S: Source>(
    reader: &Reader<S>,
    c: &Checked,
    dss: &Dss,
    has_time: bool,
    signer_chain: &[X509],
    tsa_chain: &[X509],
    poe: &[(u64, DateTime<Utc>)],
    options: &VerifyOptions,
) -> Option<PadesLevel> {
    let parsed = c.parsed.as_ref()?;
    let baseline = c.found.sig.name_is("SubFilter", "ETSI.CAdES.detached")
        && parsed.signer.signing_certificate.is_some()
        && !parsed
            .signer
            .signed_attr_oids
            .contains(&cms::ID_SIGNING_TIME);
    if !baseline {
        return None;
    }
    if !has_time {
        return Some(PadesLevel::BB);
    }
    if !dss.present || signer_chain.is_empty() {
        return Some(PadesLevel::BT);
    }
    let covered = |chain: &[X509]| {
        let time = Utc::now();
        trust::check_revocation(chain, &options.anchors, &dss.crls, &dss.ocsps, time)
            .iter()
            .all(|r| r.status != RevocationStatus::Unknown)
    };
    if !covered(signer_chain) || (!tsa_chain.is_empty() && !covered(tsa_chain)) {
        return Some(PadesLevel::BT);
    }
    let lta = poe.iter().any(|(end, _)| {
        *end > c.signed_end
            && Reader::new(Prefix {
                src: reader.source(),
                len: *end,
            })
            .ok()
            .and_then(|r| r.catalog().ok())
            .is_some_and(|(_, cat)| cat.contains("DSS"))
    });
    Some(if lta {
        PadesLevel::BLTA
    } else {
        PadesLevel::BLT
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pdf_dates_parse_with_offsets() {
        let t = parse_pdf_date("D:20260315083000+07'00'").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-03-15T08:30:00+07:00");
        assert_eq!(
            parse_pdf_date("D:20260315083000Z").unwrap().to_rfc3339(),
            "2026-03-15T08:30:00+00:00"
        );
        assert_eq!(
            parse_pdf_date("D:2026").unwrap().to_rfc3339(),
            "2026-01-01T00:00:00+00:00"
        );
        assert!(parse_pdf_date("D:20261315").is_none());
        assert!(parse_pdf_date("garbage").is_none());
        assert!(parse_pdf_date("").is_none());
    }

    #[test]
    fn gap_must_be_one_hex_string() {
        assert_eq!(decode_gap(b"<30 03>").unwrap(), vec![0x30, 0x03]);
        assert!(decode_gap(b"<303>").is_none());
        assert!(decode_gap(b"(abc)").is_none());
        assert!(decode_gap(b"<30>>").is_none());
    }

    #[test]
    fn non_pdf_and_unsigned_inputs() {
        let opts = VerifyOptions::default();
        assert!(matches!(
            verify_bytes(b"hello", &opts),
            Err(VerifyError::Pdf(_))
        ));
        assert!(matches!(verify_bytes(b"", &opts), Err(VerifyError::Pdf(_))));
        let report = verify_bytes(&simple_pdf(), &opts).unwrap();
        assert_eq!(report.verdict, Verdict::Unsigned);
        assert!(report.signatures.is_empty());
    }

    use crate::pdf::testing::simple_pdf;
    use crate::sign::{sign_bytes, SignOptions};
    use crate::signer::tests::{dev, rsa_signer};
    use crate::signer::{Pkcs12Signer, SignerOptions};

    fn trusted() -> VerifyOptions {
        VerifyOptions {
            anchors: TrustAnchors::from_path(&dev("root-ca.pem")).unwrap(),
            offline: true,
            now: None,
        }
    }

    pub(crate) fn sign(pdf: &[u8], field: &str, certify: bool) -> Vec<u8> {
        let opts = SignOptions {
            field_name: Some(field.into()),
            certify,
            ..SignOptions::default()
        };
        sign_bytes(pdf, &rsa_signer(), &opts).unwrap().0
    }

    /// Appends an incremental update overriding object 4 (the page content of `simple_pdf`).
    fn replace_content(pdf: &[u8]) -> Vec<u8> {
        let reader = Reader::new(pdf).unwrap();
        let prev = reader.startxref();
        let size = reader.trailer().get_int("Size").unwrap();
        let mut out = pdf.to_vec();
        let off = out.len();
        out.extend_from_slice(b"4 0 obj\n<< /Length 9 >>\nstream\nBT ET Q q\nendstream\nendobj\n");
        let xref = out.len();
        out.extend_from_slice(format!("xref\n0 1\n0000000000 65535 f \n4 1\n{off:010} 00000 n \ntrailer\n<< /Size {size} /Root 1 0 R /Prev {prev} >>\nstartxref\n{xref}\n%%EOF\n").as_bytes());
        out
    }

    #[test]
    fn own_signature_round_trips_as_valid_b_b() {
        let signed = sign(&simple_pdf(), "Signature1", false);
        let report = verify_bytes(&signed, &trusted()).unwrap();
        assert_eq!(report.verdict, Verdict::Valid, "{}", report.to_json());
        let s = &report.signatures[0];
        assert_eq!((s.intact, s.trusted), (true, true));
        assert_eq!(s.signer.as_deref(), Some("Nguyễn Văn An"));
        assert_eq!(s.level, Some(PadesLevel::BB));
        assert_eq!(s.coverage, Some(Coverage::EntireFile));
        assert_eq!(s.indication, Indication::TotalPassed);
        assert!(s.signing_time.is_some());
        // Offline with no CRL in the file: revocation unknown, soft-fail.
        assert_eq!(s.revocation, RevocationSummary::Unknown);

        let untrusted = verify_bytes(
            &signed,
            &VerifyOptions {
                offline: true,
                ..VerifyOptions::default()
            },
        )
        .unwrap();
        assert_eq!(untrusted.verdict, Verdict::Untrusted);
        assert_eq!(
            untrusted.signatures[0].sub_indication,
            Some(SubIndication::NoCertificateChainFound)
        );
    }

    #[test]
    fn tampering_inside_the_range_is_a_hash_failure() {
        let mut signed = sign(&simple_pdf(), "Signature1", false);
        let at = signed.windows(5).position(|w| w == b"BT ET").unwrap();
        signed[at] = b'X';
        let report = verify_bytes(&signed, &trusted()).unwrap();
        assert_eq!(report.verdict, Verdict::Invalid);
        assert_eq!(
            report.signatures[0].sub_indication,
            Some(SubIndication::HashFailure)
        );
        assert_eq!(report.signatures[0].indication, Indication::TotalFailed);
    }

    #[test]
    fn serial_signatures_stay_valid_and_content_changes_are_caught() {
        let first = sign(&simple_pdf(), "Official", true);
        let second = sign(&first, "Seal", false);
        let report = verify_bytes(&second, &trusted()).unwrap();
        assert_eq!(report.verdict, Verdict::Valid, "{}", report.to_json());
        assert_eq!(report.docmdp_permission, Some(2));
        let official = &report.signatures[0];
        assert_eq!(official.kind, SignatureKind::Certification);
        assert_eq!(official.coverage, Some(Coverage::EntireRevision));
        assert_eq!(
            official.modification,
            ModificationLevel::FormFilling,
            "{:?}",
            official.changes
        );
        assert_eq!(report.signatures[1].modification, ModificationLevel::None);

        let changed = replace_content(&second);
        let report = verify_bytes(&changed, &trusted()).unwrap();
        assert_eq!(report.verdict, Verdict::Modified);
        for s in &report.signatures {
            assert_eq!(s.modification, ModificationLevel::Other);
            assert!(s.intact);
            assert_eq!(s.sub_indication, Some(SubIndication::SigConstraintsFailure));
            assert!(
                s.changes
                    .iter()
                    .any(|c| c.starts_with("OTHER: PageContentRule: object 4")),
                "{:?}",
                s.changes
            );
        }
    }

    #[test]
    fn truncation_is_reported_as_unreadable() {
        let signed = sign(&simple_pdf(), "Signature1", false);
        for cut in [signed.len() / 2, signed.len() - 40] {
            match verify_bytes(&signed[..cut], &trusted()) {
                Err(_) => {}
                Ok(r) => assert_ne!(r.verdict, Verdict::Valid, "cut at {cut}"),
            }
        }
    }

    /// Signs `simple_pdf` at a long-term level with a local TSA and the development CRLs.
    fn long_term(signer: &dyn crate::signer::Signer, level: crate::sign::Level) -> Vec<u8> {
        let opts = SignOptions {
            field_name: Some("Signature1".into()),
            level,
            tsa_url: Some(crate::tsa::tests::spawn_http_tsa()),
            revocation: RevocationSource::Offline(vec![dev("issuing-ca.crl"), dev("root-ca.crl")]),
            ..SignOptions::default()
        };
        sign_bytes(&simple_pdf(), signer, &opts).unwrap().0
    }

    #[test]
    fn long_term_levels_are_recognised() {
        let bt = long_term(&rsa_signer(), crate::sign::Level::BT);
        let report = verify_bytes(&bt, &trusted()).unwrap();
        let s = &report.signatures[0];
        assert_eq!(report.verdict, Verdict::Valid, "{}", report.to_json());
        assert_eq!(s.level, Some(PadesLevel::BT));
        assert!(s.timestamp_time.is_some());
        assert_eq!(s.validation_time, s.timestamp_time.clone().unwrap());

        let lta = long_term(&rsa_signer(), crate::sign::Level::BLTA);
        let report = verify_bytes(&lta, &trusted()).unwrap();
        assert_eq!(report.verdict, Verdict::Valid, "{}", report.to_json());
        let s = &report.signatures[0];
        assert_eq!(s.level, Some(PadesLevel::BLTA), "{}", report.to_json());
        assert_eq!(s.revocation, RevocationSummary::Good);
        assert_eq!(
            s.modification,
            ModificationLevel::LtaUpdates,
            "{:?}",
            s.changes
        );
        assert_eq!(report.signatures[1].kind, SignatureKind::DocumentTimestamp);
        assert!(report.signatures[1].trusted);
    }

    #[test]
    fn revoked_signer_is_untrusted_with_a_proven_time() {
        let revoked =
            Pkcs12Signer::from_file(&dev("revoked.p12"), "vanthu-dev", SignerOptions::default())
                .unwrap();
        // Signing refuses B-LT with a revoked chain, so the DSS is added to a B-T signature.
        let mut signed = long_term(&revoked, crate::sign::Level::BT);
        let dss = {
            let reader = Reader::new(signed.as_slice()).unwrap();
            let source = RevocationSource::Offline(vec![dev("issuing-ca.crl"), dev("root-ca.crl")]);
            crate::ltv::dss_update(&reader, &source).unwrap().unwrap()
        };
        signed.extend_from_slice(&dss);
        let report = verify_bytes(&signed, &trusted()).unwrap();
        assert_eq!(report.verdict, Verdict::Untrusted, "{}", report.to_json());
        let s = &report.signatures[0];
        assert!(s.intact);
        assert_eq!(s.revocation, RevocationSummary::Revoked);
        assert_eq!(
            (s.indication, s.sub_indication),
            (Indication::TotalFailed, Some(SubIndication::Revoked))
        );
    }

    #[test]
    fn damaged_signature_containers_and_byte_ranges_never_pass() {
        let signed = long_term(&rsa_signer(), crate::sign::Level::BT);
        let after = |key: &[u8], open: u8| {
            let k = signed.windows(key.len()).position(|w| w == key).unwrap();
            k + signed[k..].iter().position(|b| *b == open).unwrap() + 1
        };
        let br = after(b"/ByteRange", b'[');
        let numbers: Vec<usize> = String::from_utf8_lossy(&signed[br..br + 60])
            .split(']')
            .next()
            .unwrap()
            .split_whitespace()
            .map(|n| n.parse().unwrap())
            .collect();
        let (start, gap_len) = (numbers[1] + 1, numbers[2] - numbers[1] - 2);
        // Only the DER itself: the zero padding after it is outside every signature by design.
        let der = hex::decode(&signed[start..start + gap_len]).unwrap();
        let der = cms::trim_der(&der).unwrap().to_vec();
        // Regions every verifier must protect: signed attributes, signature value, signer's
        // certificate. Elsewhere (version numbers, unsigned attributes, redundant certificate
        // copies) a change may legitimately go unnoticed, but must never crash the verifier.
        let parsed = ParsedSignedData::parse(&der).unwrap();
        let locate = |part: &[u8]| {
            let at = der.windows(part.len()).position(|w| w == part).unwrap();
            at..at + part.len()
        };
        let attrs = parsed.signer.signed_attrs_der.clone().unwrap();
        let protected = [
            locate(&attrs[1..]),
            locate(&parsed.signer.signature),
            locate(parsed.signer_certificate().unwrap()),
        ];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut caught = 0;
        for _ in 0..300 {
            let mut bad = signed.clone();
            let byte = next() as usize % der.len();
            let at = start + byte * 2 + (next() as usize % 2);
            let digit = b"0123456789ABCDEF"[next() as usize % 16];
            if bad[at].eq_ignore_ascii_case(&digit) {
                continue;
            }
            bad[at] = digit;
            let report = verify_bytes(&bad, &trusted()).unwrap();
            if protected.iter().any(|r| r.contains(&byte)) {
                assert_ne!(
                    report.verdict,
                    Verdict::Valid,
                    "DER byte {byte} changed unnoticed"
                );
                caught += 1;
            }
        }
        assert!(caught > 50, "the protected regions were hit {caught} times");
        // Same-length rewrites of the /ByteRange numbers.
        for _ in 0..60 {
            let mut bad = signed.clone();
            let at = br + next() as usize % 30;
            if !bad[at].is_ascii_digit() {
                continue;
            }
            let digit = b'0' + (next() % 10) as u8;
            if bad[at] == digit {
                continue;
            }
            bad[at] = digit;
            if let Ok(report) = verify_bytes(&bad, &trusted()) {
                assert_ne!(
                    report.verdict,
                    Verdict::Valid,
                    "ByteRange byte {at} changed"
                );
            }
        }
    }

    #[test]
    fn ecdsa_p384_signature_verifies() {
        let signer = Pkcs12Signer::from_file(
            &dev("signer-ec384.p12"),
            "vanthu-dev",
            SignerOptions::default(),
        )
        .unwrap();
        let opts = SignOptions {
            field_name: Some("S".into()),
            ..SignOptions::default()
        };
        let signed = sign_bytes(&simple_pdf(), &signer, &opts).unwrap().0;
        let report = verify_bytes(&signed, &trusted()).unwrap();
        assert_eq!(report.verdict, Verdict::Valid, "{}", report.to_json());
        assert_eq!(
            report.signatures[0].digest_algorithm.as_deref(),
            Some("sha384")
        );
    }
}
