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
use safegrid_domain::engine::{ActionRequest, Actor, Applied, Case};
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
                &case.region_code,
                &case.category,
                d,
                now,
            ),
            TypeRecord::Petition(p) => vec![rec::insert_petition(
                &case.county_code,
                case.id,
                &case.region_code,
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

fn data_str<'a>(applied: &'a Applied, key: &str) -> Option<&'a str> {
    applied.event.data.get(key).and_then(|v| v.as_str())
}

impl AppState {
    /// The record writes an action implies, after the checks that need storage.
    pub async fn action_writes(
        &self,
        case: &Case,
        req: &ActionRequest,
        applied: &Applied,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> AppResult<Vec<SideWrite>> {
        let (county, id) = (case.county_code.as_str(), case.id);
        let note = applied.event.note.as_deref().unwrap_or_default();
        let result = applied.event.note.as_deref();
        let w = match (case.case_type.as_str(), applied.event.action.as_str()) {
            ("dispute", "assign") => {
                let mid = req.mediator.unwrap_or_default();
                let m = match self.store.mediator(mid).await {
                    Ok(m) if m.active => m,
                    Ok(_) => {
                        return Err(AppError::invalid("mediator", "this mediator is inactive"));
                    }
                    Err(StoreError::NotFound) => {
                        return Err(AppError::invalid(
                            "mediator",
                            format!("no mediator with id {mid}; see GET /api/v1/mediators"),
                        ));
                    }
                    Err(e) => return Err(e.into()),
                };
                let c = self.store.committee(m.committee_id).await?;
                let serves = RegionCode::parse(&c.region_code)
                    .is_ok_and(|r| case.region_code.starts_with(r.short()));
                if !serves {
                    return Err(AppError::invalid(
                        "mediator",
                        format!(
                            "the mediator's committee {} serves {}, not this dispute's region {}",
                            c.name, c.region_code, case.region_code
                        ),
                    ));
                }
                let method = match data_str(applied, "method") {
                    Some(m) => m.to_string(),
                    None => dispute::codes()
                        .committee_kind
                        .iter()
                        .find(|k| k.code == c.kind)
                        .and_then(|k| k.method.clone())
                        .unwrap_or_else(|| "0103".into()),
                };
                vec![rec::assign_mediator(county, id, c.id, m.id, &method)]
            }
            ("dispute", "record_session") => {
                let today = safegrid_domain::calendar::to_local(now).date_naive();
                let s = req.session.clone().unwrap_or_default().validate(today)?;
                vec![rec::insert_session(county, id, &s, &actor.username, now)]
            }
            ("dispute", "reach_agreement") => {
                let a = req.agreement.clone().unwrap_or_default().validate()?;
                let due = self.calendar().due(now, CONFIRMATION_WINDOW);
                vec![rec::insert_agreement(county, id, &a, now, due)]
            }
            ("dispute", "follow_up") => {
                vec![rec::follow_up(
                    county,
                    id,
                    req.honoured.unwrap_or(false),
                    now,
                )]
            }
            ("dispute", "record_court_confirmation") => {
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
                vec![rec::court_confirmation(
                    county,
                    id,
                    data_str(applied, "court").unwrap_or_default(),
                    req.confirmed.unwrap_or(false),
                    now,
                )]
            }
            ("dispute", "remind_court_confirmation") => {
                vec![rec::confirmation_reminded(county, id, now)]
            }
            ("dispute", "close_resolved") => {
                let a = self.store.mediation_agreement(county, id).await?;
                if a.as_ref().is_some_and(|a| a.honoured == Some(false)) {
                    return Err(AppError::invalid(
                        "action",
                        "the follow-up found the agreement not honoured; close_unresolved instead",
                    ));
                }
                vec![rec::conclude_dispute(
                    county, id, "resolved", result, now, None,
                )]
            }
            ("dispute", "close_unresolved" | "fail_mediation") => {
                vec![rec::conclude_dispute(
                    county,
                    id,
                    "unresolved",
                    result,
                    now,
                    None,
                )]
            }
            ("dispute", "refuse_mediation") => {
                vec![rec::conclude_dispute(
                    county,
                    id,
                    "not_mediated",
                    result,
                    now,
                    None,
                )]
            }
            ("dispute", "hand_on") => vec![rec::conclude_dispute(
                county,
                id,
                "handed_on",
                result,
                now,
                Some((
                    data_str(applied, "destination").unwrap_or_default(),
                    data_str(applied, "destination_body").unwrap_or_default(),
                    data_str(applied, "method").unwrap_or_default(),
                )),
            )],
            ("dispute", "link_duplicate") => {
                let original = self.store.case(req.of.unwrap_or_default()).await?;
                if original.case_type != "dispute" {
                    return Err(AppError::invalid(
                        "of",
                        "a dispute is a duplicate of an earlier dispute",
                    ));
                }
                vec![]
            }
            ("petition", "link_duplicate") => {
                let of = req.of.unwrap_or_default();
                let original = self.store.case(of).await?;
                if original.case_type != "petition" {
                    return Err(AppError::invalid(
                        "of",
                        "a repeated petition links to an earlier petition",
                    ));
                }
                vec![rec::petition_repeated(&original.county_code, original.id)]
            }
            ("dispute", "evaluate") => vec![rec::evaluate_dispute(county, id, note, now)],
            ("petition", "take_charge") => {
                vec![rec::petition_leader(county, id, actor.id, &actor.username)]
            }
            ("petition", "reply") => vec![rec::petition_answer(county, id, "reply", note, now)],
            ("petition", "answer_review") => {
                vec![rec::petition_answer(county, id, "review_answer", note, now)]
            }
            ("petition", "answer_re_review") => {
                vec![rec::petition_answer(
                    county,
                    id,
                    "re_review_answer",
                    note,
                    now,
                )]
            }
            _ => vec![],
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
        let req = ActionRequest {
            action: "remind_court_confirmation".into(),
            note: Some("司法确认申请期限将届满，请提醒当事人 (the 30-day window for court confirmation closes soon)".into()),
            ..Default::default()
        };
        let applied = match st.apply(&case, &req, &Actor::system(), now) {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(case = %case.number, error = ?e.message, "confirmation reminder not applicable");
                continue;
            }
        };
        let writes = vec![rec::confirmation_reminded(&case.county_code, case.id, now)];
        match st
            .commit(&case, &req, &applied, &Actor::system(), writes, now)
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
