//! Validates Flex JSON files and prints one finding per line.
//!
//! `cargo run -p line-flex --example validate_file -- FILE...`

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut failed = false;
    for path in std::env::args().skip(1) {
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("{path}: {e}");
                return ExitCode::from(2);
            }
        };
        match line_flex::parse_document(&bytes) {
            Ok(doc) => {
                for finding in doc.validate() {
                    failed |= finding.is_error();
                    println!("{path}\t{finding}");
                }
            }
            Err(e) => {
                failed = true;
                println!("{path}\terror\t{}\t{e}", e.pointer().unwrap_or(""));
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
