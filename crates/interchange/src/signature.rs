//! The enveloped XML Signature of a package: made with the organisation's seal (RSA-SHA256
//! over the exclusive canonical form), checked on receipt.
//!
//! Canonicalisation is libxml2's C14N (through the `libxml` crate), the same code libxmlsec1
//! runs, so what vanthu signs is what `xmlsec1 --verify` checks. The profile is the one
//! packages use: one reference to the whole document (`URI=""`), the enveloped-signature
//! transform, then at most one canonicalisation; any other transform (XPath, XSLT) is
//! refused rather than half-supported. RSA-SHA1 and SHA-1 digests are still read, and
//! reported as weak.

use base64::Engine;
use libxml::parser::{Parser, ParserOptions};
use libxml::tree::c14n::{CanonicalizationMode, CanonicalizationOptions};
use libxml::tree::{Document, Node, NodeType};
use openssl::hash::{hash, MessageDigest};
use openssl::pkey::{PKey, Private};
use openssl::sign::{Signer, Verifier};
use openssl::stack::Stack;
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::{X509StoreContext, X509};
use thiserror::Error;

use crate::error::PackageError;
use crate::read::{parse_xml, xml_text, Limits};
use crate::write::HEADER_END;

const DSIG_NS: &str = "http://www.w3.org/2000/09/xmldsig#";
const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";

/// A signature method or digest this module reads: its URI, name, digest and whether it is
/// weak.
struct Algorithm {
    uri: &'static str,
    name: &'static str,
    digest: fn() -> MessageDigest,
    weak: bool,
}

const SIGNATURE_METHODS: [Algorithm; 4] = [
    Algorithm {
        uri: RSA_SHA256,
        name: "RSA-SHA256",
        digest: MessageDigest::sha256,
        weak: false,
    },
    Algorithm {
        uri: "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
        name: "RSA-SHA384",
        digest: MessageDigest::sha384,
        weak: false,
    },
    Algorithm {
        uri: "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
        name: "RSA-SHA512",
        digest: MessageDigest::sha512,
        weak: false,
    },
    Algorithm {
        uri: "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
        name: "RSA-SHA1",
        digest: MessageDigest::sha1,
        weak: true,
    },
];

const DIGEST_METHODS: [Algorithm; 4] = [
    Algorithm {
        uri: SHA256,
        name: "SHA-256",
        digest: MessageDigest::sha256,
        weak: false,
    },
    Algorithm {
        uri: "http://www.w3.org/2001/04/xmldsig-more#sha384",
        name: "SHA-384",
        digest: MessageDigest::sha384,
        weak: false,
    },
    Algorithm {
        uri: "http://www.w3.org/2001/04/xmlenc#sha512",
        name: "SHA-512",
        digest: MessageDigest::sha512,
        weak: false,
    },
    Algorithm {
        uri: "http://www.w3.org/2000/09/xmldsig#sha1",
        name: "SHA-1",
        digest: MessageDigest::sha1,
        weak: true,
    },
];

/// The canonicalisation a URI names.
fn c14n(uri: &str, prefixes: Vec<String>) -> Option<CanonicalizationOptions> {
    let (mode, with_comments) = match uri {
        EXC_C14N => (CanonicalizationMode::ExclusiveCanonical1_0, false),
        "http://www.w3.org/2001/10/xml-exc-c14n#WithComments" => {
            (CanonicalizationMode::ExclusiveCanonical1_0, true)
        }
        "http://www.w3.org/TR/2001/REC-xml-c14n-20010315" => {
            (CanonicalizationMode::Canonical1_0, false)
        }
        "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments" => {
            (CanonicalizationMode::Canonical1_0, true)
        }
        "http://www.w3.org/2006/12/xml-c14n11" => (CanonicalizationMode::Canonical1_1, false),
        "http://www.w3.org/2006/12/xml-c14n11#WithComments" => {
            (CanonicalizationMode::Canonical1_1, true)
        }
        _ => return None,
    };
    Some(CanonicalizationOptions {
        mode,
        with_comments,
        inclusive_ns_prefixes: prefixes,
    })
}

/// Why a package could not be signed.
#[derive(Debug, Error)]
pub enum SignError {
    /// The seal cannot make edXML signatures.
    #[error("the seal cannot sign packages: {0}")]
    Seal(String),
    /// The XML given is not an unsigned package written by this crate.
    #[error("not an unsigned package: {0}")]
    NotAPackage(String),
    /// OpenSSL failed.
    #[error("signing failed: {0}")]
    Crypto(#[from] openssl::error::ErrorStack),
}

/// The organisation's seal: its RSA key and certificate, then the certificates up to (not
/// necessarily including) the root, placed in KeyInfo for the recipient.
pub struct Seal {
    key: PKey<Private>,
    chain: Vec<X509>,
}

impl std::fmt::Debug for Seal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key is never printed.
        f.debug_struct("Seal")
            .field("certificate", &self.chain.first().map(|c| c.subject_name()))
            .finish_non_exhaustive()
    }
}

impl Seal {
    /// A seal from its key and chain (the key's certificate first); the key must be RSA of
    /// at least 2048 bits (Circular 15/2025) and match the certificate.
    pub fn new(key: PKey<Private>, chain: Vec<X509>) -> Result<Self, SignError> {
        let cert = chain
            .first()
            .ok_or_else(|| SignError::Seal("no certificate".to_owned()))?;
        let rsa = key
            .rsa()
            .map_err(|_| SignError::Seal("edXML signatures are RSA; this key is not".to_owned()))?;
        if rsa.size() * 8 < 2048 {
            return Err(SignError::Seal(format!(
                "an RSA key of {} bits is below the 2048 required",
                rsa.size() * 8
            )));
        }
        if !cert.public_key()?.public_eq(&key) {
            return Err(SignError::Seal(
                "the key does not belong to the certificate".to_owned(),
            ));
        }
        Ok(Seal { key, chain })
    }

    /// The seal's own certificate.
    pub fn certificate(&self) -> &X509 {
        &self.chain[0]
    }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn libxml_parse(text: &str) -> Result<Document, String> {
    let options = ParserOptions {
        recover: false,
        no_net: true,
        no_def_dtd: true,
        // Attachments travel as text nodes larger than libxml2's default 10 MB; the size,
        // depth and DTD limits were already applied by the structural reader.
        huge: true,
        ..ParserOptions::default()
    };
    Parser::default()
        .parse_string_with_options(text, options)
        .map_err(|e| format!("{e:?}"))
}

fn is_dsig(node: &Node, name: &str) -> bool {
    node.get_type() == Some(NodeType::ElementNode)
        && node.get_name() == name
        && node.get_namespace().map(|ns| ns.get_href()).as_deref() == Some(DSIG_NS)
}

fn find_all(node: &Node, name: &str, out: &mut Vec<Node>) {
    // Packages nest a few levels only (the reader refused deeper ones before this runs).
    for child in node.get_child_elements() {
        if is_dsig(&child, name) {
            out.push(child.clone());
        }
        find_all(&child, name, out);
    }
}

fn dsig_child(node: &Node, name: &str) -> Option<Node> {
    node.get_child_elements()
        .into_iter()
        .find(|c| is_dsig(c, name))
}

/// Signs an unsigned package (from [`crate::Package::to_xml`] or
/// [`crate::StatusPackage::to_xml`]) with the seal: the Signature goes at the end of
/// `edXMLHeader`.
pub fn sign(xml: &str, seal: &Seal) -> Result<String, SignError> {
    let at = xml
        .find(HEADER_END)
        .ok_or_else(|| SignError::NotAPackage("no edXMLHeader".to_owned()))?;
    if xml.contains(DSIG_NS) {
        return Err(SignError::NotAPackage("it is already signed".to_owned()));
    }
    let options = c14n(EXC_C14N, Vec::new()).expect("exclusive C14N is known");
    let doc = libxml_parse(xml).map_err(SignError::NotAPackage)?;
    let canonical = doc
        .canonicalize(options.clone(), None)
        .map_err(|()| SignError::NotAPackage("cannot be canonicalised".to_owned()))?;
    let digest = hash(MessageDigest::sha256(), canonical.as_bytes())?;
    let mut certs = String::new();
    for cert in &seal.chain {
        certs.push_str("<X509Certificate>");
        certs.push_str(&b64(&cert.to_der()?));
        certs.push_str("</X509Certificate>");
    }
    let signature = format!(
        "<Signature xmlns=\"{DSIG_NS}\"><SignedInfo>\
         <CanonicalizationMethod Algorithm=\"{EXC_C14N}\"/>\
         <SignatureMethod Algorithm=\"{RSA_SHA256}\"/>\
         <Reference URI=\"\"><Transforms><Transform Algorithm=\"{ENVELOPED}\"/>\
         <Transform Algorithm=\"{EXC_C14N}\"/></Transforms>\
         <DigestMethod Algorithm=\"{SHA256}\"/><DigestValue>{}</DigestValue></Reference>\
         </SignedInfo><SignatureValue></SignatureValue>\
         <KeyInfo><X509Data>{certs}</X509Data></KeyInfo></Signature>",
        b64(&digest)
    );
    let mut signed = String::with_capacity(xml.len() + signature.len() + 512);
    signed.push_str(&xml[..at]);
    signed.push_str(&signature);
    signed.push_str(&xml[at..]);

    let doc = libxml_parse(&signed).map_err(SignError::NotAPackage)?;
    let root = doc
        .get_root_element()
        .ok_or_else(|| SignError::NotAPackage("no root element".to_owned()))?;
    let mut found = Vec::new();
    find_all(&root, "SignedInfo", &mut found);
    let mut signed_info = found
        .pop()
        .ok_or_else(|| SignError::NotAPackage("the signature was not placed".to_owned()))?;
    let canonical_info = signed_info
        .canonicalize(options)
        .map_err(|()| SignError::NotAPackage("SignedInfo cannot be canonicalised".to_owned()))?;
    let mut signer = Signer::new(MessageDigest::sha256(), &seal.key)?;
    let value = signer.sign_oneshot_to_vec(canonical_info.as_bytes())?;
    const EMPTY: &str = "<SignatureValue></SignatureValue>";
    let slot = signed
        .find(EMPTY)
        .expect("the signature just placed has an empty SignatureValue");
    signed.replace_range(
        slot..slot + EMPTY.len(),
        &format!("<SignatureValue>{}</SignatureValue>", b64(&value)),
    );
    Ok(signed)
}

/// What the signature check concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The signature covers the whole package, is intact, and its certificate chains to a
    /// trust anchor.
    Valid,
    /// Intact, but no trust anchors were given to judge the certificate by.
    IntactUnchecked,
    /// The package carries no signature.
    Missing,
    /// The package was changed after signing, or the signature cannot be checked; the
    /// reason says which.
    Broken(String),
    /// Intact, but the certificate does not chain to a trust anchor: an unknown agency.
    Untrusted(String),
}

/// The signature check of a package.
#[derive(Debug, Clone)]
pub struct SignatureReport {
    /// The conclusion.
    pub verdict: Verdict,
    /// The signature method, e.g. `RSA-SHA256`, when recognised.
    pub method: Option<&'static str>,
    /// The digest of the reference, e.g. `SHA-256`, when recognised.
    pub digest: Option<&'static str>,
    /// Whether a weak algorithm (SHA-1) was used; read, but reported.
    pub weak: bool,
    /// The signer's certificate, when one verified the signature value.
    pub signer: Option<X509>,
}

impl SignatureReport {
    fn new(verdict: Verdict) -> Self {
        SignatureReport {
            verdict,
            method: None,
            digest: None,
            weak: false,
            signer: None,
        }
    }

    /// Whether the package may be accepted as coming from whom it says.
    pub fn is_acceptable(&self) -> bool {
        self.verdict == Verdict::Valid
    }

    /// The signer's subject, one line, for reports.
    pub fn signer_subject(&self) -> Option<String> {
        let cert = self.signer.as_ref()?;
        Some(
            cert.subject_name()
                .entries()
                .filter_map(|e| {
                    Some(format!(
                        "{}={}",
                        e.object().nid().short_name().ok()?,
                        e.data().to_string().ok()?
                    ))
                })
                .collect::<Vec<_>>()
                .join(", "),
        )
    }
}

/// Checks the signature of a package against `trust` (the interchange's root
/// certificates; empty to check integrity only). The bytes are checked for size, DTD and
/// depth first, exactly as [`crate::read`] does, before libxml2 sees them.
pub fn verify(
    bytes: &[u8],
    limits: &Limits,
    trust: &[X509],
) -> Result<SignatureReport, PackageError> {
    let text = xml_text(bytes, limits)?.value;
    parse_xml(text, limits)?;
    let doc = libxml_parse(text).map_err(PackageError::Malformed)?;
    let root = doc
        .get_root_element()
        .ok_or_else(|| PackageError::Malformed("no root element".to_owned()))?;
    let mut signatures = Vec::new();
    find_all(&root, "Signature", &mut signatures);
    if is_dsig(&root, "Signature") {
        signatures.push(root.clone());
    }
    let signature = match signatures.as_slice() {
        [] => return Ok(SignatureReport::new(Verdict::Missing)),
        [one] => one.clone(),
        more => {
            return Ok(SignatureReport::new(Verdict::Broken(format!(
                "the package carries {} signatures; one seal signature is expected",
                more.len()
            ))))
        }
    };
    Ok(check(&doc, signature, trust))
}

/// The signature's parts as declared.
struct Declared {
    signed_info: Node,
    c14n: CanonicalizationOptions,
    method: &'static Algorithm,
    digest: &'static Algorithm,
    reference_c14n: CanonicalizationOptions,
    digest_value: Vec<u8>,
    signature_value: Vec<u8>,
    certificates: Vec<X509>,
}

fn broken(reason: impl Into<String>) -> Verdict {
    Verdict::Broken(reason.into())
}

fn decode_b64(text: &str, what: &str) -> Result<Vec<u8>, Verdict> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|_| broken(format!("{what} is not valid base64")))
}

fn algorithm_of(node: &Node) -> String {
    node.get_attribute("Algorithm").unwrap_or_default()
}

fn prefixes_of(node: &Node) -> Vec<String> {
    node.get_child_elements()
        .into_iter()
        .find(|c| c.get_name() == "InclusiveNamespaces")
        .and_then(|c| c.get_attribute("PrefixList"))
        .map(|list| list.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default()
}

/// Step 1: reads what the signature declares, refusing what the profile does not cover.
fn declared(signature: &Node) -> Result<Declared, Verdict> {
    let signed_info = dsig_child(signature, "SignedInfo")
        .ok_or_else(|| broken("Signature/SignedInfo is missing"))?;
    let c14n_node = dsig_child(&signed_info, "CanonicalizationMethod")
        .ok_or_else(|| broken("SignedInfo/CanonicalizationMethod is missing"))?;
    let c14n_uri = algorithm_of(&c14n_node);
    let c14n_options = c14n(&c14n_uri, prefixes_of(&c14n_node))
        .ok_or_else(|| broken(format!("canonicalisation '{c14n_uri}' is not supported")))?;
    let method_uri = dsig_child(&signed_info, "SignatureMethod")
        .map(|n| algorithm_of(&n))
        .ok_or_else(|| broken("SignedInfo/SignatureMethod is missing"))?;
    let method = SIGNATURE_METHODS
        .iter()
        .find(|a| a.uri == method_uri)
        .ok_or_else(|| broken(format!("signature method '{method_uri}' is not supported")))?;
    let references: Vec<Node> = signed_info
        .get_child_elements()
        .into_iter()
        .filter(|c| is_dsig(c, "Reference"))
        .collect();
    let [reference] = references.as_slice() else {
        return Err(broken(format!(
            "the signature has {} references; packages are signed whole, with one reference \
             URI=\"\"",
            references.len()
        )));
    };
    if reference.get_attribute("URI").as_deref() != Some("") {
        return Err(broken(
            "the reference does not cover the whole package (URI=\"\" expected)",
        ));
    }
    let transforms: Vec<Node> = dsig_child(reference, "Transforms")
        .map(|t| {
            t.get_child_elements()
                .into_iter()
                .filter(|c| is_dsig(c, "Transform"))
                .collect()
        })
        .unwrap_or_default();
    let mut enveloped = false;
    // Without a canonicalisation transform, XML Signature converts the node-set with
    // inclusive C14N 1.0 without comments.
    let mut reference_c14n = c14n(
        "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
        Vec::new(),
    )
    .expect("C14N 1.0 is known");
    for (i, t) in transforms.iter().enumerate() {
        let uri = algorithm_of(t);
        if uri == ENVELOPED && i == 0 {
            enveloped = true;
        } else if let (Some(mut options), true) =
            (c14n(&uri, prefixes_of(t)), i + 1 == transforms.len())
        {
            // URI="" selects the document without comments, whatever the transform says.
            options.with_comments = false;
            reference_c14n = options;
        } else {
            return Err(broken(format!(
                "transform '{uri}' is not supported here; packages use enveloped-signature \
                 then one canonicalisation"
            )));
        }
    }
    if !enveloped {
        return Err(broken(
            "the reference lacks the enveloped-signature transform, so it cannot cover the \
             package it sits in",
        ));
    }
    let digest_uri = dsig_child(reference, "DigestMethod")
        .map(|n| algorithm_of(&n))
        .ok_or_else(|| broken("Reference/DigestMethod is missing"))?;
    let digest = DIGEST_METHODS
        .iter()
        .find(|a| a.uri == digest_uri)
        .ok_or_else(|| broken(format!("digest method '{digest_uri}' is not supported")))?;
    let digest_value = decode_b64(
        &dsig_child(reference, "DigestValue")
            .ok_or_else(|| broken("Reference/DigestValue is missing"))?
            .get_content(),
        "DigestValue",
    )?;
    let signature_value = decode_b64(
        &dsig_child(signature, "SignatureValue")
            .ok_or_else(|| broken("Signature/SignatureValue is missing"))?
            .get_content(),
        "SignatureValue",
    )?;
    let mut certificates = Vec::new();
    if let Some(data) = dsig_child(signature, "KeyInfo").and_then(|k| dsig_child(&k, "X509Data")) {
        for c in data.get_child_elements() {
            if is_dsig(&c, "X509Certificate") {
                let der = decode_b64(&c.get_content(), "X509Certificate")?;
                certificates.push(
                    X509::from_der(&der)
                        .map_err(|_| broken("KeyInfo holds a certificate that cannot be read"))?,
                );
            }
        }
    }
    if certificates.is_empty() {
        return Err(broken(
            "KeyInfo carries no X509Certificate, so the signer cannot be known",
        ));
    }
    Ok(Declared {
        signed_info,
        c14n: c14n_options,
        method,
        digest,
        reference_c14n,
        digest_value,
        signature_value,
        certificates,
    })
}

/// Steps 2-4: the signature value over SignedInfo, the digest of the package without its
/// signature, the signer's certificate path. The report keeps the algorithms even when the
/// verdict is a refusal, so the clerk sees what was checked.
fn check(doc: &Document, signature: Node, trust: &[X509]) -> SignatureReport {
    let d = match declared(&signature) {
        Ok(d) => d,
        Err(verdict) => return SignatureReport::new(verdict),
    };
    let mut report = SignatureReport::new(Verdict::Valid);
    report.method = Some(d.method.name);
    report.digest = Some(d.digest.name);
    report.weak = d.method.weak || d.digest.weak;
    report.verdict = match judge(doc, signature, &d, trust) {
        Ok((signer, verdict)) => {
            report.signer = Some(signer);
            verdict
        }
        Err(verdict) => verdict,
    };
    report
}

fn judge(
    doc: &Document,
    mut signature: Node,
    d: &Declared,
    trust: &[X509],
) -> Result<(X509, Verdict), Verdict> {
    let mut signed_info = d.signed_info.clone();
    let canonical_info = signed_info
        .canonicalize(d.c14n.clone())
        .map_err(|()| broken("SignedInfo cannot be canonicalised"))?;
    let signer = d
        .certificates
        .iter()
        .find(|cert| {
            cert.public_key()
                .and_then(|key| {
                    let mut v = Verifier::new((d.method.digest)(), &key)?;
                    v.verify_oneshot(&d.signature_value, canonical_info.as_bytes())
                })
                .unwrap_or(false)
        })
        .cloned()
        .ok_or_else(|| {
            broken(
                "the signature value does not match SignedInfo with any certificate in KeyInfo: \
                 the signature was altered or made with another key",
            )
        })?;

    signature.unlink();
    let canonical = doc
        .canonicalize(d.reference_c14n.clone(), None)
        .map_err(|()| broken("the package cannot be canonicalised"))?;
    let digest = hash((d.digest.digest)(), canonical.as_bytes())
        .map_err(|e| broken(format!("digest failed: {e}")))?;
    if digest.as_ref() != d.digest_value.as_slice() {
        return Err(broken(
            "the package was changed after it was signed: its digest does not match the \
             signed DigestValue",
        ));
    }
    let verdict = match trust {
        [] => Verdict::IntactUnchecked,
        anchors => match chain_to(&signer, &d.certificates, anchors) {
            Ok(()) => Verdict::Valid,
            Err(why) => Verdict::Untrusted(why),
        },
    };
    Ok((signer, verdict))
}

fn chain_to(signer: &X509, carried: &[X509], anchors: &[X509]) -> Result<(), String> {
    let failed =
        |e: openssl::error::ErrorStack| format!("the certificate path cannot be built: {e}");
    let mut store = X509StoreBuilder::new().map_err(failed)?;
    for anchor in anchors {
        store.add_cert(anchor.clone()).map_err(failed)?;
    }
    let store = store.build();
    let mut others = Stack::new().map_err(failed)?;
    for cert in carried {
        others.push(cert.clone()).map_err(failed)?;
    }
    let mut ctx = X509StoreContext::new().map_err(failed)?;
    let (ok, error) = ctx
        .init(&store, signer, &others, |c| {
            let ok = c.verify_cert()?;
            Ok((ok, c.error().error_string().to_owned()))
        })
        .map_err(failed)?;
    if ok {
        Ok(())
    } else {
        Err(format!(
            "the signer's certificate does not chain to a trusted interchange root ({error}): \
             the package comes from an unknown agency"
        ))
    }
}
