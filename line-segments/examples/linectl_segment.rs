//! Builds `line-cli/src/segment.rs` as a stand-alone program, so this crate's CI compiles and tests
//! the `linectl segment` layer: `cargo run -p line-segments --example linectl_segment -- check FILE`.

#[path = "../../line-cli/src/segment.rs"]
mod segment;

use clap::Parser;

/// `linectl segment`, stand-alone.
#[derive(Parser)]
#[command(name = "linectl-segment")]
struct Args {
    #[command(subcommand)]
    cmd: segment::SegmentCmd,
}

fn main() -> std::process::ExitCode {
    segment::run(Args::parse().cmd)
}
