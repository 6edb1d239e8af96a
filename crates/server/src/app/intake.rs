//! Group commit for new cases (批量提交). Every channel's new case goes through one writer task,
//! which takes whatever has queued up while the previous transaction was committing and stores it
//! in one transaction. Under light load a batch is one case and nothing waits; under a surge
//! (a hotline's 3× morning) the cost of a commit — SQLite's single write lock, PostgreSQL's WAL
//! flush and the audit chain's head row — is shared by the whole batch instead of serialising
//! every request behind it. A case is acknowledged only after its batch committed.

use safegrid_domain::engine::{Applied, Case};
use safegrid_store::disputes::SideWrite;
use safegrid_store::{CaseWriter, NewCaseWrite, Store, StoreError};
use tokio::sync::{mpsc, oneshot};

// A stopped writer means storage is going away: answered like a closed pool.

/// Most cases in one transaction: beyond this a batch's latency outweighs what it saves.
const MAX_BATCH: usize = 256;

struct Job {
    applied: Applied,
    nodes: Vec<String>,
    extra: Vec<SideWrite>,
    ip: Option<String>,
    reply: oneshot::Sender<Result<Case, StoreError>>,
}

/// The handle request handlers use; cheap to clone.
#[derive(Clone)]
pub struct Intake {
    tx: mpsc::Sender<Job>,
    /// Asks the writer to finish (see [`Intake::close`]).
    stop: std::sync::Arc<tokio::sync::Notify>,
    /// Said by the writer once it has stored what was queued and let go of its connection.
    stopped: std::sync::Arc<tokio::sync::Mutex<Option<oneshot::Receiver<()>>>>,
}

impl Intake {
    /// Starts the writer. With a connection of its own (`Some(writer)`): on SQLite it runs on a
    /// thread of its own, and a companion task on the current runtime checkpoints the
    /// write-ahead log from the readers' pool every second, so the writer's commits never
    /// stall on it; on PostgreSQL it is a task on the current runtime. Without one (`None`,
    /// in-memory SQLite) the writer is a task sharing `store`.
    pub fn start(writer_store: Option<Store>, store: Store) -> Intake {
        let (tx, rx) = mpsc::channel(4 * MAX_BATCH);
        let stop = std::sync::Arc::new(tokio::sync::Notify::new());
        let (done, stopped) = oneshot::channel();
        let ending = Ending {
            stop: stop.clone(),
            done,
        };
        match writer_store {
            Some(w) if w.backend() == "sqlite" => {
                // The writer's transaction is a dozen round trips to its connection; on the
                // request runtime each wake-up queued behind the HTTP work, so the one serial
                // part of intake waited on the parallel ones. Its own thread and runtime answer
                // at once. (SQLite only: its connection is a thread of its own, whereas a
                // PostgreSQL socket stays with the runtime that opened it.)
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a current-thread runtime for the intake writer");
                let readers = store.clone();
                std::thread::Builder::new()
                    .name("intake-writer".into())
                    .spawn(move || runtime.block_on(writer(w, readers, rx, true, ending)))
                    .expect("spawning the intake writer thread");
                let readers = store;
                let checkpoints = tx.downgrade();
                tokio::spawn(async move {
                    // Once a second: a page dirtied again before the next checkpoint is copied
                    // to the database once. Every 250 ms, a million-case database wrote 8 % more
                    // per new case (docs/performance.md, ninth round).
                    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
                    let mut last_restart = None;
                    // Stops with the writer (when every handle to it is gone).
                    while checkpoints.upgrade().is_some() {
                        tick.tick().await;
                        // 65,536 pages of log (128 MiB at 2 KiB pages, 256 MiB in a database made with 4 KiB):
                        // a restart stalls new cases for a moment, so rarely.
                        match readers.checkpoint(65_536, &mut last_restart).await {
                            Ok(_) => {}
                            // Shutting down: the store was closed before the last handle went.
                            Err(StoreError::Db(sqlx::Error::PoolClosed)) => break,
                            Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed; retrying"),
                        }
                    }
                });
            }
            Some(w) => {
                tokio::spawn(writer(w, store, rx, true, ending));
            }
            None => {
                tokio::spawn(writer(store.clone(), store, rx, false, ending));
            }
        }
        Intake {
            tx,
            stop,
            stopped: std::sync::Arc::new(tokio::sync::Mutex::new(Some(stopped))),
        }
    }

    /// Stops the writer on shutdown, after the HTTP server has finished its requests: what is
    /// queued is stored and answered, later inserts are refused as storage closing, and a
    /// writer with a connection of its own closes it (on SQLite the last connection to close
    /// copies the write-ahead log into the database and removes it, so the next start does not
    /// inherit a log to checkpoint under load). Returns when that is done; calling it again
    /// returns at once.
    pub async fn close(&self) {
        self.stop.notify_one();
        if let Some(stopped) = self.stopped.lock().await.take() {
            let _ = stopped.await;
        }
    }

    /// Stores a new case (numbered in the batch's transaction); returns it once committed.
    pub async fn insert(
        &self,
        applied: Applied,
        nodes: Vec<String>,
        extra: Vec<SideWrite>,
    ) -> Result<Case, StoreError> {
        let (reply, rx) = oneshot::channel();
        let job = Job {
            applied,
            nodes,
            extra,
            // The writer task runs outside the request: the client address travels with the job.
            ip: safegrid_store::audit::current_ip(),
            reply,
        };
        self.tx
            .send(job)
            .await
            .map_err(|_| StoreError::Db(sqlx::Error::PoolClosed))?;
        rx.await
            .map_err(|_| StoreError::Db(sqlx::Error::PoolClosed))?
    }
}

/// `own`: `store` is the writer's alone, so it keeps its connection between batches (one
/// shared with request handlers is given back after each). `readers` answers the writer's one
/// question that must not wait for its own connection: whether a tracking code is taken.
async fn writer(
    store: Store,
    readers: Store,
    mut rx: mpsc::Receiver<Job>,
    own: bool,
    ending: Ending,
) {
    let mut held = own.then(|| store.case_writer());
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    loop {
        let first = tokio::select! {
            biased;
            job = rx.recv() => job,
            () = ending.stop.notified() => {
                // No new jobs; the loop goes on with those already queued, then ends.
                rx.close();
                continue;
            }
        };
        let Some(first) = first else { break };
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(j) => batch.push(j),
                Err(_) => break,
            }
        }
        let started = std::time::Instant::now();
        let size = batch.len();
        let result = insert(&store, &mut held, &writes(&batch)).await;
        match result {
            Ok(cases) => {
                for (job, case) in batch.drain(..).zip(cases) {
                    let _ = job.reply.send(Ok(case));
                }
            }
            Err(e) => {
                // One bad case must not fail its neighbours: store them one by one, so each gets
                // its own answer (a batch of one has it already).
                let mut known = (batch.len() == 1).then_some(e);
                for mut job in batch.drain(..) {
                    let mut r = match known.take() {
                        Some(e) => Err(e),
                        None => insert_one(&store, &mut held, &job).await,
                    };
                    // A tracking code is 50 random bits, drawn before the case reaches the
                    // writer: one in about 2^50 / (cases stored) is taken already, and the
                    // code's table refuses it. Draw again (twice in a row is as good as never;
                    // three draws bound the loop).
                    for _ in 0..3 {
                        if !matches!(r, Err(StoreError::Conflict(_))) {
                            break;
                        }
                        let code = &job.applied.case.tracking_code;
                        match readers.tracking_code_taken(code).await {
                            Ok(true) => {}
                            Ok(false) => break,
                            // Not known whether the code or the id was refused: the client is
                            // told what went wrong (busy: retry), not a conflict that may not
                            // be one.
                            Err(e) => {
                                r = Err(e);
                                break;
                            }
                        }
                        tracing::info!(case = %job.applied.case.id, "tracking code taken; drawing another");
                        job.applied.case.tracking_code =
                            crate::app::service::tracking_code(&mut rand::rng());
                        r = insert_one(&store, &mut held, &job).await;
                    }
                    let _ = job.reply.send(r);
                }
            }
        }
        crate::app::metrics::intake_batch(size, started.elapsed().as_secs_f64());
    }
    // The connection goes back to the pool before the pool closes (closing waits for it).
    drop(held);
    if own {
        store.close().await;
    }
    let _ = ending.done.send(());
}

/// How a writer is told to stop and says it has.
struct Ending {
    stop: std::sync::Arc<tokio::sync::Notify>,
    done: oneshot::Sender<()>,
}

async fn insert(
    store: &Store,
    held: &mut Option<CaseWriter>,
    items: &[NewCaseWrite<'_>],
) -> Result<Vec<Case>, StoreError> {
    match held {
        Some(w) => w.insert_cases(items).await,
        None => store.insert_cases(items).await,
    }
}

async fn insert_one(
    store: &Store,
    held: &mut Option<CaseWriter>,
    job: &Job,
) -> Result<Case, StoreError> {
    insert(store, held, &writes(std::slice::from_ref(job)))
        .await
        .and_then(|mut v| v.pop().ok_or(StoreError::NotFound))
}

fn writes(batch: &[Job]) -> Vec<NewCaseWrite<'_>> {
    batch
        .iter()
        .map(|j| NewCaseWrite {
            applied: &j.applied,
            nodes: &j.nodes,
            extra: &j.extra,
            ip: j.ip.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use safegrid_domain::calendar::WorkCalendar;
    use safegrid_domain::catalog::Urgency;
    use safegrid_domain::engine::{self, Context, NewCase};

    fn new_case(id: uuid::Uuid, n: u32) -> Applied {
        let cal = WorkCalendar::builtin();
        let limits = crate::app::state::LimitTable::default();
        let ctx = Context {
            calendar: &cal,
            limits: &limits,
            now: chrono::Utc::now(),
        };
        let new = NewCase {
            id,
            county_code: "330502".into(),
            number: None,
            tracking_code: format!("T{n:09}"),
            case_type: "service_event".into(),
            category: "C0102".into(),
            urgency: Urgency::Normal,
            channel: "hotline".into(),
            description: "井盖破损".into(),
            address: None,
            lat: None,
            lon: None,
            grid_code: None,
            region_code: safegrid_domain::codes::RegionCode::parse("330502000000").unwrap(),
            needs_grid: true,
            needs_location: false,
            reporter_name: None,
            reporter_phone: None,
            reporter_user: None,
            reporter_anonymous: false,
        };
        engine::create(new, None, &ctx).unwrap()
    }

    /// Cases sent together share transactions; one that cannot be stored (its id is taken) is
    /// refused alone, one whose tracking code is taken is stored under a new one, and its
    /// neighbours are stored and numbered in order.
    #[tokio::test]
    async fn a_bad_case_does_not_fail_its_batch() {
        let store = Store::connect("sqlite::memory:").await.unwrap();
        store.migrate().await.unwrap();
        let intake = Intake::start(None, store.clone());
        bad_case_is_refused_alone(&intake, &store).await;
    }

    /// The same with a writer that keeps its own connection between batches: SQLite has rolled
    /// the failed batch back itself (`OR ROLLBACK`), and the connection goes on serving.
    #[tokio::test]
    async fn a_bad_case_does_not_fail_its_batch_on_a_kept_connection() {
        let (intake, store, dir) = on_a_file().await;
        bad_case_is_refused_alone(&intake, &store).await;
        drop(intake);
        store.close().await;
        std::fs::remove_dir_all(&dir).ok();
    }

    /// A case refused for its tracking code, when the readers cannot say whether the code is
    /// taken (closed here; busy in a surge), gets that answer — retry — not a conflict.
    #[tokio::test]
    async fn an_unanswered_code_check_is_reported_as_busy() {
        let (intake, store, dir) = on_a_file().await;
        intake
            .insert(new_case(uuid::Uuid::now_v7(), 0), vec![], vec![])
            .await
            .unwrap();
        store.close().await;
        let r = intake
            .insert(new_case(uuid::Uuid::now_v7(), 0), vec![], vec![])
            .await;
        assert!(matches!(&r, Err(e) if e.is_busy()), "{r:?}");
        // The writer's own connection still works: a case with a fresh code is stored.
        intake
            .insert(new_case(uuid::Uuid::now_v7(), 1), vec![], vec![])
            .await
            .unwrap();
        drop(intake);
        std::fs::remove_dir_all(&dir).ok();
    }

    /// Shutdown: cases queued when the writer is told to stop are stored and answered, later
    /// ones are refused as storage closing, and once the readers close too the write-ahead log
    /// is folded into the file (no `-wal` left for the next start to checkpoint under load).
    #[tokio::test]
    async fn closing_stores_what_is_queued_and_leaves_no_log() {
        let (intake, store, dir) = on_a_file().await;
        let queued: Vec<_> = (0..50u32)
            .map(|n| {
                let intake = intake.clone();
                tokio::spawn(async move {
                    intake
                        .insert(new_case(uuid::Uuid::now_v7(), n), vec![], vec![])
                        .await
                })
            })
            .collect();
        // Let the clients send (the test's runtime is one thread): most are queued or stored
        // before the stop; any that send after it are refused.
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        intake.close().await;
        let mut stored = 0;
        for q in queued {
            match q.await.unwrap() {
                Ok(_) => stored += 1,
                Err(e) => assert!(e.is_busy(), "refused as closing, not {e:?}"),
            }
        }
        assert!(stored > 0);
        assert_eq!(store.case_count().await.unwrap(), stored);
        let late = intake
            .insert(new_case(uuid::Uuid::now_v7(), 99), vec![], vec![])
            .await;
        assert!(matches!(&late, Err(e) if e.is_busy()), "{late:?}");
        // A second close returns at once.
        intake.close().await;
        store.close().await;
        assert!(dir.join("db.sqlite").exists());
        assert!(
            !dir.join("db.sqlite-wal").exists(),
            "the last connection to close removes the log"
        );
        std::fs::remove_dir_all(&dir).ok();
    }

    /// Intake on a SQLite file with its writer's own connection, as the server runs it; the
    /// folder to remove afterwards.
    async fn on_a_file() -> (Intake, Store, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("sg-intake-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}", dir.join("db.sqlite").display());
        let store = Store::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        let writer = Store::dedicated_writer(&url).await.unwrap();
        assert!(writer.is_some());
        (Intake::start(writer, store.clone()), store, dir)
    }

    async fn bad_case_is_refused_alone(intake: &Intake, store: &Store) {
        let taken = uuid::Uuid::now_v7();
        intake
            .insert(new_case(taken, 0), vec![], vec![])
            .await
            .unwrap();
        let jobs = (1..=20u32).map(|n| {
            let id = if n == 7 { taken } else { uuid::Uuid::now_v7() };
            let mut applied = new_case(id, n);
            if n == 12 {
                // Drew the first case's tracking code: stored under a new one.
                applied.case.tracking_code = "T000000000".into();
            }
            intake.insert(applied, vec![], vec![])
        });
        let results = futures_join_all(jobs).await;
        assert_eq!(results.iter().filter(|r| r.is_err()).count(), 1);
        assert!(matches!(results[6], Err(StoreError::Conflict(_))));
        let redrawn = results[11].as_ref().unwrap();
        assert_ne!(redrawn.tracking_code, "T000000000");
        assert_eq!(redrawn.tracking_code.len(), 10);
        assert_eq!(
            store
                .case_by_tracking_code(&redrawn.tracking_code)
                .await
                .unwrap()
                .id,
            redrawn.id
        );
        assert_eq!(
            store.case_by_tracking_code("T000000000").await.unwrap().id,
            taken
        );
        let mut numbers: Vec<String> = results
            .into_iter()
            .filter_map(Result::ok)
            .map(|c| c.number_text())
            .collect();
        numbers.sort();
        numbers.dedup();
        assert_eq!(numbers.len(), 19, "every stored case has its own number");
        // The writer goes on after the failed batch.
        intake
            .insert(new_case(uuid::Uuid::now_v7(), 21), vec![], vec![])
            .await
            .unwrap();
        assert_eq!(store.case_count().await.unwrap(), 21);
        assert_eq!(store.verify_audit(|_| {}).await.unwrap().entries, 21);
    }

    /// Polls every future to completion concurrently (no extra dependency for one test).
    async fn futures_join_all<F: std::future::Future>(
        fs: impl Iterator<Item = F>,
    ) -> Vec<F::Output> {
        let handles: Vec<_> = fs.map(Box::pin).collect();
        let mut out = Vec::with_capacity(handles.len());
        let mut pending: Vec<_> = handles.into_iter().map(Some).collect();
        let mut results: Vec<Option<F::Output>> = (0..pending.len()).map(|_| None).collect();
        std::future::poll_fn(|cx| {
            let mut done = true;
            for (i, slot) in pending.iter_mut().enumerate() {
                if let Some(f) = slot {
                    match f.as_mut().poll(cx) {
                        std::task::Poll::Ready(v) => {
                            results[i] = Some(v);
                            *slot = None;
                        }
                        std::task::Poll::Pending => done = false,
                    }
                }
            }
            if done {
                std::task::Poll::Ready(())
            } else {
                std::task::Poll::Pending
            }
        })
        .await;
        out.extend(results.into_iter().flatten());
        out
    }
}
