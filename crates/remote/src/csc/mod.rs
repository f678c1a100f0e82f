//! The Cloud Signature Consortium API v1.0.4 as a [`SigningService`]: the credential is read
//! with `credentials/info`; a batch is approved with `credentials/authorize` (the step the
//! [`Approval`] trait makes pluggable), then signed with `signatures/signHash`.

pub mod client;
pub mod messages;

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use vanthu_pades::external::scheme_of;
use vanthu_pades::signer::{DigestAlgorithm, SignatureAlgorithm};
use zeroize::Zeroizing;

pub use client::CscClient;
use messages::{AuthorizeRequest, SignHashRequest};

use crate::service::{Batch, Credential, Progress, RemoteError, SigningService, Transaction};

/// The signature activation data (SAD) an approval yields.
pub struct Sad(pub Zeroizing<String>);

/// Where an approval stands.
pub enum Decision {
    /// Not answered yet.
    Waiting {
        /// The approval to poll.
        transaction: Transaction,
        /// How long to wait before polling.
        retry_after: std::time::Duration,
    },
    /// Approved: the SAD for `signatures/signHash`.
    Approved(Sad),
    /// Refused, in the service's words.
    Refused(String),
}

/// How the user approves a batch at a CSC service: with a PIN and a code sent along
/// ([`ExplicitApproval`]), or asynchronously on a phone (a provider's app, an SMS link), the
/// client polling meanwhile.
pub trait Approval: Send + Sync {
    /// Asks for the approval of `batch` for `credential_id`.
    fn start(&self, credential_id: &str, batch: &Batch) -> Result<Decision, RemoteError>;
    /// Asks how an approval under way stands.
    fn poll(&self, transaction: &Transaction) -> Result<Decision, RemoteError>;
}

/// Where the one-time code of an explicit approval comes from: asked once per approval,
/// since a code is good for one use.
pub type OtpSource = Box<dyn Fn() -> Option<Zeroizing<String>> + Send + Sync>;

/// `credentials/authorize` with the PIN and a one-time code in the request (`authMode`
/// `explicit`): answered at once.
pub struct ExplicitApproval {
    client: Arc<CscClient>,
    pin: Option<Zeroizing<String>>,
    otp: OtpSource,
}

impl ExplicitApproval {
    /// Approves with `pin` and the codes `otp` gives (either may be absent where the
    /// service asks for none).
    pub fn new(client: Arc<CscClient>, pin: Option<Zeroizing<String>>, otp: OtpSource) -> Self {
        Self { client, pin, otp }
    }
}

impl Approval for ExplicitApproval {
    fn start(&self, credential_id: &str, batch: &Batch) -> Result<Decision, RemoteError> {
        let request = AuthorizeRequest {
            credential_id: credential_id.to_owned(),
            num_signatures: u32::try_from(batch.hashes.len()).map_err(|_| {
                RemoteError::Credential("cannot sign so many hashes at once".into())
            })?,
            hash: Some(batch.hashes.iter().map(|h| STANDARD.encode(h)).collect()),
            pin: self.pin.as_ref().map(|p| p.to_string()),
            otp: (self.otp)().map(|c| c.to_string()),
            description: Some(batch.description.clone()),
            client_data: None,
        };
        match self.client.authorize(&request) {
            Ok(answer) => Ok(Decision::Approved(Sad(Zeroizing::new(answer.sad)))),
            // A 4xx is the service's "no" (a wrong PIN or code, a blocked credential).
            Err(RemoteError::Service {
                status: 400..=499,
                description,
                error,
                ..
            }) => Ok(Decision::Refused(format!("{description} ({error})"))),
            Err(e) => Err(e),
        }
    }

    fn poll(&self, transaction: &Transaction) -> Result<Decision, RemoteError> {
        Err(RemoteError::Answer(format!(
            "an explicit approval has nothing to poll (transaction {})",
            transaction.0
        )))
    }
}

/// A credential at a CSC service.
pub struct CscService {
    client: Arc<CscClient>,
    credential_id: String,
    credential: Credential,
    sign_algo: &'static str,
    approval: Box<dyn Approval>,
}

impl CscService {
    /// Reads `credential_id` at the service (`credentials/info`, with the chain) and picks
    /// the signature algorithm: PKCS#1 v1.5 for RSA keys, ECDSA for EC keys, with SHA-256
    /// (SHA-384 for P-384), as the key's `algo` list allows.
    pub fn connect(
        client: Arc<CscClient>,
        credential_id: &str,
        approval: Box<dyn Approval>,
    ) -> Result<Self, RemoteError> {
        let info = client.credential_info(credential_id)?;
        if info.key.status != "enabled" {
            return Err(RemoteError::Credential(format!(
                "{credential_id} is {} at the service",
                info.key.status
            )));
        }
        let certificates = info
            .cert
            .map(|c| c.certificates)
            .unwrap_or_default()
            .iter()
            .map(|b64| STANDARD.decode(b64))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| RemoteError::Answer("a certificate is not base64".into()))?;
        let Some((certificate, chain)) = certificates.split_first() else {
            return Err(RemoteError::Credential(format!(
                "{credential_id} comes without its certificate"
            )));
        };
        let (digest, algorithm) =
            scheme_of(certificate).map_err(|e| RemoteError::Credential(e.to_string()))?;
        let sign_algo = preferred_algorithm(algorithm, digest, &info.key.algo).ok_or_else(|| {
            RemoteError::Credential(format!(
                "{credential_id} offers none of the algorithms vanthu signs with ({} with {}): it offers {}",
                algorithm.name(),
                digest.name(),
                info.key.algo.join(", ")
            ))
        })?;
        Ok(Self {
            client,
            credential_id: credential_id.to_owned(),
            credential: Credential {
                certificate: certificate.clone(),
                chain: chain.to_vec(),
                digest,
                algorithm,
                max_batch: usize::try_from(info.multisign.max(1)).unwrap_or(1),
            },
            sign_algo,
            approval,
        })
    }

    fn answer(&self, decision: Decision, batch: Option<&Batch>) -> Result<Progress, RemoteError> {
        match decision {
            Decision::Waiting {
                transaction,
                retry_after,
            } => Ok(Progress::Waiting {
                transaction,
                retry_after,
            }),
            Decision::Refused(why) => Ok(Progress::Refused(why)),
            Decision::Approved(sad) => {
                let batch = batch.ok_or_else(|| {
                    RemoteError::Answer("an approval came for a batch no longer known".into())
                })?;
                self.sign(batch, &sad).map(Progress::Signed)
            }
        }
    }

    fn sign(&self, batch: &Batch, sad: &Sad) -> Result<Vec<Vec<u8>>, RemoteError> {
        let request = SignHashRequest {
            credential_id: self.credential_id.clone(),
            sad: sad.0.to_string(),
            hash: batch.hashes.iter().map(|h| STANDARD.encode(h)).collect(),
            hash_algo: Some(digest_oid(batch.digest).to_owned()),
            sign_algo: self.sign_algo.to_owned(),
            sign_algo_params: None,
            client_data: None,
        };
        let answer = self.client.sign_hash(&request)?;
        if answer.signatures.len() != batch.hashes.len() {
            return Err(RemoteError::Answer(format!(
                "{} signatures for {} hashes",
                answer.signatures.len(),
                batch.hashes.len()
            )));
        }
        answer
            .signatures
            .iter()
            .map(|s| STANDARD.decode(s))
            .collect::<Result<_, _>>()
            .map_err(|_| RemoteError::Answer("a signature is not base64".into()))
    }
}

impl SigningService for CscService {
    fn credential(&self) -> &Credential {
        &self.credential
    }

    fn start(&self, batch: &Batch) -> Result<Progress, RemoteError> {
        let decision = self.approval.start(&self.credential_id, batch)?;
        self.answer(decision, Some(batch))
    }

    fn poll(&self, transaction: &Transaction) -> Result<Progress, RemoteError> {
        // The batch of an asynchronous approval is the one started last; the driver polls one
        // batch at a time.
        let decision = self.approval.poll(transaction)?;
        self.answer(decision, None)
    }
}

/// The OID of a digest.
pub fn digest_oid(digest: DigestAlgorithm) -> &'static str {
    match digest {
        DigestAlgorithm::Sha256 => messages::SHA256,
        DigestAlgorithm::Sha384 => messages::SHA384,
        DigestAlgorithm::Sha512 => messages::SHA512,
    }
}

/// The CSC `signAlgo` OIDs of a scheme with a digest, most specific first.
pub fn algorithm_oids(
    algorithm: SignatureAlgorithm,
    digest: DigestAlgorithm,
) -> &'static [&'static str] {
    use messages::*;
    match (algorithm, digest) {
        (SignatureAlgorithm::RsaPkcs1v15, DigestAlgorithm::Sha256) => {
            &[SHA256_WITH_RSA, RSA_ENCRYPTION]
        }
        (SignatureAlgorithm::RsaPkcs1v15, DigestAlgorithm::Sha384) => {
            &[SHA384_WITH_RSA, RSA_ENCRYPTION]
        }
        (SignatureAlgorithm::RsaPkcs1v15, DigestAlgorithm::Sha512) => {
            &[SHA512_WITH_RSA, RSA_ENCRYPTION]
        }
        (SignatureAlgorithm::Ecdsa, DigestAlgorithm::Sha256) => &[ECDSA_WITH_SHA256],
        (SignatureAlgorithm::Ecdsa, DigestAlgorithm::Sha384) => &[ECDSA_WITH_SHA384],
        (SignatureAlgorithm::Ecdsa, DigestAlgorithm::Sha512) => &[ECDSA_WITH_SHA512],
        (SignatureAlgorithm::RsaPss, _) => &[],
    }
}

fn preferred_algorithm(
    algorithm: SignatureAlgorithm,
    digest: DigestAlgorithm,
    offered: &[String],
) -> Option<&'static str> {
    algorithm_oids(algorithm, digest)
        .iter()
        .copied()
        .find(|oid| offered.iter().any(|o| o == oid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_specific_offered_algorithm_is_chosen() {
        let offered = |oids: &[&str]| oids.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let rsa = SignatureAlgorithm::RsaPkcs1v15;
        assert_eq!(
            preferred_algorithm(
                rsa,
                DigestAlgorithm::Sha256,
                &offered(&[messages::RSA_ENCRYPTION, messages::SHA256_WITH_RSA])
            ),
            Some(messages::SHA256_WITH_RSA)
        );
        assert_eq!(
            preferred_algorithm(
                rsa,
                DigestAlgorithm::Sha384,
                &offered(&[messages::RSA_ENCRYPTION])
            ),
            Some(messages::RSA_ENCRYPTION)
        );
        assert_eq!(
            preferred_algorithm(
                SignatureAlgorithm::Ecdsa,
                DigestAlgorithm::Sha384,
                &offered(&[messages::ECDSA_WITH_SHA256])
            ),
            None
        );
    }
}
