//! Certificate helpers shared by signing, CMS, trust and revocation: parsing DER (with a
//! process-wide cache) and PEM bundles, names compared by RFC 5280 rules and shown as text,
//! and whether one certificate issued another.

use openssl::x509::{X509NameRef, X509};
use x509_parser::prelude::FromDer;

use crate::memo::Memo;

/// Most certificates [`parse_certificate`] keeps parsed; the cache starts over when full.
const MAX_CACHED_CERTIFICATES: usize = 1024;

/// Parses a DER certificate, reusing the parse of identical DER seen earlier in the process.
///
/// OpenSSL 3 decodes the public key of every certificate it reads through its provider
/// decoders, which costs more than the rest of verifying a small signed PDF, and the same
/// signer and CA certificates come back document after document. Parsed certificates are
/// immutable and reference-counted, so sharing them changes nothing but the time taken.
pub fn parse_certificate(der: &[u8]) -> Option<X509> {
    static PARSED: Memo<Vec<u8>, X509> = Memo::new(MAX_CACHED_CERTIFICATES);
    PARSED.get_or_try(der, || X509::from_der(der)).ok()
}

/// Parses a PEM bundle or a single DER certificate held in memory.
pub fn parse_certificates(bytes: &[u8]) -> Result<Vec<X509>, &'static str> {
    if bytes.windows(11).any(|w| w == b"-----BEGIN ") {
        let certs =
            X509::stack_from_pem(bytes).map_err(|_| "not a valid PEM certificate bundle")?;
        if certs.is_empty() {
            return Err("no certificate in the PEM file");
        }
        Ok(certs)
    } else {
        X509::from_der(bytes)
            .map(|c| vec![c])
            .map_err(|_| "neither PEM nor DER certificate")
    }
}

/// The same name: by RFC 5280 rules ([`names_match`]) or by OpenSSL's own
/// comparison, which path building uses.
pub fn names_equal(a: &X509NameRef, b: &X509NameRef) -> bool {
    match (a.to_der(), b.to_der()) {
        (Ok(x), Ok(y)) if names_match(&x, &y) => true,
        _ => a.try_cmp(b).map(|o| o.is_eq()).unwrap_or(false),
    }
}

/// Subject equals issuer.
pub fn is_self_issued(cert: &X509) -> bool {
    names_equal(cert.subject_name(), cert.issuer_name())
}

/// `cert` was issued by `issuer` (names match and the signature verifies).
pub fn issued_by(cert: &X509, issuer: &X509) -> bool {
    names_equal(cert.issuer_name(), issuer.subject_name())
        && issuer
            .public_key()
            .and_then(|k| cert.verify(&k))
            .unwrap_or(false)
}

/// Whether two DER-encoded Names are the same name by RFC 5280 §7.1: RDN by RDN, the
/// attributes of a multi-valued RDN in any order, string values compared after the
/// preparation of RFC 4518 (any directory string type, Unicode compatibility normalisation,
/// case folding, leading, trailing and repeated inner spaces insignificant). Issuers that
/// re-encode a name (PrintableString for UTF8String, upper case, a doubled space) still name
/// the same certificate. Values of other types compare byte for byte.
pub fn names_match(a: &[u8], b: &[u8]) -> bool {
    if a == b {
        return true;
    }
    match (prepared_name(a), prepared_name(b)) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

/// An attribute value ready for comparison.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum PreparedValue {
    /// A directory string after RFC 4518 preparation.
    Text(String),
    /// Anything else: its tag and content.
    Raw(u32, Vec<u8>),
}

/// A Name as RDNs, each a sorted list of (attribute type, prepared value).
type PreparedName = Vec<Vec<(String, PreparedValue)>>;

fn prepared_name(der: &[u8]) -> Option<PreparedName> {
    let (rest, name) = x509_parser::x509::X509Name::from_der(der).ok()?;
    if !rest.is_empty() {
        return None;
    }
    Some(
        name.iter()
            .map(|rdn| {
                let mut avas: Vec<(String, PreparedValue)> = rdn
                    .iter()
                    .map(|ava| {
                        let value = ava.attr_value();
                        let tag = value.tag().0;
                        let prepared = directory_string(tag, value.data)
                            .map(|t| PreparedValue::Text(prepare_string(&t)))
                            .unwrap_or_else(|| PreparedValue::Raw(tag, value.data.to_vec()));
                        (ava.attr_type().to_id_string(), prepared)
                    })
                    .collect();
                avas.sort();
                avas
            })
            .collect(),
    )
}

/// The text of a DirectoryString (or IA5String, as emailAddress uses), by its tag.
fn directory_string(tag: u32, data: &[u8]) -> Option<String> {
    match tag {
        // UTF8String, NumericString, PrintableString, IA5String, VisibleString.
        12 | 18 | 19 | 22 | 26 => String::from_utf8(data.to_vec()).ok(),
        // TeletexString: read as Latin-1, as the issuers that still use it mean it.
        20 => Some(data.iter().map(|b| char::from(*b)).collect()),
        // BMPString: UTF-16 big-endian.
        30 if data.len().is_multiple_of(2) => char::decode_utf16(
            data.chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]])),
        )
        .collect::<Result<String, _>>()
        .ok(),
        // UniversalString: UTF-32 big-endian.
        28 if data.len().is_multiple_of(4) => data
            .chunks_exact(4)
            .map(|c| char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
            .collect(),
        _ => None,
    }
}

/// RFC 4518 string preparation, as far as names in certificates need it: NFKC, case folding
/// and insignificant spaces.
fn prepare_string(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let folded: String = text.nfkc().collect::<String>().to_lowercase();
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A name as RFC 4514 text (most specific first), UTF-8 values kept as they are.
pub fn display_name(name: &X509NameRef) -> String {
    let mut parts: Vec<String> = name
        .entries()
        .map(|e| {
            let key = e.object().nid().short_name().unwrap_or("?").to_string();
            let value = e.data().to_string().unwrap_or_default();
            format!("{key}={value}")
        })
        .collect();
    parts.reverse();
    parts.join(", ")
}

/// The subject's common name, or the whole subject when it has none.
pub fn subject_label(cert: &X509) -> String {
    cert.subject_name()
        .entries_by_nid(openssl::nid::Nid::COMMONNAME)
        .next()
        .and_then(|e| e.data().to_string().ok())
        .unwrap_or_else(|| display_name(cert.subject_name()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signer::tests::dev;

    fn cert(name: &str) -> X509 {
        X509::from_pem(&std::fs::read(dev(name)).unwrap()).unwrap()
    }

    #[test]
    fn parsed_certificates_are_reused_and_bad_der_is_refused() {
        let der = cert("signer-rsa.pem").to_der().unwrap();
        for _ in 0..2 {
            let parsed = parse_certificate(&der).unwrap();
            assert_eq!(parsed.to_der().unwrap(), der);
        }
        let other = cert("issuing-ca.pem").to_der().unwrap();
        assert_eq!(parse_certificate(&other).unwrap().to_der().unwrap(), other);
        assert!(parse_certificate(&der[..der.len() - 1]).is_none());
        assert!(parse_certificate(b"not a certificate").is_none());
        assert!(parse_certificate(&[]).is_none());
    }

    fn name(entries: &[(&str, &str, openssl::asn1::Asn1Type)]) -> Vec<u8> {
        let mut b = openssl::x509::X509NameBuilder::new().unwrap();
        for (field, value, ty) in entries {
            b.append_entry_by_text_with_type(field, value, *ty).unwrap();
        }
        b.build().to_der().unwrap()
    }

    #[test]
    fn names_compare_by_rfc_5280_rules() {
        use openssl::asn1::Asn1Type;
        let (utf8, printable) = (Asn1Type::UTF8STRING, Asn1Type::PRINTABLESTRING);
        let reference = name(&[
            ("C", "VN", printable),
            ("O", "Sở Nội vụ", utf8),
            ("CN", "Vanthu Name Test CA", utf8),
        ]);
        let same = [
            // String type, case, inner and outer spaces.
            name(&[
                ("C", "VN", utf8),
                ("O", "Sở Nội vụ", utf8),
                ("CN", " VANTHU  NAME test CA ", printable),
            ]),
            // Vietnamese letters in another case and decomposed (NFD).
            name(&[
                ("C", "vn", printable),
                ("O", "SO\u{31b}\u{309} NO\u{323}\u{302}I VU\u{323}", utf8),
                ("CN", "vanthu name test ca", utf8),
            ]),
        ];
        for other in &same {
            assert!(names_match(&reference, other));
            assert!(names_match(other, &reference));
        }
        let different = [
            name(&[
                ("C", "VN", printable),
                ("O", "Sở Nội vụ", utf8),
                ("CN", "Vanthu Name Test CA 2", utf8),
            ]),
            // The same values under other attribute types.
            name(&[
                ("C", "VN", printable),
                ("OU", "Sở Nội vụ", utf8),
                ("CN", "Vanthu Name Test CA", utf8),
            ]),
            // One RDN fewer, or in another order.
            name(&[("C", "VN", printable), ("CN", "Vanthu Name Test CA", utf8)]),
            name(&[
                ("O", "Sở Nội vụ", utf8),
                ("C", "VN", printable),
                ("CN", "Vanthu Name Test CA", utf8),
            ]),
        ];
        for other in &different {
            assert!(!names_match(&reference, other));
        }
        assert!(!names_match(&reference, b"not a name"));
    }

    #[test]
    fn issuers_are_recognised_by_name_and_signature() {
        let (signer, ca, root) = (
            cert("signer-rsa.pem"),
            cert("issuing-ca.pem"),
            cert("root-ca.pem"),
        );
        assert!(issued_by(&signer, &ca));
        assert!(issued_by(&ca, &root));
        assert!(!issued_by(&signer, &root));
        assert!(!issued_by(&ca, &signer));
        assert!(is_self_issued(&root));
        assert!(!is_self_issued(&signer));
        assert!(names_equal(signer.issuer_name(), ca.subject_name()));
        assert!(!names_equal(signer.subject_name(), ca.subject_name()));
    }

    #[test]
    fn names_read_as_text() {
        assert_eq!(subject_label(&cert("signer-rsa.pem")), "Nguyễn Văn An");
        assert_eq!(
            display_name(cert("seal.pem").subject_name()),
            "CN=UBND huyện Demo, O=UBND huyện Demo, C=VN"
        );
    }

    #[test]
    fn bundles_and_single_certificates_parse() {
        let pem = std::fs::read(dev("chain.pem")).unwrap();
        assert_eq!(parse_certificates(&pem).unwrap().len(), 2);
        let der = cert("root-ca.pem").to_der().unwrap();
        assert_eq!(parse_certificates(&der).unwrap().len(), 1);
        assert!(parse_certificates(b"-----BEGIN CERTIFICATE-----\nno\n").is_err());
        assert!(parse_certificates(b"neither").is_err());
    }
}
