//! `linectl bulk`: plan (dry run), run (send or resume) and report a campaign
//! across the accounts of a registry file (line-accounts' `bulk` module), with
//! the run's state in a SQLite file.
//!
//! Nothing here prints a secret: the tables hold channel IDs, numbers, LINE's
//! request IDs and error messages (none of which quotes a token or a secret).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};
use line_accounts::bulk::{
    self, AccountStatus, AutoApprove, Campaign, DryRunOptions, DryRunOutcome, SendOptions, SendReport, YenLimit,
};
use line_accounts::sqlite::SqliteBulkStore;
use line_accounts::{Accounts, ChannelId};
use line_core::store::sqlite::SqliteDb;

use crate::accounts::{chain, with_accounts, RemoteArgs, EXIT_FAILED, EXIT_USAGE};

/// `linectl bulk` subcommands.
#[derive(Subcommand, Debug)]
pub enum BulkCmd {
    /// The dry run: per account, ready, refused or failed, with recipients and cost;
    /// exit 1 when any account is refused or failed.
    Plan(PlanArgs),
    /// Sends the campaign (dry run, approval, send), or resumes the run when the state
    /// file has it; exit 1 when any recipient of an approved account is not sent.
    Run(RunArgs),
    /// The report of a run from the state file alone; exit 1 when it is incomplete.
    Report(ReportArgs),
}

/// `linectl bulk plan`.
#[derive(Args, Debug)]
pub struct PlanArgs {
    #[command(flatten)]
    remote: RemoteArgs,
    /// The campaign file (JSON; see docs/formats.md#campaign-file).
    #[arg(long)]
    campaign: PathBuf,
}

/// `linectl bulk run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    remote: RemoteArgs,
    /// The campaign file (JSON; see docs/formats.md#campaign-file).
    #[arg(long)]
    campaign: PathBuf,
    /// The SQLite file that keeps the run's state (created when missing).
    #[arg(long)]
    state: PathBuf,
    /// The run's name (default `campaign-` and the campaign's digest, so running the
    /// same command again resumes).
    #[arg(long)]
    run: Option<String>,
    /// Approve every account the dry run finds ready.
    #[arg(long, conflicts_with = "max_yen")]
    approve_all: bool,
    /// Approve each ready account whose send costs at most this many yen.
    #[arg(long)]
    max_yen: Option<f64>,
    /// Recipients per multicast chunk (1 to 500).
    #[arg(long, default_value_t = 500)]
    chunk_size: usize,
    /// Seconds each attempt of a chunk's call may take; a chunk that times out is
    /// reported as unknown and resent with its retry key by the next run.
    #[arg(long, default_value_t = 30)]
    request_timeout: u64,
    /// Seconds to wait for a narrowcast's progress to reach `succeeded` or `failed`.
    #[arg(long, default_value_t = 60)]
    narrowcast_wait: u64,
}

/// `linectl bulk report`.
#[derive(Args, Debug)]
pub struct ReportArgs {
    /// The SQLite file of `linectl bulk run --state`.
    #[arg(long)]
    state: PathBuf,
    /// The run (needed when the file holds more than one).
    #[arg(long)]
    run: Option<String>,
}

/// Runs a `linectl bulk` subcommand.
pub fn run(cmd: BulkCmd) -> ExitCode {
    match cmd {
        BulkCmd::Plan(args) => {
            let Some(campaign) = campaign(&args.campaign) else {
                return ExitCode::from(EXIT_USAGE);
            };
            with_accounts(&args.remote, |accounts, _| plan(accounts, campaign, &args.remote))
        }
        BulkCmd::Run(args) => {
            let Some(campaign) = campaign(&args.campaign) else {
                return ExitCode::from(EXIT_USAGE);
            };
            with_accounts(&args.remote, |accounts, _| send(accounts, campaign, &args))
        }
        BulkCmd::Report(args) => report(&args),
    }
}

fn campaign(path: &Path) -> Option<Campaign> {
    match Campaign::from_file(path) {
        Ok(c) => Some(c),
        Err(e) => {
            eprintln!("error: {}", chain(&e));
            None
        }
    }
}

fn dry_options(remote: &RemoteArgs) -> DryRunOptions {
    DryRunOptions::new()
        .concurrency(remote.concurrency)
        .timeout(Duration::from_secs(remote.timeout_secs))
}

fn outcome_text(o: &DryRunOutcome) -> (&'static str, String) {
    match o {
        DryRunOutcome::Ready => ("ready", String::new()),
        DryRunOutcome::Refused(r) => ("refused", r.to_string()),
        DryRunOutcome::Failed(f) => ("failed", f.to_string()),
        _ => ("unknown", String::new()),
    }
}

async fn plan(accounts: Accounts, campaign: Campaign, remote: &RemoteArgs) -> ExitCode {
    let report = campaign.dry_run(&accounts, &dry_options(remote)).await;
    for a in &report.accounts {
        let (state, detail) = outcome_text(&a.outcome);
        let (free, additional, yen) = match a.cost {
            Some(c) => (
                c.free.to_string(),
                c.additional.to_string(),
                c.yen.map_or_else(|| "-".to_owned(), |y| y.to_string()),
            ),
            None => ("-".into(), "-".into(), "-".into()),
        };
        println!(
            "{}\t{state}\t{}\t{free}\t{additional}\t{yen}\t{detail}",
            a.channel_id, a.recipients
        );
    }
    let t = &report.totals;
    println!(
        "total\t{} ready, {} refused, {} failed\t{}\t{}\t{}\t{}",
        t.ready, t.refused, t.failed, t.recipients, t.free, t.additional, t.yen
    );
    if t.refused + t.failed > 0 {
        ExitCode::from(EXIT_FAILED)
    } else {
        ExitCode::SUCCESS
    }
}

async fn open_store(path: &Path) -> Result<SqliteBulkStore, ExitCode> {
    let opened = async {
        let db = SqliteDb::open(path).await.map_err(|e| chain(&e))?;
        SqliteBulkStore::new(&db).await.map_err(|e| chain(&e))
    };
    opened.await.map_err(|e| {
        eprintln!("error: state file {}: {e}", path.display());
        ExitCode::from(EXIT_USAGE)
    })
}

async fn send(accounts: Accounts, campaign: Campaign, args: &RunArgs) -> ExitCode {
    let store = match open_store(&args.state).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    let run = args
        .run
        .clone()
        .unwrap_or_else(|| format!("campaign-{}", campaign.digest()));
    let options = SendOptions::new()
        .chunk_size(args.chunk_size)
        .request_timeout(Duration::from_secs(args.request_timeout))
        .narrowcast_wait(Duration::from_secs(args.narrowcast_wait));
    let known = match bulk::BulkStore::run_plan(&store, &run).await {
        Ok(p) => p.is_some(),
        Err(e) => {
            eprintln!("error: {}", chain(&e));
            return ExitCode::from(EXIT_FAILED);
        }
    };
    let result = if known {
        eprintln!("resuming run {run}");
        campaign.resume(&accounts, &store, &run, &options).await
    } else {
        if !args.approve_all && args.max_yen.is_none() {
            eprintln!("error: say which accounts may send: --approve-all, or --max-yen YEN");
            return ExitCode::from(EXIT_USAGE);
        }
        let dry = campaign.dry_run(&accounts, &dry_options(&args.remote)).await;
        let approval = match args.max_yen {
            Some(max_yen) => dry.approve(&YenLimit { max_yen }).await,
            None => dry.approve(&AutoApprove).await,
        };
        let approval = match approval {
            Ok(a) => a,
            Err(e) => {
                eprintln!("error: {}", chain(&e));
                return ExitCode::from(EXIT_FAILED);
            }
        };
        eprintln!(
            "run {run}: {} accounts approved, {} not approved, {} not ready",
            approval.approved.len(),
            approval.not_approved.len(),
            approval.not_ready.len()
        );
        let plan = campaign.plan(&dry, &approval, &options);
        campaign.send(&accounts, &store, &run, &plan, &options).await
    };
    match result {
        Ok(report) => print_report(&report),
        Err(e) => {
            eprintln!("error: {}", chain(&e));
            ExitCode::from(EXIT_FAILED)
        }
    }
}

fn report(args: &ReportArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    runtime.block_on(async {
        if !args.state.exists() {
            eprintln!("error: no state file {}", args.state.display());
            return ExitCode::from(EXIT_USAGE);
        }
        let store = match open_store(&args.state).await {
            Ok(s) => s,
            Err(code) => return code,
        };
        let run = match &args.run {
            Some(r) => r.clone(),
            None => match bulk::BulkStore::runs(&store).await {
                Ok(runs) if runs.len() == 1 => runs[0].clone(),
                Ok(runs) if runs.is_empty() => {
                    eprintln!("error: the state file holds no run");
                    return ExitCode::from(EXIT_USAGE);
                }
                Ok(runs) => {
                    eprintln!(
                        "error: the state file holds {} runs, say which with --run: {}",
                        runs.len(),
                        runs.join(", ")
                    );
                    return ExitCode::from(EXIT_USAGE);
                }
                Err(e) => {
                    eprintln!("error: {}", chain(&e));
                    return ExitCode::from(EXIT_FAILED);
                }
            },
        };
        match bulk::report(&store, &run).await {
            Ok(Some(report)) => print_report(&report),
            Ok(None) => {
                eprintln!("error: no run {run:?} in {}", args.state.display());
                ExitCode::from(EXIT_USAGE)
            }
            Err(e) => {
                eprintln!("error: {}", chain(&e));
                ExitCode::from(EXIT_FAILED)
            }
        }
    })
}

fn or_dash(s: Option<&str>) -> &str {
    s.unwrap_or("-")
}

/// The report as tab-separated lines, then a `total` line; exit 1 when incomplete.
fn print_report(report: &SendReport) -> ExitCode {
    for a in &report.accounts {
        let detail = match (&a.skipped, &a.error) {
            (Some(s), _) => s.to_string(),
            (None, Some(e)) => e.clone(),
            (None, None) if a.unknown_recipients > 0 => {
                format!("{} unknown (timed out or answer lost): run again", a.unknown_recipients)
            }
            (None, None) if matches!(a.narrowcast, Some(bulk::NarrowcastOutcome::InProgress { .. })) => {
                "narrowcast still in progress: run again to look".to_owned()
            }
            (None, None) if a.accepted_earlier > 0 => format!("{} accepted earlier", a.accepted_earlier),
            _ => String::new(),
        };
        println!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{detail}",
            a.channel_id,
            a.status(),
            a.recipients,
            a.sent,
            a.failed_recipients,
            a.skipped_recipients,
            a.pending_recipients
        );
        for f in &a.failed {
            println!(
                "{}\tfailed-chunk\t{}\t{}\t{}\t{}\t{}",
                a.channel_id,
                f.index,
                f.recipients,
                f.status.map_or_else(|| "-".to_owned(), |s| s.to_string()),
                or_dash(f.request_id.as_deref()),
                f.error
            );
        }
        for u in &a.unknown {
            println!(
                "{}\tunknown-chunk\t{}\t{}\t{}",
                a.channel_id, u.index, u.recipients, u.error
            );
        }
    }
    let t = &report.totals;
    println!(
        "total\t{} sent, {} incomplete, {} skipped\t{}\t{}\t{}\t{}\t{}",
        t.sent_accounts,
        t.incomplete_accounts,
        t.skipped_accounts,
        t.recipients,
        t.sent,
        t.failed,
        t.skipped,
        t.pending
    );
    let incomplete: Vec<&ChannelId> = report
        .accounts
        .iter()
        .filter(|a| a.status() == AccountStatus::Incomplete)
        .map(|a| &a.channel_id)
        .collect();
    if incomplete.is_empty() {
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "run {}: {} accounts incomplete; run again to resume",
            report.run,
            incomplete.len()
        );
        ExitCode::from(EXIT_FAILED)
    }
}
