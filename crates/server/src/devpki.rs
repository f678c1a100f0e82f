//! The development PKI from `certs-dev/`, compiled into the binary so `--demo` works from any
//! directory: it issues demo certificates, and it recognises them so a production start can
//! refuse a database that still trusts development keys.

use openssl::asn1::{Asn1Integer, Asn1Object, Asn1OctetString, Asn1Time};
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::extension::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectKeyIdentifier,
};
use openssl::x509::{X509Extension, X509NameBuilder, X509Ref, X509};

/// The development root CA, which `--dev` and `--demo` add to the trust anchors.
pub const ROOT_CA_PEM: &[u8] = include_bytes!("../../../certs-dev/root-ca.pem");
const ISSUING_CA_PEM: &[u8] = include_bytes!("../../../certs-dev/issuing-ca.pem");
const ISSUING_CA_KEY: &[u8] = include_bytes!("../../../certs-dev/issuing-ca.key");

/// Where relying parties fetch the development CRL (served by `vanthu tsa`).
const CRL_URL: &str = "http://127.0.0.1:8180/issuing-ca.crl";
/// Extended key usage for document signing (id-kp-documentSigning, RFC 9336).
const DOCUMENT_SIGNING_EKU: &str = "1.3.6.1.5.5.7.3.36";
/// Demo certificates last two years, well inside the issuing CA's life.
const VALIDITY_DAYS: u32 = 730;

/// What a certificate is for, which decides its key type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// An official's personal signing key: ECDSA P-256.
    Personal,
    /// An organisation's seal: RSA 2048, the type most validators in the field accept.
    Seal,
}

/// A freshly issued certificate with its private key.
pub struct Issued {
    /// The certificate, signed by the development issuing CA.
    pub certificate: X509,
    /// Its private key.
    pub key: PKey<Private>,
}

/// The development root and issuing CA.
pub struct DevPki {
    root: X509,
    issuing: X509,
    issuing_key: PKey<Private>,
}

impl DevPki {
    /// Loads the embedded certificates and key.
    pub fn load() -> Result<Self, openssl::error::ErrorStack> {
        Ok(Self {
            root: X509::from_pem(ROOT_CA_PEM)?,
            issuing: X509::from_pem(ISSUING_CA_PEM)?,
            issuing_key: PKey::private_key_from_pem(ISSUING_CA_KEY)?,
        })
    }

    /// Issues a signing certificate for `common_name` in `organisation`, valid two years.
    pub fn issue(
        &self,
        kind: KeyKind,
        common_name: &str,
        organisation: &str,
    ) -> Result<Issued, openssl::error::ErrorStack> {
        self.issue_for_days(kind, common_name, organisation, VALIDITY_DAYS)
    }

    /// Issues a signing certificate valid for `days` from now.
    pub fn issue_for_days(
        &self,
        kind: KeyKind,
        common_name: &str,
        organisation: &str,
        days: u32,
    ) -> Result<Issued, openssl::error::ErrorStack> {
        let key = match kind {
            KeyKind::Personal => {
                let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
                PKey::from_ec_key(EcKey::generate(&group)?)?
            }
            KeyKind::Seal => PKey::from_rsa(Rsa::generate(2048)?)?,
        };
        let mut name = X509NameBuilder::new()?;
        name.append_entry_by_nid(Nid::COUNTRYNAME, "VN")?;
        name.append_entry_by_nid_with_type(
            Nid::ORGANIZATIONNAME,
            organisation,
            openssl::asn1::Asn1Type::UTF8STRING,
        )?;
        name.append_entry_by_nid_with_type(
            Nid::COMMONNAME,
            common_name,
            openssl::asn1::Asn1Type::UTF8STRING,
        )?;
        let name = name.build();

        let mut serial = BigNum::new()?;
        serial.rand(127, MsbOption::MAYBE_ZERO, false)?;

        let mut builder = X509::builder()?;
        builder.set_version(2)?;
        let serial = Asn1Integer::from_bn(&serial)?;
        builder.set_serial_number(&serial)?;
        builder.set_subject_name(&name)?;
        builder.set_issuer_name(self.issuing.subject_name())?;
        builder.set_pubkey(&key)?;
        let not_before = Asn1Time::days_from_now(0)?;
        let not_after = Asn1Time::days_from_now(days)?;
        builder.set_not_before(&not_before)?;
        builder.set_not_after(&not_after)?;
        builder.append_extension(BasicConstraints::new().critical().build()?)?;
        builder.append_extension(
            KeyUsage::new()
                .critical()
                .digital_signature()
                .non_repudiation()
                .build()?,
        )?;
        builder.append_extension(
            ExtendedKeyUsage::new()
                .email_protection()
                .other(DOCUMENT_SIGNING_EKU)
                .build()?,
        )?;
        let ski = SubjectKeyIdentifier::new()
            .build(&builder.x509v3_context(Some(&self.issuing), None))?;
        builder.append_extension(ski)?;
        let aki = AuthorityKeyIdentifier::new()
            .keyid(true)
            .build(&builder.x509v3_context(Some(&self.issuing), None))?;
        builder.append_extension(aki)?;
        builder.append_extension(crl_distribution_point(CRL_URL)?)?;
        builder.sign(&self.issuing_key, MessageDigest::sha256())?;
        Ok(Issued {
            certificate: builder.build(),
            key,
        })
    }

    /// The issuing CA that signs every certificate [`DevPki::issue`] makes.
    pub fn issuing_ca(&self) -> &X509 {
        &self.issuing
    }

    /// Whether `cert` is one of the development CAs or was signed by one of them.
    pub fn recognises(&self, cert: &X509Ref) -> bool {
        let same = |ca: &X509| {
            matches!(
                (cert.digest(MessageDigest::sha256()), ca.digest(MessageDigest::sha256())),
                (Ok(a), Ok(b)) if *a == *b
            )
        };
        let signed_by = |ca: &X509| {
            ca.public_key()
                .and_then(|key| cert.verify(&key))
                .unwrap_or(false)
        };
        same(&self.root) || same(&self.issuing) || signed_by(&self.issuing) || signed_by(&self.root)
    }
}

/// openssl's builders have no CRL distribution point extension, so it is encoded here:
/// SEQUENCE { SEQUENCE { [0] { [0] { [6] uri } } } } (RFC 5280, 4.2.1.13).
fn crl_distribution_point(uri: &str) -> Result<X509Extension, openssl::error::ErrorStack> {
    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        // Short-form lengths suffice: the URL is a constant well under 120 bytes.
        assert!(content.len() < 128, "CRL URL too long for short-form DER");
        let mut out = vec![tag, content.len() as u8];
        out.extend_from_slice(content);
        out
    }
    let der = tlv(
        0x30,
        &tlv(0x30, &tlv(0xa0, &tlv(0xa0, &tlv(0x86, uri.as_bytes())))),
    );
    let oid = Asn1Object::from_str("2.5.29.31")?;
    let value = Asn1OctetString::new_from_bytes(&der)?;
    X509Extension::new_from_der(&oid, false, &value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::stack::Stack;
    use openssl::x509::store::X509StoreBuilder;
    use openssl::x509::X509StoreContext;

    fn chains_to_root(pki: &DevPki, cert: &X509) -> bool {
        let mut store = X509StoreBuilder::new().unwrap();
        store.add_cert(pki.root.clone()).unwrap();
        let store = store.build();
        let mut chain = Stack::new().unwrap();
        chain.push(pki.issuing.clone()).unwrap();
        let mut ctx = X509StoreContext::new().unwrap();
        ctx.init(&store, cert, &chain, |c| c.verify_cert()).unwrap()
    }

    #[test]
    fn issued_certificates_chain_to_the_development_root() {
        let pki = DevPki::load().unwrap();
        for kind in [KeyKind::Personal, KeyKind::Seal] {
            let issued = pki
                .issue(kind, "Nguyễn Thị Hoa", "UBND huyện Yên Lạc")
                .unwrap();
            assert!(chains_to_root(&pki, &issued.certificate));
            assert!(pki.recognises(&issued.certificate));
            let cn = issued
                .certificate
                .subject_name()
                .entries_by_nid(Nid::COMMONNAME)
                .next()
                .unwrap()
                .data()
                .to_string()
                .unwrap();
            assert_eq!(cn, "Nguyễn Thị Hoa");
            let text = String::from_utf8(issued.certificate.to_text().unwrap()).unwrap();
            assert!(text.contains(CRL_URL), "{text}");
            assert!(issued
                .certificate
                .public_key()
                .unwrap()
                .public_eq(&issued.key));
        }
    }

    #[test]
    fn foreign_certificates_are_not_recognised() {
        let pki = DevPki::load().unwrap();
        let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
        let mut name = X509NameBuilder::new().unwrap();
        name.append_entry_by_text("CN", "Other CA").unwrap();
        let name = name.build();
        let mut builder = X509::builder().unwrap();
        builder.set_version(2).unwrap();
        builder.set_subject_name(&name).unwrap();
        builder.set_issuer_name(&name).unwrap();
        builder.set_pubkey(&key).unwrap();
        builder
            .set_not_before(&Asn1Time::days_from_now(0).unwrap())
            .unwrap();
        builder
            .set_not_after(&Asn1Time::days_from_now(1).unwrap())
            .unwrap();
        builder.sign(&key, MessageDigest::sha256()).unwrap();
        let foreign = builder.build();
        assert!(!pki.recognises(&foreign));
        assert!(pki.recognises(&pki.root));
        assert!(
            pki.recognises(&X509::from_pem(include_bytes!("../../../certs-dev/seal.pem")).unwrap())
        );
    }
}
