//! `linectl webhook`: check signatures and parse webhook request bodies.

use std::fmt::Display;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use line_core::webhook::{self, Event, WebhookVerifier};
use line_core::ChannelSecret;

/// Exit code: the input was checked and is wrong (bad signature, not a webhook body).
const EXIT_INVALID: u8 = 1;
/// Exit code: usage errors and unreadable input (clap uses 2 for its own usage errors too).
const EXIT_USAGE: u8 = 2;

/// `linectl webhook …`
#[derive(Subcommand, Debug)]
pub enum WebhookCmd {
    /// Check the x-line-signature of a webhook body.
    ///
    /// Exits 0 when the signature is valid, 1 when it is not (the reason goes
    /// to stderr), 2 on usage errors or unreadable input.
    Verify(VerifyArgs),
    /// Parse a webhook body (no signature check) and print it back as JSON.
    ///
    /// The output equals the input as a JSON value. An event that cannot be
    /// read does not fail the others: it is printed as it came, and a warning
    /// on stderr names its index, JSON pointer and reason. Exits 1, naming the
    /// JSON pointer, when the body is not a webhook request; 2 when it cannot
    /// be read.
    Parse(ParseArgs),
    /// Print the x-line-signature LINE would send with a body (for testing a bot locally).
    Sign(SignArgs),
}

/// Arguments of `linectl webhook verify`.
#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The channel secret.
    #[arg(long, env = "LINE_CHANNEL_SECRET", hide_env_values = true)]
    secret: ChannelSecret,
    /// The x-line-signature header value.
    #[arg(long, allow_hyphen_values = true)]
    signature: String,
    /// The raw request body; standard input when omitted or `-`.
    file: Option<PathBuf>,
}

/// Arguments of `linectl webhook parse`.
#[derive(Args, Debug)]
pub struct ParseArgs {
    /// The request body; standard input when omitted or `-`.
    file: Option<PathBuf>,
    /// Print one line per event instead: INDEX, TYPE, known|unknown|invalid, WEBHOOK_EVENT_ID or -, tab-separated.
    #[arg(long)]
    summary: bool,
}

/// Arguments of `linectl webhook sign`.
#[derive(Args, Debug)]
pub struct SignArgs {
    /// The channel secret.
    #[arg(long, env = "LINE_CHANNEL_SECRET", hide_env_values = true)]
    secret: ChannelSecret,
    /// The raw request body; standard input when omitted or `-`.
    file: Option<PathBuf>,
}

/// Runs a `linectl webhook` command.
pub fn run(cmd: WebhookCmd) -> ExitCode {
    match cmd {
        WebhookCmd::Verify(args) => verify(args),
        WebhookCmd::Parse(args) => parse(args),
        WebhookCmd::Sign(args) => sign(args),
    }
}

fn sign(args: SignArgs) -> ExitCode {
    if args.secret.expose().is_empty() {
        report("error: the channel secret is empty (--secret or LINE_CHANNEL_SECRET)");
        return ExitCode::from(EXIT_USAGE);
    }
    match read_input(args.file.as_deref()) {
        Ok(body) => emit(&format!("{}\n", WebhookVerifier::new(&args.secret).sign(&body))),
        Err(code) => code,
    }
}

fn verify(args: VerifyArgs) -> ExitCode {
    if args.secret.expose().is_empty() {
        report("error: the channel secret is empty (--secret or LINE_CHANNEL_SECRET)");
        return ExitCode::from(EXIT_USAGE);
    }
    let body = match read_input(args.file.as_deref()) {
        Ok(b) => b,
        Err(code) => return code,
    };
    match WebhookVerifier::new(&args.secret).verify(&body, Some(&args.signature)) {
        Ok(()) => emit("valid\n"),
        Err(e) => {
            report(format_args!("invalid: {e}"));
            ExitCode::from(EXIT_INVALID)
        }
    }
}

fn parse(args: ParseArgs) -> ExitCode {
    let body = match read_input(args.file.as_deref()) {
        Ok(b) => b,
        Err(code) => return code,
    };
    let request = match webhook::parse(&body) {
        Ok(r) => r,
        Err(e) => {
            report(format_args!("error: not a webhook request: {e}"));
            return ExitCode::from(EXIT_INVALID);
        }
    };
    for (i, event) in request.events.iter().enumerate() {
        if let Event::Invalid { error, .. } = event {
            report(format_args!("warning: event {i}: {}", one_field(&error.to_string())));
        }
    }
    if args.summary {
        let mut out = String::new();
        for (i, event) in request.events.iter().enumerate() {
            out.push_str(&summary_line(i, event));
            out.push('\n');
        }
        emit(&out)
    } else {
        match serde_json::to_string_pretty(&request) {
            Ok(mut json) => {
                json.push('\n');
                emit(&json)
            }
            Err(e) => {
                report(format_args!("error: cannot serialize the parsed request: {e}"));
                ExitCode::from(EXIT_INVALID)
            }
        }
    }
}

/// `INDEX<TAB>TYPE<TAB>known|unknown|invalid<TAB>WEBHOOK_EVENT_ID or -`.
fn summary_line(index: usize, event: &Event) -> String {
    let known = if event.is_invalid() {
        "invalid"
    } else if event.is_unknown() {
        "unknown"
    } else {
        "known"
    };
    let id = event.webhook_event_id();
    let id = id.as_deref().map_or("-", String::as_str);
    format!("{index}\t{}\t{known}\t{}", one_field(event.kind()), one_field(id))
}

/// Escapes control characters so that a value stays one tab-separated field.
fn one_field(s: &str) -> String {
    if s.chars().any(char::is_control) {
        s.chars()
            .map(|c| {
                if c.is_control() {
                    c.escape_default().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect()
    } else {
        s.to_owned()
    }
}

/// Reads FILE, or standard input for `None` and `-`, as raw bytes.
fn read_input(file: Option<&Path>) -> Result<Vec<u8>, ExitCode> {
    let result = match file {
        None => read_stdin(),
        Some(p) if p == Path::new("-") => read_stdin(),
        Some(p) => std::fs::read(p).map_err(|e| format!("cannot read {}: {e}", p.display())),
    };
    result.map_err(|msg| {
        report(format_args!("error: {msg}"));
        ExitCode::from(EXIT_USAGE)
    })
}

fn read_stdin() -> Result<Vec<u8>, String> {
    let mut buf = Vec::new();
    io::stdin()
        .lock()
        .read_to_end(&mut buf)
        .map_err(|e| format!("cannot read standard input: {e}"))?;
    Ok(buf)
}

/// Writes to stdout without panicking when it is closed.
fn emit(text: &str) -> ExitCode {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        // The reader went away (`linectl … | head`): nothing left to tell.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            report(format_args!("error: cannot write the output: {e}"));
            ExitCode::from(EXIT_USAGE)
        }
    }
}

/// Writes a line to stderr, ignoring a closed stderr instead of panicking.
fn report(msg: impl Display) {
    let _ = writeln!(io::stderr().lock(), "{msg}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_do_not_break_the_summary_format() {
        assert_eq!(one_field("message"), "message");
        assert_eq!(one_field("a\tb\nc"), "a\\tb\\nc");
    }
}
