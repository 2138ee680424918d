//! `linectl`: the command line for the LINE SDK crates.
//!
//! A thin layer: every command calls into the library crates and only handles
//! arguments, input, output and exit codes. Exit codes: `0` success, `1` the
//! input was checked and found wrong, `2` usage errors and unreadable input.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod flex;
mod webhook;

/// Declares the top-level subcommands. Each entry names a module's clap
/// `Subcommand` type; the module must also have `pub fn run(cmd) -> ExitCode`.
///
/// Adding a command group is two lines: `mod NAME;` above and one entry here.
macro_rules! commands {
    ($($(#[$meta:meta])* $variant:ident($module:ident::$cmd:ident),)*) => {
        /// The command groups of `linectl`.
        #[derive(Subcommand, Debug)]
        enum Command {
            $($(#[$meta])* #[command(subcommand)] $variant($module::$cmd),)*
        }

        fn dispatch(command: Command) -> ExitCode {
            match command {
                $(Command::$variant(cmd) => $module::run(cmd),)*
            }
        }
    };
}

commands! {
    /// Verify and inspect webhook requests.
    Webhook(webhook::WebhookCmd),
    /// Validate and format Flex Message JSON.
    Flex(flex::FlexCmd),
}

/// The command line for the LINE SDK crates.
#[derive(Parser, Debug)]
#[command(name = "linectl", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

fn main() -> ExitCode {
    dispatch(Cli::parse().command)
}
