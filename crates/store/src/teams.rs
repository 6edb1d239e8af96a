//! Volunteer and patrol teams (群防群治) in storage: teams, members, public sign-ups, manual
//! service hours, patrol schedules and patrol logs with their participants, findings and photos.
//! A patrol log is keyed by the id its phone generated, and stored with everything it carries in
//! one transaction, so a retried upload finds its first copy and nothing is half-written.

use crate::audit::{AuditEntry, append_audit};
use crate::{Result, Store, StoreError, unique_to_conflict, with_pool};
use serde::Serialize;
use sqlx::AssertSqlSafe;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct TeamRow {
    pub id: Uuid,
    pub county_code: String,
    pub name: String,
    pub kind: String,
    pub region_code: String,
    /// JSON array of grid codes.
    pub grids: String,
    pub leader_id: Option<Uuid>,
    pub contact_user_id: Option<Uuid>,
    pub status: String,
    pub created_by: Option<Uuid>,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: i64,
}

const TEAM_COLS: &str = "id, county_code, name, kind, region_code, grids, leader_id, contact_user_id, status, created_by, created_at, updated_at, version";

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct MemberRow {
    pub id: Uuid,
    pub team_id: Uuid,
    pub county_code: String,
    pub name: String,
    pub phone: String,
    pub skills: String,
    pub skills_note: Option<String>,
    pub consent_at: i64,
    pub consent_version: String,
    pub joined_on: String,
    pub left_on: Option<String>,
    pub application_id: Option<Uuid>,
    pub created_at: i64,
    pub updated_at: i64,
}

const MEMBER_COLS: &str = "id, team_id, county_code, name, phone, skills, skills_note, consent_at, consent_version, joined_on, left_on, application_id, created_at, updated_at";

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct ApplicationRow {
    pub id: Uuid,
    pub ref_code: String,
    pub team_id: Option<Uuid>,
    pub region_code: String,
    pub name: String,
    pub phone: String,
    pub skills: String,
    pub skills_note: Option<String>,
    pub consent_at: i64,
    pub consent_version: String,
    pub status: String,
    pub reason: Option<String>,
    pub member_id: Option<Uuid>,
    pub decided_by: Option<Uuid>,
    pub decided_at: Option<i64>,
    pub created_at: i64,
}

const APPLICATION_COLS: &str = "id, ref_code, team_id, region_code, name, phone, skills, skills_note, consent_at, consent_version, status, reason, member_id, decided_by, decided_at, created_at";

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct HoursRow {
    pub id: Uuid,
    pub member_id: Uuid,
    pub team_id: Uuid,
    pub region_code: String,
    pub served_at: i64,
    pub minutes: i64,
    pub note: String,
    pub created_by: Option<Uuid>,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct ScheduleRow {
    pub id: Uuid,
    pub team_id: Uuid,
    pub region_code: String,
    pub title: String,
    pub grids: String,
    pub route: Option<String>,
    pub members: String,
    pub starts_at: i64,
    pub ends_at: i64,
    pub weekly: bool,
    pub repeat_until: Option<String>,
    pub created_by: Option<Uuid>,
    pub created_at: i64,
}

const SCHEDULE_COLS: &str = "id, team_id, region_code, title, grids, route, members, starts_at, ends_at, weekly, repeat_until, created_by, created_at";

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct PatrolLogRow {
    pub county_code: String,
    pub id: Uuid,
    pub team_id: Uuid,
    pub schedule_id: Option<Uuid>,
    pub region_code: String,
    pub grids: String,
    pub started_at: i64,
    pub ended_at: i64,
    pub minutes: i64,
    pub note: Option<String>,
    pub submitted_by: Uuid,
    pub created_at: i64,
}

const LOG_COLS: &str = "county_code, id, team_id, schedule_id, region_code, grids, started_at, ended_at, minutes, note, submitted_by, created_at";

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct FindingRow {
    pub county_code: String,
    pub log_id: Uuid,
    pub n: i32,
    pub text: String,
    pub category: Option<String>,
    pub address: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub case_id: Option<Uuid>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PatrolPhoto {
    pub name: String,
    pub finding: i32,
    pub width: i32,
    pub height: i32,
    pub image: Vec<u8>,
    pub thumb: Vec<u8>,
}

/// Minutes of one member in a period, from patrols and manual entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct MemberMinutes {
    pub member_id: Uuid,
    pub team_id: Uuid,
    pub minutes: i64,
    pub patrols: i64,
}

/// What storing a patrol log did.
#[derive(Debug, Clone, PartialEq)]
pub enum LogStored {
    New,
    /// This id was stored before (a retried upload): the first copy stands.
    Existing(Box<PatrolLogRow>),
}

fn range(prefix: &str) -> (String, String) {
    (format!("{prefix:0<12}"), format!("{prefix:9<12}"))
}

impl Store {
    pub async fn insert_team(&self, t: &TeamRow, audit: &AuditEntry) -> Result<()> {
        let sql = format!(
            "INSERT INTO volunteer_teams ({TEAM_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        );
        with_pool!(self, p => {
            let mut tx = p.begin().await?;
            sqlx::query(AssertSqlSafe(sql))
                .bind(t.id).bind(&t.county_code).bind(&t.name).bind(&t.kind).bind(&t.region_code)
                .bind(&t.grids).bind(t.leader_id).bind(t.contact_user_id).bind(&t.status)
                .bind(t.created_by).bind(t.created_at).bind(t.updated_at).bind(t.version)
                .execute(&mut *tx).await.map_err(|e| unique_to_conflict(e, "a team of this name in this territory"))?;
            append_audit!(tx, audit, t.updated_at)?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// Replaces a team's row if it is still at `version`; the new row carries `version + 1`.
    pub async fn update_team(&self, t: &TeamRow, version: i64, audit: &AuditEntry) -> Result<()> {
        with_pool!(self, p => {
            let mut tx = p.begin().await?;
            let n = sqlx::query(
                "UPDATE volunteer_teams SET name = $2, kind = $3, region_code = $4, grids = $5, leader_id = $6,
                   contact_user_id = $7, status = $8, updated_at = $9, version = $10 WHERE id = $1 AND version = $11")
                .bind(t.id).bind(&t.name).bind(&t.kind).bind(&t.region_code).bind(&t.grids).bind(t.leader_id)
                .bind(t.contact_user_id).bind(&t.status).bind(t.updated_at).bind(version + 1).bind(version)
                .execute(&mut *tx).await.map_err(|e| unique_to_conflict(e, "a team of this name in this territory"))?
                .rows_affected();
            if n != 1 {
                return Err(StoreError::Conflict(format!("team {} changed since version {version}; reload it", t.id)));
            }
            append_audit!(tx, audit, t.updated_at)?;
            tx.commit().await?;
            Ok(())
        })
    }

    pub async fn team(&self, id: Uuid) -> Result<TeamRow> {
        let sql = format!("SELECT {TEAM_COLS} FROM volunteer_teams WHERE id = $1");
        let row: Option<TeamRow> = with_pool!(self, p => sqlx::query_as(AssertSqlSafe(sql))
            .bind(id).fetch_optional(p).await)?;
        row.ok_or(StoreError::NotFound)
    }

    /// Every team, by territory and name (teams are few: a county has dozens).
    pub async fn teams(&self) -> Result<Vec<TeamRow>> {
        let sql = format!("SELECT {TEAM_COLS} FROM volunteer_teams ORDER BY region_code, name, id");
        let rows: Vec<TeamRow> =
            with_pool!(self, p => sqlx::query_as(AssertSqlSafe(sql)).fetch_all(p).await)?;
        Ok(rows)
    }

    /// Stores members (all or none), with one audit entry.
    pub async fn insert_members(&self, rows: &[MemberRow], audit: &AuditEntry) -> Result<()> {
        let sql = format!(
            "INSERT INTO volunteer_members ({MEMBER_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
        );
        let at = rows.first().map_or(0, |r| r.created_at);
        with_pool!(self, p => {
            let mut tx = p.begin().await?;
            for m in rows {
                sqlx::query(AssertSqlSafe(sql.clone()))
                    .bind(m.id).bind(m.team_id).bind(&m.county_code).bind(&m.name).bind(&m.phone)
                    .bind(&m.skills).bind(&m.skills_note).bind(m.consent_at).bind(&m.consent_version)
                    .bind(&m.joined_on).bind(&m.left_on).bind(m.application_id).bind(m.created_at).bind(m.updated_at)
                    .execute(&mut *tx).await.map_err(|e| unique_to_conflict(e, "a member with this phone in this team"))?;
            }
            append_audit!(tx, audit, at)?;
            tx.commit().await?;
            Ok(())
        })
    }

    pub async fn member(&self, id: Uuid) -> Result<MemberRow> {
        let sql = format!("SELECT {MEMBER_COLS} FROM volunteer_members WHERE id = $1");
        let row: Option<MemberRow> = with_pool!(self, p => sqlx::query_as(AssertSqlSafe(sql))
            .bind(id).fetch_optional(p).await)?;
        row.ok_or(StoreError::NotFound)
    }

    /// A team's members, current and former, by name.
    pub async fn members(&self, team: Uuid) -> Result<Vec<MemberRow>> {
        let sql = format!(
            "SELECT {MEMBER_COLS} FROM volunteer_members WHERE team_id = $1 ORDER BY name, id"
        );
        let rows: Vec<MemberRow> = with_pool!(self, p => sqlx::query_as(AssertSqlSafe(sql))
            .bind(team).fetch_all(p).await)?;
        Ok(rows)
    }

    /// Records that a member left (a local date); audited.
    pub async fn member_left(
        &self,
        id: Uuid,
        left_on: &str,
        at: i64,
        audit: &AuditEntry,
    ) -> Result<()> {
        with_pool!(self, p => {
            let mut tx = p.begin().await?;
            let n = sqlx::query("UPDATE volunteer_members SET left_on = $2, updated_at = $3 WHERE id = $1 AND left_on IS NULL")
                .bind(id).bind(left_on).bind(at).execute(&mut *tx).await?.rows_affected();
            if n != 1 {
                return Err(StoreError::Conflict("this member has already left".into()));
            }
            append_audit!(tx, audit, at)?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// Writes an audit entry alone (a reveal).
    pub async fn audit_only(&self, audit: &AuditEntry, at: i64) -> Result<()> {
        with_pool!(self, p => {
            let mut tx = p.begin().await?;
            append_audit!(tx, audit, at)?;
            tx.commit().await?;
            Ok(())
        })
    }

    pub async fn insert_application(&self, a: &ApplicationRow, audit: &AuditEntry) -> Result<()> {
        let sql = format!(
            "INSERT INTO volunteer_applications ({APPLICATION_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
        );
        with_pool!(self, p => {
            let mut tx = p.begin().await?;
            sqlx::query(AssertSqlSafe(sql))
                .bind(a.id).bind(&a.ref_code).bind(a.team_id).bind(&a.region_code).bind(&a.name).bind(&a.phone)
                .bind(&a.skills).bind(&a.skills_note).bind(a.consent_at).bind(&a.consent_version).bind(&a.status)
                .bind(&a.reason).bind(a.member_id).bind(a.decided_by).bind(a.decided_at).bind(a.created_at)
                .execute(&mut *tx).await.map_err(|e| unique_to_conflict(e, "reference code"))?;
            append_audit!(tx, audit, a.created_at)?;
            tx.commit().await?;
            Ok(())
        })
    }

    pub async fn application(&self, id: Uuid) -> Result<ApplicationRow> {
        let sql = format!("SELECT {APPLICATION_COLS} FROM volunteer_applications WHERE id = $1");
        let row: Option<ApplicationRow> = with_pool!(self, p => sqlx::query_as(AssertSqlSafe(sql))
            .bind(id).fetch_optional(p).await)?;
        row.ok_or(StoreError::NotFound)
    }

    pub async fn application_by_ref(&self, code: &str) -> Result<ApplicationRow> {
        let sql =
            format!("SELECT {APPLICATION_COLS} FROM volunteer_applications WHERE ref_code = $1");
        let row: Option<ApplicationRow> = with_pool!(self, p => sqlx::query_as(AssertSqlSafe(sql))
            .bind(code).fetch_optional(p).await)?;
        row.ok_or(StoreError::NotFound)
    }

    /// Sign-ups, newest first (the app filters by territory).
    pub async fn applications(&self, status: Option<&str>) -> Result<Vec<ApplicationRow>> {
        let sql = format!(
            "SELECT {APPLICATION_COLS} FROM volunteer_applications WHERE (CAST($1 AS TEXT) IS NULL OR status = $1) ORDER BY created_at DESC, id"
        );
        let status = status.map(str::to_string);
        let rows: Vec<ApplicationRow> = with_pool!(self, p => sqlx::query_as(AssertSqlSafe(sql))
            .bind(status).fetch_all(p).await)?;
        Ok(rows)
    }

    /// Decides a pending sign-up: its new state and, when approved, the member it becomes, in
    /// one transaction (a sign-up decided meanwhile answers `Conflict`).
    pub async fn decide_application(
        &self,
        a: &ApplicationRow,
        member: Option<&MemberRow>,
        audit: &AuditEntry,
    ) -> Result<()> {
        let msql = format!(
            "INSERT INTO volunteer_members ({MEMBER_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
        );
        let at = a.decided_at.unwrap_or(a.created_at);
        with_pool!(self, p => {
            let mut tx = p.begin().await?;
            let n = sqlx::query(
                "UPDATE volunteer_applications SET status = $2, reason = $3, member_id = $4, decided_by = $5, decided_at = $6, team_id = $7
                 WHERE id = $1 AND status = 'pending'")
                .bind(a.id).bind(&a.status).bind(&a.reason).bind(a.member_id).bind(a.decided_by)
                .bind(a.decided_at).bind(a.team_id)
                .execute(&mut *tx).await?.rows_affected();
            if n != 1 {
                return Err(StoreError::Conflict("this sign-up was already decided".into()));
            }
            if let Some(m) = member {
                sqlx::query(AssertSqlSafe(msql))
                    .bind(m.id).bind(m.team_id).bind(&m.county_code).bind(&m.name).bind(&m.phone)
                    .bind(&m.skills).bind(&m.skills_note).bind(m.consent_at).bind(&m.consent_version)
                    .bind(&m.joined_on).bind(&m.left_on).bind(m.application_id).bind(m.created_at).bind(m.updated_at)
                    .execute(&mut *tx).await.map_err(|e| unique_to_conflict(e, "a member with this phone in this team"))?;
            }
            append_audit!(tx, audit, at)?;
            tx.commit().await?;
            Ok(())
        })
    }

    pub async fn insert_hours(&self, h: &HoursRow, audit: &AuditEntry) -> Result<()> {
        with_pool!(self, p => {
            let mut tx = p.begin().await?;
            sqlx::query(
                "INSERT INTO volunteer_hours (id, member_id, team_id, region_code, served_at, minutes, note, created_by, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
                .bind(h.id).bind(h.member_id).bind(h.team_id).bind(&h.region_code).bind(h.served_at)
                .bind(h.minutes).bind(&h.note).bind(h.created_by).bind(h.created_at)
                .execute(&mut *tx).await.map_err(|e| unique_to_conflict(e, "hours"))?;
            append_audit!(tx, audit, h.created_at)?;
            tx.commit().await?;
            Ok(())
        })
    }

    pub async fn insert_schedule(&self, s: &ScheduleRow, audit: &AuditEntry) -> Result<()> {
        let sql = format!(
            "INSERT INTO patrol_schedules ({SCHEDULE_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        );
        with_pool!(self, p => {
            let mut tx = p.begin().await?;
            sqlx::query(AssertSqlSafe(sql))
                .bind(s.id).bind(s.team_id).bind(&s.region_code).bind(&s.title).bind(&s.grids).bind(&s.route)
                .bind(&s.members).bind(s.starts_at).bind(s.ends_at).bind(s.weekly).bind(&s.repeat_until)
                .bind(s.created_by).bind(s.created_at)
                .execute(&mut *tx).await.map_err(|e| unique_to_conflict(e, "schedule"))?;
            append_audit!(tx, audit, s.created_at)?;
            tx.commit().await?;
            Ok(())
        })
    }

    pub async fn schedule(&self, id: Uuid) -> Result<ScheduleRow> {
        let sql = format!("SELECT {SCHEDULE_COLS} FROM patrol_schedules WHERE id = $1");
        let row: Option<ScheduleRow> = with_pool!(self, p => sqlx::query_as(AssertSqlSafe(sql))
            .bind(id).fetch_optional(p).await)?;
        row.ok_or(StoreError::NotFound)
    }

    /// Schedules of a team, by first start.
    pub async fn schedules(&self, team: Uuid) -> Result<Vec<ScheduleRow>> {
        let sql = format!(
            "SELECT {SCHEDULE_COLS} FROM patrol_schedules WHERE team_id = $1 ORDER BY starts_at, id"
        );
        let rows: Vec<ScheduleRow> = with_pool!(self, p => sqlx::query_as(AssertSqlSafe(sql))
            .bind(team).fetch_all(p).await)?;
        Ok(rows)
    }

    /// A patrol log by id, in a county.
    pub async fn patrol_log(&self, county: &str, id: Uuid) -> Result<PatrolLogRow> {
        let sql = format!("SELECT {LOG_COLS} FROM patrol_logs WHERE county_code = $1 AND id = $2");
        let row: Option<PatrolLogRow> = with_pool!(self, p => sqlx::query_as(AssertSqlSafe(sql))
            .bind(county).bind(id).fetch_optional(p).await)?;
        row.ok_or(StoreError::NotFound)
    }

    /// A patrol log by id, wherever it is (ids are UUIDv7, unique across counties).
    pub async fn patrol_log_any(&self, id: Uuid) -> Result<PatrolLogRow> {
        let sql = format!("SELECT {LOG_COLS} FROM patrol_logs WHERE id = $1");
        let row: Option<PatrolLogRow> = with_pool!(self, p => sqlx::query_as(AssertSqlSafe(sql))
            .bind(id).fetch_optional(p).await)?;
        row.ok_or(StoreError::NotFound)
    }

    /// Logs of a team that started in `[from, to)`, newest first.
    pub async fn patrol_logs(&self, team: Uuid, from: i64, to: i64) -> Result<Vec<PatrolLogRow>> {
        let sql = format!(
            "SELECT {LOG_COLS} FROM patrol_logs WHERE team_id = $1 AND started_at >= $2 AND started_at < $3 ORDER BY started_at DESC, id"
        );
        let rows: Vec<PatrolLogRow> = with_pool!(self, p => sqlx::query_as(AssertSqlSafe(sql))
            .bind(team).bind(from).bind(to).fetch_all(p).await)?;
        Ok(rows)
    }

    /// Stores a patrol log with its participants, findings and photos in one transaction, with
    /// its audit entry. The same id again answers [`LogStored::Existing`] with the first copy.
    pub async fn insert_patrol_log(
        &self,
        log: &PatrolLogRow,
        members: &[Uuid],
        findings: &[FindingRow],
        photos: &[PatrolPhoto],
        audit: &AuditEntry,
    ) -> Result<LogStored> {
        match self.patrol_log(&log.county_code, log.id).await {
            Ok(first) => return Ok(LogStored::Existing(Box::new(first))),
            Err(StoreError::NotFound) => {}
            Err(e) => return Err(e),
        }
        let sql = format!(
            "INSERT INTO patrol_logs ({LOG_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        );
        let stored = with_pool!(self, p => {
            let mut tx = p.begin().await?;
            sqlx::query(AssertSqlSafe(sql))
                .bind(&log.county_code).bind(log.id).bind(log.team_id).bind(log.schedule_id).bind(&log.region_code)
                .bind(&log.grids).bind(log.started_at).bind(log.ended_at).bind(log.minutes).bind(&log.note)
                .bind(log.submitted_by).bind(log.created_at)
                .execute(&mut *tx).await.map_err(|e| unique_to_conflict(e, "patrol log"))?;
            for m in members {
                sqlx::query(
                    "INSERT INTO patrol_log_members (county_code, log_id, member_id, team_id, region_code, started_at, minutes)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)")
                    .bind(&log.county_code).bind(log.id).bind(m).bind(log.team_id).bind(&log.region_code)
                    .bind(log.started_at).bind(log.minutes)
                    .execute(&mut *tx).await.map_err(|e| unique_to_conflict(e, "participants"))?;
            }
            for f in findings {
                sqlx::query(
                    "INSERT INTO patrol_findings (county_code, log_id, n, text, category, address, lat, lon, case_id)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
                    .bind(&log.county_code).bind(log.id).bind(f.n).bind(&f.text).bind(&f.category).bind(&f.address)
                    .bind(f.lat).bind(f.lon).bind(f.case_id)
                    .execute(&mut *tx).await.map_err(|e| unique_to_conflict(e, "findings"))?;
            }
            for ph in photos {
                sqlx::query(
                    "INSERT INTO patrol_photos (county_code, log_id, name, finding, width, height, image, thumb)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
                    .bind(&log.county_code).bind(log.id).bind(&ph.name).bind(ph.finding).bind(ph.width)
                    .bind(ph.height).bind(&ph.image).bind(&ph.thumb)
                    .execute(&mut *tx).await.map_err(|e| unique_to_conflict(e, "photos"))?;
            }
            append_audit!(tx, audit, log.created_at)?;
            tx.commit().await?;
            Ok(LogStored::New)
        });
        match stored {
            // A retry racing its first copy: the first one won.
            Err(StoreError::Conflict(_)) => match self.patrol_log(&log.county_code, log.id).await {
                Ok(first) => Ok(LogStored::Existing(Box::new(first))),
                Err(_) => stored,
            },
            other => other,
        }
    }

    /// Participants of a log.
    pub async fn patrol_log_members(&self, county: &str, log: Uuid) -> Result<Vec<Uuid>> {
        let rows: Vec<(Uuid,)> = with_pool!(self, p => sqlx::query_as(
            "SELECT member_id FROM patrol_log_members WHERE county_code = $1 AND log_id = $2 ORDER BY member_id")
            .bind(county).bind(log).fetch_all(p).await)?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    pub async fn patrol_findings(&self, county: &str, log: Uuid) -> Result<Vec<FindingRow>> {
        let rows: Vec<FindingRow> = with_pool!(self, p => sqlx::query_as(
            "SELECT county_code, log_id, n, text, category, address, lat, lon, case_id FROM patrol_findings
             WHERE county_code = $1 AND log_id = $2 ORDER BY n")
            .bind(county).bind(log).fetch_all(p).await)?;
        Ok(rows)
    }

    /// Links a finding to the case it became, once (a finding already linked answers `Conflict`).
    pub async fn link_finding(
        &self,
        county: &str,
        log: Uuid,
        n: i32,
        case_id: Uuid,
        audit: &AuditEntry,
        at: i64,
    ) -> Result<()> {
        with_pool!(self, p => {
            let mut tx = p.begin().await?;
            let changed = sqlx::query(
                "UPDATE patrol_findings SET case_id = $4 WHERE county_code = $1 AND log_id = $2 AND n = $3 AND case_id IS NULL")
                .bind(county).bind(log).bind(n).bind(case_id).execute(&mut *tx).await?.rows_affected();
            if changed != 1 {
                return Err(StoreError::Conflict("this finding is already a case".into()));
            }
            append_audit!(tx, audit, at)?;
            tx.commit().await?;
            Ok(())
        })
    }

    pub async fn patrol_photos(&self, county: &str, log: Uuid) -> Result<Vec<PatrolPhoto>> {
        let rows: Vec<PatrolPhoto> = with_pool!(self, p => sqlx::query_as(
            "SELECT name, finding, width, height, image, thumb FROM patrol_photos WHERE county_code = $1 AND log_id = $2 ORDER BY name")
            .bind(county).bind(log).fetch_all(p).await)?;
        Ok(rows)
    }

    /// Minutes and patrols per member of teams under a region prefix, in `[from, to)`: the
    /// patrols they took part in plus manual entries (which count no patrol).
    pub async fn member_minutes(
        &self,
        prefix: &str,
        from: i64,
        to: i64,
    ) -> Result<Vec<MemberMinutes>> {
        let (lo, hi) = range(prefix);
        // A county or below reads its own county's rows; a city or province reads all counties.
        let county = prefix.get(..6).unwrap_or_default().to_string();
        let rows: Vec<MemberMinutes> = with_pool!(self, p => sqlx::query_as(
            "SELECT member_id, team_id, CAST(SUM(minutes) AS BIGINT) AS minutes, CAST(SUM(patrols) AS BIGINT) AS patrols FROM (
               SELECT member_id, team_id, minutes, 1 AS patrols FROM patrol_log_members
                WHERE (CAST($1 AS TEXT) = '' OR county_code = $1) AND region_code BETWEEN $2 AND $3 AND started_at >= $4 AND started_at < $5
               UNION ALL
               SELECT member_id, team_id, minutes, 0 AS patrols FROM volunteer_hours
                WHERE region_code BETWEEN $2 AND $3 AND served_at >= $4 AND served_at < $5
             ) x GROUP BY member_id, team_id ORDER BY member_id, team_id")
            .bind(county).bind(lo).bind(hi).bind(from).bind(to).fetch_all(p).await)?;
        Ok(rows)
    }

    /// Patrols an account recorded that started in `[from, to)`: how many, and their minutes.
    pub async fn patrols_by_account(
        &self,
        account: Uuid,
        from: i64,
        to: i64,
    ) -> Result<(i64, i64)> {
        let row: (i64, Option<i64>) = with_pool!(self, p => sqlx::query_as(
            "SELECT COUNT(*), CAST(SUM(minutes) AS BIGINT) FROM patrol_logs WHERE submitted_by = $1 AND started_at >= $2 AND started_at < $3")
            .bind(account).bind(from).bind(to).fetch_one(p).await)?;
        Ok((row.0, row.1.unwrap_or(0)))
    }

    /// Patrols a member took part in that started in `[from, to)`: how many, and their minutes.
    pub async fn patrols_by_member(&self, member: Uuid, from: i64, to: i64) -> Result<(i64, i64)> {
        let row: (i64, Option<i64>) = with_pool!(self, p => sqlx::query_as(
            "SELECT COUNT(*), CAST(SUM(minutes) AS BIGINT) FROM patrol_log_members WHERE member_id = $1 AND started_at >= $2 AND started_at < $3")
            .bind(member).bind(from).bind(to).fetch_one(p).await)?;
        Ok((row.0, row.1.unwrap_or(0)))
    }
}
