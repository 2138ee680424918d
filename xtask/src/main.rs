//! Workspace tasks.
//!
//! `cargo xtask codegen [--check] [SPEC_DIR]` reads LINE's OpenAPI specs
//! (default: `../shared/spec/line-openapi`, relative to the workspace root)
//! and writes line-model (one declaration per type), line-core's operation
//! table, client methods, webhook event types and direct reader, and the test
//! harness that calls every method. With `--check` it writes nothing and
//! fails, naming each file, when the committed output differs.

mod client;
mod emit;
mod gen;
mod names;
mod node;
mod tables;
mod webhook;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use gen::{Gen, Namespace, Spec};
use tables::{lookup, AREA_DOCS, REST_FILES, WEBHOOK_FILE};

const USAGE: &str = "usage: cargo xtask codegen [--check] [SPEC_DIR]";

const MODEL_DOC: &str = r#"#![doc = include_str!("../README.md")]
#![allow(clippy::large_enum_variant)]

mod extra;
pub use extra::Extra;
pub mod ids;
pub mod limits;
pub mod secret;
pub mod webhook;
#[doc(hidden)]
pub mod wire;

mod macros;

"#;

const MODEL_PRELUDE: &str = "#[allow(unused_imports)]\nuse super::*;\n#[allow(unused_imports)]\nuse crate::wire::{self, string_enum};\n#[allow(unused_imports)]\nuse crate::{wire_struct, wire_union};\n\n";

const EVENT_PRELUDE: &str = "#![allow(clippy::large_enum_variant)]\n\n#[allow(unused_imports)]\nuse super::wire;\n#[allow(unused_imports)]\nuse crate::{string_enum, wire_struct, wire_union};\n\n";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some((task, rest)) = args.split_first() else {
        return Err(USAGE.to_owned());
    };
    if task != "codegen" {
        return Err(format!("unknown task `{task}`\n{USAGE}"));
    }
    let mut check = false;
    let mut spec_dir: Option<PathBuf> = None;
    for a in rest {
        match a.as_str() {
            "--check" => check = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(ExitCode::SUCCESS);
            }
            other if other.starts_with('-') => return Err(format!("unknown option `{other}`\n{USAGE}")),
            other => spec_dir = Some(PathBuf::from(other)),
        }
    }
    let root = workspace_root();
    let spec_dir = spec_dir.unwrap_or_else(|| root.join("..").join("shared").join("spec").join("line-openapi"));
    if !spec_dir.is_dir() {
        return Err(format!(
            "the specs are not at {} (pass their directory: cargo xtask codegen [--check] SPEC_DIR)",
            spec_dir.display()
        ));
    }
    let files = generate(&spec_dir)?;
    let mut stale = Vec::new();
    for (rel, text) in &files {
        let formatted = rustfmt(&root, text).map_err(|e| format!("{rel}: {e}"))?;
        let path = root.join(rel);
        let current = std::fs::read_to_string(&path).ok();
        if current.as_deref() == Some(formatted.as_str()) {
            continue;
        }
        if check {
            stale.push(rel.clone());
        } else {
            std::fs::write(&path, formatted).map_err(|e| format!("{}: {e}", path.display()))?;
            println!("wrote {rel}");
        }
    }
    if check {
        if stale.is_empty() {
            println!("codegen: {} generated files are up to date", files.len());
        } else {
            for rel in &stale {
                eprintln!("codegen: {rel} is stale (run `cargo xtask codegen`)");
            }
            return Ok(ExitCode::FAILURE);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Formats one file's text with rustfmt and the workspace's `rustfmt.toml`.
fn rustfmt(root: &Path, text: &str) -> Result<String, String> {
    let mut child = Command::new("rustfmt")
        .args(["--edition", "2021", "--emit", "stdout", "--config-path"])
        .arg(root.join("rustfmt.toml"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run rustfmt: {e}"))?;
    child
        .stdin
        .take()
        .ok_or("rustfmt has no stdin")?
        .write_all(text.as_bytes())
        .map_err(|e| format!("rustfmt: {e}"))?;
    let out = child.wait_with_output().map_err(|e| format!("rustfmt: {e}"))?;
    if !out.status.success() {
        return Err(format!("rustfmt failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    String::from_utf8(out.stdout).map_err(|e| format!("rustfmt: {e}"))
}

fn load(dir: &Path, fname: &str) -> Result<Spec, String> {
    let path = dir.join(fname);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let docs = yaml_rust2::YamlLoader::load_from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let doc = docs.first().ok_or_else(|| format!("{}: empty", path.display()))?;
    Ok(Spec {
        fname: fname.to_owned(),
        data: node::Node::from_yaml(doc),
    })
}

/// Every generated file (path relative to the workspace root → text before rustfmt).
fn generate(dir: &Path) -> Result<BTreeMap<String, String>, String> {
    let mut files = BTreeMap::new();
    let specs = REST_FILES.iter().map(|f| load(dir, f)).collect::<Result<Vec<_>, _>>()?;
    let mut g = Gen::new(Namespace::Model);
    for s in &specs {
        g.add_spec(s);
    }
    g.register_all();
    let ops = client::load_ops(&specs)?;
    client::emit_form_unions(&mut g, &ops);
    let (operations_rs, methods_rs) = client::emit_client(&mut g, &ops)?;

    let mut by_area: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, t) in g.types() {
        let area = if t.area == "query_params" {
            "params".to_owned()
        } else {
            t.area.clone()
        };
        by_area.entry(area).or_default().push(name.clone());
    }
    for (area, names) in &by_area {
        let mut src = String::from(emit::HEADER);
        src += &format!("//! {}\n\n", lookup(AREA_DOCS, area).unwrap_or(area));
        src += MODEL_PRELUDE;
        for name in names {
            let t = g.ty(name).ok_or_else(|| format!("no type {name}"))?;
            src += &emit::emit_type(&g, name, t);
        }
        files.insert(format!("line-model/src/{area}.rs"), src);
    }
    let mods: String = by_area.keys().map(|a| format!("mod {a};\npub use {a}::*;\n")).collect();
    files.insert(
        "line-model/src/lib.rs".to_owned(),
        format!("{}{MODEL_DOC}{mods}", emit::HEADER),
    );
    files.insert("line-core/src/client/operations.rs".to_owned(), operations_rs);
    files.insert("line-core/src/client/methods.rs".to_owned(), methods_rs);
    files.insert(
        "line-core/tests/common/generated_calls.rs".to_owned(),
        client::test_harness(&mut g, &ops),
    );

    let mut wspec = load(dir, WEBHOOK_FILE)?;
    webhook::add_message_edited(&mut wspec.data)?;
    let mut w = Gen::new(Namespace::Webhook);
    w.add_spec(&wspec);
    w.register_all();
    w.webhook_fixups();
    let mut src = String::from(emit::HEADER);
    src += "//! Webhook event objects, generated from LINE's webhook spec (plus `messageEdited`).\n\n";
    src += EVENT_PRELUDE;
    for (name, t) in w.types() {
        src += &emit::emit_type(&w, name, t);
    }
    files.insert("line-model/src/webhook/event.rs".to_owned(), src);
    files.insert(
        "line-model/src/webhook/event_reader.rs".to_owned(),
        webhook::emit_reader(&w)?,
    );
    Ok(files)
}
