//! A year of demo cases, generated through the real engine (same states, clocks and counters as
//! live cases) with a realistic mix of outcomes: on time, overdue (with automatic supervision),
//! returned and re-dispatched, reworked, extended, suspended, rejected, duplicates, voided, rated.
//! Cases reported recently stop wherever "now" finds them, so the queues have live work.

use super::DemoOptions;
use crate::app::service::{counted_nodes, draw_tracking_bits, spell_tracking_code};
use crate::app::state::SharedState;
use chrono::{DateTime, Duration, TimeZone, Utc};
use indicatif::ProgressBar;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use safegrid_domain::Role;
use safegrid_domain::catalog::{Catalog, CategoryKind, Urgency};
use safegrid_domain::catalog::{NoteKind, Texts};
use safegrid_domain::codes::{CaseNumber, GridCode, PersonName, Phone, RegionCode};
use safegrid_domain::engine::{
    self, Action, Actor, Applied, Case, Command, Context, Event, Level, NewCase,
};
use safegrid_domain::kpi::Counters;
use safegrid_geo::geo::{BoundingRect, Contains, MultiPolygon, Point};
use safegrid_store::{Grid, case_day};
use std::collections::{HashMap, HashSet};
use std::io::IsTerminal;
use uuid::Uuid;

struct Sim<'a> {
    ctx_cal: &'a safegrid_domain::calendar::WorkCalendar,
    limits: &'a dyn safegrid_domain::engine::Limits,
    counters: HashMap<(String, String, i32), Counters>,
    events: Vec<Event>,
    case: Case,
    now: DateTime<Utc>,
}

impl Sim<'_> {
    /// Keeps one applied step as `Service::commit` would store it — the case, its history entry,
    /// the counters of `counted_nodes` — for the batch insert (`store_batch`). Service events'
    /// effects write no records of their own (a duplicate's original is checked before the
    /// engine runs); disputes and petitions, which have records, are generated through
    /// `Service::act` (`demo::disputes`). Batching is what keeps the demo's build at seconds:
    /// a year of cases is some 300,000 steps.
    fn record(&mut self, a: Applied) {
        debug_assert!(
            a.effects
                .iter()
                .all(|e| matches!(e, safegrid_domain::engine::Effect::LinkDuplicate { .. })),
            "the bulk simulation stores no effect records: {:?}",
            a.effects
        );
        let nodes = counted_nodes(&self.case, &a);
        let day = case_day(a.case.created_at);
        for n in nodes {
            self.counters
                .entry((a.case.county_code.clone(), n, day))
                .or_default()
                .add(&a.counters);
        }
        self.events.push(a.event);
        self.case = a.case;
    }

    /// Lets the deadline watch fire at the moments the yellow and red marks were passed before `t`.
    fn watch_until(&mut self, t: DateTime<Utc>) {
        for _ in 0..2 {
            let mark = match self.case.light {
                safegrid_domain::calendar::Light::Green => self.case.stage_yellow_at,
                safegrid_domain::calendar::Light::Yellow => self.case.stage_due_at,
                safegrid_domain::calendar::Light::Red => None,
            };
            let Some(m) = mark else { return };
            let at = m + Duration::minutes(1);
            if at >= t || at >= self.now {
                return;
            }
            match engine::watch(&self.case, at) {
                Some(a) => self.record(a),
                None => return,
            }
        }
    }

    /// Fires `req` at `t` unless `t` is still in the future (then the case stays where it is).
    fn act(&mut self, t: DateTime<Utc>, req: Command, actor: &Actor) -> bool {
        if t >= self.now {
            return false;
        }
        self.watch_until(t);
        let ctx = Context {
            calendar: self.ctx_cal,
            limits: self.limits,
            now: t,
        };
        match engine::apply(&self.case, &req, actor, &ctx) {
            Ok(a) => {
                self.record(a);
                true
            }
            Err(e) => {
                tracing::debug!(error = %e, action = req.action.name(), "demo step skipped");
                false
            }
        }
    }

    /// A moment `frac` of the way through the current stage's limit (beyond 1.0 = overdue).
    fn within_stage(&self, t: DateTime<Utc>, frac: f64) -> DateTime<Utc> {
        let due = self.case.stage_due_at.unwrap_or(t + Duration::hours(8));
        let start = self
            .case
            .stage_started_at
            .unwrap_or(t)
            .max(t - Duration::days(400));
        let span = (due - start).num_seconds().max(600) as f64;
        (t.max(start) + Duration::seconds((span * frac) as i64)).max(t + Duration::minutes(3))
    }
}

fn req(action: Action) -> Command {
    Command::new(action)
}

/// The demo's notes are its own fixed texts, short and clean: no need to check them.
fn with_note(action: Action, note: String) -> Command {
    Command {
        action,
        note: Some(note),
    }
}

fn random_point(g: &MultiPolygon<f64>, rng: &mut impl Rng) -> Option<(f64, f64)> {
    let bb = g.bounding_rect()?;
    for _ in 0..50 {
        let x = rng.random_range(bb.min().x..=bb.max().x);
        let y = rng.random_range(bb.min().y..=bb.max().y);
        if g.contains(&Point::new(x, y)) {
            return Some((x, y));
        }
    }
    None
}

const SURNAMES: &[&str] = &[
    "张", "王", "李", "赵", "陈", "刘", "杨", "黄", "周", "吴", "徐", "孙", "沈", "钱", "朱", "姚",
];

/// Generates and stores the demo's cases; returns (cases, events).
pub async fn generate(
    st: &SharedState,
    opts: &DemoOptions,
    catalog: &Catalog,
    grids: &[Grid],
    root: &str,
) -> anyhow::Result<(usize, usize)> {
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed.wrapping_mul(31).wrapping_add(7));
    let cal = st.calendar();
    let limits = st.limits();
    let texts = Texts::builtin();
    let now = Utc::now();
    let start = now - Duration::days(365);
    let users = st.store.users().await?;
    let id_of = |n: &str| users.iter().find(|u| u.username == n).map(|u| u.id);
    let dispatcher = Actor {
        id: id_of("demo-dispatcher"),
        username: "demo-dispatcher".into(),
        role: Role::Dispatcher,
        department: None,
        grids: vec![],
        regions: vec![root.to_string()],
    };
    let leader = Actor {
        id: id_of("demo-leader"),
        username: "demo-leader".into(),
        role: Role::Leader,
        department: None,
        grids: vec![],
        regions: vec![root.to_string()],
    };
    let gw_id = id_of("demo-gridworker");
    let gw_grid = users
        .iter()
        .find(|u| u.username == "demo-gridworker")
        .and_then(|u| u.grids.first().cloned());
    let handler_id = id_of("demo-handler");

    // Categories weighted as they come in: street events most, then components, opinions least.
    let cats: Vec<(&safegrid_domain::catalog::Category, f64)> = catalog
        .categories
        .iter()
        .filter(|c| c.case_type.as_str() == "service_event")
        .map(|c| {
            let w = match c.kind {
                CategoryKind::Event => 3.0,
                CategoryKind::Component => 2.0,
                _ => 0.8,
            };
            (c, w * rng.random_range(0.3..1.7))
        })
        .collect();
    let cat_total: f64 = cats.iter().map(|c| c.1).sum();
    let parsed: Vec<MultiPolygon<f64>> = grids
        .iter()
        .map(|g| {
            serde_json::from_str::<serde_json::Value>(&g.geometry)
                .ok()
                .and_then(|v| safegrid_geo::from_geojson_value(&v).ok())
                .unwrap_or_else(|| MultiPolygon::new(vec![]))
        })
        .collect();

    // Report times, sorted so that numbers follow the order of reporting within a day.
    let mut times: Vec<DateTime<Utc>> = (0..opts.cases)
        .map(|_| {
            let day = rng.random_range(0..365i64);
            // Most reports come in daytime (Shanghai 07:00–21:00).
            let minute = if rng.random_bool(0.85) {
                rng.random_range(7 * 60..21 * 60)
            } else {
                rng.random_range(0..24 * 60)
            };
            start
                .date_naive()
                .and_hms_opt(0, 0, 0)
                .map(|d| Utc.from_utc_datetime(&d))
                .unwrap_or(start)
                + Duration::days(day)
                + Duration::minutes(minute - 8 * 60)
        })
        .filter(|t| *t < now)
        .collect();
    times.sort();

    let pb = if opts.quiet {
        ProgressBar::hidden()
    } else {
        super::bar(false, times.len() as u64, "cases")
    };
    let mut seqs: HashMap<(String, String), i64> = HashMap::new();
    // Codes as their 50 bits: 8 bytes each, where 10,000,000 strings would take ~700 MB.
    let mut codes: HashSet<u64> = HashSet::with_capacity(times.len());
    let mut out: Vec<(Case, Vec<Event>)> = Vec::with_capacity(FLUSH_EVERY);
    let mut stored = 0usize;
    let mut counters: HashMap<(String, String, i32), Counters> = HashMap::new();
    let mut recent_by_grid: HashMap<String, Uuid> = HashMap::new();
    let mut events_total = 0usize;
    let mut storing: Option<tokio::task::JoinHandle<anyhow::Result<usize>>> = None;
    // Batches go through one connection of their own, whose page cache stays warm from one
    // batch to the next (`Store::bulk_loader`).
    let bulk = safegrid_store::Store::bulk_loader(&st.settings.store_url()).await?;
    let loader = bulk.clone().unwrap_or_else(|| st.store.clone());
    let pick = |rng: &mut ChaCha8Rng, n: usize| rng.random_range(0..n.max(1));

    for t0 in times {
        // Category and place.
        let mut x = rng.random_range(0.0..cat_total);
        let cat = cats
            .iter()
            .find(|c| {
                x -= c.1;
                x <= 0.0
            })
            .map(|c| c.0)
            .unwrap_or(cats[0].0);
        let gi = rng.random_range(0..grids.len());
        let grid = &grids[gi];
        let Some((lon, lat)) = random_point(&parsed[gi], &mut rng) else {
            continue;
        };
        let channel = *[
            ("grid_worker", 55),
            ("hotline", 22),
            ("web", 10),
            ("app", 6),
            ("wechat", 4),
            ("open311", 3),
        ]
        .iter()
        .scan(rng.random_range(0..100), |r, (c, w)| {
            let hit = *r < *w;
            *r -= w;
            Some((c, hit))
        })
        .find(|(_, hit)| *hit)
        .map(|(c, _)| c)
        .unwrap_or(&"web");
        let urgency = match rng.random_range(0..100) {
            0..=84 => Urgency::Normal,
            85..=97 => Urgency::Urgent,
            _ => Urgency::Emergency,
        };
        let reporter = if channel == "grid_worker" || rng.random_bool(0.3) {
            (None, None)
        } else {
            let s = SURNAMES[pick(&mut rng, SURNAMES.len())];
            let name = format!(
                "{s}{}",
                if rng.random_bool(0.5) {
                    "先生"
                } else {
                    "女士"
                }
            );
            let phone = format!(
                "1{}{:09}",
                [3, 5, 7, 8, 9][pick(&mut rng, 5)],
                rng.random_range(0..1_000_000_000u64)
            );
            // Both are well formed by construction; parsing keeps the stored form canonical.
            (PersonName::parse(&name).ok(), Phone::parse(&phone).ok())
        };
        let county = grid.county_code.clone();
        let local_day = (t0 + Duration::hours(8)).date_naive();
        let seq = seqs
            .entry((county.clone(), local_day.format("%Y%m%d").to_string()))
            .or_insert(0);
        *seq += 1;
        let number = Some(
            CaseNumber::new(&county, local_day, *seq as u32).map_err(|e| anyhow::anyhow!("{e}"))?,
        );
        let mut pick_fn = |n: usize| rng.random_range(0..n.max(1));
        let description = texts.describe(&cat.code, &mut pick_fn);
        let new = NewCase {
            id: Uuid::now_v7(),
            county_code: county.clone(),
            number,
            // Unique, as the store requires: a code drawn twice (about 4 % of 10,000,000-case
            // runs draw one) is drawn again.
            tracking_code: loop {
                let bits = draw_tracking_bits(&mut rng);
                if codes.insert(bits) {
                    break spell_tracking_code(bits);
                }
            },
            case_type: "service_event".into(),
            category: cat.code.clone(),
            urgency,
            channel: channel.to_string(),
            description,
            address: None,
            lat: Some((lat * 1e6).round() / 1e6),
            lon: Some((lon * 1e6).round() / 1e6),
            grid_code: Some(GridCode::parse(&grid.code)?),
            region_code: RegionCode::parse(&grid.village_code)?,
            needs_grid: false,
            needs_location: false,
            reporter_name: reporter.0,
            reporter_phone: reporter.1,
            reporter_user: None,
            reporter_anonymous: false,
        };
        let gw_actor = Actor {
            id: if gw_grid.as_deref() == Some(grid.code.as_str()) {
                gw_id
            } else {
                None
            },
            username: format!("网格员-{}", &grid.code[9..]),
            role: Role::GridWorker,
            department: None,
            grids: vec![grid.code.clone()],
            regions: vec![],
        };
        let ctx = Context {
            calendar: &cal,
            limits: limits.as_ref(),
            now: t0,
        };
        let created = engine::create(
            new,
            if channel == "grid_worker" {
                Some(&gw_actor)
            } else {
                None
            },
            &ctx,
        )?;
        let mut sim = Sim {
            ctx_cal: &cal,
            limits: limits.as_ref(),
            counters: std::mem::take(&mut counters),
            events: vec![],
            case: created.case.clone(),
            now,
        };
        sim.record(created);
        simulate(
            &mut sim,
            &mut rng,
            &texts,
            &dispatcher,
            &leader,
            &gw_actor,
            handler_id,
            &recent_by_grid,
            cat.department.as_str(),
        );
        sim.watch_until(now);
        recent_by_grid.insert(format!("{}{}", grid.code, cat.code), sim.case.id);
        counters = std::mem::take(&mut sim.counters);
        events_total += sim.events.len();
        out.push((sim.case, sim.events));
        pb.inc(1);
        if out.len() >= FLUSH_EVERY {
            // The engine's simulation and the database's writing each keep a core busy: the
            // previous batch is stored while this one is generated (one batch in flight, so
            // batches still commit in order and memory holds two at most).
            if let Some(previous) = storing.take() {
                stored += previous.await??;
                // The bar draws only on a terminal; logs of long runs still get a line now and then.
                if !opts.quiet
                    && !std::io::stderr().is_terminal()
                    && stored.is_multiple_of(10 * FLUSH_EVERY)
                {
                    eprintln!("  {stored} of {} cases stored", pb.length().unwrap_or(0));
                }
            }
            let batch = std::mem::replace(&mut out, Vec::with_capacity(FLUSH_EVERY));
            let batch_counters = std::mem::take(&mut counters);
            let store = loader.clone();
            storing = Some(tokio::spawn(async move {
                store_batch(&store, &batch, batch_counters, &[]).await
            }));
        }
    }
    if let Some(previous) = storing.take() {
        stored += previous.await??;
    }
    pb.finish_and_clear();
    let seq_rows: Vec<(String, String, i64)> =
        seqs.into_iter().map(|((c, d), s)| (c, d, s)).collect();
    let pb = if opts.quiet {
        ProgressBar::new_spinner().with_message("")
    } else {
        ProgressBar::new_spinner().with_message("saving cases…")
    };
    if opts.quiet {
        pb.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    pb.enable_steady_tick(std::time::Duration::from_millis(200));
    stored += store_batch(&loader, &out, std::mem::take(&mut counters), &seq_rows).await?;
    if let Some(b) = bulk {
        b.close().await;
    }
    pb.finish_and_clear();
    Ok((stored, events_total))
}

/// Cases are stored this many at a time, so a province's millions never sit in memory at once.
const FLUSH_EVERY: usize = 20_000;

/// Stores a batch of generated cases with the counters they added (one transaction per batch;
/// counter rows are upserts that add, so batches may touch the same row).
async fn store_batch(
    store: &safegrid_store::Store,
    cases: &[(Case, Vec<Event>)],
    counters: HashMap<(String, String, i32), Counters>,
    seq_rows: &[(String, String, i64)],
) -> anyhow::Result<usize> {
    let counter_rows: Vec<(String, String, i32, Counters)> = counters
        .into_iter()
        .map(|((c, n, d), k)| (c, n, d, k))
        .collect();
    store.bulk_insert(cases, &counter_rows, seq_rows).await?;
    Ok(cases.len())
}

#[allow(clippy::too_many_arguments)]
fn simulate(
    sim: &mut Sim,
    rng: &mut ChaCha8Rng,
    texts: &Texts,
    dispatcher: &Actor,
    leader: &Actor,
    gw: &Actor,
    handler_id: Option<Uuid>,
    recent: &HashMap<String, Uuid>,
    dept_kind: &str,
) {
    let note = |kind: NoteKind, rng: &mut ChaCha8Rng| {
        let mut p = |n: usize| rng.random_range(0..n.max(1));
        texts.note(kind, &mut p).to_string()
    };
    let c0 = sim.case.created_at;
    let r: f64 = rng.random();
    // Intake: rejected, duplicate, self-handled, or registered.
    let t = sim.within_stage(c0, rng.random_range(0.05..0.7));
    if r < 0.04 {
        let n = note(NoteKind::Rejected, rng);
        sim.act(t, with_note(Action::Reject, n), dispatcher);
        return;
    }
    if r < 0.055 {
        let key = format!(
            "{}{}",
            sim.case
                .grid_code
                .map(|g| g.as_str().to_string())
                .unwrap_or_default(),
            sim.case.category
        );
        if let Some(of) = recent.get(&key) {
            let rq = with_note(
                Action::LinkDuplicate { of: *of },
                "同一事项已有在办案件，告知进展。".into(),
            );
            sim.act(t, rq, dispatcher);
            return;
        }
    }
    if r < 0.10 && sim.case.channel == "grid_worker" {
        let n = note(NoteKind::Handled, rng);
        if !sim.act(t, with_note(Action::SelfHandle, n), gw) {
            return;
        }
        let t = sim.within_stage(t, rng.random_range(0.1..0.9));
        if !sim.act(t, req(Action::Verify { passed: true }), gw) {
            return;
        }
        let t = sim.within_stage(t, rng.random_range(0.1..0.8));
        sim.act(t, req(Action::Close), dispatcher);
        return;
    }
    let late = |rng: &mut ChaCha8Rng, p: f64| {
        if rng.random_bool(p) {
            rng.random_range(1.05..2.5)
        } else {
            rng.random_range(0.05..0.85)
        }
    };
    let f = late(rng, 0.03);
    let t = sim.within_stage(c0, f);
    if !sim.act(t, req(Action::Register), dispatcher) {
        return;
    }
    if rng.random_bool(0.004) {
        let t = sim.within_stage(t, 0.3);
        sim.act(
            t,
            with_note(Action::Void, "经核实为误报，申请作废。".into()),
            leader,
        );
        return;
    }
    let dept = format!("{}-{}", sim.case.county_code, dept_kind);
    let handler = |d: &str| Actor {
        id: if d == "330502-cgj" { handler_id } else { None },
        username: format!("处置员-{d}"),
        role: Role::Handler,
        department: Some(d.to_string()),
        grids: vec![],
        regions: vec![],
    };
    let mut t = sim.within_stage(t, late(rng, 0.03));
    // Returned and re-dispatched: first sent to the wrong department.
    if rng.random_bool(0.07) {
        let wrong = format!(
            "{}-{}",
            sim.case.county_code,
            if dept_kind == "jd" { "cgj" } else { "jd" }
        );
        let d = req(Action::Dispatch {
            department: wrong.clone(),
        });
        if !sim.act(t, d, dispatcher) {
            return;
        }
        t = sim.within_stage(t, rng.random_range(0.02..0.2));
        let n = note(NoteKind::Returned, rng);
        if !sim.act(t, with_note(Action::Return, n), &handler(&wrong)) {
            return;
        }
        t = sim.within_stage(t, rng.random_range(0.1..0.6));
    }
    let d = req(Action::Dispatch {
        department: dept.clone(),
    });
    if !sim.act(t, d, dispatcher) {
        return;
    }
    let h = handler(&dept);
    t = sim.within_stage(t, rng.random_range(0.01..0.1));
    if !sim.act(t, req(Action::Accept), &h) {
        return;
    }
    if rng.random_bool(0.04) {
        t = sim.within_stage(t, rng.random_range(0.4..0.75));
        let n = note(NoteKind::Extension, rng);
        if !sim.act(
            t,
            with_note(Action::RequestExtension { extend_by: None }, n),
            &h,
        ) {
            return;
        }
        t += Duration::hours(rng.random_range(1..20));
        let ok = if rng.random_bool(0.8) {
            sim.act(t, req(Action::ApproveExtension), dispatcher)
        } else {
            sim.act(
                t,
                with_note(
                    Action::RefuseExtension,
                    "理由不充分，请按原时限办结。".into(),
                ),
                dispatcher,
            )
        };
        if !ok {
            return;
        }
    }
    if rng.random_bool(0.02) {
        t = sim.within_stage(t, rng.random_range(0.1..0.5));
        let n = note(NoteKind::Suspended, rng);
        if !sim.act(t, with_note(Action::Suspend, n), dispatcher) {
            return;
        }
        t += Duration::days(rng.random_range(3..40));
        if !sim.act(t, req(Action::Resume), dispatcher) {
            return;
        }
    }
    if rng.random_bool(0.02) {
        let s = with_note(
            Action::Supervise {
                level: Some(Level::Yellow),
            },
            "请抓紧办理。".into(),
        );
        let ts = sim.within_stage(t, 0.3);
        sim.act(ts, s, leader);
    }
    t = sim.within_stage(t, late(rng, 0.11));
    let n = note(NoteKind::Handled, rng);
    if !sim.act(t, with_note(Action::Handle, n), &h) {
        return;
    }
    // Verification, with rework when the fix is not real.
    for round in 0..3 {
        t = sim.within_stage(t, late(rng, 0.04));
        let failed = round == 0 && rng.random_bool(0.07);
        let v = with_note(
            Action::Verify { passed: !failed },
            if failed {
                note(NoteKind::Rework, rng)
            } else {
                note(NoteKind::Verified, rng)
            },
        );
        if !sim.act(t, v, gw) {
            return;
        }
        if !failed {
            break;
        }
        t = sim.within_stage(t, late(rng, 0.15));
        let n = note(NoteKind::Handled, rng);
        if !sim.act(t, with_note(Action::Handle, n), &h) {
            return;
        }
    }
    t = sim.within_stage(t, late(rng, 0.03));
    if !sim.act(t, req(Action::Close), dispatcher) {
        return;
    }
    if rng.random_bool(0.65) {
        t += Duration::hours(rng.random_range(2..72));
        let score = *[5, 5, 5, 5, 4, 4, 4, 3, 2, 1]
            .get(rng.random_range(0..10))
            .unwrap_or(&5);
        let rq = with_note(
            Action::Rate { score },
            note(
                if score >= 4 {
                    NoteKind::Satisfied
                } else {
                    NoteKind::Dissatisfied
                },
                rng,
            ),
        );
        sim.act(t, rq, dispatcher);
    }
}
