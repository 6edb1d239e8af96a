//! What disputes (矛盾纠纷) and petitions (信访) add to the shared case operations: the record
//! each keeps beside its case, written in the case's own transaction at creation and with each
//! action, the checks that need storage (the mediator exists and serves the dispute's region,
//! the court-confirmation window is open, a repeated petition links to a petition), and the
//! deadline job's reminder before the 司法确认 window closes.

use crate::app::error::{AppError, AppResult};
use crate::app::state::{AppState, SharedState};
use chrono::{DateTime, TimeDelta, Utc};
use safegrid_domain::calendar::Limit;
use safegrid_domain::codes::RegionCode;
use safegrid_domain::dispute::{self, DisputeRecord, NewDispute, NewPetition, PetitionRecord};
use safegrid_domain::engine::{Action, Actor, Applied, Case, Command, Effect, Outcome};
use safegrid_store::StoreError;
use safegrid_store::disputes::{self as rec, SideWrite};

/// Court confirmation may be applied for within 30 日 of the agreement (人民调解法 art. 33).
pub const CONFIRMATION_WINDOW: Limit = Limit::new(30, safegrid_domain::calendar::LimitUnit::Days);
/// How long before the window closes the mediator is reminded.
pub const REMINDER_BEFORE_DAYS: i64 = 5;

/// The checked type-specific part of a new case.
pub enum TypeRecord {
    None,
    Dispute(DisputeRecord),
    Petition(PetitionRecord),
}

/// Checks the `dispute` / `petition` object of a new case against its case type.
pub fn check_new(
    case_type: &str,
    dispute: Option<&NewDispute>,
    petition: Option<&NewPetition>,
) -> AppResult<TypeRecord> {
    match (case_type, dispute, petition) {
        ("dispute", Some(_), Some(_)) => Err(AppError::invalid(
            "petition",
            "a dispute carries a dispute record, not a petition record",
        )),
        ("dispute", Some(d), None) => Ok(TypeRecord::Dispute(d.validate()?)),
        ("dispute", None, _) => Err(AppError::invalid(
            "dispute",
            "is required for a dispute: at least its parties (GB/T 31000 table 30)",
        )),
        ("petition", None, Some(p)) => Ok(TypeRecord::Petition(p.validate()?)),
        ("petition", _, None) => Err(AppError::invalid(
            "petition",
            "is required for a petition: at least its channel (letter, visit, phone, online)",
        )),
        (t, Some(_), _) => Err(AppError::invalid(
            "dispute",
            format!("only a dispute carries a dispute record, not a {t}"),
        )),
        (t, _, Some(_)) => Err(AppError::invalid(
            "petition",
            format!("only a petition carries a petition record, not a {t}"),
        )),
        _ => Ok(TypeRecord::None),
    }
}

impl TypeRecord {
    pub fn writes(&self, case: &Case, now: DateTime<Utc>) -> Vec<SideWrite> {
        match self {
            TypeRecord::None => vec![],
            TypeRecord::Dispute(d) => rec::insert_dispute(
                &case.county_code,
                case.id,
                case.region_code.as_str(),
                &case.category,
                d,
                now,
            ),
            TypeRecord::Petition(p) => vec![rec::insert_petition(
                &case.county_code,
                case.id,
                case.region_code.as_str(),
                p,
                now,
            )],
        }
    }
}

impl AppState {
    /// Adds a mediation committee (人民调解委员会) after checking its name, kind and region.
    pub async fn add_committee(
        &self,
        name: &str,
        kind: &str,
        region: &str,
        now: DateTime<Utc>,
    ) -> AppResult<rec::Committee> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(AppError::invalid(
                "name",
                "is required, at most 100 characters",
            ));
        }
        let kind = dispute::check_code(&dispute::codes().committee_kind, kind, "kind")?;
        let region = RegionCode::parse_field(region, "region")?;
        if self.region_names().get(region.as_str()).is_none() {
            return Err(AppError::invalid(
                "region",
                format!("unknown region {}", region.as_str()),
            ));
        }
        Ok(self
            .store
            .create_committee(name, &kind.code, region.as_str(), now)
            .await?)
    }

    /// Adds a mediator (调解员) to a committee, optionally linked to a mediator's account so that
    /// they see their own disputes' parties.
    pub async fn add_mediator(
        &self,
        committee: uuid::Uuid,
        name: &str,
        phone: Option<&str>,
        username: Option<&str>,
        now: DateTime<Utc>,
    ) -> AppResult<rec::Mediator> {
        let name = safegrid_domain::codes::PersonName::parse_field(name, "name")?;
        let phone = match phone.map(str::trim).filter(|p| !p.is_empty()) {
            Some(p) => Some(
                safegrid_domain::codes::Phone::parse(p)
                    .map_err(|e| AppError::invalid("phone", e.reason))?
                    .to_string(),
            ),
            None => None,
        };
        match self.store.committee(committee).await {
            Ok(_) => {}
            Err(StoreError::NotFound) => {
                return Err(AppError::invalid(
                    "committee",
                    format!("no committee with id {committee}"),
                ));
            }
            Err(e) => return Err(e.into()),
        }
        let user_id = match username.map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(u) => match self.store.user_by_name(u).await {
                Ok(acc) if acc.role == safegrid_domain::Role::Mediator => Some(acc.id),
                Ok(_) => {
                    return Err(AppError::invalid(
                        "username",
                        "must be a mediator's account",
                    ));
                }
                Err(StoreError::NotFound) => {
                    return Err(AppError::invalid("username", format!("no account {u}")));
                }
                Err(e) => return Err(e.into()),
            },
        };
        Ok(self
            .store
            .create_mediator(committee, name.as_str(), phone.as_deref(), user_id, now)
            .await?)
    }
}

/// The `safegrid mediation …` commands: set up committees and mediators without the API.
#[derive(Debug, clap::Subcommand)]
pub enum MediationCommand {
    /// Add a mediation committee (人民调解委员会); prints its id.
    AddCommittee {
        #[arg(long)]
        name: String,
        /// village, township, judicial_office or sector.
        #[arg(long)]
        kind: String,
        /// The region it serves (a region code).
        #[arg(long)]
        region: String,
    },
    /// Add a mediator to a committee; prints its id.
    AddMediator {
        #[arg(long)]
        committee: uuid::Uuid,
        #[arg(long)]
        name: String,
        #[arg(long)]
        phone: Option<String>,
        /// A mediator's login to link (they then see their disputes' parties unmasked).
        #[arg(long)]
        username: Option<String>,
    },
    /// List committees (under a region) and their mediators.
    List {
        #[arg(long)]
        region: Option<String>,
    },
}

/// Runs a `mediation` command; errors name the flag that was wrong.
pub async fn run_command(st: &SharedState, cmd: MediationCommand) -> anyhow::Result<()> {
    let flag = |e: AppError| match e.field {
        Some(f) => {
            let reason = e
                .message
                .strip_prefix(&format!("{f}: "))
                .unwrap_or(&e.message);
            anyhow::anyhow!("--{}: {reason}", f.replace('_', "-"))
        }
        None => anyhow::anyhow!("{}", e.message),
    };
    match cmd {
        MediationCommand::AddCommittee { name, kind, region } => {
            let c = st
                .add_committee(&name, &kind, &region, Utc::now())
                .await
                .map_err(flag)?;
            println!("{}", c.id);
        }
        MediationCommand::AddMediator {
            committee,
            name,
            phone,
            username,
        } => {
            let m = st
                .add_mediator(
                    committee,
                    &name,
                    phone.as_deref(),
                    username.as_deref(),
                    Utc::now(),
                )
                .await
                .map_err(flag)?;
            println!("{}", m.id);
        }
        MediationCommand::List { region } => {
            let prefix = match region.as_deref() {
                Some(r) => Some(
                    RegionCode::parse(r)
                        .map_err(|e| anyhow::anyhow!("--region: {}", e.reason))?
                        .short()
                        .to_string(),
                ),
                None => None,
            };
            let mediators = st.store.mediators(None).await?;
            for c in st.store.committees(prefix.as_deref()).await? {
                println!("{}\t{}\t{}\t{}", c.id, c.region_code, c.kind, c.name);
                for m in mediators.iter().filter(|m| m.committee_id == c.id) {
                    let linked = if m.user_id.is_some() {
                        "\t(linked account)"
                    } else {
                        ""
                    };
                    println!("  {}\t{}{linked}", m.id, m.name);
                }
            }
        }
    }
    Ok(())
}

impl AppState {
    /// The record writes the engine's effects imply for this case, after the checks that need
    /// storage (the mediator exists, is active and serves the region; the agreement exists and
    /// can still be confirmed; a duplicate's original is of the same type).
    pub async fn action_writes(
        &self,
        case: &Case,
        applied: &Applied,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> AppResult<Vec<SideWrite>> {
        let mut writes = vec![];
        for effect in &applied.effects {
            writes.extend(self.effect_writes(case, effect, actor, now).await?);
        }
        Ok(writes)
    }

    async fn effect_writes(
        &self,
        case: &Case,
        effect: &Effect,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> AppResult<Vec<SideWrite>> {
        let (county, id) = (case.county_code.as_str(), case.id);
        let w = match effect {
            Effect::AssignMediator { mediator, method } => {
                let m = match self.store.mediator(*mediator).await {
                    Ok(m) if m.active => m,
                    Ok(_) => {
                        return Err(AppError::invalid("mediator", "this mediator is inactive"));
                    }
                    Err(StoreError::NotFound) => {
                        return Err(AppError::invalid(
                            "mediator",
                            format!("no mediator with id {mediator}; see GET /api/v1/mediators"),
                        ));
                    }
                    Err(e) => return Err(e.into()),
                };
                let c = self.store.committee(m.committee_id).await?;
                let serves = RegionCode::parse(&c.region_code)
                    .is_ok_and(|r| r.is_ancestor_or_self_of(&case.region_code));
                if !serves {
                    return Err(AppError::invalid(
                        "mediator",
                        format!(
                            "the mediator's committee {} serves {}, not this dispute's region {}",
                            c.name, c.region_code, case.region_code
                        ),
                    ));
                }
                let method = match method {
                    Some(m) => m.clone(),
                    None => dispute::codes()
                        .committee_kind
                        .iter()
                        .find(|k| k.code == c.kind)
                        .and_then(|k| k.method.clone())
                        .unwrap_or_else(|| "0103".into()),
                };
                vec![rec::assign_mediator(county, id, c.id, m.id, &method)]
            }
            Effect::RecordSession(s) => {
                vec![rec::insert_session(county, id, s, &actor.username, now)]
            }
            Effect::RecordAgreement(a) => {
                let due = self.calendar().due(now, CONFIRMATION_WINDOW);
                vec![rec::insert_agreement(county, id, a, now, due)]
            }
            Effect::FollowUp { honoured } => vec![rec::follow_up(county, id, *honoured, now)],
            Effect::CourtConfirmation { court, confirmed } => {
                let Some(a) = self.store.mediation_agreement(county, id).await? else {
                    return Err(AppError::invalid("court", "this dispute has no agreement"));
                };
                if a.form != "written" {
                    return Err(AppError::invalid(
                        "court",
                        "only a written agreement can be confirmed by a court",
                    ));
                }
                if now > rec::at(a.confirmation_due_at) {
                    return Err(AppError::invalid(
                        "court",
                        format!(
                            "the 30-day window for a joint application closed at {}",
                            crate::app::time::local_time(rec::at(a.confirmation_due_at))
                        ),
                    ));
                }
                vec![rec::court_confirmation(county, id, court, *confirmed, now)]
            }
            Effect::ConfirmationReminded => vec![rec::confirmation_reminded(county, id, now)],
            Effect::Conclude { outcome, result } => {
                if *outcome == Outcome::Resolved {
                    let a = self.store.mediation_agreement(county, id).await?;
                    if a.as_ref().is_some_and(|a| a.honoured == Some(false)) {
                        return Err(AppError::invalid(
                            "action",
                            "the follow-up found the agreement not honoured; close_unresolved instead",
                        ));
                    }
                }
                let handed_on = match outcome {
                    Outcome::HandedOn {
                        destination,
                        body,
                        method,
                    } => Some((destination.as_str(), body.as_str(), method.as_str())),
                    _ => None,
                };
                vec![rec::conclude_dispute(
                    county,
                    id,
                    outcome.as_str(),
                    result.as_deref(),
                    now,
                    handed_on,
                )]
            }
            Effect::LinkDuplicate { of } => {
                // A service event's original was checked before the engine ran; a dispute or a
                // petition links only to one of its own kind, and a repeated petition counts.
                if !matches!(case.case_type.as_str(), "dispute" | "petition") {
                    return Ok(vec![]);
                }
                let original = self.store.case(*of).await?;
                if original.case_type != case.case_type {
                    return Err(AppError::invalid(
                        "of",
                        if case.case_type == "dispute" {
                            "a dispute is a duplicate of an earlier dispute"
                        } else {
                            "a repeated petition links to an earlier petition"
                        },
                    ));
                }
                if case.case_type == "petition" {
                    vec![rec::petition_repeated(&original.county_code, original.id)]
                } else {
                    vec![]
                }
            }
            Effect::Evaluate { text } => vec![rec::evaluate_dispute(county, id, text, now)],
            Effect::TakeCharge => {
                vec![rec::petition_leader(county, id, actor.id, &actor.username)]
            }
            Effect::Answer { kind, text } => {
                vec![rec::petition_answer(county, id, kind.as_str(), text, now)]
            }
        };
        Ok(w)
    }
}

/// Reminds mediators, through a history entry on the case, that the court-confirmation window
/// of an agreement closes within [`REMINDER_BEFORE_DAYS`] days. Run by the deadline job; each
/// agreement is reminded once (the mark is written with the entry).
pub async fn remind_confirmations(st: &SharedState, now: DateTime<Utc>) -> anyhow::Result<usize> {
    let horizon = now + TimeDelta::days(REMINDER_BEFORE_DAYS);
    let due = st
        .store
        .confirmations_to_remind(horizon, now, &["agreed", "following_up"])
        .await?;
    let mut n = 0;
    for (_, id) in due {
        let case = st.store.case(id).await?;
        let req = Command {
            action: Action::RemindCourtConfirmation,
            note: Some("司法确认申请期限将届满，请提醒当事人 (the 30-day window for court confirmation closes soon)".into()),
        };
        let applied = match st.apply(&case, &req, &Actor::system(), now) {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(case = %case.number_text(), error = ?e.message, "confirmation reminder not applicable");
                continue;
            }
        };
        // The reminder's mark comes with the engine's effect, in the entry's transaction.
        match st
            .commit(&case, &applied, &Actor::system(), vec![], now)
            .await
        {
            Ok(_) => n += 1,
            Err(e) if e.kind == crate::app::error::ErrorKind::Conflict => {}
            Err(e) => return Err(anyhow::anyhow!("{}", e.message)),
        }
    }
    Ok(n)
}

/// States of a case type whose clock is a party's window (no official is late there).
pub fn party_window_states(case_type: &str) -> Vec<String> {
    safegrid_domain::workflow::workflow(case_type)
        .map(|w| {
            w.states
                .iter()
                .filter(|s| s.party_window)
                .map(|s| s.name.clone())
                .collect()
        })
        .unwrap_or_default()
}

/// Terminal states of a case type.
pub fn terminal_states(case_type: &str) -> Vec<String> {
    safegrid_domain::workflow::workflow(case_type)
        .map(|w| {
            w.states
                .iter()
                .filter(|s| s.terminal)
                .map(|s| s.name.clone())
                .collect()
        })
        .unwrap_or_default()
}

/// When the window of `action` (an objection, a review request) closes for this case now, if
/// the action has one and is possible from the current state.
pub fn window_closes(case: &Case, action: &str, st: &AppState) -> Option<DateTime<Utc>> {
    let wf = safegrid_domain::workflow::workflow(&case.case_type)?;
    let t = wf.transition(&case.status, action, None)?;
    let w = t.within?;
    let start = case.stage_started_at?;
    Some(st.calendar().due(start, w))
}
