//! Lexemes: white space and comments, identifiers, keywords, strings, bare words, punctuation.
//!
//! The grammar is keyword-led and white space is insignificant, so there is no separate token
//! stream: each parser function skips leading white space and comments, then reads its lexeme
//! with nom.

use nom::bytes::complete::{tag, take_while, take_while1};
use nom::character::complete::{char, none_of};
use nom::combinator::{opt, recognize};
use nom::sequence::pair;
use nom::{IResult, Parser};
use nom_locate::LocatedSpan;

use crate::span::{FileId, Span};

/// Parser input: the text with its byte offset and file.
pub type In<'a> = LocatedSpan<&'a str, FileId>;

/// A syntax error at a byte range, with a message and an optional help line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    /// First byte the error points at.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
    /// Message (lowercase, user text in backticks).
    pub message: String,
    /// Help line.
    pub help: Option<String>,
}

impl<'a> nom::error::ParseError<In<'a>> for SyntaxError {
    fn from_error_kind(input: In<'a>, _kind: nom::error::ErrorKind) -> Self {
        // Backtracking errors are made and dropped constantly while trying alternatives, so
        // they carry no message; one that reaches the top is described there.
        let start = input.location_offset();
        SyntaxError {
            start,
            end: start,
            message: String::new(),
            help: None,
        }
    }

    fn append(_input: In<'a>, _kind: nom::error::ErrorKind, other: Self) -> Self {
        other
    }
}

/// Result of every parser here.
pub type PResult<'a, T> = IResult<In<'a>, T, SyntaxError>;

/// A fatal (non-backtracking) error at the start of `i`, covering the next lexeme.
pub fn fail<'a, T>(i: In<'a>, message: impl Into<String>, help: Option<&str>) -> PResult<'a, T> {
    let start = i.location_offset();
    let end = start.saturating_add(next_lexeme_len(i.fragment()));
    Err(nom::Err::Failure(SyntaxError {
        start,
        end,
        message: message.into(),
        help: help.map(str::to_string),
    }))
}

/// A fatal error at an explicit span.
pub fn fail_at<'a, T>(
    i: In<'a>,
    span: Span,
    message: impl Into<String>,
    help: Option<&str>,
) -> PResult<'a, T> {
    let _ = i;
    Err(nom::Err::Failure(SyntaxError {
        start: span.start as usize,
        end: span.end as usize,
        message: message.into(),
        help: help.map(str::to_string),
    }))
}

/// The span from `start` (an earlier input) to `end` (a later one).
pub fn span_between(start: &In<'_>, end: &In<'_>) -> Span {
    Span::new(start.extra, start.location_offset(), end.location_offset())
}

/// The span of a consumed piece of input.
pub fn span_of(piece: &In<'_>) -> Span {
    Span::new(
        piece.extra,
        piece.location_offset(),
        piece
            .location_offset()
            .saturating_add(piece.fragment().len()),
    )
}

/// Length in bytes of the lexeme at the start of `i`.
pub fn found_len(i: In<'_>) -> usize {
    next_lexeme_len(i.fragment())
}

fn next_lexeme_len(s: &str) -> usize {
    let Some(c) = s.chars().next() else { return 0 };
    if is_word_char(c) {
        s.find(|c: char| !is_word_char(c)).unwrap_or(s.len())
    } else {
        c.len_utf8()
    }
}

/// Describes what comes next in the input, for "found …" in messages.
pub fn found(i: In<'_>) -> String {
    let s = *i.fragment();
    match s.chars().next() {
        None => "end of file".to_string(),
        Some('\n') => "end of line".to_string(),
        Some(_) => {
            let len = next_lexeme_len(s);
            let text: String = s.get(..len).unwrap_or("").chars().take(40).collect();
            format!("`{text}`")
        }
    }
}

/// Characters of identifiers after the first.
pub fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// Characters of bare words (numbers, IPs, CIDRs, dates, ranges, identifiers).
pub fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':' | '/' | '+')
}

/// Skips white space (space, tab, carriage return, line feed) and `#` comments.
pub fn ws(i: In<'_>) -> PResult<'_, ()> {
    let text = *i.fragment();
    let mut at = 0;
    let bytes = text.as_bytes();
    while let Some(&b) = bytes.get(at) {
        match b {
            b' ' | b'\t' | b'\r' | b'\n' => at = at.saturating_add(1),
            b'#' => {
                at = bytes
                    .get(at..)
                    .and_then(|rest| rest.iter().position(|&c| c == b'\n'))
                    .map_or(bytes.len(), |n| at.saturating_add(n));
            }
            _ => break,
        }
    }
    Ok((nom::Input::take_from(&i, at), ()))
}

/// An identifier: a letter or `_`, then letters, digits, `_` or `-`.
pub fn ident(i: In<'_>) -> PResult<'_, In<'_>> {
    let (i, _) = ws(i)?;
    recognize(pair(
        take_while1(|c: char| c.is_ascii_alphabetic() || c == '_'),
        take_while(is_ident_char),
    ))
    .parse(i)
}

/// Whether the next lexeme is the keyword `kw` (not merely a prefix of a longer identifier).
pub fn peek_keyword(i: In<'_>, kw: &str) -> bool {
    keyword(kw)(i).is_ok()
}

/// The keyword `kw`, not followed by an identifier character.
pub fn keyword<'k>(kw: &'k str) -> impl Fn(In<'_>) -> PResult<'_, Span> + 'k {
    move |i| {
        let (i, _) = ws(i)?;
        match i.fragment().strip_prefix(kw) {
            Some(after) if !after.starts_with(is_ident_char) => {
                let (rest, word) = nom::Input::take_split(&i, kw.len());
                Ok((rest, span_of(&word)))
            }
            _ => Err(nom::Err::Error(<SyntaxError as nom::error::ParseError<
                In<'_>,
            >>::from_error_kind(
                i, nom::error::ErrorKind::Tag
            ))),
        }
    }
}

/// The punctuation `p`, after white space.
pub fn punct<'p>(p: &'p str) -> impl Fn(In<'_>) -> PResult<'_, Span> + 'p {
    move |i| {
        let (i, _) = ws(i)?;
        let (rest, tok) = tag(p).parse(i)?;
        Ok((rest, span_of(&tok)))
    }
}

/// The punctuation `p`, or a fatal error saying it was expected and what came instead.
pub fn expect<'a>(i: In<'a>, p: &str, context: &str) -> PResult<'a, Span> {
    match punct(p)(i) {
        Ok(ok) => Ok(ok),
        Err(nom::Err::Error(_)) => {
            let (at, _) = ws(i)?;
            fail(
                at,
                format!("expected `{p}` {context}, found {}", found(at)),
                None,
            )
        }
        Err(e) => Err(e),
    }
}

/// A double-quoted string with escapes `\"`, `\\`, `\n`, `\t` and `\u{…}`.
pub fn string(i: In<'_>) -> PResult<'_, (String, Span)> {
    let (i, _) = ws(i)?;
    let start = i;
    let (mut i, _) = char('"').parse(i)?;
    let mut value = String::new();
    loop {
        if let Ok((rest, run)) =
            take_while1::<_, _, SyntaxError>(|c| c != '"' && c != '\\').parse(i)
        {
            value.push_str(run.fragment());
            i = rest;
        }
        if let Ok((rest, _)) = char::<_, SyntaxError>('"').parse(i) {
            return Ok((rest, (value, span_between(&start, &rest))));
        }
        if let Ok((rest, _)) = char::<_, SyntaxError>('\\').parse(i) {
            let (rest, c) = match opt(none_of::<_, _, SyntaxError>("")).parse(rest)? {
                (rest, Some(c)) => (rest, c),
                (_, None) => {
                    return fail(
                        start,
                        "unterminated string",
                        Some("close the string with `\"`"),
                    );
                }
            };
            match c {
                '"' => value.push('"'),
                '\\' => value.push('\\'),
                'n' => value.push('\n'),
                't' => value.push('\t'),
                'u' => {
                    let (rest2, c) = unicode_escape(rest)?;
                    value.push(c);
                    i = rest2;
                    continue;
                }
                other => {
                    return fail_at(
                        i,
                        Span::new(i.extra, i.location_offset(), rest.location_offset()),
                        format!("unknown escape `\\{other}`"),
                        Some("the escapes are `\\\"`, `\\\\`, `\\n`, `\\t` and `\\u{…}`"),
                    );
                }
            }
            i = rest;
            continue;
        }
        return fail(
            start,
            "unterminated string",
            Some("close the string with `\"`"),
        );
    }
}

fn unicode_escape(i: In<'_>) -> PResult<'_, char> {
    let start = i;
    let parsed: PResult<'_, In<'_>> = (|i| {
        let (i, _) = char('{').parse(i)?;
        let (i, hex) = take_while1(|c: char| c.is_ascii_hexdigit()).parse(i)?;
        let (i, _) = char('}').parse(i)?;
        Ok((i, hex))
    })(i);
    const HELP: Option<&str> = Some("write `\\u{…}` with 1 to 6 hexadecimal digits");
    let Ok((rest, hex)) = parsed else {
        return fail(start, "invalid unicode escape", HELP);
    };
    match u32::from_str_radix(hex.fragment(), 16)
        .ok()
        .and_then(char::from_u32)
    {
        Some(c) => Ok((rest, c)),
        None => fail(start, "invalid unicode escape", HELP),
    }
}

/// A bare word: a run of letters, digits and `_ - . : / +`.
pub fn word(i: In<'_>) -> PResult<'_, In<'_>> {
    let (i, _) = ws(i)?;
    take_while1(is_word_char).parse(i)
}
