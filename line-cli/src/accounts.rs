//! `linectl accounts`: list, check the tokens of, and read the quotas of the
//! accounts in a registry file (line-accounts).
//!
//! Nothing here prints a channel secret, a token or a key: `list` shows IDs and
//! settings, `check` shows whether a token was obtained and verified (and why
//! not), `quota` shows numbers.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Subcommand};
use futures::stream::{self, StreamExt};
use line_accounts::bulk::{self, AccountFailure, DryRunOptions};
use line_accounts::{Account, AccountHandle, Accounts, ErrorKind, InMemoryRegistry, TokenConfig};
use line_core::client::TokenSource;
use line_core::model::VerifyChannelTokenRequest;
use serde_json::{json, Value};

/// Exit code: an account failed its check (or its quota could not be read).
pub(crate) const EXIT_FAILED: u8 = 1;
/// Exit code: the registry file is unreadable or malformed.
pub(crate) const EXIT_USAGE: u8 = 2;

/// `linectl accounts` subcommands.
#[derive(Subcommand, Debug)]
pub enum AccountsCmd {
    /// One line per account: channel ID, bot user ID, token kind, time zone,
    /// free messages per month, yen per additional message (`-` when none) and name.
    List {
        /// The registry file (JSON).
        file: PathBuf,
    },
    /// Obtains each account's token (issuing it where needed) and verifies it at LINE;
    /// exit 1 when any account fails.
    Check(RemoteArgs),
    /// Each account's monthly quota, used and remaining, and the totals; exit 1 when
    /// any account's quota could not be read.
    Quota {
        #[command(flatten)]
        remote: RemoteArgs,
        /// Print one JSON document instead of lines.
        #[arg(long)]
        json: bool,
    },
}

/// The registry file and where LINE is.
#[derive(Args, Debug)]
pub struct RemoteArgs {
    /// The registry file (JSON).
    pub file: PathBuf,
    /// One base URL for every LINE host (an emulator); LINE's own hosts without it.
    #[arg(long)]
    pub base_url: Option<String>,
    /// Most accounts checked at once.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Seconds one account's check may take.
    #[arg(long, default_value_t = 30)]
    pub timeout_secs: u64,
}

/// Runs a `linectl accounts` subcommand.
pub fn run(cmd: AccountsCmd) -> ExitCode {
    match cmd {
        AccountsCmd::List { file } => match load(&file) {
            Ok(accounts) => {
                for a in &accounts {
                    println!("{}", list_line(a));
                }
                ExitCode::SUCCESS
            }
            Err(code) => code,
        },
        AccountsCmd::Check(remote) => with_accounts(&remote, |accounts, ids| check(accounts, ids, &remote)),
        AccountsCmd::Quota { remote, json } => {
            with_accounts(&remote, |accounts, ids| quota(accounts, ids, &remote, json))
        }
    }
}

/// Reads the registry file; an error is printed and gives exit 2.
pub(crate) fn load(file: &std::path::Path) -> Result<Vec<Account>, ExitCode> {
    line_accounts::load_registry_file(file).map_err(|e| {
        match (e.kind(), std::error::Error::source(&e)) {
            // Only an I/O error has a source worth showing; none quotes a secret.
            (ErrorKind::Io { .. }, Some(source)) => eprintln!("error: {e}: {source}"),
            _ => eprintln!("error: {e}"),
        }
        ExitCode::from(EXIT_USAGE)
    })
}

/// `channel_id  bot_user_id  kind  time_zone  free  yen|-  name`, tab-separated.
fn list_line(a: &Account) -> String {
    let plan = &a.settings.plan;
    let yen = plan
        .yen_per_additional_message
        .map_or_else(|| "-".to_owned(), |y| y.to_string());
    format!(
        "{}\t{}\t{}\t{}\t{}\t{}\t{}",
        a.channel_id,
        a.bot_user_id,
        a.token.kind(),
        a.settings.time_zone_name(),
        plan.free_messages_per_month,
        yen,
        a.name.as_deref().unwrap_or("")
    )
}

/// Loads the file into an in-memory registry and runs `f` on a runtime.
pub(crate) fn with_accounts<F, Fut>(remote: &RemoteArgs, f: F) -> ExitCode
where
    F: FnOnce(Accounts, Vec<line_accounts::ChannelId>) -> Fut,
    Fut: std::future::Future<Output = ExitCode>,
{
    let list = match load(&remote.file) {
        Ok(list) => list,
        Err(code) => return code,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    runtime.block_on(async move {
        let mut builder = Accounts::builder(Arc::new(InMemoryRegistry::new()));
        if let Some(url) = &remote.base_url {
            builder = builder.base_url(url.trim_end_matches('/'));
        }
        let accounts = match builder.build() {
            Ok(a) => a,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(EXIT_FAILED);
            }
        };
        let mut ids = Vec::with_capacity(list.len());
        for account in list {
            ids.push(account.channel_id.clone());
            if let Err(e) = accounts.add(account).await {
                eprintln!("error: {e}");
                return ExitCode::from(EXIT_USAGE);
            }
        }
        f(accounts, ids).await
    })
}

/// An error and its sources, `: `-separated (no error of these crates quotes a secret).
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut next = e.source();
    while let Some(s) = next {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        next = s.source();
    }
    text
}

fn failure_text(f: &AccountFailure) -> String {
    match f {
        AccountFailure::Account(e) => chain(e),
        AccountFailure::Api(e) => chain(e),
        other => other.to_string(),
    }
}

/// Obtains the account's token and verifies it at LINE; gives what was checked.
async fn check_one(handle: &AccountHandle) -> Result<String, String> {
    let token = handle.tokens().token().await.map_err(|e| chain(&e))?;
    let client = handle.client();
    let account = handle.account();
    let verified = match &account.token {
        TokenConfig::V21 { .. } => client.verify_channel_token_by_jwt(token.expose()).await,
        TokenConfig::Stateless => {
            // LINE's verify endpoints do not take stateless tokens: the API must accept it.
            return client
                .get_bot_info()
                .await
                .map(|_| "token accepted by the Messaging API".to_owned())
                .map_err(|e| chain(&e));
        }
        _ => {
            client
                .verify_channel_token(VerifyChannelTokenRequest::new(token.expose()))
                .await
        }
    }
    .map_err(|e| chain(&e))?
    .into_body();
    if verified.client_id != account.channel_id.as_str() {
        return Err(format!(
            "the token belongs to channel {}, not {}",
            verified.client_id, account.channel_id
        ));
    }
    Ok(format!("token verified, expires in {} s", verified.expires_in))
}

async fn check(accounts: Accounts, ids: Vec<line_accounts::ChannelId>, remote: &RemoteArgs) -> ExitCode {
    let timeout = Duration::from_secs(remote.timeout_secs);
    let checks = ids.into_iter().map(|id| {
        let accounts = accounts.clone();
        async move {
            let one = async {
                let handle = accounts.get(&id).await.map_err(|e| chain(&e))?;
                check_one(&handle).await
            };
            let result = match tokio::time::timeout(timeout, one).await {
                Ok(r) => r,
                Err(_) => Err(format!("no answer within {} s", timeout.as_secs())),
            };
            (id, result)
        }
    });
    let mut results: Vec<_> = stream::iter(checks)
        .buffer_unordered(remote.concurrency.max(1))
        .collect()
        .await;
    results.sort_by(|a, b| a.0.cmp(&b.0));
    let mut failed = 0usize;
    for (id, result) in &results {
        match result {
            Ok(what) => println!("{id}\tok\t{what}"),
            Err(why) => {
                failed += 1;
                println!("{id}\tfailed\t{why}");
            }
        }
    }
    eprintln!(
        "{} accounts, {} ok, {failed} failed",
        results.len(),
        results.len() - failed
    );
    if failed > 0 {
        ExitCode::from(EXIT_FAILED)
    } else {
        ExitCode::SUCCESS
    }
}

async fn quota(accounts: Accounts, ids: Vec<line_accounts::ChannelId>, remote: &RemoteArgs, as_json: bool) -> ExitCode {
    let options = DryRunOptions::new()
        .concurrency(remote.concurrency)
        .timeout(Duration::from_secs(remote.timeout_secs));
    let report = bulk::quotas(&accounts, ids, &options).await;
    let t = &report.totals;
    if as_json {
        let rows: Vec<Value> = report
            .accounts
            .iter()
            .map(|a| match &a.quota {
                Ok(q) => json!({
                    "channel_id": a.channel_id.as_str(),
                    "limit": q.limit,
                    "used": q.used,
                    "remaining": q.remaining(),
                }),
                Err(f) => json!({"channel_id": a.channel_id.as_str(), "error": failure_text(f)}),
            })
            .collect();
        let doc = json!({
            "accounts": rows,
            "total": {
                "limit": t.limit,
                "used": t.used,
                "remaining": t.remaining,
                "unlimited": t.unlimited,
                "unknown": t.unknown,
            }
        });
        println!("{doc}");
    } else {
        for a in &report.accounts {
            match &a.quota {
                Ok(q) => println!(
                    "{}\t{}\t{}\t{}",
                    a.channel_id,
                    q.limit.map_or_else(|| "unlimited".to_owned(), |l| l.to_string()),
                    q.used,
                    q.remaining().map_or_else(|| "-".to_owned(), |r| r.to_string()),
                ),
                Err(f) => println!("{}\tfailed\t{}", a.channel_id, failure_text(f)),
            }
        }
        println!(
            "total\t{}\t{}\t{}\t{} unlimited, {} unknown",
            t.limit, t.used, t.remaining, t.unlimited, t.unknown
        );
    }
    if t.unknown > 0 {
        ExitCode::from(EXIT_FAILED)
    } else {
        ExitCode::SUCCESS
    }
}
