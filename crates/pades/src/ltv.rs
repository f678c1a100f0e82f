//! Long-term validation data: the /DSS (ISO 32000-2 §12.8.4.3, ETSI EN 319 142-1 §5.4) with the
//! certificates and revocation data of every signature and time-stamp in the document, each
//! item once, written in its own incremental update.

use std::collections::HashSet;

use crate::cms::{CmsError, ParsedSignedData};
use crate::pdf::{Dictionary, IncrementalUpdate, Object, PdfError, Reader, Source, Stream};
use crate::revocation::{self, Collector, RevocationError, ValidationData};

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
    let certs = document_certificates(reader)?;
    let collection = Collector::new(source.clone())?.collect(&certs)?;
    if !collection.missing.is_empty() {
        return Err(LtvError::Missing(collection.missing));
    }
    write_dss(reader, &collection.data)
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
    use crate::pdf::reader::tests_support::simple_pdf;
    use crate::sign::{sign_bytes, SignOptions};
    use crate::signer::tests::rsa_signer;
    use crate::signer::Signer;

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
