//! The crate's modules import in layers: no module takes anything from a module that takes
//! something from it back, directly or through others. Read from the source (`crate::…` paths
//! outside comments and unit tests).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The modules each file of `src/` names through `crate::`.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if path.extension().is_some_and(|e| e == "rs") && name != "lib" {
            files.insert(name, std::fs::read_to_string(&path).unwrap());
        }
    }
    let modules: BTreeSet<String> = files.keys().cloned().collect();
    files
        .iter()
        .map(|(name, text)| {
            let text = text.split("#[cfg(test)]\nmod tests").next().unwrap_or_default();
            let mut code = String::new();
            for line in text.lines() {
                code.push_str(line.split("//").next().unwrap_or_default());
                code.push('\n');
            }
            let mut names = BTreeSet::new();
            for (i, _) in code.match_indices("crate::") {
                names.extend(named(&code[i + "crate::".len()..]));
            }
            names.retain(|m| modules.contains(m) && m != name);
            (name.clone(), names)
        })
        .collect()
}

/// The modules a path after `crate::` starts with: `engine::Engine` or `{error::Error, model::*}`.
fn named(rest: &str) -> Vec<String> {
    let ident = |s: &str| -> String {
        s.trim_start()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let Some(group) = rest.strip_prefix('{') else {
        return vec![ident(rest)];
    };
    let (mut depth, mut out, mut start) = (0, Vec::new(), 0);
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                out.push(ident(&group[start..i]));
                break;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(ident(&group[start..i]));
                start = i + 1;
            }
            _ => {}
        }
    }
    out
}

/// A cycle through `from`, if there is one: the modules in order.
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>, from: &str) -> Option<Vec<String>> {
    fn walk(
        graph: &BTreeMap<String, BTreeSet<String>>,
        target: &str,
        path: &mut Vec<String>,
        seen: &mut BTreeSet<String>,
    ) -> bool {
        let last = path.last().cloned().unwrap_or_default();
        for next in graph.get(&last).into_iter().flatten() {
            if next == target {
                return true;
            }
            if seen.insert(next.clone()) {
                path.push(next.clone());
                if walk(graph, target, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    let mut path = vec![from.to_owned()];
    walk(graph, from, &mut path, &mut BTreeSet::new()).then_some(path)
}

#[test]
fn no_module_imports_from_one_that_imports_it_back() {
    let graph = imports();
    assert!(graph.len() > 20, "read the modules: {:?}", graph.keys());
    // The reader sees the arrows it must (so that an empty graph cannot pass).
    assert!(graph["engine"].contains("store") && graph["json"].contains("model"));
    for module in graph.keys() {
        if let Some(path) = cycle(&graph, module) {
            panic!("import loop: {} -> {module}", path.join(" -> "));
        }
    }
}

#[test]
fn the_reader_finds_a_loop() {
    let mut graph = imports();
    graph.get_mut("model").unwrap().insert("engine".into());
    let path = cycle(&graph, "model").expect("model -> engine -> model");
    assert_eq!(path.first().map(String::as_str), Some("model"));
    assert_eq!(named("{error::{Error, Result}, model::Reentry}"), ["error", "model"]);
}
