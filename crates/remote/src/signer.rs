//! [`RemoteSigner`]: a PAdES [`Signer`] whose key sits at a [`SigningService`]. Signatures
//! asked for at once (the files of one `vanthu sign --out-dir` run, signed by a pool of
//! threads) travel in one batch, so the user approves them once.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use openssl::x509::X509;
use vanthu_pades::signer::{DigestAlgorithm, SignatureAlgorithm, Signer, SignerError};

use crate::service::{Batch, Progress, RemoteError, SigningService};

/// How long a batch that is not full waits for another signature to join it: long enough
/// for the threads of one run to reach their signature, short against a person's approval.
pub const DEFAULT_LINGER: Duration = Duration::from_millis(300);

/// How long the user has to approve a batch, unless told otherwise.
pub const DEFAULT_APPROVAL_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// A batch still taking hashes.
struct Open {
    id: u64,
    hashes: Vec<Vec<u8>>,
    last_join: Instant,
}

/// The outcome of a sent batch, kept until each of its signers took its signature.
struct Finished {
    result: Result<Vec<Vec<u8>>, String>,
    waiting: usize,
}

#[derive(Default)]
struct Queue {
    open: Option<Open>,
    next_id: u64,
    finished: HashMap<u64, Finished>,
}

/// A signer whose key is at a remote service, batching the signatures asked for together.
pub struct RemoteSigner<S> {
    service: S,
    batch_size: usize,
    linger: Duration,
    approval_timeout: Duration,
    description: String,
    queue: Mutex<Queue>,
    changed: Condvar,
}

impl<S: SigningService> RemoteSigner<S> {
    /// Signs with `service`, at most `batch_size` hashes per approval (and never more than
    /// the service allows); `description` is shown to the user where the provider can.
    pub fn new(service: S, batch_size: usize, description: &str) -> Self {
        let batch_size = batch_size.clamp(1, service.credential().max_batch.max(1));
        Self {
            service,
            batch_size,
            linger: DEFAULT_LINGER,
            approval_timeout: DEFAULT_APPROVAL_TIMEOUT,
            description: description.to_owned(),
            queue: Mutex::new(Queue::default()),
            changed: Condvar::new(),
        }
    }

    /// How long the user has to approve each batch.
    pub fn with_approval_timeout(mut self, timeout: Duration) -> Self {
        self.approval_timeout = timeout;
        self
    }

    /// How many hashes one approval covers at most.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    fn lock(&self) -> Result<MutexGuard<'_, Queue>, SignerError> {
        self.queue
            .lock()
            .map_err(|_| SignerError::Sign("the remote signer's queue was poisoned".into()))
    }

    /// Adds `hash` to the open batch and waits for its signature; the signer that fills the
    /// batch, or finds it idle for the linger time, sends it.
    fn signature_for(&self, hash: Vec<u8>) -> Result<Vec<u8>, SignerError> {
        let mut queue = self.lock()?;
        let (id, index) = {
            let next_id = queue.next_id;
            let open = queue.open.get_or_insert_with(|| Open {
                id: next_id,
                hashes: Vec::new(),
                last_join: Instant::now(),
            });
            open.hashes.push(hash);
            open.last_join = Instant::now();
            (open.id, open.hashes.len() - 1)
        };
        if queue.next_id == id {
            queue.next_id += 1;
        }
        loop {
            if let Some(finished) = queue.finished.get_mut(&id) {
                let signature = match &finished.result {
                    Ok(signatures) => Ok(signatures[index].clone()),
                    Err(e) => Err(SignerError::Sign(e.clone())),
                };
                finished.waiting -= 1;
                if finished.waiting == 0 {
                    queue.finished.remove(&id);
                }
                return signature;
            }
            let due = match &queue.open {
                Some(open) if open.id == id => {
                    open.hashes.len() >= self.batch_size || open.last_join.elapsed() >= self.linger
                }
                _ => false,
            };
            if due {
                let Some(open) = queue.open.take() else {
                    continue;
                };
                drop(queue);
                let count = open.hashes.len();
                let result = self.send(open.hashes).map_err(|e| e.to_string());
                queue = self.lock()?;
                queue.finished.insert(
                    id,
                    Finished {
                        result,
                        waiting: count,
                    },
                );
                self.changed.notify_all();
                continue;
            }
            queue = self
                .changed
                .wait_timeout(queue, self.linger / 4)
                .map_err(|_| SignerError::Sign("the remote signer's queue was poisoned".into()))?
                .0;
        }
    }

    /// Starts a batch, polls it until it is signed or refused, and checks each signature
    /// against the credential's certificate.
    fn send(&self, hashes: Vec<Vec<u8>>) -> Result<Vec<Vec<u8>>, RemoteError> {
        let batch = Batch {
            hashes,
            digest: self.service.credential().digest,
            description: self.description.clone(),
        };
        tracing::info!(
            signatures = batch.hashes.len(),
            "asking the remote service to sign"
        );
        let deadline = Instant::now() + self.approval_timeout;
        let mut progress = self.service.start(&batch)?;
        let signatures = loop {
            match progress {
                Progress::Signed(signatures) => break signatures,
                Progress::Refused(why) => return Err(RemoteError::Refused(why)),
                Progress::Waiting {
                    transaction,
                    retry_after,
                } => {
                    let now = Instant::now();
                    if now >= deadline {
                        return Err(RemoteError::TimedOut(self.approval_timeout));
                    }
                    std::thread::sleep(retry_after.min(deadline - now));
                    progress = self.service.poll(&transaction)?;
                }
            }
        };
        if signatures.len() != batch.hashes.len() {
            return Err(RemoteError::Answer(format!(
                "{} signatures for {} hashes",
                signatures.len(),
                batch.hashes.len()
            )));
        }
        for (hash, signature) in batch.hashes.iter().zip(&signatures) {
            if !verifies(self.service.credential(), hash, signature)? {
                return Err(RemoteError::Answer(
                    "a signature does not verify with the credential's certificate".into(),
                ));
            }
        }
        Ok(signatures)
    }
}

/// Whether `signature` over the digest `hash` verifies with the credential's key.
fn verifies(
    credential: &crate::Credential,
    hash: &[u8],
    signature: &[u8],
) -> Result<bool, RemoteError> {
    let unreadable =
        |e: openssl::error::ErrorStack| RemoteError::Credential(format!("certificate: {e}"));
    let key = X509::from_der(&credential.certificate)
        .and_then(|c| c.public_key())
        .map_err(unreadable)?;
    let mut ctx = openssl::pkey_ctx::PkeyCtx::new(&key).map_err(unreadable)?;
    ctx.verify_init().map_err(unreadable)?;
    if credential.algorithm == SignatureAlgorithm::RsaPkcs1v15 {
        ctx.set_rsa_padding(openssl::rsa::Padding::PKCS1)
            .map_err(unreadable)?;
        ctx.set_signature_md(md_of(credential.digest))
            .map_err(unreadable)?;
    }
    Ok(ctx.verify(hash, signature).unwrap_or(false))
}

fn md_of(digest: DigestAlgorithm) -> &'static openssl::md::MdRef {
    match digest {
        DigestAlgorithm::Sha256 => openssl::md::Md::sha256(),
        DigestAlgorithm::Sha384 => openssl::md::Md::sha384(),
        DigestAlgorithm::Sha512 => openssl::md::Md::sha512(),
    }
}

impl<S: SigningService> Signer for RemoteSigner<S> {
    fn certificate(&self) -> &[u8] {
        &self.service.credential().certificate
    }
    fn chain(&self) -> &[Vec<u8>] {
        &self.service.credential().chain
    }
    fn digest(&self) -> DigestAlgorithm {
        self.service.credential().digest
    }
    fn signature_algorithm(&self) -> SignatureAlgorithm {
        self.service.credential().algorithm
    }
    fn sign(&self, data: &[u8]) -> Result<Vec<u8>, SignerError> {
        self.signature_for(self.digest().digest(data))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use openssl::ec::{EcGroup, EcKey};
    use openssl::nid::Nid;
    use openssl::pkey::{PKey, Private};

    use super::*;
    use crate::service::Transaction;
    use crate::Credential;

    /// A provider that asks for approval once (answered on the first poll) and signs with a
    /// key of its own, counting the batches it was sent.
    struct Provider {
        key: PKey<Private>,
        credential: Credential,
        batches: AtomicUsize,
        pending: Mutex<Option<Vec<Vec<u8>>>>,
        refuse: bool,
    }

    impl Provider {
        fn new(refuse: bool) -> Self {
            let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
            let key = PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap();
            let mut b = openssl::x509::X509Builder::new().unwrap();
            let mut name = openssl::x509::X509NameBuilder::new().unwrap();
            name.append_entry_by_text("CN", "remote").unwrap();
            let name = name.build();
            b.set_subject_name(&name).unwrap();
            b.set_issuer_name(&name).unwrap();
            b.set_pubkey(&key).unwrap();
            b.set_not_before(&openssl::asn1::Asn1Time::days_from_now(0).unwrap())
                .unwrap();
            b.set_not_after(&openssl::asn1::Asn1Time::days_from_now(1).unwrap())
                .unwrap();
            b.sign(&key, openssl::hash::MessageDigest::sha256())
                .unwrap();
            Self {
                credential: Credential {
                    certificate: b.build().to_der().unwrap(),
                    chain: Vec::new(),
                    digest: DigestAlgorithm::Sha256,
                    algorithm: SignatureAlgorithm::Ecdsa,
                    max_batch: 10,
                },
                key,
                batches: AtomicUsize::new(0),
                pending: Mutex::new(None),
                refuse,
            }
        }
    }

    impl SigningService for Provider {
        fn credential(&self) -> &Credential {
            &self.credential
        }
        fn start(&self, batch: &Batch) -> Result<Progress, RemoteError> {
            self.batches.fetch_add(1, Ordering::SeqCst);
            *self.pending.lock().unwrap() = Some(batch.hashes.clone());
            Ok(Progress::Waiting {
                transaction: Transaction("tran-1".into()),
                retry_after: Duration::from_millis(10),
            })
        }
        fn poll(&self, transaction: &Transaction) -> Result<Progress, RemoteError> {
            assert_eq!(transaction.0, "tran-1");
            if self.refuse {
                return Ok(Progress::Refused("the user declined on the phone".into()));
            }
            let hashes = self.pending.lock().unwrap().take().unwrap();
            let signatures = hashes
                .iter()
                .map(|h| {
                    let mut ctx = openssl::pkey_ctx::PkeyCtx::new(&self.key).unwrap();
                    ctx.sign_init().unwrap();
                    let mut out = Vec::new();
                    ctx.sign_to_vec(h, &mut out).unwrap();
                    out
                })
                .collect();
            Ok(Progress::Signed(signatures))
        }
    }

    #[test]
    fn signatures_asked_for_together_are_approved_once() {
        let signer = Arc::new(RemoteSigner::new(Provider::new(false), 4, "test"));
        let signatures: Vec<Vec<u8>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|i| {
                    let signer = Arc::clone(&signer);
                    s.spawn(move || signer.sign(format!("data {i}").as_bytes()).unwrap())
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(signer.service.batches.load(Ordering::SeqCst), 1);
        for (i, signature) in signatures.iter().enumerate() {
            let hash = DigestAlgorithm::Sha256.digest(format!("data {i}").as_bytes());
            assert!(verifies(&signer.service.credential, &hash, signature).unwrap());
        }
        // A lone signature goes out after the linger time, in a batch of its own.
        signer.sign(b"alone").unwrap();
        assert_eq!(signer.service.batches.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_refusal_fails_every_signature_of_the_batch() {
        let signer = RemoteSigner::new(Provider::new(true), 1, "test");
        let e = signer.sign(b"x").unwrap_err();
        assert!(e.to_string().contains("declined on the phone"), "{e}");
    }

    #[test]
    fn a_signature_that_does_not_verify_is_refused() {
        let provider = Provider::new(false);
        let other = Provider::new(false);
        let hash = DigestAlgorithm::Sha256.digest(b"x");
        let mut ctx = openssl::pkey_ctx::PkeyCtx::new(&other.key).unwrap();
        ctx.sign_init().unwrap();
        let mut wrong = Vec::new();
        ctx.sign_to_vec(&hash, &mut wrong).unwrap();
        assert!(!verifies(&provider.credential, &hash, &wrong).unwrap());
    }
}
