//! The documents behind the handling reports of Decree 30/2020 Appendix VI part V: the
//! incoming documents a unit (or a subtree) received in a period, with the facts the ratio
//! counts read, and the outgoing documents it issued in a period.

use chrono::{NaiveDate, NaiveTime};
use diesel::prelude::*;
use vanthu_reports::IncomingFacts;
use vanthu_routing::VIETNAM_OFFSET_SECONDS;

use crate::db::DbConnection;
use crate::incoming::{with_assignments, IncomingRow};
use crate::outgoing::{assemble, OutgoingRow};
use crate::reports::{load_incoming_facts, FactsOf};
use crate::schema::{incoming_documents, outgoing_documents, units};
use crate::units::{load_unit, subtree_pattern};
use crate::{Database, IncomingDocument, OutgoingDocument, ReportScope, StoreError};

/// An incoming document with the facts its handling status is read from.
#[derive(Debug, Clone)]
pub struct HandlingLine {
    /// The document.
    pub document: IncomingDocument,
    /// What the ratio counts know of it.
    pub facts: IncomingFacts,
}

/// The first millisecond of Vietnam day `day`, in Unix milliseconds.
fn day_start_millis(day: NaiveDate) -> i64 {
    day.and_time(NaiveTime::MIN).and_utc().timestamp_millis()
        - i64::from(VIETNAM_OFFSET_SECONDS) * 1000
}

/// `[first, after)` in Unix milliseconds for the days of `scope`.
fn millis_range(scope: &ReportScope) -> (i64, i64) {
    let after = scope.to.succ_opt().map_or(i64::MAX, day_start_millis);
    (day_start_millis(scope.from), after)
}

impl Database {
    /// The incoming documents the unit of `scope` (and, with `subtree`, the units below it)
    /// received in its days, Vietnam calendar, in the order they arrived: at most `limit`
    /// (one more tells the caller there are more). Recalled copies are included: the report
    /// shows the recall.
    pub fn incoming_received_in(
        &self,
        scope: &ReportScope,
        limit: u32,
    ) -> Result<Vec<HandlingLine>, StoreError> {
        let (first, after) = millis_range(scope);
        self.snapshot(|conn| {
            let unit = load_unit(conn, scope.unit)?;
            let query = incoming_documents::table
                .inner_join(units::table)
                .filter(incoming_documents::received_at.ge(first))
                .filter(incoming_documents::received_at.lt(after))
                .into_boxed();
            let query = if scope.subtree {
                query.filter(units::path.like(subtree_pattern(&unit.path)))
            } else {
                query.filter(incoming_documents::unit_id.eq(unit.id.get()))
            };
            let rows: Vec<(IncomingRow, String)> = query
                .select((IncomingRow::as_select(), units::path))
                .order((
                    incoming_documents::received_at.asc(),
                    incoming_documents::id.asc(),
                ))
                .limit(i64::from(limit) + 1)
                .load(conn)?;
            let documents = with_assignments(conn, rows)?;
            lines(conn, documents)
        })
    }

    /// The outgoing documents the unit of `scope` (and, with `subtree`, the units below it)
    /// issued in its days, Vietnam calendar, in the order they were issued: at most `limit`
    /// (one more tells the caller there are more).
    pub fn outgoing_issued_in(
        &self,
        scope: &ReportScope,
        limit: u32,
    ) -> Result<Vec<OutgoingDocument>, StoreError> {
        let (first, after) = millis_range(scope);
        self.snapshot(|conn| {
            let unit = load_unit(conn, scope.unit)?;
            let query = outgoing_documents::table
                .inner_join(units::table)
                .filter(outgoing_documents::issued_at.ge(first))
                .filter(outgoing_documents::issued_at.lt(after))
                .into_boxed();
            let query = if scope.subtree {
                query.filter(units::path.like(subtree_pattern(&unit.path)))
            } else {
                query.filter(outgoing_documents::unit_id.eq(unit.id.get()))
            };
            let rows: Vec<(OutgoingRow, String)> = query
                .select((OutgoingRow::as_select(), units::path))
                .order((
                    outgoing_documents::issued_at.asc(),
                    outgoing_documents::id.asc(),
                ))
                .limit(i64::from(limit) + 1)
                .load(conn)?;
            assemble(conn, rows)
        })
    }
}

/// Pairs each document with its facts, keeping the documents' order.
fn lines(
    conn: &mut DbConnection,
    documents: Vec<IncomingDocument>,
) -> Result<Vec<HandlingLine>, StoreError> {
    let ids: Vec<i64> = documents.iter().map(|d| d.id.get()).collect();
    let mut facts: std::collections::HashMap<i64, IncomingFacts> = ids
        .chunks(500)
        .map(|chunk| load_incoming_facts(conn, FactsOf::Ids(chunk)))
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .flatten()
        .collect();
    documents
        .into_iter()
        .map(|document| {
            let facts = facts.remove(&document.id.get()).ok_or_else(|| {
                StoreError::corrupt(format!("incoming document {} has no facts", document.id))
            })?;
            Ok(HandlingLine { document, facts })
        })
        .collect()
}
