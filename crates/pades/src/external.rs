//! Signing with a key the server never holds, such as an official's USB token: [`prepare`]
//! builds the signed file around a placeholder and gives the signed attributes the token must
//! sign; [`complete`] checks the token's signature and embeds the CMS in the placeholder.
//!
//! The prepared file is final except for the bytes of /Contents, which the ByteRange leaves
//! out of the document digest: the signed attributes (content type, the document digest and
//! the signer's certificate reference) depend only on the certificate and the prepared file,
//! so the signature a token makes over them later fits that file exactly.

use std::sync::Mutex;

use der::Decode;
use x509_cert::attr::Attribute;
use x509_cert::der::asn1::SetOfVec;

use crate::cms::{self, ParsedSignedData};
use crate::sign::{sign_bytes, Level, SignError, SignOptions};
use crate::signer::{DigestAlgorithm, SignatureAlgorithm, Signer, SignerError};

/// A file prepared for an external signature, with what the token must sign.
#[derive(Clone)]
pub struct Prepared {
    /// The signed file with a placeholder where the CMS goes.
    pub pdf: Vec<u8>,
    /// DER of the signed attributes (a SET OF Attribute): the data the token signs.
    pub signed_attributes: Vec<u8>,
    /// The digest the token applies to the signed attributes.
    pub digest: DigestAlgorithm,
    /// The signature scheme the token uses.
    pub algorithm: SignatureAlgorithm,
}

impl Prepared {
    /// The digest of the signed attributes: what a token that signs digests signs.
    pub fn data_digest(&self) -> Vec<u8> {
        self.digest.digest(&self.signed_attributes)
    }
}

/// The certificates of an external signer, standing in for its key while the file is built:
/// it keeps the data it is asked to sign and answers with zeros as long as a real signature.
struct Placeholder {
    certificate: Vec<u8>,
    chain: Vec<Vec<u8>>,
    digest: DigestAlgorithm,
    algorithm: SignatureAlgorithm,
    asked: Mutex<Option<Vec<u8>>>,
}

impl Signer for Placeholder {
    fn certificate(&self) -> &[u8] {
        &self.certificate
    }
    fn chain(&self) -> &[Vec<u8>] {
        &self.chain
    }
    fn digest(&self) -> DigestAlgorithm {
        self.digest
    }
    fn signature_algorithm(&self) -> SignatureAlgorithm {
        self.algorithm
    }
    fn sign(&self, data: &[u8]) -> Result<Vec<u8>, SignerError> {
        let mut asked = self
            .asked
            .lock()
            .map_err(|_| SignerError::Sign("the placeholder signer was poisoned".into()))?;
        *asked = Some(data.to_vec());
        Ok(vec![0; self.max_signature_len()])
    }
}

/// The scheme a certificate's key signs with: PKCS#1 v1.5 for RSA (what tokens do), ECDSA
/// for EC keys; and the digest for it (SHA-384 for P-384, else SHA-256).
pub fn scheme_of(certificate: &[u8]) -> Result<(DigestAlgorithm, SignatureAlgorithm), SignError> {
    let cert = openssl::x509::X509::from_der(certificate)
        .map_err(|e| SignError::Refused(format!("the signer's certificate cannot be read: {e}")))?;
    let key = cert
        .public_key()
        .map_err(|e| SignError::Refused(format!("the certificate's key cannot be read: {e}")))?;
    match key.id() {
        openssl::pkey::Id::RSA => Ok((DigestAlgorithm::Sha256, SignatureAlgorithm::RsaPkcs1v15)),
        openssl::pkey::Id::EC => {
            let bits = key.bits();
            let digest = if bits > 256 {
                DigestAlgorithm::Sha384
            } else {
                DigestAlgorithm::Sha256
            };
            Ok((digest, SignatureAlgorithm::Ecdsa))
        }
        _ => Err(SignError::Refused(
            "the certificate's key is neither RSA nor EC; tokens sign with one of those".into(),
        )),
    }
}

/// Builds the signed file for `certificate` (DER, with its issuers in `chain`) with a
/// placeholder for the signature, at level B-B whatever `opts` asks (a time-stamp can only
/// cover a signature that exists), and returns it with the data to sign.
pub fn prepare(
    input: &[u8],
    certificate: &[u8],
    chain: &[Vec<u8>],
    opts: &SignOptions,
) -> Result<Prepared, SignError> {
    let (digest, algorithm) = scheme_of(certificate)?;
    let placeholder = Placeholder {
        certificate: certificate.to_vec(),
        chain: chain.to_vec(),
        digest,
        algorithm,
        asked: Mutex::new(None),
    };
    let opts = SignOptions {
        level: Level::BB,
        tsa_url: None,
        ..opts.clone()
    };
    let (pdf, _) = sign_bytes(input, &placeholder, &opts)?;
    let signed_attributes = placeholder
        .asked
        .into_inner()
        .ok()
        .flatten()
        .ok_or_else(|| SignError::Refused("no signature was asked for".into()))?;
    Ok(Prepared {
        pdf,
        signed_attributes,
        digest,
        algorithm,
    })
}

/// Embeds the token's `signature` over `prepared.signed_attributes` in the prepared file,
/// after checking that it verifies with `certificate`'s key and that the signed attributes
/// cover this very file. Refuses anything that does not match; returns the signed file.
pub fn complete(
    prepared: &Prepared,
    certificate: &[u8],
    chain: &[Vec<u8>],
    signature: &[u8],
) -> Result<Vec<u8>, SignError> {
    let signer = Placeholder {
        certificate: certificate.to_vec(),
        chain: chain.to_vec(),
        digest: prepared.digest,
        algorithm: prepared.algorithm,
        asked: Mutex::new(None),
    };
    let attributes = SetOfVec::<Attribute>::from_der(&prepared.signed_attributes).map_err(|e| {
        SignError::Refused(format!("the prepared signed attributes are damaged: {e}"))
    })?;
    let der = cms::assemble_signed_data(&signer, attributes, signature, None, true)?;
    let parsed = ParsedSignedData::parse(&der)?;
    let s = &parsed.signer;
    let public = openssl::x509::X509::from_der(certificate)
        .and_then(|c| c.public_key())
        .map_err(|e| SignError::Refused(format!("the certificate cannot be read: {e}")))?;
    let hash = s
        .digest
        .ok_or_else(|| SignError::Refused("the digest algorithm is not supported".into()))?;
    let attrs = s
        .signed_attrs_der
        .as_deref()
        .ok_or_else(|| SignError::Refused("the signed attributes are missing".into()))?;
    if !cms::verify_signature_value(&public, hash, &s.signature_algorithm, attrs, &s.signature)? {
        return Err(SignError::Refused(
            "the signature does not verify with the certificate's key over the prepared data; \
             sign exactly the prepared data with the key of this certificate"
                .into(),
        ));
    }
    let (range, contents) = placeholder_of(&prepared.pdf)?;
    let mut hasher = prepared
        .digest
        .hasher()
        .map_err(|e| SignError::Refused(e.to_string()))?;
    for (start, len) in [(range[0], range[1]), (range[2], range[3])] {
        let part = prepared
            .pdf
            .get(start..start + len)
            .ok_or_else(|| SignError::Refused("the prepared file is damaged".into()))?;
        hasher
            .update(part)
            .map_err(|e| SignError::Refused(e.to_string()))?;
    }
    let document_digest = hasher
        .finish()
        .map_err(|e| SignError::Refused(e.to_string()))?;
    if s.message_digest.as_deref() != Some(&document_digest[..]) {
        return Err(SignError::Refused(
            "the signed attributes do not belong to the prepared file".into(),
        ));
    }
    let hex = hex::encode_upper(&der);
    let room = contents.end - contents.start;
    if hex.len() > room {
        return Err(SignError::ContentsTooSmall {
            needed: der.len(),
            reserved: room / 2,
        });
    }
    let mut out = prepared.pdf.clone();
    out[contents.start..contents.start + hex.len()].copy_from_slice(hex.as_bytes());
    out[contents.start + hex.len()..contents.end].fill(b'0');
    Ok(out)
}

/// The ByteRange of the file's last signature (as start, length pairs) and where the hex
/// digits of its /Contents lie, between the two ranges.
fn placeholder_of(pdf: &[u8]) -> Result<([usize; 4], std::ops::Range<usize>), SignError> {
    let damaged = || SignError::Refused("the prepared file has no signature placeholder".into());
    let key = b"/ByteRange";
    let at = pdf
        .windows(key.len())
        .rposition(|w| w == key)
        .ok_or_else(damaged)?;
    let rest = &pdf[at + key.len()..];
    let open = rest.iter().position(|&b| b == b'[').ok_or_else(damaged)?;
    let close = rest.iter().position(|&b| b == b']').ok_or_else(damaged)?;
    let numbers: Vec<usize> = std::str::from_utf8(rest.get(open + 1..close).ok_or_else(damaged)?)
        .map_err(|_| damaged())?
        .split_ascii_whitespace()
        .map(|n| n.parse::<usize>().map_err(|_| damaged()))
        .collect::<Result<_, _>>()?;
    let [a, b, c, d] = numbers[..] else {
        return Err(damaged());
    };
    let gap_start = a + b;
    if a != 0
        || c <= gap_start + 1
        || c + d != pdf.len()
        || pdf[gap_start] != b'<'
        || pdf[c - 1] != b'>'
    {
        return Err(damaged());
    }
    Ok(([a, b, c, d], gap_start + 1..c - 1))
}

impl SignatureAlgorithm {
    /// Stable name, e.g. `rsa_pkcs1v15`, as stored with a prepared signature.
    pub fn name(self) -> &'static str {
        match self {
            SignatureAlgorithm::RsaPkcs1v15 => "rsa_pkcs1v15",
            SignatureAlgorithm::RsaPss => "rsa_pss",
            SignatureAlgorithm::Ecdsa => "ecdsa",
        }
    }

    /// The algorithm with this [`SignatureAlgorithm::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        [
            SignatureAlgorithm::RsaPkcs1v15,
            SignatureAlgorithm::RsaPss,
            SignatureAlgorithm::Ecdsa,
        ]
        .into_iter()
        .find(|a| a.name() == name)
    }
}

impl DigestAlgorithm {
    /// The algorithm with this [`DigestAlgorithm::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        [
            DigestAlgorithm::Sha256,
            DigestAlgorithm::Sha384,
            DigestAlgorithm::Sha512,
        ]
        .into_iter()
        .find(|d| d.name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pdf::testing::simple_pdf;
    use crate::signer::tests::rsa_signer;
    use crate::verify::{verify_bytes, VerifyOptions};

    /// Signs the prepared data as a token would, with the development key.
    fn token_signature(prepared: &Prepared) -> Vec<u8> {
        rsa_signer().sign(&prepared.signed_attributes).unwrap()
    }

    #[test]
    fn a_prepared_file_completes_into_a_valid_signature() {
        let key = rsa_signer();
        let prepared = prepare(
            &simple_pdf(),
            key.certificate(),
            key.chain(),
            &SignOptions::default(),
        )
        .unwrap();
        assert_eq!(prepared.data_digest().len(), 32);
        let signed = complete(
            &prepared,
            key.certificate(),
            key.chain(),
            &token_signature(&prepared),
        )
        .unwrap();
        assert_eq!(signed.len(), prepared.pdf.len());
        let options = VerifyOptions {
            offline: true,
            ..VerifyOptions::default()
        };
        let report = verify_bytes(&signed, &options).unwrap();
        assert_eq!(report.signatures.len(), 1);
        assert!(report.signatures[0].intact, "{report:?}");
    }

    #[test]
    fn a_completion_that_does_not_match_is_refused() {
        let key = rsa_signer();
        let prepared = prepare(
            &simple_pdf(),
            key.certificate(),
            key.chain(),
            &SignOptions::default(),
        )
        .unwrap();
        // A signature over other data.
        let wrong = key.sign(b"something else").unwrap();
        let e = complete(&prepared, key.certificate(), key.chain(), &wrong).unwrap_err();
        assert!(e.to_string().contains("does not verify"), "{e}");
        // Garbage.
        assert!(complete(&prepared, key.certificate(), key.chain(), &[1, 2, 3]).is_err());
        // The right signature over attributes of another prepared file.
        let other = prepare(
            &simple_pdf(),
            key.certificate(),
            key.chain(),
            &SignOptions {
                reason: Some("khác".into()),
                ..SignOptions::default()
            },
        )
        .unwrap();
        let mixed = Prepared {
            signed_attributes: other.signed_attributes.clone(),
            ..prepared.clone()
        };
        let e = complete(
            &mixed,
            key.certificate(),
            key.chain(),
            &token_signature(&other),
        )
        .unwrap_err();
        assert!(e.to_string().contains("do not belong"), "{e}");
    }

    #[test]
    fn number_fields_added_before_signing_are_filled_as_form_filling() {
        use crate::appearance::Rect;
        use crate::sign::{add_text_fields_bytes, fill_fields_bytes, TextField};
        use crate::verify::report::ModificationLevel;

        let field = |name: &str, x: f32| TextField {
            name: name.into(),
            page: 1,
            rect: Rect {
                x,
                y: 700.0,
                width: 150.0,
                height: 16.0,
            },
        };
        let fields = [field("so_ky_hieu", 60.0), field("ngay_ban_hanh", 350.0)];
        let with_fields = add_text_fields_bytes(&simple_pdf(), &fields).unwrap();
        // Adding them again changes nothing.
        assert_eq!(
            add_text_fields_bytes(&with_fields, &fields).unwrap(),
            with_fields
        );
        let key = rsa_signer();
        let prepared = prepare(
            &with_fields,
            key.certificate(),
            key.chain(),
            &SignOptions::default(),
        )
        .unwrap();
        let signed = complete(
            &prepared,
            key.certificate(),
            key.chain(),
            &token_signature(&prepared),
        )
        .unwrap();
        let filled = fill_fields_bytes(
            &signed,
            &[
                ("so_ky_hieu".into(), "Số: 01/UBND-VP".into()),
                ("ngay_ban_hanh".into(), "ngày 02 tháng 12 năm 2026".into()),
            ],
        )
        .unwrap();
        let options = VerifyOptions {
            offline: true,
            ..VerifyOptions::default()
        };
        let report = verify_bytes(&filled, &options).unwrap();
        let signature = &report.signatures[0];
        assert!(signature.intact);
        assert_eq!(
            signature.modification,
            ModificationLevel::FormFilling,
            "{signature:?}"
        );
    }
}
