//! String patterns: exact values and globs.
//!
//! A pattern is exact unless it contains `*`. In a glob, `*` matches any run of characters
//! other than `/`, and `**`, which must stand as a whole `/`-separated segment, matches whole
//! segments: a leading `**/` any prefix ending in `/` (or none), a middle `/**/` one `/` or any
//! run of segments, a trailing `/**` a `/` and anything after it, and `**` alone everything.
//! Every other character is literal (`?`, `[`, `{` included), so a glob never means more than
//! an operator could read off it. These are exactly globset's semantics with
//! `literal_separator(true)` for the same dialect; the tests check the two agree.
//!
//! Matching is done here rather than through globset's regexes because it sits on the decision
//! path: this matcher needs no allocation, no lock (regex shares its caches through a pool) and
//! no regex engine in WebAssembly builds. It is two nested classic wildcard matchers (segments
//! with `**`, then characters with `*` within one segment), each linear-time greedy with
//! backtracking to the last star, so no pattern can make it blow up.

use std::fmt;

/// An exact string or a glob.
#[derive(Clone)]
pub struct Pattern {
    text: Box<str>,
    case_insensitive: bool,
    matcher: Matcher,
}

/// How a pattern is matched. The shapes of glob most policies use (`/api/**`, `*.example.com`)
/// are matched from the text alone, without compiled segments: each is exactly the segment
/// matcher's reading of such a glob (the globset property checks both), and a policy set keeps
/// one pattern per value it names, so not allocating segments for them matters.
#[derive(Clone, Debug)]
enum Matcher {
    /// Not a glob: the whole text.
    Exact,
    /// `P/**` (or `**` alone, with `P/` empty): strings starting with `P/`, its first `n` bytes.
    Tail(usize),
    /// `P*S` with one `*` that is not part of a `**`: strings starting with `P` (`p` bytes) and
    /// ending with `S` (`q` bytes), not overlapping, with no `/` between.
    Star(usize, usize),
    /// Any other glob: its compiled segments.
    Segments(Box<[Seg]>),
}

/// The matcher of a glob's text.
fn glob_matcher(text: &str) -> Matcher {
    let stars = text.bytes().filter(|&b| b == b'*').count();
    if text == "**" {
        return Matcher::Tail(0);
    }
    if stars == 2 && text.ends_with("/**") {
        return Matcher::Tail(text.len().saturating_sub(2));
    }
    if stars == 1
        && let Some(i) = text.find('*')
    {
        return Matcher::Star(i, text.len().saturating_sub(i).saturating_sub(1));
    }
    Matcher::Segments(compile(text))
}

/// One compiled `/`-separated segment of a glob.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Seg {
    /// A segment without `*`: equal text.
    Lit(Box<str>),
    /// A segment with `*`: the literal pieces between stars (`a*b*c` → `["a", "b", "c"]`).
    Star(Box<[Box<str>]>),
    /// Exactly one segment, any content (the first segment of a trailing `/**`).
    Any,
    /// Zero or more segments (`**`).
    Deep,
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
        let text = if case_insensitive {
            text.to_ascii_lowercase()
        } else {
            text.to_string()
        };
        Pattern {
            text: text.into(),
            case_insensitive,
            matcher: Matcher::Exact,
        }
    }

    /// A pattern that is a glob when `text` contains `*`, exact otherwise.
    pub fn new(text: &str, case_insensitive: bool) -> Result<Pattern, PatternError> {
        if !text.contains('*') {
            return Ok(Pattern::exact(text, case_insensitive));
        }
        check_double_star(text)?;
        let text = if case_insensitive {
            text.to_ascii_lowercase()
        } else {
            text.to_string()
        };
        let matcher = glob_matcher(&text);
        Ok(Pattern {
            text: text.into(),
            case_insensitive,
            matcher,
        })
    }

    /// The pattern as written (lowercased when case-insensitive).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether this is a glob rather than an exact string.
    pub fn is_glob(&self) -> bool {
        !matches!(self.matcher, Matcher::Exact)
    }

    /// Whether comparisons ignore ASCII case.
    pub fn is_case_insensitive(&self) -> bool {
        self.case_insensitive
    }

    /// The literal `/`-separated segments a glob starts with, before its first segment with a
    /// star (all of them for an exact pattern). Used to index path patterns in a trie.
    pub fn literal_prefix(&self) -> impl Iterator<Item = &str> {
        let segments = self.text.split('/');
        let exact = !self.is_glob();
        segments.take_while(move |s| exact || !s.contains('*'))
    }

    /// Whether `s` matches.
    pub fn matches(&self, s: &str) -> bool {
        let ci = self.case_insensitive;
        match &self.matcher {
            Matcher::Tail(n) => {
                let (text, bytes) = (self.text.as_bytes(), s.as_bytes());
                match (text.get(..*n), bytes.get(..*n)) {
                    (Some(want), Some(got)) => eq_bytes(want, got, ci),
                    _ => false,
                }
            }
            Matcher::Star(p, q) => {
                let (text, bytes) = (self.text.as_bytes(), s.as_bytes());
                let Some(middle_end) = bytes.len().checked_sub(*q).filter(|&e| e >= *p) else {
                    return false;
                };
                let tail_start = text.len().saturating_sub(*q);
                match (
                    (text.get(..*p), bytes.get(..*p)),
                    (text.get(tail_start..), bytes.get(middle_end..)),
                    bytes.get(*p..middle_end),
                ) {
                    ((Some(p1), Some(p2)), (Some(s1), Some(s2)), Some(middle)) => {
                        eq_bytes(p1, p2, ci) && eq_bytes(s1, s2, ci) && !middle.contains(&b'/')
                    }
                    _ => false,
                }
            }
            Matcher::Segments(segs) => match_segments(segs, s, self.case_insensitive),
            Matcher::Exact if self.case_insensitive => self.text.eq_ignore_ascii_case(s),
            Matcher::Exact => &*self.text == s,
        }
    }
}

const GLOB_HELP: &str = "`*` matches within one `/`-separated segment and `**` matches whole segments, e.g. `/api/**` or `spiffe://cluster.local/ns/*/sa/web`";

fn check_double_star(text: &str) -> Result<(), PatternError> {
    let segments: Vec<&str> = text.split('/').collect();
    for (i, seg) in segments.iter().enumerate() {
        if seg.contains("**") && *seg != "**" {
            return Err(PatternError {
                message: format!("`**` in `{text}` must be a whole path segment"),
                help: GLOB_HELP.to_string(),
            });
        }
        if *seg == "**" && segments.get(i.saturating_add(1)) == Some(&"**") {
            return Err(PatternError {
                message: format!("`**/**` in `{text}` is the same as `**`"),
                help: "write `**` once".to_string(),
            });
        }
    }
    Ok(())
}

fn compile(text: &str) -> Box<[Seg]> {
    // globset reads a glob that is only `**/` as `**`; so does this.
    if text == "**/" {
        return Box::new([Seg::Deep]);
    }
    let parts: Vec<&str> = text.split('/').collect();
    let last = parts.len().saturating_sub(1);
    let mut out = Vec::with_capacity(parts.len().saturating_add(1));
    for (i, part) in parts.iter().enumerate() {
        if *part == "**" {
            // A trailing `/**` needs the `/`, i.e. at least one more (possibly empty) segment.
            if i == last && i > 0 {
                out.push(Seg::Any);
            }
            out.push(Seg::Deep);
        } else if part.contains('*') {
            out.push(Seg::Star(part.split('*').map(Box::from).collect()));
        } else {
            out.push(Seg::Lit((*part).into()));
        }
    }
    out.into_boxed_slice()
}

/// A cursor over the `/`-separated segments of a text, by byte offset. `pos > text.len()` once
/// every segment has been consumed (a text always has at least one segment, possibly empty).
#[derive(Clone, Copy)]
struct Cursor {
    pos: usize,
}

fn next_segment(text: &str, c: Cursor) -> Option<(&str, Cursor)> {
    let rest = text.get(c.pos..)?;
    let end = rest
        .find('/')
        .map_or(text.len(), |i| c.pos.saturating_add(i));
    Some((
        text.get(c.pos..end)?,
        Cursor {
            pos: end.saturating_add(1),
        },
    ))
}

fn match_segments(pattern: &[Seg], text: &str, ci: bool) -> bool {
    // Classic wildcard matching with `Deep` as the star and every other segment matcher as a
    // single-position matcher: on a mismatch, retry from the last `Deep` absorbing one more
    // segment. Linear in segments times the cost of one segment comparison.
    let mut p = 0;
    let mut t = Cursor { pos: 0 };
    let mut star: Option<(usize, Cursor)> = None;
    loop {
        let seg = next_segment(text, t);
        match (pattern.get(p), seg) {
            (Some(Seg::Deep), _) => {
                star = Some((p, t));
                p = p.saturating_add(1);
                continue;
            }
            (Some(m), Some((s, next))) if segment_matches(m, s, ci) => {
                p = p.saturating_add(1);
                t = next;
                continue;
            }
            (None, None) => return true,
            _ => {}
        }
        match star {
            Some((sp, st)) => match next_segment(text, st) {
                Some((_, after)) => {
                    star = Some((sp, after));
                    p = sp.saturating_add(1);
                    t = after;
                }
                None => return false,
            },
            None => return false,
        }
    }
}

fn segment_matches(m: &Seg, s: &str, ci: bool) -> bool {
    match m {
        Seg::Lit(lit) => eq(lit, s, ci),
        Seg::Any | Seg::Deep => true,
        Seg::Star(pieces) => star_matches(pieces, s, ci),
    }
}

fn eq_bytes(a: &[u8], b: &[u8], ci: bool) -> bool {
    if ci {
        a.eq_ignore_ascii_case(b)
    } else {
        a == b
    }
}

fn eq(a: &str, b: &str, ci: bool) -> bool {
    if ci {
        a.eq_ignore_ascii_case(b)
    } else {
        a == b
    }
}

/// `pieces` joined by `*` matches `s`: `s` starts with the first piece, ends with the last, and
/// holds the middle ones in order between them. Leftmost greedy placement of the middle pieces
/// is optimal, so no backtracking is needed.
fn star_matches(pieces: &[Box<str>], s: &str, ci: bool) -> bool {
    let (Some((first, rest)), Some(last)) = (pieces.split_first(), pieces.last()) else {
        return true;
    };
    let Some(middle) = rest.len().checked_sub(1).and_then(|n| rest.get(..n)) else {
        return true;
    };
    if s.len() < first.len().saturating_add(last.len()) {
        return false;
    }
    let (Some(head), Some(tail)) = (
        s.get(..first.len()),
        s.get(s.len().saturating_sub(last.len())..),
    ) else {
        return false;
    };
    if !eq(first, head, ci) || !eq(last, tail, ci) {
        return false;
    }
    let Some(mut inner) = s.get(first.len()..s.len().saturating_sub(last.len())) else {
        return false;
    };
    for piece in middle {
        match find(inner, piece, ci) {
            Some(i) => inner = inner.get(i.saturating_add(piece.len())..).unwrap_or(""),
            None => return false,
        }
    }
    true
}

fn find(hay: &str, needle: &str, ci: bool) -> Option<usize> {
    if !ci {
        return hay.find(needle);
    }
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    if n.is_empty() {
        return Some(0);
    }
    h.windows(n.len())
        .position(|w| w.eq_ignore_ascii_case(n))
        .filter(|&i| hay.is_char_boundary(i))
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
    fn double_star_forms() {
        let lead = glob("**/x");
        assert!(lead.matches("x") && lead.matches("/x") && lead.matches("a/b/x"));
        assert!(!lead.matches("ax"));
        let mid = glob("/a/**/b");
        assert!(mid.matches("/a/b") && mid.matches("/a/x/y/b") && !mid.matches("/ab"));
        assert!(glob("**").matches("") && glob("**").matches("/any/thing"));
        assert!(glob("/**").matches("/") && !glob("/**").matches(""));
        assert!(Pattern::new("/a/**/**", false).is_err());
    }

    fn globset_matches(pattern: &str, text: &str, ci: bool) -> bool {
        let mut escaped = String::new();
        for c in pattern.chars() {
            match c {
                '?' | '[' | ']' | '{' | '}' | '\\' => {
                    escaped.push('[');
                    escaped.push(c);
                    escaped.push(']');
                }
                _ => escaped.push(c),
            }
        }
        globset::GlobBuilder::new(&escaped)
            .literal_separator(true)
            .case_insensitive(ci)
            .backslash_escape(false)
            .build()
            .unwrap()
            .compile_matcher()
            .is_match(text)
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4000))]
        /// The hand-written matcher agrees with globset on the dialect.
        #[test]
        fn agrees_with_globset(
            segs in proptest::collection::vec(proptest::prop_oneof![
                Just("**".to_string()), "[ab*?\\[]{0,4}"
            ], 1..5),
            text in "[aAbB/?\\[]{0,10}",
            ci in proptest::bool::ANY,
        ) {
            let pattern = segs.join("/");
            if let Ok(p) = Pattern::new(&pattern, ci) {
                let expected = if p.is_glob() { globset_matches(p.as_str(), &text, ci) } else if ci { pattern.eq_ignore_ascii_case(&text) } else { pattern == text };
                proptest::prop_assert_eq!(p.matches(&text), expected, "pattern {:?} text {:?}", pattern, text);
            }
        }
    }

    use proptest::prelude::Just;

    #[test]
    fn hosts_ignore_case() {
        let p = Pattern::new("*.Example.com", true).unwrap();
        assert!(p.matches("api.EXAMPLE.com"));
        assert!(Pattern::exact("Payments", true).matches("payments"));
    }
}
