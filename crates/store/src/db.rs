//! Connection handling: one pool over SQLite or PostgreSQL, chosen by the URL.
//!
//! A lookup by a unique key reads its row with `get_result`, not `first`: `first` adds
//! `LIMIT ?` with a bound 1, and SQLite (3.53, which lets a bound LIMIT steer the plan)
//! prepares such a statement again each time its values are bound, so every cached lookup
//! would be compiled anew (a tenth of the server's time under load, measured with perf).

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::r2d2::{self, ManageConnection, Pool, PooledConnection};
use diesel::{Connection, PgConnection, RunQueryDsl, SqliteConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::StoreError;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// Key of the PostgreSQL advisory lock that serialises migrations when several server
/// instances start at once (the bytes spell "vanthu").
const MIGRATION_LOCK_KEY: i64 = 0x76_61_6e_74_68_75;

/// How long [`Database::ping`] waits for a connection.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// How long a SQLite connection waits for another writer before failing with "busy".
const SQLITE_BUSY_TIMEOUT_MS: u32 = 5_000;

/// A connection that completed a transaction this recently is handed out again without a
/// `SELECT 1` first (HikariCP's `aliveBypassWindowMs` has the same default). Under load that
/// check was one round trip in six on PostgreSQL: a request takes a connection several times.
const ALIVE_WITHOUT_CHECK: Duration = Duration::from_millis(500);

/// One connection to either backend; queries written once run on both.
#[derive(diesel::MultiConnection)]
pub(crate) enum DbConnection {
    Postgresql(PgConnection),
    Sqlite(SqliteConnection),
}

/// Which database engine a [`Database`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite file (the zero-configuration default).
    Sqlite,
    /// PostgreSQL server (production).
    Postgres,
}

impl Backend {
    /// `sqlite` or `postgres`.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone)]
enum Location {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Location {
    fn parse(url: &str) -> Result<Self, StoreError> {
        let url = url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Location::Postgres(url.to_owned()));
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        if path.is_empty() {
            return Err(StoreError::Connect("the database URL is empty".into()));
        }
        if url == path && url.contains("://") {
            return Err(StoreError::Connect(format!(
                "unsupported database URL '{}'; use sqlite://PATH, a file path, or postgres://...",
                redact(url)
            )));
        }
        Ok(Location::Sqlite(PathBuf::from(path)))
    }

    fn backend(&self) -> Backend {
        match self {
            Location::Sqlite(_) => Backend::Sqlite,
            Location::Postgres(_) => Backend::Postgres,
        }
    }
}

/// Hides the password of a URL such as `postgres://user:secret@host/db` for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Opens connections itself rather than through the derived `establish`, which tries every
/// backend and reports only the last error.
#[derive(Debug)]
pub(crate) struct Manager {
    location: Location,
}

impl Manager {
    fn open(&self) -> Result<DbConnection, diesel::ConnectionError> {
        match &self.location {
            Location::Postgres(url) => PgConnection::establish(url).map(DbConnection::Postgresql),
            Location::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(&path.to_string_lossy())?;
                // busy_timeout first: switching to WAL itself needs the lock another
                // connection may hold. synchronous=NORMAL under WAL survives process crashes;
                // a power loss may drop the last commits but never corrupts the file, and
                // blobs are synced before their rows are written, so the worst case is an
                // orphan blob.
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS};
                     PRAGMA journal_mode = WAL;
                     PRAGMA synchronous = NORMAL;
                     PRAGMA foreign_keys = ON;"
                ))
                .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }
}

/// A connection in the pool, with when it last proved alive.
pub(crate) struct Pooled {
    conn: DbConnection,
    /// Set when a check or a transaction on it succeeds, cleared when a transaction fails (the
    /// failure may be the connection's), so that a dead connection is checked on its next use.
    alive_at: Option<Instant>,
}

impl ManageConnection for Manager {
    type Connection = Pooled;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<Pooled, r2d2::Error> {
        let conn = self.open().map_err(r2d2::Error::ConnectionError)?;
        Ok(Pooled {
            conn,
            alive_at: Some(Instant::now()),
        })
    }

    fn is_valid(&self, pooled: &mut Pooled) -> Result<(), r2d2::Error> {
        if pooled
            .alive_at
            .is_some_and(|at| at.elapsed() < ALIVE_WITHOUT_CHECK)
        {
            return Ok(());
        }
        pooled
            .conn
            .batch_execute("SELECT 1")
            .map_err(r2d2::Error::QueryError)?;
        pooled.alive_at = Some(Instant::now());
        Ok(())
    }

    fn has_broken(&self, pooled: &mut Pooled) -> bool {
        // A transaction a failed rollback left open; a dead connection is caught by
        // `is_valid` when it is next taken.
        r2d2::R2D2Connection::is_broken(&mut pooled.conn)
    }
}

/// A connection taken from the pool; derefs to the connection itself.
pub(crate) struct Conn(PooledConnection<Manager>);

impl Conn {
    /// Records how a transaction on it ended: only a success proves it alive.
    fn ended<T, E>(&mut self, result: &Result<T, E>) {
        self.0.alive_at = result.is_ok().then(Instant::now);
    }
}

impl Deref for Conn {
    type Target = DbConnection;

    fn deref(&self) -> &DbConnection {
        &self.0.conn
    }
}

impl DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut DbConnection {
        &mut self.0.conn
    }
}

/// A pool of connections to the vanthu database, with the schema up to date.
///
/// Cheap to clone; every method is synchronous and meant to run on a blocking thread.
#[derive(Clone)]
pub struct Database {
    pool: Pool<Manager>,
    backend: Backend,
    /// SQLite's one writer at a time, among this process's connections (see `transaction`).
    writer: Arc<Mutex<()>>,
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Database")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl Database {
    /// Opens the database and applies pending migrations.
    ///
    /// `url` is `postgres://...` / `postgresql://...` for PostgreSQL, or `sqlite://PATH`,
    /// `sqlite:PATH` or a plain file path for SQLite; a missing SQLite file and its parent
    /// directory are created.
    pub fn connect(url: &str) -> Result<Database, StoreError> {
        let location = Location::parse(url)?;
        if let Location::Sqlite(path) = &location {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                if !parent.exists() {
                    crate::private::create_dir(parent).map_err(|e| {
                        StoreError::Connect(format!("cannot create {}: {e}", parent.display()))
                    })?;
                }
            }
            // SQLite would create the file with 0644 less the umask; created here first, it
            // is private, and SQLite gives its -wal and -shm files the same mode.
            if path.as_os_str() != ":memory:" {
                crate::private::create_file(path).map_err(|e| {
                    StoreError::Connect(format!("cannot create {}: {e}", path.display()))
                })?;
            }
        }
        let backend = location.backend();
        let manager = Manager { location };
        // The first connection is opened by hand so its real error reaches the user; the pool
        // would only report a timeout.
        let mut first = manager
            .open()
            .map_err(|e| StoreError::Connect(format!("{} ({})", e, redact(url))))?;
        run_migrations(&mut first)?;
        drop(first);
        let max_size = match backend {
            // SQLite has one writer; a few connections serve concurrent readers under WAL.
            Backend::Sqlite => 4,
            Backend::Postgres => 10,
        };
        // No idle minimum: r2d2 tops an idle minimum up from a background thread, and a
        // short-lived command (`vanthu check`) exiting while that thread is still inside
        // libpq/OpenSSL can crash in the library's exit handlers. Connections are opened when
        // asked for and then kept.
        let pool = Pool::builder()
            .max_size(max_size)
            .min_idle(Some(0))
            .connection_timeout(Duration::from_secs(10))
            .build(manager)
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        tracing::info!(backend = backend.as_str(), "database ready");
        Ok(Database {
            pool,
            backend,
            writer: Arc::default(),
        })
    }

    /// The engine behind this database.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Checks that a connection can be obtained and answers a query (for readiness probes).
    pub fn ping(&self) -> Result<(), StoreError> {
        // Probes give up after a few seconds; waiting the full checkout timeout would only
        // make them time out instead of reporting the cause.
        let mut conn = self
            .pool
            .get_timeout(PING_TIMEOUT)
            .map(Conn)
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        conn.batch_execute("SELECT 1")?;
        Ok(())
    }

    pub(crate) fn conn(&self) -> Result<Conn, StoreError> {
        self.pool
            .get()
            .map(Conn)
            .map_err(|e| StoreError::Unavailable(e.to_string()))
    }

    /// Runs `f` in one transaction that writes, committed only if it returns `Ok`.
    pub(crate) fn transaction<T>(
        &self,
        f: impl FnOnce(&mut DbConnection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if self.backend == Backend::Postgres {
            return self.in_transaction(f);
        }
        // SQLite writes one transaction at a time. This process's writers queue here, each
        // woken as soon as the one before it ends, instead of in SQLite's busy handler, which
        // sleeps up to 100 ms between tries; another process writing to the same file (a
        // command beside the server) still meets the busy timeout. Taken before the
        // connection, so a writer waiting here holds none of the pool's.
        let _writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let mut pooled = self.conn()?;
        let conn: &mut DbConnection = &mut pooled;
        // SQLite: take the write lock up front. A deferred transaction that reads and then
        // writes fails at once with SQLITE_BUSY, without waiting, when another writer
        // committed in between.
        AnsiTransactionManager::begin_transaction_sql(
            sqlite(conn).expect("a SQLite database connects to SQLite"),
            "BEGIN IMMEDIATE",
        )?;
        let result = f(conn);
        let inner = sqlite(conn).expect("a SQLite database connects to SQLite");
        let result = match result {
            Ok(value) => AnsiTransactionManager::commit_transaction(inner)
                .map(|()| value)
                .map_err(StoreError::from),
            Err(e) => AnsiTransactionManager::rollback_transaction(inner)
                .map_err(StoreError::from)
                .and(Err(e)),
        };
        pooled.ended(&result);
        result
    }

    /// Runs `f`, which only reads, in one transaction so that it sees one consistent state.
    pub(crate) fn read<T>(
        &self,
        f: impl FnOnce(&mut DbConnection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.in_transaction(f)
    }

    /// Runs `f` in one transaction of the backend's default kind on a pooled connection, and
    /// records on the connection whether it ended well.
    fn in_transaction<T>(
        &self,
        f: impl FnOnce(&mut DbConnection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.conn()?;
        let result = (*conn).transaction(f);
        conn.ended(&result);
        result
    }
}

impl Database {
    /// Runs `f`, which only reads, in one transaction that sees one state of the database
    /// however long it runs and whatever commits meanwhile: PostgreSQL's REPEATABLE READ; a
    /// SQLite read transaction under WAL is such a snapshot already.
    pub(crate) fn snapshot<T>(
        &self,
        f: impl FnOnce(&mut DbConnection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.in_transaction(|conn| {
            if let DbConnection::Postgresql(c) = conn {
                diesel::sql_query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ").execute(c)?;
            }
            f(conn)
        })
    }
}

fn sqlite(conn: &mut DbConnection) -> Option<&mut SqliteConnection> {
    match conn {
        DbConnection::Sqlite(c) => Some(c),
        DbConnection::Postgresql(_) => None,
    }
}

fn run_migrations(conn: &mut DbConnection) -> Result<(), StoreError> {
    let migration_error =
        |e: Box<dyn std::error::Error + Send + Sync>| StoreError::Migration(e.to_string());
    match conn {
        DbConnection::Sqlite(c) => {
            let applied = c
                .run_pending_migrations(SQLITE_MIGRATIONS)
                .map_err(migration_error)?;
            if introduces_report_counts(&applied) {
                conn.transaction(crate::reports::rebuild)?;
            }
        }
        DbConnection::Postgresql(c) => {
            diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))
                .execute(c)?;
            let applied = c
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(|versions| introduces_report_counts(&versions));
            // Still under the lock: another instance starting at once waits for the counters.
            let rebuilt = match applied {
                Ok(true) => conn.transaction(crate::reports::rebuild).map(|_| ()),
                _ => Ok(()),
            };
            if let DbConnection::Postgresql(c) = conn {
                diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))
                    .execute(c)?;
            }
            applied.map_err(migration_error)?;
            rebuilt?;
        }
    }
    Ok(())
}

/// Whether `applied` includes the migration that created the ratio counters, which start
/// from the documents already stored.
fn introduces_report_counts(applied: &[diesel::migration::MigrationVersion<'_>]) -> bool {
    applied
        .iter()
        .any(|v| v.to_string().starts_with(REPORT_COUNTS_MIGRATION))
}

/// The version of the migration that created `report_counts`.
const REPORT_COUNTS_MIGRATION: &str = "2026-12-04-000001";

/// Inserts `$values` into `$table` and returns the generated `$id`.
///
/// `RETURNING` is not part of the shared backend, so the statement is built once per
/// concrete connection.
macro_rules! insert_returning_id {
    ($conn:expr, $table:expr, $values:expr, $id:expr) => {
        match $conn {
            $crate::db::DbConnection::Postgresql(c) => diesel::insert_into($table)
                .values($values)
                .returning($id)
                .get_result::<i64>(c),
            $crate::db::DbConnection::Sqlite(c) => diesel::insert_into($table)
                .values($values)
                .returning($id)
                .get_result::<i64>(c),
        }
    };
}
pub(crate) use insert_returning_id;

/// Runs `$body` with `$c` bound to the concrete connection, for the statements the shared
/// backend lacks (`ON CONFLICT`, `RETURNING` of other columns); the body is written once.
macro_rules! per_backend {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            $crate::db::DbConnection::Postgresql($c) => $body,
            $crate::db::DbConnection::Sqlite($c) => $body,
        }
    };
}
pub(crate) use per_backend;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_choose_the_backend() {
        for (url, expected) in [
            ("postgres://u@h/db", Backend::Postgres),
            ("postgresql://u@h/db", Backend::Postgres),
            ("sqlite://data/vanthu.db", Backend::Sqlite),
            ("sqlite:data/vanthu.db", Backend::Sqlite),
            ("sqlite:///var/lib/vanthu.db", Backend::Sqlite),
            ("data/vanthu.db", Backend::Sqlite),
        ] {
            assert_eq!(Location::parse(url).unwrap().backend(), expected, "{url}");
        }
        match Location::parse("sqlite:///var/lib/vanthu.db").unwrap() {
            Location::Sqlite(p) => assert_eq!(p, PathBuf::from("/var/lib/vanthu.db")),
            other => panic!("{other:?}"),
        }
        assert!(Location::parse("mysql://h/db").is_err());
        assert!(Location::parse("sqlite://").is_err());
        assert!(Location::parse("").is_err());
    }

    #[test]
    fn connect_migrates_once_and_pings() {
        let tdb = crate::testing::TestDatabase::create();
        let expected = match std::env::var(crate::testing::TEST_DATABASE_ENV) {
            Ok(url) if url.starts_with("postgres") => Backend::Postgres,
            _ => Backend::Sqlite,
        };
        assert_eq!(tdb.backend(), expected);
        let db = tdb.connect();
        assert_eq!(db.backend(), expected);
        db.ping().unwrap();
        // A second start finds the schema current and keeps the data.
        let root = province(&db);
        drop(db);
        let again = tdb.connect();
        assert_eq!(again.get_unit(root.id).unwrap(), root);
    }

    /// A connection the database server closed costs at most one failed call, made while it
    /// still counted as just used; the next call checks it and gets a new one. Once idle past
    /// the window, it is checked before use and no call fails. PostgreSQL only: SQLite has
    /// no server to lose.
    #[test]
    fn a_connection_the_server_closed_fails_once_and_is_replaced() {
        let tdb = crate::testing::TestDatabase::create();
        if tdb.backend() != Backend::Postgres {
            return;
        }
        let db = tdb.connect();
        let query = |db: &Database| {
            db.read(|conn| {
                Ok(
                    diesel::select(diesel::dsl::sql::<diesel::sql_types::Integer>("1"))
                        .get_result::<i32>(conn)?,
                )
            })
        };
        let mut admin = PgConnection::establish(tdb.url()).unwrap();
        let mut close_the_pools_connection = || {
            admin
                .batch_execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                     WHERE datname = current_database() AND pid <> pg_backend_pid()",
                )
                .unwrap();
            // Terminating is a signal: wait until the backend is gone.
            for _ in 0..200 {
                let others: i64 = diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
                    "(SELECT count(*) FROM pg_stat_activity
                      WHERE datname = current_database() AND pid <> pg_backend_pid())",
                ))
                .get_result(&mut admin)
                .unwrap();
                if others == 0 {
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            panic!("the pool's connection was not closed");
        };

        assert_eq!(query(&db).unwrap(), 1);
        close_the_pools_connection();
        assert!(
            query(&db).is_err(),
            "handed out unchecked within the window"
        );
        assert_eq!(query(&db).unwrap(), 1, "checked, found closed and replaced");

        close_the_pools_connection();
        std::thread::sleep(ALIVE_WITHOUT_CHECK + Duration::from_millis(100));
        assert_eq!(
            query(&db).unwrap(),
            1,
            "checked before use after the window"
        );
    }

    /// Every down migration undoes its up migration on both backends: reverted all the way
    /// down, the schema applies again from nothing (an up finding a table a down forgot
    /// fails), and the report counters are rebuilt as on a first start.
    #[test]
    fn every_migration_reverts_and_applies_again() {
        let tdb = crate::testing::TestDatabase::create();
        let db = tdb.connect();
        {
            let mut pooled = db.conn().unwrap();
            let reverted = match &mut *pooled {
                DbConnection::Sqlite(c) => c.revert_all_migrations(SQLITE_MIGRATIONS),
                DbConnection::Postgresql(c) => c.revert_all_migrations(POSTGRES_MIGRATIONS),
            }
            .unwrap_or_else(|e| panic!("reverting: {e}"));
            let available = std::fs::read_dir(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../migrations/sqlite"
            ))
            .unwrap()
            .count();
            assert_eq!(reverted.len(), available);
            run_migrations(&mut pooled).unwrap_or_else(|e| panic!("applying again: {e}"));
        }
        let root = province(&db);
        assert_eq!(db.get_unit(root.id).unwrap(), root);
    }

    fn province(db: &Database) -> vanthu_domain::Unit {
        let new = crate::test_support::new_unit(
            None,
            "000.00.00.H26",
            vanthu_domain::UnitLevel::Province,
        );
        db.insert_unit(None, &new).unwrap()
    }

    #[test]
    fn sqlite_locations_are_created_and_failures_explained() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("data/deeper/vanthu.db");
        let db = Database::connect(&format!("sqlite:{}", nested.display())).unwrap();
        db.ping().unwrap();
        assert!(nested.exists());
        let plain = dir.path().join("plain.db");
        Database::connect(&plain.display().to_string())
            .unwrap()
            .ping()
            .unwrap();

        std::fs::write(dir.path().join("file"), b"x").unwrap();
        let err = Database::connect(&format!("sqlite://{}/file/vanthu.db", dir.path().display()))
            .unwrap_err();
        assert!(matches!(err, StoreError::Connect(_)), "{err}");
    }

    #[test]
    fn an_unreachable_server_reports_the_real_error() {
        // Port 1 is never a PostgreSQL server; the message must say why, not "timed out".
        let err = Database::connect("postgres://app:s3cret@127.0.0.1:1/vanthu").unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, StoreError::Connect(_)), "{msg}");
        assert!(
            msg.contains("127.0.0.1") && !msg.contains("s3cret"),
            "{msg}"
        );
    }

    #[test]
    fn passwords_stay_out_of_messages() {
        assert_eq!(
            redact("postgres://app:s3cret@db:5432/x"),
            "postgres://app:***@db:5432/x"
        );
        assert_eq!(redact("postgres://app@db/x"), "postgres://app@db/x");
        let err = Location::parse("mysql://app:s3cret@db/x")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("s3cret"), "{err}");
    }
}
