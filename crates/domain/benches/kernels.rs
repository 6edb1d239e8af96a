//! Hot kernels of the domain: deadline arithmetic on the official calendar and case creation
//! through the engine. Run: `cargo bench -p safegrid-domain`.

use chrono::{Duration, TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use safegrid_domain::calendar::{Limit, WorkCalendar};
use safegrid_domain::catalog::{Stage, Urgency};
use safegrid_domain::codes::{PersonName, Phone};
use safegrid_domain::engine::{self, Context, Limits, NewCase};
use std::hint::black_box;
use uuid::Uuid;

struct Table;
impl Limits for Table {
    fn limit(&self, _: &str, urgency: Urgency, stage: Stage) -> Limit {
        let text = match (urgency, stage) {
            (_, Stage::Register | Stage::Dispatch) => "2 working_hours",
            (Urgency::Normal, Stage::Handle) => "5 working_days",
            (_, Stage::Handle) => "8 natural_hours",
            _ => "1 working_days",
        };
        text.parse().expect("limit")
    }
}

fn deadlines(c: &mut Criterion) {
    let cal = WorkCalendar::builtin();
    // Starts spread over a year that includes 春节 and 国庆, at all hours.
    let base = Utc
        .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .expect("date");
    let starts: Vec<_> = (0..997)
        .map(|i| base + Duration::minutes(i * 527))
        .collect();
    for limit in ["2 working_hours", "5 working_days", "3 natural_days"] {
        let l: Limit = limit.parse().expect("limit");
        let mut i = 0;
        c.bench_function(&format!("deadline: due after {limit}"), |b| {
            b.iter(|| {
                i = (i + 1) % starts.len();
                black_box(cal.due(black_box(starts[i]), l))
            })
        });
    }
    let mut i = 0;
    c.bench_function("deadline: statutory 60 日 (petition)", |b| {
        b.iter(|| {
            i = (i + 1) % starts.len();
            black_box(cal.statutory_due(black_box(starts[i]), 60))
        })
    });
}

fn case_creation(c: &mut Criterion) {
    let cal = WorkCalendar::builtin();
    let ctx = Context {
        calendar: &cal,
        limits: &Table,
        now: Utc
            .with_ymd_and_hms(2026, 9, 30, 9, 15, 0)
            .single()
            .expect("date"),
    };
    c.bench_function(
        "engine: create a case (validation, first stage, deadlines, counters)",
        |b| {
            b.iter(|| {
                let new = NewCase {
                    id: Uuid::now_v7(),
                    county_code: "330502".into(),
                    number: None,
                    tracking_code: "ABCDEFGHJK".into(),
                    case_type: "service_event".into(),
                    category: "C0301".into(),
                    urgency: Urgency::Normal,
                    channel: "hotline".into(),
                    description: "小区东门井盖破损，夜间行人容易踩空，请尽快处理。".into(),
                    address: None,
                    lat: Some(30.87),
                    lon: Some(120.09),
                    grid_code: Some(
                        safegrid_domain::codes::GridCode::parse("330502001001001").unwrap(),
                    ),
                    region_code: safegrid_domain::codes::RegionCode::parse("330502001001").unwrap(),
                    needs_grid: false,
                    needs_location: false,
                    reporter_name: Some(PersonName::parse("王先生").unwrap()),
                    reporter_phone: Some(Phone::parse("13912345678").unwrap()),
                    reporter_user: None,
                    reporter_anonymous: false,
                };
                black_box(engine::create(new, None, &ctx).expect("created"))
            })
        },
    );
}

criterion_group!(benches, deadlines, case_creation);
criterion_main!(benches);
