//! A fresh, empty database per test, on the backend chosen by `VANTHU_TEST_DATABASE`.
//!
//! - unset or `sqlite`: a SQLite file in a temporary directory, removed afterwards;
//! - a `postgres://` URL: a new database `vanthu_t_<random hex>` created through that URL and
//!   dropped afterwards, also when the test panics.

use std::path::Path;

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};

use crate::{Backend, Database};

/// Environment variable selecting the test backend.
pub const TEST_DATABASE_ENV: &str = "VANTHU_TEST_DATABASE";

/// A database that exists for the lifetime of this value.
#[derive(Debug)]
pub struct TestDatabase {
    url: String,
    backend: Backend,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    Sqlite(tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl TestDatabase {
    /// Creates an empty database (no tables yet: [`Database::connect`] applies the
    /// migrations). Panics with the reason if that is impossible, which fails the test.
    pub fn create() -> TestDatabase {
        match std::env::var(TEST_DATABASE_ENV) {
            Ok(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Self::create_postgres(&url)
            }
            Ok(v) if v.is_empty() || v == "sqlite" => Self::create_sqlite(),
            Err(std::env::VarError::NotPresent) => Self::create_sqlite(),
            Ok(other) => panic!(
                "{TEST_DATABASE_ENV}={other:?} is not understood; use \"sqlite\" or a postgres:// URL"
            ),
            Err(e) => panic!("{TEST_DATABASE_ENV}: {e}"),
        }
    }

    fn create_sqlite() -> TestDatabase {
        let dir = tempfile::Builder::new()
            .prefix("vanthu-test-")
            .tempdir()
            .expect("create a temporary directory for the test database");
        let url = format!("sqlite://{}", dir.path().join("vanthu.db").display());
        TestDatabase {
            url,
            backend: Backend::Sqlite,
            cleanup: Cleanup::Sqlite(dir),
        }
    }

    fn create_postgres(admin_url: &str) -> TestDatabase {
        let name = format!("vanthu_t_{:016x}", rand::random::<u64>());
        let mut admin = PgConnection::establish(admin_url).unwrap_or_else(|e| {
            panic!("connect to {TEST_DATABASE_ENV} to create a test database: {e}")
        });
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|e| panic!("create test database {name}: {e}"));
        TestDatabase {
            url: with_database(admin_url, &name),
            backend: Backend::Postgres,
            cleanup: Cleanup::Postgres {
                admin_url: admin_url.to_owned(),
                name,
            },
        }
    }

    /// URL of the database, for `Database::connect` or a server's `DATABASE_URL`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Which backend the database uses.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// For SQLite, the temporary directory holding the database file; tests may put other
    /// data (such as a blob store) there too.
    pub fn dir(&self) -> Option<&Path> {
        match &self.cleanup {
            Cleanup::Sqlite(dir) => Some(dir.path()),
            Cleanup::Postgres { .. } => None,
        }
    }

    /// Connects (applying migrations); panics on failure.
    pub fn connect(&self) -> Database {
        Database::connect(&self.url).unwrap_or_else(|e| panic!("connect to the test database: {e}"))
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Cleanup::Postgres { admin_url, name } = &self.cleanup {
            // FORCE ends connections still held by pools the test leaked.
            let dropped = PgConnection::establish(admin_url)
                .map_err(|e| e.to_string())
                .and_then(|mut c| {
                    c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .map_err(|e| e.to_string())
                });
            if let Err(e) = dropped {
                eprintln!("warning: could not drop test database {name}: {e}");
            }
        }
    }
}

/// Replaces the database name in a PostgreSQL URL, keeping user, host and query parameters.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    let mut out = format!("{}/{name}", &base[..path_start]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_name_is_swapped_in_urls() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/test", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
        assert_eq!(
            with_database("postgresql://u:p@h/test?sslmode=disable", "x"),
            "postgresql://u:p@h/x?sslmode=disable"
        );
    }
}
