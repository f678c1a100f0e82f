//! The interchange outbox (hộp thư đi liên thông): packages to deliver to agencies elsewhere.
//!
//! A row is written in the transaction of the step that calls for it: the release of a
//! document with external recipients (its sealed package, built before), each step of an
//! incoming document that arrived as a package, a recall, a recall's answer (status
//! packages, sealed when first delivered from what the row holds). The server's delivery
//! worker then takes the rows still to deliver, oldest first, and records each attempt:
//! `queued` (never tried), `failed` (tried, tried again later), `sent` (the transport took
//! it), `acknowledged` (the recipient reported a status for the document), `returned` (the
//! recipient refused it, or reported 02). A package delivered twice is harmless: the
//! receiver keeps one document per DocumentId and one status per time.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use vanthu_domain::access::VisibleScope;
use vanthu_domain::{IncomingId, OutgoingId, PageRequest, Paged, UnitCode, UnitId};
use vanthu_routing::InterchangeStatus;

use crate::db::DbConnection;
use crate::schema::{incoming_documents, interchange_outbox, units};
use crate::time::{from_millis, to_millis};
use crate::units::{offset, paged, subtree_pattern};
use crate::{Database, StoreError};

/// The advisory lock (PostgreSQL) that makes claims of the outbox one at a time: `outbox` in ASCII.
const CLAIM_LOCK: i64 = 0x7661_6e74_6875_6f62;

/// Where a package of the outbox stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxState {
    /// Written, never tried.
    Queued,
    /// The transport took it.
    Sent,
    /// The recipient reported a status for the document it carried.
    Acknowledged,
    /// The last attempt failed; it is tried again after a wait that doubles each time.
    Failed,
    /// The recipient refused it, or reported the document rejected (02); not tried again.
    Returned,
}

impl OutboxState {
    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            OutboxState::Queued => "queued",
            OutboxState::Sent => "sent",
            OutboxState::Acknowledged => "acknowledged",
            OutboxState::Failed => "failed",
            OutboxState::Returned => "returned",
        }
    }
}

impl FromStr for OutboxState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "queued" => OutboxState::Queued,
            "sent" => OutboxState::Sent,
            "acknowledged" => OutboxState::Acknowledged,
            "failed" => OutboxState::Failed,
            "returned" => OutboxState::Returned,
            other => return Err(format!("unknown outbox state '{other}'")),
        })
    }
}

/// The states of the packages still to deliver.
const PENDING: [&str; 2] = [OutboxState::Queued.as_str(), OutboxState::Failed.as_str()];

/// What a package of the outbox carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxKind {
    /// A document (a released outgoing document).
    Document,
    /// A status of a document (StatusCode 01-16).
    Status(InterchangeStatus),
}

/// What a document package does to its document (BussinessDocType).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutboxBusiness {
    /// 0: a new document (a release).
    #[default]
    New,
    /// 1: revokes a document sent before (its DocumentId).
    Revoke,
    /// 2: corrects the details of a document sent before (its DocumentId).
    Update,
    /// 3: a new document replacing those it names.
    Replace,
}

impl OutboxBusiness {
    /// The BussinessDocType code, 0 to 3.
    pub fn code(self) -> i16 {
        match self {
            OutboxBusiness::New => 0,
            OutboxBusiness::Revoke => 1,
            OutboxBusiness::Update => 2,
            OutboxBusiness::Replace => 3,
        }
    }

    /// The name shown to the clerks.
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxBusiness::New => "new",
            OutboxBusiness::Revoke => "revoke",
            OutboxBusiness::Update => "update",
            OutboxBusiness::Replace => "replace",
        }
    }

    fn from_code(code: i16) -> Result<Self, StoreError> {
        [
            OutboxBusiness::New,
            OutboxBusiness::Revoke,
            OutboxBusiness::Update,
            OutboxBusiness::Replace,
        ]
        .into_iter()
        .find(|b| b.code() == code)
        .ok_or_else(|| StoreError::corrupt(format!("outbox business {code}")))
    }

    /// Whether the package brings the recipient a document it then reports statuses on
    /// under the package's DocumentId (new, replace), so such a status acknowledges it.
    const ACKNOWLEDGED: [i16; 2] = [0, 3];
}

/// A package of the outbox.
#[derive(Debug, Clone)]
pub struct OutboxEntry {
    /// Row id; also the delivery order.
    pub id: i64,
    /// The unit of this installation that sends it (its seal, its From).
    pub unit_id: UnitId,
    /// The agency it goes to.
    pub agency: UnitCode,
    /// The DocumentId it carries or reports on.
    pub document_id: String,
    /// A document or a status.
    pub kind: OutboxKind,
    /// What a document package does (new for status packages).
    pub business: OutboxBusiness,
    /// When the step it reports was taken (a status package's Timestamp), else when queued.
    pub at: DateTime<Utc>,
    /// A status package's Description (a recall's reason).
    pub description: Option<String>,
    /// The outgoing document it carries or recalls, if any.
    pub outgoing_id: Option<OutgoingId>,
    /// The incoming document whose status it reports, if any.
    pub incoming_id: Option<IncomingId>,
    /// The sealed package; `None` for a status package not yet built.
    pub package: Option<String>,
    /// Where it stands.
    pub state: OutboxState,
    /// Delivery attempts so far.
    pub attempts: u32,
    /// Not tried again before this.
    pub next_attempt_at: DateTime<Utc>,
    /// Why the last attempt failed, or why the recipient returned it.
    pub last_error: Option<String>,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
    /// When the transport took it.
    pub sent_at: Option<DateTime<Utc>>,
    /// When the recipient's status acknowledged it.
    pub acknowledged_at: Option<DateTime<Utc>>,
}

/// A document package sealed before the release that queues it, for one agency.
#[derive(Debug, Clone)]
pub struct SealedPackage {
    /// The agency it goes to.
    pub agency: UnitCode,
    /// What it does to its document.
    pub business: OutboxBusiness,
    /// The signed edXML.
    pub xml: String,
}

/// Which packages a clerk asks to see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxList {
    /// Those in this state.
    State(OutboxState),
    /// Not yet taken by a transport (queued or failed).
    NotSent,
    /// Document packages sent before this time and not acknowledged since.
    SlowToAcknowledge(DateTime<Utc>),
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = interchange_outbox)]
struct Row {
    id: i64,
    unit_id: i64,
    agency_code: String,
    document_id: String,
    kind: String,
    status_code: Option<String>,
    status_at: Option<i64>,
    description: Option<String>,
    outgoing_id: Option<i64>,
    incoming_id: Option<i64>,
    package: Option<String>,
    state: String,
    attempts: i32,
    next_attempt_at: i64,
    last_error: Option<String>,
    created_at: i64,
    sent_at: Option<i64>,
    acknowledged_at: Option<i64>,
    business: i16,
}

impl TryFrom<Row> for OutboxEntry {
    type Error = StoreError;

    fn try_from(r: Row) -> Result<Self, StoreError> {
        let kind = match (r.kind.as_str(), &r.status_code) {
            ("document", _) => OutboxKind::Document,
            ("status", Some(code)) => OutboxKind::Status(
                InterchangeStatus::from_code(code)
                    .ok_or_else(|| StoreError::corrupt(format!("status code '{code}'")))?,
            ),
            (other, _) => return Err(StoreError::corrupt(format!("outbox kind '{other}'"))),
        };
        let millis = |v: Option<i64>| v.map(from_millis).transpose();
        Ok(OutboxEntry {
            id: r.id,
            unit_id: UnitId::new(r.unit_id).map_err(StoreError::corrupt)?,
            agency: UnitCode::parse(&r.agency_code).map_err(StoreError::corrupt)?,
            document_id: r.document_id,
            kind,
            business: OutboxBusiness::from_code(r.business)?,
            at: from_millis(r.status_at.unwrap_or(r.created_at))?,
            description: r.description,
            outgoing_id: r
                .outgoing_id
                .map(OutgoingId::new)
                .transpose()
                .map_err(StoreError::corrupt)?,
            incoming_id: r
                .incoming_id
                .map(IncomingId::new)
                .transpose()
                .map_err(StoreError::corrupt)?,
            package: r.package,
            state: r.state.parse().map_err(StoreError::corrupt)?,
            attempts: u32::try_from(r.attempts).map_err(StoreError::corrupt)?,
            next_attempt_at: from_millis(r.next_attempt_at)?,
            last_error: r.last_error,
            created_at: from_millis(r.created_at)?,
            sent_at: millis(r.sent_at)?,
            acknowledged_at: millis(r.acknowledged_at)?,
        })
    }
}

/// Queues the sealed document package of `outgoing` for `package.agency`, in the caller's
/// transaction.
pub(crate) fn queue_document(
    conn: &mut DbConnection,
    unit: UnitId,
    outgoing: OutgoingId,
    document_id: &str,
    package: &SealedPackage,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    insert(
        conn,
        unit,
        &package.agency,
        document_id,
        None,
        (Some(outgoing), None),
        Some((&package.xml, package.business)),
        at,
    )
}

/// Queues a status package (built when delivered), in the caller's transaction.
pub(crate) fn queue_status(
    conn: &mut DbConnection,
    unit: UnitId,
    agency: &UnitCode,
    document_id: &str,
    status: (InterchangeStatus, Option<&str>),
    about: (Option<OutgoingId>, Option<IncomingId>),
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    insert(
        conn,
        unit,
        agency,
        document_id,
        Some(status),
        about,
        None,
        at,
    )
}

/// When `incoming` arrived as a package, queues `status` for its sender (the agency its
/// DocumentId begins with), in the caller's transaction; otherwise does nothing.
pub(crate) fn queue_incoming_status(
    conn: &mut DbConnection,
    incoming: IncomingId,
    status: InterchangeStatus,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let (unit, identifier): (i64, Option<String>) = incoming_documents::table
        .find(incoming.get())
        .select((
            incoming_documents::unit_id,
            incoming_documents::interchange_id,
        ))
        .get_result(conn)?;
    let Some(identifier) = identifier else {
        return Ok(());
    };
    let sender = identifier.split(',').next().unwrap_or_default();
    let sender = UnitCode::parse(sender).map_err(StoreError::corrupt)?;
    queue_status(
        conn,
        UnitId::new(unit).map_err(StoreError::corrupt)?,
        &sender,
        &identifier,
        (status, None),
        (None, Some(incoming)),
        at,
    )
}

#[allow(clippy::too_many_arguments)] // One argument per column the caller decides.
fn insert(
    conn: &mut DbConnection,
    unit: UnitId,
    agency: &UnitCode,
    document_id: &str,
    status: Option<(InterchangeStatus, Option<&str>)>,
    (outgoing, incoming): (Option<OutgoingId>, Option<IncomingId>),
    package: Option<(&str, OutboxBusiness)>,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let at = to_millis(at);
    let business = package.map_or(OutboxBusiness::New, |(_, b)| b);
    let package = package.map(|(xml, _)| xml);
    let values = (
        interchange_outbox::unit_id.eq(unit.get()),
        interchange_outbox::agency_code.eq(agency.as_str()),
        interchange_outbox::document_id.eq(document_id),
        interchange_outbox::kind.eq(if status.is_some() {
            "status"
        } else {
            "document"
        }),
        interchange_outbox::status_code.eq(status.map(|(s, _)| s.code())),
        interchange_outbox::status_at.eq(status.map(|_| at)),
        interchange_outbox::description.eq(status.and_then(|(_, d)| d)),
        interchange_outbox::outgoing_id.eq(outgoing.map(|o| o.get())),
        interchange_outbox::incoming_id.eq(incoming.map(|i| i.get())),
        interchange_outbox::package.eq(package),
        interchange_outbox::state.eq(OutboxState::Queued.as_str()),
        interchange_outbox::next_attempt_at.eq(at),
        interchange_outbox::created_at.eq(at),
        interchange_outbox::business.eq(business.code()),
    );
    diesel::insert_into(interchange_outbox::table)
        .values(values)
        .execute(conn)?;
    Ok(())
}

/// At the sender: the recipient `agency` reported `status` for `document_id`, so the
/// document package sent to it was delivered (acknowledged), or, for 02, returned, even
/// after an earlier status acknowledged it. In the caller's transaction; a returned
/// package stays returned.
pub(crate) fn acknowledge(
    conn: &mut DbConnection,
    document_id: &str,
    agency: &UnitCode,
    status: InterchangeStatus,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let (state, from): (OutboxState, &[OutboxState]) = if status == InterchangeStatus::Rejected {
        (
            OutboxState::Returned,
            &[
                OutboxState::Queued,
                OutboxState::Failed,
                OutboxState::Sent,
                OutboxState::Acknowledged,
            ],
        )
    } else {
        (
            OutboxState::Acknowledged,
            &[OutboxState::Queued, OutboxState::Failed, OutboxState::Sent],
        )
    };
    let package = || {
        interchange_outbox::table
            .filter(interchange_outbox::document_id.eq(document_id))
            .filter(interchange_outbox::agency_code.eq(agency.as_str()))
            .filter(interchange_outbox::kind.eq("document"))
            .filter(interchange_outbox::business.eq_any(OutboxBusiness::ACKNOWLEDGED))
    };
    diesel::update(
        package().filter(interchange_outbox::state.eq_any(from.iter().map(|s| s.as_str()))),
    )
    .set(interchange_outbox::state.eq(state.as_str()))
    .execute(conn)?;
    diesel::update(package().filter(interchange_outbox::acknowledged_at.is_null()))
        .set(interchange_outbox::acknowledged_at.eq(Some(to_millis(at))))
        .execute(conn)?;
    Ok(())
}

impl Database {
    /// Claims for `holder` (one server instance) the packages still to deliver (queued or
    /// failed), oldest first, at most `limit`, until `now + lease`: none to the agencies in
    /// `skip` (those waiting for an earlier package to go first), and none to an agency one
    /// of whose packages another instance holds a lease on, so that one instance delivers
    /// an agency's packages, in order, and no package goes twice. An instance that stopped
    /// leaves its packages to the others once its lease has run out. Claims are taken one
    /// at a time (a transaction-scoped advisory lock on PostgreSQL, the write lock on
    /// SQLite), and the rows claimed are locked `FOR UPDATE SKIP LOCKED`.
    pub fn outbox_claim(
        &self,
        holder: &str,
        now: DateTime<Utc>,
        lease: chrono::TimeDelta,
        limit: u32,
        skip: &[UnitCode],
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        let (now, until) = (to_millis(now), to_millis(now + lease));
        self.transaction(|conn| {
            if let DbConnection::Postgresql(c) = conn {
                diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
                    .bind::<diesel::sql_types::BigInt, _>(CLAIM_LOCK)
                    .execute(c)?;
            }
            let mut held: Vec<String> = interchange_outbox::table
                .filter(interchange_outbox::state.eq_any(PENDING))
                .filter(interchange_outbox::lease_until.gt(now))
                .filter(interchange_outbox::lease_holder.ne(holder))
                .select(interchange_outbox::agency_code)
                .distinct()
                .load(conn)?;
            held.extend(skip.iter().map(|c| c.as_str().to_owned()));
            let candidates = interchange_outbox::table
                .filter(interchange_outbox::state.eq_any(PENDING))
                .filter(interchange_outbox::agency_code.ne_all(&held))
                .order(interchange_outbox::id.asc())
                .limit(i64::from(limit))
                .select(interchange_outbox::id);
            let ids: Vec<i64> = match conn {
                DbConnection::Postgresql(c) => candidates.for_update().skip_locked().load(c)?,
                DbConnection::Sqlite(c) => candidates.load(c)?,
            };
            diesel::update(interchange_outbox::table.filter(interchange_outbox::id.eq_any(&ids)))
                .set((
                    interchange_outbox::lease_holder.eq(holder),
                    interchange_outbox::lease_until.eq(until),
                ))
                .execute(conn)?;
            interchange_outbox::table
                .filter(interchange_outbox::id.eq_any(&ids))
                .order(interchange_outbox::id.asc())
                .select(Row::as_select())
                .load(conn)?
                .into_iter()
                .map(OutboxEntry::try_from)
                .collect()
        })
    }

    /// Extends `holder`'s lease on package `id`, still to deliver, to `until`, just before
    /// it is delivered; `false` when another instance holds it now, or it went meanwhile.
    pub fn outbox_renew(
        &self,
        id: i64,
        holder: &str,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.transaction(|conn| {
            let renewed = diesel::update(
                interchange_outbox::table
                    .find(id)
                    .filter(interchange_outbox::lease_holder.eq(holder))
                    .filter(interchange_outbox::state.eq_any(PENDING)),
            )
            .set(interchange_outbox::lease_until.eq(to_millis(until)))
            .execute(conn)?;
            Ok(renewed == 1)
        })
    }

    /// Keeps the status package built for `id` when it was first delivered, so a retry
    /// sends the same bytes.
    pub fn outbox_built(&self, id: i64, xml: &str) -> Result<(), StoreError> {
        self.transaction(|conn| {
            diesel::update(
                interchange_outbox::table
                    .find(id)
                    .filter(interchange_outbox::package.is_null()),
            )
            .set(interchange_outbox::package.eq(Some(xml)))
            .execute(conn)?;
            Ok(())
        })
    }

    /// The transport took package `id`, delivered by `holder`.
    pub fn outbox_sent(&self, id: i64, holder: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.attempted(id, holder, OutboxState::Sent, None, at, Some(at))
    }

    /// Delivering package `id` failed (`why`); it is tried again at `next`.
    pub fn outbox_failed(
        &self,
        id: i64,
        holder: &str,
        why: &str,
        next: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.attempted(id, holder, OutboxState::Failed, Some(why), next, None)
    }

    /// The recipient refused package `id` (`why`); it is not tried again.
    pub fn outbox_returned(
        &self,
        id: i64,
        holder: &str,
        at: DateTime<Utc>,
        why: &str,
    ) -> Result<(), StoreError> {
        self.attempted(id, holder, OutboxState::Returned, Some(why), at, None)
    }

    /// Records an attempt by `holder` on a package still to deliver that it holds the lease
    /// of, and ends the lease; one acknowledged meanwhile (its recipient's status came
    /// first) stays acknowledged.
    fn attempted(
        &self,
        id: i64,
        holder: &str,
        state: OutboxState,
        why: Option<&str>,
        next: DateTime<Utc>,
        sent: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        self.transaction(|conn| {
            diesel::update(
                interchange_outbox::table
                    .find(id)
                    .filter(interchange_outbox::lease_holder.eq(holder))
                    .filter(interchange_outbox::state.eq_any(PENDING)),
            )
            .set((
                interchange_outbox::lease_holder.eq(None::<&str>),
                interchange_outbox::lease_until.eq(None::<i64>),
                interchange_outbox::state.eq(state.as_str()),
                interchange_outbox::attempts.eq(interchange_outbox::attempts + 1),
                interchange_outbox::last_error.eq(why),
                interchange_outbox::next_attempt_at.eq(to_millis(next)),
                interchange_outbox::sent_at.eq(sent.map(to_millis)),
            ))
            .execute(conn)?;
            Ok(())
        })
    }

    /// One page of the packages of the units in `scope` that `list` asks for, newest first.
    pub fn list_outbox(
        &self,
        scope: &VisibleScope,
        list: OutboxList,
        page: PageRequest,
    ) -> Result<Paged<OutboxEntry>, StoreError> {
        let filtered = || {
            let mut query = interchange_outbox::table
                .inner_join(units::table)
                .into_boxed();
            query = match scope {
                VisibleScope::Unit(id) => query.filter(interchange_outbox::unit_id.eq(id.get())),
                VisibleScope::Subtree(prefix) => {
                    query.filter(units::path.like(subtree_pattern(prefix)))
                }
            };
            match list {
                OutboxList::State(s) => query.filter(interchange_outbox::state.eq(s.as_str())),
                OutboxList::NotSent => query.filter(interchange_outbox::state.eq_any(PENDING)),
                OutboxList::SlowToAcknowledge(before) => query
                    .filter(interchange_outbox::state.eq(OutboxState::Sent.as_str()))
                    .filter(interchange_outbox::kind.eq("document"))
                    .filter(interchange_outbox::business.eq_any(OutboxBusiness::ACKNOWLEDGED))
                    .filter(interchange_outbox::sent_at.lt(to_millis(before))),
            }
        };
        self.read(|conn| {
            let total: i64 = filtered().count().get_result(conn)?;
            let rows: Vec<Row> = filtered()
                .select(Row::as_select())
                .order(interchange_outbox::id.desc())
                .limit(i64::from(page.per_page()))
                .offset(offset(page))
                .load(conn)?;
            paged(rows, page, total)
        })
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;
    use crate::test_support::tree;
    use crate::testing::TestDatabase;

    const HOLDER: &str = "instance-1";

    /// What `HOLDER` claims now, for a minute.
    fn claim(db: &Database, skip: &[UnitCode]) -> Vec<OutboxEntry> {
        db.outbox_claim(HOLDER, crate::time::now(), TimeDelta::minutes(1), 10, skip)
            .unwrap()
    }

    fn page() -> PageRequest {
        PageRequest::new(1, 50).unwrap()
    }

    fn listed(db: &Database, scope: &VisibleScope, list: OutboxList) -> Vec<i64> {
        db.list_outbox(scope, list, page())
            .unwrap()
            .items
            .iter()
            .map(|e| e.id)
            .collect()
    }

    #[test]
    fn packages_move_through_their_states_and_lists_once() {
        let tdb = TestDatabase::create();
        let db = tdb.connect();
        let t = tree(&db);
        let agency = UnitCode::parse("000.00.12.H57").unwrap();
        let (first, second) = (
            "000.31.01.H26,2026/12/02,1/UBND-VP",
            "000.31.01.H26,2026/12/02,2/UBND-VP",
        );
        let at = crate::time::now();
        db.transaction(|conn| {
            let package = SealedPackage {
                agency: agency.clone(),
                business: OutboxBusiness::New,
                xml: "<edXML/>".into(),
            };
            for id in [first, second] {
                insert(
                    conn,
                    t.commune.id,
                    &agency,
                    id,
                    None,
                    (None, None),
                    Some((&package.xml, OutboxBusiness::New)),
                    at,
                )?;
            }
            queue_status(
                conn,
                t.commune.id,
                &agency,
                first,
                (InterchangeStatus::Recall, Some("ban hành nhầm")),
                (None, None),
                at,
            )
        })
        .unwrap();
        let pending = claim(&db, &[]);
        let ids: Vec<i64> = pending.iter().map(|e| e.id).collect();
        assert_eq!(pending.len(), 3);
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "oldest first: {ids:?}");
        assert_eq!(
            pending[2].kind,
            OutboxKind::Status(InterchangeStatus::Recall)
        );
        assert_eq!(pending[2].description.as_deref(), Some("ban hành nhầm"));
        assert_eq!(pending[2].package, None);
        let (a, b, status) = (ids[0], ids[1], ids[2]);
        assert!(claim(&db, std::slice::from_ref(&agency)).is_empty());

        // Failed, then sent; an attempt recorded late changes nothing once sent.
        db.outbox_failed(a, HOLDER, "unreachable", at + TimeDelta::seconds(5))
            .unwrap();
        let unit = VisibleScope::Unit(t.commune.id);
        assert_eq!(
            listed(&db, &unit, OutboxList::State(OutboxState::Failed)),
            [a]
        );
        assert_eq!(listed(&db, &unit, OutboxList::NotSent), [status, b, a]);
        claim(&db, &[]);
        db.outbox_sent(a, HOLDER, at).unwrap();
        db.outbox_failed(a, HOLDER, "late", at).unwrap();
        let sent = claim(&db, &[]);
        assert_eq!(sent.iter().map(|e| e.id).collect::<Vec<_>>(), [b, status]);
        let a_now = &db
            .list_outbox(&unit, OutboxList::State(OutboxState::Sent), page())
            .unwrap()
            .items[0];
        assert_eq!((a_now.attempts, a_now.last_error.as_deref()), (2, None));
        assert_eq!(
            listed(
                &db,
                &unit,
                OutboxList::SlowToAcknowledge(at + TimeDelta::days(1))
            ),
            [a]
        );

        // A status from the recipient acknowledges its document; 02 returns it, even
        // before the transport said it was taken. A status package is never acknowledged.
        db.transaction(|conn| {
            acknowledge(conn, first, &agency, InterchangeStatus::Accepted, at)?;
            acknowledge(conn, second, &agency, InterchangeStatus::Rejected, at)
        })
        .unwrap();
        assert_eq!(
            listed(&db, &unit, OutboxList::State(OutboxState::Acknowledged)),
            [a]
        );
        assert_eq!(
            listed(&db, &unit, OutboxList::State(OutboxState::Returned)),
            [b]
        );
        assert_eq!(listed(&db, &unit, OutboxList::NotSent), [status]);
        db.outbox_sent(b, HOLDER, at).unwrap();
        assert_eq!(
            listed(&db, &unit, OutboxList::State(OutboxState::Returned)),
            [b]
        );
        // A later 02 returns even an acknowledged document; nothing brings a return back.
        db.transaction(|conn| {
            acknowledge(conn, first, &agency, InterchangeStatus::Rejected, at)?;
            acknowledge(conn, first, &agency, InterchangeStatus::Accepted, at)
        })
        .unwrap();
        assert_eq!(
            listed(&db, &unit, OutboxList::State(OutboxState::Returned)),
            [b, a]
        );

        // A status package is built once and kept; the recipient's refusal returns it.
        db.outbox_built(status, "<edXML>1</edXML>").unwrap();
        db.outbox_built(status, "<edXML>2</edXML>").unwrap();
        assert_eq!(
            claim(&db, &[])[0].package.as_deref(),
            Some("<edXML>1</edXML>")
        );
        db.outbox_returned(
            status,
            HOLDER,
            at,
            "the package is refused: unknown document",
        )
        .unwrap();
        assert!(claim(&db, &[]).is_empty());

        // Each unit's clerks see their own; the province's admins the subtree's.
        assert!(listed(
            &db,
            &VisibleScope::Unit(t.sibling.id),
            OutboxList::State(OutboxState::Returned)
        )
        .is_empty());
        assert_eq!(
            listed(
                &db,
                &VisibleScope::Subtree(t.province.path.clone()),
                OutboxList::State(OutboxState::Returned)
            ),
            [status, b, a]
        );
    }

    #[test]
    fn one_instance_delivers_an_agency_s_packages_until_its_lease_runs_out() {
        let tdb = TestDatabase::create();
        let db = tdb.connect();
        let t = tree(&db);
        let (x, y) = (
            UnitCode::parse("000.00.12.H57").unwrap(),
            UnitCode::parse("000.00.13.H57").unwrap(),
        );
        let at = crate::time::now();
        db.transaction(|conn| {
            for (n, agency) in [&x, &x, &y].into_iter().enumerate() {
                insert(
                    conn,
                    t.commune.id,
                    agency,
                    &format!("000.31.01.H26,2026/12/02,{}/UBND-VP", n + 1),
                    None,
                    (None, None),
                    Some(("<edXML/>", OutboxBusiness::New)),
                    at,
                )?;
            }
            Ok(())
        })
        .unwrap();
        let lease = TimeDelta::seconds(30);
        let ids = |e: Vec<OutboxEntry>| e.iter().map(|e| e.id).collect::<Vec<_>>();
        let first = ids(db.outbox_claim("a", at, lease, 1, &[]).unwrap());
        assert_eq!(first.len(), 1);
        // The other instance leaves the agency the first one delivers to alone, even its
        // packages the first did not claim, but takes the other agency's.
        let second = db.outbox_claim("b", at, lease, 10, &[]).unwrap();
        assert_eq!(
            second.iter().map(|e| &e.agency).collect::<Vec<_>>(),
            [&y],
            "{second:?}"
        );
        assert!(!db.outbox_renew(first[0], "b", at + lease).unwrap());
        assert!(db.outbox_renew(first[0], "a", at + lease).unwrap());
        // An attempt recorded by an instance not holding the lease changes nothing.
        db.outbox_sent(first[0], "b", at).unwrap();
        assert_eq!(
            ids(db.outbox_claim("a", at, lease, 10, &[]).unwrap()).len(),
            2
        );
        // The first instance stops; once its lease has run out the other takes both, in
        // order, and the first one's late word changes nothing.
        let later = at + lease * 3;
        assert!(db
            .outbox_claim("b", at, lease, 10, std::slice::from_ref(&y))
            .unwrap()
            .is_empty());
        let taken = ids(db.outbox_claim("b", later, lease, 10, &[y]).unwrap());
        assert_eq!(taken.len(), 2);
        assert_eq!(taken[0], first[0]);
        db.outbox_sent(taken[0], "a", later).unwrap();
        db.outbox_sent(taken[0], "b", later).unwrap();
        let sent = db
            .list_outbox(
                &VisibleScope::Unit(t.commune.id),
                OutboxList::State(OutboxState::Sent),
                page(),
            )
            .unwrap()
            .items;
        assert_eq!(sent.len(), 1);
        assert_eq!((sent[0].id, sent[0].attempts), (taken[0], 1));
    }
}
