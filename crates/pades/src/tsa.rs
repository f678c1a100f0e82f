//! RFC 3161 time-stamping: a client that asks a TSA over HTTP, the core of a small authority
//! (`vanthu tsa` wraps it in an HTTP listener), and the token reader the verifier uses.

use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Timelike, Utc};
use der::asn1::{BitString, GeneralizedTime, Int, OctetString, Utf8StringRef};
use der::oid::ObjectIdentifier;
use der::{Any, Decode, Encode, Sequence};
use x509_tsp::{Accuracy, MessageImprint, TimeStampReq, TspVersion, TstInfo};

use crate::algorithms::HashAlgorithm;
use crate::cms::{
    assemble_signed_data, check_integrity, pades_signed_attributes, read_all, read_tlv, CmsError,
    IntegrityCheck, ParsedSignedData, ID_CT_TST_INFO,
};
use crate::signer::{DigestAlgorithm, PemSigner, Signer, SignerError, SignerOptions};

/// Largest time-stamp response accepted from a TSA.
pub const MAX_RESPONSE_LEN: u64 = 1024 * 1024;

/// Default TSA policy: ETSI TS 119 421 best-practices-ts-policy.
pub const DEFAULT_POLICY: ObjectIdentifier = ObjectIdentifier::new_unwrap("0.4.0.2023.1.1");

/// Media type of RFC 3161 requests.
pub const QUERY_MEDIA_TYPE: &str = "application/timestamp-query";
/// Media type of RFC 3161 replies.
pub const REPLY_MEDIA_TYPE: &str = "application/timestamp-reply";

/// Time-stamping failures.
#[derive(Debug, thiserror::Error)]
pub enum TsaError {
    /// The TSA URL is unusable.
    #[error("invalid time-stamp authority URL {0}")]
    Url(String),
    /// Network or HTTP failure.
    #[error("time-stamp authority {url} could not be reached: {reason}")]
    Http {
        /// The TSA URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The TSA answered with a non-granted status.
    #[error("time-stamp authority refused the request (status {status}){}", text.as_deref().map(|t| format!(": {t}")).unwrap_or_default())]
    Rejected {
        /// PKIStatus value.
        status: u32,
        /// statusString, when given.
        text: Option<String>,
    },
    /// The response or token is malformed or does not match the request.
    #[error("invalid time-stamp response: {0}")]
    InvalidResponse(String),
    /// Building or reading the token's CMS failed.
    #[error(transparent)]
    Cms(#[from] CmsError),
    /// The authority's key could not be used.
    #[error(transparent)]
    Signer(#[from] SignerError),
}

impl From<der::Error> for TsaError {
    fn from(e: der::Error) -> Self {
        Self::InvalidResponse(e.to_string())
    }
}

/// `PKIStatusInfo` with the failure bits kept as a raw BIT STRING.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct StatusInfo {
    status: u32,
    #[asn1(optional = "true")]
    status_string: Option<Any>,
    #[asn1(optional = "true")]
    fail_info: Option<BitString>,
}

/// `TimeStampResp` with the token kept as raw DER.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct TimeStampResponse {
    status: StatusInfo,
    #[asn1(optional = "true")]
    token: Option<Any>,
}

/// PKIFailureInfo bits used by the authority.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FailureInfo {
    BadAlg = 0,
    BadRequest = 2,
    BadDataFormat = 5,
    UnacceptedPolicy = 15,
    SystemFailure = 25,
}

fn failure_bits(info: FailureInfo) -> Result<BitString, der::Error> {
    // A named BIT STRING in DER drops trailing zero bits: the last byte holds our bit.
    let n = info as usize;
    let mut bytes = vec![0u8; n / 8 + 1];
    bytes[n / 8] = 0x80 >> (n % 8);
    BitString::new((7 - n % 8) as u8, bytes)
}

/// An RFC 3161 client for one TSA URL.
#[derive(Debug, Clone)]
pub struct TsaClient {
    url: String,
    http: reqwest::blocking::Client,
}

impl TsaClient {
    /// A client with a 10 s connect and 30 s overall timeout.
    pub fn new(url: &str) -> Result<Self, TsaError> {
        let parsed = reqwest::Url::parse(url).map_err(|_| TsaError::Url(url.to_string()))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(TsaError::Url(url.to_string()));
        }
        let http = reqwest::blocking::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| TsaError::Http {
                url: url.to_string(),
                reason: e.to_string(),
            })?;
        Ok(Self {
            url: url.to_string(),
            http,
        })
    }

    /// The TSA URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Asks for a token over `imprint` (a digest computed with `digest`), with a random nonce and
    /// certReq set, and checks the answer: granted status, same imprint, same nonce, an intact
    /// token signature. Returns the token (a CMS ContentInfo) as DER.
    pub fn timestamp(&self, digest: DigestAlgorithm, imprint: &[u8]) -> Result<Vec<u8>, TsaError> {
        let nonce: [u8; 8] = rand::random();
        let request = build_request(digest, imprint, &nonce)?;
        let http_err = |reason: String| TsaError::Http {
            url: self.url.clone(),
            reason,
        };
        let response = self
            .http
            .post(&self.url)
            .header("Content-Type", QUERY_MEDIA_TYPE)
            .header("Accept", REPLY_MEDIA_TYPE)
            .body(request)
            .send()
            .map_err(|e| http_err(e.to_string()))?;
        if !response.status().is_success() {
            return Err(http_err(format!("HTTP status {}", response.status())));
        }
        let mut body = Vec::new();
        response
            .take(MAX_RESPONSE_LEN + 1)
            .read_to_end(&mut body)
            .map_err(|e| http_err(e.to_string()))?;
        if body.len() as u64 > MAX_RESPONSE_LEN {
            return Err(TsaError::InvalidResponse("response too large".into()));
        }
        check_response(&body, digest, imprint, &nonce)
    }
}

/// DER of a TimeStampReq with certReq true.
pub fn build_request(
    digest: DigestAlgorithm,
    imprint: &[u8],
    nonce: &[u8],
) -> Result<Vec<u8>, TsaError> {
    if imprint.len() != digest.output_len() {
        return Err(TsaError::InvalidResponse(
            "imprint length does not match the digest".into(),
        ));
    }
    let req = TimeStampReq {
        version: TspVersion::V1,
        message_imprint: MessageImprint {
            hash_algorithm: spki::AlgorithmIdentifier {
                oid: digest.oid(),
                parameters: None,
            },
            hashed_message: OctetString::new(imprint)?,
        },
        req_policy: None,
        nonce: Some(Int::new(&positive(nonce))?),
        cert_req: true,
        extensions: None,
    };
    Ok(req.to_der()?)
}

/// Big-endian bytes with a leading zero when the top bit is set, so INTEGERs stay positive.
/// The minimal DER content octets of the non-negative integer `bytes` (big-endian): leading
/// zero bytes dropped, one zero put back where the top bit would otherwise make it negative.
fn positive(bytes: &[u8]) -> Vec<u8> {
    let digits = strip_zeros(bytes);
    let mut v = Vec::with_capacity(digits.len() + 1);
    if digits.first().is_none_or(|b| b & 0x80 != 0) {
        v.push(0);
    }
    v.extend_from_slice(digits);
    v
}

fn strip_zeros(b: &[u8]) -> &[u8] {
    let i = b.iter().position(|x| *x != 0).unwrap_or(b.len());
    &b[i..]
}

/// Checks a TimeStampResp against the request and returns the token DER.
pub fn check_response(
    response_der: &[u8],
    digest: DigestAlgorithm,
    imprint: &[u8],
    nonce: &[u8],
) -> Result<Vec<u8>, TsaError> {
    let resp = TimeStampResponse::from_der(response_der)?;
    if resp.status.status > 1 {
        let text = resp
            .status
            .status_string
            .as_ref()
            .and_then(|a| a.decode_as::<Vec<Utf8StringRef<'_>>>().ok())
            .map(|v| v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("; "));
        return Err(TsaError::Rejected {
            status: resp.status.status,
            text,
        });
    }
    let token = resp
        .token
        .ok_or_else(|| TsaError::InvalidResponse("granted but no token".into()))?
        .to_der()?;
    let info = read_token(&token, &[])?;
    if info.digest != Some(digest.into()) || info.imprint != imprint {
        return Err(TsaError::InvalidResponse(
            "the token covers a different message imprint".into(),
        ));
    }
    if info.nonce.as_deref().map(strip_zeros) != Some(strip_zeros(nonce)) {
        return Err(TsaError::InvalidResponse(
            "the token's nonce does not match the request".into(),
        ));
    }
    if !info.integrity.intact() {
        return Err(TsaError::InvalidResponse(
            "the token's signature does not verify".into(),
        ));
    }
    Ok(token)
}

/// What a time-stamp token says, and whether its signature holds.
#[derive(Clone, Debug)]
pub struct TimestampToken {
    /// genTime.
    pub gen_time: DateTime<Utc>,
    /// Imprint digest algorithm, when known.
    pub digest: Option<HashAlgorithm>,
    /// The imprint's algorithm identifier as found.
    pub imprint_algorithm: ObjectIdentifier,
    /// The hashed message.
    pub imprint: Vec<u8>,
    /// Nonce bytes, when present.
    pub nonce: Option<Vec<u8>>,
    /// Serial number bytes.
    pub serial: Vec<u8>,
    /// TSA policy OID.
    pub policy: String,
    /// The TSA certificate (DER), found in the token or among `extra_certs`.
    pub tsa_certificate: Option<Vec<u8>>,
    /// All certificates inside the token.
    pub certificates: Vec<Vec<u8>>,
    /// Digest, signature and signing-certificate checks of the token itself.
    pub integrity: IntegrityCheck,
}

impl TimestampToken {
    /// The first algorithm of the token (message imprint, the token's digest or its signature)
    /// that the validation policy does not accept or does not know, by name or OID. Such a
    /// token proves no time; it says nothing about whether what it covers was changed.
    pub fn rejected_algorithm(&self) -> Option<String> {
        match self.digest {
            None => Some(self.imprint_algorithm.to_string()),
            Some(d) if !d.is_accepted() => Some(d.label().to_string()),
            Some(_) => self.integrity.rejected_algorithm.clone(),
        }
    }
}

/// Reads a time-stamp token (CMS ContentInfo with TSTInfo), checking its own signature.
/// `extra_certs` helps find the TSA certificate when the token does not carry it.
pub fn read_token(token_der: &[u8], extra_certs: &[Vec<u8>]) -> Result<TimestampToken, TsaError> {
    let parsed = ParsedSignedData::parse(token_der)?;
    if parsed.econtent_type != ID_CT_TST_INFO {
        return Err(TsaError::InvalidResponse(
            "the token does not hold a TSTInfo".into(),
        ));
    }
    let econtent = parsed
        .econtent
        .as_deref()
        .ok_or_else(|| TsaError::InvalidResponse("the token has no TSTInfo content".into()))?;
    let tst = ParsedTstInfo::parse(econtent)?;
    let tsa_certificate = parsed.signer_certificate().map(<[u8]>::to_vec).or_else(|| {
        extra_certs
            .iter()
            .find(|c| crate::cms::certificate_matches(c, &parsed.signer.sid))
            .cloned()
    });
    let integrity = match (&tsa_certificate, parsed.signer.digest) {
        (Some(cert), Some(_)) => check_integrity(&parsed, cert, econtent),
        (None, _) => IntegrityCheck {
            problem: Some("the time-stamp authority's certificate is missing".into()),
            ..IntegrityCheck::default()
        },
        (_, None) => IntegrityCheck {
            problem: Some(format!("unsupported digest {}", parsed.signer.digest_oid)),
            rejected_algorithm: Some(parsed.signer.digest_oid.to_string()),
            ..IntegrityCheck::default()
        },
    };
    Ok(TimestampToken {
        gen_time: tst.gen_time,
        digest: HashAlgorithm::from_identifier(&tst.imprint.hash_algorithm),
        imprint_algorithm: tst.imprint.hash_algorithm.oid,
        imprint: tst.imprint.hashed_message.as_bytes().to_vec(),
        nonce: tst.nonce,
        serial: tst.serial,
        policy: tst.policy.to_string(),
        tsa_certificate,
        certificates: parsed.certificates,
        integrity,
    })
}

/// The TSTInfo fields the verifier needs, read leniently: RFC 3161 allows fractional seconds in
/// genTime, which the strict DER GeneralizedTime type refuses.
struct ParsedTstInfo {
    policy: ObjectIdentifier,
    imprint: MessageImprint,
    serial: Vec<u8>,
    gen_time: DateTime<Utc>,
    nonce: Option<Vec<u8>>,
}

impl ParsedTstInfo {
    fn parse(der: &[u8]) -> Result<Self, TsaError> {
        let bad = |m: &str| TsaError::InvalidResponse(m.to_string());
        let (seq, _) = read_tlv(der)?;
        let fields = read_all(seq.content)?;
        if fields.len() < 5 || fields[4].tag != 0x18 || fields[3].tag != 0x02 {
            return Err(bad("malformed TSTInfo"));
        }
        let nonce = fields[5..]
            .iter()
            .find(|f| f.tag == 0x02)
            .map(|f| f.content.to_vec());
        Ok(Self {
            policy: ObjectIdentifier::from_der(fields[1].raw)?,
            imprint: MessageImprint::from_der(fields[2].raw)?,
            serial: fields[3].content.to_vec(),
            gen_time: parse_generalized_time(fields[4].content)
                .ok_or_else(|| bad("malformed genTime"))?,
            nonce,
        })
    }
}

/// `YYYYMMDDHHMMSS[.fraction]Z`.
fn parse_generalized_time(bytes: &[u8]) -> Option<DateTime<Utc>> {
    let text = std::str::from_utf8(bytes).ok()?.strip_suffix('Z')?;
    let (whole, fraction) = match text.split_once('.') {
        Some((w, f)) => (w, f),
        None => (text, ""),
    };
    if whole.len() != 14 || !fraction.bytes().all(|b| b.is_ascii_digit()) || fraction.len() > 9 {
        return None;
    }
    let naive = chrono::NaiveDateTime::parse_from_str(whole, "%Y%m%d%H%M%S").ok()?;
    let nanos = if fraction.is_empty() {
        0
    } else {
        format!("{fraction:0<9}").parse::<u32>().ok()?
    };
    naive.and_utc().with_nanosecond(nanos)
}

/// The core of a time-stamping authority: turns request DER into response DER.
pub struct Authority {
    signer: Arc<dyn Signer>,
    policy: ObjectIdentifier,
}

impl std::fmt::Debug for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authority")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl Authority {
    /// An authority signing with `signer` (its certificate should carry the critical
    /// timeStamping extended key usage) under [`DEFAULT_POLICY`].
    pub fn new(signer: Arc<dyn Signer>) -> Self {
        Self {
            signer,
            policy: DEFAULT_POLICY,
        }
    }

    /// An authority from PEM files: certificate, key, and an optional issuer chain.
    pub fn from_pem_files(
        certificate: &Path,
        key: &Path,
        chain: Option<&Path>,
    ) -> Result<Self, TsaError> {
        let signer = PemSigner::from_files(key, certificate, chain, SignerOptions::default())?;
        Ok(Self::new(Arc::new(signer)))
    }

    /// Uses another policy OID.
    pub fn with_policy(mut self, policy: ObjectIdentifier) -> Self {
        self.policy = policy;
        self
    }

    /// Answers one request: a granted response with a fresh token, or a rejection naming the
    /// problem. Never fails: whatever the input, the result is a valid TimeStampResp.
    pub fn respond(&self, request_der: &[u8]) -> Vec<u8> {
        match self.grant(request_der) {
            Ok(der) => der,
            Err((info, text)) => rejection(info, text),
        }
    }

    fn grant(&self, request_der: &[u8]) -> Result<Vec<u8>, (FailureInfo, &'static str)> {
        let req = TimeStampReq::from_der(request_der).map_err(|_| {
            (
                FailureInfo::BadDataFormat,
                "the request is not a DER TimeStampReq",
            )
        })?;
        let digest = DigestAlgorithm::from_oid(&req.message_imprint.hash_algorithm.oid).ok_or((
            FailureInfo::BadAlg,
            "unsupported hash algorithm: use SHA-256, SHA-384 or SHA-512",
        ))?;
        if req.message_imprint.hashed_message.as_bytes().len() != digest.output_len() {
            return Err((
                FailureInfo::BadDataFormat,
                "the imprint length does not match its algorithm",
            ));
        }
        if req.req_policy.is_some_and(|p| p != self.policy) {
            return Err((FailureInfo::UnacceptedPolicy, "unsupported policy"));
        }
        if req.extensions.is_some() {
            return Err((FailureInfo::BadRequest, "extensions are not supported"));
        }
        let system = |_: der::Error| (FailureInfo::SystemFailure, "internal failure");
        let serial: [u8; 16] = rand::random();
        let mut serial = serial.to_vec();
        serial[0] = (serial[0] & 0x7f) | 0x01;
        let tst = TstInfo {
            version: TspVersion::V1,
            policy: self.policy,
            message_imprint: MessageImprint {
                hash_algorithm: req.message_imprint.hash_algorithm.clone(),
                hashed_message: req.message_imprint.hashed_message.clone(),
            },
            serial_number: Int::new(&serial).map_err(system)?,
            gen_time: GeneralizedTime::from_system_time(truncate_to_seconds(SystemTime::now()))
                .map_err(system)?,
            accuracy: Some(Accuracy {
                seconds: Some(1),
                millis: None,
                micros: None,
            }),
            ordering: false,
            nonce: req.nonce.clone(),
            tsa: None,
            extensions: None,
        };
        let tst_der = tst.to_der().map_err(system)?;
        let token = self
            .sign_token(&tst_der, req.cert_req)
            .map_err(|_| (FailureInfo::SystemFailure, "internal failure"))?;
        let resp = TimeStampResponse {
            status: StatusInfo {
                status: 0,
                status_string: None,
                fail_info: None,
            },
            token: Some(Any::from_der(&token).map_err(system)?),
        };
        resp.to_der().map_err(system)
    }

    fn sign_token(&self, tst_der: &[u8], include_certificates: bool) -> Result<Vec<u8>, TsaError> {
        let s = &self.signer;
        let digest = s.digest();
        let attrs = pades_signed_attributes(
            s.certificate(),
            digest,
            &digest.digest(tst_der),
            ID_CT_TST_INFO,
        )?;
        let signature = s.sign(&attrs.to_der().map_err(CmsError::from)?)?;
        Ok(assemble_signed_data(
            s.as_ref(),
            attrs,
            &signature,
            Some((ID_CT_TST_INFO, tst_der)),
            include_certificates,
        )?)
    }
}

fn truncate_to_seconds(t: SystemTime) -> SystemTime {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

fn rejection(info: FailureInfo, text: &str) -> Vec<u8> {
    let status_string = Utf8StringRef::new(text)
        .ok()
        .and_then(|s| Any::encode_from(&vec![s]).ok());
    let resp = TimeStampResponse {
        status: StatusInfo {
            status: 2,
            status_string,
            fail_info: failure_bits(info).ok(),
        },
        token: None,
    };
    // A fixed minimal rejection if even this fails to encode: SEQUENCE { SEQUENCE { INTEGER 2 } }.
    resp.to_der()
        .unwrap_or_else(|_| vec![0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x02])
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::signer::tests::dev;

    /// A development TSA answering HTTP POSTs on a free local port, for the life of the test
    /// process. Returns its URL.
    pub(crate) fn spawn_http_tsa() -> String {
        use std::io::{BufRead, BufReader, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/tsa", listener.local_addr().unwrap());
        let tsa = dev_authority();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(stream);
                let mut len = 0usize;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    let lower = line.to_ascii_lowercase();
                    if let Some(v) = lower.strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0u8; len];
                if std::io::Read::read_exact(&mut reader, &mut body).is_err() {
                    continue;
                }
                let answer = tsa.respond(&body);
                let mut stream = reader.into_inner();
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: {REPLY_MEDIA_TYPE}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    answer.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&answer);
            }
        });
        url
    }

    #[test]
    fn client_gets_a_checked_token_over_http() {
        let client = TsaClient::new(&spawn_http_tsa()).unwrap();
        let imprint = DigestAlgorithm::Sha512.digest(b"sig");
        let token = client.timestamp(DigestAlgorithm::Sha512, &imprint).unwrap();
        let info = read_token(&token, &[]).unwrap();
        assert_eq!(info.imprint, imprint);
        assert!(info.integrity.intact());
        let down = TsaClient::new("http://127.0.0.1:9/tsa").unwrap();
        let err = down
            .timestamp(DigestAlgorithm::Sha256, &[0; 32])
            .unwrap_err();
        assert!(err.to_string().contains("could not be reached"), "{err}");
    }

    pub(crate) fn dev_authority() -> Authority {
        Authority::from_pem_files(
            &dev("tsa.pem"),
            &dev("tsa.key"),
            Some(&dev("issuing-ca.pem")),
        )
        .unwrap()
    }

    #[test]
    fn authority_grants_and_client_checks_accept() {
        let tsa = dev_authority();
        let imprint = DigestAlgorithm::Sha256.digest(b"signature value");
        let nonce = [0x85, 1, 2, 3, 4, 5, 6, 7];
        let req = build_request(DigestAlgorithm::Sha256, &imprint, &nonce).unwrap();
        let resp = tsa.respond(&req);
        let token = check_response(&resp, DigestAlgorithm::Sha256, &imprint, &nonce).unwrap();
        let info = read_token(&token, &[]).unwrap();
        assert!(info.integrity.intact(), "{:?}", info.integrity);
        assert_eq!(info.integrity.signing_certificate_ok, Some(true));
        assert_eq!(info.certificates.len(), 2);
        assert!((Utc::now() - info.gen_time).num_seconds().abs() < 5);
        assert_eq!(info.policy, DEFAULT_POLICY.to_string());

        // Wrong nonce or imprint in the check are caught.
        assert!(check_response(&resp, DigestAlgorithm::Sha256, &imprint, &[1]).is_err());
        let other = DigestAlgorithm::Sha256.digest(b"other");
        assert!(check_response(&resp, DigestAlgorithm::Sha256, &other, &nonce).is_err());

        // OpenSSL's ts verifier accepts the token's structure and signature too.
        let test = "authority_grants_and_client_checks_accept";
        if crate::test_tools::require(test, &[crate::test_tools::Tool::Openssl]).is_none() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("q.tsq"), &req).unwrap();
        std::fs::write(dir.path().join("r.tsr"), &resp).unwrap();
        let out = std::process::Command::new("openssl")
            .args(["ts", "-verify", "-queryfile"])
            .arg(dir.path().join("q.tsq"))
            .arg("-in")
            .arg(dir.path().join("r.tsr"))
            .arg("-CAfile")
            .arg(dev("root-ca.pem"))
            .arg("-untrusted")
            .arg(dev("issuing-ca.pem"))
            .output()
            .expect("run openssl ts -verify");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    #[test]
    fn certreq_false_leaves_certificates_out() {
        let tsa = dev_authority();
        let imprint = DigestAlgorithm::Sha384.digest(b"x");
        let mut req = TimeStampReq::from_der(
            &build_request(DigestAlgorithm::Sha384, &imprint, &[9]).unwrap(),
        )
        .unwrap();
        req.cert_req = false;
        let resp = tsa.respond(&req.to_der().unwrap());
        let parsed = TimeStampResponse::from_der(&resp).unwrap();
        let token = parsed.token.unwrap().to_der().unwrap();
        let without = read_token(&token, &[]).unwrap();
        assert!(without.certificates.is_empty());
        assert!(!without.integrity.intact());
        let tsa_cert = std::fs::read(dev("tsa.pem")).unwrap();
        let tsa_der = openssl::x509::X509::from_pem(&tsa_cert)
            .unwrap()
            .to_der()
            .unwrap();
        assert!(read_token(&token, &[tsa_der]).unwrap().integrity.intact());
    }

    #[test]
    fn bad_requests_get_rejections() {
        let tsa = dev_authority();
        for req in [b"garbage".to_vec(), vec![], vec![0x30, 0x00]] {
            let resp = TimeStampResponse::from_der(&tsa.respond(&req)).unwrap();
            assert_eq!(resp.status.status, 2);
            assert!(resp.token.is_none());
            assert!(resp.status.fail_info.is_some());
        }
        // SHA-1 imprint: badAlg.
        let mut req = TimeStampReq::from_der(
            &build_request(DigestAlgorithm::Sha256, &[0; 32], &[1]).unwrap(),
        )
        .unwrap();
        req.message_imprint.hash_algorithm.oid = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
        req.message_imprint.hashed_message = OctetString::new(vec![0u8; 20]).unwrap();
        let resp = tsa.respond(&req.to_der().unwrap());
        let err = check_response(&resp, DigestAlgorithm::Sha256, &[0; 32], &[1]).unwrap_err();
        assert!(
            err.to_string().contains("unsupported hash algorithm"),
            "{err}"
        );
        let parsed = TimeStampResponse::from_der(&resp).unwrap();
        assert_eq!(parsed.status.fail_info.unwrap().raw_bytes(), &[0x80]);
    }

    #[test]
    fn generalized_time_with_fractions() {
        let t = parse_generalized_time(b"20261122050102.25Z").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-22T05:01:02.250+00:00");
        assert!(parse_generalized_time(b"20261122050102Z").is_some());
        assert!(parse_generalized_time(b"20261122050102").is_none());
        assert!(parse_generalized_time(b"2026112205010Z").is_none());
        assert!(parse_generalized_time(b"20261122050102.Z").is_some());
        assert!(parse_generalized_time(b"20261122050102.x1Z").is_none());
    }

    #[test]
    fn client_rejects_bad_urls() {
        assert!(TsaClient::new("ftp://x").is_err());
        assert!(TsaClient::new("not a url").is_err());
        assert!(TsaClient::new("http://127.0.0.1:9/tsa").is_ok());
    }

    #[test]
    fn integers_are_minimal_der() {
        assert_eq!(positive(&[0, 0, 0x12]), vec![0x12]);
        assert_eq!(positive(&[0, 0x85, 1]), vec![0, 0x85, 1]);
        assert_eq!(positive(&[0x85]), vec![0, 0x85]);
        assert_eq!(positive(&[0, 0]), vec![0]);
        let nonce = [0, 0x12, 3, 4, 5, 6, 7, 8];
        let imprint = [7u8; 32];
        let req = build_request(DigestAlgorithm::Sha256, &imprint, &nonce).unwrap();
        // The DER decoder refuses non-minimal integers, as OpenSSL-based authorities do.
        let parsed = TimeStampReq::from_der(&req).unwrap();
        assert_eq!(parsed.nonce.unwrap().as_bytes(), &nonce[1..]);
    }
}
