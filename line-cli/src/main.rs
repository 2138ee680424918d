#![doc = include_str!("../README.md")]

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod accounts;
mod bulk;
mod emulator;
mod flex;
mod richmenu;
mod scenario;
mod segment;
mod webhook;

/// The command groups of `linectl`.
#[derive(Subcommand, Debug)]
enum Command {
    /// Verify and inspect webhook requests.
    #[command(subcommand)]
    Webhook(webhook::WebhookCmd),
    /// Validate and format Flex Message JSON.
    #[command(subcommand)]
    Flex(flex::FlexCmd),
    /// Validate rich-menu definitions.
    #[command(subcommand)]
    Richmenu(richmenu::RichMenuCmd),
    /// Check, format, evaluate and compile segments.
    #[command(subcommand)]
    Segment(segment::SegmentCmd),
    /// Check, simulate and report scenarios (system deliveries).
    #[command(subcommand)]
    Scenario(scenario::ScenarioCmd),
    /// List the accounts of a registry file, check their tokens, read their quotas.
    #[command(subcommand)]
    Accounts(accounts::AccountsCmd),
    /// Plan (dry run), send or resume, and report a campaign across the accounts of a registry file.
    #[command(subcommand)]
    Bulk(bulk::BulkCmd),
    /// Run a local LINE API emulator (prints `listening on http://127.0.0.1:PORT` first).
    Emulator(emulator::EmulatorArgs),
}

/// The command line for the LINE SDK crates.
#[derive(Parser, Debug)]
#[command(name = "linectl", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Webhook(cmd) => webhook::run(cmd),
        Command::Flex(cmd) => flex::run(cmd),
        Command::Richmenu(cmd) => richmenu::run(cmd),
        Command::Segment(cmd) => segment::run(cmd),
        Command::Scenario(cmd) => scenario::run(cmd),
        Command::Accounts(cmd) => accounts::run(cmd),
        Command::Bulk(cmd) => bulk::run(cmd),
        Command::Emulator(args) => emulator::run(args),
    }
}
