//! Persisted periodic jobs. A job row survives restarts; a runner claims it with a lease
//! (`UPDATE … RETURNING` on a due, unleased row), so two runners — or a restarted one — never
//! fire the same run twice.

use crate::time::to_ms;
use crate::{Result, Store, with_pool};
use chrono::{DateTime, Utc};

/// A claimed run of a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobClaim {
    pub name: String,
    pub run_at: i64,
    pub every_ms: i64,
    pub runs: i64,
}

impl Store {
    /// Makes sure a periodic job exists (first run at `first_run`), keeping its schedule if it does.
    pub async fn ensure_job(
        &self,
        name: &str,
        every_ms: i64,
        first_run: DateTime<Utc>,
    ) -> Result<()> {
        with_pool!(self, p => sqlx::query("INSERT INTO jobs (name, run_at, every_ms) VALUES ($1, $2, $3)
            ON CONFLICT (name) DO UPDATE SET every_ms = excluded.every_ms")
            .bind(name).bind(to_ms(first_run)).bind(every_ms).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Claims the job if it is due and not leased; `None` otherwise.
    pub async fn claim_job(
        &self,
        name: &str,
        runner: &str,
        now: DateTime<Utc>,
        lease_ms: i64,
    ) -> Result<Option<JobClaim>> {
        let now = to_ms(now);
        let row: Option<(String, i64, i64, i64)> = with_pool!(self, p => sqlx::query_as(
            "UPDATE jobs SET locked_until = $3, locked_by = $4 WHERE name = $1 AND run_at <= $2
             AND (locked_until IS NULL OR locked_until < $2) RETURNING name, run_at, every_ms, runs")
            .bind(name).bind(now).bind(now + lease_ms).bind(runner).fetch_optional(p).await)?;
        Ok(row.map(|(name, run_at, every_ms, runs)| JobClaim {
            name,
            run_at,
            every_ms,
            runs,
        }))
    }

    /// Ends a claimed run: schedules the next one and releases the lease.
    pub async fn finish_job(
        &self,
        claim: &JobClaim,
        runner: &str,
        now: DateTime<Utc>,
        result: &str,
    ) -> Result<()> {
        let now = to_ms(now);
        let next = (claim.run_at + claim.every_ms).max(now + claim.every_ms / 2);
        with_pool!(self, p => sqlx::query("UPDATE jobs SET run_at = $2, locked_until = NULL, locked_by = NULL, last_run_at = $3,
            last_result = $4, runs = runs + 1 WHERE name = $1 AND locked_by = $5")
            .bind(&claim.name).bind(next).bind(now).bind(result).bind(runner).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// (name, run_at, runs, last_result) of every job.
    pub async fn jobs(&self) -> Result<Vec<(String, i64, i64, Option<String>)>> {
        let v: Vec<(String, i64, i64, Option<String>)> = with_pool!(self, p => sqlx::query_as(
            "SELECT name, run_at, runs, last_result FROM jobs ORDER BY name").fetch_all(p).await)?;
        Ok(v)
    }
}
