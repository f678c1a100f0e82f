//! CMS SignedData (RFC 5652) for PAdES: building the detached signature with exactly the signed
//! attributes PAdES baseline allows, adding the signature time-stamp, and reading signatures
//! back for the verifier.
//!
//! OpenSSL's CMS API always adds signing-time, which PAdES forbids, so the structure is built
//! with the RustCrypto `cms`/`der` types and only the signature itself comes from the
//! [`Signer`]. Reading works on the raw DER so that the exact signed-attribute bytes of
//! third-party signatures are preserved (re-encoding would re-sort non-canonical SETs).

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use der::asn1::{OctetString, SetOfVec};
use der::oid::ObjectIdentifier;
use der::{Any, Decode, Encode, Sequence};
use openssl::pkey::{Id, PKey, Public};
use openssl::rsa::Padding;
use openssl::sign::{RsaPssSaltlen, Verifier};
use spki::AlgorithmIdentifierOwned;
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::serial_number::SerialNumber;
use x509_cert::Certificate;

use crate::algorithms::{
    signature_hash, HashAlgorithm, ECDSA_SHA1, ECDSA_SHA224, ECDSA_SHA256, ECDSA_SHA384,
    ECDSA_SHA3_224, ECDSA_SHA3_256, ECDSA_SHA3_384, ECDSA_SHA3_512, ECDSA_SHA512, EC_PUBLIC_KEY,
    ED25519, ED448, MGF1, RSASSA_PSS, RSA_ENCRYPTION, SHA1_WITH_RSA, SHA224_WITH_RSA,
    SHA256_WITH_RSA, SHA384_WITH_RSA, SHA3_224_WITH_RSA, SHA3_256_WITH_RSA, SHA3_384_WITH_RSA,
    SHA3_512_WITH_RSA, SHA512_WITH_RSA,
};
use crate::signer::{DigestAlgorithm, SignatureAlgorithm, Signer, SignerError};

/// Largest CMS structure accepted when reading (a long chain, time-stamp and revocation data fit
/// comfortably; anything bigger is hostile).
pub const MAX_CMS_LEN: usize = 16 * 1024 * 1024;

/// id-data.
pub const ID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
/// id-signedData.
pub const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
/// id-contentType signed attribute.
pub const ID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
/// id-messageDigest signed attribute.
pub const ID_MESSAGE_DIGEST: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
/// id-signingTime (forbidden in PAdES baseline signatures).
pub const ID_SIGNING_TIME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.5");
/// id-aa-signingCertificate (ESS, SHA-1 based).
pub const ID_SIGNING_CERTIFICATE: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.12");
/// id-aa-signingCertificateV2.
pub const ID_SIGNING_CERTIFICATE_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");
/// id-aa-signatureTimeStampToken (unsigned attribute).
pub const ID_SIGNATURE_TIME_STAMP_TOKEN: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.14");
/// id-ct-TSTInfo.
pub const ID_CT_TST_INFO: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
/// Adobe's revocation-info-archival signed attribute (CRLs/OCSP inside the CMS).
pub const ID_ADBE_REVOCATION: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113583.1.1.8");

/// Errors building or reading CMS structures.
#[derive(Debug, thiserror::Error)]
pub enum CmsError {
    /// DER encoding or decoding failed.
    #[error("malformed CMS structure: {0}")]
    Malformed(String),
    /// A certificate could not be parsed.
    #[error("malformed certificate in the signature: {0}")]
    Certificate(String),
    /// The CMS is larger than [`MAX_CMS_LEN`].
    #[error("CMS structure too large ({0} bytes)")]
    TooLarge(usize),
    /// An algorithm this crate does not accept.
    #[error("unsupported algorithm {0}")]
    UnsupportedAlgorithm(String),
    /// The signer failed.
    #[error(transparent)]
    Signer(#[from] SignerError),
}

impl From<der::Error> for CmsError {
    fn from(e: der::Error) -> Self {
        Self::Malformed(e.to_string())
    }
}

/// `ESSCertIDv2` (RFC 5035).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct EssCertIdV2 {
    /// Defaults to SHA-256 when absent.
    #[asn1(optional = "true")]
    pub hash_algorithm: Option<AlgorithmIdentifierOwned>,
    /// Hash of the whole certificate DER.
    pub cert_hash: OctetString,
    /// Issuer name and serial number of the certificate.
    #[asn1(optional = "true")]
    pub issuer_serial: Option<IssuerSerial>,
}

/// `IssuerSerial` (RFC 5035).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct IssuerSerial {
    /// The issuer as GeneralNames (a directoryName).
    pub issuer: Vec<GeneralName>,
    /// The certificate's serial number.
    pub serial_number: SerialNumber,
}

/// `SigningCertificateV2` (RFC 5035); policies are not used by PAdES and are not read.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct SigningCertificateV2 {
    /// The signer's certificate first, optionally followed by others.
    pub certs: Vec<EssCertIdV2>,
    /// Policy information, kept opaque.
    #[asn1(optional = "true")]
    pub policies: Option<Any>,
}

/// `RSASSA-PSS-params` (RFC 4055).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct RsaPssParams {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub(crate) hash: Option<AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    pub(crate) mask_gen: Option<AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", optional = "true")]
    pub(crate) salt_length: Option<u32>,
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT", optional = "true")]
    pub(crate) trailer_field: Option<u32>,
}

fn digest_identifier(digest: DigestAlgorithm) -> AlgorithmIdentifierOwned {
    // RFC 5754: the parameters of SHA-2 identifiers are absent.
    AlgorithmIdentifierOwned {
        oid: digest.oid(),
        parameters: None,
    }
}

/// The `signatureAlgorithm` identifier for a signer.
pub fn signature_algorithm_identifier(
    digest: DigestAlgorithm,
    algorithm: SignatureAlgorithm,
) -> Result<AlgorithmIdentifierOwned, CmsError> {
    let oid = match (algorithm, digest) {
        (SignatureAlgorithm::RsaPkcs1v15, DigestAlgorithm::Sha256) => SHA256_WITH_RSA,
        (SignatureAlgorithm::RsaPkcs1v15, DigestAlgorithm::Sha384) => SHA384_WITH_RSA,
        (SignatureAlgorithm::RsaPkcs1v15, DigestAlgorithm::Sha512) => SHA512_WITH_RSA,
        (SignatureAlgorithm::Ecdsa, DigestAlgorithm::Sha256) => ECDSA_SHA256,
        (SignatureAlgorithm::Ecdsa, DigestAlgorithm::Sha384) => ECDSA_SHA384,
        (SignatureAlgorithm::Ecdsa, DigestAlgorithm::Sha512) => ECDSA_SHA512,
        (SignatureAlgorithm::RsaPss, _) => {
            let params = RsaPssParams {
                hash: Some(digest_identifier(digest)),
                mask_gen: Some(AlgorithmIdentifierOwned {
                    oid: MGF1,
                    parameters: Some(Any::encode_from(&digest_identifier(digest))?),
                }),
                salt_length: Some(digest.output_len() as u32),
                trailer_field: None,
            };
            return Ok(AlgorithmIdentifierOwned {
                oid: RSASSA_PSS,
                parameters: Some(Any::encode_from(&params)?),
            });
        }
    };
    Ok(AlgorithmIdentifierOwned {
        oid,
        parameters: None,
    })
}

fn attribute(oid: ObjectIdentifier, value: Any) -> Result<Attribute, CmsError> {
    Ok(Attribute {
        oid,
        values: SetOfVec::try_from(vec![value])?,
    })
}

/// The `signing-certificate-v2` attribute value for a certificate.
pub fn signing_certificate_v2(
    certificate_der: &[u8],
    digest: DigestAlgorithm,
) -> Result<SigningCertificateV2, CmsError> {
    let cert =
        Certificate::from_der(certificate_der).map_err(|e| CmsError::Certificate(e.to_string()))?;
    Ok(SigningCertificateV2 {
        certs: vec![EssCertIdV2 {
            hash_algorithm: (digest != DigestAlgorithm::Sha256).then(|| digest_identifier(digest)),
            cert_hash: OctetString::new(digest.digest(certificate_der))?,
            issuer_serial: Some(IssuerSerial {
                issuer: vec![GeneralName::DirectoryName(
                    cert.tbs_certificate.issuer.clone(),
                )],
                serial_number: cert.tbs_certificate.serial_number.clone(),
            }),
        }],
        policies: None,
    })
}

/// The signed attributes PAdES baseline wants: content-type id-data, message-digest and
/// signing-certificate-v2; never signing-time (the claimed time is the dictionary's /M).
pub fn pades_signed_attributes(
    certificate_der: &[u8],
    digest: DigestAlgorithm,
    document_digest: &[u8],
    content_type: ObjectIdentifier,
) -> Result<SetOfVec<Attribute>, CmsError> {
    let attrs = vec![
        attribute(ID_CONTENT_TYPE, Any::encode_from(&content_type)?)?,
        attribute(
            ID_MESSAGE_DIGEST,
            Any::encode_from(&OctetString::new(document_digest)?)?,
        )?,
        attribute(
            ID_SIGNING_CERTIFICATE_V2,
            Any::encode_from(&signing_certificate_v2(certificate_der, digest)?)?,
        )?,
    ];
    Ok(SetOfVec::try_from(attrs)?)
}

/// Assembles a SignedData ContentInfo around a signature already computed over
/// `signed_attrs` by `signer`; `econtent` is embedded (time-stamp tokens) or the content stays
/// detached (`None`, PAdES).
pub fn assemble_signed_data(
    signer: &dyn Signer,
    signed_attrs: SetOfVec<Attribute>,
    signature: &[u8],
    econtent: Option<(ObjectIdentifier, &[u8])>,
    include_certificates: bool,
) -> Result<Vec<u8>, CmsError> {
    let certificate_der = signer.certificate();
    let chain = signer.chain();
    let digest = signer.digest();
    let signature_algorithm = signature_algorithm_identifier(digest, signer.signature_algorithm())?;
    let cert =
        Certificate::from_der(certificate_der).map_err(|e| CmsError::Certificate(e.to_string()))?;
    let mut certs = vec![CertificateChoices::Certificate(cert.clone())];
    for der in chain {
        let c = Certificate::from_der(der).map_err(|e| CmsError::Certificate(e.to_string()))?;
        certs.push(CertificateChoices::Certificate(c));
    }
    let signer_info = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: cert.tbs_certificate.issuer.clone(),
            serial_number: cert.tbs_certificate.serial_number.clone(),
        }),
        digest_alg: digest_identifier(digest),
        signed_attrs: Some(signed_attrs),
        signature_algorithm,
        signature: OctetString::new(signature)?,
        unsigned_attrs: None,
    };
    let (econtent_type, econtent, version) = match econtent {
        // RFC 5652 5.1: version 3 when the encapsulated content is not id-data.
        Some((oid, bytes)) => (
            oid,
            Some(Any::encode_from(&OctetString::new(bytes)?)?),
            CmsVersion::V3,
        ),
        None => (ID_DATA, None, CmsVersion::V1),
    };
    let signed_data = SignedData {
        version,
        digest_algorithms: SetOfVec::try_from(vec![digest_identifier(digest)])?,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type,
            econtent,
        },
        certificates: if include_certificates {
            Some(CertificateSet::try_from(certs)?)
        } else {
            None
        },
        crls: None,
        signer_infos: SignerInfos::try_from(vec![signer_info])?,
    };
    let content_info = ContentInfo {
        content_type: ID_SIGNED_DATA,
        content: Any::encode_from(&signed_data)?,
    };
    Ok(content_info.to_der()?)
}

/// Builds a detached CMS SignedData (ETSI.CAdES.detached) over a document digest computed with
/// `signer.digest()` across the ByteRange.
pub fn build_signed_data(signer: &dyn Signer, document_digest: &[u8]) -> Result<Vec<u8>, CmsError> {
    let digest = signer.digest();
    let attrs = pades_signed_attributes(signer.certificate(), digest, document_digest, ID_DATA)?;
    let signature = signer.sign(&attrs.to_der()?)?;
    assemble_signed_data(signer, attrs, &signature, None, true)
}

/// Length of a DER TLV whose content is `content` bytes long (one-byte tag).
fn der_len(content: usize) -> usize {
    let length_octets = match content {
        0..=0x7f => 1,
        0x80..=0xff => 2,
        0x100..=0xffff => 3,
        0x1_0000..=0xff_ffff => 4,
        _ => 5,
    };
    1 + length_octets + content
}

/// A certificate's issuer Name and serial-number INTEGER, read from its DER without decoding
/// the rest.
fn issuer_and_serial(certificate_der: &[u8]) -> Option<(Tlv<'_>, Tlv<'_>)> {
    let (cert, _) = read_tlv(certificate_der).ok()?;
    let (tbs, _) = read_tlv(cert.content).ok()?;
    let (mut field, mut rest) = read_tlv(tbs.content).ok()?;
    if field.tag == 0xa0 {
        (field, rest) = read_tlv(rest).ok()?;
    }
    let serial = field;
    let (_signature, rest) = read_tlv(rest).ok()?;
    let (issuer, _) = read_tlv(rest).ok()?;
    (serial.tag == 0x02 && issuer.tag == 0x30).then_some((issuer, serial))
}

/// Encoded lengths of a certificate's issuer Name and serial-number INTEGER.
fn issuer_and_serial_len(certificate_der: &[u8]) -> Result<(usize, usize), CmsError> {
    let (issuer, serial) = issuer_and_serial(certificate_der)
        .ok_or_else(|| CmsError::Certificate("not a DER certificate".into()))?;
    Ok((issuer.raw.len(), serial.raw.len()))
}

/// Length of the CMS that [`build_signed_data`] produces for `signer` when its signature value
/// is `signature_len` bytes, computed from the lengths of the parts: the certificates, the
/// signer's issuer and serial number, and the algorithm identifiers.
fn signed_data_len(signer: &dyn Signer, signature_len: usize) -> Result<usize, CmsError> {
    let digest = signer.digest();
    let oid_len = |oid: ObjectIdentifier| -> Result<usize, CmsError> {
        Ok(usize::try_from(oid.encoded_len()?)?)
    };
    let (issuer, serial) = issuer_and_serial_len(signer.certificate())?;
    let digest_alg = digest_identifier(digest).to_der()?.len();
    let signature_alg = signature_algorithm_identifier(digest, signer.signature_algorithm())?
        .to_der()?
        .len();
    let digest_value = der_len(digest.output_len());

    // Signed attributes: content-type, message-digest, signing-certificate-v2.
    let content_type = der_len(oid_len(ID_CONTENT_TYPE)? + der_len(oid_len(ID_DATA)?));
    let message_digest = der_len(oid_len(ID_MESSAGE_DIGEST)? + der_len(digest_value));
    let hash_alg = if digest == DigestAlgorithm::Sha256 {
        0
    } else {
        digest_alg
    };
    // IssuerSerial: GeneralNames (SEQUENCE OF) holding a directoryName ([4] EXPLICIT Name).
    let issuer_serial = der_len(der_len(der_len(issuer)) + serial);
    let ess_cert_id = der_len(hash_alg + digest_value + issuer_serial);
    let signing_certificate = der_len(der_len(ess_cert_id));
    let signing_certificate_attr =
        der_len(oid_len(ID_SIGNING_CERTIFICATE_V2)? + der_len(signing_certificate));
    let signed_attrs = der_len(content_type + message_digest + signing_certificate_attr);

    let version = 3;
    let sid = der_len(issuer + serial);
    let signer_info =
        der_len(version + sid + digest_alg + signed_attrs + signature_alg + der_len(signature_len));
    let certificates: usize = std::iter::once(signer.certificate())
        .chain(signer.chain().iter().map(Vec::as_slice))
        .map(|c| read_tlv(c).map(|(t, _)| t.raw.len()))
        .sum::<Result<usize, CmsError>>()?;
    let signed_data = der_len(
        version
            + der_len(digest_alg)
            + der_len(oid_len(ID_DATA)?)
            + der_len(certificates)
            + der_len(signer_info),
    );
    Ok(der_len(oid_len(ID_SIGNED_DATA)? + der_len(signed_data)))
}

/// Upper bound, in bytes, of the CMS that [`build_signed_data`] followed by
/// [`add_signature_timestamp`] with a token of `timestamp_token_estimate` bytes produces.
/// The signing flow doubles it for the hex /Contents placeholder.
///
/// The size is added up from the parts rather than by assembling a throw-away CMS, which cost
/// as much as assembling the real one.
pub fn estimated_size(
    signer: &dyn Signer,
    timestamp_token_estimate: usize,
) -> Result<usize, CmsError> {
    let base = signed_data_len(signer, signer.max_signature_len())?;
    // [1] unsignedAttrs + Attribute SEQUENCE + OID + SET: under 32 bytes of headers; the outer
    // lengths may each grow by a byte or two.
    let timestamp = if timestamp_token_estimate > 0 {
        timestamp_token_estimate + 48
    } else {
        0
    };
    // Certificates that are not strict DER are re-encoded when assembled and may come out a
    // few bytes longer.
    Ok(base + timestamp + 32)
}

/// Adds the RFC 3161 token as the unsigned attribute id-aa-signatureTimeStampToken of the
/// (single) SignerInfo.
pub fn add_signature_timestamp(cms_der: &[u8], token_der: &[u8]) -> Result<Vec<u8>, CmsError> {
    let cms_der = trim_der(cms_der)?;
    let mut content_info = ContentInfo::from_der(cms_der)?;
    if content_info.content_type != ID_SIGNED_DATA {
        return Err(CmsError::Malformed("not a SignedData".into()));
    }
    let mut signed_data: SignedData = content_info.content.decode_as()?;
    let mut infos: Vec<SignerInfo> = signed_data.signer_infos.0.into_vec();
    let Some(first) = infos.first_mut() else {
        return Err(CmsError::Malformed("no SignerInfo".into()));
    };
    let token = Any::from_der(trim_der(token_der)?)?;
    let attr = attribute(ID_SIGNATURE_TIME_STAMP_TOKEN, token)?;
    let mut unsigned: Vec<Attribute> = first
        .unsigned_attrs
        .take()
        .map(|a| a.into_vec())
        .unwrap_or_default();
    unsigned.retain(|a| a.oid != ID_SIGNATURE_TIME_STAMP_TOKEN);
    unsigned.push(attr);
    first.unsigned_attrs = Some(SetOfVec::try_from(unsigned)?);
    signed_data.signer_infos = SignerInfos::try_from(infos)?;
    content_info.content = Any::encode_from(&signed_data)?;
    Ok(content_info.to_der()?)
}

/// The signature value of the first SignerInfo: what a signature time-stamp's imprint covers.
pub fn signature_value(cms_der: &[u8]) -> Result<Vec<u8>, CmsError> {
    Ok(ParsedSignedData::parse(cms_der)?.signer.signature)
}

// ---------------------------------------------------------------------------------------------
// Reading

/// One DER TLV: tag byte, content, and the complete encoding.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tlv<'a> {
    pub tag: u8,
    pub content: &'a [u8],
    pub raw: &'a [u8],
}

/// Reads one definite-length TLV from the front of `input`; returns it and the rest.
/// Indefinite lengths (BER) and multi-byte tags are rejected.
pub(crate) fn read_tlv(input: &[u8]) -> Result<(Tlv<'_>, &[u8]), CmsError> {
    let bad = |m: &str| CmsError::Malformed(m.to_string());
    let (&tag, rest) = input
        .split_first()
        .ok_or_else(|| bad("unexpected end of data"))?;
    if tag & 0x1f == 0x1f {
        return Err(bad("multi-byte tags are not supported"));
    }
    let (&first, rest) = rest
        .split_first()
        .ok_or_else(|| bad("unexpected end of data"))?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 {
            return Err(bad("indefinite length (BER) is not supported"));
        }
        if n > 4 || rest.len() < n {
            return Err(bad("length field too long"));
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | *b as usize);
        (len, &rest[n..])
    };
    if rest.len() < len {
        return Err(bad("length exceeds the available data"));
    }
    let header = input.len() - rest.len();
    let raw = &input[..header + len];
    Ok((
        Tlv {
            tag,
            content: &rest[..len],
            raw,
        },
        &rest[len..],
    ))
}

/// All TLVs inside a constructed value's content.
pub(crate) fn read_all(mut content: &[u8]) -> Result<Vec<Tlv<'_>>, CmsError> {
    let mut out = Vec::new();
    while !content.is_empty() {
        let (tlv, rest) = read_tlv(content)?;
        out.push(tlv);
        content = rest;
    }
    Ok(out)
}

/// The first complete DER value in `bytes`: /Contents carries the CMS followed by zero padding.
pub fn trim_der(bytes: &[u8]) -> Result<&[u8], CmsError> {
    if bytes.len() > MAX_CMS_LEN + 16 {
        let (tlv, _) = read_tlv(bytes)?;
        if tlv.raw.len() > MAX_CMS_LEN {
            return Err(CmsError::TooLarge(tlv.raw.len()));
        }
        return Ok(tlv.raw);
    }
    Ok(read_tlv(bytes)?.0.raw)
}

/// Most nesting levels followed when converting BER to DER.
const MAX_BER_DEPTH: usize = 64;

/// Tag of an OCTET STRING in its constructed (fragmented, BER) form.
const CONSTRUCTED_OCTET_STRING: u8 = 0x24;

/// Rewrites the BER that signing tools emit as DER: indefinite lengths become definite, and an
/// OCTET STRING sent in fragments (streamed eContent, as `openssl cms -stream` writes a
/// time-stamp token's TSTInfo) becomes one primitive OCTET STRING holding the fragments joined,
/// which is what its digest covers (RFC 5652 5.4). Returns the first value's DER and ignores
/// what follows it (the /Contents zero padding). Everything already DER is copied byte for
/// byte: signed attributes, which must be DER because they are hashed as they are
/// (RFC 5652 5.3), and certificates, whose signatures cover their own encoding.
pub fn ber_to_der(bytes: &[u8]) -> Result<Vec<u8>, CmsError> {
    let mut out = Vec::with_capacity(bytes.len().min(MAX_CMS_LEN));
    let used = ber_value(bytes, &mut out, 0)?;
    if used > MAX_CMS_LEN || out.len() > MAX_CMS_LEN {
        return Err(CmsError::TooLarge(used.max(out.len())));
    }
    Ok(out)
}

/// Converts one value at the front of `input`, appending its DER to `out`; returns the number
/// of input bytes consumed.
fn ber_value(input: &[u8], out: &mut Vec<u8>, depth: usize) -> Result<usize, CmsError> {
    let bad = |m: &str| CmsError::Malformed(m.to_string());
    if depth > MAX_BER_DEPTH {
        return Err(bad("nesting too deep"));
    }
    if input.len() >= 2 && input[1] == 0x80 {
        let tag = input[0];
        if tag & 0x20 == 0 || tag & 0x1f == 0x1f {
            return Err(bad("indefinite length on a primitive or multi-byte tag"));
        }
        let mut content = Vec::new();
        let mut pos = 2;
        loop {
            let rest = input
                .get(pos..)
                .ok_or_else(|| bad("unexpected end of data"))?;
            if rest.starts_with(&[0, 0]) {
                pos += 2;
                break;
            }
            if rest.is_empty() {
                return Err(bad("unterminated indefinite length"));
            }
            pos += ber_value(rest, &mut content, depth + 1)?;
        }
        push_constructed(out, tag, &content)?;
        return Ok(pos);
    }
    let (tlv, _) = read_tlv(input)?;
    if tlv.tag & 0x20 != 0 && needs_rewrite(tlv.tag, tlv.content, depth + 1)? {
        let mut content = Vec::new();
        let mut rest = tlv.content;
        while !rest.is_empty() {
            let used = ber_value(rest, &mut content, depth + 1)?;
            rest = &rest[used..];
        }
        push_constructed(out, tlv.tag, &content)?;
    } else {
        out.extend_from_slice(tlv.raw);
    }
    Ok(tlv.raw.len())
}

/// Appends a constructed value whose content (already DER) is `content`; the fragments of a
/// constructed OCTET STRING are joined into one primitive OCTET STRING.
fn push_constructed(out: &mut Vec<u8>, tag: u8, content: &[u8]) -> Result<(), CmsError> {
    if tag != CONSTRUCTED_OCTET_STRING {
        out.push(tag);
        push_length(out, content.len());
        out.extend_from_slice(content);
        return Ok(());
    }
    let mut joined = Vec::with_capacity(content.len());
    for fragment in read_all(content)? {
        if fragment.tag != 0x04 {
            return Err(CmsError::Malformed(
                "a fragmented OCTET STRING holds something other than OCTET STRINGs".into(),
            ));
        }
        joined.extend_from_slice(fragment.content);
    }
    out.push(0x04);
    push_length(out, joined.len());
    out.extend_from_slice(&joined);
    Ok(())
}

/// Whether the constructed value `tag` with `content` is not DER in a way
/// [`ber_to_der`] rewrites: a fragmented OCTET STRING, or an indefinite length inside.
fn needs_rewrite(tag: u8, content: &[u8], depth: usize) -> Result<bool, CmsError> {
    Ok(tag == CONSTRUCTED_OCTET_STRING || contains_ber(content, depth)?)
}

/// Whether any value nested in `content` uses an indefinite length or is a fragmented OCTET
/// STRING.
fn contains_ber(content: &[u8], depth: usize) -> Result<bool, CmsError> {
    if depth > MAX_BER_DEPTH {
        return Err(CmsError::Malformed("nesting too deep".into()));
    }
    let mut rest = content;
    while !rest.is_empty() {
        if rest.len() >= 2 && rest[1] == 0x80 {
            return Ok(true);
        }
        let (tlv, next) = read_tlv(rest)?;
        if tlv.tag & 0x20 != 0 && needs_rewrite(tlv.tag, tlv.content, depth + 1)? {
            return Ok(true);
        }
        rest = next;
    }
    Ok(false)
}

fn push_length(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes
            .iter()
            .position(|b| *b != 0)
            .unwrap_or(bytes.len() - 1);
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// How a SignerInfo names its certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignerId {
    /// DER of the issuer Name and the serial number's content bytes.
    IssuerSerial {
        /// DER-encoded issuer Name.
        issuer: Vec<u8>,
        /// Serial number as unsigned big-endian bytes (leading zeros stripped).
        serial: Vec<u8>,
    },
    /// Subject key identifier.
    KeyId(Vec<u8>),
}

/// A reference from signing-certificate(-v2) to a certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertReference {
    /// Digest algorithm of the hash (SHA-1 for the v1 attribute).
    pub algorithm: ObjectIdentifier,
    /// The certificate hash.
    pub hash: Vec<u8>,
    /// Issuer serial number bytes, when given.
    pub serial: Option<Vec<u8>>,
}

/// The signer's part of a parsed SignedData.
#[derive(Clone, Debug)]
pub struct ParsedSigner {
    /// Signer identifier.
    pub sid: SignerId,
    /// `digestAlgorithm` OID.
    pub digest_oid: ObjectIdentifier,
    /// The digest algorithm when it is one the verifier knows.
    pub digest: Option<HashAlgorithm>,
    /// `signatureAlgorithm`.
    pub signature_algorithm: AlgorithmIdentifierOwned,
    /// The signature value.
    pub signature: Vec<u8>,
    /// The signed attributes re-tagged as a DER SET (the bytes the signature covers).
    pub signed_attrs_der: Option<Vec<u8>>,
    /// OIDs of all signed attributes, in order.
    pub signed_attr_oids: Vec<ObjectIdentifier>,
    /// content-type attribute value.
    pub content_type: Option<ObjectIdentifier>,
    /// message-digest attribute value.
    pub message_digest: Option<Vec<u8>>,
    /// signing-certificate-v2 (or v1) references.
    pub signing_certificate: Option<Vec<CertReference>>,
    /// Signature time-stamp tokens (DER ContentInfo) from the unsigned attributes.
    pub timestamp_tokens: Vec<Vec<u8>>,
    /// CRLs from Adobe's revocation-info-archival attribute.
    pub archived_crls: Vec<Vec<u8>>,
    /// OCSP responses from Adobe's revocation-info-archival attribute.
    pub archived_ocsps: Vec<Vec<u8>>,
}

/// A SignedData read from DER.
#[derive(Clone, Debug)]
pub struct ParsedSignedData {
    /// Encapsulated content type.
    pub econtent_type: ObjectIdentifier,
    /// Encapsulated content (TSTInfo for time-stamp tokens); `None` when detached.
    pub econtent: Option<Vec<u8>>,
    /// Certificates (DER) in the order found.
    pub certificates: Vec<Vec<u8>>,
    /// CRLs (DER) from the `crls` field.
    pub crls: Vec<Vec<u8>>,
    /// The first SignerInfo (PAdES signatures have exactly one).
    pub signer: ParsedSigner,
    /// Number of SignerInfos present.
    pub signer_count: usize,
}

fn strip_leading_zeros(b: &[u8]) -> Vec<u8> {
    let i = b
        .iter()
        .position(|x| *x != 0)
        .unwrap_or(b.len().saturating_sub(1));
    b[i..].to_vec()
}

impl ParsedSignedData {
    /// Parses a ContentInfo(SignedData), tolerating trailing zero padding.
    pub fn parse(bytes: &[u8]) -> Result<Self, CmsError> {
        let bad = |m: &str| CmsError::Malformed(m.to_string());
        // BER (indefinite lengths, fragmented OCTET STRINGs), as streaming signers emit, is
        // normalised first.
        let normalised;
        let outer = match trim_der(bytes) {
            Ok(der) if !contains_ber(der, 0)? => der,
            _ => {
                normalised = ber_to_der(bytes)?;
                normalised.as_slice()
            }
        };
        let (ci, _) = read_tlv(outer)?;
        let parts = read_all(ci.content)?;
        let [oid, content] = parts.as_slice() else {
            return Err(bad("ContentInfo must have two fields"));
        };
        if ObjectIdentifier::from_der(oid.raw)? != ID_SIGNED_DATA {
            return Err(bad("not a SignedData"));
        }
        let (sd, _) = read_tlv(content.content)?;
        let mut fields = read_all(sd.content)?.into_iter();
        let _version = fields.next().ok_or_else(|| bad("SignedData too short"))?;
        let _digest_algs = fields.next().ok_or_else(|| bad("SignedData too short"))?;
        let encap = fields.next().ok_or_else(|| bad("SignedData too short"))?;
        let encap_fields = read_all(encap.content)?;
        let econtent_type = ObjectIdentifier::from_der(
            encap_fields
                .first()
                .ok_or_else(|| bad("empty EncapsulatedContentInfo"))?
                .raw,
        )?;
        let econtent = match encap_fields.get(1) {
            Some(explicit) => {
                let (octets, _) = read_tlv(explicit.content)?;
                if octets.tag != 0x04 {
                    return Err(bad("eContent is not an OCTET STRING"));
                }
                Some(octets.content.to_vec())
            }
            None => None,
        };
        let mut certificates = Vec::new();
        let mut crls = Vec::new();
        let mut signer_infos = None;
        for f in fields {
            match f.tag {
                0xa0 => {
                    for c in read_all(f.content)? {
                        // Only plain certificates; attribute certificates and others are skipped.
                        if c.tag == 0x30 {
                            certificates.push(c.raw.to_vec());
                        }
                    }
                }
                0xa1 => {
                    for c in read_all(f.content)? {
                        if c.tag == 0x30 {
                            crls.push(c.raw.to_vec());
                        }
                    }
                }
                0x31 => signer_infos = Some(f),
                _ => return Err(bad("unexpected field in SignedData")),
            }
        }
        let infos = read_all(signer_infos.ok_or_else(|| bad("no signerInfos"))?.content)?;
        let first = infos.first().ok_or_else(|| bad("no SignerInfo"))?;
        let signer = parse_signer_info(first.raw)?;
        Ok(Self {
            econtent_type,
            econtent,
            certificates,
            crls,
            signer,
            signer_count: infos.len(),
        })
    }

    /// The certificate the SignerInfo names, DER: one whose issuer is encoded exactly as the
    /// SignerInfo has it, otherwise one whose issuer is the same name by RFC 5280 rules.
    pub fn signer_certificate(&self) -> Option<&[u8]> {
        let sid = &self.signer.sid;
        self.certificates
            .iter()
            .find(|c| identifies(c, sid, true))
            .or_else(|| self.certificates.iter().find(|c| identifies(c, sid, false)))
            .map(|c| c.as_slice())
    }
}

/// Whether the certificate is the one `sid` names. Issuer names compare by RFC 5280 rules
/// ([`crate::certificate::names_match`]): signers that re-encode the issuer (another string type,
/// case, spacing) still name their certificate, whose key must then verify the signature.
pub fn certificate_matches(cert_der: &[u8], sid: &SignerId) -> bool {
    identifies(cert_der, sid, false)
}

fn identifies(cert_der: &[u8], sid: &SignerId, exact: bool) -> bool {
    match sid {
        SignerId::IssuerSerial { issuer, serial } => {
            let Some((cert_issuer, cert_serial)) = issuer_and_serial(cert_der) else {
                return false;
            };
            strip_leading_zeros(cert_serial.content) == *serial
                && if exact {
                    cert_issuer.raw == issuer.as_slice()
                } else {
                    crate::certificate::names_match(cert_issuer.raw, issuer)
                }
        }
        SignerId::KeyId(kid) => crate::certificate::parse_certificate(cert_der)
            .and_then(|c| c.subject_key_id().map(|k| k.as_slice() == kid.as_slice()))
            .unwrap_or(false),
    }
}

/// One attribute as found: its type and each value's complete encoding.
struct RawAttribute<'a> {
    oid: ObjectIdentifier,
    values: Vec<Tlv<'a>>,
}

/// The attributes of a SignedAttributes or UnsignedAttributes SET, read as they are. A typed
/// SET OF decoder refuses duplicate elements, but CMS does not forbid them among unsigned
/// attributes (two copies of one time-stamp token, a revocation-values attribute added twice),
/// and they change nothing the signature covers.
fn read_attributes(content: &[u8]) -> Result<Vec<RawAttribute<'_>>, CmsError> {
    let bad = |m: &str| CmsError::Malformed(m.to_string());
    read_all(content)?
        .into_iter()
        .map(|a| {
            let parts = read_all(a.content)?;
            let [oid, set] = parts.as_slice() else {
                return Err(bad("an attribute must have a type and a set of values"));
            };
            if a.tag != 0x30 || oid.tag != 0x06 || set.tag != 0x31 {
                return Err(bad("malformed attribute"));
            }
            Ok(RawAttribute {
                oid: ObjectIdentifier::from_der(oid.raw)?,
                values: read_all(set.content)?,
            })
        })
        .collect()
}

/// Signed attributes that must appear at most once and hold exactly one value (RFC 5652
/// 11.1, 11.2; RFC 5035): a second message digest would let the signature vouch for two
/// documents.
const SINGLE_VALUED_SIGNED_ATTRIBUTES: [ObjectIdentifier; 4] = [
    ID_CONTENT_TYPE,
    ID_MESSAGE_DIGEST,
    ID_SIGNING_CERTIFICATE,
    ID_SIGNING_CERTIFICATE_V2,
];

fn parse_signer_info(raw: &[u8]) -> Result<ParsedSigner, CmsError> {
    let bad = |m: &str| CmsError::Malformed(m.to_string());
    let (si, _) = read_tlv(raw)?;
    if si.tag != 0x30 {
        return Err(bad("SignerInfo is not a SEQUENCE"));
    }
    let mut fields = read_all(si.content)?.into_iter().peekable();
    let missing = |what: &str| CmsError::Malformed(format!("SignerInfo has no {what}"));
    if fields.next().ok_or_else(|| missing("version"))?.tag != 0x02 {
        return Err(bad("SignerInfo version is not an INTEGER"));
    }
    let sid_field = fields.next().ok_or_else(|| missing("signer identifier"))?;
    let sid = match sid_field.tag {
        0x30 => {
            let parts = read_all(sid_field.content)?;
            match parts.as_slice() {
                [issuer, serial] if issuer.tag == 0x30 && serial.tag == 0x02 => {
                    SignerId::IssuerSerial {
                        issuer: issuer.raw.to_vec(),
                        serial: strip_leading_zeros(serial.content),
                    }
                }
                _ => return Err(bad("malformed IssuerAndSerialNumber")),
            }
        }
        // [0] IMPLICIT SubjectKeyIdentifier.
        0x80 => SignerId::KeyId(sid_field.content.to_vec()),
        _ => return Err(bad("unknown signer identifier")),
    };
    let digest_alg = AlgorithmIdentifierOwned::from_der(
        fields
            .next()
            .ok_or_else(|| missing("digest algorithm"))?
            .raw,
    )?;
    let signed = fields.next_if(|f| f.tag == 0xa0);
    let signature_algorithm = fields
        .next()
        .ok_or_else(|| missing("signature algorithm"))?;
    let signature_algorithm = AlgorithmIdentifierOwned::from_der(signature_algorithm.raw)?;
    let signature = fields
        .next()
        .filter(|f| f.tag == 0x04)
        .ok_or_else(|| missing("signature value"))?;
    let unsigned = fields.next_if(|f| f.tag == 0xa1);
    if fields.next().is_some() {
        return Err(bad("unexpected field in SignerInfo"));
    }
    let mut parsed = ParsedSigner {
        sid,
        digest_oid: digest_alg.oid,
        digest: HashAlgorithm::from_identifier(&digest_alg),
        signature_algorithm,
        signature: signature.content.to_vec(),
        // The exact signed-attribute bytes: the [0] IMPLICIT field re-tagged as SET
        // (RFC 5652 5.4).
        signed_attrs_der: signed.map(|t| {
            let mut v = t.raw.to_vec();
            v[0] = 0x31;
            v
        }),
        signed_attr_oids: Vec::new(),
        content_type: None,
        message_digest: None,
        signing_certificate: None,
        timestamp_tokens: Vec::new(),
        archived_crls: Vec::new(),
        archived_ocsps: Vec::new(),
    };
    let signed_attrs = match signed {
        Some(t) => read_attributes(t.content)?,
        None => Vec::new(),
    };
    for oid in SINGLE_VALUED_SIGNED_ATTRIBUTES {
        let mut instances = signed_attrs.iter().filter(|a| a.oid == oid);
        if let Some(a) = instances.next() {
            if a.values.len() != 1 || instances.next().is_some() {
                return Err(CmsError::Malformed(format!(
                    "the signed attribute {oid} must appear once with one value"
                )));
            }
        }
    }
    for attr in &signed_attrs {
        parsed.signed_attr_oids.push(attr.oid);
        let Some(value) = attr.values.first() else {
            continue;
        };
        match attr.oid {
            ID_CONTENT_TYPE => parsed.content_type = ObjectIdentifier::from_der(value.raw).ok(),
            ID_MESSAGE_DIGEST => {
                parsed.message_digest = (value.tag == 0x04).then(|| value.content.to_vec())
            }
            ID_SIGNING_CERTIFICATE_V2 => {
                parsed.signing_certificate =
                    SigningCertificateV2::from_der(value.raw).ok().map(|sc| {
                        sc.certs
                            .into_iter()
                            .map(|c| CertReference {
                                algorithm: c
                                    .hash_algorithm
                                    .map(|a| a.oid)
                                    .unwrap_or(HashAlgorithm::Sha256.oid()),
                                hash: c.cert_hash.as_bytes().to_vec(),
                                serial: c
                                    .issuer_serial
                                    .map(|s| strip_leading_zeros(s.serial_number.as_bytes())),
                            })
                            .collect()
                    })
            }
            ID_SIGNING_CERTIFICATE => {
                parsed.signing_certificate = parse_signing_certificate_v1(value.raw)
            }
            ID_ADBE_REVOCATION => parse_revocation_archival(
                value.raw,
                &mut parsed.archived_crls,
                &mut parsed.archived_ocsps,
            ),
            _ => {}
        }
    }
    if let Some(t) = unsigned {
        for attr in read_attributes(t.content)? {
            if attr.oid == ID_SIGNATURE_TIME_STAMP_TOKEN {
                parsed
                    .timestamp_tokens
                    .extend(attr.values.iter().map(|v| v.raw.to_vec()));
            }
        }
    }
    Ok(parsed)
}

/// ESS SigningCertificate (v1): SEQUENCE { certs SEQUENCE OF ESSCertID { certHash OCTET STRING
/// (SHA-1), issuerSerial OPTIONAL } ... }.
fn parse_signing_certificate_v1(der: &[u8]) -> Option<Vec<CertReference>> {
    let (outer, _) = read_tlv(der).ok()?;
    let (certs, _) = read_tlv(outer.content).ok()?;
    let sha1 = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
    let mut out = Vec::new();
    for id in read_all(certs.content).ok()? {
        let fields = read_all(id.content).ok()?;
        let hash = fields.first().filter(|f| f.tag == 0x04)?.content.to_vec();
        let serial = fields
            .get(1)
            .and_then(|is| read_all(is.content).ok())
            .and_then(|f| {
                f.get(1)
                    .filter(|t| t.tag == 0x02)
                    .map(|t| strip_leading_zeros(t.content))
            });
        out.push(CertReference {
            algorithm: sha1,
            hash,
            serial,
        });
    }
    Some(out)
}

/// RevocationInfoArchival ::= SEQUENCE { crl [0] EXPLICIT SEQUENCE OF CRL OPTIONAL,
/// ocsp [1] EXPLICIT SEQUENCE OF OCSPResponse OPTIONAL, otherRevInfo [2] ... OPTIONAL }.
fn parse_revocation_archival(der: &[u8], crls: &mut Vec<Vec<u8>>, ocsps: &mut Vec<Vec<u8>>) {
    let Ok((outer, _)) = read_tlv(der) else {
        return;
    };
    let Ok(fields) = read_all(outer.content) else {
        return;
    };
    for f in fields {
        let Ok((seq, _)) = read_tlv(f.content) else {
            continue;
        };
        let Ok(items) = read_all(seq.content) else {
            continue;
        };
        let target = match f.tag {
            0xa0 => &mut *crls,
            0xa1 => &mut *ocsps,
            _ => continue,
        };
        target.extend(items.into_iter().map(|i| i.raw.to_vec()));
    }
}

/// The data a SignerInfo signs, as the caller can provide it: a PDF's byte ranges are hashed
/// from the file piece by piece, a time-stamp's TSTInfo is in memory.
pub trait SignedContent {
    /// The data's digest with `algorithm`; `None` when it cannot be read.
    fn digest(&self, algorithm: HashAlgorithm) -> Option<Vec<u8>>;
    /// The data itself, needed only by EdDSA without signed attributes, which signs the
    /// message rather than a digest; `None` when it cannot be read or held.
    fn bytes(&self) -> Option<Vec<u8>>;
}

impl SignedContent for [u8] {
    fn digest(&self, algorithm: HashAlgorithm) -> Option<Vec<u8>> {
        Some(algorithm.digest(self))
    }
    fn bytes(&self) -> Option<Vec<u8>> {
        Some(self.to_vec())
    }
}

/// Outcome of checking a SignerInfo against its content and certificate.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IntegrityCheck {
    /// The message-digest attribute equals the digest of the signed content (true without
    /// signed attributes, where the signature value covers the content itself).
    pub message_digest_ok: bool,
    /// The signature value verifies with the certificate's key: over the signed attributes,
    /// or over the content when there are none.
    pub signature_ok: bool,
    /// signing-certificate(-v2) names the certificate; `None` when the attribute is absent.
    pub signing_certificate_ok: Option<bool>,
    /// The content-type attribute is present and equals the encapsulated content type
    /// (RFC 5652 §11.1).
    pub content_type_ok: bool,
    /// Why a check could not be made (unsupported algorithm, missing attributes).
    pub problem: Option<String>,
    /// An algorithm outside the validation policy: one it no longer accepts (SHA-1, checked
    /// all the same) or one it does not know (then `problem` says nothing could be checked).
    pub rejected_algorithm: Option<String>,
}

impl IntegrityCheck {
    /// Digest and signature both verify and the content type is consistent.
    pub fn intact(&self) -> bool {
        self.message_digest_ok && self.signature_ok && self.content_type_ok
    }
}

/// Checks the SignerInfo of `parsed` against its content and the signer's certificate.
///
/// With signed attributes (CAdES, PAdES, RFC 3161 tokens) the message-digest attribute must
/// match the content and the signature covers the attributes. Without them (ISO 32000
/// adbe.pkcs7.detached allows it) the signature covers the content directly (RFC 5652 5.4),
/// which only id-data may be signed that way (5.3).
pub fn check_integrity<C: SignedContent + ?Sized>(
    parsed: &ParsedSignedData,
    cert_der: &[u8],
    content: &C,
) -> IntegrityCheck {
    let s = &parsed.signer;
    let mut out = IntegrityCheck::default();
    let Some(digest) = s.digest else {
        out.problem = Some(format!("unsupported digest algorithm {}", s.digest_oid));
        out.rejected_algorithm = Some(s.digest_oid.to_string());
        return out;
    };
    if !digest.is_accepted() {
        out.rejected_algorithm = Some(digest.label().to_string());
    }
    out.signing_certificate_ok = s.signing_certificate.as_ref().map(|refs| {
        refs.first().is_some_and(|r| {
            // The ESS certificate hash only identifies the certificate, which the signature
            // covers anyway: SHA-1 here (the v1 attribute knows nothing else) is no weakness.
            HashAlgorithm::from_oid(&r.algorithm).is_some_and(|d| d.digest(cert_der) == r.hash)
        })
    });
    let key = match crate::certificate::parse_certificate(cert_der).map(|c| c.public_key()) {
        Some(Ok(k)) => k,
        _ => {
            out.problem = Some("the signer certificate's public key cannot be read".into());
            return out;
        }
    };
    let scheme = signature_scheme(key.id(), digest, &s.signature_algorithm);
    match scheme {
        Ok(Scheme::Hashed { hash, pss }) => {
            if let Some(weak) = [Some(hash), pss.map(|(mgf, _)| mgf)]
                .into_iter()
                .flatten()
                .find(|h| !h.is_accepted())
            {
                out.rejected_algorithm = Some(weak.label().to_string());
            }
        }
        Ok(Scheme::Pure) => {}
        Err(_) => out.rejected_algorithm = Some(s.signature_algorithm.oid.to_string()),
    }
    let unreadable = || Some("the signed content cannot be read".to_string());
    let verified = match (&s.signed_attrs_der, scheme) {
        (Some(attrs), _) => {
            let Some(content_digest) = content.digest(digest) else {
                out.problem = unreadable();
                return out;
            };
            out.message_digest_ok = s.message_digest.as_deref() == Some(content_digest.as_slice());
            out.content_type_ok = s.content_type == Some(parsed.econtent_type);
            verify_signature_value(&key, digest, &s.signature_algorithm, attrs, &s.signature)
        }
        (None, Err(e)) => Err(e),
        (None, Ok(scheme)) => {
            out.message_digest_ok = true;
            out.content_type_ok = parsed.econtent_type == ID_DATA;
            let data = match scheme {
                Scheme::Pure => content.bytes(),
                Scheme::Hashed { hash, .. } => content.digest(hash),
            };
            let Some(data) = data else {
                out.problem = unreadable();
                return out;
            };
            match scheme {
                Scheme::Pure => verify_signature_value(
                    &key,
                    digest,
                    &s.signature_algorithm,
                    &data,
                    &s.signature,
                ),
                Scheme::Hashed { hash, pss } => {
                    verify_prehashed(&key, hash, pss, &data, &s.signature)
                }
            }
        }
    };
    match verified {
        Ok(ok) => out.signature_ok = ok,
        Err(e) => out.problem = Some(e.to_string()),
    }
    out
}

/// Verifies a hashed signature over a digest already computed (the content of a signature
/// without signed attributes is hashed from the file once, piece by piece).
fn verify_prehashed(
    key: &PKey<Public>,
    hash: HashAlgorithm,
    pss: Option<(HashAlgorithm, i32)>,
    digest: &[u8],
    signature: &[u8],
) -> Result<bool, CmsError> {
    let err = |e: openssl::error::ErrorStack| CmsError::Malformed(e.to_string());
    let md = |h: HashAlgorithm| {
        openssl::md::Md::from_nid(h.message_digest().type_())
            .ok_or_else(|| CmsError::UnsupportedAlgorithm(h.name().to_string()))
    };
    let mut ctx = openssl::pkey_ctx::PkeyCtx::new(key).map_err(err)?;
    ctx.verify_init().map_err(err)?;
    ctx.set_signature_md(md(hash)?).map_err(err)?;
    if let Some((mgf, salt)) = pss {
        ctx.set_rsa_padding(Padding::PKCS1_PSS).map_err(err)?;
        ctx.set_rsa_mgf1_md(md(mgf)?).map_err(err)?;
        ctx.set_rsa_pss_saltlen(RsaPssSaltlen::custom(salt))
            .map_err(err)?;
    }
    // A malformed signature blob is a failed signature, not a parsing error.
    Ok(ctx.verify(digest, signature).unwrap_or(false))
}

/// How a signatureAlgorithm is computed, once checked against the key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scheme {
    /// RSA PKCS#1 v1.5 or ECDSA over a digest made with `hash`; RSASSA-PSS with its MGF1
    /// digest and salt length.
    Hashed {
        hash: HashAlgorithm,
        pss: Option<(HashAlgorithm, i32)>,
    },
    /// EdDSA (RFC 8032 pure mode): the data itself is signed.
    Pure,
}

/// The scheme `algorithm` names for a key of type `key`; unknown identifiers and identifiers
/// that do not fit the key are unsupported.
fn signature_scheme(
    key: Id,
    digest: HashAlgorithm,
    algorithm: &AlgorithmIdentifierOwned,
) -> Result<Scheme, CmsError> {
    let unsupported = || CmsError::UnsupportedAlgorithm(algorithm.oid.to_string());
    let rsa = key == Id::RSA || key == Id::RSA_PSS;
    let ec = key == Id::EC;
    let hashed = |hash: HashAlgorithm| Scheme::Hashed { hash, pss: None };
    let scheme = match algorithm.oid {
        RSA_ENCRYPTION if rsa => hashed(digest),
        EC_PUBLIC_KEY if ec => hashed(digest),
        SHA1_WITH_RSA | SHA224_WITH_RSA | SHA256_WITH_RSA | SHA384_WITH_RSA | SHA512_WITH_RSA
        | SHA3_224_WITH_RSA | SHA3_256_WITH_RSA | SHA3_384_WITH_RSA | SHA3_512_WITH_RSA
            if rsa =>
        {
            hashed(signature_hash(&algorithm.oid).ok_or_else(unsupported)?)
        }
        ECDSA_SHA1 | ECDSA_SHA224 | ECDSA_SHA256 | ECDSA_SHA384 | ECDSA_SHA512 | ECDSA_SHA3_224
        | ECDSA_SHA3_256 | ECDSA_SHA3_384 | ECDSA_SHA3_512
            if ec =>
        {
            hashed(signature_hash(&algorithm.oid).ok_or_else(unsupported)?)
        }
        ED25519 if key == Id::ED25519 => Scheme::Pure,
        ED448 if key == Id::ED448 => Scheme::Pure,
        RSASSA_PSS if rsa => {
            let params: RsaPssParams = algorithm
                .parameters
                .as_ref()
                .ok_or_else(unsupported)?
                .decode_as()?;
            // RFC 4055: absent fields mean SHA-1 and MGF1 with SHA-1.
            let hash = match &params.hash {
                Some(h) => HashAlgorithm::from_identifier(h).ok_or_else(unsupported)?,
                None => HashAlgorithm::Sha1,
            };
            let mgf_hash = match &params.mask_gen {
                Some(m) if m.oid == MGF1 => m
                    .parameters
                    .as_ref()
                    .and_then(|p| p.decode_as::<AlgorithmIdentifierOwned>().ok())
                    .as_ref()
                    .and_then(HashAlgorithm::from_identifier)
                    .ok_or_else(unsupported)?,
                Some(_) => return Err(unsupported()),
                None => HashAlgorithm::Sha1,
            };
            let salt =
                i32::try_from(params.salt_length.unwrap_or(20)).map_err(|_| unsupported())?;
            Scheme::Hashed {
                hash,
                pss: Some((mgf_hash, salt)),
            }
        }
        _ => return Err(unsupported()),
    };
    // SHAKE256 only appears as the message digest of Ed448 signatures.
    match scheme {
        Scheme::Hashed { hash, pss }
            if hash == HashAlgorithm::Shake256
                || pss.is_some_and(|(m, _)| m == HashAlgorithm::Shake256) =>
        {
            Err(unsupported())
        }
        s => Ok(s),
    }
}

/// Verifies a CMS signature value over `data` (the signed attributes, or the content when there
/// are none) with the certificate's public key.
pub fn verify_signature_value(
    public_key: &PKey<Public>,
    digest: HashAlgorithm,
    algorithm: &AlgorithmIdentifierOwned,
    data: &[u8],
    signature: &[u8],
) -> Result<bool, CmsError> {
    let err = |e: openssl::error::ErrorStack| CmsError::Malformed(e.to_string());
    let scheme = signature_scheme(public_key.id(), digest, algorithm)?;
    let (hash, pss) = match scheme {
        Scheme::Pure => {
            let mut verifier = Verifier::new_without_digest(public_key).map_err(err)?;
            // A malformed signature blob is a failed signature, not a parsing error.
            return Ok(verifier.verify_oneshot(signature, data).unwrap_or(false));
        }
        Scheme::Hashed { hash, pss } => (hash, pss),
    };
    let mut verifier = Verifier::new(hash.message_digest(), public_key).map_err(err)?;
    if let Some((mgf, salt)) = pss {
        verifier.set_rsa_padding(Padding::PKCS1_PSS).map_err(err)?;
        verifier
            .set_rsa_mgf1_md(mgf.message_digest())
            .map_err(err)?;
        verifier
            .set_rsa_pss_saltlen(RsaPssSaltlen::custom(salt))
            .map_err(err)?;
    }
    verifier.update(data).map_err(err)?;
    Ok(verifier.verify(signature).unwrap_or(false))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signer::tests::{dev, rsa_signer};
    use crate::signer::{Pkcs12Signer, SignerOptions};
    use openssl::hash::MessageDigest;

    fn check_signature(cms: &[u8], content: &[u8]) {
        let parsed = ParsedSignedData::parse(cms).unwrap();
        let s = &parsed.signer;
        assert_eq!(parsed.signer_count, 1);
        assert_eq!(
            s.signed_attr_oids
                .iter()
                .filter(|o| **o == ID_SIGNING_TIME)
                .count(),
            0,
            "PAdES forbids signing-time"
        );
        assert_eq!(s.signed_attr_oids.len(), 3);
        assert_eq!(s.content_type, Some(ID_DATA));
        let digest = s.digest.unwrap();
        assert_eq!(
            s.message_digest.as_deref(),
            Some(digest.digest(content).as_slice())
        );
        let cert = parsed
            .signer_certificate()
            .expect("signer certificate included");
        let refs = s.signing_certificate.as_ref().unwrap();
        assert_eq!(refs[0].hash, digest.digest(cert));
        let key = openssl::x509::X509::from_der(cert)
            .unwrap()
            .public_key()
            .unwrap();
        let attrs = s.signed_attrs_der.as_ref().unwrap();
        assert!(
            verify_signature_value(&key, digest, &s.signature_algorithm, attrs, &s.signature)
                .unwrap()
        );
        let mut tampered = s.signature.clone();
        tampered[5] ^= 1;
        assert!(
            !verify_signature_value(&key, digest, &s.signature_algorithm, attrs, &tampered)
                .unwrap()
        );
    }

    #[test]
    fn builds_pades_cms_that_openssl_accepts() {
        let signer = rsa_signer();
        let content = b"%PDF-1.7 pretend byte ranges";
        let cms = build_signed_data(&signer, &signer.digest().digest(content)).unwrap();
        check_signature(&cms, content);
        assert!(cms.len() <= estimated_size(&signer, 0).unwrap());
        let parsed = ParsedSignedData::parse(&cms).unwrap();
        assert_eq!(parsed.certificates.len(), 2, "signer and issuing CA");

        // OpenSSL's own CMS verifier agrees (detached content, no chain check).
        let ci = openssl::cms::CmsContentInfo::from_der(&cms).unwrap();
        let mut ci = ci;
        let store = openssl::x509::store::X509StoreBuilder::new()
            .unwrap()
            .build();
        ci.verify(
            None,
            Some(&store),
            Some(content),
            None,
            openssl::cms::CMSOptions::NO_SIGNER_CERT_VERIFY | openssl::cms::CMSOptions::BINARY,
        )
        .unwrap();
    }

    /// A software signer over generated keys and certificates.
    struct GeneratedSigner {
        key: openssl::pkey::PKey<openssl::pkey::Private>,
        certificate: Vec<u8>,
        chain: Vec<Vec<u8>>,
        digest: DigestAlgorithm,
        algorithm: SignatureAlgorithm,
    }

    impl Signer for GeneratedSigner {
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
            let mut s =
                openssl::sign::Signer::new(self.digest.message_digest(), &self.key).unwrap();
            if self.algorithm == SignatureAlgorithm::RsaPss {
                s.set_rsa_padding(Padding::PKCS1_PSS).unwrap();
                s.set_rsa_pss_saltlen(RsaPssSaltlen::DIGEST_LENGTH).unwrap();
            }
            Ok(s.sign_oneshot_to_vec(data).unwrap())
        }
    }

    fn certificate(
        subject: &str,
        units: usize,
        serial: &[u8],
        key: &openssl::pkey::PKey<openssl::pkey::Private>,
        issuer: Option<(
            &openssl::x509::X509,
            &openssl::pkey::PKey<openssl::pkey::Private>,
        )>,
    ) -> openssl::x509::X509 {
        let mut name = openssl::x509::X509NameBuilder::new().unwrap();
        name.append_entry_by_text("C", "VN").unwrap();
        name.append_entry_by_text("O", "Uỷ ban nhân dân tỉnh — Văn phòng")
            .unwrap();
        for u in 0..units {
            name.append_entry_by_text("OU", &format!("Phòng nghiệp vụ số {u} — đơn vị trực thuộc"))
                .unwrap();
        }
        name.append_entry_by_text("CN", subject).unwrap();
        let name = name.build();
        let mut b = openssl::x509::X509Builder::new().unwrap();
        b.set_version(2).unwrap();
        let serial = openssl::bn::BigNum::from_slice(serial).unwrap();
        b.set_serial_number(&serial.to_asn1_integer().unwrap())
            .unwrap();
        b.set_subject_name(&name).unwrap();
        b.set_issuer_name(issuer.map_or(&*name, |(c, _)| c.subject_name()))
            .unwrap();
        b.set_pubkey(key).unwrap();
        b.set_not_before(&openssl::asn1::Asn1Time::days_from_now(0).unwrap())
            .unwrap();
        b.set_not_after(&openssl::asn1::Asn1Time::days_from_now(30).unwrap())
            .unwrap();
        b.sign(issuer.map_or(key, |(_, k)| k), MessageDigest::sha256())
            .unwrap();
        b.build()
    }

    fn generated_signer(
        key: openssl::pkey::PKey<openssl::pkey::Private>,
        chain_len: usize,
        digest: DigestAlgorithm,
        algorithm: SignatureAlgorithm,
    ) -> GeneratedSigner {
        let ca_key = openssl::pkey::PKey::from_ec_key(
            openssl::ec::EcKey::generate(
                &openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1)
                    .unwrap(),
            )
            .unwrap(),
        )
        .unwrap();
        let mut issuer = certificate("Root", 0, &[1], &ca_key, None);
        let mut chain = vec![issuer.to_der().unwrap()];
        for i in 0..chain_len.saturating_sub(1) {
            let subject = format!("Intermediate {i}");
            issuer = certificate(
                &subject,
                i,
                &[0x80, i as u8],
                &ca_key,
                Some((&issuer, &ca_key)),
            );
            chain.insert(0, issuer.to_der().unwrap());
        }
        // A 20-byte serial with the top bit set: the longest a conforming CA issues.
        let leaf = certificate(
            "Signer",
            chain_len,
            &[0xff; 20],
            &key,
            Some((&issuer, &ca_key)),
        );
        GeneratedSigner {
            key,
            certificate: leaf.to_der().unwrap(),
            chain,
            digest,
            algorithm,
        }
    }

    #[test]
    fn estimated_size_is_never_below_the_real_cms() {
        let rsa = |bits| openssl::pkey::PKey::from_rsa(openssl::rsa::Rsa::generate(bits).unwrap());
        let ec = |nid| {
            openssl::pkey::PKey::from_ec_key(
                openssl::ec::EcKey::generate(&openssl::ec::EcGroup::from_curve_name(nid).unwrap())
                    .unwrap(),
            )
        };
        let rsa4096 = rsa(4096).unwrap();
        let mut signers: Vec<Box<dyn Signer>> = vec![
            Box::new(rsa_signer()),
            Box::new(
                Pkcs12Signer::from_file(
                    &dev("signer-ec384.p12"),
                    "vanthu-dev",
                    SignerOptions::default(),
                )
                .unwrap(),
            ),
        ];
        let cases = [
            (
                rsa(2048).unwrap(),
                1,
                DigestAlgorithm::Sha256,
                SignatureAlgorithm::RsaPkcs1v15,
            ),
            (
                rsa(3072).unwrap(),
                3,
                DigestAlgorithm::Sha384,
                SignatureAlgorithm::RsaPkcs1v15,
            ),
            (
                rsa4096.clone(),
                2,
                DigestAlgorithm::Sha512,
                SignatureAlgorithm::RsaPkcs1v15,
            ),
            (
                rsa(2048).unwrap(),
                2,
                DigestAlgorithm::Sha256,
                SignatureAlgorithm::RsaPss,
            ),
            (
                rsa4096,
                1,
                DigestAlgorithm::Sha384,
                SignatureAlgorithm::RsaPss,
            ),
            (
                ec(openssl::nid::Nid::X9_62_PRIME256V1).unwrap(),
                2,
                DigestAlgorithm::Sha256,
                SignatureAlgorithm::Ecdsa,
            ),
            (
                ec(openssl::nid::Nid::SECP384R1).unwrap(),
                2,
                DigestAlgorithm::Sha384,
                SignatureAlgorithm::Ecdsa,
            ),
            // Long chains with long names: lengths of three and four octets.
            (
                rsa(2048).unwrap(),
                12,
                DigestAlgorithm::Sha256,
                SignatureAlgorithm::RsaPkcs1v15,
            ),
            (
                ec(openssl::nid::Nid::X9_62_PRIME256V1).unwrap(),
                40,
                DigestAlgorithm::Sha256,
                SignatureAlgorithm::Ecdsa,
            ),
        ];
        for (key, chain_len, digest, algorithm) in cases {
            signers.push(Box::new(generated_signer(
                key, chain_len, digest, algorithm,
            )));
        }
        for signer in &signers {
            let signer = signer.as_ref();
            let content = b"byte ranges";
            // ECDSA signatures vary in length: several tries hit the shorter ones too.
            for _ in 0..4 {
                let cms = build_signed_data(signer, &signer.digest().digest(content)).unwrap();
                check_signature(&cms, content);
                let signature = signature_value(&cms).unwrap();
                // The arithmetic matches the assembled structure byte for byte.
                assert_eq!(signed_data_len(signer, signature.len()).unwrap(), cms.len());
                assert!(cms.len() <= estimated_size(signer, 0).unwrap());
                let token = ContentInfo {
                    content_type: ID_SIGNED_DATA,
                    content: Any::encode_from(&OctetString::new(vec![7u8; 6000]).unwrap()).unwrap(),
                }
                .to_der()
                .unwrap();
                let with_ts = add_signature_timestamp(&cms, &token).unwrap();
                assert!(with_ts.len() <= estimated_size(signer, token.len()).unwrap());
            }
        }
    }

    #[test]
    fn ecdsa_and_pss_signatures_verify() {
        for (p12, opts) in [
            ("signer-ec.p12", SignerOptions::default()),
            ("signer-ec384.p12", SignerOptions::default()),
            (
                "signer-rsa.p12",
                SignerOptions {
                    digest: Some(DigestAlgorithm::Sha384),
                    pss: true,
                },
            ),
        ] {
            let signer = Pkcs12Signer::from_file(&dev(p12), "vanthu-dev", opts).unwrap();
            let content = b"content";
            let cms = build_signed_data(&signer, &signer.digest().digest(content)).unwrap();
            check_signature(&cms, content);
        }
    }

    #[test]
    fn timestamp_attribute_is_added_and_padding_tolerated() {
        let signer = rsa_signer();
        let cms = build_signed_data(&signer, &signer.digest().digest(b"x")).unwrap();
        let fake_token = ContentInfo {
            content_type: ID_SIGNED_DATA,
            content: Any::encode_from(&OctetString::new(vec![1u8; 50]).unwrap()).unwrap(),
        }
        .to_der()
        .unwrap();
        let with_ts = add_signature_timestamp(&cms, &fake_token).unwrap();
        assert!(with_ts.len() <= estimated_size(&signer, fake_token.len()).unwrap());
        let mut padded = with_ts.clone();
        padded.extend_from_slice(&[0u8; 100]);
        let parsed = ParsedSignedData::parse(&padded).unwrap();
        assert_eq!(parsed.signer.timestamp_tokens, vec![fake_token]);
        assert_eq!(
            signature_value(&with_ts).unwrap(),
            signature_value(&cms).unwrap()
        );
        // Signed attributes unchanged, so the signature still verifies.
        check_signature(&with_ts, b"x");
    }

    #[test]
    fn ber_indefinite_lengths_are_normalised() {
        let signer = rsa_signer();
        let cms = build_signed_data(&signer, &signer.digest().digest(b"ber")).unwrap();
        // Re-encode the outer ContentInfo and [0] wrapper with indefinite lengths.
        let (ci, _) = read_tlv(&cms).unwrap();
        let parts = read_all(ci.content).unwrap();
        let mut ber = vec![0x30, 0x80];
        ber.extend_from_slice(parts[0].raw);
        ber.extend_from_slice(&[0xa0, 0x80]);
        ber.extend_from_slice(parts[1].content);
        ber.extend_from_slice(&[0, 0, 0, 0]);
        ber.extend_from_slice(&[0u8; 64]);
        assert_eq!(ber_to_der(&ber).unwrap(), cms);
        let parsed = ParsedSignedData::parse(&ber).unwrap();
        assert_eq!(parsed.signer.signature, signature_value(&cms).unwrap());
        check_signature(&ber, b"ber");
        // Unterminated or too deep input is refused, not looped on.
        assert!(ber_to_der(&[0x30, 0x80, 0x30, 0x80]).is_err());
        let deep: Vec<u8> = std::iter::repeat_n([0x30u8, 0x80], 200).flatten().collect();
        assert!(ber_to_der(&deep).is_err());
        assert!(ber_to_der(&[0x04, 0x80, 0, 0]).is_err());
    }

    #[test]
    fn fragmented_octet_strings_are_joined() {
        // Indefinite and definite constructed forms, nested, as streaming encoders write them.
        let indefinite = [
            0x24, 0x80, 0x04, 0x02, 0xaa, 0xbb, 0x24, 0x03, 0x04, 0x01, 0xcc, 0, 0,
        ];
        assert_eq!(
            ber_to_der(&indefinite).unwrap(),
            [0x04, 0x03, 0xaa, 0xbb, 0xcc]
        );
        let definite = [0x30, 0x08, 0x24, 0x06, 0x04, 0x01, 0xaa, 0x04, 0x01, 0xbb];
        assert_eq!(
            ber_to_der(&definite).unwrap(),
            [0x30, 0x04, 0x04, 0x02, 0xaa, 0xbb]
        );
        // DER inside is copied as it is.
        let der = [0x30, 0x05, 0x31, 0x03, 0x02, 0x01, 0x07];
        assert_eq!(ber_to_der(&der).unwrap(), der);
        // A fragment that is not an OCTET STRING is refused.
        assert!(ber_to_der(&[0x24, 0x03, 0x02, 0x01, 0x00]).is_err());
    }

    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        push_length(&mut out, content.len());
        out.extend_from_slice(content);
        out
    }

    fn attr(oid: ObjectIdentifier, values: &[Vec<u8>]) -> Vec<u8> {
        let mut content = oid.to_der().unwrap();
        content.extend(tlv(0x31, &values.concat()));
        tlv(0x30, &content)
    }

    /// A SignerInfo with these signed and unsigned attributes (each a complete encoding).
    fn signer_info(signed: &[Vec<u8>], unsigned: &[Vec<u8>]) -> Vec<u8> {
        let algorithm = |oid: ObjectIdentifier| tlv(0x30, &oid.to_der().unwrap());
        let mut content = tlv(0x02, &[1]);
        content.extend(tlv(0x30, &[tlv(0x30, &[]), tlv(0x02, &[5])].concat()));
        content.extend(algorithm(DigestAlgorithm::Sha256.oid()));
        content.extend(tlv(0xa0, &signed.concat()));
        content.extend(algorithm(RSA_ENCRYPTION));
        content.extend(tlv(0x04, &[9; 8]));
        content.extend(tlv(0xa1, &unsigned.concat()));
        tlv(0x30, &content)
    }

    #[test]
    fn duplicates_are_read_among_unsigned_attributes_only() {
        let content_type = attr(ID_CONTENT_TYPE, &[ID_DATA.to_der().unwrap()]);
        let digest = |b: u8| tlv(0x04, &[b; 32]);
        let token = tlv(0x30, &tlv(0x02, &[1]));
        let tokens = attr(
            ID_SIGNATURE_TIME_STAMP_TOKEN,
            &[token.clone(), token.clone()],
        );
        let parsed = parse_signer_info(&signer_info(
            &[content_type.clone(), attr(ID_MESSAGE_DIGEST, &[digest(1)])],
            &[tokens.clone(), tokens],
        ))
        .unwrap();
        assert_eq!(parsed.timestamp_tokens, vec![token; 4]);
        assert_eq!(parsed.message_digest, Some(vec![1; 32]));
        assert_eq!(parsed.content_type, Some(ID_DATA));
        assert_eq!(
            parsed.sid,
            SignerId::IssuerSerial {
                issuer: vec![0x30, 0x00],
                serial: vec![5]
            }
        );

        // A second message digest or content type, as a second value or a second attribute,
        // is malformed.
        for signed in [
            vec![
                content_type.clone(),
                attr(ID_MESSAGE_DIGEST, &[digest(1), digest(2)]),
            ],
            vec![
                content_type.clone(),
                attr(ID_MESSAGE_DIGEST, &[digest(1)]),
                attr(ID_MESSAGE_DIGEST, &[digest(2)]),
            ],
            vec![
                content_type.clone(),
                content_type.clone(),
                attr(ID_MESSAGE_DIGEST, &[digest(1)]),
            ],
        ] {
            assert!(parse_signer_info(&signer_info(&signed, &[])).is_err());
        }
    }

    #[test]
    fn hostile_lengths_are_rejected() {
        assert!(ParsedSignedData::parse(&[]).is_err());
        assert!(ParsedSignedData::parse(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 0]).is_err());
        assert!(ParsedSignedData::parse(&[0x30, 0x80, 0, 0]).is_err());
        assert!(ParsedSignedData::parse(&[0x30, 0x03, 0x02, 0x01, 0x01]).is_err());
    }
}
