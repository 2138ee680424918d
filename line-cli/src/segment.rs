//! `linectl segment …`: check, format, evaluate and compile segments.
//!
//! A thin layer over `line_segments::cli`; the logic lives in the crate. Needs
//! `line-segments = { path = "../line-segments" }` in line-cli's dependencies.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use line_segments::cli;

/// Segment subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum SegmentCmd {
    /// Check a segment file (text or JSON): syntax, and names and types against a schema.
    Check {
        /// The segment file.
        file: PathBuf,
        /// A schema (JSON: {"attributes": {...}, "events": {...}}).
        #[arg(long)]
        schema: Option<PathBuf>,
    },
    /// Convert a segment between the text and JSON forms (text becomes JSON, JSON becomes text).
    Fmt {
        /// The segment file.
        file: PathBuf,
        /// Force the output form.
        #[arg(long, value_enum)]
        to: Option<FormArg>,
    },
    /// Print the IDs of the profiles in the segment, one per line.
    Eval {
        /// The segment file.
        #[arg(long)]
        segment: PathBuf,
        /// Profiles, one JSON object per line (format: see the line-segments docs, module `profile`).
        #[arg(long)]
        profiles: PathBuf,
        /// Evaluate at this instant (RFC 3339) instead of now.
        #[arg(long)]
        now: Option<String>,
        /// Print why this user is or is not in the segment instead.
        #[arg(long, value_name = "USER_ID")]
        explain: Option<String>,
        /// A schema, to read plain strings as dates and timestamps.
        #[arg(long)]
        schema: Option<PathBuf>,
    },
    /// Compile a segment to a LINE narrowcast plan or to SQL.
    Compile {
        /// What to compile to.
        #[arg(long, value_enum)]
        target: Target,
        /// The segment file.
        file: PathBuf,
        /// SQL: the mapping of attributes to columns and events to a table (JSON).
        #[arg(long)]
        mapping: Option<PathBuf>,
        /// SQL: use PostgreSQL placeholders ($1, $2, …) instead of `?`.
        #[arg(long)]
        postgres: bool,
        /// Narrowcast: profiles (JSON Lines) for the part evaluated locally.
        #[arg(long)]
        profiles: Option<PathBuf>,
        /// Compile at this instant (RFC 3339) instead of now.
        #[arg(long)]
        now: Option<String>,
    },
}

/// Output form of `fmt`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum FormArg {
    /// The text syntax.
    Text,
    /// The JSON form.
    Json,
}

/// Compilation target.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Target {
    /// A LINE narrowcast (or multicast fallback) plan.
    Narrowcast,
    /// A parameterized SQL query.
    Sql,
}

/// Why a command failed: the message, and whether the input could not be used at all (exit 2:
/// an unreadable file, a missing option) or was read and found wrong (exit 1).
struct Failure {
    message: String,
    unusable: bool,
}

impl From<String> for Failure {
    /// The input was read and found wrong.
    fn from(message: String) -> Self {
        Self {
            message,
            unusable: false,
        }
    }
}

fn usage(message: impl Into<String>) -> Failure {
    Failure {
        message: message.into(),
        unusable: true,
    }
}

fn read(path: &Path) -> Result<String, Failure> {
    std::fs::read_to_string(path).map_err(|e| usage(format!("cannot read {}: {e}", path.display())))
}

fn read_opt(path: Option<&PathBuf>) -> Result<Option<String>, Failure> {
    path.map(|p| read(p)).transpose()
}

fn schema(path: Option<&PathBuf>) -> Result<Option<line_segments::schema::Schema>, Failure> {
    match read_opt(path)? {
        None => Ok(None),
        Some(s) => Ok(Some(cli::load_schema(&s).map_err(|e| {
            format!("{}: {e}", path.map(|p| p.display().to_string()).unwrap_or_default())
        })?)),
    }
}

fn named(file: &Path) -> impl Fn(line_segments::Error) -> String + '_ {
    move |e| format!("{}: {e}", file.display())
}

fn run_inner(cmd: SegmentCmd) -> Result<String, Failure> {
    match cmd {
        SegmentCmd::Check { file, schema: s } => {
            let content = read(&file)?;
            let schema = schema(s.as_ref())?;
            let problems = cli::check(&content, schema.as_ref());
            if problems.is_empty() {
                Ok(format!("{}: ok\n", file.display()))
            } else {
                Err(problems
                    .iter()
                    .map(|p| format!("{}: {p}", file.display()))
                    .collect::<Vec<_>>()
                    .join("\n")
                    .into())
            }
        }
        SegmentCmd::Fmt { file, to } => {
            let to = to.map(|t| match t {
                FormArg::Text => cli::Form::Text,
                FormArg::Json => cli::Form::Json,
            });
            Ok(cli::fmt(&read(&file)?, to).map_err(named(&file))?)
        }
        SegmentCmd::Eval {
            segment,
            profiles,
            now,
            explain,
            schema: s,
        } => {
            let schema = schema(s.as_ref())?;
            Ok(cli::eval(
                &read(&segment)?,
                &read(&profiles)?,
                schema.as_ref(),
                now.as_deref(),
                explain.as_deref(),
            )
            .map_err(|e| format!("{} / {}: {e}", segment.display(), profiles.display()))?)
        }
        SegmentCmd::Compile {
            target,
            file,
            mapping,
            postgres,
            profiles,
            now,
        } => {
            let content = read(&file)?;
            match target {
                Target::Sql => {
                    let mapping = mapping.ok_or_else(|| usage("--target sql needs --mapping FILE.json"))?;
                    Ok(cli::compile_sql(&content, &read(&mapping)?, now.as_deref(), postgres).map_err(named(&file))?)
                }
                Target::Narrowcast => {
                    let profiles = read_opt(profiles.as_ref())?;
                    Ok(
                        cli::compile_narrowcast(&content, profiles.as_deref(), None, now.as_deref())
                            .map_err(named(&file))?,
                    )
                }
            }
        }
    }
}

/// Runs a segment subcommand, printing its output or its errors. Exits 0 on success, 1 when the
/// input was read and found wrong (syntax, schema, a range LINE rejects), 2 when it could not be
/// used (an unreadable file, a missing option).
pub fn run(cmd: SegmentCmd) -> ExitCode {
    match run_inner(cmd) {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(f) => {
            eprintln!("{}", f.message);
            ExitCode::from(if f.unusable { 2 } else { 1 })
        }
    }
}
