//! Demo disputes and petitions: one people's mediation committee per county with two mediators
//! (demo-mediator is 吴兴区's first), then a modest number of disputes and petitions reported
//! over the past months and moved through the live service (`create_case` / `act` with the
//! time of each step), so their records, agreements, clocks and counters are exactly what live
//! use produces. Outcomes follow Huzhou's figures: most mediations succeed.

use crate::app::state::SharedState;
use chrono::{DateTime, Duration, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use safegrid_domain::Role;
use safegrid_domain::calendar::{Limit, LimitUnit};
use safegrid_domain::catalog::{Catalog, Texts};
use safegrid_domain::dispute::{AgreementInput, SessionInput};
use safegrid_domain::engine::{Action, Actor, Case, Command};
use safegrid_geo::geo::InteriorPoint;
use serde_json::json;
use uuid::Uuid;

const COUNTIES: [&str; 5] = ["330502", "330503", "330521", "330522", "330523"];
const SURNAMES: [&str; 12] = [
    "王", "李", "张", "刘", "陈", "杨", "沈", "吴", "钱", "姚", "费", "闵",
];
const GIVEN: [&str; 12] = [
    "建国", "秀英", "国平", "小芳", "志强", "丽华", "海军", "桂芳", "明", "伟", "静", "勇",
];

fn name(rng: &mut ChaCha8Rng) -> String {
    format!(
        "{}{}",
        SURNAMES[rng.random_range(0..SURNAMES.len())],
        GIVEN[rng.random_range(0..GIVEN.len())]
    )
}

fn phone(rng: &mut ChaCha8Rng) -> String {
    format!("13{:09}", rng.random_range(0..1_000_000_000u64))
}

fn step(action: Action) -> Command {
    Command::new(action)
}

/// The demo's notes are its own fixed texts, short and clean: no need to check them.
fn noted(action: Action, note: &str) -> Command {
    Command {
        action,
        note: Some(note.into()),
    }
}

/// A point inside a random grid of the county.
async fn point(
    st: &SharedState,
    county: &str,
    rng: &mut ChaCha8Rng,
) -> anyhow::Result<Option<(f64, f64)>> {
    let grids = st
        .store
        .grids(Some(&format!("{county}%")), 1, rng.random_range(0..400))
        .await?;
    let Some(g) = grids.first() else {
        return Ok(None);
    };
    let v: serde_json::Value = serde_json::from_str(&g.geometry)?;
    let mp = safegrid_geo::from_geojson_value(&v)?;
    Ok(mp.interior_point().map(|p| (p.y(), p.x())))
}

struct Flow<'a> {
    st: &'a SharedState,
    case: Case,
    t: DateTime<Utc>,
    now: DateTime<Utc>,
}

impl Flow<'_> {
    /// Fires `req` `hours` after the previous step (moved into office hours: staff act at work),
    /// unless that is still in the future.
    async fn act(&mut self, hours: i64, req: Command, actor: &Actor) -> bool {
        let at = self.st.calendar().add_clock_minutes(
            self.t + Duration::hours(hours),
            1,
            safegrid_domain::calendar::LimitUnit::WorkingHours,
        );
        if at >= self.now {
            return false;
        }
        match self.st.act(&self.case, &req, actor, None, at).await {
            Ok(c) => {
                self.case = c;
                self.t = at;
                true
            }
            Err(e) => {
                tracing::debug!(error = %e.message, action = req.action.name(), "demo step skipped");
                false
            }
        }
    }
}

/// Builds committees and mediators, then the disputes and petitions; returns how many cases.
pub async fn generate(st: &SharedState, seed: u64, cases: usize) -> anyhow::Result<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_d15b);
    let now = Utc::now();
    let names = st.region_names();
    let demo_mediator = st.store.user_by_name("demo-mediator").await?;
    let dispatcher = st.store.user_by_name("demo-dispatcher").await?;
    let leader = st.store.user_by_name("demo-leader").await?.actor();
    let mut mediators: Vec<(String, Uuid)> = vec![];
    for county in COUNTIES {
        let code = format!("{county}000000");
        let county_name = names
            .get(&code)
            .cloned()
            .unwrap_or_else(|| county.to_string());
        let c = st
            .store
            .create_committee(
                &format!("{county_name}人民调解委员会"),
                "township",
                &code,
                now,
            )
            .await?;
        for n in 0..2 {
            let user = (county == "330502" && n == 0).then_some(demo_mediator.id);
            let m = st
                .store
                .create_mediator(c.id, &name(&mut rng), Some(&phone(&mut rng)), user, now)
                .await?;
            mediators.push((county.to_string(), m.id));
        }
    }
    let catalog = Catalog::builtin();
    let texts = Texts::builtin();
    let dispute_cats: Vec<String> = catalog
        .categories
        .iter()
        .filter(|c| c.case_type.as_str() == "dispute")
        .map(|c| c.code.clone())
        .collect();
    let petition_cats: Vec<String> = catalog
        .categories
        .iter()
        .filter(|c| c.case_type.as_str() == "petition")
        .map(|c| c.code.clone())
        .collect();
    let n_disputes = (cases / 500).clamp(6, 100);
    let n_petitions = (n_disputes / 2).max(3);
    let mediator_actor = demo_mediator.actor();
    let dispatcher_actor = dispatcher.actor();
    let mut made = 0;
    for i in 0..n_disputes {
        let county = COUNTIES[i % COUNTIES.len()];
        let Some((lat, lon)) = point(st, county, &mut rng).await? else {
            continue;
        };
        let cat = dispute_cats[rng.random_range(0..dispute_cats.len())].clone();
        let mut pick = |n: usize| rng.random_range(0..n.max(1));
        let description = texts.describe(&cat, &mut pick);
        let (a, b) = (name(&mut rng), name(&mut rng));
        let start = now
            - Duration::days(rng.random_range(3..330))
            - Duration::minutes(rng.random_range(0..600));
        let input = crate::app::service::CreateCase {
            category: cat,
            description,
            lat: Some(lat),
            lon: Some(lon),
            case_type: Some("dispute".into()),
            dispute: Some(serde_json::from_value(json!({
                "found_by": if rng.random_bool(0.3) { "screening" } else { "report" },
                "parties": [
                    {"role": "applicant", "name": a, "phone": phone(&mut rng)},
                    {"role": "respondent", "name": b, "phone": phone(&mut rng)}
                ]
            }))?),
            ..Default::default()
        };
        let case = st
            .create_case(input, Some(&dispatcher), start)
            .await
            .map_err(|e| anyhow::anyhow!("demo case: {}: {}", e.code, e.message))?;
        made += 1;
        let mediator = mediators
            .iter()
            .filter(|(c, _)| c == county)
            .nth(if county == "330502" {
                0
            } else {
                rng.random_range(0..2)
            })
            .map(|m| m.1)
            .unwrap_or(mediators[0].1);
        let mut f = Flow {
            st,
            case,
            t: start,
            now,
        };
        let m = &mediator_actor;
        if !f.act(3, step(Action::Accept), m).await {
            continue;
        }
        let assign = step(Action::Assign {
            mediator,
            method: None,
        });
        if !f.act(4, assign, m).await {
            continue;
        }
        let roll = rng.random_range(0..100);
        if roll < 2 {
            f.act(
                20,
                noted(
                    Action::RefuseMediation,
                    "被申请人拒绝调解，告知其他救济途径。",
                ),
                m,
            )
            .await;
            continue;
        }
        let held = safegrid_domain::calendar::to_local(f.t + Duration::hours(24)).date_naive();
        let session = step(Action::RecordSession(SessionInput {
            held_on: held.to_string(),
            place: "调解室".into(),
            attendees: vec![a.clone(), b.clone()],
            notes: Some("听取双方陈述，释法明理。".into()),
        }));
        if !f.act(26, session, m).await {
            continue;
        }
        if roll < 4 {
            let county_name = names
                .get(&format!("{county}000000"))
                .cloned()
                .unwrap_or_default();
            let (dest, body) = if rng.random_bool(0.5) {
                (
                    "arbitration",
                    format!("{county_name}劳动人事争议仲裁委员会"),
                )
            } else {
                ("litigation", format!("{county_name}人民法院"))
            };
            let h = noted(
                Action::HandOn {
                    destination: dest.into(),
                    body,
                    method: safegrid_domain::dispute::hand_on_method(dest, None)?,
                },
                "调解不成，引导当事人依法申请仲裁或诉讼。",
            );
            f.act(48, h, m).await;
            continue;
        }
        let written = rng.random_bool(0.7);
        let agree = step(Action::ReachAgreement(
            AgreementInput {
                form: if written { "written" } else { "oral" }.into(),
                content: format!(
                    "经调解，{a}与{b}自愿达成协议：双方互谅互让，按约定方式解决纠纷。"
                ),
                obligations: Some("协议签订后十日内履行完毕。".into()),
                perform_by: None,
            }
            .validate()?,
        ));
        if !f.act(30, agree, m).await {
            continue;
        }
        if written && rng.random_bool(0.3) {
            let c = step(Action::RecordCourtConfirmation {
                court: format!(
                    "{}人民法院",
                    names
                        .get(&format!("{county}000000"))
                        .cloned()
                        .unwrap_or_default()
                ),
                confirmed: true,
            });
            f.act(24 * 7, c, m).await;
        }
        let fu = noted(
            Action::FollowUp {
                honoured: roll >= 5,
            },
            "回访：协议已履行。",
        );
        if !f.act(24 * 10, fu, m).await {
            continue;
        }
        if roll >= 5 {
            f.act(24, step(Action::CloseResolved), m).await;
        } else {
            f.act(
                24,
                noted(
                    Action::CloseUnresolved,
                    "协议未履行，告知当事人可申请强制执行。",
                ),
                m,
            )
            .await;
        }
    }

    let mut earlier: Vec<Uuid> = vec![];
    for i in 0..n_petitions {
        let county = COUNTIES[i % COUNTIES.len()];
        let Some((lat, lon)) = point(st, county, &mut rng).await? else {
            continue;
        };
        let cat = petition_cats[rng.random_range(0..petition_cats.len())].clone();
        let mut pick = |n: usize| rng.random_range(0..n.max(1));
        let description = texts.describe(&cat, &mut pick);
        let channel = ["letter", "visit", "phone", "online"][rng.random_range(0..4)];
        let start = now
            - Duration::days(rng.random_range(2..300))
            - Duration::minutes(rng.random_range(0..600));
        let input = crate::app::service::CreateCase {
            category: cat.clone(),
            description,
            lat: Some(lat),
            lon: Some(lon),
            case_type: Some("petition".into()),
            petition: Some(serde_json::from_value(json!({ "channel": channel }))?),
            ..Default::default()
        };
        let case = st
            .create_case(input, Some(&dispatcher), start)
            .await
            .map_err(|e| anyhow::anyhow!("demo case: {}: {}", e.code, e.message))?;
        made += 1;
        let d = &dispatcher_actor;
        let dept_kind = catalog
            .category(&cat)
            .map(|c| c.department.clone())
            .unwrap_or_else(|| "jd".into());
        let handler = Actor {
            id: None,
            username: format!("demo-{county}-{dept_kind}"),
            role: Role::Handler,
            department: Some(format!("{county}-{dept_kind}")),
            grids: vec![],
            regions: vec![],
        };
        let mut f = Flow {
            st,
            case,
            t: start,
            now,
        };
        let roll = rng.random_range(0..100);
        if roll < 8 && !earlier.is_empty() {
            let l = noted(
                Action::LinkDuplicate {
                    of: earlier[rng.random_range(0..earlier.len())],
                },
                "同一事项重复信访，已告知办理进展。",
            );
            f.act(24, l, d).await;
            continue;
        }
        earlier.push(f.case.id);
        if roll < 16 {
            f.act(
                24 * 5,
                noted(
                    Action::NotAccept,
                    "不属本级受理范围，已告知向有权机关提出。",
                ),
                d,
            )
            .await;
            continue;
        }
        let department = format!("{county}-{dept_kind}");
        if roll < 40 {
            let fwd = step(Action::Forward { department });
            if !f.act(24 * 3, fwd, d).await
                || !f.act(24 * 4, step(Action::Acknowledge), &handler).await
            {
                continue;
            }
        } else {
            let disp = step(Action::Dispatch { department });
            if !f.act(24 * 2, step(Action::Accept), d).await || !f.act(24, disp, d).await {
                continue;
            }
        }
        if roll % 7 == 0 {
            let ext = noted(
                Action::RequestExtension {
                    extend_by: Some(Limit::new(30, LimitUnit::Days)),
                },
                "情况复杂，需延长办理期限。",
            );
            if f.act(24 * 40, ext, &handler).await {
                f.act(24 * 2, step(Action::ApproveExtension), &leader).await;
            }
        }
        let reply_after = 24 * rng.random_range(10..50);
        if !f
            .act(
                reply_after,
                noted(Action::Reply, "经调查核实，已依法依规处理，现予书面答复。"),
                &handler,
            )
            .await
        {
            continue;
        }
        if roll % 5 == 0 {
            if f.act(
                24 * 10,
                noted(Action::RequestReview, "信访人对答复意见不服，请求复查。"),
                d,
            )
            .await
            {
                f.act(
                    24 * 20,
                    noted(Action::AnswerReview, "复查意见：维持原处理意见。"),
                    &handler,
                )
                .await;
            }
            continue;
        }
        f.act(24 * 31, step(Action::Conclude), d).await;
    }
    Ok(made)
}
