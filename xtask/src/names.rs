//! How spec names become Rust names.

use std::sync::LazyLock;

use regex::Regex;

const RUST_KEYWORDS: &[&str] = &[
    "as", "break", "const", "continue", "crate", "else", "enum", "extern", "false", "fn", "for", "if", "impl", "in",
    "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "self", "Self", "static", "struct", "super",
    "trait", "true", "type", "unsafe", "use", "where", "while", "async", "await", "dyn", "abstract", "become", "box",
    "do", "final", "macro", "override", "priv", "typeof", "unsized", "virtual", "yield", "try", "gen",
];

static NON_ALNUM: LazyLock<Regex> = LazyLock::new(|| Regex::new("[^0-9A-Za-z]+").expect("valid regex"));
static ACRONYM: LazyLock<Regex> = LazyLock::new(|| Regex::new("([A-Z]+)([A-Z][a-z])").expect("valid regex"));
static CAMEL: LazyLock<Regex> = LazyLock::new(|| Regex::new("([a-z0-9])([A-Z])").expect("valid regex"));
static PATH_PARAM: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\{([^}]+)\}").expect("valid regex"));
static URL: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#"https?://[^\s()<>\[\]`"]+"#).expect("valid regex"));

/// `snake_case` of a spec name (a leading digit gets an `n`).
pub fn snake(name: &str) -> String {
    let s = NON_ALNUM.replace_all(name, "_");
    let s = ACRONYM.replace_all(&s, "${1}_${2}");
    let s = CAMEL.replace_all(&s, "${1}_${2}");
    let s = s.trim_matches('_').to_lowercase();
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        format!("n{s}")
    } else {
        s
    }
}

/// The Rust field name of a property (`type` is `kind`; keywords are raw).
pub fn field_ident(name: &str) -> String {
    let s = snake(name);
    if s == "type" {
        "kind".to_owned()
    } else if RUST_KEYWORDS.contains(&s.as_str()) {
        format!("r#{s}")
    } else {
        s
    }
}

fn has_cased(p: &str) -> bool {
    p.chars().any(|c| c.is_uppercase() || c.is_lowercase())
}

fn is_upper(p: &str) -> bool {
    has_cased(p) && !p.chars().any(char::is_lowercase)
}

fn upper_first(p: &str) -> String {
    let mut c = p.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// `PascalCase` of a value (an all-caps word becomes `Word`; a leading digit
/// gets a `V`; nothing at all is `Empty`).
pub fn pascal(value: &str) -> String {
    let mut out = String::new();
    for p in NON_ALNUM.split(value) {
        if p.is_empty() {
            continue;
        }
        if is_upper(p) {
            let mut c = p.chars();
            if let Some(f) = c.next() {
                out.extend(f.to_uppercase());
                out.push_str(&c.as_str().to_lowercase());
            }
        } else {
            // All lower case, or mixed: only the first letter changes.
            out.push_str(&upper_first(p));
        }
    }
    if out.is_empty() {
        out = "Empty".to_owned();
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out = format!("V{out}");
    }
    out
}

/// `UPPER_SNAKE` of a name.
pub fn upper_snake(name: &str) -> String {
    snake(name).to_uppercase()
}

/// `Get` of `GET`.
pub fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c.as_str().to_lowercase().chars()).collect(),
        None => String::new(),
    }
}

/// The name of one item of a list property.
pub fn singular(prop: &str) -> String {
    if let Some(stem) = prop.strip_suffix("ies") {
        format!("{stem}y")
    } else if prop.ends_with('s') && !prop.ends_with("ss") {
        prop[..prop.len() - 1].to_owned()
    } else {
        format!("{prop}Item")
    }
}

/// The `{name}` parameters of a path, in order.
pub fn path_params(path: &str) -> Vec<String> {
    PATH_PARAM.captures_iter(path).map(|c| c[1].to_owned()).collect()
}

/// Doc comment lines (`/// …`), one per line of `text`; nothing for no text.
/// Fences become single backticks, so rustdoc runs nothing as a test.
pub fn doc_lines(text: Option<&str>, indent: &str) -> String {
    let Some(text) = text.filter(|t| !t.is_empty()) else {
        return String::new();
    };
    let text = py_strip(text).replace('\r', "");
    let mut out = String::new();
    for line in text.split('\n') {
        let line = link_bare_urls(&py_strip(line).replace("```", "`"));
        out.push_str(format!("{indent}/// {line}").trim_end_matches(py_space));
        out.push('\n');
    }
    out
}

/// Puts a URL that stands bare in the text (not a Markdown link target, not in backticks) in
/// angle brackets, so rustdoc renders it as a link instead of warning about it.
fn link_bare_urls(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 4);
    let mut last = 0;
    for m in URL.find_iter(line) {
        let before = &line[..m.start()];
        let in_code = before.matches('`').count() % 2 == 1;
        let linked = before.ends_with("](") || before.ends_with('<');
        let url = m.as_str().trim_end_matches(['.', ',', ';', ':']);
        if in_code || linked {
            continue;
        }
        out.push_str(&line[last..m.start()]);
        out.push('<');
        out.push_str(url);
        out.push('>');
        last = m.start() + url.len();
    }
    out.push_str(&line[last..]);
    out
}

fn py_space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

fn py_strip(s: &str) -> &str {
    s.trim_matches(py_space)
}

/// A Rust string literal.
pub fn rust_str(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_urls_become_links_and_links_stay() {
        assert_eq!(
            link_bare_urls("a URL (e.g. https://example.com)."),
            "a URL (e.g. <https://example.com>)."
        );
        assert_eq!(link_bare_urls("see https://x.test/a."), "see <https://x.test/a>.");
        for kept in ["[doc](https://x.test/a)", "<https://x.test/a>", "`https://x.test/a`"] {
            assert_eq!(link_bare_urls(kept), kept);
        }
    }

    #[test]
    fn snake_splits_acronyms_and_digits() {
        assert_eq!(
            snake("getNumberOfMessageDeliveries"),
            "get_number_of_message_deliveries"
        );
        assert_eq!(snake("URIAction"), "uri_action");
        assert_eq!(snake("X-Line-Retry-Key"), "x_line_retry_key");
        assert_eq!(snake("3dSecure"), "n3d_secure");
    }

    #[test]
    fn field_idents_avoid_keywords() {
        assert_eq!(field_ident("type"), "kind");
        assert_eq!(field_ident("ref"), "r#ref");
        assert_eq!(field_ident("userId"), "user_id");
    }

    #[test]
    fn pascal_of_enum_values() {
        assert_eq!(pascal("age_15"), "Age15");
        assert_eq!(pascal("IMAGE"), "Image");
        assert_eq!(pascal("textV2"), "TextV2");
        assert_eq!(pascal("15"), "V15");
        assert_eq!(pascal("--"), "Empty");
    }

    #[test]
    fn singular_names_list_items() {
        assert_eq!(singular("categories"), "category");
        assert_eq!(singular("actions"), "action");
        assert_eq!(singular("address"), "addressItem");
    }

    #[test]
    fn doc_lines_strip_fences_and_trailing_space() {
        assert_eq!(
            doc_lines(Some("  One.\n```\ncode \n"), "    "),
            "    /// One.\n    /// `\n    /// code\n"
        );
        assert_eq!(doc_lines(None, ""), "");
    }

    #[test]
    fn rust_strings_escape_quotes_and_backslashes() {
        assert_eq!(rust_str(r#"a"b\c"#), r#""a\"b\\c""#);
    }
}
