//! Erasure of residents' contact data (个人信息删除): by retention period, and on a resident's
//! request. Each erasure writes its audit entry in the same transaction, so no erasure goes unrecorded.

use crate::audit::{AuditEntry, append_audit};
use crate::time::to_ms;
use crate::{Result, Store, with_pool};
use chrono::{DateTime, Utc};
use sqlx::AssertSqlSafe;
use uuid::Uuid;

/// Who asked for an erasure, for its audit entry.
#[derive(Debug, Clone)]
pub struct Eraser {
    pub actor_id: Option<Uuid>,
    pub actor_name: String,
    pub reason: String,
}

impl Store {
    /// Erases the reporter name and phone of cases in a terminal state (`terminal`) last changed
    /// before `cutoff`, in batches of `batch`; calls `progress` with the running count.
    pub async fn purge_contacts(
        &self,
        cutoff: DateTime<Utc>,
        terminal: &[String],
        by: &Eraser,
        batch: i64,
        mut progress: impl FnMut(u64),
    ) -> Result<u64> {
        if terminal.is_empty() {
            return Ok(0);
        }
        let list: Vec<String> = (0..terminal.len()).map(|i| format!("${}", i + 2)).collect();
        let pick = format!(
            "SELECT county_code, id, number FROM cases WHERE (reporter_name IS NOT NULL OR reporter_phone IS NOT NULL)
             AND COALESCE(closed_at, updated_at) < $1 AND status IN ({}) LIMIT {}",
            list.join(", "),
            batch.max(1)
        );
        let mut total = 0u64;
        loop {
            let n = with_pool!(self, p => {
                let mut tx = p.begin().await?;
                let mut q = sqlx::query_as::<_, (String, Uuid, String)>(AssertSqlSafe(pick.as_str())).bind(to_ms(cutoff));
                for t in terminal {
                    q = q.bind(t.clone());
                }
                let rows = q.fetch_all(&mut *tx).await?;
                for (county, id, _) in &rows {
                    sqlx::query("UPDATE cases SET reporter_name = NULL, reporter_phone = NULL WHERE county_code = $1 AND id = $2")
                        .bind(county).bind(id).execute(&mut *tx).await?;
                }
                if !rows.is_empty() {
                    let numbers: Vec<&str> = rows.iter().map(|r| r.2.as_str()).collect();
                    let entry = AuditEntry::new(by.actor_id, by.actor_name.clone(), "privacy.purge", "case", None,
                        serde_json::json!({ "cases": numbers, "cutoff": cutoff.to_rfc3339(), "reason": by.reason }));
                    append_audit!(tx, &entry, to_ms(Utc::now()))?;
                }
                tx.commit().await?;
                rows.len() as u64
            });
            total += n;
            progress(total);
            if n == 0 {
                break;
            }
        }
        Ok(total)
    }

    /// Erases the contact of the given case, or of every case reported with `phone`; returns the
    /// case numbers erased.
    pub async fn erase_contact(
        &self,
        case: Option<Uuid>,
        phone: Option<&str>,
        by: &Eraser,
    ) -> Result<Vec<String>> {
        let numbers = with_pool!(self, p => {
            let mut tx = p.begin().await?;
            // Written first, read back with RETURNING: a transaction that reads before it writes
            // cannot take SQLite's write lock once another connection has committed since its
            // read, and answered busy (503) to an erasure beside any other write.
            let rows: Vec<(String, Uuid, String)> = match (case, phone) {
                (Some(id), _) => sqlx::query_as("UPDATE cases SET reporter_name = NULL, reporter_phone = NULL WHERE id = $1 AND (reporter_name IS NOT NULL OR reporter_phone IS NOT NULL) RETURNING county_code, id, number")
                    .bind(id).fetch_all(&mut *tx).await?,
                (None, Some(ph)) => sqlx::query_as("UPDATE cases SET reporter_name = NULL, reporter_phone = NULL WHERE reporter_phone = $1 RETURNING county_code, id, number")
                    .bind(ph).fetch_all(&mut *tx).await?,
                (None, None) => vec![],
            };
            let numbers: Vec<String> = rows.into_iter().map(|r| r.2).collect();
            let entry = AuditEntry::new(by.actor_id, by.actor_name.clone(), "privacy.erase", "case",
                if numbers.len() == 1 { Some(numbers[0].clone()) } else { None },
                serde_json::json!({ "cases": numbers, "reason": by.reason, "by_phone": phone.is_some() }));
            append_audit!(tx, &entry, to_ms(Utc::now()))?;
            tx.commit().await?;
            numbers
        });
        Ok(numbers)
    }
}
