//! Volunteer and patrol teams (群防群治: 平安志愿者队, 巡防队, 楼道长, 好邻居) as use cases: a command
//! center keeps its teams (a territory of a region and/or grids, a leader among the members, a
//! staff contact), their members (volunteers, not accounts: a name, a phone shown masked and
//! revealed only with a reason, audited; skills; the consent they gave — no member without it),
//! the sign-ups residents send from the public page (approved into a member, or declined with a
//! reason; the resident follows theirs by a reference code), manual service hours, and the
//! monthly honour roll (光荣榜) of hours summed from patrol logs and manual entries. Patrols are
//! in `app::patrols`. Who sees a team follows the campaigns' reach: a territory that meets the
//! account's is visible, one it covers is manageable; anything else answers 404.

use crate::app::campaigns::{Reach, territory_short};
use crate::app::error::{AppError, AppResult, ErrorKind};
use crate::app::policy::{self, Perm};
use crate::app::state::AppState;
use crate::app::table::{Cell, Sheet};
use crate::app::time::{local_time, shanghai};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use safegrid_domain::codes::{GridCode, PersonName, Phone, RegionCode};
use safegrid_domain::team as dt;
use safegrid_store::teams::{ApplicationRow, HoursRow, MemberRow, TeamRow};
use safegrid_store::{AuditEntry, StoreError, User, from_ms};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use uuid::Uuid;

/// A team as a command center submits it (create, or edit with `version`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamInput {
    pub name: String,
    pub kind: String,
    /// The territory: a region code (12 digits or its significant prefix) within one county.
    pub region: String,
    /// Grids of the territory the team works in (empty: all of it).
    #[serde(default)]
    pub grids: Vec<String>,
    /// A member of the team who leads it.
    #[serde(default)]
    pub leader: Option<Uuid>,
    /// The username of the staff account the team is in touch with.
    #[serde(default)]
    pub contact: Option<String>,
    /// active | disbanded (edits only).
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub version: Option<i64>,
}

/// A member as a command center registers them, or a sign-up as a resident sends it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonInput {
    pub name: String,
    pub phone: String,
    #[serde(default)]
    pub skills: Vec<String>,
    /// Skills in the volunteer's own words.
    #[serde(default)]
    pub skills_note: Option<String>,
    /// The volunteer agreed to the consent text of `consent_version` (required: true).
    #[serde(default)]
    pub consent: bool,
    /// The version of the consent text shown (the current one when absent).
    #[serde(default)]
    pub consent_version: Option<String>,
    /// When they joined (YYYY-MM-DD; today when absent). Members only.
    #[serde(default)]
    pub joined_on: Option<String>,
    /// The team chosen (sign-ups).
    #[serde(default)]
    pub team: Option<Uuid>,
    /// The area chosen instead of a team (sign-ups): a region code.
    #[serde(default)]
    pub region: Option<String>,
}

/// Checked personal fields of a member or sign-up.
pub struct Person {
    pub name: PersonName,
    pub phone: Phone,
    pub skills: Vec<String>,
    pub skills_note: Option<String>,
    pub consent_version: String,
}

/// One line of an honour roll or hours table.
#[derive(Debug, Clone, PartialEq)]
pub struct RollLine {
    pub rank: usize,
    pub id: Uuid,
    pub name: String,
    pub team: String,
    pub team_id: Uuid,
    pub minutes: i64,
    pub patrols: i64,
}

/// A month's honour roll (光荣榜) of a region.
#[derive(Debug, Clone)]
pub struct HonourRoll {
    pub month: String,
    pub region: String,
    pub members: Vec<RollLine>,
    pub teams: Vec<RollLine>,
}

/// Lines each list of the honour roll shows.
pub const ROLL_SIZE: usize = 10;

/// Free text of a field: trimmed, at most `max` characters, no control characters.
pub fn text(v: Option<&str>, field: &str, max: usize) -> AppResult<Option<String>> {
    match v.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) if s.chars().count() > max => Err(AppError::invalid(
            field,
            format!("must be at most {max} characters"),
        )),
        Some(s) if s.chars().any(|c| c.is_control() && c != '\n') => Err(AppError::invalid(
            field,
            "must not contain control characters",
        )),
        Some(s) => Ok(Some(s.to_string())),
    }
}

/// Checks a person's fields; consent is required.
pub fn check_person(p: &PersonInput) -> AppResult<Person> {
    let name = PersonName::parse_field(&p.name, "name")?;
    let phone = Phone::parse_field(&p.phone, "phone")?;
    let skills = dt::check_skills(&p.skills)?;
    let skills_note = text(p.skills_note.as_deref(), "skills_note", 200)?;
    if !p.consent {
        return Err(AppError::invalid(
            "consent",
            "the volunteer must agree to the consent text; no member without consent",
        ));
    }
    let consent_version = match p.consent_version.as_deref().map(str::trim) {
        None | Some("") => dt::CONSENT_VERSION.to_string(),
        Some(v) if v == dt::CONSENT_VERSION => v.to_string(),
        Some(_) => {
            return Err(AppError::invalid(
                "consent_version",
                format!(
                    "the consent text changed; agree to version {}",
                    dt::CONSENT_VERSION
                ),
            ));
        }
    };
    Ok(Person {
        name,
        phone,
        skills,
        skills_note,
        consent_version,
    })
}

/// Today (Asia/Shanghai).
pub fn local_today(now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&shanghai()).date_naive()
}

/// The first instant of a local date, in UTC.
pub fn day_start(d: NaiveDate) -> DateTime<Utc> {
    shanghai()
        .from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())
        .single()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

fn date(s: &str, field: &str) -> AppResult<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| AppError::invalid(field, "must be a date YYYY-MM-DD"))
}

fn conflict(e: StoreError) -> AppError {
    match e {
        StoreError::Conflict(m) => AppError::new(ErrorKind::Conflict, "conflict", m),
        e => e.into(),
    }
}

pub fn grids_of(t: &TeamRow) -> Vec<String> {
    serde_json::from_str(&t.grids).unwrap_or_default()
}

pub fn skills_of(s: &str) -> Vec<String> {
    serde_json::from_str(s).unwrap_or_default()
}

/// Whether a member belongs to the team on `day` (joined, not yet left).
pub fn active_on(m: &MemberRow, day: NaiveDate) -> bool {
    let joined = NaiveDate::parse_from_str(&m.joined_on, "%Y-%m-%d").is_ok_and(|j| j <= day);
    let left = m
        .left_on
        .as_deref()
        .and_then(|l| NaiveDate::parse_from_str(l, "%Y-%m-%d").ok())
        .is_some_and(|l| l < day);
    joined && !left
}

/// A team as the API shows it.
pub fn team_json(t: &TeamRow, leader: Option<&MemberRow>, members: usize) -> Value {
    json!({
        "id": t.id,
        "name": t.name,
        "kind": t.kind,
        "kind_name": dt::kind_name(&t.kind, false),
        "region": t.region_code,
        "grids": grids_of(t),
        "leader": t.leader_id,
        "leader_name": leader.map(|m| m.name.clone()),
        "contact_user": t.contact_user_id,
        "status": t.status,
        "members": members,
        "created_at": local_time(from_ms(t.created_at)),
        "version": t.version,
    })
}

/// A member as staff see them: the phone masked.
pub fn member_json(m: &MemberRow) -> Value {
    json!({
        "id": m.id,
        "team": m.team_id,
        "name": m.name,
        "phone": Phone::from_stored(&m.phone).masked(),
        "skills": skills_of(&m.skills),
        "skills_note": m.skills_note,
        "consent_at": local_time(from_ms(m.consent_at)),
        "consent_version": m.consent_version,
        "joined_on": m.joined_on,
        "left_on": m.left_on,
        "application": m.application_id,
    })
}

/// A sign-up as staff see it (phone masked).
pub fn application_json(a: &ApplicationRow) -> Value {
    json!({
        "id": a.id,
        "team": a.team_id,
        "region": a.region_code,
        "name": a.name,
        "phone": Phone::from_stored(&a.phone).masked(),
        "skills": skills_of(&a.skills),
        "skills_note": a.skills_note,
        "consent_at": local_time(from_ms(a.consent_at)),
        "consent_version": a.consent_version,
        "status": a.status,
        "reason": a.reason,
        "member": a.member_id,
        "decided_at": a.decided_at.map(|t| local_time(from_ms(t))),
        "created_at": local_time(from_ms(a.created_at)),
    })
}

/// What the resident holding the reference code sees: the state, never the contact.
pub fn application_status_json(a: &ApplicationRow, team: Option<&str>) -> Value {
    json!({
        "ref_code": a.ref_code,
        "status": a.status,
        "team": team,
        "name": PersonName::from_stored(&a.name).masked(),
        "reason": a.reason,
        "created_at": local_time(from_ms(a.created_at)),
        "decided_at": a.decided_at.map(|t| local_time(from_ms(t))),
    })
}

fn audit(user: Option<&User>, action: &str, kind: &str, id: Uuid, detail: Value) -> AuditEntry {
    AuditEntry::new(
        user.map(|u| u.id),
        user.map_or_else(|| "public".to_string(), |u| u.username.clone()),
        action,
        kind,
        Some(id.to_string()),
        detail,
    )
}

impl AppState {
    /// A team the caller may see (else 404).
    pub async fn visible_team(&self, user: &User, id: Uuid) -> AppResult<TeamRow> {
        policy::require(user, Perm::ReadTeams)?;
        let t = match self.store.team(id).await {
            Ok(t) => t,
            Err(StoreError::NotFound) => return Err(AppError::not_found("team")),
            Err(e) => return Err(e.into()),
        };
        if !self
            .campaign_reach(user)
            .await?
            .meets(&territory_short(&t.region_code))
        {
            return Err(AppError::not_found("team"));
        }
        Ok(t)
    }

    /// A team the caller may manage: visible, and its territory within theirs.
    pub async fn managed_team(&self, user: &User, id: Uuid) -> AppResult<TeamRow> {
        policy::require(user, Perm::ManageTeams)?;
        let t = self.visible_team(user, id).await?;
        if !self
            .campaign_reach(user)
            .await?
            .covers(&territory_short(&t.region_code))
        {
            return Err(AppError::not_found("team"));
        }
        Ok(t)
    }

    pub async fn list_teams(&self, user: &User) -> AppResult<Vec<TeamRow>> {
        policy::require(user, Perm::ReadTeams)?;
        let reach = self.campaign_reach(user).await?;
        Ok(self
            .store
            .teams()
            .await?
            .into_iter()
            .filter(|t| reach.meets(&territory_short(&t.region_code)))
            .collect())
    }

    /// Active teams a resident may choose on the public page (names and territories only).
    pub async fn public_teams(&self) -> AppResult<Vec<TeamRow>> {
        Ok(self
            .store
            .teams()
            .await?
            .into_iter()
            .filter(|t| t.status == "active")
            .collect())
    }

    /// Checks a territory: a known region within one county and, if given, grids inside it.
    async fn check_territory(
        &self,
        region: &str,
        grids: &[String],
    ) -> AppResult<(String, String, Vec<String>)> {
        let code = RegionCode::parse_field(region.trim(), "region")?;
        let county = code.county().ok_or_else(|| {
            AppError::invalid("region", "must be a county or a region within one county")
        })?;
        match self.store.region(code.as_str()).await {
            Ok(_) => {}
            Err(StoreError::NotFound) => {
                return Err(AppError::invalid("region", "no such region"));
            }
            Err(e) => return Err(e.into()),
        }
        let mut out = vec![];
        for (i, g) in grids.iter().enumerate() {
            let field = format!("grids[{i}]");
            let gc = GridCode::parse_field(g.trim(), &field)?;
            if !gc.as_str().starts_with(code.short()) {
                return Err(AppError::invalid(field, "lies outside the team's region"));
            }
            match self.store.grid(gc.as_str()).await {
                Ok(_) => {}
                Err(StoreError::NotFound) => {
                    return Err(AppError::invalid(field, "no such grid"));
                }
                Err(e) => return Err(e.into()),
            }
            out.push(gc.as_str().to_string());
        }
        out.sort();
        out.dedup();
        Ok((code.as_str().to_string(), county, out))
    }

    async fn check_team(
        &self,
        user: &User,
        input: &TeamInput,
        id: Option<Uuid>,
    ) -> AppResult<(String, String, String, String, Vec<String>, Option<Uuid>)> {
        let name = text(Some(&input.name), "name", 60)?
            .ok_or_else(|| AppError::invalid("name", "is required"))?;
        let kind = dt::check_kind(&input.kind)?;
        let (region, county, grids) = self.check_territory(&input.region, &input.grids).await?;
        if !self
            .campaign_reach(user)
            .await?
            .covers(&territory_short(&region))
        {
            return Err(AppError::invalid(
                "region",
                "lies outside the territory you manage",
            ));
        }
        let contact = match input.contact.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(name) => match self.store.user_by_name(name).await {
                Ok(u) if !u.disabled => Some(u.id),
                Ok(_) | Err(StoreError::NotFound) => {
                    return Err(AppError::invalid("contact", "no such active account"));
                }
                Err(e) => return Err(e.into()),
            },
        };
        if let Some(leader) = input.leader {
            let ok = match (id, self.store.member(leader).await) {
                (Some(team), Ok(m)) => m.team_id == team && m.left_on.is_none(),
                _ => false,
            };
            if !ok {
                return Err(AppError::invalid(
                    "leader",
                    "must be a current member of this team",
                ));
            }
        }
        Ok((name, kind, region, county, grids, contact))
    }

    pub async fn create_team(
        &self,
        user: &User,
        input: TeamInput,
        now: DateTime<Utc>,
    ) -> AppResult<TeamRow> {
        policy::require(user, Perm::ManageTeams)?;
        if input.leader.is_some() {
            return Err(AppError::invalid(
                "leader",
                "a new team has no members yet; name its leader once they are registered",
            ));
        }
        let (name, kind, region, county, grids, contact) =
            self.check_team(user, &input, None).await?;
        let ms = now.timestamp_millis();
        let t = TeamRow {
            id: Uuid::now_v7(),
            county_code: county,
            name,
            kind,
            region_code: region,
            grids: serde_json::to_string(&grids).map_err(AppError::internal)?,
            leader_id: None,
            contact_user_id: contact,
            status: "active".into(),
            created_by: Some(user.id),
            created_at: ms,
            updated_at: ms,
            version: 1,
        };
        let a = audit(
            Some(user),
            "team.create",
            "team",
            t.id,
            json!({"name": t.name, "region": t.region_code}),
        );
        self.store.insert_team(&t, &a).await.map_err(conflict)?;
        Ok(t)
    }

    pub async fn edit_team(
        &self,
        user: &User,
        id: Uuid,
        input: TeamInput,
        now: DateTime<Utc>,
    ) -> AppResult<TeamRow> {
        let old = self.managed_team(user, id).await?;
        let version = input.version.unwrap_or(old.version);
        if version != old.version {
            return Err(AppError::new(
                ErrorKind::Conflict,
                "conflict",
                format!("team changed since version {version}; reload it"),
            ));
        }
        let (name, kind, region, county, grids, contact) =
            self.check_team(user, &input, Some(id)).await?;
        if county != old.county_code {
            return Err(AppError::invalid(
                "region",
                "a team stays in its county; make a new team",
            ));
        }
        let status = match input.status.as_deref().map(str::trim) {
            None | Some("") => old.status.clone(),
            Some(s @ ("active" | "disbanded")) => s.to_string(),
            Some(_) => return Err(AppError::invalid("status", "must be active or disbanded")),
        };
        let t = TeamRow {
            name,
            kind,
            region_code: region,
            grids: serde_json::to_string(&grids).map_err(AppError::internal)?,
            leader_id: input.leader,
            contact_user_id: contact,
            status,
            updated_at: now.timestamp_millis(),
            version: old.version + 1,
            ..old.clone()
        };
        let a = audit(
            Some(user),
            "team.edit",
            "team",
            t.id,
            json!({"name": t.name}),
        );
        self.store
            .update_team(&t, old.version, &a)
            .await
            .map_err(conflict)?;
        Ok(t)
    }

    pub async fn team_members(&self, user: &User, id: Uuid) -> AppResult<Vec<MemberRow>> {
        let t = self.visible_team(user, id).await?;
        Ok(self.store.members(t.id).await?)
    }

    /// Registers members in a team (all or none); `field` prefixes each error (`rows[3].phone`
    /// for an import, nothing for one member).
    pub async fn add_members(
        &self,
        user: &User,
        team: Uuid,
        inputs: Vec<PersonInput>,
        now: DateTime<Utc>,
    ) -> AppResult<Vec<MemberRow>> {
        let t = self.managed_team(user, team).await?;
        let single = inputs.len() == 1;
        let ms = now.timestamp_millis();
        let mut rows = vec![];
        for (i, p) in inputs.iter().enumerate() {
            let prefix = |e: AppError| {
                if single {
                    e
                } else {
                    let f = e.field.clone().unwrap_or_default();
                    AppError::invalid(format!("members[{i}].{f}"), e.message)
                }
            };
            let person = check_person(p).map_err(prefix)?;
            let joined = match p.joined_on.as_deref().map(str::trim) {
                None | Some("") => local_today(now),
                Some(d) => date(d, "joined_on").map_err(prefix)?,
            };
            if rows
                .iter()
                .any(|r: &MemberRow| r.phone == person.phone.as_str())
            {
                return Err(prefix(AppError::invalid("phone", "is given twice")));
            }
            rows.push(MemberRow {
                id: Uuid::now_v7(),
                team_id: t.id,
                county_code: t.county_code.clone(),
                name: person.name.as_str().to_string(),
                phone: person.phone.as_str().to_string(),
                skills: serde_json::to_string(&person.skills).map_err(AppError::internal)?,
                skills_note: person.skills_note,
                consent_at: ms,
                consent_version: person.consent_version,
                joined_on: joined.to_string(),
                left_on: None,
                application_id: None,
                created_at: ms,
                updated_at: ms,
            });
        }
        if rows.is_empty() {
            return Err(AppError::invalid("members", "at least one member"));
        }
        let a = audit(
            Some(user),
            "team.members.add",
            "team",
            t.id,
            json!({"members": rows.len()}),
        );
        self.store
            .insert_members(&rows, &a)
            .await
            .map_err(|e| match e {
                StoreError::Conflict(m) => AppError::new(ErrorKind::Conflict, "conflict", m)
                    .with_extra(json!({"field": "phone"})),
                e => e.into(),
            })?;
        Ok(rows)
    }

    /// A member of a team the caller may see.
    async fn team_member(&self, team: &TeamRow, member: Uuid) -> AppResult<MemberRow> {
        match self.store.member(member).await {
            Ok(m) if m.team_id == team.id => Ok(m),
            Ok(_) | Err(StoreError::NotFound) => Err(AppError::not_found("member")),
            Err(e) => Err(e.into()),
        }
    }

    /// Records that a member left the team (a local date, today when absent).
    pub async fn member_leaves(
        &self,
        user: &User,
        team: Uuid,
        member: Uuid,
        left_on: Option<&str>,
        now: DateTime<Utc>,
    ) -> AppResult<MemberRow> {
        let t = self.managed_team(user, team).await?;
        let m = self.team_member(&t, member).await?;
        let day = match left_on.map(str::trim).filter(|s| !s.is_empty()) {
            None => local_today(now),
            Some(d) => date(d, "left_on")?,
        };
        if day.to_string() < m.joined_on {
            return Err(AppError::invalid("left_on", "is before the member joined"));
        }
        let a = audit(
            Some(user),
            "team.member.leave",
            "volunteer_member",
            m.id,
            json!({"team": t.id}),
        );
        self.store
            .member_left(m.id, &day.to_string(), now.timestamp_millis(), &a)
            .await
            .map_err(conflict)?;
        Ok(self.store.member(m.id).await?)
    }

    /// A member's phone in full, for a reason; audited.
    pub async fn reveal_member_phone(
        &self,
        user: &User,
        team: Uuid,
        member: Uuid,
        reason: &str,
        now: DateTime<Utc>,
    ) -> AppResult<String> {
        let t = self.managed_team(user, team).await?;
        let m = self.team_member(&t, member).await?;
        let reason = text(Some(reason), "reason", 200)?
            .filter(|r| r.chars().count() >= 2)
            .ok_or_else(|| AppError::invalid("reason", "say why you need the number"))?;
        let a = audit(
            Some(user),
            "team.member.reveal",
            "volunteer_member",
            m.id,
            json!({"team": t.id, "reason": reason}),
        );
        self.store.audit_only(&a, now.timestamp_millis()).await?;
        Ok(m.phone)
    }

    /// A manual entry of service hours (training, an event) for a member.
    #[allow(clippy::too_many_arguments)]
    pub async fn add_hours(
        &self,
        user: &User,
        team: Uuid,
        member: Uuid,
        served_on: &str,
        minutes: i64,
        note: &str,
        now: DateTime<Utc>,
    ) -> AppResult<HoursRow> {
        let t = self.managed_team(user, team).await?;
        let m = match self.team_member(&t, member).await {
            Ok(m) => m,
            Err(_) => return Err(AppError::invalid("member", "is not a member of this team")),
        };
        let day = date(served_on, "served_on")?;
        if day > local_today(now) {
            return Err(AppError::invalid("served_on", "is in the future"));
        }
        if !(1..=dt::MAX_PATROL_MINUTES).contains(&minutes) {
            return Err(AppError::invalid("minutes", "must be 1 to 1440"));
        }
        let note = text(Some(note), "note", 200)?
            .ok_or_else(|| AppError::invalid("note", "say what the service was"))?;
        let h = HoursRow {
            id: Uuid::now_v7(),
            member_id: m.id,
            team_id: t.id,
            region_code: t.region_code.clone(),
            served_at: day_start(day).timestamp_millis() + 12 * 3_600_000,
            minutes,
            note,
            created_by: Some(user.id),
            created_at: now.timestamp_millis(),
        };
        let a = audit(
            Some(user),
            "team.hours.add",
            "volunteer_member",
            m.id,
            json!({"minutes": minutes}),
        );
        self.store.insert_hours(&h, &a).await?;
        Ok(h)
    }

    /// A resident's sign-up from the public page: a team or an area, their details and consent.
    /// Answers the stored sign-up (its `ref_code` is what the resident keeps).
    pub async fn sign_up(
        &self,
        input: PersonInput,
        now: DateTime<Utc>,
    ) -> AppResult<ApplicationRow> {
        let person = check_person(&input)?;
        let (team, region) = match (input.team, input.region.as_deref().map(str::trim)) {
            (Some(id), _) => match self.store.team(id).await {
                Ok(t) if t.status == "active" => (Some(t.id), t.region_code),
                Ok(_) | Err(StoreError::NotFound) => {
                    return Err(AppError::invalid("team", "no such team takes sign-ups"));
                }
                Err(e) => return Err(e.into()),
            },
            (None, Some(r)) if !r.is_empty() => {
                let (region, _, _) = self.check_territory(r, &[]).await?;
                (None, region)
            }
            _ => return Err(AppError::invalid("team", "choose a team or an area")),
        };
        let ms = now.timestamp_millis();
        for _ in 0..5 {
            let a = ApplicationRow {
                id: Uuid::now_v7(),
                ref_code: format!("V{}", crate::app::service::tracking_code(&mut rand::rng())),
                team_id: team,
                region_code: region.clone(),
                name: person.name.as_str().to_string(),
                phone: person.phone.as_str().to_string(),
                skills: serde_json::to_string(&person.skills).map_err(AppError::internal)?,
                skills_note: person.skills_note.clone(),
                consent_at: ms,
                consent_version: person.consent_version.clone(),
                status: "pending".into(),
                reason: None,
                member_id: None,
                decided_by: None,
                decided_at: None,
                created_at: ms,
            };
            let e = audit(
                None,
                "volunteer.sign_up",
                "volunteer_application",
                a.id,
                json!({"team": team, "region": region}),
            );
            match self.store.insert_application(&a, &e).await {
                Ok(()) => return Ok(a),
                // Another sign-up holds the code: draw again.
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(AppError::internal("no free reference code after 5 draws"))
    }

    /// A sign-up's state by its reference code (the resident's view), with its team's name.
    pub async fn application_status(
        &self,
        code: &str,
    ) -> AppResult<(ApplicationRow, Option<String>)> {
        let code: String = code
            .trim()
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>()
            .to_ascii_uppercase();
        let a = match self.store.application_by_ref(&code).await {
            Ok(a) => a,
            Err(StoreError::NotFound) => return Err(AppError::not_found("sign-up")),
            Err(e) => return Err(e.into()),
        };
        let team = match a.team_id {
            Some(t) => self.store.team(t).await.ok().map(|t| t.name),
            None => None,
        };
        Ok((a, team))
    }

    /// Sign-ups whose area the caller manages, newest first.
    pub async fn list_applications(
        &self,
        user: &User,
        status: Option<&str>,
    ) -> AppResult<Vec<ApplicationRow>> {
        policy::require(user, Perm::ManageTeams)?;
        let reach = self.campaign_reach(user).await?;
        let status = status.map(str::trim).filter(|s| !s.is_empty());
        if let Some(s) = status
            && !matches!(s, "pending" | "approved" | "declined")
        {
            return Err(AppError::invalid(
                "status",
                "must be pending, approved or declined",
            ));
        }
        let teams = self.store.teams().await?;
        let covered = |team: Uuid| {
            teams
                .iter()
                .find(|t| t.id == team)
                .is_some_and(|t| reach.covers(&territory_short(&t.region_code)))
        };
        Ok(self
            .store
            .applications(status)
            .await?
            .into_iter()
            .filter(|a| match a.team_id {
                Some(t) => covered(t),
                None => reach.meets(&territory_short(&a.region_code)),
            })
            .collect())
    }

    async fn managed_application(&self, user: &User, id: Uuid) -> AppResult<ApplicationRow> {
        policy::require(user, Perm::ManageTeams)?;
        let a = match self.store.application(id).await {
            Ok(a) => a,
            Err(StoreError::NotFound) => return Err(AppError::not_found("sign-up")),
            Err(e) => return Err(e.into()),
        };
        // A sign-up for a team is the business of those who manage the team; one for an area,
        // of those whose territory meets it.
        let mine = match a.team_id {
            Some(t) => match self.managed_team(user, t).await {
                Ok(_) => true,
                Err(e) if e.kind == ErrorKind::NotFound => false,
                Err(e) => return Err(e),
            },
            None => self
                .campaign_reach(user)
                .await?
                .meets(&territory_short(&a.region_code)),
        };
        if !mine {
            return Err(AppError::not_found("sign-up"));
        }
        if a.status != "pending" {
            return Err(AppError::new(
                ErrorKind::Conflict,
                "conflict",
                format!("this sign-up was already {}", a.status),
            ));
        }
        Ok(a)
    }

    /// Approves a sign-up into a member of its team (or of `team` when the resident chose an
    /// area), in one transaction.
    pub async fn approve_application(
        &self,
        user: &User,
        id: Uuid,
        team: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> AppResult<(ApplicationRow, MemberRow)> {
        let a = self.managed_application(user, id).await?;
        let team_id = team.or(a.team_id).ok_or_else(|| {
            AppError::invalid("team", "the resident chose an area; choose the team")
        })?;
        let t = match self.managed_team(user, team_id).await {
            Ok(t) => t,
            Err(e) if e.kind == ErrorKind::NotFound => {
                return Err(AppError::invalid("team", "no such team in your territory"));
            }
            Err(e) => return Err(e),
        };
        if t.status != "active" {
            return Err(AppError::invalid("team", "the team is disbanded"));
        }
        let ms = now.timestamp_millis();
        let m = MemberRow {
            id: Uuid::now_v7(),
            team_id: t.id,
            county_code: t.county_code.clone(),
            name: a.name.clone(),
            phone: a.phone.clone(),
            skills: a.skills.clone(),
            skills_note: a.skills_note.clone(),
            consent_at: a.consent_at,
            consent_version: a.consent_version.clone(),
            joined_on: local_today(now).to_string(),
            left_on: None,
            application_id: Some(a.id),
            created_at: ms,
            updated_at: ms,
        };
        let decided = ApplicationRow {
            team_id: Some(t.id),
            status: "approved".into(),
            member_id: Some(m.id),
            decided_by: Some(user.id),
            decided_at: Some(ms),
            ..a
        };
        let e = audit(
            Some(user),
            "volunteer.approve",
            "volunteer_application",
            decided.id,
            json!({"team": t.id, "member": m.id}),
        );
        self.store
            .decide_application(&decided, Some(&m), &e)
            .await
            .map_err(conflict)?;
        Ok((decided, m))
    }

    pub async fn decline_application(
        &self,
        user: &User,
        id: Uuid,
        reason: &str,
        now: DateTime<Utc>,
    ) -> AppResult<ApplicationRow> {
        let a = self.managed_application(user, id).await?;
        let reason = text(Some(reason), "reason", 200)?
            .ok_or_else(|| AppError::invalid("reason", "tell the resident why"))?;
        let decided = ApplicationRow {
            status: "declined".into(),
            reason: Some(reason),
            decided_by: Some(user.id),
            decided_at: Some(now.timestamp_millis()),
            ..a
        };
        let e = audit(
            Some(user),
            "volunteer.decline",
            "volunteer_application",
            decided.id,
            json!({}),
        );
        self.store
            .decide_application(&decided, None, &e)
            .await
            .map_err(conflict)?;
        Ok(decided)
    }

    /// The region the caller may read rolls of: `region` if given and readable, else their own.
    async fn roll_region(&self, user: &User, region: Option<&str>) -> AppResult<String> {
        let reach = self.campaign_reach(user).await?;
        let wanted = match region.map(str::trim).filter(|r| !r.is_empty()) {
            Some(r) => RegionCode::parse_field(r, "region")?.short().to_string(),
            None => match &reach {
                Reach::All => self
                    .store
                    .setting("root_region")
                    .await?
                    .map(|r| territory_short(&r))
                    .unwrap_or_default(),
                Reach::Regions(rs) => rs.first().cloned().unwrap_or_default(),
                Reach::Grids(gs) => gs
                    .first()
                    .map(|g| g.get(..12).unwrap_or(g).to_string())
                    .unwrap_or_default(),
            },
        };
        let ok = match &reach {
            Reach::All => true,
            Reach::Regions(_) => reach.covers(&wanted),
            // A grid worker reads the village of one of their grids, or a grid of theirs.
            Reach::Grids(gs) => gs
                .iter()
                .any(|g| wanted.len() >= 12 && g.starts_with(wanted.as_str())),
        };
        if wanted.is_empty() || !ok {
            return Err(AppError::not_found("region"));
        }
        Ok(wanted)
    }

    /// Minutes per member and per team of a region in `[from, to)`.
    async fn lines(
        &self,
        prefix: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> AppResult<(Vec<RollLine>, Vec<RollLine>)> {
        let rows = self
            .store
            .member_minutes(prefix, from.timestamp_millis(), to.timestamp_millis())
            .await?;
        let mut teams: BTreeMap<Uuid, TeamRow> = BTreeMap::new();
        let mut by_member: BTreeMap<Uuid, (i64, i64, Uuid)> = BTreeMap::new();
        let mut by_team: BTreeMap<Uuid, (i64, i64)> = BTreeMap::new();
        for r in &rows {
            let e = by_member.entry(r.member_id).or_insert((0, 0, r.team_id));
            e.0 += r.minutes;
            e.1 += r.patrols;
            let e = by_team.entry(r.team_id).or_default();
            e.0 += r.minutes;
            e.1 += r.patrols;
            if !teams.contains_key(&r.team_id)
                && let Ok(t) = self.store.team(r.team_id).await
            {
                teams.insert(t.id, t);
            }
        }
        let team_name = |id: &Uuid| teams.get(id).map(|t| t.name.clone()).unwrap_or_default();
        let mut members = vec![];
        let minutes: BTreeMap<Uuid, i64> = by_member.iter().map(|(k, v)| (*k, v.0)).collect();
        for (rank, (id, min)) in dt::honour_roll(&minutes, usize::MAX)
            .into_iter()
            .enumerate()
        {
            let (_, patrols, team) = by_member[&id];
            let name = match self.store.member(id).await {
                Ok(m) => PersonName::from_stored(&m.name).masked(),
                Err(_) => String::new(),
            };
            members.push(RollLine {
                rank: rank + 1,
                id,
                name,
                team: team_name(&team),
                team_id: team,
                minutes: min,
                patrols,
            });
        }
        let minutes: BTreeMap<Uuid, i64> = by_team.iter().map(|(k, v)| (*k, v.0)).collect();
        let team_lines = dt::honour_roll(&minutes, usize::MAX)
            .into_iter()
            .enumerate()
            .map(|(rank, (id, min))| RollLine {
                rank: rank + 1,
                id,
                name: team_name(&id),
                team: team_name(&id),
                team_id: id,
                minutes: min,
                patrols: by_team[&id].1,
            })
            .collect();
        Ok((members, team_lines))
    }

    /// The monthly honour roll (光荣榜) of a region: its top members and teams by service hours
    /// (patrols each participant took part in, plus manual entries), months in Asia/Shanghai.
    pub async fn honour_roll(
        &self,
        user: &User,
        month: &str,
        region: Option<&str>,
    ) -> AppResult<HonourRoll> {
        policy::require(user, Perm::ReadTeams)?;
        let (first, next) = dt::month(month)?;
        let prefix = self.roll_region(user, region).await?;
        let (mut members, mut teams) = self
            .lines(&prefix, day_start(first), day_start(next))
            .await?;
        members.truncate(ROLL_SIZE);
        teams.truncate(ROLL_SIZE);
        Ok(HonourRoll {
            month: first.format("%Y-%m").to_string(),
            region: format!("{prefix:0<12}"),
            members,
            teams,
        })
    }

    /// Hours of every member of a team in `[from, to]` (local dates, both included).
    pub async fn team_hours(
        &self,
        user: &User,
        team: Uuid,
        from: &str,
        to: &str,
    ) -> AppResult<Vec<RollLine>> {
        let t = self.visible_team(user, team).await?;
        let from = date(from, "from")?;
        let to = date(to, "to")?;
        if to < from {
            return Err(AppError::invalid("to", "is before from"));
        }
        let short = territory_short(&t.region_code);
        let (members, _) = self
            .lines(
                &short,
                day_start(from),
                day_start(to + chrono::Duration::days(1)),
            )
            .await?;
        Ok(members.into_iter().filter(|l| l.team_id == t.id).collect())
    }
}

/// The honour roll as an XLSX workbook: a sheet of members, one of teams.
pub fn honour_roll_xlsx(r: &HonourRoll) -> AppResult<Vec<u8>> {
    let member_rows = r
        .members
        .iter()
        .map(|l| {
            vec![
                Cell::from(l.rank as i64),
                Cell::from(l.name.as_str()),
                Cell::from(l.team.as_str()),
                Cell::from(dt::hours(l.minutes)),
                Cell::from(l.patrols),
            ]
        })
        .collect();
    let team_rows = r
        .teams
        .iter()
        .map(|l| {
            vec![
                Cell::from(l.rank as i64),
                Cell::from(l.name.as_str()),
                Cell::from(dt::hours(l.minutes)),
                Cell::from(l.patrols),
            ]
        })
        .collect();
    crate::app::table::write_xlsx(&[
        Sheet {
            name: format!("志愿者 {}", r.month),
            header: ["名次", "姓名", "队伍", "服务时长（小时）", "参加巡防（次）"]
                .map(String::from)
                .to_vec(),
            rows: member_rows,
        },
        Sheet {
            name: format!("队伍 {}", r.month),
            header: ["名次", "队伍", "服务时长（人·小时）", "巡防人次"]
                .map(String::from)
                .to_vec(),
            rows: team_rows,
        },
    ])
}

/// An honour roll as the API shows it.
pub fn honour_roll_json(r: &HonourRoll) -> Value {
    let line = |l: &RollLine| {
        json!({"rank": l.rank, "id": l.id, "name": l.name, "team": l.team,
               "minutes": l.minutes, "hours": dt::hours(l.minutes), "patrols": l.patrols})
    };
    json!({
        "month": r.month,
        "region": r.region,
        "members": r.members.iter().map(line).collect::<Vec<_>>(),
        "teams": r.teams.iter().map(line).collect::<Vec<_>>(),
    })
}
