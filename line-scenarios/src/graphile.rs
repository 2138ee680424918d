//! Wake-ups on [graphile_worker](https://docs.rs/graphile_worker), a PostgreSQL job queue, so
//! that many worker processes share one queue (feature `graphile`).
//!
//! At 20M friends the pending wake-ups and the work of running them outgrow one process. Here
//! every wake-up is a job in graphile_worker's tables; any number of processes run workers on the
//! same schema, each job is taken by one worker (`FOR UPDATE SKIP LOCKED`), and a job whose
//! worker died is run again. The engine's send ledger makes the sends exactly-once even when a
//! job runs twice.
//!
//! # How it fits the engine
//!
//! graphile_worker pushes jobs to handlers, while the engine pulls wake-ups through
//! [`Scheduler::due`]. [`GraphileScheduler`] is the engine's scheduler: [`schedule`] adds a job
//! (run at the wake-up's time), and [`WakeWorker`] runs the jobs. A job's handler hands its one
//! wake-up to [`Engine::run_due`] through a task-local slot: `due` called inside the handler
//! returns that wake-up (when it is due by the engine's clock), `ack` marks it done, and the job
//! completes. Outside a handler `due` returns nothing, so `run_due` called directly on an engine
//! with this scheduler does nothing: the workers run the wake-ups.
//!
//! A job delivered before its wake-up is due by the engine's clock (clocks differ between
//! machines) is scheduled again for the remaining time and completes; a wake-up the engine could
//! not run (a store failure), or of a scenario this worker's engine does not run (processes of
//! two versions during a deployment), fails its job, which graphile_worker retries with its
//! backoff (25 attempts by default; a job that used them all stays in the table, failed). [`Engine::recover`] at start re-creates a wake-up for every active
//! enrollment, as with every other scheduler.
//!
//! # Duplicates and crashes
//!
//! A job's key is the whole wake-up (scenario, user, entry, due time), in graphile_worker's
//! `replace` mode: scheduling a wake-up that is already waiting (for example by
//! [`Engine::recover`] in every process that starts) keeps one job. Scheduling it while its job
//! is running adds a new job (graphile_worker retires the running one's key), so nothing
//! scheduled is lost; the engine ignores a wake-up that is not due.
//!
//! Worker recovery is on: each worker writes a heartbeat row, and a worker whose heartbeat is
//! older than [`WakeWorkerBuilder::sweep_threshold`] is taken as dead by the others, which put
//! its locked jobs back on the queue. The default threshold is 60 seconds (graphile_worker's own
//! default, 5 minutes, is for jobs that run long; a wake-up runs in milliseconds unless LINE is
//! slow). A job that ran past LINE's call before its worker died finds its send claimed in the
//! ledger and calls LINE again with the same retry key; LINE answers 409 and nothing is sent twice.
//!
//! # Why graphile_worker
//!
//! We read the documentation and the open issues of apalis (with apalis-redis and apalis-postgres)
//! and of graphile_worker before choosing:
//! - graphile_worker has a tokio-postgres and deadpool-postgres driver (feature
//!   `driver-tokio-postgres`), the PostgreSQL stack the workspace already uses; apalis' PostgreSQL
//!   backend is built on sqlx, a second SQL stack, and apalis-redis 1.0 needs redis 1.x where the
//!   workspace uses redis 0.32.
//! - Jobs carry a run time, a key (deduplication) and a retry budget, and are claimed with
//!   `SKIP LOCKED`; the schema is shared with the Node.js Graphile Worker, whose behaviour is
//!   long documented.
//! - Recovery from a dead worker is heartbeat-based and documented (a sweeper under an advisory
//!   lock, the attempt given back), and every worker instance has its own id. apalis-redis finds
//!   a dead worker's tasks by the worker's name: two processes running a worker of one name (a
//!   rolling deployment) keep the dead one's tasks from ever being re-enqueued (apalis issue 504,
//!   open, and reports of it in production); graphile_worker's older design released a crashed
//!   worker's jobs only after a 4-hour lock timeout, which the heartbeat recovery used here
//!   replaces.
//! - Known open report: graphile_worker_rs issue 338, a worker that sometimes stops taking jobs.
//!   Jobs it has not taken stay on the queue for the other workers, and one it holds is recovered
//!   when its heartbeat stops; run more than one worker process.
//!
//! "One queue" is the schema's job table: every worker takes any due wake-up job. graphile_worker's
//! named queues (`queue_name`) are not used, since they run their jobs one at a time.
//!
//! # Example
//!
//! ```no_run
//! # async fn run(scenarios: Vec<line_scenarios::Scenario>,
//! #     state: std::sync::Arc<dyn line_scenarios::store::StateStore>,
//! #     profiles: std::sync::Arc<dyn line_scenarios::profiles::ProfileStore>,
//! #     sender: std::sync::Arc<dyn line_scenarios::sender::Sender>) -> line_scenarios::Result<()> {
//! use std::sync::Arc;
//! use line_scenarios::graphile::GraphileScheduler;
//! use line_scenarios::Engine;
//!
//! let scheduler = GraphileScheduler::connect("postgres://line:line@127.0.0.1/shop", "line_wakeups").await?;
//! let engine = Engine::builder(scenarios)
//!     .state(state)
//!     .scheduler(Arc::new(scheduler.clone()))
//!     .profiles(profiles)
//!     .sender(sender)
//!     .build()?;
//! engine.recover().await?;
//! let worker = scheduler.worker(engine.clone()).concurrency(8).start().await?;
//! worker.run().await?; // until `worker.shutdown()`
//! # Ok(()) }
//! ```
//!
//! [`schedule`]: Scheduler::schedule

use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use graphile_worker::tokio_postgres::TokioPostgresDatabase;
use graphile_worker::{
    IntoTaskHandlerResult, JobKeyMode, JobSpec, TaskHandler, WorkerContext, WorkerOptions, WorkerRecoveryConfig,
    WorkerUtils,
};
use jiff::{SignedDuration, Timestamp};
use line_core::clock::{Clock, SystemClock};
use line_core::ids::UserId;
use serde::{Deserialize, Serialize};

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::store::{Scheduler, WakeUp};

/// The task identifier of wake-up jobs in graphile_worker's tables.
pub const TASK: &str = "line_scenarios_wake";

/// The longest schema name accepted (PostgreSQL's identifier limit is 63 bytes).
pub const MAX_SCHEMA_LEN: usize = 63;

/// The payload of a wake-up job.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct WakeJob {
    /// The scenario id.
    s: String,
    /// The user id.
    u: String,
    /// The entry number.
    e: u32,
    /// When it is due (Unix seconds).
    at: i64,
}

impl WakeJob {
    fn of(wake: &WakeUp) -> Self {
        WakeJob {
            s: wake.scenario.to_string(),
            u: wake.user.as_str().to_owned(),
            e: wake.entry,
            at: wake.at.as_second(),
        }
    }

    fn wake(&self) -> std::result::Result<WakeUp, String> {
        let at = Timestamp::from_second(self.at).map_err(|e| format!("the job's `at` is out of range: {e}"))?;
        Ok(WakeUp {
            scenario: self.s.as_str().into(),
            user: UserId::new(self.u.clone()),
            entry: self.e,
            at,
        })
    }
}

/// The wake-up a running job hands to the engine.
#[derive(Debug)]
struct Slot {
    wake: WakeUp,
    taken: bool,
    acked: bool,
}

tokio::task_local! {
    static SLOT: Arc<Mutex<Slot>>;
}

fn with_slot<R>(f: impl FnOnce(&mut Slot) -> R) -> Option<R> {
    SLOT.try_with(|slot| f(&mut slot.lock().unwrap_or_else(|e| e.into_inner())))
        .ok()
}

struct Inner {
    utils: WorkerUtils,
    database: TokioPostgresDatabase,
    schema: String,
    clock: Arc<dyn Clock>,
}

/// The engine's [`Scheduler`] on graphile_worker: wake-ups are jobs in a PostgreSQL schema shared
/// by every process. Cheap to clone.
#[derive(Clone)]
pub struct GraphileScheduler {
    inner: Arc<Inner>,
}

impl fmt::Debug for GraphileScheduler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GraphileScheduler")
            .field("schema", &self.inner.schema)
            .finish_non_exhaustive()
    }
}

fn check_schema(schema: &str) -> Result<()> {
    let ok = !schema.is_empty()
        && schema.len() <= MAX_SCHEMA_LEN
        && schema.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && schema
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(Error::config(
            "schema",
            format!("`{schema}` is not a schema name of lowercase letters, digits and `_` (at most {MAX_SCHEMA_LEN})"),
        ))
    }
}

fn store_err(operation: &str, e: impl fmt::Display) -> Error {
    Error::store(operation, e)
}

impl GraphileScheduler {
    /// Connects to PostgreSQL at `url` (a `postgres://` URL; TLS follows graphile_worker's TLS
    /// features, plain connections without them), with a pool of up to 10 connections and a
    /// LISTEN connection so that workers hear of new jobs at once, and installs or upgrades
    /// graphile_worker's tables in `schema` (each deployment, or each test, its own schema).
    pub async fn connect(url: &str, schema: &str) -> Result<Self> {
        Self::connect_with(url, schema, 10).await
    }

    /// [`connect`](Self::connect) with a pool of up to `max_connections`.
    pub async fn connect_with(url: &str, schema: &str, max_connections: usize) -> Result<Self> {
        check_schema(schema)?;
        if max_connections == 0 {
            return Err(Error::config("max_connections", "must be at least 1"));
        }
        let database = TokioPostgresDatabase::from_url(url, max_connections)
            .map_err(|e| Error::config("url", format!("not a usable PostgreSQL URL: {e}")))?;
        let utils = WorkerUtils::new(database.clone(), schema);
        utils.migrate().await.map_err(|e| store_err("migrate", e))?;
        Ok(GraphileScheduler {
            inner: Arc::new(Inner {
                utils,
                database,
                schema: schema.to_owned(),
                clock: Arc::new(SystemClock),
            }),
        })
    }

    /// The engine's clock (by default the system clock). Jobs run after the delay the wake-up has
    /// by this clock, and a handler checks that its wake-up is due by it; give the engine's clock.
    pub fn with_clock(self, clock: Arc<dyn Clock>) -> Self {
        let inner = &self.inner;
        GraphileScheduler {
            inner: Arc::new(Inner {
                utils: inner.utils.clone(),
                database: inner.database.clone(),
                schema: inner.schema.clone(),
                clock,
            }),
        }
    }

    /// The schema of graphile_worker's tables.
    pub fn schema(&self) -> &str {
        &self.inner.schema
    }

    /// A builder of a worker that runs this scheduler's wake-ups in `engine`, which must have
    /// been built with this scheduler.
    pub fn worker(&self, engine: Engine) -> WakeWorkerBuilder {
        WakeWorkerBuilder {
            scheduler: self.clone(),
            engine,
            concurrency: 4,
            poll_interval: Duration::from_secs(1),
            heartbeat_interval: Duration::from_secs(10),
            sweep_interval: Duration::from_secs(15),
            sweep_threshold: Duration::from_secs(60),
            recovery_delay: Duration::ZERO,
        }
    }

    /// Adds the job of `wake`, to run after the delay it has by the engine's clock (at once when
    /// it is due).
    async fn add(&self, wake: &WakeUp) -> Result<()> {
        let delay = wake.at.duration_since(self.inner.clock.now());
        let mut spec = JobSpec::builder()
            .job_key(format!(
                "{}\u{1f}{}\u{1f}{}\u{1f}{}",
                wake.scenario,
                wake.user.as_str(),
                wake.entry,
                wake.at.as_second()
            ))
            .job_key_mode(JobKeyMode::Replace);
        if delay > SignedDuration::ZERO {
            let delay = chrono::Duration::milliseconds(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX));
            spec = spec.run_at(chrono::Utc::now() + delay);
        }
        self.inner
            .utils
            .add_raw_job(TASK, WakeJob::of(wake), spec.build())
            .await
            .map(|_| ())
            .map_err(|e| store_err("schedule", e))
    }
}

#[async_trait::async_trait]
impl Scheduler for GraphileScheduler {
    async fn schedule(&self, wake: &WakeUp) -> Result<()> {
        self.add(wake).await
    }

    /// Inside a worker's job: that job's wake-up when it is due at `now`. Elsewhere: nothing
    /// (the workers run the wake-ups).
    async fn due(&self, now: Timestamp, limit: usize, _lease: SignedDuration) -> Result<Vec<WakeUp>> {
        Ok(with_slot(|slot| {
            if limit > 0 && !slot.taken && slot.wake.at <= now {
                slot.taken = true;
                vec![slot.wake.clone()]
            } else {
                Vec::new()
            }
        })
        .unwrap_or_default())
    }

    /// Inside a worker's job: marks its wake-up done (the job completes when the handler
    /// returns). Elsewhere: nothing to do (a job is removed when it completes).
    async fn ack(&self, wakes: &[WakeUp]) -> Result<()> {
        with_slot(|slot| {
            if wakes.contains(&slot.wake) {
                slot.acked = true;
            }
        });
        Ok(())
    }

    /// Wake-up jobs in the schema: waiting, running, and failed ones that graphile_worker keeps
    /// (a job that used all its attempts stays until removed).
    async fn pending(&self) -> Result<usize> {
        let client = self
            .inner
            .database
            .pool()
            .get()
            .await
            .map_err(|e| store_err("pending", e))?;
        let sql = format!(
            "select count(*) from \"{}\".jobs where task_identifier = $1",
            self.inner.schema
        );
        let row = client
            .query_one(&sql, &[&TASK])
            .await
            .map_err(|e| store_err("pending", e))?;
        let n: i64 = row.get(0);
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }
}

/// What a job handler needs, registered as a graphile_worker extension.
#[derive(Clone)]
struct Runtime {
    engine: Engine,
    scheduler: GraphileScheduler,
    /// The ids of the scenarios the engine runs.
    deployed: Arc<HashSet<String>>,
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime").finish_non_exhaustive()
    }
}

impl TaskHandler for WakeJob {
    const IDENTIFIER: &'static str = TASK;

    async fn run(self, ctx: WorkerContext) -> impl IntoTaskHandlerResult {
        let Some(rt) = ctx.get_ext::<Runtime>().cloned() else {
            return Err("the worker has no engine (build it with GraphileScheduler::worker)".to_owned());
        };
        run_wake(&rt, self).await
    }
}

/// Runs one job's wake-up in the engine.
async fn run_wake(rt: &Runtime, job: WakeJob) -> std::result::Result<(), String> {
    let wake = job.wake()?;
    if !rt.deployed.contains(&*wake.scenario) {
        // Another process runs a scenario this one does not (a deployment under way): leave the
        // job to a worker that has it (graphile_worker retries it later) rather than drop it.
        return Err(format!(
            "the scenario `{}` is not deployed in this worker's engine",
            wake.scenario
        ));
    }
    let slot = Arc::new(Mutex::new(Slot {
        wake: wake.clone(),
        taken: false,
        acked: false,
    }));
    let report = SLOT
        .scope(slot.clone(), rt.engine.run_due())
        .await
        .map_err(|e| format!("running the wake-up failed: {e}"))?;
    let (taken, acked) = {
        let s = slot.lock().unwrap_or_else(|e| e.into_inner());
        (s.taken, s.acked)
    };
    if acked {
        Ok(())
    } else if !taken {
        // Not due by the engine's clock yet (the database's clock is ahead): run it again later.
        rt.scheduler
            .add(&wake)
            .await
            .map_err(|e| format!("rescheduling an early wake-up failed: {e}"))
    } else {
        Err(format!(
            "the engine could not run the wake-up ({} failed); it is retried",
            report.failed
        ))
    }
}

/// Builds a [`WakeWorker`]: from [`GraphileScheduler::worker`].
#[derive(Debug)]
#[must_use]
pub struct WakeWorkerBuilder {
    scheduler: GraphileScheduler,
    engine: Engine,
    concurrency: usize,
    poll_interval: Duration,
    heartbeat_interval: Duration,
    sweep_interval: Duration,
    sweep_threshold: Duration,
    recovery_delay: Duration,
}

impl WakeWorkerBuilder {
    /// Jobs run at once by this worker (default 4).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n;
        self
    }

    /// How often the worker looks for due jobs besides being notified of new ones (default 1 s).
    pub fn poll_interval(mut self, every: Duration) -> Self {
        self.poll_interval = every;
        self
    }

    /// How often the worker writes its heartbeat (default 10 s).
    pub fn heartbeat_interval(mut self, every: Duration) -> Self {
        self.heartbeat_interval = every;
        self
    }

    /// How often the worker looks for dead workers (default 15 s).
    pub fn sweep_interval(mut self, every: Duration) -> Self {
        self.sweep_interval = every;
        self
    }

    /// How old a heartbeat must be for its worker to count as dead (default 60 s). Keep it well
    /// above the heartbeat interval and above the longest a wake-up may run (a slow LINE): a
    /// worker taken for dead while it runs lets another run the same wake-up, which the ledger
    /// makes harmless but costs a second call.
    pub fn sweep_threshold(mut self, age: Duration) -> Self {
        self.sweep_threshold = age;
        self
    }

    /// How long a dead worker's jobs wait before they run again (default 0).
    pub fn recovery_delay(mut self, delay: Duration) -> Self {
        self.recovery_delay = delay;
        self
    }

    /// Starts the worker (installing graphile_worker's tables if needed); run it with
    /// [`WakeWorker::run`].
    pub async fn start(self) -> Result<WakeWorker> {
        if self.concurrency == 0 {
            return Err(Error::config("concurrency", "must be at least 1"));
        }
        if self.sweep_threshold <= self.heartbeat_interval {
            return Err(Error::config(
                "sweep_threshold",
                "must be longer than the heartbeat interval",
            ));
        }
        let recovery = WorkerRecoveryConfig {
            heartbeat_interval: self.heartbeat_interval,
            sweep_interval: self.sweep_interval,
            sweep_threshold: self.sweep_threshold,
            recovery_delay: self.recovery_delay,
            enabled: true,
            ..WorkerRecoveryConfig::default()
        };
        let inner = &self.scheduler.inner;
        let worker = WorkerOptions::default()
            .database(inner.database.clone())
            .schema(inner.schema.as_str())
            .concurrency(self.concurrency)
            .poll_interval(self.poll_interval)
            .worker_recovery(recovery)
            .listen_os_shutdown_signals(false)
            .define_job::<WakeJob>()
            .add_extension(Runtime {
                deployed: Arc::new(self.engine.scenarios().into_iter().map(|s| s.id).collect()),
                engine: self.engine,
                scheduler: self.scheduler.clone(),
            })
            .init()
            .await
            .map_err(|e| store_err("start worker", e))?;
        Ok(WakeWorker { worker })
    }
}

/// A graphile_worker worker running wake-up jobs in an engine.
pub struct WakeWorker {
    worker: graphile_worker::Worker,
}

impl fmt::Debug for WakeWorker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WakeWorker").finish_non_exhaustive()
    }
}

impl WakeWorker {
    /// Runs jobs until [`shutdown`](Self::shutdown) (running jobs finish first). It does not
    /// listen for OS signals: call `shutdown` from the host's own signal handling.
    pub async fn run(&self) -> Result<()> {
        self.worker.run().await.map_err(|e| store_err("run worker", e))
    }

    /// Asks [`run`](Self::run) to stop.
    pub fn shutdown(&self) {
        self.worker.request_shutdown();
    }
}
