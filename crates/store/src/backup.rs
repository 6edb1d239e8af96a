//! Backups (备份) at the storage level: a consistent copy of a SQLite database taken while it
//! serves, the integrity check of a copy, and the row counts a restore drill compares.
//! PostgreSQL backups are `pg_dump`'s (the server's own tools; see `app::backup`).

use crate::{Result, Store, StoreError, with_pool};
use safegrid_domain::FieldError;
use std::path::Path;

impl Store {
    /// Writes a consistent copy of this SQLite database to `path` while it serves: `VACUUM INTO`
    /// reads the database in one read transaction, so the copy is one snapshot (writers go on;
    /// WAL keeps their pages apart), compacted, in rollback-journal mode. `path` must not exist.
    pub async fn sqlite_snapshot_into(&self, path: &Path) -> Result<()> {
        let Store::Sqlite(p) = self else {
            return Err(StoreError::Invalid(FieldError::new(
                "database",
                "a PostgreSQL database is backed up with pg_dump",
            )));
        };
        let target = path.to_str().ok_or_else(|| {
            StoreError::Invalid(FieldError::new("out", "the path must be valid UTF-8"))
        })?;
        sqlx::query("VACUUM INTO $1")
            .bind(target)
            .execute(p)
            .await?;
        Ok(())
    }

    /// SQLite's own check of every page and index (`PRAGMA integrity_check`): None when sound,
    /// else what it found. PostgreSQL checks its pages itself: always None there.
    pub async fn integrity_problem(&self) -> Result<Option<String>> {
        let Store::Sqlite(p) = self else {
            return Ok(None);
        };
        let rows: Vec<(String,)> = sqlx::query_as("PRAGMA integrity_check")
            .fetch_all(p)
            .await?;
        let found: Vec<String> = rows.into_iter().map(|(r,)| r).collect();
        Ok((found != ["ok"]).then(|| found.join("; ")))
    }

    /// Rows in every table of the schema (migrations' own table left out), by name: what a
    /// restore drill compares between a database and its copy.
    pub async fn table_counts(&self) -> Result<Vec<(String, i64)>> {
        let names: Vec<(String,)> = with_pool!(self, p => match self {
            Store::Sqlite(_) => sqlx::query_as(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx%' ORDER BY name")
                .fetch_all(p).await,
            Store::Postgres(_) => sqlx::query_as(
                "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema() AND tablename NOT LIKE '_sqlx%' ORDER BY tablename")
                .fetch_all(p).await,
        })?;
        let mut counts = Vec::with_capacity(names.len());
        for (name,) in names {
            // Names come from the catalog and are plain identifiers; quoted all the same.
            let sql = format!("SELECT COUNT(*) FROM \"{}\"", name.replace('"', "\"\""));
            let (n,): (i64,) =
                with_pool!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_one(p).await)?;
            counts.push((name, n));
        }
        Ok(counts)
    }
}
