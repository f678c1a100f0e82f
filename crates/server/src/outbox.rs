//! The interchange delivery worker of `vanthu serve`, and the HTTPS transport.
//!
//! Every second it takes the outbox's packages still to deliver, oldest first, and hands
//! each to its agency's transport: HTTPS to another vanthu installation's inbox, or the
//! agency's outbox folder. Packages to one agency go in order: once one to an agency fails
//! or waits, the later ones to it wait too, so a recipient sees statuses in the order they
//! were taken. A failure is tried again after a wait that doubles each time (from
//! `--interchange-retry`, up to an hour); a refusal by the recipient returns the package.
//! The worker marks a package sent only after the transport took it, so a crash in between
//! delivers it again after restart, which the receiver takes as the same package.
//!
//! Several instances may share one database: each claims the packages it delivers with a
//! lease (`--interchange-lease`), an agency's packages by one instance at a time, and
//! renews the lease of each just before handing it to the transport; a package whose
//! instance stopped is taken by another once the lease has run out.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use std::path::{Path, PathBuf};

use vanthu_api::interchange::transport::{drain_folder, Delivery, FolderTransport, Transport};
use vanthu_api::interchange::{
    seal, status_package, Agencies, Agency, Endpoint, Receipt, ReceiveError, Receiver,
};
use vanthu_api::SignerRevocation;
use vanthu_domain::UnitCode;
use vanthu_keys::Kek;
use vanthu_pades::trust::TrustAnchors;
use vanthu_store::blob::BlobStore;
use vanthu_store::{Database, OutboxEntry, OutboxKind};

/// How often the outbox is looked at.
const TICK: Duration = Duration::from_secs(1);
/// Packages looked at per round.
const BATCH: u32 = 200;
/// The longest wait between two attempts.
const MAX_WAIT: Duration = Duration::from_secs(3600);

/// Delivers the outbox for as long as the process runs.
pub struct Worker {
    /// The database.
    pub db: Database,
    /// Opens the units' seals, for the status packages sealed at their first delivery.
    pub kek: Arc<Kek>,
    /// Where received files are kept.
    pub blobs: Arc<dyn BlobStore>,
    /// Trust anchors of received packages and their PDFs.
    pub anchors: TrustAnchors,
    /// Where packages go and come from.
    pub agencies: Agencies,
    /// The folder the connector leaves received packages in, if any.
    pub inbox: Option<PathBuf>,
    /// The first wait after a failure.
    pub retry: Duration,
    /// The revocation check of the seal's certificate before a package is sealed, as before
    /// every signature the server makes (`--check-signer-revocation`).
    pub revocation: Option<SignerRevocation>,
    /// How long a claim on a package lasts: longer than a delivery may take.
    pub lease: Duration,
    /// This instance, as its leases name it.
    pub holder: String,
}

/// A name for this server instance, distinct from every other's: the host, the process
/// and a random part (a restarted process is another instance).
pub fn instance_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_default();
    format!(
        "{host}:{}:{:016x}",
        std::process::id(),
        rand::random::<u64>()
    )
}

impl Worker {
    /// Starts the worker on its own thread (the HTTPS client blocks).
    pub fn spawn(self) -> std::io::Result<()> {
        let https = Https::new().map_err(std::io::Error::other)?;
        std::thread::Builder::new()
            .name("interchange-outbox".into())
            .spawn(move || loop {
                // First a tick, so the server is up and its start-up work done first.
                std::thread::sleep(TICK);
                if let Err(e) = self.round(&https) {
                    tracing::warn!(error = %e, "interchange delivery round failed; retrying");
                }
                if let Some(inbox) = &self.inbox {
                    if let Err(e) = self.drain(inbox) {
                        tracing::warn!(error = %e, inbox = %inbox.display(), "interchange inbox folder not drained; retrying");
                    }
                }
            })?;
        Ok(())
    }

    /// Delivers what is due, batch after batch, leaving out the agencies already waiting,
    /// so one agency's backlog does not hold the others up. Each package of a batch is
    /// either delivered (and leaves the pending ones) or puts its agency among the waiting,
    /// so the round ends.
    fn round(&self, https: &Https) -> Result<(), vanthu_store::StoreError> {
        let now = Utc::now();
        let mut waiting: HashSet<UnitCode> = HashSet::new();
        loop {
            let skip: Vec<UnitCode> = waiting.iter().cloned().collect();
            let batch =
                self.db
                    .outbox_claim(&self.holder, Utc::now(), self.lease(), BATCH, &skip)?;
            if batch.is_empty() {
                return Ok(());
            }
            self.batch(batch, now, &mut waiting, https)?;
        }
    }

    fn lease(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.lease).unwrap_or(chrono::Duration::minutes(5))
    }

    fn batch(
        &self,
        batch: Vec<OutboxEntry>,
        now: chrono::DateTime<Utc>,
        waiting: &mut HashSet<UnitCode>,
        https: &Https,
    ) -> Result<(), vanthu_store::StoreError> {
        for entry in batch {
            if waiting.contains(&entry.agency) {
                continue;
            }
            if entry.next_attempt_at > now {
                waiting.insert(entry.agency.clone());
                continue;
            }
            // Still ours, for a whole delivery: otherwise another instance has it now.
            if !self
                .db
                .outbox_renew(entry.id, &self.holder, Utc::now() + self.lease())?
            {
                waiting.insert(entry.agency.clone());
                continue;
            }
            match self.deliver(&entry, https) {
                Ok(Delivery::Taken) => {
                    tracing::info!(id = entry.id, agency = %entry.agency, document = %entry.document_id, "interchange package sent");
                    self.db.outbox_sent(entry.id, &self.holder, Utc::now())?;
                }
                Ok(Delivery::Refused(why)) => {
                    tracing::warn!(id = entry.id, agency = %entry.agency, reason = %why, "interchange package returned");
                    self.db
                        .outbox_returned(entry.id, &self.holder, Utc::now(), &why)?;
                }
                Err(why) => {
                    let wait = backoff(self.retry, entry.attempts);
                    tracing::warn!(id = entry.id, agency = %entry.agency, reason = %why, retry_in = ?wait, "interchange delivery failed");
                    let next = Utc::now()
                        + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::hours(1));
                    self.db.outbox_failed(entry.id, &self.holder, &why, next)?;
                    waiting.insert(entry.agency.clone());
                }
            }
        }
        Ok(())
    }

    /// Receives the packages the connector left in `inbox`, each from a configured agency,
    /// as the HTTPS inbox does.
    fn drain(&self, inbox: &Path) -> anyhow::Result<()> {
        let receipt = Receipt {
            db: &self.db,
            blobs: self.blobs.as_ref(),
            limits: vanthu_interchange::Limits::default(),
            anchors: self.anchors.clone(),
            agencies: &self.agencies,
        };
        drain_folder(
            inbox,
            |bytes| match receipt.receive(bytes, Receiver::Agency(self.agencies.all())) {
                Ok(lines) => Ok(Ok(lines)),
                Err(ReceiveError::Refused(why) | ReceiveError::Setup(why)) => Ok(Err(why)),
                Err(e) => Err(anyhow::Error::from(e)),
            },
            |drained| match drained.outcome {
                Ok(lines) => {
                    tracing::info!(file = %drained.name, outcome = lines.last().map(String::as_str).unwrap_or_default(), "interchange package received from the inbox folder")
                }
                Err(why) => {
                    tracing::warn!(file = %drained.name, reason = %why, "interchange package in the inbox folder refused")
                }
            },
        )
    }

    fn deliver(&self, entry: &OutboxEntry, https: &Https) -> Result<Delivery, String> {
        let agency = self.agencies.get(&entry.agency).ok_or_else(|| {
            format!(
                "no agency {} in the agencies configuration of this installation",
                entry.agency
            )
        })?;
        let xml = match (&entry.package, entry.kind) {
            (Some(xml), _) => xml.clone(),
            (None, OutboxKind::Status(code)) => {
                let package = status_package(
                    &self.db,
                    entry.unit_id,
                    &entry.document_id,
                    code,
                    entry.description.as_deref(),
                    entry.at,
                )
                .map_err(|e| format!("cannot build the status package: {e}"))?;
                let xml = package
                    .to_xml()
                    .map_err(|e| format!("cannot build the status package: {e}"))?;
                let xml = seal(
                    &self.db,
                    &self.kek,
                    entry.unit_id,
                    &xml,
                    self.revocation.as_ref(),
                )
                .map_err(|e| format!("cannot seal the status package: {e}"))?;
                self.db
                    .outbox_built(entry.id, &xml)
                    .map_err(|e| e.to_string())?;
                xml
            }
            (None, OutboxKind::Document) => {
                return Err("the document package was not kept with its release".into())
            }
        };
        let name = format!("{:012}.edxml", entry.id);
        match agency.endpoint {
            Endpoint::Url(_) => https.deliver(agency, &name, xml.as_bytes()),
            Endpoint::Folder(_) => FolderTransport.deliver(agency, &name, xml.as_bytes()),
        }
    }
}

/// The wait after the `attempts`-th failure: `first`, doubled each time, at most an hour.
fn backoff(first: Duration, attempts: u32) -> Duration {
    first
        .checked_mul(1u32 << attempts.min(20))
        .unwrap_or(MAX_WAIT)
        .min(MAX_WAIT)
}

/// The HTTPS transport: a package POSTed to `<url>/api/v1/interchange/inbox` of another
/// vanthu installation with the pair's secret as bearer token.
struct Https {
    client: reqwest::blocking::Client,
}

impl Https {
    fn new() -> reqwest::Result<Https> {
        Ok(Https {
            client: reqwest::blocking::Client::builder()
                .connect_timeout(Duration::from_secs(10))
                .timeout(Duration::from_secs(120))
                .build()?,
        })
    }
}

impl Transport for Https {
    fn deliver(&self, agency: &Agency, _name: &str, xml: &[u8]) -> Result<Delivery, String> {
        let Endpoint::Url(url) = &agency.endpoint else {
            return Err(format!("{} has no URL", agency.code));
        };
        let Some(secret) = &agency.secret else {
            return Err(format!(
                "agency {} has no secret in the agencies configuration",
                agency.code
            ));
        };
        let inbox = format!("{}/api/v1/interchange/inbox", url.trim_end_matches('/'));
        let response = self
            .client
            .post(&inbox)
            .bearer_auth(secret)
            .header(reqwest::header::CONTENT_TYPE, "application/xml")
            .body(xml.to_vec())
            .send()
            .map_err(|e| format!("{inbox}: {e}"))?;
        let status = response.status();
        let detail = || {
            let body: serde_json::Value = response.json().unwrap_or_default();
            body["detail"].as_str().unwrap_or_default().to_owned()
        };
        if status.is_success() {
            Ok(Delivery::Taken)
        } else if status == reqwest::StatusCode::UNPROCESSABLE_ENTITY {
            Ok(Delivery::Refused(detail()))
        } else {
            Err(format!("{inbox} answered {status}: {}", detail()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_doubles_up_to_an_hour() {
        let first = Duration::from_secs(5);
        assert_eq!(backoff(first, 0), first);
        assert_eq!(backoff(first, 3), Duration::from_secs(40));
        assert_eq!(backoff(first, 30), MAX_WAIT);
    }
}
