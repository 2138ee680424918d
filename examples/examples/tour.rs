//! The whole journey in one command, on the embedded emulator:
//!
//! ```sh
//! cargo run -p line-examples --example tour
//! ```
//!
//! With `LINE_CHANNEL_ACCESS_TOKEN` and `LINE_CHANNEL_SECRET` set, `--live`
//! runs against the real API: a dry run (LINE validates every message) and
//! nothing else, unless `--send --to U…` asks to push the greeting to one user.
//! `--live` without the variables exits with status 2.
//!
//! `--store sqlite:PATH` or `--store postgres://…` puts every host store of the run
//! in that database (in memory by default). `--emulator URL --store sqlite:PATH` runs
//! only the tour's sending bot against an emulator that runs elsewhere (`linectl
//! emulator`): a coupon for every friend, resumable after a crash on the same file.

use std::process::ExitCode;

use clap::Parser;
use line_core::UserId;
use line_examples::deliver::DeliverOptions;
use line_examples::live::{LiveEnv, LiveOptions};
use line_examples::stores::StoreUrl;
use line_examples::tour::{self, TourOptions};
use line_examples::ErrorKind;

/// The line-rs tour.
#[derive(Debug, Parser)]
#[command(about = "The line-rs tour: the whole journey on the emulator, or a dry run against LINE with --live")]
struct Args {
    /// Use the real API (needs LINE_CHANNEL_ACCESS_TOKEN and LINE_CHANNEL_SECRET); dry run only.
    #[arg(long)]
    live: bool,
    /// With --live: really send (to the one user given by --to).
    #[arg(long, requires = "live", requires = "to")]
    send: bool,
    /// With --live --send: the user id to push to.
    #[arg(long, requires = "send")]
    to: Option<String>,
    /// Where the host stores live: `memory`, `sqlite:PATH` or `postgres://USER:PASSWORD@HOST/DB`.
    #[arg(long, default_value = "memory", conflicts_with = "live")]
    store: String,
    /// Run only the sending bot, against the emulator (or API) at this base URL.
    #[arg(long, conflicts_with = "live")]
    emulator: Option<String>,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let args = Args::parse();
    let mut out = std::io::stdout().lock();
    let store = match args.store.parse::<StoreUrl>() {
        Ok(store) => store,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let result = if let Some(api) = args.emulator {
        let options = DeliverOptions::new(api, store);
        line_examples::deliver::deliver(&mut out, &options).await.map(|_| ())
    } else if args.live {
        let env = match LiveEnv::from_env() {
            Ok(env) => env,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        };
        let options = LiveOptions::new(args.send, args.to.map(UserId::new));
        line_examples::live::run(&mut out, &env, &options).await.map(|_| ())
    } else {
        let started = std::time::Instant::now();
        match tour::run(&mut out, &TourOptions::default().with_store(store)).await {
            Ok(_) => {
                use std::io::Write as _;
                let secs = started.elapsed().as_secs_f64();
                writeln!(out, "\ndone in {secs:.1} s").map_err(line_examples::Error::from)
            }
            Err(e) => Err(e),
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            if matches!(e.kind(), ErrorKind::Config { .. }) {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
