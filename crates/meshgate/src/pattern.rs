//! String patterns: exact values and globs.
//!
//! A pattern is exact unless it contains `*`. In a glob, `*` matches any run of characters
//! other than `/`, and `**`, which must stand as a whole `/`-separated segment, matches any
//! number of segments. Every other character is literal (`?`, `[`, `{` included), so a glob
//! never means more than an operator could read off it. Globs are compiled with globset;
//! host-like attributes compare ignoring ASCII case.

use std::fmt;

use globset::{GlobBuilder, GlobMatcher};

/// An exact string or a glob.
#[derive(Clone)]
pub struct Pattern {
    text: Box<str>,
    case_insensitive: bool,
    glob: Option<GlobMatcher>,
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text && self.case_insensitive == other.case_insensitive
    }
}

impl Eq for Pattern {}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.text)
    }
}

/// Why a glob was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatternError {
    /// Message.
    pub message: String,
    /// Help line.
    pub help: String,
}

impl Pattern {
    /// An exact pattern: `*` is literal.
    pub fn exact(text: &str, case_insensitive: bool) -> Pattern {
        let text = if case_insensitive { text.to_ascii_lowercase() } else { text.to_string() };
        Pattern { text: text.into(), case_insensitive, glob: None }
    }

    /// A pattern that is a glob when `text` contains `*`, exact otherwise.
    pub fn new(text: &str, case_insensitive: bool) -> Result<Pattern, PatternError> {
        if !text.contains('*') {
            return Ok(Pattern::exact(text, case_insensitive));
        }
        check_double_star(text)?;
        let mut escaped = String::with_capacity(text.len() + 8);
        for c in text.chars() {
            match c {
                '?' | '[' | ']' | '{' | '}' | '\\' => {
                    escaped.push('[');
                    escaped.push(c);
                    escaped.push(']');
                }
                _ => escaped.push(c),
            }
        }
        let glob = GlobBuilder::new(&escaped)
            .literal_separator(true)
            .case_insensitive(case_insensitive)
            .backslash_escape(false)
            .build()
            .map_err(|e| PatternError {
                message: format!("invalid glob `{text}`: {}", e.kind()),
                help: GLOB_HELP.to_string(),
            })?;
        let text = if case_insensitive { text.to_ascii_lowercase() } else { text.to_string() };
        Ok(Pattern { text: text.into(), case_insensitive, glob: Some(glob.compile_matcher()) })
    }

    /// The pattern as written (lowercased when case-insensitive).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether this is a glob rather than an exact string.
    pub fn is_glob(&self) -> bool {
        self.glob.is_some()
    }

    /// Whether comparisons ignore ASCII case.
    pub fn is_case_insensitive(&self) -> bool {
        self.case_insensitive
    }

    /// Whether `s` matches.
    pub fn matches(&self, s: &str) -> bool {
        match &self.glob {
            Some(glob) => glob.is_match(s),
            None if self.case_insensitive => self.text.eq_ignore_ascii_case(s),
            None => &*self.text == s,
        }
    }
}

const GLOB_HELP: &str = "`*` matches within one `/`-separated segment and `**` matches whole segments, e.g. `/api/**` or `spiffe://cluster.local/ns/*/sa/web`";

fn check_double_star(text: &str) -> Result<(), PatternError> {
    for (i, _) in text.match_indices("**") {
        let before = text.get(..i).and_then(|s| s.chars().next_back());
        let after = text.get(i + 2..).and_then(|s| s.chars().next());
        let ok = matches!(before, None | Some('/')) && matches!(after, None | Some('/'));
        if !ok || text.contains("***") {
            return Err(PatternError {
                message: format!("`**` in `{text}` must be a whole path segment"),
                help: GLOB_HELP.to_string(),
            });
        }
    }
    Ok(())
}

/// Any of several patterns.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct PatternSet(pub Vec<Pattern>);

impl PatternSet {
    /// Whether any pattern matches `s`.
    pub fn matches(&self, s: &str) -> bool {
        self.0.iter().any(|p| p.matches(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glob(p: &str) -> Pattern {
        Pattern::new(p, false).unwrap()
    }

    #[test]
    fn star_stays_in_its_segment() {
        let p = glob("spiffe://cluster.local/ns/*/sa/web");
        assert!(p.matches("spiffe://cluster.local/ns/shop/sa/web"));
        assert!(!p.matches("spiffe://cluster.local/ns/a/b/sa/web"));
    }

    #[test]
    fn double_star_spans_segments() {
        let p = glob("/api/**");
        assert!(p.matches("/api/a"));
        assert!(p.matches("/api/a/b/c"));
        assert!(!p.matches("/apix"));
        assert!(!p.matches("/api"));
    }

    #[test]
    fn other_glob_characters_are_literal() {
        let p = glob("/a?b/[x]/{c,d}/*");
        assert!(p.matches("/a?b/[x]/{c,d}/e"));
        assert!(!p.matches("/aXb/x/c/e"));
    }

    #[test]
    fn double_star_inside_a_segment_is_refused() {
        assert!(Pattern::new("/api**", false).is_err());
        assert!(Pattern::new("/a/**b", false).is_err());
    }

    #[test]
    fn hosts_ignore_case() {
        let p = Pattern::new("*.Example.com", true).unwrap();
        assert!(p.matches("api.EXAMPLE.com"));
        assert!(Pattern::exact("Payments", true).matches("payments"));
    }
}
