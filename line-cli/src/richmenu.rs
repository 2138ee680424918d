//! `linectl richmenu`: check rich-menu definitions.
//!
//! A thin layer over `line_richmenu`: reading input and choosing exit codes is all that
//! happens here.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// Rich menu tools.
#[derive(Debug, clap::Subcommand)]
pub enum RichMenuCmd {
    /// Validate a menu definition file (JSON, or TOML when the name ends in `.toml`).
    ///
    /// The file holds one menu or `{"menus": [...]}`; image paths are relative to the
    /// file. Prints one finding per line, `error|warning<TAB>JSON_POINTER<TAB>message`.
    /// Exits 1 if there is an error, 0 otherwise (warnings alone exit 0), and 2 if the
    /// file cannot be read or parsed.
    Validate {
        /// The definition file.
        file: PathBuf,
    },
}

/// Runs a `linectl richmenu` subcommand.
pub fn run(cmd: RichMenuCmd) -> ExitCode {
    match cmd {
        RichMenuCmd::Validate { file } => validate(&file),
    }
}

fn validate(file: &std::path::Path) -> ExitCode {
    let findings = match line_richmenu::check_file(file) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("linectl richmenu: {}: {e}", file.display());
            return ExitCode::from(2);
        }
    };
    let mut out = io::stdout().lock();
    for finding in &findings {
        // `Finding`'s Display is `severity<TAB>pointer<TAB>message`.
        if writeln!(out, "{finding}").is_err() {
            return ExitCode::from(2);
        }
    }
    if findings.iter().any(line_richmenu::Finding::is_error) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
