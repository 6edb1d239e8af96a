//! One storage conformance suite, run on SQLite and on PostgreSQL: the same behaviour at the SQL
//! level on both backends (atomic writes, version checks, counters, jobs, accounts, calendar).

use chrono::{Duration, TimeZone, Utc};
use safegrid_domain::Role;
use safegrid_domain::calendar::WorkCalendar;
use safegrid_domain::catalog::{Stage, Urgency};
use safegrid_domain::codes::{GridCode, Phone, RegionCode};
use safegrid_domain::engine::{self, ActionRequest, Actor, Command, Context, Limits, NewCase};

/// The typed action a request parses to (the requests here are all valid).
fn typed(req: &ActionRequest) -> Command {
    Command::try_from(req).expect("a valid action")
}
use safegrid_store::{
    CaseFilter, Department, NewCaseWrite, NewUser, Region, SortOrder, Store, StoreError,
};

struct FixedLimits;
impl Limits for FixedLimits {
    fn limit(&self, _: &str, _: Urgency, stage: Stage) -> safegrid_domain::calendar::Limit {
        match stage {
            Stage::Handle => "3 working_days",
            _ => "4 working_hours",
        }
        .parse()
        .unwrap()
    }
}

fn loud_skip(what: &str) {
    eprintln!(
        "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n!!! SKIPPED {what}: PostgreSQL is not reachable\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
    );
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("a skipped test is a failure under CI=true: {what}");
    }
}

async fn pg_store() -> Option<Store> {
    let admin = std::env::var("SAFEGRID_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    // Databases this suite left more than an hour ago are dropped on the way (a suite run leaves
    // a few, and they filled a shared disk at six hours).
    let url = safegrid_store::scratch_pg_database(
        &admin,
        "safegrid_store",
        std::time::Duration::from_secs(3600),
    )
    .await
    .ok()??;
    Store::connect(&url).await.ok()
}

#[test]
fn both_migration_trees_have_the_same_versions() {
    let (sqlite, postgres) = Store::migration_versions();
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, postgres);
}

/// The naming rule of `migrations/README.md`: `YYYYMMDDHHMMSS_name.sql`, the UTC time the
/// migration was written, the same file name in both trees, no name twice. Two branches written
/// side by side then cannot take the same version, and one that forgot a tree fails here.
#[test]
fn migrations_follow_the_naming_rule() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let names = |tree: &str| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(root.join(tree))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    };
    let (sqlite, postgres) = (names("sqlite"), names("postgres"));
    assert_eq!(sqlite, postgres, "both trees hold the same files");
    let mut stems = std::collections::HashSet::new();
    for n in &sqlite {
        let (version, rest) = n.split_once('_').unwrap_or((n, ""));
        assert!(
            version.len() == 14 && version.bytes().all(|b| b.is_ascii_digit()),
            "{n}: the version is the UTC date and time written, YYYYMMDDHHMMSS"
        );
        let (month, day) = (&version[4..6], &version[6..8]);
        assert!(
            ("01"..="12").contains(&month) && ("01"..="31").contains(&day),
            "{n}: not a date"
        );
        let stem = rest.strip_suffix(".sql").unwrap_or("");
        assert!(
            !stem.is_empty()
                && stem
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
            "{n}: the name is lower_snake_case"
        );
        assert!(
            stems.insert(stem.to_string()),
            "{n}: the name {stem} is taken twice"
        );
    }
}

#[tokio::test]
async fn store_suite_on_sqlite() {
    let dir = std::env::temp_dir().join(format!("sg-store-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = Store::connect(&format!("sqlite://{}/s.db", dir.display()))
        .await
        .unwrap();
    suite(&store).await;
    store.close().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// A new SQLite database is made with the page size intake was measured with; one made with
/// SQLite's default 4 KiB pages (every database before the ninth round) keeps them and works.
#[tokio::test]
async fn sqlite_page_size_of_new_and_existing_databases() {
    let dir = std::env::temp_dir().join(format!("sg-pages-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let page_size = |store: &Store| {
        let Store::Sqlite(p) = store else {
            unreachable!("a sqlite:// URL")
        };
        let p = p.clone();
        async move {
            sqlx::query_scalar::<_, i64>("PRAGMA page_size")
                .fetch_one(&p)
                .await
                .unwrap()
        }
    };

    let fresh = Store::connect(&format!("sqlite://{}/new.db", dir.display()))
        .await
        .unwrap();
    fresh.migrate().await.unwrap();
    assert_eq!(page_size(&fresh).await, i64::from(Store::SQLITE_PAGE_SIZE));
    fresh.close().await;

    // An older database: made by SQLite's defaults, in WAL mode, with a table in it.
    let old_path = dir.join("old.db");
    {
        use sqlx::ConnectOptions;
        let mut c = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&old_path)
            .create_if_missing(true)
            .page_size(4096)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
            .connect()
            .await
            .unwrap();
        sqlx::query("CREATE TABLE before_upgrade (x INTEGER)")
            .execute(&mut c)
            .await
            .unwrap();
        sqlx::Connection::close(c).await.unwrap();
    }
    let old = Store::connect(&format!("sqlite://{}", old_path.display()))
        .await
        .unwrap();
    old.migrate().await.unwrap();
    assert_eq!(
        page_size(&old).await,
        4096,
        "an existing file keeps its pages"
    );
    let Store::Sqlite(p) = &old else {
        unreachable!()
    };
    let tables: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM sqlite_master WHERE name IN ('before_upgrade', 'cases')",
    )
    .fetch_one(p)
    .await
    .unwrap();
    assert_eq!(tables, 2, "old table kept, migrations applied");

    // Rewriting it for the new page size is refused while a store has it open, then done.
    let old_url = format!("sqlite://{}", old_path.display());
    assert!(matches!(
        Store::rewrite_sqlite(&old_url).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(page_size(&old).await, 4096, "nothing changed");
    old.close().await;
    assert_eq!(Store::rewrite_sqlite(&old_url).await.unwrap(), (4096, 2048));
    let old = Store::connect(&old_url).await.unwrap();
    old.migrate().await.unwrap();
    assert_eq!(page_size(&old).await, 2048);
    let Store::Sqlite(p) = &old else {
        unreachable!()
    };
    let (tables, mode): (i64, String) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM sqlite_master WHERE name IN ('before_upgrade', 'cases')), \
         (SELECT journal_mode FROM pragma_journal_mode)",
    )
    .fetch_one(p)
    .await
    .unwrap();
    assert_eq!((tables, mode.as_str()), (2, "wal"));
    old.close().await;
    assert!(matches!(
        Store::rewrite_sqlite("postgres://postgres@127.0.0.1/x").await,
        Err(StoreError::Invalid(_))
    ));
    let _ = std::fs::remove_dir_all(dir);
}

/// Scratch databases a suite left long ago are dropped when the next one is made; recent ones
/// (perhaps a suite running beside this one) are not.
#[tokio::test]
async fn stale_scratch_databases_are_dropped() {
    use sqlx::Connection;
    let admin = std::env::var("SAFEGRID_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await else {
        return loud_skip("stale_scratch_databases_are_dropped");
    };
    let prefix = format!(
        "sg_sweep{}",
        uuid::Uuid::new_v4().simple().to_string()[..8].to_owned()
    );
    let named = |age: std::time::Duration| {
        let t = std::time::SystemTime::now() - age;
        let d = t.duration_since(std::time::UNIX_EPOCH).unwrap();
        let ts = uuid::Timestamp::from_unix(uuid::NoContext, d.as_secs(), d.subsec_nanos());
        format!("{prefix}_{}", uuid::Uuid::new_v7(ts).simple())
    };
    let (old, young) = (
        named(std::time::Duration::from_secs(7 * 3600)),
        named(std::time::Duration::from_secs(3600)),
    );
    for n in [&old, &young] {
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {n}")))
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let url = safegrid_store::scratch_pg_database(
        &admin,
        &prefix,
        std::time::Duration::from_secs(6 * 3600),
    )
    .await
    .unwrap()
    .expect("the server answered above");
    let fresh = url.rsplit('/').next().unwrap().to_string();
    let left: Vec<(String,)> =
        sqlx::query_as("SELECT datname FROM pg_database WHERE datname LIKE $1 ORDER BY datname")
            .bind(format!("{prefix}%"))
            .fetch_all(&mut conn)
            .await
            .unwrap();
    let left: Vec<String> = left.into_iter().map(|(n,)| n).collect();
    for n in left.iter().chain([&old]) {
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {n} WITH (FORCE)"
        )))
        .execute(&mut conn)
        .await;
    }
    assert!(!left.contains(&old), "the stale one is dropped: {left:?}");
    assert!(left.contains(&young), "the recent one stays: {left:?}");
    assert!(left.contains(&fresh), "the new one exists: {left:?}");
}

#[tokio::test]
async fn store_suite_on_postgres() {
    match pg_store().await {
        Some(store) => suite(&store).await,
        None => loud_skip("store_suite_on_postgres"),
    }
}

async fn suite(store: &Store) {
    store.migrate().await.unwrap();
    store.migrate().await.unwrap(); // idempotent

    // Territory: a failed batch writes nothing (a child whose parent is missing).
    let r = |code: &str, parent: Option<&str>, level: i16, name: &str| Region {
        code: code.into(),
        parent_code: parent.map(Into::into),
        level,
        name: name.into(),
        geometry: None,
    };
    let bad = [
        r("330000000000", None, 1, "浙江省"),
        r("330599000000", Some("339900000000"), 2, "孤儿"),
    ];
    assert!(store.upsert_regions(&bad).await.is_err());
    assert_eq!(
        store.region_count().await.unwrap(),
        0,
        "nothing of a failed batch is written"
    );
    store
        .upsert_regions(&[
            r("330000000000", None, 1, "浙江省"),
            r("330500000000", Some("330000000000"), 2, "湖州市"),
            r("330502000000", Some("330500000000"), 3, "吴兴区"),
        ])
        .await
        .unwrap();
    assert_eq!(
        store
            .regions(Some("330500000000"), None, false)
            .await
            .unwrap()
            .len(),
        1
    );
    store
        .upsert_departments(&[Department {
            code: "330502-cgj".into(),
            kind: "cgj".into(),
            name_zh: "吴兴区综合行政执法局".into(),
            name_en: "Urban management".into(),
            region_code: "330502000000".into(),
            active: true,
        }])
        .await
        .unwrap();

    // Accounts, sessions, tokens.
    let u = store
        .create_user(&NewUser {
            username: "d1".into(),
            display_name: "调度".into(),
            password_hash: "x".into(),
            role: Role::Dispatcher,
            department: None,
            regions: vec!["330500000000".into()],
            grids: vec![],
        })
        .await
        .unwrap();
    let dup = store
        .create_user(&NewUser {
            username: "d1".into(),
            display_name: "again".into(),
            password_hash: "x".into(),
            role: Role::Dispatcher,
            department: None,
            regions: vec![],
            grids: vec![],
        })
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))));
    store
        .create_session("h1", u.id, Utc::now() + Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(
        store.session_user("h1", 60_000).await.unwrap().username,
        "d1"
    );
    assert!(store.session_user("nope", 60_000).await.is_err());
    // Idle expiry, and the last-seen time that postpones it: with a 1 s idle limit a session
    // used 0.6 s after login and again 0.6 s later is alive (the first use moved its last-seen
    // time); one left 1.2 s is not. Page loads rewrite last-seen only when it is a tenth of the
    // limit old, so these uses must have rewritten it.
    store
        .create_session("h-idle", u.id, Utc::now() + Duration::hours(1))
        .await
        .unwrap();
    store
        .create_session("h-left", u.id, Utc::now() + Duration::hours(1))
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert!(store.session_user("h-idle", 1_000).await.is_ok());
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert!(
        store.session_user("h-idle", 1_000).await.is_ok(),
        "a session in use stays alive"
    );
    assert!(
        store.session_user("h-left", 1_000).await.is_err(),
        "a session idle past the limit is refused"
    );
    store.delete_session("h1").await.unwrap();
    assert!(store.session_user("h1", 60_000).await.is_err());
    let t = store.create_token(u.id, "ci", "th", None).await.unwrap();
    assert_eq!(store.token_user("th").await.unwrap().id, u.id);
    store.revoke_token(t.id).await.unwrap();
    assert!(
        store.token_user("th").await.is_err(),
        "a revoked token is refused"
    );
    let _ = store
        .create_token(u.id, "old", "th2", Some(Utc::now() - Duration::hours(1)))
        .await
        .unwrap();
    assert!(
        store.token_user("th2").await.is_err(),
        "an expired token is refused"
    );

    // Cases: numbers per county and day, version checks, history and counters in one transaction.
    let cal = WorkCalendar::builtin();
    let now = Utc.with_ymd_and_hms(2026, 9, 18, 2, 0, 0).unwrap();
    let ctx = Context {
        calendar: &cal,
        limits: &FixedLimits,
        now,
    };
    let new = |n: u8| NewCase {
        id: uuid::Uuid::now_v7(),
        county_code: "330502".into(),
        number: None,
        tracking_code: format!("TRACK{n}"),
        case_type: "service_event".into(),
        category: "C0102".into(),
        urgency: Urgency::Normal,
        channel: "grid_worker".into(),
        description: "井盖破损".into(),
        address: None,
        lat: Some(30.78),
        lon: Some(120.02),
        grid_code: None,
        region_code: RegionCode::parse("330502000000").unwrap(),
        needs_grid: true,
        needs_location: false,
        reporter_name: None,
        reporter_phone: Some(Phone::parse(&format!("1381234567{}", n % 10)).unwrap()),
        reporter_user: None,
        reporter_anonymous: false,
    };
    let nodes = vec![
        "330000000000".to_string(),
        "330500000000".into(),
        "330502000000".into(),
    ];
    let a = store
        .insert_case(&engine::create(new(1), None, &ctx).unwrap(), &nodes)
        .await
        .unwrap();
    let b = store
        .insert_case(&engine::create(new(2), None, &ctx).unwrap(), &nodes)
        .await
        .unwrap();
    assert_eq!(a.number_text(), "3305022026091800001");
    assert_eq!(b.number_text(), "3305022026091800002");
    // Contacts are checked on input; a row stored before the checks still reads, kept as
    // written and masked by character, instead of failing to decode.
    let sql = format!(
        "UPDATE cases SET reporter_name = '王先生（物业）', reporter_phone = '分机 8021' WHERE id = '{}'",
        b.id
    );
    match store {
        Store::Sqlite(p) => {
            // SQLite keeps ids as 16-byte blobs.
            let sql = format!(
                "UPDATE cases SET reporter_name = '王先生（物业）', reporter_phone = '分机 8021' WHERE id = x'{}'",
                b.id.simple()
            );
            sqlx::query(sqlx::AssertSqlSafe(sql)).execute(p).await.map(|_| ())
        }
        Store::Postgres(p) => sqlx::query(sqlx::AssertSqlSafe(sql)).execute(p).await.map(|_| ()),
    }
    .unwrap();
    let old = store.case(b.id).await.unwrap();
    let (name, phone) = (old.reporter_name.unwrap(), old.reporter_phone.unwrap());
    assert_eq!(
        (
            name.as_str(),
            name.masked().as_str(),
            phone.as_str(),
            phone.masked().as_str()
        ),
        ("王先生（物业）", "王******", "分机 8021", "***8021")
    );
    assert_eq!(
        store.case_by_tracking_code("TRACK2").await.unwrap().id,
        b.id
    );
    // Tracking codes are unique: a case that drew a taken one is refused whole (intake draws
    // again), and the code still finds the case that holds it.
    let mut clash = engine::create(new(3), None, &ctx).unwrap();
    clash.case.tracking_code = "TRACK1".into();
    assert!(matches!(
        store.insert_case(&clash, &nodes).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store.case(clash.case.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(store.tracking_code_taken("TRACK1").await.unwrap());
    assert!(!store.tracking_code_taken("TRACK3").await.unwrap());
    assert_eq!(
        store.case_by_tracking_code("TRACK1").await.unwrap().id,
        a.id
    );

    let actor = Actor {
        id: Some(u.id),
        username: "d1".into(),
        role: Role::Dispatcher,
        department: None,
        grids: vec![],
        regions: vec![],
    };
    let reg = engine::apply(
        &a,
        &typed(&ActionRequest {
            action: "register".into(),
            ..Default::default()
        }),
        &actor,
        &ctx,
    )
    .unwrap();
    store.update_case(a.version, &reg, &nodes).await.unwrap();
    // A second writer holding the old version loses, and writes nothing.
    let stale = engine::apply(
        &a,
        &typed(&ActionRequest {
            action: "reject".into(),
            note: Some("x".into()),
            ..Default::default()
        }),
        &actor,
        &ctx,
    )
    .unwrap();
    assert!(matches!(
        store.update_case(a.version, &stale, &nodes).await,
        Err(StoreError::Conflict(_))
    ));
    let stored = store.case(a.id).await.unwrap();
    assert_eq!(stored.status, "registered");
    assert_eq!(stored.version, a.version + 1);
    let events = store.events(&stored).await.unwrap();
    assert_eq!(
        events.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        ["report", "register"]
    );
    assert_eq!(
        stored.stage_due_at, reg.case.stage_due_at,
        "times survive the round trip to the millisecond"
    );

    let day = safegrid_store::case_day(now);
    let k = store.kpi("330502000000", day, day).await.unwrap();
    assert_eq!((k.reported, k.registered, k.rejected), (2, 1, 0));
    let k = store.kpi("330000000000", day, day).await.unwrap();
    assert_eq!(k.reported, 2);
    let kids = store.kpi_children("3305", 12, day, day).await.unwrap();
    assert!(
        kids.iter()
            .any(|(n, c)| n == "330502000000" && c.registered == 1)
    );

    // Filters, with the planner's statistics taken (what a bulk load ends with).
    store.analyze().await.unwrap();
    let page = store
        .list_cases(
            &CaseFilter {
                statuses: vec!["registered".into()],
                limit: 10,
                ..Default::default()
            },
            &[],
        )
        .await
        .unwrap();
    assert_eq!(page.total, 1);
    let page = store
        .list_cases(
            &CaseFilter {
                text: Some("100%_".into()),
                limit: 10,
                ..Default::default()
            },
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        page.total, 0,
        "LIKE wildcards in the user's text are literal"
    );
    let page = store
        .list_cases(
            &CaseFilter {
                region_prefix: Some("330502".into()),
                limit: 1,
                ..Default::default()
            },
            &[],
        )
        .await
        .unwrap();
    assert_eq!((page.total, page.cases.len()), (2, 1));
    // A city's and a province's subtree (filtered without the range index, see `region_range`)
    // and another city's, as a filter and as a scope.
    for (prefix, scope, expected) in [
        (Some("3305"), vec![], 2),
        (Some("3306"), vec![], 0),
        (None, vec!["33".to_string()], 2),
        (None, vec!["3306".to_string(), "330502".to_string()], 2),
        (Some("33"), vec!["3306".to_string()], 0),
    ] {
        let page = store
            .list_cases(
                &CaseFilter {
                    region_prefix: prefix.map(String::from),
                    scope_regions: scope.clone(),
                    limit: 10,
                    ..Default::default()
                },
                &[],
            )
            .await
            .unwrap();
        assert_eq!(page.total, expected, "{prefix:?} within {scope:?}");
        assert_eq!(page.cases.len() as i64, expected);
    }
    // Keyset pages (exports) give every case once, in the page order, though both cases share
    // their creation instant (the id breaks the tie); later pages need not count.
    for order in [SortOrder::NewestFirst, SortOrder::OldestFirst] {
        let f = CaseFilter {
            region_prefix: Some("330502".into()),
            order,
            limit: 10,
            ..Default::default()
        };
        let whole: Vec<_> = store
            .list_cases(&f, &[])
            .await
            .unwrap()
            .cases
            .iter()
            .map(|c| c.id)
            .collect();
        assert_eq!(whole.len(), 2);
        let (mut paged, mut after) = (vec![], None);
        loop {
            let page = store
                .list_cases(
                    &CaseFilter {
                        limit: 1,
                        after,
                        skip_total: after.is_some(),
                        ..f.clone()
                    },
                    &[],
                )
                .await
                .unwrap();
            if after.is_some() {
                assert_eq!(page.total, 0, "not counted");
            }
            let Some(last) = page.cases.last() else { break };
            after = Some((last.created_at, last.id));
            paged.extend(page.cases.iter().map(|c| c.id));
        }
        assert_eq!(paged, whole, "{order:?}");
    }
    assert!(matches!(
        store
            .list_cases(
                &CaseFilter {
                    order: SortOrder::DueFirst,
                    after: Some((now, a.id)),
                    limit: 1,
                    ..Default::default()
                },
                &[]
            )
            .await,
        Err(StoreError::Invalid(_))
    ));

    // Jobs: one claim per run, however many runners ask.
    let t0 = Utc::now();
    store.ensure_job("watch", 60_000, t0).await.unwrap();
    let c1 = store
        .claim_job("watch", "r1", t0, 30_000)
        .await
        .unwrap()
        .expect("due job is claimed");
    assert!(
        store
            .claim_job("watch", "r2", t0, 30_000)
            .await
            .unwrap()
            .is_none(),
        "no double firing"
    );
    store.finish_job(&c1, "r1", t0, "ok").await.unwrap();
    assert!(
        store
            .claim_job("watch", "r2", t0, 30_000)
            .await
            .unwrap()
            .is_none(),
        "not due again yet"
    );
    let later = t0 + Duration::minutes(2);
    assert!(
        store
            .claim_job("watch", "r2", later, 30_000)
            .await
            .unwrap()
            .is_some()
    );
    // A crashed runner's lease expires and another takes over.
    assert!(
        store
            .claim_job("watch", "r3", later + Duration::minutes(1), 30_000)
            .await
            .unwrap()
            .is_some()
    );

    // Calendar: a year is replaced whole.
    let day = |d: &str, k: &str| {
        (
            d.to_string(),
            k.to_string(),
            "x".to_string(),
            "x".to_string(),
        )
    };
    store
        .replace_calendar(&[day("2027-01-01", "holiday"), day("2027-01-02", "holiday")])
        .await
        .unwrap();
    store
        .replace_calendar(&[day("2027-01-01", "holiday")])
        .await
        .unwrap();
    assert_eq!(store.calendar_days().await.unwrap().len(), 1);

    // Settings.
    store.set_setting("k", "v1").await.unwrap();
    store.set_setting("k", "v2").await.unwrap();
    assert_eq!(store.setting("k").await.unwrap().as_deref(), Some("v2"));

    open311(store).await;
    disputes_suite(store).await;
    // Before `security`, which tampers with the audit trail on purpose.
    group_commit(store).await;
    prewarm(store).await;
    fold_adds_to_settled_rows(store).await;
    security(store).await;
    tracking_code_upgrade(store).await;
    open_only_counts(store).await;
}

/// "Open only" lists count exactly what they list, on both backends: PostgreSQL counts them by
/// naming the open statuses, the page (and SQLite) by excluding the terminal ones.
async fn open_only_counts(store: &Store) {
    let terminal = safegrid_domain::workflow::terminal_states();
    let closed = store.case_by_tracking_code("TRACK1").await.unwrap();
    let rows: Vec<(String, String)> = safegrid_store::with_pool!(store, p => {
        sqlx::query("UPDATE cases SET status = 'closed' WHERE id = $1")
            .bind(closed.id)
            .execute(p)
            .await
            .unwrap();
        sqlx::query_as("SELECT region_code, status FROM cases").fetch_all(p).await.unwrap()
    });
    let open_in = |prefix: &str| {
        rows.iter()
            .filter(|(r, s)| r.starts_with(prefix) && !terminal.contains(s))
            .count() as i64
    };
    assert!(open_in("") > 2 && open_in("") < rows.len() as i64);
    for (prefix, cap) in [
        (None, None),
        (Some("330502"), None),
        (Some("3305"), Some(1)),
        (None, Some(10_000)),
    ] {
        let page = store
            .list_cases(
                &CaseFilter {
                    open_only: true,
                    region_prefix: prefix.map(String::from),
                    count_limit: cap,
                    limit: 10_000,
                    ..Default::default()
                },
                &terminal,
            )
            .await
            .unwrap();
        let expected = open_in(prefix.unwrap_or(""));
        assert_eq!(page.cases.len() as i64, expected, "{prefix:?}");
        assert!(page.cases.iter().all(|c| c.id != closed.id));
        match cap {
            Some(n) if expected > n => assert_eq!((page.total, page.total_capped), (n, true)),
            _ => assert_eq!(
                (page.total, page.total_capped),
                (expected, false),
                "{prefix:?}"
            ),
        }
    }
}

/// Migration 10 on a database from before it, where two cases could share a tracking code: the
/// case filed later draws a new code, every case's code goes into the codes' table, and the
/// first keeps its own. The old state is made by undoing the migration by hand.
async fn tracking_code_upgrade(store: &Store) {
    let first = store.case_by_tracking_code("TRACK1").await.unwrap();
    let second = store.case_by_tracking_code("TRACK2").await.unwrap();
    safegrid_store::with_pool!(store, p => {
        for sql in [
            "UPDATE cases SET tracking_code = 'TRACK1' WHERE tracking_code = 'TRACK2'",
            "DROP TABLE tracking_codes",
            "CREATE INDEX cases_tracking ON cases(tracking_code)",
            "DELETE FROM _sqlx_migrations WHERE version = 20261121000010",
        ] {
            sqlx::query(sql).execute(p).await.unwrap();
        }
    });
    store.migrate().await.unwrap();
    assert_eq!(
        store.case_by_tracking_code("TRACK1").await.unwrap().id,
        first.id
    );
    let moved = store.case(second.id).await.unwrap().tracking_code;
    assert_ne!(moved, "TRACK1");
    assert_eq!(moved.len(), 10);
    assert!(
        moved
            .bytes()
            .all(|c| b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789".contains(&c))
    );
    assert_eq!(
        store.case_by_tracking_code(&moved).await.unwrap().id,
        second.id
    );
    let (cases, distinct, matched): (i64, i64, i64) = safegrid_store::with_pool!(store, p =>
        sqlx::query_as(
            "SELECT (SELECT count(*) FROM cases), (SELECT count(DISTINCT tracking_code) FROM cases),
                    (SELECT count(*) FROM cases c JOIN tracking_codes t
                       ON t.code = c.tracking_code AND t.county_code = c.county_code AND t.case_id = c.id)",
        )
        .fetch_one(p)
        .await
        .unwrap()
    );
    assert_eq!((distinct, matched), (cases, cases));
}

/// Warming the write path's B-trees reads each one whole (every case, or every counter row),
/// reports each as it goes, and changes nothing; PostgreSQL has nothing to warm.
async fn prewarm(store: &Store) {
    let seen = std::sync::Mutex::new(vec![]);
    let warmed = store
        .prewarm(|w| seen.lock().unwrap().push(w.btree))
        .await
        .unwrap();
    let names: Vec<&str> = warmed.iter().map(|w| w.btree).collect();
    let mut seen = seen.into_inner().unwrap();
    seen.sort_by_key(|b| names.iter().position(|n| n == b));
    assert_eq!(names, seen);
    match store {
        Store::Sqlite(p) => {
            let count = |sql: &'static str| async move {
                let (n,): (i64,) = sqlx::query_as(sql).fetch_one(p).await.unwrap();
                n
            };
            let cases = count("SELECT count(*) FROM cases").await;
            let counters = count("SELECT count(*) FROM kpi_delta").await;
            assert!(cases > 0 && counters > 0);
            assert_eq!(
                names,
                [
                    "cases_status_region",
                    "cases_region_status",
                    "cases_grid",
                    "cases_department",
                    "tracking_codes",
                    "kpi_delta"
                ]
            );
            for w in &warmed {
                // Every case holds one tracking code.
                let expected = if w.btree == "kpi_delta" {
                    counters
                } else {
                    cases
                };
                assert_eq!(w.entries, expected, "{}", w.btree);
            }
            assert_eq!(count("SELECT count(*) FROM cases").await, cases);
        }
        Store::Postgres(_) => assert!(warmed.is_empty()),
    }
}

/// The case `group_commit` stored last counts towards rows its batch of seven already folded:
/// a fold adds to them (never replaces them) and makes no new row.
async fn fold_adds_to_settled_rows(store: &Store) {
    let day = safegrid_store::case_day(Utc.with_ymd_and_hms(2026, 10, 9, 1, 0, 0).unwrap());
    let reported = || async {
        let mut all = vec![];
        for node in ["330000000000", "330500000000", "330503000000"] {
            all.push(store.kpi(node, day, day).await.unwrap().reported);
        }
        all
    };
    assert_eq!(reported().await, [8, 8, 6]);
    let delta = store.kpi_delta_rows().await.unwrap();
    assert_eq!(delta, 3, "the province, city and county rows of one day");
    assert_eq!(store.fold_kpi_delta(1000).await.unwrap(), 3);
    assert_eq!(reported().await, [8, 8, 6]);
    assert_eq!(store.kpi_delta_rows().await.unwrap(), 0);
    assert_eq!(store.fold_kpi_delta(1000).await.unwrap(), 0);
}

/// Several new cases in one transaction (the intake writer's batches): consecutive numbers per
/// county and day, counters merged (province and city kept once per node and day), one chained
/// audit entry each with its client address; a batch with one bad case writes nothing at all.
async fn group_commit(store: &Store) {
    let cal = WorkCalendar::builtin();
    let now = Utc.with_ymd_and_hms(2026, 10, 9, 1, 0, 0).unwrap();
    let ctx = Context {
        calendar: &cal,
        limits: &FixedLimits,
        now,
    };
    let new = |n: usize, county: &str| NewCase {
        id: uuid::Uuid::now_v7(),
        county_code: county.into(),
        number: None,
        tracking_code: format!("GC{n:08}"),
        case_type: "service_event".into(),
        category: "C0102".into(),
        urgency: Urgency::Normal,
        channel: "hotline".into(),
        description: "路灯不亮".into(),
        address: None,
        lat: None,
        lon: None,
        grid_code: None,
        region_code: RegionCode::parse(&format!("{county}000000")).unwrap(),
        needs_grid: true,
        needs_location: false,
        reporter_name: None,
        reporter_phone: None,
        reporter_user: None,
        reporter_anonymous: false,
    };
    let nodes_of = |county: &str| {
        vec![
            "330000000000".to_string(),
            "330500000000".into(),
            format!("{county}000000"),
        ]
    };
    let (n3, n4) = (nodes_of("330503"), nodes_of("330521"));
    let applied: Vec<_> = (0..7)
        .map(|i| {
            let county = if i % 3 == 2 { "330521" } else { "330503" };
            engine::create(new(i, county), None, &ctx).unwrap()
        })
        .collect();
    let writes: Vec<NewCaseWrite> = applied
        .iter()
        .map(|a| NewCaseWrite {
            applied: a,
            nodes: if a.case.county_code == "330503" {
                &n3
            } else {
                &n4
            },
            extra: &[],
            ip: Some("10.0.0.9".into()),
        })
        .collect();
    let audit_before = store.verify_audit(|_| {}).await.unwrap().entries;
    let stored = store.insert_cases(&writes).await.unwrap();
    let numbers: Vec<String> = stored.iter().map(|c| c.number_text()).collect();
    assert_eq!(
        numbers,
        [
            "3305032026100900001",
            "3305032026100900002",
            "3305212026100900001",
            "3305032026100900003",
            "3305032026100900004",
            "3305212026100900002",
            "3305032026100900005",
        ]
    );
    let day = safegrid_store::case_day(now);
    assert_eq!(
        store.kpi("330000000000", day, day).await.unwrap().reported,
        7
    );
    assert_eq!(
        store.kpi("330500000000", day, day).await.unwrap().reported,
        7
    );
    assert_eq!(
        store.kpi("330503000000", day, day).await.unwrap().reported,
        5
    );
    assert_eq!(
        store.kpi("330521000000", day, day).await.unwrap().reported,
        2
    );
    // Rankings read the same rows: the city (kept once per day) and each county.
    let kids = store.kpi_children("3305", 12, day, day).await.unwrap();
    let reported = |node: &str| {
        kids.iter()
            .find(|(n, _)| n == node)
            .map(|(_, c)| c.reported)
    };
    assert_eq!(reported("330500000000"), Some(7));
    assert_eq!(reported("330503000000"), Some(5));
    assert_eq!(reported("330521000000"), Some(2));

    // The batch's counters wait in the delta; folding them, a few rows per transaction, changes
    // no figure at any point, and leaves the delta empty.
    let figures = || async {
        let mut all = vec![];
        for node in [
            "330000000000",
            "330500000000",
            "330503000000",
            "330521000000",
        ] {
            all.push(store.kpi(node, 0, 99_999_999).await.unwrap());
        }
        (
            all,
            store.kpi_children("33", 12, 0, 99_999_999).await.unwrap(),
        )
    };
    let before = figures().await;
    let rows = store.kpi_delta_rows().await.unwrap();
    assert!(rows >= 4, "{rows} delta rows");
    let mut moved = 0;
    loop {
        let n = store.fold_kpi_delta(2).await.unwrap();
        assert!(n <= 2);
        if n == 0 {
            break;
        }
        moved += n;
        assert_eq!(figures().await, before, "after {moved} rows folded");
    }
    assert_eq!(moved, rows as u64);
    assert_eq!(store.kpi_delta_rows().await.unwrap(), 0);

    let v = store.verify_audit(|_| {}).await.unwrap();
    assert_eq!(v.broken_at, None, "{v:?}");
    assert_eq!(v.entries, audit_before + 7);
    let (found, _) = store
        .audit_search(&safegrid_store::AuditFilter {
            target_id: Some("3305212026100900002".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].ip.as_deref(), Some("10.0.0.9"));

    // All or nothing: the second case reuses a stored id.
    let fresh = engine::create(new(7, "330503"), None, &ctx).unwrap();
    let again = applied[0].clone();
    let bad = [
        NewCaseWrite {
            applied: &fresh,
            nodes: &n3,
            extra: &[],
            ip: None,
        },
        NewCaseWrite {
            applied: &again,
            nodes: &n3,
            extra: &[],
            ip: None,
        },
    ];
    // A conflict on both backends (SQLite's OR ROLLBACK and PostgreSQL's insert raise it). The
    // intake writer's way: one writer keeps its connection across the failure and the retry.
    let mut writer = store.case_writer();
    assert!(matches!(
        writer.insert_cases(&bad).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store.case(fresh.case.id).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        store.kpi("330000000000", day, day).await.unwrap().reported,
        7
    );
    assert_eq!(
        store.verify_audit(|_| {}).await.unwrap().entries,
        audit_before + 7
    );
    // The failed batch's numbers were not used up.
    let one = writer.insert_cases(&bad[..1]).await.unwrap();
    assert_eq!(one[0].number_text(), "3305032026100900006");
    drop(writer);
}

/// Audit chain, lockout, token scopes and erasure, on the store left by the suite above.
async fn security(store: &Store) {
    use safegrid_store::{AuditEntry, AuditFilter, Eraser, UserChange};
    // Every case transition above wrote an audit entry in its own transaction.
    let (case_entries, total) = store
        .audit_search(&AuditFilter {
            action: Some("case.".into()),
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(total > 0 && case_entries.iter().all(|e| e.action.starts_with("case.")));
    for i in 0..3 {
        store
            .audit(&AuditEntry::new(
                None,
                "admin",
                "account.update",
                "user",
                Some(format!("u{i}")),
                serde_json::json!({ "i": i }),
            ))
            .await
            .unwrap();
    }
    let v = store.verify_audit(|_| {}).await.unwrap();
    assert_eq!(v.broken_at, None, "{v:?}");
    let n = v.entries;
    assert!(n >= 3);
    let (found, _) = store
        .audit_search(&AuditFilter {
            target_id: Some("u1".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].detail["i"], 1);

    // Concurrent appends never fork the chain.
    let mut handles = vec![];
    for i in 0..8 {
        let s = store.clone();
        handles.push(tokio::spawn(async move {
            s.audit(&AuditEntry::new(
                None,
                "x",
                "test.concurrent",
                "t",
                None,
                serde_json::json!(i),
            ))
            .await
            .unwrap()
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    assert_eq!(store.verify_audit(|_| {}).await.unwrap().entries, n + 8);

    // Tampering: an edited entry is found, then a deleted one, then a removed tail.
    let exec = |sql: String| async move {
        match store {
            Store::Sqlite(p) => sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(p)
                .await
                .map(|_| ()),
            Store::Postgres(p) => sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(p)
                .await
                .map(|_| ()),
        }
        .unwrap()
    };
    exec("UPDATE audit_log SET actor_name = 'nobody' WHERE seq = 2".into()).await;
    let v = store.verify_audit(|_| {}).await.unwrap();
    assert_eq!(v.broken_at, Some(2), "{v:?}");
    assert!(v.reason.unwrap().contains("edited"));
    exec("DELETE FROM audit_log WHERE seq = 2".into()).await;
    let v = store.verify_audit(|_| {}).await.unwrap();
    assert_eq!(v.broken_at, Some(2), "{v:?}");
    assert!(v.reason.unwrap().contains("missing"));
    exec(format!(
        "DELETE FROM audit_log WHERE seq <= 2 OR seq = {}",
        n + 8
    ))
    .await;
    let v = store.verify_audit(|_| {}).await.unwrap();
    assert_eq!(v.broken_at, Some(1), "{v:?}");

    // Lockout: the fifth consecutive failure locks; success clears the count.
    let u = store.users().await.unwrap().remove(0);
    for _ in 0..4 {
        assert!(
            store
                .login_failed(u.id, 5, Duration::minutes(15))
                .await
                .unwrap()
                .is_none()
        );
    }
    let until = store
        .login_failed(u.id, 5, Duration::minutes(15))
        .await
        .unwrap();
    assert!(until.is_some_and(|t| t > Utc::now() + Duration::minutes(14)));
    assert!(store.user(u.id).await.unwrap().locked_until.is_some());
    store.login_succeeded(u.id).await.unwrap();
    assert!(store.user(u.id).await.unwrap().locked_until.is_none());

    // A narrowed scope ends the account's sessions at once.
    store
        .create_session("sess-hash", u.id, Utc::now() + Duration::hours(1))
        .await
        .unwrap();
    assert!(store.session_user("sess-hash", 60_000).await.is_ok());
    let changed = store
        .update_user(
            u.id,
            &UserChange {
                regions: Some(vec!["330502000000".into()]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(changed.regions, vec!["330502000000".to_string()]);
    assert!(store.session_user("sess-hash", 60_000).await.is_err());

    // Token scopes are stored and read back.
    store
        .create_token_scoped(u.id, "ro", "tok-hash", None, "read")
        .await
        .unwrap();
    assert_eq!(
        store.token_user_scoped("tok-hash").await.unwrap().scopes,
        "read"
    );
    assert!(store.tokens().await.unwrap().iter().any(|t| t.name == "ro"));

    // Erasure: by phone, audited; then nothing is left to erase.
    let by = Eraser {
        actor_id: None,
        actor_name: "admin".into(),
        reason: "resident request".into(),
    };
    let all = store
        .list_cases(
            &CaseFilter {
                limit: 1000,
                ..Default::default()
            },
            &[],
        )
        .await
        .unwrap();
    let phone = all
        .cases
        .iter()
        .find_map(|c| c.reporter_phone.as_ref().map(|p| p.as_str().to_string()))
        .expect("a case with a phone");
    {
        let erased = store.erase_contact(None, Some(&phone), &by).await.unwrap();
        assert!(!erased.is_empty());
        let again = store
            .list_cases(
                &CaseFilter {
                    limit: 1000,
                    ..Default::default()
                },
                &[],
            )
            .await
            .unwrap();
        assert!(
            again
                .cases
                .iter()
                .all(|c| c.reporter_phone.as_ref().map(Phone::as_str) != Some(phone.as_str()))
        );
        let (e, _) = store
            .audit_search(&AuditFilter {
                action: Some("privacy.erase".into()),
                limit: 5,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(e.len(), 1);
    }
    // Purge by age: everything terminal and older than tomorrow loses its contact.
    let statuses: Vec<String> = all.cases.iter().map(|c| c.status.clone()).collect();
    store
        .purge_contacts(Utc::now() + Duration::days(1), &statuses, &by, 2, |_| {})
        .await
        .unwrap();
    let after = store
        .list_cases(
            &CaseFilter {
                limit: 1000,
                ..Default::default()
            },
            &[],
        )
        .await
        .unwrap();
    assert!(
        after
            .cases
            .iter()
            .all(|c| c.reporter_name.is_none() && c.reporter_phone.is_none())
    );
}

/// Disputes and petitions: committees and mediators, the records written with their case in
/// one transaction (a failing record write undoes the case write), success rates, screening
/// reports all-or-nothing, and the petition backlog.
async fn disputes_suite(store: &Store) {
    use safegrid_domain::dispute::{AgreementInput, NewDispute, NewPetition, PartyInput};
    use safegrid_store::disputes::{self as rec, SuccessBy};
    let now = Utc.with_ymd_and_hms(2026, 10, 9, 2, 0, 0).unwrap();
    let cal = WorkCalendar::builtin();
    let ctx = Context {
        calendar: &cal,
        limits: &FixedLimits,
        now,
    };
    let c = store
        .create_committee("吴兴区人民调解委员会", "township", "330502000000", now)
        .await
        .unwrap();
    assert!(matches!(
        store
            .create_committee("吴兴区人民调解委员会", "township", "330502000000", now)
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store
            .create_mediator(uuid::Uuid::now_v7(), "沈调解", None, None, now)
            .await,
        Err(StoreError::Invalid(_))
    ));
    let m = store
        .create_mediator(c.id, "沈调解", Some("13905720000"), None, now)
        .await
        .unwrap();
    assert_eq!(store.mediators(Some(c.id)).await.unwrap(), vec![m.clone()]);
    assert_eq!(store.committees(Some("330502")).await.unwrap().len(), 1);
    assert!(store.committees(Some("330503")).await.unwrap().is_empty());

    let new = |case_type: &str, category: &str, n: u32| NewCase {
        id: uuid::Uuid::now_v7(),
        county_code: "330502".into(),
        number: None,
        tracking_code: format!("DSP{case_type}{n}"),
        case_type: case_type.into(),
        category: category.into(),
        urgency: Urgency::Normal,
        channel: "hotline".into(),
        description: "楼上漏水".into(),
        address: None,
        lat: None,
        lon: None,
        grid_code: Some(GridCode::parse("330502001001001").unwrap()),
        region_code: RegionCode::parse("330502001001").unwrap(),
        needs_grid: false,
        needs_location: false,
        reporter_name: None,
        reporter_phone: None,
        reporter_user: None,
        reporter_anonymous: false,
    };
    let record = NewDispute {
        parties: vec![
            PartyInput {
                role: Some("applicant".into()),
                name: "张建国".into(),
                ..Default::default()
            },
            PartyInput {
                role: Some("respondent".into()),
                name: "李秀英".into(),
                ..Default::default()
            },
        ],
        ..Default::default()
    }
    .validate()
    .unwrap();
    let a = engine::create(new("dispute", "D0202", 1), None, &ctx).unwrap();
    let extra = rec::insert_dispute(
        "330502",
        a.case.id,
        a.case.region_code.as_str(),
        "D0202",
        &record,
        now,
    );
    let case = store
        .insert_case_with(&a, &["330502000000".into()], &extra)
        .await
        .unwrap();
    let r = store.dispute_record("330502", case.id).await.unwrap();
    assert_eq!(
        (r.scale.as_str(), r.people_count, r.outcome),
        ("01", 2, None)
    );
    let parties = store.dispute_parties("330502", case.id).await.unwrap();
    assert_eq!(
        parties.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
        ["张建国", "李秀英"]
    );

    // A case whose record cannot be written is not written either.
    let b = engine::create(new("dispute", "D0202", 2), None, &ctx).unwrap();
    let mut twice = rec::insert_dispute("330502", b.case.id, "330502001001", "D0202", &record, now);
    twice.extend(rec::insert_dispute(
        "330502",
        b.case.id,
        "330502001001",
        "D0202",
        &record,
        now,
    ));
    assert!(store.insert_case_with(&b, &[], &twice).await.is_err());
    assert!(matches!(
        store.case(b.case.id).await,
        Err(StoreError::NotFound)
    ));

    // Through the flow; a failing agreement write undoes the action (version, history).
    let mediator = Actor {
        id: None,
        username: "med".into(),
        role: Role::Mediator,
        department: None,
        grids: vec![],
        regions: vec![],
    };
    let mut cur = case;
    for req in [
        ActionRequest {
            action: "accept".into(),
            ..Default::default()
        },
        ActionRequest {
            action: "assign".into(),
            mediator: Some(m.id),
            ..Default::default()
        },
    ] {
        let ap = engine::apply(&cur, &typed(&req), &mediator, &ctx).unwrap();
        let w = if req.action == "assign" {
            vec![rec::assign_mediator("330502", cur.id, c.id, m.id, "0103")]
        } else {
            vec![]
        };
        cur = store
            .update_case_with(cur.version, &ap, &[], &w)
            .await
            .unwrap();
    }
    let mut session = ActionRequest {
        action: "record_session".into(),
        ..Default::default()
    };
    session.session = Some(safegrid_domain::dispute::SessionInput {
        held_on: "2026-10-08".into(),
        place: "调解室".into(),
        attendees: vec!["张建国".into(), "李秀英".into()],
        notes: None,
    });
    let ap = engine::apply(&cur, &typed(&session), &mediator, &ctx).unwrap();
    let s = session
        .session
        .clone()
        .unwrap()
        .validate(now.date_naive())
        .unwrap();
    let w = vec![
        rec::insert_session("330502", cur.id, &s, "med", now),
        rec::insert_session("330502", cur.id, &s, "med", now),
    ];
    cur = store
        .update_case_with(cur.version, &ap, &[], &w)
        .await
        .unwrap();
    let seqs: Vec<i32> = store
        .mediation_sessions("330502", cur.id)
        .await
        .unwrap()
        .iter()
        .map(|s| s.seq)
        .collect();
    assert_eq!(
        seqs,
        [1, 2],
        "sessions are numbered in the case's transaction"
    );
    let mut agree = ActionRequest {
        action: "reach_agreement".into(),
        ..Default::default()
    };
    agree.agreement = Some(AgreementInput {
        form: "written".into(),
        content: "楼上修复防水并赔偿。".into(),
        ..Default::default()
    });
    let ap = engine::apply(&cur, &typed(&agree), &mediator, &ctx).unwrap();
    let ag = agree.agreement.clone().unwrap().validate().unwrap();
    let due = cal.due(now, "30 days".parse().unwrap());
    let bad = vec![
        rec::insert_agreement("330502", cur.id, &ag, now, due),
        rec::insert_agreement("330502", cur.id, &ag, now, due),
    ];
    let events_before = store.events(&cur).await.unwrap().len();
    assert!(
        store
            .update_case_with(cur.version, &ap, &[], &bad)
            .await
            .is_err()
    );
    let unchanged = store.case(cur.id).await.unwrap();
    assert_eq!(
        (unchanged.version, unchanged.status.as_str()),
        (cur.version, "mediating")
    );
    assert_eq!(store.events(&cur).await.unwrap().len(), events_before);
    assert!(
        store
            .mediation_agreement("330502", cur.id)
            .await
            .unwrap()
            .is_none()
    );
    cur = store
        .update_case_with(cur.version, &ap, &[], &bad[..1])
        .await
        .unwrap();
    assert_eq!(cur.status, "agreed");
    // The reminder query finds it only within the horizon and until reminded.
    let states = ["agreed", "following_up"];
    assert!(
        store
            .confirmations_to_remind(now, now, &states)
            .await
            .unwrap()
            .is_empty()
    );
    let found = store
        .confirmations_to_remind(due, now, &states)
        .await
        .unwrap();
    assert_eq!(found, vec![("330502".to_string(), cur.id)]);
    let ap = engine::apply(
        &cur,
        &typed(&ActionRequest {
            action: "close_resolved".into(),
            ..Default::default()
        }),
        &mediator,
        &ctx,
    )
    .unwrap();
    cur = store
        .update_case_with(
            cur.version,
            &ap,
            &[],
            &[rec::conclude_dispute(
                "330502",
                cur.id,
                "resolved",
                Some("双方握手言和"),
                now,
                None,
            )],
        )
        .await
        .unwrap();
    assert!(
        store
            .confirmations_to_remind(due, now, &states)
            .await
            .unwrap()
            .is_empty(),
        "closed cases are not reminded"
    );
    let done = store.dispute_record("330502", cur.id).await.unwrap();
    assert_eq!(
        (done.outcome.as_deref(), done.result.as_deref()),
        (Some("resolved"), Some("双方握手言和"))
    );
    let rates = store
        .dispute_success(
            "3305",
            now - Duration::days(1),
            now + Duration::days(1),
            SuccessBy::Method,
        )
        .await
        .unwrap();
    assert_eq!(rates.len(), 1);
    assert_eq!(
        (rates[0].key.as_str(), rates[0].concluded, rates[0].resolved),
        ("0103", 1, 1)
    );
    let by_region = store
        .dispute_success(
            "330502",
            now - Duration::days(1),
            now + Duration::days(1),
            SuccessBy::Region(9),
        )
        .await
        .unwrap();
    assert_eq!(by_region[0].key, "330502001");
    assert!(
        store
            .dispute_success(
                "330503",
                now - Duration::days(1),
                now + Duration::days(1),
                SuccessBy::Class
            )
            .await
            .unwrap()
            .is_empty()
    );

    // Screening: all or nothing.
    let day = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    let period = (day("2026-10-01"), day("2026-10-31"));
    let dup = [
        ("330502".to_string(), cur.id),
        ("330502".to_string(), cur.id),
    ];
    assert!(
        store
            .insert_screening(
                "330502001001001",
                "330502001001",
                period,
                &dup,
                None,
                "gw",
                now
            )
            .await
            .is_err()
    );
    assert!(
        store
            .screenings("330502", "2026-01-01", "2026-12-31")
            .await
            .unwrap()
            .is_empty()
    );
    store
        .insert_screening(
            "330502001001001",
            "330502001001",
            period,
            &dup[..1],
            None,
            "gw",
            now,
        )
        .await
        .unwrap();
    let none = store
        .insert_screening(
            "330502001001002",
            "330502001001",
            period,
            &[],
            Some("无"),
            "gw",
            now,
        )
        .await
        .unwrap();
    assert!(none.none_found);
    let list = store
        .screenings("3305", "2026-10-15", "2026-10-15")
        .await
        .unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(
        list.iter().find(|(r, _)| !r.none_found).unwrap().1,
        vec![cur.id]
    );

    // Petitions: the record, a repeat counted on the original, the backlog.
    let p = NewPetition {
        channel: "letter".into(),
        ..Default::default()
    }
    .validate()
    .unwrap();
    let a = engine::create(new("petition", "X0101", 1), None, &ctx).unwrap();
    let first = store
        .insert_case_with(
            &a,
            &[],
            &[rec::insert_petition(
                "330502",
                a.case.id,
                "330502001001",
                &p,
                now,
            )],
        )
        .await
        .unwrap();
    assert_eq!(first.stage_limit.as_deref(), Some("15 days"));
    let terminal: Vec<String> = ["not_accepted", "concluded", "re_reviewed", "merged"]
        .map(String::from)
        .to_vec();
    let windows: Vec<String> = ["replied", "reviewed"].map(String::from).to_vec();
    assert!(
        store
            .petition_backlog("3305", now, &terminal, &windows)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        !store
            .petition_backlog("3305", now + Duration::days(40), &terminal, &windows)
            .await
            .unwrap()
            .is_empty(),
        "past its 15 days"
    );
    let b = engine::create(new("petition", "X0101", 2), None, &ctx).unwrap();
    store
        .insert_case_with(
            &b,
            &[],
            &[
                rec::insert_petition("330502", b.case.id, "330502001001", &p, now),
                rec::petition_repeated("330502", first.id),
            ],
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .petition_record("330502", first.id)
            .await
            .unwrap()
            .repeat_count,
        1
    );
    let backlog = store
        .petition_backlog("3305", now, &terminal, &windows)
        .await
        .unwrap();
    assert_eq!(backlog, vec![("330502".to_string(), first.id, 1)]);
}

/// Open311: client keys, update ids taken once, list filters (ids, numbers, categories, states,
/// times, region) and the updates feed by time.
async fn open311(store: &Store) {
    use safegrid_store::Open311Query;
    let client = store.create_open311_client("fms", "kh").await.unwrap();
    assert!(matches!(
        store.create_open311_client("fms", "kh2").await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.open311_client_by_key("kh").await.unwrap().id,
        client.id
    );
    assert!(matches!(
        store.open311_client_by_key("nope").await,
        Err(StoreError::NotFound)
    ));

    let cal = WorkCalendar::builtin();
    let t = Utc.with_ymd_and_hms(2030, 3, 4, 2, 0, 0).unwrap();
    let ctx = Context {
        calendar: &cal,
        limits: &FixedLimits,
        now: t,
    };
    let new = |category: &str, county: &str| NewCase {
        id: uuid::Uuid::now_v7(),
        county_code: county.into(),
        number: None,
        tracking_code: format!("O311{category}"),
        case_type: "service_event".into(),
        category: category.into(),
        urgency: Urgency::Normal,
        channel: "open311".into(),
        description: "井盖".into(),
        address: None,
        lat: None,
        lon: None,
        grid_code: None,
        region_code: RegionCode::parse(&format!("{county}001001")).unwrap(),
        needs_grid: true,
        needs_location: true,
        reporter_name: None,
        reporter_phone: None,
        reporter_user: None,
        reporter_anonymous: false,
    };
    let x = store
        .insert_case(
            &engine::create(new("C0102", "330502"), None, &ctx).unwrap(),
            &[],
        )
        .await
        .unwrap();
    let y = store
        .insert_case(
            &engine::create(new("E0101", "330503"), None, &ctx).unwrap(),
            &[],
        )
        .await
        .unwrap();

    // An update id is taken once per client; a released one can be taken again.
    assert!(
        store
            .claim_open311_update(client.id, "u1", &x)
            .await
            .unwrap()
    );
    assert!(
        !store
            .claim_open311_update(client.id, "u1", &y)
            .await
            .unwrap()
    );
    store.release_open311_update(client.id, "u1").await.unwrap();
    assert!(
        store
            .claim_open311_update(client.id, "u1", &x)
            .await
            .unwrap()
    );

    let list = |q: Open311Query| async move {
        let mut v: Vec<String> = store
            .open311_cases(&Open311Query { limit: 100, ..q })
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.number_text())
            .collect();
        v.sort();
        v
    };
    let since = Some(t - Duration::minutes(1));
    assert_eq!(
        list(Open311Query {
            ids: vec![x.id],
            ..Default::default()
        })
        .await,
        [x.number_text()]
    );
    assert_eq!(
        list(Open311Query {
            numbers: vec![y.number_text()],
            categories: vec!["C0102".into()],
            ..Default::default()
        })
        .await,
        [y.number_text()],
        "ids override the other filters"
    );
    assert_eq!(
        list(Open311Query {
            categories: vec!["E0101".into(), "X".into()],
            created_from: since,
            ..Default::default()
        })
        .await,
        [y.number_text()]
    );
    assert_eq!(
        list(Open311Query {
            region_prefix: Some("330502".into()),
            created_from: since,
            ..Default::default()
        })
        .await,
        [x.number_text()]
    );
    assert!(
        list(Open311Query {
            statuses: vec!["closed".into()],
            created_from: since,
            ..Default::default()
        })
        .await
        .is_empty()
    );
    assert_eq!(
        list(Open311Query {
            statuses: vec!["reported".into()],
            created_from: since,
            created_to: Some(t),
            ..Default::default()
        })
        .await
        .len(),
        2
    );
    assert!(
        list(Open311Query {
            created_from: since,
            created_to: Some(t - Duration::seconds(1)),
            ..Default::default()
        })
        .await
        .is_empty()
    );
    let paged = store
        .open311_cases(&Open311Query {
            created_from: since,
            limit: 1,
            offset: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(paged.len(), 1);

    // A step an hour later: seen by updated_after and by the feed, which skips the reports.
    let later = Context {
        calendar: &cal,
        limits: &FixedLimits,
        now: t + Duration::hours(1),
    };
    let reg = engine::apply(
        &x,
        &typed(&ActionRequest {
            action: "register".into(),
            ..Default::default()
        }),
        &Actor::system(),
        &later,
    )
    .unwrap();
    store.update_case(x.version, &reg, &[]).await.unwrap();
    assert_eq!(
        list(Open311Query {
            updated_after: Some(t),
            created_from: since,
            ..Default::default()
        })
        .await,
        [x.number_text()]
    );
    assert_eq!(
        list(Open311Query {
            updated_before: Some(t + Duration::minutes(1)),
            created_from: since,
            ..Default::default()
        })
        .await,
        [y.number_text()]
    );
    let events = store
        .events_of_cases(&[x.clone(), y.clone()])
        .await
        .unwrap();
    assert_eq!(events[&x.id].len(), 2);
    assert_eq!(events[&y.id].len(), 1);
    assert_eq!(events[&x.id][1].action, "register");
    let feed = store
        .open311_feed(
            t - Duration::minutes(1),
            t + Duration::hours(2),
            Some("3305"),
            &["report"],
            100,
        )
        .await
        .unwrap();
    assert_eq!(feed.len(), 1, "{feed:?}");
    assert_eq!(
        (feed[0].case_id, feed[0].seq, feed[0].to_status.as_str()),
        (x.id, 2, "registered")
    );
    assert!(
        store
            .open311_feed(
                t - Duration::minutes(1),
                t + Duration::hours(2),
                Some("330503"),
                &["report"],
                100
            )
            .await
            .unwrap()
            .is_empty()
    );

    store.revoke_open311_client("fms").await.unwrap();
    assert!(matches!(
        store.revoke_open311_client("fms").await,
        Err(StoreError::NotFound)
    ));
    assert!(
        store
            .open311_client_by_key("kh")
            .await
            .unwrap()
            .revoked_at
            .is_some()
    );
}

async fn fresh_sqlite(tag: &str) -> (Store, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("sg-{tag}-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = Store::connect(&format!("sqlite://{}/s.db", dir.display()))
        .await
        .unwrap();
    (store, dir)
}

#[tokio::test]
async fn places_on_sqlite() {
    let (store, dir) = fresh_sqlite("places").await;
    places_suite(&store).await;
    store.close().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn places_on_postgres() {
    match pg_store().await {
        Some(store) => places_suite(&store).await,
        None => loud_skip("places_on_postgres"),
    }
}

/// The register of places: many written in one transaction or none (a taken id or reference
/// undoes the whole batch), version-checked edits, filters and scopes, keyset pages.
async fn places_suite(store: &Store) {
    use safegrid_domain::place::{Place, PlaceInput, PlaceKind, PlaceStatus};
    use safegrid_store::{AuditEntry, AuditFilter, PlaceFilter};
    store.migrate().await.unwrap();
    let now = Utc.with_ymd_and_hms(2026, 12, 1, 2, 0, 0).unwrap();
    let place = |kind: &str, name: &str, grid: &str, ext: Option<&str>| {
        let f = PlaceInput {
            kind: kind.into(),
            name: name.into(),
            address: format!("湖州市{name}"),
            lat: Some(30.87),
            lon: Some(120.1),
            contact_name: Some("李四".into()),
            contact_phone: Some("13900001111".into()),
            tags: vec!["电动车".into()],
            external_ref: ext.map(Into::into),
            ..Default::default()
        }
        .validate()
        .unwrap();
        Place::new(
            uuid::Uuid::now_v7(),
            f,
            Some(grid.into()),
            grid[..12].into(),
            None,
            now,
        )
    };
    let audit = |n: usize| {
        AuditEntry::new(
            None,
            "test",
            "place.import",
            "place",
            None,
            serde_json::json!({ "n": n }),
        )
    };
    let a = place(
        "group_rental",
        "织里镇大港路88号",
        "330502001001001",
        Some("A-1"),
    );
    let b = place("shop", "爱山街道100%便利店", "330502001001002", None);
    let c = place(
        "group_rental",
        "南浔镇南林路9号",
        "330503002001001",
        Some("A-1"),
    );
    store
        .save_places(&[a.clone(), b.clone(), c.clone()], &[], &[audit(3)], now)
        .await
        .unwrap();
    let all = PlaceFilter::default();
    assert_eq!(store.count_places(&all).await.unwrap(), 3);
    let got = store.place("330502", a.id).await.unwrap();
    assert_eq!(got, a, "a place reads back as written");
    assert_eq!(store.place_by_id(c.id).await.unwrap().county_code, "330503");
    assert!(matches!(
        store.place("330503", a.id).await,
        Err(StoreError::NotFound)
    ));

    // A batch with a taken id, or a reference taken in the county, writes nothing at all.
    let d = place("school", "湖州市第一中学", "330502001001001", None);
    let e = store
        .save_places(&[d.clone(), b.clone()], &[], &[audit(2)], now)
        .await;
    assert!(
        matches!(&e, Err(StoreError::Conflict(m)) if m.starts_with("id")),
        "{e:?}"
    );
    let dup_ref = place("unit", "某公司", "330502001001001", Some("A-1"));
    let e = store
        .save_places(&[d.clone(), dup_ref], &[], &[audit(2)], now)
        .await;
    assert!(
        matches!(&e, Err(StoreError::Conflict(m)) if m.starts_with("external_ref")),
        "{e:?}"
    );
    assert_eq!(
        store.count_places(&all).await.unwrap(),
        3,
        "nothing of a refused batch"
    );
    let audited = |f: AuditFilter| async move { store.audit_search(&f).await.unwrap().1 };
    let place_audit = AuditFilter {
        target_type: Some("place".into()),
        limit: 100,
        ..Default::default()
    };
    assert_eq!(
        audited(place_audit.clone()).await,
        1,
        "a refused batch leaves no audit entry"
    );

    // Edits: compare-and-swap on the version.
    let mut edited = a.clone();
    edited.name = "织里镇大港路88号出租楼".into();
    edited.status = PlaceStatus::Closed;
    edited.updated_at = now + Duration::minutes(5);
    store
        .save_places(&[], &[edited.clone()], &[audit(1)], now)
        .await
        .unwrap();
    let after = store.place("330502", a.id).await.unwrap();
    assert_eq!(
        (after.version, after.status, after.name.as_str()),
        (2, PlaceStatus::Closed, "织里镇大港路88号出租楼")
    );
    assert_eq!(after.created_at, a.created_at);
    let stale = store
        .save_places(&[], &[edited.clone()], &[audit(1)], now)
        .await;
    assert!(
        matches!(&stale, Err(StoreError::Conflict(m)) if m.starts_with("version")),
        "{stale:?}"
    );
    let mut gone = d.clone();
    gone.version = 1;
    assert!(matches!(
        store.save_places(&[], &[gone], &[], now).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(audited(place_audit).await, 2);

    // Filters, scopes and pages.
    let count = |f: PlaceFilter| async move { store.count_places(&f).await.unwrap() };
    let f = |g: fn(&mut PlaceFilter)| {
        let mut f = PlaceFilter::default();
        g(&mut f);
        f
    };
    assert_eq!(
        count(f(|f| f.region_prefix = Some("330502".into()))).await,
        2
    );
    assert_eq!(count(f(|f| f.region_prefix = Some("3305".into()))).await, 3);
    assert_eq!(
        count(f(|f| f.kinds = vec![PlaceKind::GroupRental])).await,
        2
    );
    assert_eq!(
        count(f(|f| f.statuses = vec![PlaceStatus::Active])).await,
        2
    );
    assert_eq!(
        count(f(|f| f.grids = vec!["330502001001002".into()])).await,
        1
    );
    assert_eq!(
        count(f(|f| f.text = Some("100%".into()))).await,
        1,
        "% matches literally"
    );
    assert_eq!(count(f(|f| f.text = Some("1%0".into()))).await, 0);
    assert_eq!(
        count(f(|f| f.text = Some("湖州市南浔".into()))).await,
        1,
        "the address too"
    );
    assert_eq!(
        count(f(|f| f.scope_grids = vec!["330502001001001".into()])).await,
        1
    );
    assert_eq!(
        count(f(|f| {
            f.scope_grids = vec!["330502001001001".into()];
            f.scope_regions = vec!["330503".into()];
        }))
        .await,
        2,
        "any of the scope's parts"
    );
    assert_eq!(count(f(|f| f.scope_nothing = true)).await, 0);
    let mut page = PlaceFilter {
        limit: 2,
        ..Default::default()
    };
    let first = store.list_places(&page).await.unwrap();
    assert_eq!(first.len(), 2);
    page.after = Some(first[1].id);
    let second = store.list_places(&page).await.unwrap();
    assert_eq!(second.iter().map(|p| p.id).collect::<Vec<_>>(), vec![c.id]);
    assert!(first[0].id < first[1].id);
    let by_ref = store
        .places_by_external_ref("330502", &["A-1".into(), "B-9".into()])
        .await
        .unwrap();
    assert_eq!(by_ref.iter().map(|p| p.id).collect::<Vec<_>>(), vec![a.id]);

    // A large batch (more than one multi-row insert) lands whole.
    let many: Vec<Place> = (0..1203)
        .map(|i| {
            place(
                "rental_building",
                &format!("出租楼{i}号"),
                "330502001001003",
                Some(&format!("R{i}")),
            )
        })
        .collect();
    store
        .save_places(&many, &[], &[audit(many.len())], now)
        .await
        .unwrap();
    assert_eq!(
        count(f(|f| f.grids = vec!["330502001001003".into()])).await,
        1203
    );
}

#[tokio::test]
async fn campaigns_on_sqlite() {
    let (store, dir) = fresh_sqlite("campaigns").await;
    campaigns_suite(&store).await;
    store.close().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn campaigns_on_postgres() {
    match pg_store().await {
        Some(store) => campaigns_suite(&store).await,
        None => loud_skip("campaigns_on_postgres"),
    }
}

/// Campaigns: publishing makes one task per active place of the kinds in the territory with the
/// row's version check, in one transaction; an inspection is stored once per task (the same id
/// again answers the first copy, another id is a conflict) with its photos.
async fn campaigns_suite(store: &Store) {
    use safegrid_store::campaigns::{CampaignRow, InspectionPhoto, InspectionRow, Stored};
    store.migrate().await.unwrap();
    let place = |kind: &'static str, region: &'static str, status: &'static str| {
        (uuid::Uuid::now_v7(), kind, region, status)
    };
    let places = [
        place("group_rental", "330502001001", "active"),
        place("group_rental", "330502001002", "active"),
        place("group_rental", "330502002001", "closed"),
        place("shop", "330502001001", "active"),
        place("group_rental", "330503001001", "active"),
    ];
    for (id, kind, region, status) in &places {
        let sql = "INSERT INTO places (county_code, id, kind, name, address, grid_code, region_code, tags, status, created_at, updated_at, version)
                   VALUES ($1, $2, $3, '某处', '某路1号', $4, $5, '[]', $6, 0, 0, 1)";
        let grid = format!("{region}01");
        match store {
            Store::Sqlite(p) => sqlx::query(sql)
                .bind(&region[..6])
                .bind(id)
                .bind(kind)
                .bind(&grid)
                .bind(region)
                .bind(status)
                .execute(p)
                .await
                .map(|_| ()),
            Store::Postgres(p) => sqlx::query(sql)
                .bind(&region[..6])
                .bind(id)
                .bind(kind)
                .bind(&grid)
                .bind(region)
                .bind(status)
                .execute(p)
                .await
                .map(|_| ()),
        }
        .unwrap();
    }
    let mut c = CampaignRow {
        id: uuid::Uuid::now_v7(),
        title: "群租房消防".into(),
        kind: "group_rental".into(),
        region_code: "330502000000".into(),
        place_kinds: "[\"group_rental\"]".into(),
        starts_on: "2026-12-01".into(),
        ends_on: "2026-12-31".into(),
        status: "draft".into(),
        checklist: "{\"items\":[]}".into(),
        department_code: None,
        created_by: None,
        created_at: 1,
        updated_at: 1,
        published_at: None,
        closed_at: None,
        copied_from: None,
        version: 1,
    };
    store.insert_campaign(&c, None).await.unwrap();
    c.status = "published".into();
    // A stale version publishes nothing.
    assert!(matches!(
        store
            .publish_campaign(&c, 7, "330502", &["group_rental".into()], None)
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(
        store
            .campaign_tasks(c.id, "330502")
            .await
            .unwrap()
            .is_empty()
    );
    let made = store
        .publish_campaign(&c, 1, "330502", &["group_rental".into()], None)
        .await
        .unwrap();
    // Two active group rentals in 吴兴区: not the closed one, the shop, or 南浔's.
    assert_eq!(made, 2);
    let stored = store.campaign(c.id).await.unwrap();
    assert_eq!((stored.status.as_str(), stored.version), ("published", 2));
    let counts = store.task_counts(c.id, "330502001").await.unwrap();
    assert_eq!(counts.iter().map(|t| t.n).sum::<i64>(), 2);

    let (pid, _, region, _) = places[0];
    let row = InspectionRow {
        county_code: "330502".into(),
        id: uuid::Uuid::now_v7(),
        campaign_id: c.id,
        place_id: pid,
        grid_code: Some(format!("{region}01")),
        region_code: region.into(),
        outcome: "inspected".into(),
        answers: "{}".into(),
        note: None,
        lat: None,
        lon: None,
        submitted_by: uuid::Uuid::now_v7(),
        submitted_at: 5,
    };
    let photo = InspectionPhoto {
        name: "door.jpg".into(),
        width: 1,
        height: 1,
        image: vec![1, 2, 3],
        thumb: vec![1],
    };
    assert_eq!(
        store
            .insert_inspection(&row, "inspected", std::slice::from_ref(&photo), None)
            .await
            .unwrap(),
        Stored::New
    );
    // The same id again: the first copy, nothing written twice.
    assert!(matches!(
        store
            .insert_inspection(&row, "inspected", std::slice::from_ref(&photo), None)
            .await
            .unwrap(),
        Stored::Existing(_)
    ));
    // Another id for the same task: refused, and its photo is not stored.
    let mut other = row.clone();
    other.id = uuid::Uuid::now_v7();
    assert!(matches!(
        store
            .insert_inspection(&other, "inspected", &[photo], None)
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store
            .inspection_photo_names("330502", other.id)
            .await
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        store
            .inspection_photo("330502", row.id, "door.jpg", false)
            .await
            .unwrap(),
        vec![1, 2, 3]
    );
    let tasks = store.campaign_tasks(c.id, "330502").await.unwrap();
    let t = tasks.iter().find(|t| t.place_id == pid).unwrap();
    assert_eq!(
        (t.status.as_str(), t.inspection_id),
        ("inspected", Some(row.id))
    );
    assert_eq!(
        store.place_inspections("330502", pid).await.unwrap().len(),
        1
    );
}
