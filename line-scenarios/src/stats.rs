//! Measurement: what the engine did ([`Record`]s into a [`Journal`]), counts per scenario and step,
//! the cost of messages under the account's [`Plan`], CVR and ROAS, and a terminal table.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use line_core::ids::UserId;

use crate::error::Result;
use crate::insight::{LineCounts, LineStats};
use crate::model::{Scenario, StepKind};
use crate::store::{ExitReason, Refusal};

/// Why a step did not send, or a user did not enter.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum SkipReason {
    /// The contact budget was spent.
    Budget,
    /// The send fell in quiet hours and the step drops in that case.
    QuietHours,
    /// The user was not in the entry segment.
    EntryCondition,
    /// The re-entry rule refused.
    Reentry(Refusal),
    /// The profile store does not know the user (see the engine's `UnknownUsers`).
    UnknownUser,
    /// A template variable had no value and no default.
    MissingValue(String),
    /// LINE refused the send (4xx).
    Refused,
    /// An earlier attempt's outcome could not be checked any more (past LINE's retry-key memory):
    /// not sent again, to never send twice.
    OutcomeUnknown,
}

impl SkipReason {
    /// The name used in reports.
    pub fn name(&self) -> String {
        match self {
            SkipReason::Budget => "budget".into(),
            SkipReason::QuietHours => "quiet_hours".into(),
            SkipReason::EntryCondition => "entry_condition".into(),
            SkipReason::Reentry(r) => format!("reentry:{}", r.name()),
            SkipReason::UnknownUser => "unknown_user".into(),
            SkipReason::MissingValue(v) => format!("missing_value:{v}"),
            SkipReason::Refused => "refused".into(),
            SkipReason::OutcomeUnknown => "outcome_unknown".into(),
        }
    }
}

impl SkipReason {
    /// Parses a name made by [`SkipReason::name`].
    pub fn from_name(s: &str) -> Option<Self> {
        Some(match s {
            "budget" => SkipReason::Budget,
            "quiet_hours" => SkipReason::QuietHours,
            "entry_condition" => SkipReason::EntryCondition,
            "unknown_user" => SkipReason::UnknownUser,
            "refused" => SkipReason::Refused,
            "outcome_unknown" => SkipReason::OutcomeUnknown,
            _ => {
                if let Some(r) = s.strip_prefix("reentry:") {
                    SkipReason::Reentry(Refusal::from_name(r)?)
                } else if let Some(v) = s.strip_prefix("missing_value:") {
                    SkipReason::MissingValue(v.to_owned())
                } else {
                    return None;
                }
            }
        })
    }
}

/// What happened.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum RecordKind {
    /// The user entered the scenario.
    Entered,
    /// A send step sent (LINE accepted it).
    Sent {
        /// Message objects in the push.
        messages: u32,
    },
    /// A step (or the entry) was skipped.
    Skipped(SkipReason),
    /// A send was put off until the end of quiet hours.
    Deferred {
        /// Until when.
        until: Timestamp,
    },
    /// An act ran.
    Acted,
    /// The user left the scenario.
    Exited(ExitReason),
    /// A goal event: a conversion with its revenue (yen), credited to the last sending step.
    Conversion {
        /// Revenue in yen (0 when the goal names no revenue property).
        revenue: f64,
    },
    /// The user's first click on a tracked link of a step's send (see [`crate::tracking`]).
    Clicked,
}

/// One thing the engine did.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Record {
    /// When (the engine's clock).
    pub at: Timestamp,
    /// The scenario.
    pub scenario: Arc<str>,
    /// The user.
    pub user: UserId,
    /// The step index, when a step did it.
    pub step: Option<u16>,
    /// What happened.
    pub kind: RecordKind,
}

impl Record {
    /// The record as one JSON object (the line format of [`JsonlJournal`]):
    /// `{"at", "scenario", "user", "step" (index, optional), "kind", …}` with `messages` for
    /// `sent`, `reason` for `skipped` and `exited`, `until` for `deferred`, `revenue` for `conversion`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        m.insert("at".into(), self.at.to_string().into());
        m.insert("scenario".into(), (*self.scenario).into());
        m.insert("user".into(), self.user.as_str().into());
        if let Some(step) = self.step {
            m.insert("step".into(), step.into());
        }
        let kind = match &self.kind {
            RecordKind::Entered => "entered",
            RecordKind::Sent { messages } => {
                m.insert("messages".into(), (*messages).into());
                "sent"
            }
            RecordKind::Skipped(r) => {
                m.insert("reason".into(), r.name().into());
                "skipped"
            }
            RecordKind::Deferred { until } => {
                m.insert("until".into(), until.to_string().into());
                "deferred"
            }
            RecordKind::Acted => "acted",
            RecordKind::Exited(r) => {
                m.insert("reason".into(), r.name().into());
                "exited"
            }
            RecordKind::Conversion { revenue } => {
                m.insert(
                    "revenue".into(),
                    serde_json::Number::from_f64(*revenue).map_or(0.into(), Into::into),
                );
                "conversion"
            }
            RecordKind::Clicked => "clicked",
        };
        m.insert("kind".into(), kind.into());
        serde_json::Value::Object(m)
    }

    /// Parses the form of [`to_json`](Self::to_json); errors name the key.
    pub fn from_json(v: &serde_json::Value) -> std::result::Result<Self, String> {
        let s = |k: &str| {
            v.get(k)
                .and_then(|x| x.as_str())
                .ok_or_else(|| format!("missing string `{k}`"))
        };
        let time = |k: &str| -> std::result::Result<Timestamp, String> {
            s(k)?.parse().map_err(|e| format!("invalid `{k}`: {e}"))
        };
        let kind = match s("kind")? {
            "entered" => RecordKind::Entered,
            "sent" => RecordKind::Sent {
                messages: v.get("messages").and_then(|x| x.as_u64()).unwrap_or(1) as u32,
            },
            "skipped" => RecordKind::Skipped(
                SkipReason::from_name(s("reason")?).ok_or_else(|| "unknown skip `reason`".to_owned())?,
            ),
            "deferred" => RecordKind::Deferred { until: time("until")? },
            "acted" => RecordKind::Acted,
            "exited" => RecordKind::Exited(
                ExitReason::from_name(s("reason")?).ok_or_else(|| "unknown exit `reason`".to_owned())?,
            ),
            "clicked" => RecordKind::Clicked,
            "conversion" => RecordKind::Conversion {
                revenue: v
                    .get("revenue")
                    .and_then(|x| x.as_f64())
                    .ok_or_else(|| "missing number `revenue`".to_owned())?,
            },
            other => return Err(format!("unknown `kind` `{other}`")),
        };
        let step = match v.get("step") {
            None | Some(serde_json::Value::Null) => None,
            Some(x) => Some(
                x.as_u64()
                    .and_then(|n| u16::try_from(n).ok())
                    .ok_or_else(|| "invalid `step`".to_owned())?,
            ),
        };
        Ok(Record {
            at: time("at")?,
            scenario: s("scenario")?.into(),
            user: UserId::new(s("user")?),
            step,
            kind,
        })
    }
}

/// Where the engine writes [`Record`]s. Object-safe; use as `Arc<dyn Journal>`.
#[async_trait::async_trait]
pub trait Journal: Send + Sync {
    /// Records one thing.
    async fn record(&self, record: Record) -> Result<()>;

    /// Records several things, in order (like [`record`](Self::record) for each; the default
    /// makes those calls). The engine records a batch's outcomes with it; a journal may override
    /// it to take them at once.
    async fn record_many(&self, records: Vec<Record>) -> Result<()> {
        for r in records {
            self.record(r).await?;
        }
        Ok(())
    }
}

/// Counts of one scenario, or one step.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Counts {
    /// Users who entered (scenario totals only).
    pub entered: u64,
    /// Pushes LINE accepted.
    pub sent: u64,
    /// Skips by reason.
    pub skipped: BTreeMap<SkipReason, u64>,
    /// Sends put off by quiet hours.
    pub deferred: u64,
    /// Acts run.
    pub acted: u64,
    /// Exits by reason (scenario totals only).
    pub exited: BTreeMap<ExitReason, u64>,
    /// Conversions.
    pub conversions: u64,
    /// Revenue of the conversions, in yen.
    pub revenue: f64,
    /// Users who clicked a tracked link (once per send and user).
    pub clicks: u64,
}

impl Counts {
    fn add(&mut self, kind: &RecordKind) {
        match kind {
            RecordKind::Entered => self.entered += 1,
            RecordKind::Sent { .. } => self.sent += 1,
            RecordKind::Skipped(r) => *self.skipped.entry(r.clone()).or_default() += 1,
            RecordKind::Deferred { .. } => self.deferred += 1,
            RecordKind::Acted => self.acted += 1,
            RecordKind::Exited(r) => *self.exited.entry(*r).or_default() += 1,
            RecordKind::Conversion { revenue } => {
                self.conversions += 1;
                self.revenue += revenue;
            }
            RecordKind::Clicked => self.clicks += 1,
        }
    }

    /// All skips.
    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().sum()
    }
}

/// Counts by scenario: the scenario's totals, and per step.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScenarioCounts {
    /// Totals of the scenario (every record).
    pub total: Counts,
    /// By step index (records made by a step).
    pub steps: BTreeMap<u16, Counts>,
}

/// A [`Journal`] in memory: counts, and optionally every record (for simulation).
#[derive(Debug, Default)]
pub struct InMemoryJournal {
    counts: Mutex<HashMap<Arc<str>, ScenarioCounts>>,
    log: Option<Mutex<Vec<Record>>>,
}

impl InMemoryJournal {
    /// Counts only.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts and the full log.
    pub fn with_log() -> Self {
        Self {
            counts: Mutex::default(),
            log: Some(Mutex::default()),
        }
    }

    /// The counts of one scenario.
    pub fn counts(&self, scenario: &str) -> ScenarioCounts {
        self.counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(scenario)
            .cloned()
            .unwrap_or_default()
    }

    /// Every record so far (empty unless made [`with_log`](Self::with_log)).
    pub fn log(&self) -> Vec<Record> {
        self.log
            .as_ref()
            .map(|l| l.lock().unwrap_or_else(|e| e.into_inner()).clone())
            .unwrap_or_default()
    }
}

impl InMemoryJournal {
    /// Counts the records under one lock (a run of records of one scenario looks it up once).
    fn count_all(&self, records: &[Record]) {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let same = |a: &Record, b: &Record| Arc::ptr_eq(&a.scenario, &b.scenario) || a.scenario == b.scenario;
        for run in records.chunk_by(same) {
            let id = &run[0].scenario;
            let c = match counts.get_mut(id) {
                Some(c) => c,
                None => counts.entry(id.clone()).or_default(),
            };
            for record in run {
                c.total.add(&record.kind);
                if let Some(step) = record.step {
                    c.steps.entry(step).or_default().add(&record.kind);
                }
            }
        }
    }
}

#[async_trait::async_trait]
impl Journal for InMemoryJournal {
    async fn record(&self, record: Record) -> Result<()> {
        self.count_all(std::slice::from_ref(&record));
        if let Some(log) = &self.log {
            log.lock().unwrap_or_else(|e| e.into_inner()).push(record);
        }
        Ok(())
    }

    async fn record_many(&self, records: Vec<Record>) -> Result<()> {
        self.count_all(&records);
        if let Some(log) = &self.log {
            log.lock().unwrap_or_else(|e| e.into_inner()).extend(records);
        }
        Ok(())
    }
}

/// A [`Journal`] writing one JSON object per line (see [`Record::to_json`]) to a writer, for
/// `linectl scenario report`.
pub struct JsonlJournal {
    out: Mutex<Box<dyn std::io::Write + std::marker::Send>>,
}

impl std::fmt::Debug for JsonlJournal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonlJournal").finish_non_exhaustive()
    }
}

impl JsonlJournal {
    /// Writes to `out`.
    pub fn new(out: Box<dyn std::io::Write + std::marker::Send>) -> Self {
        Self { out: Mutex::new(out) }
    }
}

#[async_trait::async_trait]
impl Journal for JsonlJournal {
    async fn record(&self, record: Record) -> Result<()> {
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        writeln!(out, "{}", record.to_json()).map_err(|e| crate::Error::store("journal write", &e))
    }
}

/// Counts from records (as read back from a JSON Lines journal).
pub fn count(records: &[Record]) -> HashMap<String, ScenarioCounts> {
    let mut out: HashMap<String, ScenarioCounts> = HashMap::new();
    for r in records {
        let c = out.entry(r.scenario.to_string()).or_default();
        c.total.add(&r.kind);
        if let Some(step) = r.step {
            c.steps.entry(step).or_default().add(&r.kind);
        }
    }
    out
}

/// The account's message plan: messages free each month, then a price per message.
///
/// LINE counts one message per recipient per request, whatever the number of message objects in it.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct Plan {
    /// Messages included each month.
    pub free_per_month: u64,
    /// Yen per message beyond them.
    pub yen_per_message: f64,
}

impl Plan {
    /// A plan.
    pub fn new(free_per_month: u64, yen_per_message: f64) -> Self {
        Self {
            free_per_month,
            yen_per_message,
        }
    }

    /// The cost in yen of `messages` more when `used` were already sent this month.
    pub fn cost(&self, used: u64, messages: u64) -> f64 {
        let billable = |n: u64| n.saturating_sub(self.free_per_month);
        (billable(used.saturating_add(messages)) - billable(used)) as f64 * self.yen_per_message
    }
}

/// Who a send will reach, for a cost estimate before sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reach {
    /// Exactly this many users (push, multicast, a scenario launch from a known list).
    Exactly(u64),
    /// At most this many: a narrowcast whose size only LINE knows counts its upper bound (the
    /// uploaded audience, or `limit.max`), never 0.
    AtMost(u64),
}

/// A cost estimate.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct Estimate {
    /// Messages counted.
    pub messages: u64,
    /// Whether `messages` is an upper bound.
    pub upper_bound: bool,
    /// Their cost in yen.
    pub yen: f64,
}

/// The cost of reaching `reach` users `per_user` times each, when `used` messages were sent this month.
pub fn estimate(plan: &Plan, reach: Reach, per_user: u64, used: u64) -> Estimate {
    let (n, upper_bound) = match reach {
        Reach::Exactly(n) => (n, false),
        Reach::AtMost(n) => (n, true),
    };
    let messages = n.saturating_mul(per_user);
    Estimate {
        messages,
        upper_bound,
        yen: plan.cost(used, messages),
    }
}

/// The most messages one entry of `scenario` can send (the most send steps on any path), or
/// `None` when a loop contains a send (unbounded: each pass through the loop sends again).
pub fn max_sends_per_entry(scenario: &Scenario) -> Option<u64> {
    let index: HashMap<&str, usize> = scenario
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.as_str(), i))
        .collect();
    let n = scenario.steps.len();
    let next = |i: usize| -> Vec<usize> {
        let s = &scenario.steps[i];
        let named = |t: &str| index.get(t).copied();
        match &s.kind {
            StepKind::Branch { then, otherwise, .. } => [named(then), named(otherwise)].into_iter().flatten().collect(),
            StepKind::Split(arms) => arms.iter().filter_map(|a| named(&a.next)).collect(),
            StepKind::Exit => Vec::new(),
            _ => match &s.next {
                Some(t) => named(t).into_iter().collect(),
                None if i + 1 < n => vec![i + 1],
                None => Vec::new(),
            },
        }
    };
    // Longest path by sends with cycle detection (memoized DFS).
    fn go(
        i: usize,
        next: &dyn Fn(usize) -> Vec<usize>,
        s: &Scenario,
        memo: &mut [Option<Option<u64>>],
        on: &mut [bool],
    ) -> Option<u64> {
        if let Some(m) = memo[i] {
            return m;
        }
        let sends = u64::from(matches!(s.steps[i].kind, StepKind::Send(_)));
        on[i] = true;
        let mut best = Some(0u64);
        for j in next(i) {
            let r = if on[j] {
                // A loop: bounded only when it sends nothing; treat its sends as unbounded.
                if loop_sends(j, i, next, s) {
                    None
                } else {
                    Some(0)
                }
            } else {
                go(j, next, s, memo, on)
            };
            best = match (best, r) {
                (Some(a), Some(b)) => Some(a.max(b)),
                _ => None,
            };
        }
        on[i] = false;
        let r = best.map(|b| b + sends);
        memo[i] = Some(r);
        r
    }
    // Whether the cycle from `from` back to `to` passes through a send (conservatively: any send
    // reachable from `from` that reaches `to`).
    fn loop_sends(from: usize, to: usize, next: &dyn Fn(usize) -> Vec<usize>, s: &Scenario) -> bool {
        let n = s.steps.len();
        let reach = |start: usize| {
            let mut seen = vec![false; n];
            let mut stack = vec![start];
            while let Some(i) = stack.pop() {
                if !std::mem::replace(&mut seen[i], true) {
                    stack.extend(next(i));
                }
            }
            seen
        };
        let fwd = reach(from);
        (0..n).any(|k| fwd[k] && matches!(s.steps[k].kind, StepKind::Send(_)) && reach(k)[to])
    }
    if n == 0 {
        return Some(0);
    }
    let mut memo = vec![None; n];
    let mut on = vec![false; n];
    go(0, &next, scenario, &mut memo, &mut on)
}

/// One row of a [`report`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Row {
    /// The scenario id.
    pub scenario: String,
    /// The scenario's display name, when it has one.
    pub name: Option<String>,
    /// The step id (`None` for the scenario's total row).
    pub step: Option<String>,
    /// The step index (`None` for the scenario's total row).
    pub step_index: Option<u16>,
    /// The counts.
    pub counts: Counts,
    /// The cost of the sends in yen.
    pub cost: f64,
    /// LINE's own counts for the step's aggregation unit (see [`crate::insight`]); on the total
    /// row, the sum over the steps LINE gave numbers for. `None` when not fetched.
    pub line: Option<LineCounts>,
}

impl Row {
    /// Conversions per entry (scenario row) or per send (step row), in percent.
    pub fn cvr_percent(&self) -> Option<f64> {
        let base = if self.step.is_none() {
            self.counts.entered
        } else {
            self.counts.sent
        };
        (base > 0).then(|| self.counts.conversions as f64 * 100.0 / base as f64)
    }

    /// Revenue over cost, in percent (`None` when nothing cost anything).
    pub fn roas_percent(&self) -> Option<f64> {
        (self.cost > 0.0).then(|| self.counts.revenue * 100.0 / self.cost)
    }
}

/// The rows of a report: per scenario a total row, then a row per step that did anything. The
/// cost of the sends is charged in the order of the rows, starting from `used` messages this month.
pub fn report(scenarios: &[Scenario], counts: &dyn Fn(&str) -> ScenarioCounts, plan: &Plan, used: u64) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut used = used;
    for s in scenarios {
        let c = counts(&s.id);
        let mut step_rows = Vec::new();
        let mut total_cost = 0.0;
        for (i, step) in s.steps.iter().enumerate() {
            let Some(sc) = c.steps.get(&(i as u16)) else { continue };
            let cost = plan.cost(used, sc.sent);
            used += sc.sent;
            total_cost += cost;
            step_rows.push(Row {
                scenario: s.id.clone(),
                name: s.name.clone(),
                step: Some(step.id.clone()),
                step_index: Some(i as u16),
                counts: sc.clone(),
                cost,
                line: None,
            });
        }
        rows.push(Row {
            scenario: s.id.clone(),
            name: s.name.clone(),
            step: None,
            step_index: None,
            counts: c.total.clone(),
            cost: total_cost,
            line: None,
        });
        rows.extend(step_rows);
    }
    rows
}

/// Merges LINE's own open and click counts into the rows of [`report`]: each step row gets its
/// step's counts, each total row the sum over its steps (a count LINE withheld stays out of the
/// sum; the sum is `None` when LINE gave none).
pub fn merge_line_stats(rows: &mut [Row], stats: &LineStats) {
    let add = |a: Option<u64>, b: Option<u64>| match (a, b) {
        (None, x) | (x, None) => x,
        (Some(a), Some(b)) => Some(a + b),
    };
    for row in rows.iter_mut() {
        let Some(per_step) = stats.get(&row.scenario) else {
            continue;
        };
        row.line = match row.step_index {
            Some(i) => per_step.get(&i).copied(),
            None => Some(per_step.values().fold(LineCounts::default(), |acc, c| {
                LineCounts::new(add(acc.opens, c.opens), add(acc.clicks, c.clicks))
            })),
        };
    }
}

/// Yen with thousands separators and no decimals (`¥12,300`).
pub fn yen(amount: f64) -> String {
    let n = amount.round() as i64;
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    format!("{}¥{out}", if n < 0 { "-" } else { "" })
}

/// The skips of a row as `N reason, …` (`0` for none).
pub fn skipped_text(counts: &Counts) -> String {
    if counts.skipped.is_empty() {
        "0".to_owned()
    } else {
        counts
            .skipped
            .iter()
            .map(|(k, v)| format!("{v} {}", k.name()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A count from LINE: the number, or `-` when LINE withheld it or it was not fetched.
pub fn line_count(n: Option<u64>) -> String {
    n.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

/// A percentage with one decimal, or `-`.
pub fn percent(x: Option<f64>) -> String {
    x.map_or_else(|| "-".to_owned(), |v| format!("{v:.1}%"))
}

/// The rows as a terminal table.
pub fn render_table(rows: &[Row]) -> String {
    let header = [
        "scenario",
        "step",
        "entered",
        "sent",
        "skipped",
        "deferred",
        "goal exits",
        "conv",
        "revenue",
        "clicks",
        "LINE opens",
        "LINE clicks",
        "cost",
        "CVR",
        "ROAS",
    ];
    let pct = percent;
    let body: Vec<[String; 15]> = rows
        .iter()
        .map(|r| {
            let skipped = skipped_text(&r.counts);
            [
                r.scenario.clone(),
                r.step.clone().unwrap_or_else(|| "(all)".into()),
                if r.step.is_none() {
                    r.counts.entered.to_string()
                } else {
                    "".into()
                },
                r.counts.sent.to_string(),
                skipped,
                r.counts.deferred.to_string(),
                if r.step.is_none() {
                    r.counts.exited.get(&ExitReason::Goal).copied().unwrap_or(0).to_string()
                } else {
                    "".into()
                },
                r.counts.conversions.to_string(),
                yen(r.counts.revenue),
                r.counts.clicks.to_string(),
                line_count(r.line.and_then(|l| l.opens)),
                line_count(r.line.and_then(|l| l.clicks)),
                yen(r.cost),
                pct(r.cvr_percent()),
                pct(r.roas_percent()),
            ]
        })
        .collect();
    let mut width = header.map(|h| h.chars().count());
    for row in &body {
        for (w, cell) in width.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, cells: &[String]| {
        for (i, (cell, w)) in cells.iter().zip(width).enumerate() {
            let pad = w - cell.chars().count();
            if i < 2 || i == 4 {
                let _ = write!(out, "{cell}{}", " ".repeat(pad));
            } else {
                let _ = write!(out, "{}{cell}", " ".repeat(pad));
            }
            out.push_str(if i + 1 < cells.len() { "  " } else { "\n" });
        }
    };
    line(&mut out, &header.map(str::to_owned));
    for row in &body {
        line(&mut out, row);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cost_counts_only_messages_past_the_free_ones() {
        let plan = Plan::new(200, 3.0);
        assert_eq!(plan.cost(0, 150), 0.0);
        assert_eq!(plan.cost(150, 100), 150.0, "50 of the 100 are past the free 200");
        assert_eq!(plan.cost(500, 10), 30.0);
        let e = estimate(&plan, Reach::AtMost(1_000), 1, 0);
        assert!(e.upper_bound);
        assert_eq!((e.messages, e.yen), (1_000, 2_400.0));
        let e = estimate(&plan, Reach::Exactly(100), 2, 0);
        assert_eq!((e.messages, e.yen, e.upper_bound), (200, 0.0, false));
    }

    #[test]
    fn yen_groups_thousands() {
        assert_eq!(yen(0.0), "¥0");
        assert_eq!(yen(1234567.4), "¥1,234,567");
        assert_eq!(yen(-1500.0), "-¥1,500");
    }
}
