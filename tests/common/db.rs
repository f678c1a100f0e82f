//! The database and blob store as a test sees them from outside the server: every row of
//! every table, read with plain SQL, and every file under the data directory, so a test can
//! show that a refused request changed nothing at all.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use diesel::sql_types::Text;
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl, SqliteConnection};

use super::{files_under, TestEnv};

/// Each table with the columns that make up its rows, in a stable order.
const TABLES: [(&str, &str, &[&str]); 8] = [
    (
        "units",
        "id",
        &[
            "id",
            "parent_id",
            "code",
            "name",
            "level",
            "path",
            "created_at",
        ],
    ),
    (
        "users",
        "id",
        &[
            "id",
            "username",
            "display_name",
            "unit_id",
            "roles",
            "password_hash",
            "disabled",
            "created_at",
            "updated_at",
        ],
    ),
    (
        "sessions",
        "id",
        &[
            "id",
            "token_hash",
            "user_id",
            "created_at",
            "expires_at",
            "revoked_at",
        ],
    ),
    (
        "files",
        "sha256, unit_id",
        &[
            "sha256",
            "unit_id",
            "size",
            "media_type",
            "uploaded_by",
            "created_at",
        ],
    ),
    (
        "certificates",
        "id",
        &[
            "id",
            "owner_user_id",
            "owner_unit_id",
            "purpose",
            "subject",
            "serial",
            "not_before",
            "not_after",
            "cert_pem",
            "created_at",
        ],
    ),
    (
        "delegations",
        "id",
        &[
            "id",
            "principal_id",
            "deputy_id",
            "unit_id",
            "may_assign",
            "may_sign",
            "starts_on",
            "ends_on",
            "created_at",
            "revoked_at",
            "revoked_by",
        ],
    ),
    (
        "document_copies",
        "id",
        &[
            "id",
            "unit_id",
            "outgoing_id",
            "incoming_id",
            "form",
            "source_sha256",
            "sha256",
            "size",
            "made_by",
            "made_at",
        ],
    ),
    (
        "appearance_images",
        "id",
        &[
            "id",
            "user_id",
            "unit_id",
            "sha256",
            "size",
            "uploaded_by",
            "uploaded_at",
        ],
    ),
];

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Text)]
    row: String,
}

enum Conn {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

/// A direct connection to a test environment's database, beside the server's own pool.
pub struct DbObserver {
    conn: Conn,
    env_blobs: std::path::PathBuf,
}

/// Everything stored: each table's rows as text, and each file under the blob folder with
/// its length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    tables: BTreeMap<&'static str, Vec<String>>,
    blobs: Vec<(String, u64)>,
}

impl DbObserver {
    /// Connects to `env`'s database (SQLite file or PostgreSQL).
    pub fn open(env: &TestEnv) -> DbObserver {
        let url = env.db.url();
        let conn = match url.strip_prefix("sqlite://") {
            Some(path) => Conn::Sqlite(
                SqliteConnection::establish(path)
                    .unwrap_or_else(|e| panic!("open {path} directly: {e}")),
            ),
            None => Conn::Pg(
                PgConnection::establish(url)
                    .unwrap_or_else(|e| panic!("connect to the test database directly: {e}")),
            ),
        };
        DbObserver {
            conn,
            env_blobs: env.blob_dir(),
        }
    }

    /// Whether the database is PostgreSQL (SQL that differs between engines asks).
    pub fn is_postgres(&self) -> bool {
        matches!(self.conn, Conn::Pg(_))
    }

    /// Runs statements behind the server's back, as someone with database access could.
    pub fn execute(&mut self, sql: &str) {
        self.try_execute(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// Like [`DbObserver::execute`], returning the database's refusal.
    pub fn try_execute(&mut self, sql: &str) -> Result<(), String> {
        use diesel::connection::SimpleConnection;
        match &mut self.conn {
            Conn::Pg(c) => c.batch_execute(sql),
            Conn::Sqlite(c) => c.batch_execute(sql),
        }
        .map_err(|e| e.to_string())
    }

    /// The single text column `row` of each row `sql` selects.
    pub fn texts(&mut self, sql: &str) -> Vec<String> {
        self.rows(sql)
    }

    fn rows(&mut self, sql: &str) -> Vec<String> {
        let query = diesel::sql_query(sql);
        let rows: Vec<Row> = match &mut self.conn {
            Conn::Pg(c) => query.load(c),
            Conn::Sqlite(c) => query.load(c),
        }
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
        rows.into_iter().map(|r| r.row).collect()
    }

    /// Every row of every table, and every stored file, as they are now.
    pub fn snapshot(&mut self) -> Snapshot {
        let mut tables = BTreeMap::new();
        for (table, order, columns) in TABLES {
            // One text per row: the same SQL on both engines.
            let row = columns
                .iter()
                .map(|c| format!("COALESCE(CAST({c} AS TEXT), '<null>')"))
                .collect::<Vec<_>>()
                .join(" || ' | ' || ");
            let sql = format!("SELECT {row} AS row FROM {table} ORDER BY {order}");
            tables.insert(table, self.rows(&sql));
        }
        let mut blobs: Vec<(String, u64)> = files_under(&self.env_blobs)
            .into_iter()
            .map(|path| {
                let len = std::fs::metadata(&path).map_or(0, |m| m.len());
                let name = path
                    .strip_prefix(&self.env_blobs)
                    .unwrap_or(&path)
                    .display()
                    .to_string();
                (name, len)
            })
            .collect();
        blobs.sort();
        Snapshot { tables, blobs }
    }
}

impl Snapshot {
    /// The rows of `table`, in key order.
    pub fn rows(&self, table: &str) -> &[String] {
        self.tables.get(table).map_or(&[], Vec::as_slice)
    }

    /// Panics with the rows and files that differ unless `after` equals `self`.
    #[track_caller]
    pub fn assert_unchanged(&self, after: &Snapshot, what: &str) {
        if self == after {
            return;
        }
        let mut diff = String::new();
        for (table, rows) in &self.tables {
            let later = &after.tables[table];
            for row in rows.iter().filter(|r| !later.contains(r)) {
                let _ = writeln!(diff, "  {table}: gone or changed: {row}");
            }
            for row in later.iter().filter(|r| !rows.contains(r)) {
                let _ = writeln!(diff, "  {table}: new or changed: {row}");
            }
        }
        for blob in self.blobs.iter().filter(|b| !after.blobs.contains(b)) {
            let _ = writeln!(diff, "  blob gone or changed: {blob:?}");
        }
        for blob in after.blobs.iter().filter(|b| !self.blobs.contains(b)) {
            let _ = writeln!(diff, "  blob new or changed: {blob:?}");
        }
        panic!("{what} changed what is stored:\n{diff}");
    }
}
