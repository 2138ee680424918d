//! Every guide under `docs/` is compiled as doc tests (through `src/lib.rs`),
//! and every code block in it is either Rust that runs (or at least compiles,
//! `no_run`) or prose (`sh`, `text`, `json`, `toml`). Nothing is `ignore`d.

use std::path::Path;

const ALLOWED: &[&str] = &["rust", "rust,no_run", "sh", "text", "json", "toml"];

#[test]
fn every_guide_is_a_doc_test_and_every_block_is_checked_or_prose() {
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs");
    let lib = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs")).unwrap();
    let mut guides = 0;
    for entry in std::fs::read_dir(&docs).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("md") {
            continue;
        }
        guides += 1;
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        assert!(
            lib.contains(&format!("include_str!(\"../../docs/{name}\")")),
            "docs/{name} is not included in src/lib.rs, so its code blocks are not tested"
        );
        let text = std::fs::read_to_string(&path).unwrap();
        let mut open = false;
        let mut rust_blocks = 0;
        for (i, line) in text.lines().enumerate() {
            let Some(info) = line.trim_start().strip_prefix("```") else {
                continue;
            };
            if open {
                open = false;
                continue;
            }
            open = true;
            assert!(
                ALLOWED.contains(&info.trim()),
                "docs/{name}:{}: code block tagged {info:?}; use one of {ALLOWED:?}",
                i + 1
            );
            if info.starts_with("rust") {
                rust_blocks += 1;
            }
        }
        assert!(!open, "docs/{name}: a code block is not closed");
        assert!(
            rust_blocks > 0 || name == "line-cli.md",
            "docs/{name} has no Rust example"
        );
    }
    assert!(guides >= 12, "expected the 12 guides, found {guides}");
}
