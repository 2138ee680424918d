//! `linectl scenario …`: check, simulate and report system deliveries.
//!
//! A thin layer over `line_scenarios`; the logic lives in the crate. Exit codes: 0 ok, 1 the
//! scenarios were read and are wrong (each problem printed with its scenario, step and JSON
//! pointer), 2 usage errors and unreadable input (a missing file, text that is not JSON).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use line_scenarios::budget::{Budget, QuietHours};
use line_scenarios::engine::EngineConfig;
use line_scenarios::simulate;
use line_scenarios::stats::{self, Plan, Record};
use line_scenarios::validate::{validate_all, Options};
use line_scenarios::{ErrorKind, Scenario};

/// Scenario subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum ScenarioCmd {
    /// Check scenario files (one scenario or an array): shape, targets, reachability, loops,
    /// template variables, segments (against a schema), wait bounds.
    Check {
        /// The scenario file (JSON).
        file: PathBuf,
        /// A schema for segments, attributes and events (JSON: {"attributes": {...}, "events": {...}}).
        #[arg(long)]
        schema: Option<PathBuf>,
    },
    /// Replay past events through the scenarios on a simulated clock: who would get which step
    /// when, what the budget and quiet hours held back, and the cost.
    Simulate {
        /// The scenario file (JSON).
        file: PathBuf,
        /// Profiles before the first event (JSON Lines, the line-segments profile format).
        #[arg(long)]
        profiles: PathBuf,
        /// Events to replay (JSON Lines; see the docs of `line_scenarios::simulate`).
        #[arg(long)]
        events: PathBuf,
        /// Replay from this instant (RFC 3339).
        #[arg(long)]
        from: Option<String>,
        /// Replay until this instant (RFC 3339).
        #[arg(long)]
        to: Option<String>,
        /// The account's time zone.
        #[arg(long, default_value = "Asia/Tokyo")]
        tz: String,
        /// Quiet hours, `START-END` in the account's time zone (e.g. 21:00-09:00).
        #[arg(long)]
        quiet_hours: Option<String>,
        /// At most this many messages per user per rolling 7 days.
        #[arg(long)]
        budget: Option<u32>,
        /// Messages free each month.
        #[arg(long, default_value_t = 0)]
        free: u64,
        /// Yen per message beyond the free ones.
        #[arg(long, default_value_t = 0.0)]
        yen: f64,
        /// Also write every record as JSON Lines here (input of `scenario report`).
        #[arg(long)]
        records_out: Option<PathBuf>,
    },
    /// A report from recorded events (JSON Lines of records): per scenario and step, entered, sent,
    /// skipped by reason, goal exits, conversions, revenue, tracked clicks, LINE's opens and
    /// clicks, cost, CVR and ROAS. Printed as a table; `--html` also writes a self-contained page
    /// with a funnel chart.
    Report {
        /// The scenario file (JSON), for step names.
        file: PathBuf,
        /// The records (JSON Lines, as `scenario simulate --records-out` or a `JsonlJournal` writes).
        #[arg(long)]
        records: PathBuf,
        /// Messages free each month.
        #[arg(long, default_value_t = 0)]
        free: u64,
        /// Yen per message beyond the free ones.
        #[arg(long, default_value_t = 0.0)]
        yen: f64,
        /// Messages already sent this month before these records.
        #[arg(long, default_value_t = 0)]
        used: u64,
        /// LINE's per-unit statistics: a JSON object from each step's aggregation unit to the body
        /// LINE answered for it (`GET /v2/bot/insight/message/event/aggregation`).
        #[arg(long)]
        line_stats: Option<PathBuf>,
        /// Also write the report as a self-contained HTML page here.
        #[arg(long)]
        html: Option<PathBuf>,
        /// The page's title.
        #[arg(long, default_value = "Scenario report")]
        title: String,
    },
}

/// A failure with its exit code.
struct Fail {
    code: u8,
    message: String,
}

fn unreadable(message: impl Into<String>) -> Fail {
    Fail {
        code: 2,
        message: message.into(),
    }
}

fn wrong(message: impl Into<String>) -> Fail {
    Fail {
        code: 1,
        message: message.into(),
    }
}

fn read(path: &Path) -> Result<String, Fail> {
    std::fs::read_to_string(path).map_err(|e| unreadable(format!("cannot read {}: {e}", path.display())))
}

fn load(file: &Path) -> Result<Vec<Scenario>, Fail> {
    let text = read(file)?;
    line_scenarios::json::many_from_str(&text).map_err(|e| match e.kind() {
        ErrorKind::Syntax { .. } => unreadable(format!("{}: {e}", file.display())),
        _ => wrong(format!("{}: {e}", file.display())),
    })
}

fn time(flag: &str, value: Option<&str>) -> Result<Option<jiff::Timestamp>, Fail> {
    value
        .map(|v| {
            v.parse()
                .map_err(|e| unreadable(format!("--{flag}: not an RFC 3339 timestamp: {e}")))
        })
        .transpose()
}

fn run_inner(cmd: ScenarioCmd) -> Result<String, Fail> {
    match cmd {
        ScenarioCmd::Check { file, schema } => {
            let scenarios = load(&file)?;
            let mut options = Options::default();
            if let Some(path) = schema {
                let s = line_segments::cli::load_schema(&read(&path)?)
                    .map_err(|e| unreadable(format!("{}: {e}", path.display())))?;
                options = options.with_schema(s);
            }
            let problems = validate_all(&scenarios, &options);
            if problems.is_empty() {
                Ok(format!("{}: ok ({} scenario(s))\n", file.display(), scenarios.len()))
            } else {
                Err(wrong(
                    problems
                        .iter()
                        .map(|(id, p)| format!("{}: scenario `{id}`: {p}", file.display()))
                        .collect::<Vec<_>>()
                        .join("\n"),
                ))
            }
        }
        ScenarioCmd::Simulate {
            file,
            profiles,
            events,
            from,
            to,
            tz,
            quiet_hours,
            budget,
            free,
            yen,
            records_out,
        } => {
            let scenarios = load(&file)?;
            let profiles = line_segments::profile::parse_jsonl(&read(&profiles)?, None)
                .map_err(|e| unreadable(format!("{}: {e}", profiles.display())))?;
            let events = simulate::parse_events(&read(&events)?)
                .map_err(|e| unreadable(format!("{}: {e}", events.display())))?;
            let mut config = EngineConfig::default()
                .time_zone(&tz)
                .map_err(|e| unreadable(format!("--tz: {e}")))?;
            if let Some(q) = quiet_hours {
                let (start, end) = q
                    .split_once('-')
                    .ok_or_else(|| unreadable("--quiet-hours: expected START-END such as 21:00-09:00"))?;
                config = config.quiet_hours(
                    QuietHours::new(start, end, &tz).map_err(|e| unreadable(format!("--quiet-hours: {e}")))?,
                );
            }
            let mut options = simulate::Options::default();
            options.from = time("from", from.as_deref())?;
            options.to = time("to", to.as_deref())?;
            options.config = config;
            options.budget = budget.map(Budget::per_week);
            options.plan = Some(Plan::new(free, yen));
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .map_err(|e| unreadable(format!("cannot start a runtime: {e}")))?;
            let outcome = runtime
                .block_on(simulate::run(scenarios, profiles, events, options))
                .map_err(|e| match e.kind() {
                    ErrorKind::Invalid { .. } => wrong(format!("{}: {e}", file.display())),
                    _ => unreadable(e.to_string()),
                })?;
            if let Some(path) = records_out {
                let lines: String = outcome.records.iter().map(|r| format!("{}\n", r.to_json())).collect();
                std::fs::write(&path, lines)
                    .map_err(|e| unreadable(format!("cannot write {}: {e}", path.display())))?;
            }
            Ok(simulate::render(&outcome))
        }
        ScenarioCmd::Report {
            file,
            records,
            free,
            yen,
            used,
            line_stats,
            html,
            title,
        } => {
            let scenarios = load(&file)?;
            let text = read(&records)?;
            let mut list = Vec::new();
            for (i, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                let v: serde_json::Value = serde_json::from_str(line)
                    .map_err(|e| unreadable(format!("{} line {}: {e}", records.display(), i + 1)))?;
                list.push(
                    Record::from_json(&v)
                        .map_err(|e| unreadable(format!("{} line {}: {e}", records.display(), i + 1)))?,
                );
            }
            let counts = stats::count(&list);
            let mut rows = stats::report(
                &scenarios,
                &|id| counts.get(id).cloned().unwrap_or_default(),
                &Plan::new(free, yen),
                used,
            );
            if let Some(path) = line_stats {
                let line = line_scenarios::insight::stats_from_json(&scenarios, &read(&path)?)
                    .map_err(|e| unreadable(format!("{}: {e}", path.display())))?;
                stats::merge_line_stats(&mut rows, &line);
            }
            if let Some(path) = html {
                std::fs::write(&path, line_scenarios::report::render_html(&title, &rows))
                    .map_err(|e| unreadable(format!("cannot write {}: {e}", path.display())))?;
            }
            Ok(stats::render_table(&rows))
        }
    }
}

/// Runs a scenario subcommand, printing its output or its errors.
pub fn run(cmd: ScenarioCmd) -> ExitCode {
    match run_inner(cmd) {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(fail) => {
            eprintln!("{}", fail.message);
            ExitCode::from(fail.code)
        }
    }
}
