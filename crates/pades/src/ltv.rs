//! Long-term validation data: the /DSS (ISO 32000-2 §12.8.4.3, ETSI EN 319 142-1 §5.4) with the
//! certificates and revocation data of every signature and time-stamp in the document, each
//! item once, written in its own incremental update.

use std::collections::HashSet;

use crate::cms::{CmsError, ParsedSignedData};
use crate::pdf::{Dictionary, IncrementalUpdate, Object, PdfError, Reader, Source, Stream};
use crate::revocation::{self, Collection, Collector, RevocationError, ValidationData};
use crate::trust::{self, RevocationStatus, TrustAnchors};

/// Where revocation data comes from (online from the certificates' addresses, or files).
pub type RevocationMode = revocation::Source;

/// Why validation data could not be added.
#[derive(Debug, thiserror::Error)]
pub enum LtvError {
    /// The PDF could not be read or updated.
    #[error(transparent)]
    Pdf(#[from] PdfError),
    /// A signature's CMS could not be read.
    #[error(transparent)]
    Cms(#[from] CmsError),
    /// Revocation data could not be collected.
    #[error(transparent)]
    Revocation(#[from] RevocationError),
    /// Some certificates have no CRL or OCSP response.
    #[error("no revocation data (CRL or OCSP) found for: {}", .0.join("; "))]
    Missing(Vec<String>),
    /// The revocation data says a certificate of the new signature's chain is revoked.
    #[error("the certificate of {subject} was revoked on {time} (according to its {by}): a signature made with it is not valid")]
    Revoked {
        /// Subject of the revoked certificate.
        subject: String,
        /// When it was revoked (UTC).
        time: String,
        /// "crl" or "ocsp".
        by: &'static str,
    },
}

/// Certificates of every signature and time-stamp in the document (signers, chains, TSAs).
pub fn document_certificates<S: Source>(reader: &Reader<S>) -> Result<Vec<Vec<u8>>, LtvError> {
    let mut certs: Vec<Vec<u8>> = Vec::new();
    let add = |list: Vec<Vec<u8>>, certs: &mut Vec<Vec<u8>>| {
        for c in list {
            if !certs.contains(&c) {
                certs.push(c);
            }
        }
    };
    for field in crate::sign::signature_fields(reader)? {
        let Some(v) = field.dict.get("V") else {
            continue;
        };
        let sig = reader.resolve_dict(v)?;
        let Some(contents) = sig.get("Contents").and_then(Object::as_string) else {
            continue;
        };
        let parsed = ParsedSignedData::parse(&contents.bytes)?;
        add(parsed.certificates.clone(), &mut certs);
        for token in &parsed.signer.timestamp_tokens {
            add(ParsedSignedData::parse(token)?.certificates, &mut certs);
        }
    }
    Ok(certs)
}

/// Collects validation data for the document's signatures and returns the update adding what
/// the DSS lacks, or `None` when it already holds everything.
pub fn dss_update<S: Source>(
    reader: &Reader<S>,
    source: &RevocationMode,
) -> Result<Option<Vec<u8>>, LtvError> {
    let collection = collect(reader, source)?;
    write_dss(reader, &collection.data)
}

/// [`dss_update`] for a signature just made with `chain` (signer first): refused when the
/// collected data says one of its certificates is revoked now, since every validator would
/// reject that signature.
pub fn dss_update_for_new_signature<S: Source>(
    reader: &Reader<S>,
    source: &RevocationMode,
    chain: &[Vec<u8>],
) -> Result<Option<Vec<u8>>, LtvError> {
    let collection = collect(reader, source)?;
    refuse_revoked(chain, &collection.data)?;
    write_dss(reader, &collection.data)
}

/// Checks before signing that the signer's certificate and its issuers (`chain`, signer
/// first) are not revoked, by OCSP where a certificate names a responder, else by its CRLs,
/// from `source`. With `hard_fail`, a certificate without any revocation data refuses too;
/// without, only data that says "revoked" does.
pub fn refuse_revoked_signer(
    chain: &[Vec<u8>],
    source: &RevocationMode,
    hard_fail: bool,
) -> Result<(), LtvError> {
    let collection = Collector::new(source.clone())?.collect(chain)?;
    if hard_fail && !collection.missing.is_empty() {
        return Err(LtvError::Missing(collection.missing));
    }
    refuse_revoked(chain, &collection.data)
}

fn collect<S: Source>(reader: &Reader<S>, source: &RevocationMode) -> Result<Collection, LtvError> {
    let certs = document_certificates(reader)?;
    let collection = Collector::new(source.clone())?.collect(&certs)?;
    if !collection.missing.is_empty() {
        return Err(LtvError::Missing(collection.missing));
    }
    Ok(collection)
}

/// Errors when `data` says a certificate of `chain` (signer first) is revoked now.
fn refuse_revoked(chain: &[Vec<u8>], data: &ValidationData) -> Result<(), LtvError> {
    let mut rest: Vec<openssl::x509::X509> = chain
        .iter()
        .filter_map(|c| openssl::x509::X509::from_der(c).ok())
        .collect();
    // Put the chain in issuing order (signer, its issuer, ...), as the check expects, whatever
    // order the key file listed the issuers in.
    let mut chain = Vec::new();
    if !rest.is_empty() {
        chain.push(rest.remove(0));
    }
    while let Some(last) = chain.last() {
        let issuer = last.issuer_name_hash();
        if last.subject_name_hash() == issuer {
            break;
        }
        match rest.iter().position(|c| c.subject_name_hash() == issuer) {
            Some(i) => chain.push(rest.remove(i)),
            None => break,
        }
    }
    // OCSP responses are checked against the chain's own root: no trust decision is made
    // here, only whether the data at hand revokes the key.
    let mut anchors = TrustAnchors::empty();
    for c in chain
        .iter()
        .filter(|c| c.issuer_name_hash() == c.subject_name_hash())
    {
        anchors.add(c.clone());
    }
    let now = chrono::Utc::now();
    for r in trust::check_revocation(&chain, &anchors, &data.crls, &data.ocsps, now) {
        if let RevocationStatus::Revoked { time, source } = r.status {
            return Err(LtvError::Revoked {
                subject: r.subject,
                time: time.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
                by: source,
            });
        }
    }
    Ok(())
}

/// The update merging `data` into the document's DSS (items already present are not repeated);
/// `None` when nothing is new.
pub fn write_dss<S: Source>(
    reader: &Reader<S>,
    data: &ValidationData,
) -> Result<Option<Vec<u8>>, LtvError> {
    let (root_id, mut catalog) = reader.catalog()?;
    let (dss_id, mut dss) = match catalog.get("DSS") {
        Some(Object::Reference(id)) => (Some(*id), reader.resolve_dict(&Object::Reference(*id))?),
        Some(o) => (None, reader.resolve_dict(o)?),
        None => (None, Dictionary::new()),
    };
    let mut update = IncrementalUpdate::new(reader)?;
    let mut changed = false;
    for (key, items) in [
        ("Certs", &data.certs),
        ("CRLs", &data.crls),
        ("OCSPs", &data.ocsps),
    ] {
        let mut refs = match dss.get(key) {
            Some(a) => reader.resolve(a)?.as_array().cloned().unwrap_or_default(),
            None => Vec::new(),
        };
        let mut present = HashSet::new();
        for r in &refs {
            if let Object::Stream(s) = reader.resolve(r)? {
                present.insert(reader.decode_stream(&s)?);
            }
        }
        for item in items {
            if present.insert(item.clone()) {
                let mut dict = Dictionary::new();
                dict.set("Filter", Object::name("FlateDecode"));
                let id = update.add(Stream {
                    dict,
                    data: deflate(item),
                });
                refs.push(Object::Reference(id));
                changed = true;
            }
        }
        if !refs.is_empty() {
            dss.set(key, refs);
        }
    }
    if !changed {
        return Ok(None);
    }
    dss.set("Type", Object::name("DSS"));
    match dss_id {
        Some(id) => update.set(id, dss),
        None => {
            let id = update.add(dss);
            catalog.set("DSS", id);
            update.set(root_id, catalog);
        }
    }
    Ok(Some(update.write()?.bytes))
}

fn deflate(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing into a Vec cannot fail.
    let _ = e.write_all(data);
    e.finish().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pdf::testing::simple_pdf;
    use crate::sign::{sign_bytes, SignOptions};
    use crate::signer::tests::rsa_signer;
    use crate::signer::Signer;

    #[test]
    fn a_revoked_signing_certificate_is_refused() {
        let der = |name: &str| {
            openssl::x509::X509::from_pem(&std::fs::read(crate::signer::tests::dev(name)).unwrap())
                .unwrap()
                .to_der()
                .unwrap()
        };
        let data = ValidationData {
            crls: vec![
                std::fs::read(crate::signer::tests::dev("issuing-ca.crl")).unwrap(),
                std::fs::read(crate::signer::tests::dev("root-ca.crl")).unwrap(),
            ],
            ..ValidationData::default()
        };
        // Issuers listed root first: the order does not matter.
        let revoked = [
            der("revoked.pem"),
            der("root-ca.pem"),
            der("issuing-ca.pem"),
        ];
        let err = refuse_revoked(&revoked, &data).unwrap_err();
        assert!(matches!(err, LtvError::Revoked { by: "crl", .. }), "{err}");
        let good = [
            der("signer-rsa.pem"),
            der("root-ca.pem"),
            der("issuing-ca.pem"),
        ];
        refuse_revoked(&good, &data).unwrap();
    }

    #[test]
    fn dss_holds_each_item_once_and_repeats_nothing() {
        let signer = rsa_signer();
        let (signed, _) = sign_bytes(&simple_pdf(), &signer, &SignOptions::default()).unwrap();
        let reader = Reader::new(signed.as_slice()).unwrap();
        let certs = document_certificates(&reader).unwrap();
        assert!(certs.iter().any(|c| c == signer.certificate()));
        let crl = std::fs::read(crate::signer::tests::dev("issuing-ca.crl")).unwrap();
        let data = ValidationData {
            certs: certs.clone(),
            crls: vec![crl.clone()],
            ocsps: Vec::new(),
        };
        let update = write_dss(&reader, &data).unwrap().expect("a DSS update");
        let mut with_dss = signed.clone();
        with_dss.extend_from_slice(&update);
        let reader = Reader::new(with_dss.as_slice()).unwrap();
        let (_, catalog) = reader.catalog().unwrap();
        let dss = reader.resolve_dict(catalog.get("DSS").unwrap()).unwrap();
        let listed = |key: &str| dss.get(key).unwrap().as_array().unwrap().len();
        assert_eq!(listed("Certs"), certs.len());
        assert_eq!(listed("CRLs"), 1);
        // Everything is already there: no second update.
        assert!(write_dss(&reader, &data).unwrap().is_none());
        // Only the new item is added the next time.
        let more = ValidationData {
            crls: vec![
                crl,
                std::fs::read(crate::signer::tests::dev("root-ca.crl")).unwrap(),
            ],
            ..ValidationData::default()
        };
        let update = write_dss(&reader, &more).unwrap().expect("a DSS update");
        with_dss.extend_from_slice(&update);
        let reader = Reader::new(with_dss.as_slice()).unwrap();
        let (_, catalog) = reader.catalog().unwrap();
        let dss = reader.resolve_dict(catalog.get("DSS").unwrap()).unwrap();
        assert_eq!(dss.get("CRLs").unwrap().as_array().unwrap().len(), 2);
        assert_eq!(
            dss.get("Certs").unwrap().as_array().unwrap().len(),
            certs.len()
        );
    }
}
