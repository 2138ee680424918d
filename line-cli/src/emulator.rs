//! `linectl emulator`: a local LINE Messaging API for tests and CI.
//!
//! Prints `listening on http://127.0.0.1:PORT` as its first line on stdout,
//! then, with `--channels N`, one JSON line per added channel (its ID, bot user ID,
//! secret, ready token and webhook URL), then serves until Ctrl-C. The admin interface is documented in
//! `line_emulator::admin`, the fault configuration in `line_emulator::faults`.

use std::io::Write;
use std::process::ExitCode;

use clap::Args;
use line_core::{ChannelAccessToken, ChannelSecret};
use line_emulator::{Emulator, EmulatorConfig};

/// Exit code: the emulator could not start or stopped with an error.
const EXIT_FAILED: u8 = 1;
/// Exit code: a setting was rejected.
const EXIT_USAGE: u8 = 2;

/// Arguments of `linectl emulator`.
#[derive(Args, Debug)]
pub struct EmulatorArgs {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Simulated friends to seed (in the default channel and in each added channel).
    #[arg(long, default_value_t = 0)]
    pub friends: usize,
    /// Channels to add besides the default one, each with its own credentials, friends,
    /// quota, rate limits and webhook secret; one JSON line each is printed after the first line.
    #[arg(long, default_value_t = 0)]
    pub channels: usize,
    /// Accept only this bearer token (any other gets LINE's 401); any token is accepted without it.
    #[arg(long, env = "LINE_EMULATOR_TOKEN", hide_env_values = true)]
    pub token: Option<ChannelAccessToken>,
    /// Where to deliver webhooks.
    #[arg(long)]
    pub webhook_url: Option<String>,
    /// The channel secret webhooks are signed with.
    #[arg(long, env = "LINE_CHANNEL_SECRET", hide_env_values = true)]
    pub channel_secret: Option<ChannelSecret>,
    /// Redeliveries of a failed webhook.
    #[arg(long, default_value_t = 0)]
    pub redeliveries: u32,
    /// Seed of simulated users, ids and faults.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Multiplies every rate-limit window (0.001 makes an hour pass in 3.6 s).
    #[arg(long, default_value_t = 1.0)]
    pub time_scale: f64,
    /// Turns LINE's rate limits off.
    #[arg(long)]
    pub no_rate_limits: bool,
    /// A monthly message quota (no limit without it).
    #[arg(long)]
    pub monthly_quota: Option<u64>,
}

/// The emulator settings these arguments ask for.
pub fn config(args: &EmulatorArgs) -> EmulatorConfig {
    let mut config = EmulatorConfig::new()
        .port(args.port)
        .friends(args.friends)
        .channels(args.channels)
        .redeliveries(args.redeliveries)
        .seed(args.seed)
        .time_scale(args.time_scale)
        .rate_limits(!args.no_rate_limits)
        .monthly_quota(args.monthly_quota);
    if let Some(token) = &args.token {
        config = config.token(token.clone());
    }
    if let Some(url) = &args.webhook_url {
        config = config.webhook_url(url.clone());
    }
    if let Some(secret) = &args.channel_secret {
        config = config.channel_secret(secret.clone());
    }
    config
}

/// Runs `linectl emulator` until Ctrl-C.
pub fn run(args: EmulatorArgs) -> ExitCode {
    let config = config(&args);
    if let Err(e) = config.validate() {
        eprintln!("error: {e}");
        return ExitCode::from(EXIT_USAGE);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    runtime.block_on(async move {
        let emulator = match Emulator::start_with(config).await {
            Ok(emu) => emu,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(EXIT_FAILED);
            }
        };
        let mut out = std::io::stdout().lock();
        if print_start(&mut out, &emulator).is_err() {
            return ExitCode::from(EXIT_FAILED);
        }
        drop(out);
        match emulator.run_until_ctrl_c().await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(EXIT_FAILED)
            }
        }
    })
}

/// The listening line, then one JSON line per added channel: `{"channelId", "botUserId",
/// "channelSecret", "accessToken", "webhookUrl"}` (the emulator's test credentials).
fn print_start(out: &mut impl Write, emulator: &Emulator) -> std::io::Result<()> {
    writeln!(out, "{}", line_emulator::listening_line(emulator.addr()))?;
    for channel in emulator.channels() {
        writeln!(out, "{}", channel.credentials_json())?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct Cli {
        #[command(flatten)]
        args: EmulatorArgs,
    }

    #[test]
    fn the_contract_flags_map_to_the_config() {
        let cli = Cli::try_parse_from(["emulator", "--port", "0", "--friends", "3", "--token", "T"]).unwrap();
        let config = config(&cli.args);
        assert_eq!(config.port_value(), 0);
        assert!(config.validate().is_ok());
        let shown = format!("{cli:?}");
        assert!(!shown.contains("\"T\""), "{shown}");
    }

    #[test]
    fn bad_settings_are_usage_errors() {
        let cli = Cli::try_parse_from(["emulator", "--time-scale", "0"]).unwrap();
        assert!(config(&cli.args).validate().is_err());
        assert!(Cli::try_parse_from(["emulator", "--port", "70000"]).is_err());
    }

    #[tokio::test]
    async fn each_channel_gets_a_json_line_after_the_first() {
        let cli = Cli::try_parse_from(["emulator", "--channels", "2", "--friends", "1"]).unwrap();
        let emu = Emulator::start_with(config(&cli.args)).await.unwrap();
        let mut out = Vec::new();
        print_start(&mut out, &emu).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert_eq!(lines[0], line_emulator::listening_line(emu.addr()));
        for (line, channel) in lines[1..].iter().zip(emu.channels()) {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(v["channelId"], channel.channel_id());
            assert_eq!(v["botUserId"], channel.bot_user_id());
            assert_eq!(v["channelSecret"], channel.channel_secret().expose());
            assert_eq!(v["accessToken"], channel.token().expose());
            assert_eq!(channel.users().len(), 1);
        }
        emu.shutdown().await;
    }

    #[tokio::test]
    async fn the_first_line_names_the_address() {
        let cli = Cli::try_parse_from(["emulator", "--friends", "3"]).unwrap();
        let emu = Emulator::start_with(config(&cli.args)).await.unwrap();
        let line = line_emulator::listening_line(emu.addr());
        assert_eq!(line, format!("listening on {}", emu.base_url()));
        assert_eq!(emu.users().len(), 3);
        emu.shutdown().await;
    }
}
