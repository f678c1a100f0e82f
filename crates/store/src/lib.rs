//! Storage for vanthu: diesel on SQLite or PostgreSQL, embedded migrations, and the content-addressed blob store.
