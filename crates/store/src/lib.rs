//! Storage of safegrid. One [`Store`] with a SQLite implementation (the embedded default) and a
//! PostgreSQL one (production), chosen by URL scheme. The SQL text is shared wherever the two
//! dialects agree (SQLite accepts `$1` placeholders and `ON CONFLICT … DO UPDATE`), and each
//! backend has its own migrations tree with matching versions. Storage knows SQL, not HTTP.
#![forbid(unsafe_code)]

mod accounts;
pub mod audit;
mod backup;
mod batch;
pub mod campaigns;
mod cases;
pub mod disputes;
mod jobs;
mod kpi;
mod open311;
mod photos;
pub mod places;
mod privacy;
pub mod staffing;
pub mod teams;
mod territory;
mod time;
mod totp;
pub mod visits;
mod warm;

pub use accounts::{NewUser, TokenInfo, TokenUser, User, UserChange};
pub use audit::{ArchiveAnchor, AuditEntry, AuditFilter, AuditRecord, AuditVerdict, RawAuditEntry};
pub use cases::{CaseFilter, CasePage, CaseWriter, EventRow, NewCaseWrite, SortOrder};
pub use jobs::JobClaim;
pub use kpi::{case_day, day_number as kpi_day};
pub use open311::{FeedEvent, Open311Client, Open311Query};
pub use photos::{NewPhoto, PhotoInfo};
pub use places::PlaceFilter;
pub use privacy::Eraser;
pub use staffing::{Cover, GridsChange, MoveCount, Moved, StaffingRecord};
pub use territory::{CategoryRow, Department, Grid, Region};
pub use time::{from_ms, to_ms};
pub use totp::TotpState;
pub use visits::{AddressFilter, VisitFilter};
pub use warm::Warmed;

use safegrid_domain::FieldError;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::str::FromStr;
use std::time::Duration;

/// Storage errors, each of which the HTTP layer maps to one status.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// Someone else changed the record first (version mismatch) or a unique key is taken.
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(#[from] FieldError),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl StoreError {
    /// The database could not take the work just now: no connection came free in time, the
    /// pool is closing, the SQLite file stayed locked past the busy timeout, or PostgreSQL
    /// refuses connections (too many, or starting up / shutting down). The same request may
    /// well succeed in a moment, so the HTTP layer answers 503 with `Retry-After` instead of
    /// reporting a fault — what a hotline surge looks like from a client.
    pub fn is_busy(&self) -> bool {
        let StoreError::Db(e) = self else {
            return false;
        };
        match e {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => true,
            sqlx::Error::Database(d) => {
                let code = d.code();
                if d.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                    // SQLITE_BUSY (5) or SQLITE_LOCKED (6); extended codes keep the primary
                    // code in their low byte (517 is SQLITE_BUSY_SNAPSHOT).
                    code.and_then(|c| c.parse::<i32>().ok())
                        .is_some_and(|c| matches!(c & 0xff, 5 | 6))
                } else {
                    // too_many_connections, cannot_connect_now.
                    matches!(code.as_deref(), Some("53300" | "57P03"))
                }
            }
            _ => false,
        }
    }
}

/// The database, SQLite or PostgreSQL.
#[derive(Clone, Debug)]
pub enum Store {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs the same body against whichever pool this store holds; the body is type-checked once per
/// backend, so shared SQL text gets backend-specific binding and decoding for free.
#[macro_export]
#[doc(hidden)]
macro_rules! with_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match $store {
            $crate::Store::Sqlite($pool) => $body,
            $crate::Store::Postgres($pool) => $body,
        }
    };
}

/// What a pool is for (its size and, on SQLite, its settings).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pool {
    /// Request handlers and jobs: several connections.
    Shared,
    /// The intake writer: one connection that leaves checkpoints to another.
    Writer,
    /// A bulk load: one connection with a large page cache.
    Bulk,
}

/// How long a SQLite connection waits for another's write lock before answering busy.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Passive checkpoint passes, at most, before a RESTART (see [`Store::checkpoint`]).
const CHECKPOINT_CATCH_UP_PASSES: u32 = 4;

/// How long a due (not forced) RESTART waits for the writer's transaction to end: a few
/// intake batches' commits, never a bulk load's (see [`Store::checkpoint`]).
const RESTART_WAIT: Duration = Duration::from_millis(100);

static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// safegrid's own parameter of a SQLite URL, `synchronous=normal|full` (the durability promise:
/// process crash, or power loss too), taken out of the URL before SQLite's options read it.
fn sqlite_durability(url: &str) -> Result<(String, bool)> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_string(), false));
    };
    let mut full = false;
    let mut kept = vec![];
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("synchronous", v)) if v.eq_ignore_ascii_case("full") => full = true,
            Some(("synchronous", v)) if v.eq_ignore_ascii_case("normal") => full = false,
            Some(("synchronous", v)) => {
                return Err(StoreError::Invalid(FieldError::new(
                    "database",
                    format!("synchronous must be normal or full, not {v:?}"),
                )));
            }
            _ => kept.push(pair),
        }
    }
    let url = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((url, full))
}

impl Store {
    /// Connects by URL scheme: `sqlite://path` (created if missing) or `postgres://…`.
    pub async fn connect(url: &str) -> Result<Store> {
        Store::connect_sized(url, Pool::Shared).await
    }

    /// The page size SQLite databases are created with (see [`Store::connect`]).
    pub const SQLITE_PAGE_SIZE: u32 = 2048;

    /// One connection to a SQLite database file that no other program holds: it leaves WAL mode,
    /// which SQLite allows only to the file's one connection. `Conflict` while a server or any
    /// other connection is on it (nothing changed then); `Invalid` for a URL that is not a file.
    /// The caller sets the journal mode back to WAL if the file stays in use.
    pub async fn sqlite_alone(url: &str) -> Result<sqlx::SqliteConnection> {
        use sqlx::ConnectOptions;
        if !url.starts_with("sqlite:") || url.contains(":memory:") || url.contains("mode=memory") {
            return Err(StoreError::Invalid(FieldError::new(
                "database",
                "must be a SQLite database file",
            )));
        }
        let (url, _) = sqlite_durability(url)?;
        let mut c = SqliteConnectOptions::from_str(&url)?
            .create_if_missing(false)
            // Someone else's lock is an answer, not something to wait for long. But a store
            // closed a moment before may still hold the file briefly while its last connection
            // checkpoints and removes the log: the page-size test, which rewrites right after
            // closing, failed once on a busy machine with no wait at all (cause not traced
            // further; a second of waiting covers it).
            .busy_timeout(Duration::from_secs(1))
            .connect()
            .await?;
        // Leaving WAL mode needs the only connection; while another one holds the file SQLite
        // either says it is locked or keeps "wal". Either way nothing has changed yet.
        let in_use = || {
            StoreError::Conflict(
                "the database is in use: stop the server (and every other program on it) first"
                    .into(),
            )
        };
        // A pool closed a moment before can still have a connection thread letting go of the
        // file (seen on a loaded machine: "wal" kept right after `close`), so ask again for up
        // to two seconds before calling the database in use.
        let mut tries = 0;
        loop {
            let mode: Result<String> = sqlx::query_scalar("PRAGMA journal_mode=DELETE")
                .fetch_one(&mut c)
                .await
                .map_err(|e| match &e {
                    sqlx::Error::Database(d) if d.message().contains("locked") => in_use(),
                    _ => StoreError::Db(e),
                });
            match mode {
                Ok(m) if m.eq_ignore_ascii_case("delete") => break,
                Ok(_) | Err(StoreError::Conflict(_)) if tries < 20 => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Ok(_) => return Err(in_use()),
                Err(e) => return Err(e),
            }
        }
        Ok(c)
    }

    /// Rewrites a SQLite database file whole (`VACUUM`) with [`Store::SQLITE_PAGE_SIZE`] pages:
    /// for a database made before the ninth round with SQLite's 4 KiB pages (SQLite changes the
    /// page size only by rewriting the file, and not in WAL mode), or to give back free pages.
    /// The file must be the caller's alone: with a server or any other connection on it this
    /// refuses (`Conflict`) before changing anything. Needs as much free disk again as the file.
    /// Returns the page size before and after. `Invalid` for a URL that is not `sqlite://`.
    pub async fn rewrite_sqlite(url: &str) -> Result<(i64, i64)> {
        const PAGE_SIZE: &str = "PRAGMA page_size";
        let mut c = Store::sqlite_alone(url).await?;
        let before: i64 = sqlx::query_scalar(PAGE_SIZE).fetch_one(&mut c).await?;
        let rewritten = async {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "PRAGMA page_size={}",
                Store::SQLITE_PAGE_SIZE
            )))
            .execute(&mut c)
            .await?;
            sqlx::query("VACUUM").execute(&mut c).await?;
            Ok::<_, sqlx::Error>(())
        }
        .await;
        // WAL again whatever happened: the server expects it and a failed VACUUM changed nothing.
        sqlx::query("PRAGMA journal_mode=WAL")
            .execute(&mut c)
            .await?;
        rewritten?;
        let after: i64 = sqlx::query_scalar(PAGE_SIZE).fetch_one(&mut c).await?;
        sqlx::Connection::close(c).await?;
        Ok((before, after))
    }

    /// A second store on the same database with one connection of its own, for a single writer
    /// task (new cases' group commit): its page cache stays warm instead of being shared with,
    /// and reset by, the readers; on SQLite it leaves checkpoints to [`Store::checkpoint`].
    /// `None` for an in-memory SQLite database, which cannot be opened twice.
    pub async fn dedicated_writer(url: &str) -> Result<Option<Store>> {
        if url.contains(":memory:") || url.contains("mode=memory") {
            return Ok(None);
        }
        Ok(Some(Store::connect_sized(url, Pool::Writer).await?))
    }

    /// A second store on the same database with one connection of its own and a 512 MiB page
    /// cache, for a bulk load (the demo city, the bench's province) that writes batch after
    /// batch. Through the shared pool each batch went to the next idle connection, whose
    /// page cache SQLite empties when another connection has written since its last
    /// transaction: every batch began by reading its index pages again through the kernel
    /// (docs/performance.md, twelfth round). It checkpoints in its own commits, as the shared
    /// pool does. Close it when the load is done (the cache is its memory). `None` for an
    /// in-memory SQLite database.
    pub async fn bulk_loader(url: &str) -> Result<Option<Store>> {
        if url.contains(":memory:") || url.contains("mode=memory") {
            return Ok(None);
        }
        Ok(Some(Store::connect_sized(url, Pool::Bulk).await?))
    }

    async fn connect_sized(url: &str, kind: Pool) -> Result<Store> {
        let connections = match kind {
            Pool::Shared => None,
            Pool::Writer | Pool::Bulk => Some(1),
        };
        if url.starts_with("sqlite:") {
            let (url, full) = sqlite_durability(url)?;
            let opts = SqliteConnectOptions::from_str(&url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                // NORMAL in WAL mode keeps every committed transaction across a process crash;
                // FULL (`?synchronous=full`) also across a power loss or an OS crash: each commit
                // waits for the log to reach the disk.
                .synchronous(if full {
                    SqliteSynchronous::Full
                } else {
                    SqliteSynchronous::Normal
                })
                .foreign_keys(true)
                // 32 MiB of page cache per connection (the default is 2 MiB): a province's case
                // lists touch rows spread over gigabytes. At most 8 connections: 256 MiB.
                .pragma(
                    "cache_size",
                    if kind == Pool::Bulk {
                        "-524288"
                    } else {
                        "-32768"
                    },
                )
                // A new database gets 2 KiB pages (SQLite's default is 4 KiB). Intake writes
                // every page a new case dirties into the write-ahead log whole, and most of them
                // are index leaves no other case of the batch shares (a grid's, a village's, a
                // tracking code's): at a million cases a new case wrote 80 KiB with 4 KiB pages,
                // 56 KiB with 2 KiB, and intake ran 17–34 % faster; at ten million it wrote 57–69
                // KiB instead of 87.5, though intake there is now bound by the writer's thread
                // (docs/performance.md, ninth round). The cost: lists and bulk loads read and
                // split more pages (10–40 % slower lists, 13 % slower generation, single runs).
                // An existing database keeps its size: SQLite ignores this once the file has pages.
                .page_size(Store::SQLITE_PAGE_SIZE)
                .pragma("journal_size_limit", "268435456")
                // A multi-row insert inside a transaction keeps a statement journal (to undo just
                // that statement on a constraint error); past 64 KiB SQLite spills it to a temp
                // file, and a group commit's inserts always do: a quarter of the writer's time
                // went to those writes. The writer and a bulk load keep it in memory (a few MiB);
                // readers keep the default so a large sort can still spill to disk.
                .pragma(
                    "temp_store",
                    if kind != Pool::Shared {
                        "memory"
                    } else {
                        "default"
                    },
                )
                // The dedicated writer never checkpoints in its commits (a checkpoint there
                // stalls every case waiting on that commit); `checkpoint()` does it from another
                // connection instead. Durability is the same either way.
                .pragma(
                    "wal_autocheckpoint",
                    if kind == Pool::Writer { "0" } else { "1000" },
                )
                .busy_timeout(SQLITE_BUSY_TIMEOUT);
            let in_memory = url.contains(":memory:") || url.contains("mode=memory");
            let pool = SqlitePoolOptions::new()
                .max_connections(if in_memory {
                    1
                } else {
                    connections.unwrap_or(8)
                })
                .min_connections(if in_memory { 1 } else { 0 })
                // A SQLite connection is a file in this process and cannot go stale; testing it
                // on every take is a round trip to its thread per request.
                .test_before_acquire(false)
                .idle_timeout(if in_memory {
                    None
                } else {
                    Some(Duration::from_secs(600))
                })
                .max_lifetime(if in_memory {
                    None
                } else {
                    Some(Duration::from_secs(3600))
                })
                .connect_with(opts)
                .await?;
            Ok(Store::Sqlite(pool))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let opts = PgConnectOptions::from_str(url)?;
            let pool = PgPoolOptions::new()
                .max_connections(connections.unwrap_or(16))
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(opts)
                .await?;
            Ok(Store::Postgres(pool))
        } else {
            Err(FieldError::new("database", "must start with sqlite:// or postgres://").into())
        }
    }

    /// Copies what it can of SQLite's write-ahead log back into the database without waiting
    /// for anyone (PASSIVE); the intake writer's companion task calls it. Under a sustained
    /// stream of writes a passive checkpoint never catches the log's end, so the log would only
    /// grow: past `max_frames` pages a RESTART checkpoint lets the log start over (and
    /// `journal_size_limit` trims the file). A RESTART holds writers back while it copies what
    /// is left and syncs, so before it the passive pass is repeated (up to
    /// [`CHECKPOINT_CATCH_UP_PASSES`] times) while the last pass still found much to copy: each
    /// copies what the writer appended during the one before, and the restart only the last
    /// moment's pages. It is tried only when the passive passes got to within `max_frames / 16`
    /// pages of the end (readers can pin older pages), and it waits for a writer's transaction
    /// to end at most [`RESTART_WAIT`]: under full intake load the writer is nearly always in
    /// one, and without waiting the restart never happened until the forced one (below) — at
    /// 4,700 cases/s a 300–450 ms stall every few seconds. It must not wait long: a bulk load's
    /// 20,000-case transaction used to hold it (then it copied all of it) for a 5–8 s stall per
    /// batch. Only a log four times too long waits for its RESTART the full busy timeout, which
    /// bounds the log. Each restart is logged (info) and returned with the log's size, the passes
    /// and how long it took (including the wait for the writer). Nothing on PostgreSQL.
    ///
    /// `last` remembers the previous restart between calls: a RESTART copies the log but does
    /// not empty it (the next writer starts it over), so until something is written the log
    /// reports the same size, and an idle server restarted (and logged) it again every call.
    pub async fn checkpoint(
        &self,
        max_frames: i64,
        last: &mut Option<WalRestart>,
    ) -> Result<Option<WalRestart>> {
        let Store::Sqlite(p) = self else {
            return Ok(None);
        };
        let mut conn = p.acquire().await?;
        async fn passive(conn: &mut sqlx::SqliteConnection) -> Result<(i64, i64)> {
            let (_, log, copied): (i64, i64, i64) =
                sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
                    .fetch_one(conn)
                    .await?;
            Ok((log, copied))
        }
        let (mut log, mut copied) = passive(&mut conn).await?;
        if log <= max_frames {
            return Ok(None);
        }
        // Nothing written since the last restart: the log is copied and waits to start over.
        if last.is_some_and(|r| (r.log_frames, r.copied_frames) == (log, copied)) {
            return Ok(None);
        }
        let mut passes = 1;
        while passes < CHECKPOINT_CATCH_UP_PASSES && copied >= 0 {
            let before = copied;
            (log, copied) = passive(&mut conn).await?;
            passes += 1;
            // Little new since the last pass: the restart has little left to copy.
            if log - before <= max_frames / 64 {
                break;
            }
        }
        let forced = log > 4 * max_frames;
        if !forced && !restart_due(log, copied, max_frames) {
            return Ok(None);
        }
        let started = std::time::Instant::now();
        let set_wait = |ms: u128| format!("PRAGMA busy_timeout = {ms}");
        if !forced {
            sqlx::query(sqlx::AssertSqlSafe(set_wait(RESTART_WAIT.as_millis())))
                .execute(&mut *conn)
                .await?;
        }
        // The row is (busy, log, copied); busy 1 means a writer (or a reader still on the old
        // log) held on past the wait and nothing restarted: try next time. SQLite reports it
        // there, not as an error.
        let restarted: std::result::Result<(i64, i64, i64), sqlx::Error> =
            sqlx::query_as("PRAGMA wal_checkpoint(RESTART)")
                .fetch_one(&mut *conn)
                .await;
        if !forced {
            sqlx::query(sqlx::AssertSqlSafe(set_wait(
                SQLITE_BUSY_TIMEOUT.as_millis(),
            )))
            .execute(&mut *conn)
            .await?;
        }
        let (busy, log_after, copied_after) = restarted?;
        if busy != 0 {
            return Ok(None);
        }
        let ms = started.elapsed().as_millis() as u64;
        // What the log reports until a writer starts it over (the restart may have copied
        // frames appended after the passes).
        *last = Some(WalRestart {
            forced,
            log_frames: log_after,
            copied_frames: copied_after,
            passes,
            ms,
        });
        // Writers waited behind it: the first thing to look at for a slow request.
        tracing::info!(
            forced,
            log_frames = log,
            copied_frames = copied,
            passes,
            ms,
            "WAL restart checkpoint"
        );
        Ok(*last)
    }

    /// Refreshes the query planner's statistics (`ANALYZE` on both backends). After a bulk load
    /// — the demo's year of cases, a benchmark's million — the planner otherwise plans with the
    /// empty tables' figures until autovacuum (PostgreSQL) or nobody (SQLite) catches up, and
    /// picks, say, walking every case newest first to find one grid's three.
    ///
    /// On SQLite each index is sampled (`analysis_limit`): a full `ANALYZE` reads every row of
    /// every index, 71 s after a 10,000,000-case load, and the planner needs proportions, not
    /// exact counts.
    ///
    /// On PostgreSQL it is `VACUUM (ANALYZE)`: a freshly loaded table has no visibility map, so
    /// an index-only scan must visit the heap for every row, and the planner falls back to
    /// bitmap heap scans. A county's open-case count at 10,000,000 cases read 75,780 heap pages
    /// in 427 ms before the vacuum and none in 9–19 ms after (EXPLAIN ANALYZE,
    /// docs/performance.md); autovacuum would get there, some time later.
    pub async fn analyze(&self) -> Result<()> {
        match self {
            Store::Sqlite(p) => {
                // A pragma of the connection: both statements on the same one.
                let mut c = p.acquire().await?;
                sqlx::query("PRAGMA analysis_limit = 2000")
                    .execute(&mut *c)
                    .await?;
                sqlx::query("ANALYZE").execute(&mut *c).await?;
                sqlx::query("PRAGMA analysis_limit = 0")
                    .execute(&mut *c)
                    .await?;
            }
            Store::Postgres(p) => {
                sqlx::query("VACUUM (ANALYZE)").execute(p).await?;
            }
        }
        Ok(())
    }

    /// Applies pending migrations of this backend.
    pub async fn migrate(&self) -> Result<()> {
        match self {
            Store::Sqlite(p) => SQLITE_MIGRATOR.run(p).await.map_err(sqlx::Error::from)?,
            Store::Postgres(p) => POSTGRES_MIGRATOR.run(p).await.map_err(sqlx::Error::from)?,
        }
        Ok(())
    }

    /// Migrations of this build not yet applied to the database (0 when up to date; all of them
    /// on an empty database).
    pub async fn pending_migrations(&self) -> Result<usize> {
        let (known, table): (Vec<i64>, bool) = match self {
            Store::Sqlite(p) => (
                SQLITE_MIGRATOR.iter().map(|m| m.version).collect(),
                sqlx::query_scalar::<_, i64>(
                    "SELECT COUNT(*) FROM sqlite_master WHERE name = '_sqlx_migrations'",
                )
                .fetch_one(p)
                .await?
                    > 0,
            ),
            Store::Postgres(p) => (
                POSTGRES_MIGRATOR.iter().map(|m| m.version).collect(),
                sqlx::query_scalar::<_, bool>("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
                    .fetch_one(p)
                    .await?,
            ),
        };
        if !table {
            return Ok(known.len());
        }
        let applied: Vec<i64> = with_pool!(self, p => sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success").fetch_all(p).await)?;
        Ok(known.iter().filter(|v| !applied.contains(v)).count())
    }

    /// Migration versions of both trees (a test checks they match).
    pub fn migration_versions() -> (Vec<i64>, Vec<i64>) {
        (
            SQLITE_MIGRATOR.iter().map(|m| m.version).collect(),
            POSTGRES_MIGRATOR.iter().map(|m| m.version).collect(),
        )
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "sqlite",
            Store::Postgres(_) => "postgres",
        }
    }

    /// The shared pool's connections: open, and idle among them (metrics).
    pub fn pool_connections(&self) -> (u32, usize) {
        with_pool!(self, p => (p.size(), p.num_idle()))
    }

    /// A cheap round trip, for /healthz.
    pub async fn ping(&self) -> Result<()> {
        with_pool!(self, p => sqlx::query("SELECT 1").execute(p).await.map(|_| ()))?;
        Ok(())
    }

    pub async fn close(&self) {
        with_pool!(self, p => p.close().await)
    }

    /// Reads a setting.
    pub async fn setting(&self, key: &str) -> Result<Option<String>> {
        let v: Option<(String,)> = with_pool!(self, p => sqlx::query_as("SELECT value FROM settings WHERE key = $1").bind(key).fetch_optional(p).await)?;
        Ok(v.map(|v| v.0))
    }

    pub async fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        with_pool!(self, p => sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
            .bind(key).bind(value).execute(p).await.map(|_| ()))?;
        Ok(())
    }
}

/// Maps a unique-key violation to a conflict naming what was taken.
pub(crate) fn unique_to_conflict(e: sqlx::Error, what: &str) -> StoreError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            StoreError::Conflict(format!("{what} already exists"))
        }
        sqlx::Error::Database(d) if d.is_foreign_key_violation() => StoreError::Invalid(
            FieldError::new(what, "refers to something that does not exist"),
        ),
        _ => StoreError::Db(e),
    }
}

/// A RESTART checkpoint that [`Store::checkpoint`] made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WalRestart {
    /// The log was past four times the limit and the restart waited the full busy timeout.
    pub forced: bool,
    /// The log's pages, and how many of them are in the database, as the restart left them.
    pub log_frames: i64,
    pub copied_frames: i64,
    /// Passive passes before it.
    pub passes: u32,
    /// How long it took, including the wait for the writer's transaction to end (during which
    /// the writer is not held back).
    pub ms: u64,
}

/// Whether a passive checkpoint that left a log of `log` pages with `copied` of them in the
/// database left little enough for a RESTART to copy (see [`Store::checkpoint`]). A passive pass
/// that could not run reports -1 for both.
fn restart_due(log: i64, copied: i64, max_frames: i64) -> bool {
    log > max_frames && log - copied.max(0) <= max_frames / 16
}

/// A new, empty PostgreSQL database `{prefix}_{uuid}` on the server at `admin` (which needs
/// CREATE DATABASE rights); returns its URL, or `None` when the server does not answer.
///
/// For test suites, which create one per test and cannot always drop it (a failed test stops at
/// its panic): databases of the same prefix left from runs more than `stale_after` ago are dropped
/// first, their age read from the time-ordered UUID in their name. Younger ones may belong to a
/// suite running beside this one and are left alone.
pub async fn scratch_pg_database(
    admin: &str,
    prefix: &str,
    stale_after: std::time::Duration,
) -> Result<Option<String>> {
    use sqlx::Connection;
    let Ok(mut conn) = sqlx::PgConnection::connect(admin).await else {
        return Ok(None);
    };
    let pattern = format!("{}\\_%", prefix.replace('_', "\\_"));
    let names: Vec<(String,)> =
        sqlx::query_as("SELECT datname FROM pg_database WHERE datname LIKE $1")
            .bind(&pattern)
            .fetch_all(&mut conn)
            .await?;
    let now_ms = chrono::Utc::now().timestamp_millis();
    for (name,) in names {
        let made_ms = name
            .strip_prefix(prefix)
            .and_then(|s| s.strip_prefix('_'))
            .and_then(|s| uuid::Uuid::try_parse(s).ok())
            .and_then(|u| u.get_timestamp())
            .map(|t| {
                let (secs, nanos) = t.to_unix();
                secs as i64 * 1000 + i64::from(nanos / 1_000_000)
            });
        let stale = made_ms.is_some_and(|m| now_ms - m > stale_after.as_millis() as i64);
        if stale {
            // Another suite may be dropping the same one: losing that race is fine.
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut conn)
            .await;
        }
    }
    let name = format!("{prefix}_{}", uuid::Uuid::now_v7().simple());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    let base = admin.rsplit_once('/').map_or(admin, |(b, _)| b);
    Ok(Some(format!("{base}/{name}")))
}

#[cfg(test)]
mod durability_tests {
    use super::*;

    #[test]
    fn the_synchronous_parameter_is_ours_and_checked() {
        assert_eq!(
            sqlite_durability("sqlite://a.db?synchronous=FULL&mode=rwc").unwrap(),
            ("sqlite://a.db?mode=rwc".to_string(), true)
        );
        assert_eq!(
            sqlite_durability("sqlite://a.db?synchronous=normal").unwrap(),
            ("sqlite://a.db".to_string(), false)
        );
        assert_eq!(
            sqlite_durability("sqlite://a.db").unwrap(),
            ("sqlite://a.db".to_string(), false)
        );
        assert!(sqlite_durability("sqlite://a.db?synchronous=off").is_err());
    }

    #[tokio::test]
    async fn full_durability_reaches_every_connection() {
        let dir = std::env::temp_dir().join(format!("sg-sync-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}/s.db", dir.display());
        for (suffix, want) in [("?synchronous=full", 2i64), ("", 1)] {
            let store = Store::connect(&format!("{url}{suffix}")).await.unwrap();
            let Store::Sqlite(p) = &store else {
                unreachable!()
            };
            let level: i64 = sqlx::query_scalar("PRAGMA synchronous")
                .fetch_one(p)
                .await
                .unwrap();
            assert_eq!(level, want, "{suffix}");
            let writer = Store::dedicated_writer(&format!("{url}{suffix}"))
                .await
                .unwrap()
                .unwrap();
            let Store::Sqlite(w) = &writer else {
                unreachable!()
            };
            let level: i64 = sqlx::query_scalar("PRAGMA synchronous")
                .fetch_one(w)
                .await
                .unwrap();
            assert_eq!(level, want, "writer {suffix}");
            writer.close().await;
            store.close().await;
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[cfg(test)]
mod busy_tests {
    use super::StoreError;
    use sqlx::Connection;
    use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};

    #[tokio::test]
    async fn a_locked_database_and_a_full_pool_are_busy_and_nothing_else_is() {
        assert!(StoreError::Db(sqlx::Error::PoolTimedOut).is_busy());
        assert!(StoreError::Db(sqlx::Error::PoolClosed).is_busy());
        assert!(!StoreError::NotFound.is_busy());
        assert!(!StoreError::Conflict("x".into()).is_busy());
        assert!(!StoreError::Db(sqlx::Error::RowNotFound).is_busy());

        let dir = std::env::temp_dir().join(format!("sg-busy-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        let opts = SqliteConnectOptions::new()
            .filename(dir.join("db.sqlite"))
            .create_if_missing(true)
            .busy_timeout(std::time::Duration::ZERO);
        let mut a = SqliteConnection::connect_with(&opts).await.unwrap();
        let mut b = SqliteConnection::connect_with(&opts).await.unwrap();
        sqlx::query("CREATE TABLE t (x INTEGER)")
            .execute(&mut a)
            .await
            .unwrap();
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut a)
            .await
            .unwrap();
        let locked = sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut b)
            .await
            .unwrap_err();
        assert!(StoreError::from(locked).is_busy());
        // A real fault on the same connection is not.
        let missing = sqlx::query("INSERT INTO nowhere VALUES (1)")
            .execute(&mut b)
            .await
            .unwrap_err();
        assert!(!StoreError::from(missing).is_busy());
        drop((a, b));
        std::fs::remove_dir_all(&dir).ok();
    }
}

#[cfg(test)]
mod checkpoint_tests {
    use super::restart_due;

    #[test]
    fn restarts_only_a_long_log_a_passive_pass_caught_up_with() {
        let max = 65_536;
        // Short log: never.
        assert!(!restart_due(max, max, max));
        // Long and caught up (or nearly): restart.
        assert!(restart_due(max + 1, max + 1, max));
        assert!(restart_due(100_000, 100_000 - max / 16, max));
        // Long with much left to copy: wait for a later pass.
        assert!(!restart_due(100_000, 10_000, max));
        assert!(!restart_due(100_000, -1, max));
    }

    /// A restart copies the log without emptying it; until a writer starts it over, the next
    /// calls must not restart it again (an idle server did so, and logged it, every second).
    #[tokio::test]
    async fn an_idle_log_is_restarted_once() {
        use super::Store;
        let dir = std::env::temp_dir().join(format!("sg-ckpt-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}", dir.join("db.sqlite").display());
        let readers = Store::connect(&url).await.unwrap();
        let writer = Store::dedicated_writer(&url).await.unwrap().unwrap();
        let Store::Sqlite(w) = &writer else {
            unreachable!("a SQLite URL")
        };
        sqlx::query("CREATE TABLE filler (b BLOB)")
            .execute(w)
            .await
            .unwrap();
        // About 2 pages per row whatever the page size: well past the limit below.
        let fill = |rows: i64| {
            sqlx::query(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1) \
                 INSERT INTO filler SELECT randomblob(3000) FROM n",
            )
            .bind(rows)
            .execute(w)
        };
        let max_frames = 200;
        let mut last = None;
        fill(300).await.unwrap();
        let first = readers.checkpoint(max_frames, &mut last).await.unwrap();
        let first = first.expect("a log past the limit is restarted");
        assert!(first.log_frames > max_frames && first.copied_frames == first.log_frames);
        assert_eq!(last, Some(first));
        for _ in 0..3 {
            assert_eq!(
                readers.checkpoint(max_frames, &mut last).await.unwrap(),
                None
            );
        }
        // The next write starts the log over: short, nothing to restart.
        fill(1).await.unwrap();
        assert_eq!(
            readers.checkpoint(max_frames, &mut last).await.unwrap(),
            None
        );
        // Past the limit again: restarted again.
        fill(300).await.unwrap();
        assert!(
            readers
                .checkpoint(max_frames, &mut last)
                .await
                .unwrap()
                .is_some()
        );
        writer.close().await;
        readers.close().await;
        std::fs::remove_dir_all(&dir).ok();
    }
}

#[cfg(test)]
mod bulk_loader_tests {
    use super::Store;

    /// One connection, a large page cache, and checkpoints in its own commits (a load of
    /// millions of cases would otherwise grow the log without bound, as no companion task
    /// checkpoints for it); none for an in-memory database, which cannot be opened twice.
    #[tokio::test]
    async fn a_bulk_loader_is_one_connection_that_keeps_its_cache_and_checkpoints() {
        assert!(
            Store::bulk_loader("sqlite::memory:")
                .await
                .unwrap()
                .is_none()
        );
        let dir = std::env::temp_dir().join(format!("sg-bulk-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}", dir.join("db.sqlite").display());
        let shared = Store::connect(&url).await.unwrap();
        let bulk = Store::bulk_loader(&url).await.unwrap().unwrap();
        let pragma = |store: &Store, name: &'static str| {
            let Store::Sqlite(p) = store.clone() else {
                unreachable!("a SQLite URL")
            };
            async move {
                sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!("PRAGMA {name}")))
                    .fetch_one(&p)
                    .await
                    .unwrap()
            }
        };
        assert_eq!(pragma(&bulk, "cache_size").await, -524_288);
        assert_eq!(pragma(&shared, "cache_size").await, -32_768);
        assert_eq!(pragma(&bulk, "wal_autocheckpoint").await, 1000);
        let Store::Sqlite(p) = &bulk else {
            unreachable!()
        };
        assert_eq!(p.options().get_max_connections(), 1);
        bulk.close().await;
        shared.close().await;
        std::fs::remove_dir_all(&dir).ok();
    }
}
