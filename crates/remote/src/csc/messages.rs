//! The JSON bodies of the Cloud Signature Consortium API v1.0.4 (CSC API V1.0.4.0, sections
//! 11.1 to 11.9), as vanthu's CSC server answers them and its client sends them. Field names
//! are the specification's, which mixes camelCase, upper case (`PIN`, `SAD`) and snake_case
//! (`access_token`); unknown fields are ignored, as clients add vendor data.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The version of the specification implemented, as `info` reports it.
pub const SPECS: &str = "1.0.4.0";

/// OID of SHA-256.
pub const SHA256: &str = "2.16.840.1.101.3.4.2.1";
/// OID of SHA-384.
pub const SHA384: &str = "2.16.840.1.101.3.4.2.2";
/// OID of SHA-512.
pub const SHA512: &str = "2.16.840.1.101.3.4.2.3";
/// OID of rsaEncryption: RSA PKCS#1 v1.5, the digest named by `hashAlgo`.
pub const RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";
/// OID of sha256WithRSAEncryption.
pub const SHA256_WITH_RSA: &str = "1.2.840.113549.1.1.11";
/// OID of sha384WithRSAEncryption.
pub const SHA384_WITH_RSA: &str = "1.2.840.113549.1.1.12";
/// OID of sha512WithRSAEncryption.
pub const SHA512_WITH_RSA: &str = "1.2.840.113549.1.1.13";
/// OID of ecdsa-with-SHA256.
pub const ECDSA_WITH_SHA256: &str = "1.2.840.10045.4.3.2";
/// OID of ecdsa-with-SHA384.
pub const ECDSA_WITH_SHA384: &str = "1.2.840.10045.4.3.3";
/// OID of ecdsa-with-SHA512.
pub const ECDSA_WITH_SHA512: &str = "1.2.840.10045.4.3.4";

/// Body of `info` (11.1).
#[derive(Debug, Default, Clone, Serialize, Deserialize, ToSchema)]
pub struct InfoRequest {
    /// Preferred language of the answer (RFC 5646).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "vi")]
    pub lang: Option<String>,
}

/// Answer of `info`: what the service is and which methods it offers.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct InfoResponse {
    /// The specification's version, `1.0.4.0`.
    pub specs: String,
    /// The service's name.
    pub name: String,
    /// Address of the service's logo.
    pub logo: String,
    /// ISO 3166-1 country code of the service.
    pub region: String,
    /// Language of the answer.
    pub lang: String,
    /// What the service is.
    pub description: String,
    /// How clients authenticate to the service: `basic` (`auth/login`).
    #[serde(rename = "authType")]
    pub auth_type: Vec<String>,
    /// The methods implemented, e.g. `credentials/authorize`.
    pub methods: Vec<String>,
}

/// Body of `auth/login` (11.2): the credentials travel in HTTP Basic authentication.
#[derive(Debug, Default, Clone, Serialize, Deserialize, ToSchema)]
pub struct LoginRequest {
    /// Ask for a long-lived token; vanthu issues one lifetime only and ignores it.
    #[serde(
        default,
        rename = "rememberMe",
        skip_serializing_if = "Option::is_none"
    )]
    pub remember_me: Option<bool>,
}

/// Answer of `auth/login`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LoginResponse {
    /// Bearer token for the other methods.
    pub access_token: String,
    /// Seconds the token stays valid.
    pub expires_in: u64,
}

/// Body of `credentials/list` (11.4).
#[derive(Debug, Default, Clone, Serialize, Deserialize, ToSchema)]
pub struct ListRequest {
    /// Another user's credentials: refused, a user lists only their own.
    #[serde(default, rename = "userID", skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Most identifiers wanted.
    #[serde(
        default,
        rename = "maxResults",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(minimum = 1)]
    pub max_results: Option<u32>,
    /// Vendor data; ignored.
    #[serde(
        default,
        rename = "clientData",
        skip_serializing_if = "Option::is_none"
    )]
    pub client_data: Option<String>,
}

/// Answer of `credentials/list`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ListResponse {
    /// The user's credentials.
    #[serde(rename = "credentialIDs")]
    pub credential_ids: Vec<String>,
}

/// Body of `credentials/info` (11.5).
#[derive(Debug, Default, Clone, Serialize, Deserialize, ToSchema)]
pub struct CredentialInfoRequest {
    /// The credential.
    #[serde(rename = "credentialID")]
    pub credential_id: String,
    /// `none`, `single` (the default) or `chain`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "chain")]
    pub certificates: Option<String>,
    /// Whether to describe the certificate (subject, issuer, serial, validity).
    #[serde(default, rename = "certInfo", skip_serializing_if = "Option::is_none")]
    pub cert_info: Option<bool>,
    /// Whether to describe the PIN and OTP the authorization needs.
    #[serde(default, rename = "authInfo", skip_serializing_if = "Option::is_none")]
    pub auth_info: Option<bool>,
    /// Vendor data; ignored.
    #[serde(
        default,
        rename = "clientData",
        skip_serializing_if = "Option::is_none"
    )]
    pub client_data: Option<String>,
}

/// The key of a credential.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct KeyInfo {
    /// `enabled`, or `disabled` once wrong PINs or codes blocked it.
    pub status: String,
    /// OIDs of the signature algorithms the key signs with.
    pub algo: Vec<String>,
    /// Key length in bits.
    pub len: u32,
    /// OID of the elliptic curve, for EC keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub curve: Option<String>,
}

/// The certificate of a credential.
#[derive(Debug, Default, Clone, Serialize, Deserialize, ToSchema)]
pub struct CertInfo {
    /// `valid` or `expired`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Base64 DER certificates, the credential's own first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub certificates: Vec<String>,
    /// The issuer's name.
    #[serde(default, rename = "issuerDN", skip_serializing_if = "Option::is_none")]
    pub issuer_dn: Option<String>,
    /// The serial number in hex.
    #[serde(
        default,
        rename = "serialNumber",
        skip_serializing_if = "Option::is_none"
    )]
    pub serial_number: Option<String>,
    /// The subject's name.
    #[serde(default, rename = "subjectDN", skip_serializing_if = "Option::is_none")]
    pub subject_dn: Option<String>,
    /// Start of validity, `YYYYMMDDHHMMSSZ`.
    #[serde(default, rename = "validFrom", skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<String>,
    /// End of validity, `YYYYMMDDHHMMSSZ`.
    #[serde(default, rename = "validTo", skip_serializing_if = "Option::is_none")]
    pub valid_to: Option<String>,
}

/// How the PIN is asked for.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PinInfo {
    /// `true`: the PIN is required.
    pub presence: String,
    /// `A`: letters and digits.
    pub format: String,
    /// What to call it.
    pub label: String,
    /// What it is.
    pub description: String,
}

/// How the one-time code is asked for.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OtpInfo {
    /// `true`: the code is required.
    pub presence: String,
    /// `offline`: the user's authenticator app makes it.
    #[serde(rename = "type")]
    pub otp_type: String,
    /// `N`: digits.
    pub format: String,
    /// What to call it.
    pub label: String,
    /// What it is.
    pub description: String,
}

/// Answer of `credentials/info`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CredentialInfoResponse {
    /// The key.
    pub key: KeyInfo,
    /// The certificate, unless `none` were asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert: Option<CertInfo>,
    /// `explicit`: the client sends the PIN and the code to `credentials/authorize`.
    #[serde(rename = "authMode")]
    pub auth_mode: String,
    /// `2`: the authorization is bound to the hashes it names.
    #[serde(default, rename = "SCAL", skip_serializing_if = "Option::is_none")]
    pub scal: Option<String>,
    /// The PIN, when `authInfo` was asked for.
    #[serde(default, rename = "PIN", skip_serializing_if = "Option::is_none")]
    pub pin: Option<PinInfo>,
    /// The one-time code, when `authInfo` was asked for.
    #[serde(default, rename = "OTP", skip_serializing_if = "Option::is_none")]
    pub otp: Option<OtpInfo>,
    /// Most hashes one authorization may cover.
    pub multisign: u32,
}

/// Body of `credentials/authorize` (11.6).
#[derive(Default, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuthorizeRequest {
    /// The credential.
    #[serde(rename = "credentialID")]
    pub credential_id: String,
    /// How many signatures to authorize: as many as `hash` holds.
    #[serde(rename = "numSignatures")]
    #[schema(minimum = 1)]
    pub num_signatures: u32,
    /// The base64 hashes the signatures will be over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<Vec<String>>,
    /// The signing PIN.
    #[serde(default, rename = "PIN", skip_serializing_if = "Option::is_none")]
    #[schema(format = Password)]
    pub pin: Option<String>,
    /// The one-time code of the authenticator app.
    #[serde(default, rename = "OTP", skip_serializing_if = "Option::is_none")]
    #[schema(format = Password)]
    pub otp: Option<String>,
    /// What is being signed, for the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Vendor data; ignored.
    #[serde(
        default,
        rename = "clientData",
        skip_serializing_if = "Option::is_none"
    )]
    pub client_data: Option<String>,
}

impl std::fmt::Debug for AuthorizeRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizeRequest")
            .field("credential_id", &self.credential_id)
            .field("num_signatures", &self.num_signatures)
            .field("hash", &self.hash)
            .field("pin", &self.pin.as_ref().map(|_| "<redacted>"))
            .field("otp", &self.otp.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// Answer of `credentials/authorize`: the signature activation data.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct AuthorizeResponse {
    /// The signature activation data for `signatures/signHash`.
    #[serde(rename = "SAD")]
    pub sad: String,
    /// Seconds it stays valid.
    #[serde(default, rename = "expiresIn", skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
}

impl std::fmt::Debug for AuthorizeResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizeResponse")
            .field("sad", &"<redacted>")
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// Body of `signatures/signHash` (11.9).
#[derive(Clone, Serialize, Deserialize, ToSchema)]
pub struct SignHashRequest {
    /// The credential.
    #[serde(rename = "credentialID")]
    pub credential_id: String,
    /// The signature activation data from `credentials/authorize`.
    #[serde(rename = "SAD")]
    pub sad: String,
    /// The base64 hashes to sign, each one the authorization named.
    pub hash: Vec<String>,
    /// OID of the hash algorithm; needed when `signAlgo` does not imply one.
    #[serde(default, rename = "hashAlgo", skip_serializing_if = "Option::is_none")]
    pub hash_algo: Option<String>,
    /// OID of the signature algorithm, one of the key's `algo`.
    #[serde(rename = "signAlgo")]
    pub sign_algo: String,
    /// Base64 DER parameters of the signature algorithm; none are taken.
    #[serde(
        default,
        rename = "signAlgoParams",
        skip_serializing_if = "Option::is_none"
    )]
    pub sign_algo_params: Option<String>,
    /// Vendor data; ignored.
    #[serde(
        default,
        rename = "clientData",
        skip_serializing_if = "Option::is_none"
    )]
    pub client_data: Option<String>,
}

impl std::fmt::Debug for SignHashRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignHashRequest")
            .field("credential_id", &self.credential_id)
            .field("sad", &"<redacted>")
            .field("hash", &self.hash)
            .field("hash_algo", &self.hash_algo)
            .field("sign_algo", &self.sign_algo)
            .finish()
    }
}

/// Answer of `signatures/signHash`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SignHashResponse {
    /// The base64 signatures, in the order of the hashes.
    pub signatures: Vec<String>,
}

/// The error body the specification defines (section 10.1).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorResponse {
    /// The error's code, e.g. `invalid_request`, `invalid_pin`, `invalid_otp`.
    pub error: String,
    /// What went wrong and what to do about it.
    pub error_description: String,
}
