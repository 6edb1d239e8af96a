//! The deadline job (时限监控): a persisted periodic job that marks cases nearing (yellow) and
//! past (red) their stage limit and records automatic supervision. Claimed with a lease, so it
//! survives restarts and never fires twice; each case update is version-checked.

use crate::app::error::ErrorKind;
use crate::app::state::SharedState;
use chrono::Utc;
use safegrid_domain::engine::{self, Actor};
use safegrid_store::Store;
use std::time::Duration;

pub const DEADLINE_JOB: &str = "deadline_watch";

/// One run: returns how many cases changed light.
pub async fn watch_deadlines(st: &SharedState) -> anyhow::Result<usize> {
    let now = Utc::now();
    let mut changed = 0;
    loop {
        let batch = st.store.cases_to_watch(now, 500).await?;
        if batch.is_empty() {
            break;
        }
        let mut progressed = false;
        for case in &batch {
            let Some(applied) = engine::watch(case, now) else {
                continue;
            };
            match st
                .commit(case, &applied, &Actor::system(), vec![], now)
                .await
            {
                Ok(_) => {
                    changed += 1;
                    progressed = true;
                }
                // Someone acted on the case meanwhile; the next run sees its new state.
                Err(e) if e.kind == ErrorKind::Conflict => {}
                Err(e) => return Err(anyhow::anyhow!("{}", e.message)),
            }
        }
        if !progressed || batch.len() < 500 {
            break;
        }
    }
    changed += crate::app::disputes::remind_confirmations(st, now).await?;
    Ok(changed)
}

/// Runs the deadline job forever, checking every few seconds whether it is due.
pub async fn run(st: SharedState, runner: String) {
    let every = st.settings.deadline_scan_seconds.max(1) as i64 * 1000;
    if let Err(e) = st.store.ensure_job(DEADLINE_JOB, every, Utc::now()).await {
        tracing::error!(error = %e, "cannot schedule the deadline job");
        return;
    }
    let tick = std::time::Duration::from_millis((every as u64 / 4).clamp(250, 5000));
    loop {
        match st
            .store
            .claim_job(DEADLINE_JOB, &runner, Utc::now(), every.max(60_000))
            .await
        {
            Ok(Some(claim)) => {
                let watched = watch_deadlines(&st).await;
                crate::app::metrics::job_run("deadline", watched.is_ok());
                let result = match watched {
                    Ok(n) => {
                        if n > 0 {
                            tracing::info!(changed = n, "deadline watch");
                        }
                        format!("ok: {n} cases changed light")
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "deadline watch failed");
                        format!("error: {e}")
                    }
                };
                if let Err(e) = st
                    .store
                    .finish_job(&claim, &runner, Utc::now(), &result)
                    .await
                {
                    tracing::error!(error = %e, "cannot reschedule the deadline job");
                }
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "cannot claim the deadline job"),
        }
        tokio::time::sleep(tick).await;
    }
}

/// Rows of the KPI counter delta one fold transaction moves. Each is a random page of the
/// settled table at province scale, so a chunk holds SQLite's single writer for a moment; new
/// cases queue behind it no longer than behind one of their own large batches.
pub const FOLD_CHUNK: i64 = 5_000;

/// Folds every waiting KPI counter change into the settled counters (see the store's `kpi`
/// module), a chunk per transaction with a pause between chunks for the intake writer;
/// `progress` gets the rows moved so far. Returns how many moved. Changes that arrive meanwhile
/// are folded too, so under a sustained surge this runs until it has caught up.
pub async fn fold_counters(store: &Store, progress: impl Fn(u64)) -> anyhow::Result<u64> {
    let mut moved = 0;
    loop {
        let n = store.fold_kpi_delta(FOLD_CHUNK).await?;
        if n == 0 {
            return Ok(moved);
        }
        moved += n;
        progress(moved);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Whether the counter delta is due a fold: `rows` wait and it is the quiet hour, or more than
/// the bound wait. The quiet hour (Asia/Shanghai) is when a command center files almost nothing.
pub fn fold_due(rows: i64, now: chrono::DateTime<Utc>, hour: u32, bound: i64) -> bool {
    use chrono::Timelike;
    let local = now.with_timezone(&crate::app::time::shanghai());
    rows >= bound || (rows > 0 && local.hour() == hour)
}

/// Runs the counter fold forever: once a minute, folds when [`fold_due`]. Several servers on
/// one PostgreSQL database may fold at once (each takes rows the others have not locked).
pub async fn run_fold(st: SharedState) {
    loop {
        tokio::time::sleep(Duration::from_secs(60)).await;
        let rows = match st.store.kpi_delta_rows().await {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "cannot count the KPI counter delta");
                continue;
            }
        };
        if !fold_due(
            rows,
            Utc::now(),
            st.settings.kpi_fold_hour,
            st.settings.kpi_fold_rows,
        ) {
            continue;
        }
        let t = std::time::Instant::now();
        let folded = fold_counters(&st.store, |_| {}).await;
        crate::app::metrics::job_run("kpi_fold", folded.is_ok());
        match folded {
            Ok(n) => tracing::info!(
                rows = n,
                seconds = t.elapsed().as_secs_f64(),
                "KPI counters folded"
            ),
            Err(e) => tracing::error!(error = %e, "KPI counter fold failed; retried in a minute"),
        }
    }
}

/// Warms the page cache with the B-trees a new case writes at random places (the store's
/// `prewarm`: at 10,000,000 cases, without it each new case after a restart waits for a disk
/// read per index), while the server already answers; then `/healthz` says `"warm": true`.
/// Logs each B-tree as it goes. A failure is logged and the server serves on, cold: `warm` turns
/// true all the same (warming is over), so a readiness check on it never keeps the server out.
pub async fn prewarm(state: SharedState) {
    use std::sync::atomic::Ordering;
    if !state.settings.prewarm {
        state.warm.store(true, Ordering::Relaxed);
        return;
    }
    let t = std::time::Instant::now();
    let warmed = state
        .store
        .prewarm(|w| {
            tracing::info!(
                btree = w.btree,
                entries = w.entries,
                ms = w.elapsed.as_millis() as u64,
                "page cache warmed"
            )
        })
        .await;
    match warmed {
        Ok(all) => {
            if !all.is_empty() {
                tracing::info!(
                    btrees = all.len(),
                    secs = t.elapsed().as_secs_f64(),
                    "write path warm"
                );
            }
        }
        Err(e) => tracing::warn!(error = %e, "warming the page cache failed; serving cold"),
    }
    state.warm.store(true, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::fold_due;
    use chrono::{TimeZone, Utc};

    #[test]
    fn a_fold_is_due_at_the_quiet_hour_or_past_the_bound() {
        // 03:30 in Shanghai is 19:30 UTC the day before.
        let quiet = Utc.with_ymd_and_hms(2026, 12, 1, 19, 30, 0).unwrap();
        let busy = Utc.with_ymd_and_hms(2026, 12, 2, 2, 0, 0).unwrap();
        assert!(fold_due(1, quiet, 3, 200_000));
        assert!(!fold_due(0, quiet, 3, 200_000));
        assert!(!fold_due(199_999, busy, 3, 200_000));
        assert!(fold_due(200_000, busy, 3, 200_000));
        assert!(!fold_due(1, quiet, 4, 200_000));
    }
}
