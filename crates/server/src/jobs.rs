//! The deadline job (时限监控): a persisted periodic job that marks cases nearing (yellow) and
//! past (red) their stage limit and records automatic supervision. Claimed with a lease, so it
//! survives restarts and never fires twice; each case update is version-checked.

use crate::service::kpi_nodes;
use crate::state::SharedState;
use chrono::Utc;
use safegrid_domain::engine;
use safegrid_store::StoreError;

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
            let nodes = kpi_nodes(&applied.case, None);
            match st.store.update_case(case.version, &applied, &nodes).await {
                Ok(_) => {
                    changed += 1;
                    progressed = true;
                }
                // Someone acted on the case meanwhile; the next run sees its new state.
                Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        if !progressed || batch.len() < 500 {
            break;
        }
    }
    changed += crate::disputes::remind_confirmations(st, now).await?;
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
                let result = match watch_deadlines(&st).await {
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
