//! `linectl flex`: validate and format Flex Message JSON.
//!
//! A thin layer over `line_flex`: reading input and choosing exit codes is
//! all that happens here.

use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// Flex Message tools.
#[derive(Debug, clap::Subcommand)]
pub enum FlexCmd {
    /// Validate a bubble, a carousel or a whole flex message.
    ///
    /// Prints one finding per line, `error|warning<TAB>JSON_POINTER<TAB>message`.
    /// Exits 1 if there is an error, 0 otherwise (warnings alone exit 0), and 2
    /// if the input cannot be read or is not JSON.
    Validate {
        /// The JSON file (standard input if absent).
        file: Option<PathBuf>,
    },
    /// Parse into the typed model and print the document again, pretty-printed.
    ///
    /// The output equals the input as a JSON value. Exits 1 if the JSON cannot be
    /// a Flex document and 2 if the input cannot be read or is not JSON.
    Fmt {
        /// The JSON file (standard input if absent).
        file: Option<PathBuf>,
    },
}

/// Runs a `linectl flex` subcommand.
pub fn run(cmd: FlexCmd) -> ExitCode {
    match cmd {
        FlexCmd::Validate { file } => validate(file),
        FlexCmd::Fmt { file } => fmt(file),
    }
}

fn read_input(file: Option<&PathBuf>) -> Result<Vec<u8>, ExitCode> {
    let mut bytes = Vec::new();
    let result = match file {
        Some(path) => std::fs::read(path).map(|b| bytes = b),
        None => io::stdin().read_to_end(&mut bytes).map(|_| ()),
    };
    match result {
        Ok(()) => Ok(bytes),
        Err(e) => {
            let name = file.map_or_else(|| "standard input".to_owned(), |p| p.display().to_string());
            eprintln!("linectl flex: cannot read {name}: {e}");
            Err(ExitCode::from(2))
        }
    }
}

fn validate(file: Option<PathBuf>) -> ExitCode {
    let bytes = match read_input(file.as_ref()) {
        Ok(b) => b,
        Err(code) => return code,
    };
    let findings = match line_flex::validate_document(&bytes) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("linectl flex: {e}");
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
    if findings.iter().any(line_flex::Finding::is_error) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn fmt(file: Option<PathBuf>) -> ExitCode {
    let bytes = match read_input(file.as_ref()) {
        Ok(b) => b,
        Err(code) => return code,
    };
    match line_flex::format_document(&bytes) {
        Ok(pretty) => {
            if writeln!(io::stdout().lock(), "{pretty}").is_err() {
                return ExitCode::from(2);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("linectl flex: {e}");
            match e.kind() {
                line_flex::ErrorKind::Syntax { .. } => ExitCode::from(2),
                _ => ExitCode::from(1),
            }
        }
    }
}
