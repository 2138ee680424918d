//! Page-path rules of a campaign (`targeting.include` and `targeting.exclude`),
//! compiled once when the engine is built.
//!
//! Every pattern is a [`globset`] glob with `literal_separator` (`*` stays within
//! one path segment, `**` crosses segments), and is checked by globset when the
//! engine is built, so a bad pattern is reported the same way whatever its shape.
//! The two shapes almost every site uses are then matched without globset, by
//! plain string comparisons that give the same answers (the tests below check
//! them against globset):
//!
//! - a literal path (`/cart`): the path equals it;
//! - a literal directory and `/**` (`/products/**`): the path starts with the
//!   directory and `/` (globset's `**` at the end matches any rest, empty or
//!   not, newlines included). `/**` alone matches every path.
//!
//! Anything else (`*`, `?`, classes, alternatives, escapes, `**` elsewhere) goes
//! to one [`GlobSet`] of those patterns.

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

use crate::error::Error;

/// Compiled path patterns; a path matches when any pattern does.
#[derive(Debug)]
pub(crate) struct PathRules {
    /// Literal paths.
    exact: Vec<Box<str>>,
    /// Literal directories with their trailing `/`, from `{dir}/**`.
    prefixes: Vec<Box<str>>,
    /// The patterns of any other shape.
    rest: Option<GlobSet>,
}

/// Whether `s` has no byte that could be special to globset. Deliberately
/// narrow: anything unusual falls back to globset.
fn plain(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.' | b'~' | b'%' | b'@' | b':'))
}

impl PathRules {
    /// Compiles `patterns`; `None` when there are none. Errors name the JSON
    /// pointer `{pointer}/{index}` of the bad pattern.
    pub(crate) fn new(patterns: &[String], pointer: &str) -> Result<Option<Self>, Error> {
        if patterns.is_empty() {
            return Ok(None);
        }
        let mut rules = Self {
            exact: Vec::new(),
            prefixes: Vec::new(),
            rest: None,
        };
        let mut rest = GlobSetBuilder::new();
        let mut any_rest = false;
        for (i, p) in patterns.iter().enumerate() {
            if !p.starts_with('/') {
                return Err(Error::config(
                    format!("{pointer}/{i}"),
                    "a path pattern must start with '/'",
                ));
            }
            let glob = GlobBuilder::new(p)
                .literal_separator(true)
                .build()
                .map_err(|e| Error::config(format!("{pointer}/{i}"), format!("bad pattern: {}", e.kind())))?;
            if plain(p) {
                rules.exact.push(p.as_str().into());
            } else if let Some(dir) = p.strip_suffix("/**").filter(|d| plain(d)) {
                rules.prefixes.push(format!("{dir}/").into());
            } else {
                rest.add(glob);
                any_rest = true;
            }
        }
        if any_rest {
            rules.rest = Some(
                rest.build()
                    .map_err(|e| Error::config(pointer, format!("bad patterns: {}", e.kind())))?,
            );
        }
        Ok(Some(rules))
    }

    /// Whether `path` matches any of the patterns.
    pub(crate) fn is_match(&self, path: &str) -> bool {
        self.prefixes.iter().any(|p| path.starts_with(&**p))
            || self.exact.iter().any(|e| **e == *path)
            || self.rest.as_ref().is_some_and(|g| g.is_match(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn globset(patterns: &[&str]) -> GlobSet {
        let mut b = GlobSetBuilder::new();
        for p in patterns {
            b.add(GlobBuilder::new(p).literal_separator(true).build().unwrap());
        }
        b.build().unwrap()
    }

    const PATHS: &[&str] = &[
        "/",
        "//",
        "/products",
        "/products/",
        "/products//",
        "/products/42",
        "/products/42/",
        "/products/a/b/c.html",
        "/products/a\nb",
        "/products/\n",
        "/products\n/x",
        "/productsx",
        "/productsx/1",
        "/PRODUCTS/1",
        "/x/products/1",
        "/cart",
        "/cart/",
        "/cart.html",
        "/a/b.html",
        "/a/b.html/",
        "/a/bxhtml",
        "/sale/%E6%98%A5",
        "/~user/page",
        "/@me:1",
        "/checkout/pay",
        "/checkout",
        "/é/x",
    ];

    #[test]
    fn fast_shapes_agree_with_globset() {
        let patterns: &[&[&str]] = &[
            &["/products/**"],
            &["/products/**", "/sale/**"],
            &["/**"],
            &["/cart"],
            &["/a/b.html"],
            &["/products"],
            &["/products/"],
            &["/~user/**", "/@me:1"],
            &["/products/*"],
            &["/products/*/"],
            &["/products/**/x"],
            &["/**/"],
            &["/a/b?html"],
            &["/{cart,checkout}/**"],
            &["/[cp]art"],
            &["/cart", "/products/*", "/sale/**"],
            &["/é/**"],
            &["/products/\\*"],
        ];
        for pats in patterns {
            let owned: Vec<String> = pats.iter().map(|p| p.to_string()).collect();
            let rules = match PathRules::new(&owned, "/p") {
                Ok(r) => r.unwrap(),
                Err(e) => panic!("{pats:?}: {e}"),
            };
            let gs = globset(pats);
            for path in PATHS {
                assert_eq!(
                    rules.is_match(path),
                    gs.is_match(path),
                    "patterns {pats:?}, path {path:?}"
                );
            }
        }
    }

    #[test]
    fn common_shapes_skip_globset() {
        let owned: Vec<String> = ["/products/**", "/sale/**", "/cart", "/**"]
            .iter()
            .map(|p| p.to_string())
            .collect();
        let rules = PathRules::new(&owned, "/p").unwrap().unwrap();
        assert!(rules.rest.is_none());
        assert_eq!(rules.prefixes.len(), 3);
        assert_eq!(rules.exact.len(), 1);
    }

    #[test]
    fn bad_patterns_name_their_pointer() {
        for (p, want) in [("products/**", "/p/1"), ("/a/{b", "/p/1")] {
            let owned = vec!["/ok".to_string(), p.to_string()];
            let e = PathRules::new(&owned, "/p").unwrap_err();
            match e.kind() {
                crate::error::ErrorKind::Config { pointer, .. } => assert_eq!(pointer, want),
                k => panic!("unexpected {k:?}"),
            }
        }
        assert!(PathRules::new(&[], "/p").unwrap().is_none());
    }
}
