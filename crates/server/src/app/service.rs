//! Case operations shared by every channel (API, demo, CLI, later Open311): create a case through
//! the engine, fire an action with its storage-side checks, and work out which KPI nodes a case
//! counts towards.

use crate::app::error::{AppError, AppResult};
use crate::app::state::AppState;
use chrono::{DateTime, Utc};
use rand::Rng;
use safegrid_domain::catalog::Urgency;
use safegrid_domain::codes::{GeoPoint, GridCode, PersonName, Phone, RegionCode};
use safegrid_domain::engine::{self, Action, Actor, Applied, Case, Command, Context, NewCase};
use safegrid_domain::{FieldError, Role};
use safegrid_store::{StoreError, User};
use serde::Deserialize;
use uuid::Uuid;

/// A new case as any channel submits it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateCase {
    pub category: String,
    pub description: String,
    #[serde(default)]
    pub lat: Option<f64>,
    #[serde(default)]
    pub lon: Option<f64>,
    #[serde(default)]
    pub urgency: Option<String>,
    #[serde(default)]
    pub channel: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub reporter: Option<Reporter>,
    #[serde(default, rename = "type")]
    pub case_type: Option<String>,
    /// Facts of the channel recorded in the report's history entry (Open311 attributes and
    /// media); set by channels in code, never read from a request body.
    #[serde(skip)]
    pub report_data: Option<serde_json::Map<String, serde_json::Value>>,
    /// The region (12 digits) a channel knows a case without a point belongs to (an Open311
    /// jurisdiction); set in code only.
    #[serde(skip)]
    pub region_hint: Option<String>,
    /// The grid a channel knows a case without a point lies in (a registered place's grid,
    /// given by hand when it was registered); set in code only.
    #[serde(skip)]
    pub grid_hint: Option<String>,
    /// The dispute record (GB/T 31000 table 30), required with `"type": "dispute"`.
    #[serde(default)]
    pub dispute: Option<safegrid_domain::dispute::NewDispute>,
    /// The petition record (channel, agent), required with `"type": "petition"`.
    #[serde(default)]
    pub petition: Option<safegrid_domain::dispute::NewPetition>,
    /// The phone's id of an offline submission (UUIDv7, made when the form was shown): it becomes
    /// the case's id, so a retry of the same submission answers the case it made instead of a
    /// second one (`AppState::create_case_once`). Staff accounts only (the API's JSON and the
    /// offline forms); ignored for residents without an account.
    #[serde(default)]
    pub client_id: Option<Uuid>,
}

/// The reporter's contact, kept only as long as a call-back needs it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reporter {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    /// Stay anonymous (匿名): the contact is kept for the command center's call-back only.
    #[serde(default)]
    pub anonymous: bool,
}

const TRACKING_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// A public tracking code (查询码): 10 characters without look-alikes (0/O, 1/I), 50 random
/// bits. Unique: the store refuses a code another case holds, and intake draws again.
pub fn tracking_code(rng: &mut impl Rng) -> String {
    spell_tracking_code(draw_tracking_bits(rng))
}

/// A tracking code's 50 random bits, 5 per character, the first character's highest; drawn
/// character by character as codes always were, so a seeded demo city keeps its codes.
pub fn draw_tracking_bits(rng: &mut impl Rng) -> u64 {
    (0..10).fold(0, |bits, _| {
        (bits << 5) | rng.random_range(0..TRACKING_ALPHABET.len()) as u64
    })
}

/// The code that spells the low 50 bits of `bits`.
pub fn spell_tracking_code(bits: u64) -> String {
    (0..10)
        .rev()
        .map(|i| TRACKING_ALPHABET[((bits >> (5 * i)) & 31) as usize] as char)
        .collect()
}

/// The KPI nodes one applied action counts towards: the case's after the action, with the
/// department it had before when the action took it away (a return still counts for the
/// department that returned it). The write path (`Service::commit`) and the demo's bulk
/// simulation both count through this.
pub fn counted_nodes(before: &Case, applied: &Applied) -> Vec<String> {
    kpi_nodes(
        &applied.case,
        applied
            .case
            .department
            .as_deref()
            .or(before.department.as_deref()),
    )
}

/// The KPI nodes a case counts towards: each region from province down, its grid, its department.
pub fn kpi_nodes(case: &Case, department: Option<&str>) -> Vec<String> {
    let mut nodes: Vec<String> = case
        .region_code
        .ancestors()
        .iter()
        .map(|a| a.as_str().to_string())
        .collect();
    if let Some(g) = &case.grid_code {
        nodes.push(g.as_str().to_string());
    }
    if let Some(d) = department.or(case.department.as_deref()) {
        nodes.push(format!("dept:{d}"));
    }
    nodes
}

fn clean(s: Option<&str>, field: &str, max: usize) -> Result<Option<String>, FieldError> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) if s.chars().count() > max => Err(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        )),
        Some(s) if s.chars().any(|c| c.is_control() && c != '\n') => Err(FieldError::new(
            field,
            "must not contain control characters",
        )),
        Some(s) => Ok(Some(s.to_string())),
    }
}

impl AppState {
    /// Where a point lies: (grid, deepest region). `Err` names lat/lon when it is outside the
    /// territory this deployment serves.
    pub async fn place(&self, p: GeoPoint) -> AppResult<(Option<String>, String)> {
        let loc = self.locator().locate(p.lon, p.lat);
        if let Some(g) = &loc.grid {
            let village = g[..12].to_string();
            return Ok((Some(g.clone()), village));
        }
        if let Some(r) = loc.region {
            return Ok((None, r));
        }
        if self.locator().region_count() == 0
            && let Some(root) = self.root_region().await?
        {
            return Ok((None, root));
        }
        Err(AppError::invalid(
            "lat",
            "the point lies outside the territory this deployment serves",
        ))
    }

    /// Validates and creates a case through the engine (any channel).
    pub async fn create_case(
        &self,
        input: CreateCase,
        user: Option<&User>,
        now: DateTime<Utc>,
    ) -> AppResult<Case> {
        Ok(self.create_case_once(input, user, now).await?.0)
    }

    /// The case a retried offline submission already made: the case whose id is the phone's
    /// `client_id`, if this account made it. An id taken by anything else is refused naming
    /// `client_id` (a phone never reuses one; this is a forged or broken submission).
    async fn replayed_case(&self, id: Uuid, user: &User) -> AppResult<Option<Case>> {
        let case = match self.store.case(id).await {
            Ok(c) => c,
            Err(StoreError::NotFound) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let first = self.store.events(&case).await?;
        if first.first().and_then(|e| e.actor_id) == Some(user.id) {
            Ok(Some(case))
        } else {
            Err(AppError::invalid(
                "client_id",
                "this id belongs to another submission; the form makes a new one when shown",
            ))
        }
    }

    /// [`Self::create_case`] that also says whether the case was made before, by an earlier
    /// copy of the same offline submission (same `client_id`): then nothing is written again.
    pub async fn create_case_once(
        &self,
        mut input: CreateCase,
        user: Option<&User>,
        now: DateTime<Utc>,
    ) -> AppResult<(Case, bool)> {
        // Only an account's submissions are replayed: a resident's form has no outbox, and an
        // id known to someone else must not lead them to a case.
        let client = match (input.client_id.take(), user) {
            (Some(id), Some(u)) if u.role != Role::Citizen => {
                if id.get_version_num() != 7 {
                    return Err(AppError::invalid(
                        "client_id",
                        "must be a UUID version 7 (made by the page when the form is shown)",
                    ));
                }
                if let Some(c) = self.replayed_case(id, u).await? {
                    return Ok((c, true));
                }
                Some((id, u))
            }
            _ => None,
        };
        match self
            .create_case_inner(input, user, client.map(|c| c.0), now)
            .await
        {
            Ok(c) => Ok((c, false)),
            // Two copies at once: the one that lost the race answers the winner's case.
            Err(e) => match client {
                Some((id, u)) => match self.replayed_case(id, u).await {
                    Ok(Some(c)) => Ok((c, true)),
                    _ => Err(e),
                },
                None => Err(e),
            },
        }
    }

    async fn create_case_inner(
        &self,
        input: CreateCase,
        user: Option<&User>,
        id: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> AppResult<Case> {
        let cats = self.categories();
        let cat_code = input.category.trim();
        if cat_code.is_empty() {
            return Err(AppError::invalid(
                "category",
                "is required (a category code, see GET /api/v1/categories)",
            ));
        }
        let cat = cats.get(cat_code).filter(|c| c.active).ok_or_else(|| {
            AppError::invalid(
                "category",
                format!("unknown category {cat_code}; see GET /api/v1/categories"),
            )
        })?;
        if let Some(t) = input.case_type.as_deref()
            && t != cat.case_type
        {
            return Err(AppError::invalid(
                "type",
                format!(
                    "category {} belongs to case type {}, not {t}",
                    cat.code, cat.case_type
                ),
            ));
        }
        let type_record = crate::app::disputes::check_new(
            &cat.case_type,
            input.dispute.as_ref(),
            input.petition.as_ref(),
        )?;
        let description = engine::validate_description(&input.description)?;
        let urgency = match input.urgency.as_deref() {
            None | Some("") => Urgency::Normal,
            Some(u) => u.parse::<Urgency>()?,
        };
        let role = user.map(|u| u.role);
        let channel = match input
            .channel
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
        {
            Some(c) if engine::CHANNELS.contains(&c) => c.to_string(),
            Some(_) => {
                return Err(AppError::invalid(
                    "channel",
                    format!("must be one of {}", engine::CHANNELS.join(", ")),
                ));
            }
            None => match role {
                Some(Role::GridWorker | Role::GridLeader) => "grid_worker".into(),
                Some(Role::Dispatcher) => "hotline".into(),
                _ => "web".into(),
            },
        };
        let address = clean(input.address.as_deref(), "address", 200)?;
        let (reporter_name, reporter_phone) = match &input.reporter {
            None => (None, None),
            Some(r) => {
                let name = match r.name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
                    None => None,
                    Some(n) => Some(PersonName::parse_field(n, "reporter.name")?),
                };
                let phone = match r.phone.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
                    None => None,
                    Some(p) => Some(Phone::parse_field(p, "reporter.phone")?),
                };
                (name, phone)
            }
        };
        let (grid_code, region_code, needs_location, lat, lon) = match (input.lat, input.lon) {
            (Some(lat), Some(lon)) => {
                let p = GeoPoint::new(lon, lat)?;
                let (grid, region) = self.place(p).await?;
                (grid, region, false, Some(p.lat), Some(p.lon))
            }
            (Some(_), None) => {
                return Err(AppError::invalid("lon", "is required when lat is given"));
            }
            (None, Some(_)) => {
                return Err(AppError::invalid("lat", "is required when lon is given"));
            }
            (None, None) => {
                if address.is_none() {
                    return Err(AppError::invalid(
                        "lat",
                        "a location is required: lat and lon, or an address",
                    ));
                }
                let region = match input
                    .region_hint
                    .clone()
                    .or_else(|| user.and_then(|u| u.regions.first().cloned()))
                {
                    Some(r) => r,
                    None => self.root_region().await?.ok_or_else(|| {
                        AppError::invalid(
                            "address",
                            "no territory is loaded yet; import divisions first",
                        )
                    })?,
                };
                (input.grid_hint.clone(), region, true, None, None)
            }
        };
        let region = RegionCode::parse(&region_code).map_err(AppError::internal)?;
        let county_code = match region.county() {
            Some(c) => c,
            None => region.as_str()[..6].to_string(),
        };
        let needs_grid = grid_code.is_none();
        let new = NewCase {
            id: id.unwrap_or_else(Uuid::now_v7),
            county_code,
            number: None,
            tracking_code: tracking_code(&mut rand::rng()),
            case_type: cat.case_type.clone(),
            category: cat.code.clone(),
            urgency,
            channel,
            description,
            address,
            lat,
            lon,
            grid_code: grid_code
                .as_deref()
                .map(GridCode::parse)
                .transpose()
                .map_err(AppError::internal)?,
            region_code: region,
            needs_grid,
            needs_location,
            reporter_name,
            reporter_phone,
            reporter_user: user.filter(|u| u.role == Role::Citizen).map(|u| u.id),
            reporter_anonymous: input.reporter.as_ref().is_some_and(|r| r.anonymous),
        };
        let cal = self.calendar();
        let limits = self.limits();
        let ctx = Context {
            calendar: &cal,
            limits: limits.as_ref(),
            now,
        };
        let actor = user.map(User::actor);
        let mut applied = engine::create(new, actor.as_ref(), &ctx)?;
        if let (Some(extra), Some(data)) = (input.report_data, applied.event.data.as_object_mut()) {
            data.extend(extra);
        }
        let nodes = kpi_nodes(&applied.case, None);
        let extra = type_record.writes(&applied.case, now);
        Ok(self.intake.insert(applied, nodes, extra).await?)
    }

    /// Fires an action on a case on behalf of `actor`, with the checks that need storage.
    /// `case` is as the caller read it; the store's version check catches anyone who changed
    /// it since. The action was parsed by the channel (`Command::try_from` its request), so its
    /// fields are already checked.
    pub async fn act(
        &self,
        case: &Case,
        cmd: &Command,
        actor: &Actor,
        expected_version: Option<i64>,
        now: DateTime<Utc>,
    ) -> AppResult<Case> {
        self.act_noting(case, cmd, actor, expected_version, None, now)
            .await
    }

    /// [`Self::act`], with facts of the channel added to the history entry's data (the phone's
    /// `client_id` of an offline submission, by which a retry finds that it was applied).
    pub async fn act_noting(
        &self,
        case: &Case,
        cmd: &Command,
        actor: &Actor,
        expected_version: Option<i64>,
        data: Option<serde_json::Map<String, serde_json::Value>>,
        now: DateTime<Utc>,
    ) -> AppResult<Case> {
        if let Some(v) = expected_version
            && v != case.version
        {
            return Err(AppError::new(
                crate::app::error::ErrorKind::Conflict,
                "version_mismatch",
                format!(
                    "case {} is at version {}, not {v}; reload and try again",
                    case.number_text(),
                    case.version
                ),
            )
            .with_extra(serde_json::json!({ "version": case.version, "state": case.status })));
        }
        self.check_references(case, &cmd.action, actor).await?;
        let mut applied = self.apply(case, cmd, actor, now)?;
        if let (Some(extra), Some(d)) = (data, applied.event.data.as_object_mut()) {
            d.extend(extra);
        }
        self.commit(case, &applied, actor, vec![], now).await
    }

    /// The one write path of a case change (every channel: the API, the pages, Open311's
    /// updates, the deadline job, the dispute reminders): the changed case, its history entry
    /// and the KPI counters of every node it counts towards, the records its type keeps beside it
    /// (a dispute's mediator, agreement, a petition's answers — `action_writes`, from the engine's
    /// effects) and any `extra`
    /// writes of the caller, in one transaction, compare-and-swap on the version the change was
    /// applied to (a conflict answers `ErrorKind::Conflict`: reload and retry, or leave it).
    pub async fn commit(
        &self,
        case: &Case,
        applied: &Applied,
        actor: &Actor,
        extra: Vec<safegrid_store::disputes::SideWrite>,
        now: DateTime<Utc>,
    ) -> AppResult<Case> {
        let mut writes = self.action_writes(case, applied, actor, now).await?;
        writes.extend(extra);
        let nodes = counted_nodes(case, applied);
        Ok(self
            .store
            .update_case_with(case.version, applied, &nodes, &writes)
            .await?)
    }

    /// Applies an action through the engine without storing anything (a dry run, or the first
    /// half of [`Self::commit`] for a channel that adds to the history entry).
    pub fn apply(
        &self,
        case: &Case,
        cmd: &Command,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> AppResult<Applied> {
        let cal = self.calendar();
        let limits = self.limits();
        let ctx = Context {
            calendar: &cal,
            limits: limits.as_ref(),
            now,
        };
        Ok(engine::apply(case, cmd, actor, &ctx)?)
    }

    /// The department of a dispatch or forward exists, is active and (for a dispatch) serves
    /// the case; the original of a duplicate exists within the actor's reach.
    async fn check_references(&self, case: &Case, action: &Action, actor: &Actor) -> AppResult<()> {
        if let Action::Dispatch { department: d } | Action::Forward { department: d } = action {
            match self.store.department(d).await {
                // A department outside the actor's territory answers as an unknown one does.
                Ok(dep)
                    if !safegrid_domain::scope::actor_reaches(actor, &dep.region_code, None) =>
                {
                    return Err(AppError::invalid(
                        "department",
                        format!("unknown department {d}; see GET /api/v1/departments"),
                    ));
                }
                Ok(dep)
                    if matches!(action, Action::Dispatch { .. })
                        && !serves(&dep.region_code, case.region_code.as_str()) =>
                {
                    return Err(AppError::invalid(
                        "department",
                        format!(
                            "department {d} does not serve the case's region {}",
                            case.region_code
                        ),
                    ));
                }
                Ok(dep) if dep.active => {}
                Ok(_) => {
                    return Err(AppError::invalid(
                        "department",
                        format!("department {d} is inactive"),
                    ));
                }
                Err(StoreError::NotFound) => {
                    return Err(AppError::invalid(
                        "department",
                        format!("unknown department {d}; see GET /api/v1/departments"),
                    ));
                }
                Err(e) => return Err(e.into()),
            }
        }
        if let Action::LinkDuplicate { of } = *action
            && of != case.id
        {
            match self.store.case(of).await {
                Ok(o)
                    if safegrid_domain::scope::actor_reaches(
                        actor,
                        o.region_code.as_str(),
                        o.grid_code.as_ref().map(GridCode::as_str),
                    ) => {}
                // Out of the actor's territory answers as a missing case does, and says nothing
                // of what the case is.
                Ok(_) | Err(StoreError::NotFound) => {
                    return Err(AppError::invalid("of", format!("no case with id {of}")));
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }
}

/// Whether a department of `dept_region` serves a case in `case_region`: the case lies in the
/// department's region (a county bureau for its county, a city bureau for the whole city).
fn serves(dept_region: &str, case_region: &str) -> bool {
    safegrid_domain::scope::regions_cover(&[dept_region.to_string()], case_region)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// Codes spell their bits in the alphabet, first character highest, and a drawn code is the
    /// code its drawn bits spell (so the demo's de-duplication by bits is de-duplication by code).
    #[test]
    fn tracking_codes_spell_their_bits() {
        assert_eq!(spell_tracking_code(0), "AAAAAAAAAA");
        assert_eq!(spell_tracking_code(1), "AAAAAAAAAB");
        assert_eq!(spell_tracking_code(31 << 45), "9AAAAAAAAA");
        assert_eq!(spell_tracking_code((1 << 50) - 1), "9999999999");
        let mut a = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut b = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for _ in 0..1000 {
            let code = tracking_code(&mut a);
            assert_eq!(code, spell_tracking_code(draw_tracking_bits(&mut b)));
            assert!(code.bytes().all(|c| TRACKING_ALPHABET.contains(&c)));
            assert!(!code.contains(['0', 'O', '1', 'I']));
        }
    }
}
