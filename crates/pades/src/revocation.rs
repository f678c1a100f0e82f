//! Validation data for long-term signatures (B-LT): certificates, CRLs and OCSP responses for
//! every certificate of the signer's and the time-stamp authority's chains, fetched from the
//! addresses in the certificates or taken offline from files, each item once.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use openssl::hash::MessageDigest;
use openssl::ocsp::{OcspCertId, OcspRequest, OcspResponse, OcspResponseStatus};
use openssl::x509::{X509Crl, X509};
use x509_parser::extensions::{DistributionPointName, GeneralName, ParsedExtension};
use x509_parser::prelude::FromDer;

use crate::certificate::{display_name, is_self_issued, issued_by, names_equal};

/// Largest CRL accepted (CRLs can be big; beyond this they are hostile or useless in a PDF).
pub const MAX_CRL_LEN: u64 = 32 * 1024 * 1024;
/// Largest OCSP response accepted.
pub const MAX_OCSP_LEN: u64 = 1024 * 1024;
/// Most files read from one offline folder.
const MAX_OFFLINE_FILES: usize = 10_000;

/// Failures collecting validation data.
#[derive(Debug, thiserror::Error)]
pub enum RevocationError {
    /// An offline source could not be read.
    #[error("cannot read revocation data from {path}: {reason}")]
    Read {
        /// The file or folder.
        path: String,
        /// Why.
        reason: String,
    },
    /// A certificate given to the collector is malformed.
    #[error("malformed certificate: {0}")]
    Certificate(String),
    /// The HTTP client could not be built.
    #[error("HTTP client: {0}")]
    Http(String),
}

/// Certificates, CRLs and OCSP responses (all DER), each once, in the order first added: the
/// content of a /DSS.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ValidationData {
    /// Certificates.
    pub certs: Vec<Vec<u8>>,
    /// CRLs.
    pub crls: Vec<Vec<u8>>,
    /// OCSPResponse structures (full responses, as the DSS /OCSPs holds them).
    pub ocsps: Vec<Vec<u8>>,
}

fn push_unique(list: &mut Vec<Vec<u8>>, item: Vec<u8>) {
    if !list.contains(&item) {
        list.push(item);
    }
}

impl ValidationData {
    /// Adds a certificate unless already present.
    pub fn add_cert(&mut self, der: Vec<u8>) {
        push_unique(&mut self.certs, der);
    }
    /// Adds a CRL unless already present.
    pub fn add_crl(&mut self, der: Vec<u8>) {
        push_unique(&mut self.crls, der);
    }
    /// Adds an OCSP response unless already present.
    pub fn add_ocsp(&mut self, der: Vec<u8>) {
        push_unique(&mut self.ocsps, der);
    }
    /// Adds everything from `other`.
    pub fn merge(&mut self, other: ValidationData) {
        other.certs.into_iter().for_each(|c| self.add_cert(c));
        other.crls.into_iter().for_each(|c| self.add_crl(c));
        other.ocsps.into_iter().for_each(|c| self.add_ocsp(c));
    }
    /// Nothing collected.
    pub fn is_empty(&self) -> bool {
        self.certs.is_empty() && self.crls.is_empty() && self.ocsps.is_empty()
    }
}

/// Where revocation data comes from.
#[derive(Clone, Debug)]
pub enum Source {
    /// HTTP: CRL distribution points and AIA OCSP responders.
    Online,
    /// CRL (DER or PEM) and OCSP (DER, `.ocsp`/`.der` containing an OCSPResponse) files, or
    /// folders of them; nothing is fetched.
    Offline(Vec<PathBuf>),
}

/// Collected data and the certificates for which no revocation information was found.
#[derive(Clone, Debug, Default)]
pub struct Collection {
    /// What goes into the DSS.
    pub data: ValidationData,
    /// Subjects of certificates (not self-signed) left without CRL or OCSP coverage.
    pub missing: Vec<String>,
}

/// Gathers validation data for certificate chains.
#[derive(Debug, Clone)]
pub struct Collector {
    source: Source,
    http: reqwest::blocking::Client,
    /// CRL downloads by URL (`None` when the download failed), shared by clones.
    downloads: Arc<Mutex<HashMap<String, Option<Vec<u8>>>>>,
}

impl Collector {
    /// A collector for `source`, with 10 s connect / 30 s overall HTTP timeouts.
    pub fn new(source: Source) -> Result<Self, RevocationError> {
        let http = reqwest::blocking::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| RevocationError::Http(e.to_string()))?;
        Ok(Self {
            source,
            http,
            downloads: Arc::default(),
        })
    }

    /// Collects data for every certificate in `certs` (signer, issuers, TSA and its issuers, in
    /// any order; roots may be included). All certificates go into the result; each one that is
    /// not self-signed gets an OCSP response when its issuer is known and it names a responder,
    /// otherwise the CRLs of its distribution points.
    pub fn collect(&self, certs: &[Vec<u8>]) -> Result<Collection, RevocationError> {
        let parsed: Vec<X509> = certs
            .iter()
            .map(|c| X509::from_der(c).map_err(|e| RevocationError::Certificate(e.to_string())))
            .collect::<Result<_, _>>()?;
        let offline = match &self.source {
            Source::Offline(paths) => Some(load_offline(paths)?),
            Source::Online => None,
        };
        let mut out = Collection::default();
        for c in certs {
            out.data.add_cert(c.clone());
        }
        for cert in &parsed {
            if is_self_issued(cert) {
                continue;
            }
            let issuer = parsed.iter().find(|i| issued_by(cert, i));
            let covered = match &offline {
                Some(files) => covers_offline(cert, issuer, files, &mut out.data),
                None => self.fetch_online(cert, issuer, &mut out.data),
            };
            if !covered {
                out.missing.push(display_name(cert.subject_name()));
            }
        }
        Ok(out)
    }

    fn fetch_online(&self, cert: &X509, issuer: Option<&X509>, data: &mut ValidationData) -> bool {
        let urls = Urls::of(cert);
        if let Some(issuer) = issuer {
            for url in &urls.ocsp {
                match self.fetch_ocsp(url, cert, issuer) {
                    Ok(resp) => {
                        ocsp_certificates(&resp)
                            .into_iter()
                            .for_each(|c| data.add_cert(c));
                        data.add_ocsp(resp);
                        return true;
                    }
                    Err(e) => tracing::warn!(url = %url, error = %e, "OCSP request failed"),
                }
            }
        }
        let mut covered = false;
        for url in &urls.crl {
            if let Some(der) = self.crl(url) {
                covered = true;
                data.add_crl(der);
            }
        }
        covered
    }

    /// The CRL at `url`, downloaded once per collector.
    fn crl(&self, url: &str) -> Option<Vec<u8>> {
        if let Some(known) = self.downloads.lock().ok()?.get(url) {
            return known.clone();
        }
        let got = match self
            .get(url, MAX_CRL_LEN)
            .and_then(|b| crl_to_der(&b).ok_or_else(|| "not a CRL".to_string()))
        {
            Ok(der) => Some(der),
            Err(e) => {
                tracing::warn!(url = %url, error = %e, "CRL download failed");
                None
            }
        };
        self.downloads
            .lock()
            .ok()?
            .insert(url.to_string(), got.clone());
        got
    }

    fn get(&self, url: &str, limit: u64) -> Result<Vec<u8>, String> {
        let resp = self.http.get(url).send().map_err(|e| e.to_string())?;
        read_limited(resp, limit)
    }

    fn fetch_ocsp(&self, url: &str, cert: &X509, issuer: &X509) -> Result<Vec<u8>, String> {
        let mut req = OcspRequest::new().map_err(|e| e.to_string())?;
        let id = OcspCertId::from_cert(MessageDigest::sha1(), cert, issuer)
            .map_err(|e| e.to_string())?;
        req.add_id(id).map_err(|e| e.to_string())?;
        let body = req.to_der().map_err(|e| e.to_string())?;
        let resp = self
            .http
            .post(url)
            .header("Content-Type", "application/ocsp-request")
            .header("Accept", "application/ocsp-response")
            .body(body)
            .send()
            .map_err(|e| e.to_string())?;
        let der = read_limited(resp, MAX_OCSP_LEN)?;
        let parsed =
            OcspResponse::from_der(&der).map_err(|_| "not an OCSP response".to_string())?;
        if parsed.status() != OcspResponseStatus::SUCCESSFUL {
            return Err(format!("responder status {}", parsed.status().as_raw()));
        }
        Ok(der)
    }
}

fn read_limited(resp: reqwest::blocking::Response, limit: u64) -> Result<Vec<u8>, String> {
    if !resp.status().is_success() {
        return Err(format!("HTTP status {}", resp.status()));
    }
    let mut body = Vec::new();
    resp.take(limit + 1)
        .read_to_end(&mut body)
        .map_err(|e| e.to_string())?;
    if body.len() as u64 > limit {
        return Err("response too large".into());
    }
    Ok(body)
}

/// CRL and OCSP addresses named in a certificate.
#[derive(Debug, Default)]
pub struct Urls {
    /// HTTP(S) CRL distribution points.
    pub crl: Vec<String>,
    /// AIA OCSP responders.
    pub ocsp: Vec<String>,
}

impl Urls {
    /// Reads the addresses from a certificate; unparsable extensions give none.
    pub fn of(cert: &X509) -> Self {
        let mut out = Self::default();
        let Ok(der) = cert.to_der() else { return out };
        let Ok((_, parsed)) = x509_parser::certificate::X509Certificate::from_der(&der) else {
            return out;
        };
        let http = |s: &str| s.starts_with("http://") || s.starts_with("https://");
        for ext in parsed.extensions() {
            match ext.parsed_extension() {
                ParsedExtension::CRLDistributionPoints(dps) => {
                    for dp in dps.iter() {
                        if let Some(DistributionPointName::FullName(names)) = &dp.distribution_point
                        {
                            for n in names {
                                if let GeneralName::URI(u) = n {
                                    if http(u) {
                                        out.crl.push(u.to_string());
                                    }
                                }
                            }
                        }
                    }
                }
                ParsedExtension::AuthorityInfoAccess(aia) => {
                    for ad in aia.iter() {
                        if ad.access_method
                            == x509_parser::oid_registry::OID_PKIX_ACCESS_DESCRIPTOR_OCSP
                        {
                            if let GeneralName::URI(u) = &ad.access_location {
                                if http(u) {
                                    out.ocsp.push(u.to_string());
                                }
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        out
    }
}

/// Offline material: CRLs and OCSP responses read from files.
#[derive(Debug, Default)]
struct OfflineFiles {
    crls: Vec<Vec<u8>>,
    ocsps: Vec<Vec<u8>>,
}

fn load_offline(paths: &[PathBuf]) -> Result<OfflineFiles, RevocationError> {
    let mut out = OfflineFiles::default();
    let read_err = |p: &Path, e: std::io::Error| RevocationError::Read {
        path: p.display().to_string(),
        reason: e.to_string(),
    };
    for path in paths {
        let files: Vec<PathBuf> = if path.is_dir() {
            let mut v: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| read_err(path, e))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .take(MAX_OFFLINE_FILES)
                .collect();
            v.sort();
            v
        } else {
            vec![path.clone()]
        };
        let explicit = !path.is_dir();
        for file in files {
            let size = std::fs::metadata(&file)
                .map_err(|e| read_err(&file, e))?
                .len();
            if size > MAX_CRL_LEN {
                continue;
            }
            let bytes = std::fs::read(&file).map_err(|e| read_err(&file, e))?;
            if let Some(crl) = crl_to_der(&bytes) {
                out.crls.push(crl);
            } else if OcspResponse::from_der(&bytes).is_ok() {
                out.ocsps.push(bytes);
            } else if explicit {
                return Err(RevocationError::Read {
                    path: file.display().to_string(),
                    reason: "neither a CRL nor an OCSP response".into(),
                });
            }
        }
    }
    Ok(out)
}

fn covers_offline(
    cert: &X509,
    issuer: Option<&X509>,
    files: &OfflineFiles,
    data: &mut ValidationData,
) -> bool {
    let mut covered = false;
    if let Some(issuer) = issuer {
        for resp in &files.ocsps {
            if ocsp_mentions(resp, cert, issuer) {
                ocsp_certificates(resp)
                    .into_iter()
                    .for_each(|c| data.add_cert(c));
                data.add_ocsp(resp.clone());
                covered = true;
            }
        }
    }
    for crl in &files.crls {
        if crl_issued_for(crl, cert) && issuer.is_none_or(|i| crl_signed_by(crl, i)) {
            data.add_crl(crl.clone());
            covered = true;
        }
    }
    covered
}

/// DER of a CRL given as DER or PEM.
pub fn crl_to_der(bytes: &[u8]) -> Option<Vec<u8>> {
    X509Crl::from_der(bytes)
        .or_else(|_| X509Crl::from_pem(bytes))
        .ok()
        .and_then(|c| c.to_der().ok())
}

/// Whether the CRL's issuer is the certificate's issuer.
pub fn crl_issued_for(crl_der: &[u8], cert: &X509) -> bool {
    let Ok(crl) = X509Crl::from_der(crl_der) else {
        return false;
    };
    names_equal(crl.issuer_name(), cert.issuer_name())
}

fn crl_signed_by(crl_der: &[u8], issuer: &X509) -> bool {
    let (Ok(crl), Ok(key)) = (X509Crl::from_der(crl_der), issuer.public_key()) else {
        return false;
    };
    crl.verify(&key).unwrap_or(false)
}

fn ocsp_mentions(resp_der: &[u8], cert: &X509, issuer: &X509) -> bool {
    let Ok(resp) = OcspResponse::from_der(resp_der) else {
        return false;
    };
    let Ok(basic) = resp.basic() else {
        return false;
    };
    [MessageDigest::sha1(), MessageDigest::sha256()]
        .into_iter()
        .any(|md| {
            OcspCertId::from_cert(md, cert, issuer)
                .map(|id| basic.find_status(&id).is_some())
                .unwrap_or(false)
        })
}

/// Certificates a BasicOCSPResponse carries (delegated responders), DER.
fn ocsp_certificates(resp_der: &[u8]) -> Vec<Vec<u8>> {
    // openssl-rs does not expose the response's certs; read them from the DER:
    // OCSPResponse { status, [0] { SEQUENCE { type, OCTET STRING { BasicOCSPResponse } } } }
    // BasicOCSPResponse { tbs, alg, sig, [0] EXPLICIT SEQUENCE OF Certificate }.
    use crate::cms::{read_all, read_tlv};
    let inner = || -> Option<Vec<Vec<u8>>> {
        let (outer, _) = read_tlv(resp_der).ok()?;
        let fields = read_all(outer.content).ok()?;
        let (bytes_seq, _) = read_tlv(fields.get(1)?.content).ok()?;
        let rb = read_all(bytes_seq.content).ok()?;
        let (basic, _) = read_tlv(rb.get(1)?.content).ok()?;
        let bf = read_all(basic.content).ok()?;
        let certs = bf.iter().find(|t| t.tag == 0xa0)?;
        let (seq, _) = read_tlv(certs.content).ok()?;
        Some(
            read_all(seq.content)
                .ok()?
                .into_iter()
                .map(|t| t.raw.to_vec())
                .collect(),
        )
    };
    inner().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signer::tests::dev;

    fn der(name: &str) -> Vec<u8> {
        X509::from_pem(&std::fs::read(dev(name)).unwrap())
            .unwrap()
            .to_der()
            .unwrap()
    }

    #[test]
    fn offline_collection_covers_signer_and_tsa_chains_once() {
        let collector = Collector::new(Source::Offline(vec![
            dev("issuing-ca.crl"),
            dev("root-ca.crl"),
        ]))
        .unwrap();
        let certs = vec![
            der("signer-rsa.pem"),
            der("issuing-ca.pem"),
            der("tsa.pem"),
            der("issuing-ca.pem"),
            der("root-ca.pem"),
        ];
        let got = collector.collect(&certs).unwrap();
        assert!(got.missing.is_empty(), "{:?}", got.missing);
        assert_eq!(got.data.certs.len(), 4, "duplicates removed");
        assert_eq!(got.data.crls.len(), 2);
        assert!(got.data.ocsps.is_empty());
    }

    #[test]
    fn offline_folder_and_missing_coverage() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(dev("issuing-ca.crl"), dir.path().join("issuing.crl")).unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not a crl").unwrap();
        let collector = Collector::new(Source::Offline(vec![dir.path().to_path_buf()])).unwrap();
        let got = collector
            .collect(&[der("seal.pem"), der("issuing-ca.pem")])
            .unwrap();
        assert_eq!(got.data.crls.len(), 1);
        assert_eq!(got.missing.len(), 1, "issuing CA has no root CRL here");
        assert!(got.missing[0].contains("Issuing CA"), "{:?}", got.missing);
        let bad = Collector::new(Source::Offline(vec![dir.path().join("notes.txt")])).unwrap();
        assert!(bad.collect(&[der("seal.pem")]).is_err());
    }

    #[test]
    fn urls_are_read_from_certificates() {
        let cert = X509::from_pem(&std::fs::read(dev("signer-ec.pem")).unwrap()).unwrap();
        let urls = Urls::of(&cert);
        assert_eq!(
            urls.crl,
            vec!["http://127.0.0.1:8180/issuing-ca.crl".to_string()]
        );
        assert!(urls.ocsp.is_empty());
    }

    /// A certificate from the development issuing CA, serial `serial`, carrying one extension
    /// given in OpenSSL's text form (CRL distribution point or authority information access).
    // openssl-rs has no typed builders for these two extensions; the text form is fine here.
    #[allow(deprecated)]
    fn leaf_with(serial: u32, nid: openssl::nid::Nid, value: &str) -> Vec<u8> {
        let key =
            openssl::pkey::PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap();
        let issuer = X509::from_pem(&std::fs::read(dev("issuing-ca.pem")).unwrap()).unwrap();
        let issuer_key = openssl::pkey::PKey::private_key_from_pem(
            &std::fs::read(dev("issuing-ca.key")).unwrap(),
        )
        .unwrap();
        let mut name = openssl::x509::X509NameBuilder::new().unwrap();
        name.append_entry_by_text("CN", "leaf").unwrap();
        let leaf_name = name.build();
        let mut b = openssl::x509::X509Builder::new().unwrap();
        b.set_version(2).unwrap();
        let serial = openssl::bn::BigNum::from_u32(serial).unwrap();
        b.set_serial_number(&serial.to_asn1_integer().unwrap())
            .unwrap();
        b.set_subject_name(&leaf_name).unwrap();
        b.set_issuer_name(issuer.subject_name()).unwrap();
        b.set_pubkey(&key).unwrap();
        b.set_not_before(&openssl::asn1::Asn1Time::days_from_now(0).unwrap())
            .unwrap();
        b.set_not_after(&openssl::asn1::Asn1Time::days_from_now(1).unwrap())
            .unwrap();
        let ctx = b.x509v3_context(Some(&issuer), None);
        let ext = openssl::x509::X509Extension::new_nid(None, Some(&ctx), nid, value).unwrap();
        b.append_extension(ext).unwrap();
        b.sign(&issuer_key, MessageDigest::sha256()).unwrap();
        b.build().to_der().unwrap()
    }

    fn leaf_with_crl_url(crl_url: &str) -> Vec<u8> {
        leaf_with(
            0x7001,
            openssl::nid::Nid::CRL_DISTRIBUTION_POINTS,
            &format!("URI:{crl_url}"),
        )
    }

    #[test]
    fn online_collection_asks_the_ocsp_responder_first() {
        let test = "online_collection_asks_the_ocsp_responder_first";
        if crate::test_tools::require(test, &[crate::test_tools::Tool::Openssl]).is_none() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("index.txt"),
            "V\t311121000000Z\t\t7002\tunknown\t/CN=leaf\n",
        )
        .unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let (issuer, key) = (dev("issuing-ca.pem"), dev("issuing-ca.key"));
        let responder = std::process::Command::new("openssl")
            .current_dir(dir.path())
            .args(["ocsp", "-index", "index.txt", "-port", &port.to_string()])
            .arg("-rsigner")
            .arg(&issuer)
            .arg("-rkey")
            .arg(&key)
            .arg("-CA")
            .arg(&issuer)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start openssl ocsp");
        /// Stops the responder however the test ends.
        struct Stop(std::process::Child);
        impl Drop for Stop {
            fn drop(&mut self) {
                let _ = self.0.kill();
                let _ = self.0.wait();
            }
        }
        let responder = Stop(responder);
        let url = format!("http://127.0.0.1:{port}");
        let leaf = leaf_with(
            0x7002,
            openssl::nid::Nid::INFO_ACCESS,
            &format!("OCSP;URI:{url}"),
        );
        // The responder is single-threaded and stalls on a bare connection probe, so readiness
        // is awaited by asking it for real until it answers.
        let collector = Collector::new(Source::Online).unwrap();
        let mut got = Collection::default();
        for _ in 0..50 {
            got = collector
                .collect(&[leaf.clone(), der("issuing-ca.pem")])
                .unwrap();
            if !got.data.ocsps.is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        drop(responder);
        assert_eq!(got.data.ocsps.len(), 1, "{:?}", got.missing);
        let anchors = crate::trust::TrustAnchors::from_path(&dev("root-ca.pem")).unwrap();
        let chain = [
            X509::from_der(&leaf).unwrap(),
            X509::from_pem(&std::fs::read(dev("issuing-ca.pem")).unwrap()).unwrap(),
        ];
        let status = crate::trust::check_revocation(
            &chain,
            &anchors,
            &[],
            &got.data.ocsps,
            chrono::Utc::now(),
        );
        assert!(
            matches!(
                status[0].status,
                crate::trust::RevocationStatus::Good { source: "ocsp", .. }
            ),
            "{status:?}"
        );
    }

    /// Serves `body` to every HTTP request on a free local port; returns the base URL and the
    /// request counter.
    fn serve(body: Vec<u8>) -> (String, Arc<std::sync::atomic::AtomicUsize>) {
        use std::io::{BufRead, BufReader, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let hits = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = hits.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let mut reader = BufReader::new(stream);
                let mut line = String::new();
                while reader.read_line(&mut line).unwrap_or(0) > 0 && line != "\r\n" {
                    line.clear();
                }
                let mut stream = reader.into_inner();
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&body);
            }
        });
        (url, hits)
    }

    #[test]
    fn online_collection_downloads_crls_once_and_reports_unreachable_ones() {
        let collector = Collector::new(Source::Online).unwrap();
        let (base, hits) = serve(std::fs::read(dev("issuing-ca.crl")).unwrap());
        let url = format!("{base}/issuing-ca.crl");
        let (a, b) = (leaf_with_crl_url(&url), leaf_with_crl_url(&url));
        let got = collector.collect(&[a.clone(), b]).unwrap();
        assert_eq!(got.data.crls.len(), 1, "one copy");
        assert!(got.missing.is_empty(), "{:?}", got.missing);
        assert_eq!(got.data.certs.len(), 2);
        // A later collection by the same collector (another signature) reuses the download.
        assert_eq!(collector.collect(&[a]).unwrap().data.crls.len(), 1);
        assert_eq!(
            hits.load(std::sync::atomic::Ordering::SeqCst),
            1,
            "downloaded once"
        );

        // Nothing listens on port 9 (discard) here: the CRL cannot be fetched.
        let got = collector
            .collect(&[leaf_with_crl_url("http://127.0.0.1:9/x.crl")])
            .unwrap();
        assert_eq!(got.missing, vec!["CN=leaf".to_string()]);
        assert!(got.data.crls.is_empty());
    }
}
