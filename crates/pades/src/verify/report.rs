//! The verification report: per-signature facts, ETSI EN 319 102-1 indications, the file
//! verdict, and short summaries in Vietnamese and English.

use chrono::{DateTime, FixedOffset};
use serde::Serialize;

/// Offset of the times in the summaries: Indochina Time, the clerk's clock (UTC+07:00).
const SUMMARY_OFFSET_SECONDS: i32 = 7 * 3600;

/// A finding about a signature, worded for the clerk in both report languages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// English wording.
    pub en: String,
    /// Vietnamese wording.
    pub vi: String,
}

impl Note {
    /// A note from its English and Vietnamese wording.
    pub fn new(en: impl Into<String>, vi: impl Into<String>) -> Self {
        Self {
            en: en.into(),
            vi: vi.into(),
        }
    }
}

/// The file's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Every signature is intact, trusted and its later changes are allowed.
    Valid,
    /// No path to a trust anchor, revoked, or expired at signing time.
    Untrusted,
    /// Intact, but changed after signing beyond what its locks allow.
    Modified,
    /// A signature is broken (digest, signature value, ByteRange or structure).
    Invalid,
    /// No signature at all.
    Unsigned,
}

impl Verdict {
    /// The verdict as it appears in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Untrusted => "untrusted",
            Self::Modified => "modified",
            Self::Invalid => "invalid",
            Self::Unsigned => "unsigned",
        }
    }

    fn vi(self) -> &'static str {
        match self {
            Self::Valid => "hợp lệ",
            Self::Untrusted => "không tin cậy được",
            Self::Modified => "đã bị sửa đổi sau khi ký",
            Self::Invalid => "chữ ký không hợp lệ",
            Self::Unsigned => "không có chữ ký",
        }
    }
}

/// What the signature's /ByteRange covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Coverage {
    /// The whole file except /Contents.
    EntireFile,
    /// A whole earlier revision; later incremental updates follow.
    EntireRevision,
    /// Something else: the ByteRange leaves bytes out or ends mid-revision.
    Partial,
}

/// How the document changed after a signature, from harmless to fatal (pyHanko's scale).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ModificationLevel {
    /// Nothing changed.
    None,
    /// Only validation data (DSS) and document time-stamps were added.
    LtaUpdates,
    /// Form fields were filled in and signature fields added or signed.
    FormFilling,
    /// Annotations were added or changed.
    Annotations,
    /// Anything else: the earlier signature no longer vouches for what is shown.
    Other,
}

impl ModificationLevel {
    /// The level's name, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "NONE",
            Self::LtaUpdates => "LTA_UPDATES",
            Self::FormFilling => "FORM_FILLING",
            Self::Annotations => "ANNOTATIONS",
            Self::Other => "OTHER",
        }
    }
}

/// A change made after signing that the rules allow but that alters what the page shows:
/// the reader sees something the signer did not sign.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ShownChange {
    /// A form field was filled in or its appearance replaced.
    FieldFilled {
        /// Fully qualified field name.
        field: String,
    },
    /// An annotation now paints on a page.
    AnnotationAdded {
        /// The page number (from 1), when the page is known.
        page: Option<usize>,
    },
    /// An existing annotation or its appearance changed.
    AnnotationChanged,
    /// A new, unsigned signature field shows an appearance.
    SignatureFieldAdded {
        /// Fully qualified field name.
        field: String,
    },
    /// A field's appearance no longer shows its value (or the reverse).
    AppearanceMismatch {
        /// Fully qualified field name.
        field: String,
    },
    /// The form asks viewers to redraw every field from its value (/NeedAppearances).
    AppearancesRegenerated,
}

impl ShownChange {
    /// The change in English.
    pub fn english(&self) -> String {
        match self {
            Self::FieldFilled { field } => format!("field \"{field}\" was filled in"),
            Self::AnnotationAdded { page: Some(p) } => {
                format!("an annotation was added on page {p}")
            }
            Self::AnnotationAdded { page: None } => "an annotation was added".into(),
            Self::AnnotationChanged => "an annotation was changed".into(),
            Self::SignatureFieldAdded { field } => {
                format!("an unsigned signature field \"{field}\" with an appearance was added")
            }
            Self::AppearanceMismatch { field } => {
                format!("field \"{field}\" shows something other than its value")
            }
            Self::AppearancesRegenerated => {
                "the form asks viewers to redraw every field from its value".into()
            }
        }
    }

    /// The change in Vietnamese.
    pub fn vietnamese(&self) -> String {
        match self {
            Self::FieldFilled { field } => format!("trường \"{field}\" đã được điền"),
            Self::AnnotationAdded { page: Some(p) } => format!("đã thêm chú thích ở trang {p}"),
            Self::AnnotationAdded { page: None } => "đã thêm chú thích".into(),
            Self::AnnotationChanged => "một chú thích đã bị thay đổi".into(),
            Self::SignatureFieldAdded { field } => {
                format!("đã thêm trường chữ ký \"{field}\" chưa ký nhưng có hình hiển thị")
            }
            Self::AppearanceMismatch { field } => {
                format!("trường \"{field}\" hiển thị khác với giá trị của nó")
            }
            Self::AppearancesRegenerated => {
                "biểu mẫu yêu cầu trình xem vẽ lại mọi trường theo giá trị".into()
            }
        }
    }
}

/// PAdES baseline level (ETSI EN 319 142-1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum PadesLevel {
    /// Basic signature.
    #[serde(rename = "B-B")]
    BB,
    /// With a trusted time (signature or document time-stamp).
    #[serde(rename = "B-T")]
    BT,
    /// With validation data for the whole chain in the DSS.
    #[serde(rename = "B-LT")]
    BLT,
    /// With a document time-stamp over the validation data.
    #[serde(rename = "B-LTA")]
    BLTA,
}

impl PadesLevel {
    /// The level's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BB => "B-B",
            Self::BT => "B-T",
            Self::BLT => "B-LT",
            Self::BLTA => "B-LTA",
        }
    }
}

/// ETSI EN 319 102-1 main indication.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Indication {
    /// All checks passed.
    #[serde(rename = "TOTAL-PASSED")]
    TotalPassed,
    /// A check failed for certain.
    #[serde(rename = "TOTAL-FAILED")]
    TotalFailed,
    /// The checks could not conclude.
    #[serde(rename = "INDETERMINATE")]
    Indeterminate,
}

/// ETSI EN 319 102-1 sub-indications used by this verifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SubIndication {
    /// The signature structure or ByteRange is malformed.
    FormatFailure,
    /// The signed data's digest does not match.
    HashFailure,
    /// The signature value does not verify.
    SigCryptoFailure,
    /// The signing certificate was revoked before the proven signing time.
    Revoked,
    /// The signing certificate had expired at the proven signing time.
    Expired,
    /// The signing certificate was not yet valid at the signing time.
    NotYetValid,
    /// The document was changed beyond what the signature allows.
    SigConstraintsFailure,
    /// An algorithm is not accepted.
    CryptoConstraintsFailure,
    /// No path to a trust anchor.
    NoCertificateChainFound,
    /// The path failed for another reason.
    CertificateChainGeneralFailure,
    /// Revoked, without proof the signature existed before.
    RevokedNoPoe,
    /// Outside the certificate's validity, without proof of existence in it.
    OutOfBoundsNoPoe,
    /// The signing certificate is missing or not the one the signature names.
    NoSigningCertificateFound,
}

/// What a signature is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SignatureKind {
    /// An approval signature.
    Approval,
    /// A certification signature (DocMDP).
    Certification,
    /// A document time-stamp (/Type /DocTimeStamp).
    DocumentTimestamp,
}

/// Revocation status summary for a signature's chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RevocationSummary {
    /// Every certificate of the chain is known good.
    Good,
    /// A certificate of the chain is revoked at the signing time.
    Revoked,
    /// Some certificate has no usable revocation data (soft-fail: does not block validity).
    Unknown,
    /// No chain to check.
    NotChecked,
}

/// Everything found about one signature.
#[derive(Clone, Debug, Serialize)]
pub struct SignatureReport {
    /// Fully qualified field name.
    pub field: String,
    /// Approval, certification or document time-stamp.
    pub kind: SignatureKind,
    /// /SubFilter.
    pub sub_filter: Option<String>,
    /// Signer's common name (the TSA's for document time-stamps).
    pub signer: Option<String>,
    /// Signer's full subject.
    pub signer_subject: Option<String>,
    /// Issuer of the signer's certificate.
    pub issuer: Option<String>,
    /// Digest and signature values verify and the ByteRange is sound.
    pub intact: bool,
    /// The signer's certificate chains to a trust anchor, valid and not revoked at the
    /// validation time.
    pub trusted: bool,
    /// The trust list (trust domain, e.g. `public` or `government`) whose anchor ended the
    /// signer's path, when trusted through an anchor given in a named list.
    pub trust_domain: Option<String>,
    /// What the ByteRange covers.
    pub coverage: Option<Coverage>,
    /// Worst change made after this signature.
    pub modification: ModificationLevel,
    /// The changes behind `modification` (rule and object), most severe first.
    pub changes: Vec<String>,
    /// Allowed changes after signing that alter what the page shows.
    pub visible_changes: Vec<ShownChange>,
    /// Later changes are within the document's DocMDP permission (or, without one, not OTHER).
    pub docmdp_ok: bool,
    /// PAdES baseline level reached.
    pub level: Option<PadesLevel>,
    /// Claimed signing time (/M), RFC 3339.
    pub signing_time: Option<String>,
    /// Time from a signature time-stamp whose authority is trusted (the document time-stamp's
    /// own time for those).
    pub timestamp_time: Option<String>,
    /// The time at which certificates were judged.
    pub validation_time: String,
    /// Revocation status of the signer's chain.
    pub revocation: RevocationSummary,
    /// Digest algorithm.
    pub digest_algorithm: Option<String>,
    /// /Reason, when given.
    pub reason: Option<String>,
    /// The /ByteRange as found.
    pub byte_range: Option<Vec<i64>>,
    /// ETSI main indication.
    pub indication: Indication,
    /// ETSI sub-indication, absent when TOTAL-PASSED.
    pub sub_indication: Option<SubIndication>,
    /// This signature's own status on the verdict scale.
    pub status: Verdict,
    /// Human-readable problems found, for the clerk, in English.
    pub problems: Vec<String>,
    /// The same problems in Vietnamese, in the same order.
    pub problems_vi: Vec<String>,
}

/// Counts of the document security store's content.
#[derive(Clone, Debug, Default, Serialize)]
pub struct DssSummary {
    /// Certificates.
    pub certs: usize,
    /// CRLs.
    pub crls: usize,
    /// OCSP responses.
    pub ocsps: usize,
}

/// The whole report.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// `valid`, `invalid`, `modified`, `untrusted` or `unsigned`.
    pub verdict: Verdict,
    /// Signatures in signing order.
    pub signatures: Vec<SignatureReport>,
    /// DocMDP permission of the certification signature (1, 2 or 3).
    pub docmdp_permission: Option<u8>,
    /// The /DSS, when present.
    pub dss: Option<DssSummary>,
    /// Number of revisions.
    pub revisions: usize,
    /// Short summary in Vietnamese.
    pub summary_vi: String,
    /// Short summary in English.
    pub summary_en: String,
}

impl Report {
    /// Assembles the report and its verdict from the signatures.
    pub fn new(
        signatures: Vec<SignatureReport>,
        docmdp_permission: Option<u8>,
        dss: Option<DssSummary>,
        revisions: usize,
    ) -> Self {
        let verdict = file_verdict(&signatures);
        let mut report = Report {
            verdict,
            signatures,
            docmdp_permission,
            dss,
            revisions,
            summary_vi: String::new(),
            summary_en: String::new(),
        };
        report.summary_en = report.text(&ENGLISH);
        report.summary_vi = report.text(&VIETNAMESE);
        report
    }

    /// The JSON form.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".into())
    }

    /// The short summary in one language. Each signature's first problem is quoted in the
    /// language of the summary, so both summaries carry the same warnings; times are shown
    /// in +07:00.
    fn text(&self, w: &Wording) -> String {
        let mut s = format!("{}: {}.", w.conclusion, (w.verdict)(self.verdict));
        if self.signatures.is_empty() {
            s.push_str(&format!(" {}", w.no_signatures));
        }
        for (i, sig) in self.signatures.iter().enumerate() {
            let who = sig.signer.as_deref().unwrap_or(w.unknown_signer);
            let what = match sig.kind {
                SignatureKind::DocumentTimestamp => w.document_timestamp,
                SignatureKind::Certification => w.certification,
                SignatureKind::Approval => w.approval,
            };
            let intact = if sig.intact { w.intact } else { w.broken };
            let trusted = if sig.trusted { w.trusted } else { w.untrusted };
            s.push_str(&format!(
                "\n{}. {what} \"{}\" {} {who}: {intact}, {trusted}",
                i + 1,
                sig.field,
                w.by,
            ));
            if let Some(domain) = sig.trust_domain.as_deref().filter(|_| sig.trusted) {
                s.push_str(&format!(" ({} {domain})", w.trust_list));
            }
            let changes = match sig.modification {
                ModificationLevel::None => w.changes[0],
                ModificationLevel::LtaUpdates => w.changes[1],
                ModificationLevel::FormFilling => w.changes[2],
                ModificationLevel::Annotations => w.changes[3],
                ModificationLevel::Other => w.changes[4],
            };
            s.push_str(&format!(", {changes}"));
            if let Some(l) = sig.level {
                s.push_str(&format!(", PAdES {}", l.as_str()));
            }
            if let Some(t) = sig
                .timestamp_time
                .as_deref()
                .or(sig.signing_time.as_deref())
            {
                s.push_str(&format!(", {} {}", w.time, summary_time(t)));
            }
            s.push_str(&format!(" — {}.", (w.verdict)(sig.status)));
            if !sig.visible_changes.is_empty() {
                let list: Vec<String> = sig.visible_changes.iter().map(w.shown).collect();
                s.push_str(&format!(" {}: {}.", w.shown_warning, list.join("; ")));
            }
            if let Some(p) = (w.problems)(sig).first() {
                s.push_str(&format!(" {p}."));
            }
        }
        s
    }
}

/// The words of the text summary in one language.
struct Wording {
    conclusion: &'static str,
    verdict: fn(Verdict) -> &'static str,
    no_signatures: &'static str,
    unknown_signer: &'static str,
    document_timestamp: &'static str,
    certification: &'static str,
    approval: &'static str,
    by: &'static str,
    intact: &'static str,
    broken: &'static str,
    trusted: &'static str,
    untrusted: &'static str,
    /// Before the name of the trust list a trusted path ended in.
    trust_list: &'static str,
    /// None, LTA updates, form filling, annotations, other.
    changes: [&'static str; 5],
    time: &'static str,
    /// The signature's problems worded in this language.
    problems: fn(&SignatureReport) -> &[String],
    /// Leads the list of allowed changes that alter what the page shows.
    shown_warning: &'static str,
    shown: fn(&ShownChange) -> String,
}

const ENGLISH: Wording = Wording {
    conclusion: "Verdict",
    verdict: Verdict::as_str,
    no_signatures: "The file has no signatures.",
    unknown_signer: "unknown signer",
    document_timestamp: "document time-stamp",
    certification: "certification signature",
    approval: "signature",
    by: "by",
    intact: "intact",
    broken: "BROKEN",
    trusted: "trusted",
    untrusted: "not trusted",
    trust_list: "trust list",
    changes: [
        "no changes after signing",
        "only validation data added after signing",
        "form filled or signed after signing",
        "annotations changed after signing",
        "CONTENT CHANGED after signing",
    ],
    time: "time",
    problems: |s| &s.problems,
    shown_warning: "Warning: the page now shows what the signer did not sign",
    shown: ShownChange::english,
};

const VIETNAMESE: Wording = Wording {
    conclusion: "Kết luận",
    verdict: Verdict::vi,
    no_signatures: "Tệp không có chữ ký số nào.",
    unknown_signer: "không rõ người ký",
    document_timestamp: "dấu thời gian tài liệu",
    certification: "chữ ký chứng nhận",
    approval: "chữ ký",
    by: "của",
    intact: "nguyên vẹn",
    broken: "BỊ HỎNG",
    trusted: "chứng thư tin cậy",
    untrusted: "chứng thư không tin cậy",
    trust_list: "danh sách tin cậy",
    changes: [
        "không thay đổi sau khi ký",
        "chỉ bổ sung dữ liệu kiểm tra hiệu lực",
        "chỉ điền biểu mẫu hoặc ký thêm",
        "có thay đổi chú thích",
        "NỘI DUNG ĐÃ BỊ THAY ĐỔI sau khi ký",
    ],
    time: "thời điểm",
    problems: |s| &s.problems_vi,
    shown_warning: "Cảnh báo: trang hiện hiển thị nội dung mà người ký không ký",
    shown: ShownChange::vietnamese,
};

/// An RFC 3339 time as shown in the summaries: in +07:00, whatever offset it was recorded in
/// (time-stamps are UTC, /M carries the signer's offset). Text that is not RFC 3339 is shown
/// as it is.
fn summary_time(t: &str) -> String {
    match (
        DateTime::parse_from_rfc3339(t),
        FixedOffset::east_opt(SUMMARY_OFFSET_SECONDS),
    ) {
        (Ok(time), Some(offset)) => time
            .with_timezone(&offset)
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
        _ => t.to_string(),
    }
}

/// The worst signature status wins; no signatures means unsigned.
fn file_verdict(signatures: &[SignatureReport]) -> Verdict {
    signatures
        .iter()
        .map(|s| s.status)
        .max()
        .unwrap_or(Verdict::Unsigned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sig(status: Verdict) -> SignatureReport {
        SignatureReport {
            field: "Signature1".into(),
            kind: SignatureKind::Approval,
            sub_filter: Some("ETSI.CAdES.detached".into()),
            signer: Some("Nguyễn Văn An".into()),
            signer_subject: None,
            issuer: None,
            intact: status != Verdict::Invalid,
            trusted: status == Verdict::Valid,
            trust_domain: (status == Verdict::Valid).then(|| "government".into()),
            coverage: Some(Coverage::EntireFile),
            modification: ModificationLevel::None,
            changes: vec![],
            visible_changes: vec![],
            docmdp_ok: true,
            level: Some(PadesLevel::BT),
            signing_time: Some("2026-01-01T00:00:00+07:00".into()),
            timestamp_time: None,
            validation_time: "2026-01-01T00:00:00Z".into(),
            revocation: RevocationSummary::Good,
            digest_algorithm: Some("sha256".into()),
            reason: None,
            byte_range: None,
            indication: Indication::TotalPassed,
            sub_indication: None,
            status,
            problems: vec![],
            problems_vi: vec![],
        }
    }

    #[test]
    fn worst_status_decides_and_json_uses_contract_names() {
        assert_eq!(
            Report::new(vec![], None, None, 1).verdict,
            Verdict::Unsigned
        );
        let r = Report::new(
            vec![sig(Verdict::Valid), sig(Verdict::Untrusted)],
            None,
            None,
            2,
        );
        assert_eq!(r.verdict, Verdict::Untrusted);
        let r = Report::new(
            vec![sig(Verdict::Modified), sig(Verdict::Invalid)],
            None,
            None,
            2,
        );
        assert_eq!(r.verdict, Verdict::Invalid);
        let json: serde_json::Value =
            serde_json::from_str(&Report::new(vec![sig(Verdict::Valid)], None, None, 1).to_json())
                .unwrap();
        assert_eq!(json["verdict"], "valid");
        let s = &json["signatures"][0];
        for key in [
            "field",
            "signer",
            "intact",
            "trusted",
            "coverage",
            "modification",
            "level",
            "signing_time",
            "timestamp_time",
            "indication",
            "sub_indication",
        ] {
            assert!(s.get(key).is_some(), "missing {key}");
        }
        assert_eq!(s["level"], "B-T");
        assert_eq!(s["indication"], "TOTAL-PASSED");
        assert_eq!(s["modification"], "NONE");
        assert_eq!(s["coverage"], "ENTIRE_FILE");
        assert!(json["summary_vi"]
            .as_str()
            .unwrap()
            .contains("Nguyễn Văn An"));
        assert!(json["summary_vi"]
            .as_str()
            .unwrap()
            .starts_with("Kết luận: hợp lệ"));
        assert_eq!(s["trust_domain"], "government");
        assert!(json["summary_vi"]
            .as_str()
            .unwrap()
            .contains("chứng thư tin cậy (danh sách tin cậy government)"));
        assert!(json["summary_en"]
            .as_str()
            .unwrap()
            .contains("trusted (trust list government)"));
    }
}
