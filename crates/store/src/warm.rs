//! Warming the page cache with the B-trees a new case writes at random places.
//!
//! A new case lands at a random place in a few B-trees: its secret tracking code, its grid, its
//! territory and status (its counters go to the small counter delta, see `kpi`). At
//! 10,000,000 cases the SQLite file is about 24 GB and those B-trees about 3 GB; right after a
//! restart — or after an export or a text search has read the whole case table through the
//! operating system's cache — their leaf pages are on disk, and every new case waits for a disk
//! read per index on the one writer: intake fell from about 3,600 cases/s (200,000 cases) to
//! 1,227/s (docs/performance.md, seventh round). Reading those B-trees once, front to back, does
//! the same reads before intake needs them, several at a time and off the writer; the server does
//! it in the background while it already serves (the leaves are scattered over the file, so the
//! scans are random reads too: 28–31 s at 10,000,000 cases from a cold cache, eighth round).
//!
//! SQLite only: PostgreSQL keeps its own buffers and has `pg_prewarm` for this.

use crate::{Result, Store};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Each B-tree with a statement that reads all of its leaves and nothing else (a covering scan of
/// the index, or a WITHOUT ROWID table's own tree); the largest first, so that the lanes finish
/// together.
const RANDOM_WRITE_BTREES: [(&str, &str); 6] = [
    (
        "cases_status_region",
        "SELECT count(region_code) FROM cases INDEXED BY cases_status_region",
    ),
    (
        "cases_region_status",
        "SELECT count(region_code) FROM cases INDEXED BY cases_region_status",
    ),
    (
        "cases_grid",
        "SELECT count(status) FROM cases INDEXED BY cases_grid",
    ),
    (
        "cases_department",
        "SELECT count(status) FROM cases INDEXED BY cases_department",
    ),
    // The codes' own table (migration 10), a B-tree keyed by the random code.
    ("tracking_codes", "SELECT count(*) FROM tracking_codes"),
    // New cases' counters go to the delta, not to kpi_daily (see `kpi`): kpi_daily, the largest
    // of these trees at province scale, is now read for KPIs and written by the fold only, so
    // warming it no longer spares intake anything.
    ("kpi_delta", "SELECT count(*) FROM kpi_delta"),
];

/// Connections reading at once. A B-tree built by random inserts has its leaves all over the
/// file, so a scan is a string of random page reads, each waiting for the disk: one at a time
/// they came at ~50 MB/s (10,000,000 cases: 54 s for the six); a few at once keep more of the
/// disk's queue busy. Few enough to leave the serving connections room.
const LANES: usize = 3;

/// One B-tree read by [`Store::prewarm`].
#[derive(Debug, Clone)]
pub struct Warmed {
    pub btree: &'static str,
    /// Entries read (rows of the index or table).
    pub entries: i64,
    pub elapsed: Duration,
}

impl Store {
    /// Reads the B-trees new cases write at random places (see the module's comment), a few at
    /// once on connections of their own, calling `progress` after each; the list is in a fixed
    /// order. Nothing on PostgreSQL (an empty list). Read-only: safe beside any writer.
    pub async fn prewarm(&self, progress: impl Fn(&Warmed)) -> Result<Vec<Warmed>> {
        let Store::Sqlite(pool) = self else {
            return Ok(vec![]);
        };
        let next = AtomicUsize::new(0);
        let lane = || async {
            let mut conn = pool.acquire().await?;
            let mut done = vec![];
            while let Some(&(btree, sql)) =
                RANDOM_WRITE_BTREES.get(next.fetch_add(1, Ordering::Relaxed))
            {
                let t = Instant::now();
                let (entries,): (i64,) = sqlx::query_as(sql).fetch_one(&mut *conn).await?;
                let w = Warmed {
                    btree,
                    entries,
                    elapsed: t.elapsed(),
                };
                progress(&w);
                done.push(w);
            }
            Ok::<_, crate::StoreError>(done)
        };
        let mut all = vec![];
        // An in-memory database has one connection: more lanes would only queue for it.
        let lanes = LANES.min(pool.options().get_max_connections() as usize);
        for lane in futures_util::future::join_all((0..lanes).map(|_| lane())).await {
            all.extend(lane?);
        }
        all.sort_by_key(|w| RANDOM_WRITE_BTREES.iter().position(|b| b.0 == w.btree));
        Ok(all)
    }
}

#[cfg(test)]
mod tests {
    use super::RANDOM_WRITE_BTREES;
    use crate::Store;

    /// Each statement reads the B-tree it is named after and nothing else: a covering scan of
    /// that index (a table scan would read the whole case table, the thing this avoids).
    #[tokio::test]
    async fn each_statement_scans_only_its_btree() {
        let store = Store::connect("sqlite::memory:").await.unwrap();
        store.migrate().await.unwrap();
        let Store::Sqlite(pool) = &store else {
            unreachable!()
        };
        for (btree, sql) in RANDOM_WRITE_BTREES {
            let plan: Vec<(i64, i64, i64, String)> =
                sqlx::query_as(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")))
                    .fetch_all(pool)
                    .await
                    .unwrap();
            let detail: Vec<&str> = plan.iter().map(|p| p.3.as_str()).collect();
            // Two are tables of their own (WITHOUT ROWID: the table is its key's B-tree).
            let expected = if ["kpi_delta", "tracking_codes"].contains(&btree) {
                format!("SCAN {btree}")
            } else {
                format!("SCAN cases USING COVERING INDEX {btree}")
            };
            assert_eq!(detail, [expected.as_str()], "{sql}");
        }
    }
}
