//! The plain-text rendering of a [`Diagnostic`]: the code, the message, the source lines around
//! the span with an underline, and the help line.
//!
//! The layout is that of miette's graphical report with its unicode, colourless theme, no line
//! wrapping and one line of context, reproduced here so that the runtime needs neither miette
//! nor a terminal: the CLI's coloured output (miette, through the `fancy` feature of
//! `meshgate-tools`) and this text agree character for character, which a test in
//! `meshgate-tools` checks over the corpus and random spans. Columns are display columns (tabs
//! to the next multiple of four, wide characters two, ANSI escapes none), like miette's.

use std::fmt::{self, Write};

use unicode_width::UnicodeWidthChar;

use crate::diagnostic::{Diagnostic, Severity};

const TAB_WIDTH: usize = 4;
const CONTEXT_LINES: usize = 1;

/// `d` rendered as text; its one-line form (`file:line:col: message`) when the span does not
/// lie in the text.
pub(crate) fn render(d: &Diagnostic) -> String {
    let mut out = String::new();
    if report(&mut out, d).is_err() {
        out = format!("{d}\n");
    }
    out
}

fn report(f: &mut String, d: &Diagnostic) -> fmt::Result {
    writeln!(f, "meshgate::{}\n", d.code())?;
    let icon = match d.severity() {
        Severity::Error => "×",
        Severity::Warning => "⚠",
    };
    writeln!(
        f,
        "{}",
        indent(&d.to_string(), &format!("  {icon} "), "  │ ")
    )?;
    let label = Label {
        text: d.label().map(|l| l.split('\n').collect()),
        offset: d.span().start as usize,
        len: d.span().len(),
    };
    snippet(f, d, &label)?;
    if let Some(help) = d.help() {
        writeln!(f, "{}", indent(help, "  help: ", "        "))?;
    }
    Ok(())
}

/// Indents `text`'s lines without wrapping them (miette's `wrap` with wrapping off).
fn indent(text: &str, first: &str, rest: &str) -> String {
    let mut out = String::with_capacity(text.len().saturating_mul(2));
    for (i, line) in text.split_terminator('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let prefix = if i == 0 { first } else { rest };
        out.push_str(if line.trim().is_empty() {
            prefix.trim_end()
        } else {
            prefix
        });
        out.push_str(line);
    }
    if text.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// The span of the diagnostic, with its label split into lines.
struct Label<'a> {
    text: Option<Vec<&'a str>>,
    offset: usize,
    len: usize,
}

impl Label<'_> {
    fn end(&self) -> usize {
        self.offset.saturating_add(self.len)
    }
}

/// A stretch of the source: bytes `start..end`, the 0-based line and column of its start, and
/// how many line breaks precede its end.
struct Contents {
    start: usize,
    end: usize,
    line: usize,
    column: usize,
}

/// The source around `offset..offset + len` with `before` and `after` lines of context (miette's
/// `context_info`, whose quirks it keeps: a lone `\r` ends a line here, and the column counts
/// bytes). `None` when the span does not lie in the text.
fn read_span(input: &[u8], offset: usize, len: usize, context: usize) -> Option<Contents> {
    let span_last = offset.saturating_add(len).saturating_sub(1);
    let mut at = 0usize;
    let mut start_line = 0usize;
    let mut start_column = 0usize;
    let mut before_starts = std::collections::VecDeque::new();
    let mut line_start = 0usize;
    let mut end_lines = 0usize;
    let mut post_span = false;
    let mut post_span_newline = false;
    let mut bytes = input.iter().copied().peekable();
    while let Some(byte) = bytes.next() {
        if matches!(byte, b'\r' | b'\n') {
            if byte == b'\r' && bytes.next_if_eq(&b'\n').is_some() {
                at = at.saturating_add(1);
            }
            if at < offset {
                start_column = 0;
                before_starts.push_back(line_start);
                if before_starts.len() > context {
                    start_line = start_line.saturating_add(1);
                    before_starts.pop_front();
                }
            } else if at >= offset.saturating_add(len.saturating_sub(1)) && post_span {
                start_column = 0;
                if post_span_newline {
                    end_lines = end_lines.saturating_add(1);
                } else {
                    post_span_newline = true;
                }
                if end_lines >= context {
                    at = at.saturating_add(1);
                    break;
                }
            }
            line_start = at.saturating_add(1);
        } else if at < offset {
            start_column = start_column.saturating_add(1);
        }
        if at >= span_last {
            post_span = true;
            if end_lines >= context {
                at = at.saturating_add(1);
                break;
            }
        }
        at = at.saturating_add(1);
    }
    if at < span_last {
        return None;
    }
    let start = before_starts
        .front()
        .copied()
        .unwrap_or(if context == 0 { offset } else { 0 });
    (start <= at && at <= input.len()).then_some(Contents {
        start,
        end: at,
        line: start_line,
        column: if context == 0 { start_column } else { 0 },
    })
}

/// One line of the context: 1-based number, byte offset and length (line break included), and
/// its text (line break excluded).
struct Line {
    number: usize,
    offset: usize,
    length: usize,
    text: String,
}

impl Line {
    fn end(&self) -> usize {
        self.offset.saturating_add(self.length)
    }

    fn holds(&self, label: &Label) -> bool {
        label.offset >= self.offset && label.end() <= self.end()
    }

    fn applies(&self, label: &Label) -> bool {
        let end = label.offset.saturating_add(label.len.max(1));
        (label.offset >= self.offset && label.offset < self.end())
            || (label.offset < self.offset && end > self.end())
            || (end > self.offset && end <= self.end())
    }

    fn applies_gutter(&self, label: &Label) -> bool {
        let end = label.offset.saturating_add(label.len.max(1));
        self.applies(label)
            && !((label.offset >= self.offset && label.offset < self.end())
                && (end > self.offset && end <= self.end()))
    }

    fn flyby(&self, label: &Label) -> bool {
        label.offset < self.offset && label.end() > self.end()
    }

    fn starts(&self, label: &Label) -> bool {
        label.offset >= self.offset
    }

    fn ends(&self, label: &Label) -> bool {
        label.end() >= self.offset && label.end() <= self.end()
    }
}

/// The lines of `contents` (miette's `get_lines`).
fn lines(input: &[u8], contents: &Contents) -> Vec<Line> {
    let data = input.get(contents.start..contents.end).unwrap_or_default();
    let text = String::from_utf8_lossy(data);
    let mut number = contents.line;
    let mut column = contents.column;
    let mut at = contents.start;
    let mut line_offset = at;
    let mut line = String::new();
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        at = at.saturating_add(c.len_utf8());
        let mut at_end_of_file = false;
        match c {
            '\r' => {
                if chars.next_if_eq(&'\n').is_some() {
                    at = at.saturating_add(1);
                    number = number.saturating_add(1);
                    column = 0;
                } else {
                    line.push(c);
                    column = column.saturating_add(1);
                }
                at_end_of_file = chars.peek().is_none();
            }
            '\n' => {
                at_end_of_file = chars.peek().is_none();
                number = number.saturating_add(1);
                column = 0;
            }
            _ => {
                line.push(c);
                column = column.saturating_add(1);
            }
        }
        if chars.peek().is_none() && !at_end_of_file {
            number = number.saturating_add(1);
        }
        if column == 0 || chars.peek().is_none() {
            out.push(Line {
                number,
                offset: line_offset,
                length: at.saturating_sub(line_offset),
                text: std::mem::take(&mut line),
            });
            line_offset = at;
        }
    }
    out
}

/// The display width of each character of `text`.
fn char_widths(text: &str) -> impl Iterator<Item = usize> + '_ {
    let mut column = 0usize;
    let mut escaped = false;
    text.chars().map(move |c| {
        let width = match (escaped, c) {
            (false, '\t') => TAB_WIDTH.saturating_sub(column % TAB_WIDTH),
            (false, '\x1b') => {
                escaped = true;
                0
            }
            (false, c) => c.width().unwrap_or(0),
            (true, 'm') => {
                escaped = false;
                0
            }
            (true, _) => 0,
        };
        column = column.saturating_add(width);
        width
    })
}

/// The display column of byte `offset` on `line` (of the character's first column when `start`,
/// else its last); one past the text for an offset in the line break.
fn visual_offset(line: &Line, offset: usize, start: bool) -> Result<usize, fmt::Error> {
    if offset < line.offset || offset > line.end() {
        return Err(fmt::Error);
    }
    let len = line.text.len();
    let mut index = offset.saturating_sub(line.offset);
    while index <= len && !line.text.is_char_boundary(index) {
        index = if start {
            index.saturating_sub(1)
        } else {
            index.saturating_add(1)
        };
    }
    let width: usize = char_widths(line.text.get(..index.min(len)).unwrap_or_default()).sum();
    Ok(if index > len {
        width.saturating_add(1)
    } else {
        width
    })
}

fn repeat(c: char, n: usize) -> String {
    std::iter::repeat_n(c, n).collect()
}

fn snippet(f: &mut String, d: &Diagnostic, label: &Label) -> fmt::Result {
    let input = d.source_file().text().as_bytes();
    let Some(contents) = read_span(input, label.offset, label.len, CONTEXT_LINES) else {
        return writeln!(
            f,
            "  [Failed to read contents for label `{}` (offset: {}, length: {}): OutOfBounds]",
            d.label().unwrap_or("<none>"),
            label.offset,
            label.len
        );
    };
    let primary = read_span(input, label.offset, label.len, 0).ok_or(fmt::Error)?;
    let lines = lines(input, &contents);
    let gutter = usize::from(
        lines
            .iter()
            .any(|l| !l.holds(label) && l.applies_gutter(label)),
    );
    let width = lines.last().map_or(0, |l| l.number).to_string().len();
    let margin = repeat(' ', width.saturating_add(2));
    writeln!(
        f,
        "{margin}╭─[{}:{}:{}]",
        d.file_name(),
        primary.line.saturating_add(1),
        primary.column.saturating_add(1)
    )?;
    for line in &lines {
        write!(f, " {:width$} │ ", line.number)?;
        line_gutter(f, gutter, line, label);
        for (c, w) in line.text.chars().zip(char_widths(&line.text)) {
            if c == '\t' {
                f.push_str(&repeat(' ', w));
            } else {
                f.push(c);
            }
        }
        f.push('\n');
        if line.applies(label) {
            if line.holds(label) {
                write!(f, " {:width$} · ", "")?;
                highlight_gutter(f, gutter, line, label, Mode::Single);
                underline(f, line, label, width, gutter)?;
            } else if label.text.is_some() && line.ends(label) && !line.starts(label) {
                multi_line_end(f, gutter, width, line, label)?;
            }
        }
    }
    writeln!(f, "{margin}╰────")
}

#[derive(PartialEq)]
enum Mode {
    Single,
    First,
    Rest,
}

fn line_gutter(f: &mut String, gutter: usize, line: &Line, label: &Label) {
    if gutter == 0 {
        return;
    }
    let mut out = String::new();
    let mut arrow = false;
    if line.applies_gutter(label) {
        if line.starts(label) {
            out = format!("╭{}▶", repeat('─', gutter));
            arrow = true;
        } else if line.ends(label) {
            let corner = if label.text.is_some() { '├' } else { '╰' };
            out = format!("{corner}{}▶", repeat('─', gutter));
            arrow = true;
        } else if line.flyby(label) {
            out.push('│');
        } else {
            out.push(' ');
        }
    }
    let pad =
        (if arrow { 1usize } else { 3 }).saturating_add(gutter.saturating_sub(out.chars().count()));
    f.push_str(&out);
    f.push_str(&repeat(' ', pad));
}

fn highlight_gutter(f: &mut String, gutter: usize, line: &Line, label: &Label, mode: Mode) {
    if gutter == 0 {
        return;
    }
    let mut cols = 0usize;
    if line.applies_gutter(label) {
        if !line.holds(label) && line.ends(label) {
            let n = gutter.saturating_add(2);
            if mode == Mode::Rest {
                f.push_str(&repeat(' ', n));
            } else {
                let less = usize::from(mode == Mode::First);
                f.push('╰');
                f.push_str(&repeat('─', n.saturating_sub(less)));
            }
            cols = n.saturating_add(1);
        } else {
            f.push('│');
            cols = 1;
        }
    }
    f.push_str(&repeat(' ', gutter.saturating_add(3).saturating_sub(cols)));
}

fn underline(
    f: &mut String,
    line: &Line,
    label: &Label,
    width: usize,
    gutter: usize,
) -> fmt::Result {
    let start = visual_offset(line, label.offset, true)?;
    let end = if label.len == 0 {
        start.saturating_add(1)
    } else {
        visual_offset(line, label.end(), false)?.max(start.saturating_add(1))
    };
    let bar = start.saturating_add(end) / 2;
    let mid = if label.len == 0 {
        '▲'
    } else if label.text.is_some() {
        '┬'
    } else {
        '─'
    };
    writeln!(
        f,
        "{}{}{mid}{}",
        repeat(' ', start),
        repeat('─', bar.saturating_sub(start)),
        repeat('─', end.saturating_sub(bar).saturating_sub(1))
    )?;
    let Some(parts) = &label.text else {
        return Ok(());
    };
    for (i, part) in parts.iter().enumerate() {
        write!(f, " {:width$} · ", "")?;
        highlight_gutter(f, gutter, line, label, Mode::Single);
        f.push_str(&repeat(' ', bar));
        match (parts.len(), i) {
            (1, _) => writeln!(f, "╰── {part}")?,
            (_, 0) => writeln!(f, "╰─┤ {part}")?,
            _ => writeln!(f, "  │ {part}")?,
        }
    }
    Ok(())
}

fn multi_line_end(
    f: &mut String,
    gutter: usize,
    width: usize,
    line: &Line,
    label: &Label,
) -> fmt::Result {
    let parts = label.text.as_deref().unwrap_or_default();
    let Some((first, rest)) = parts.split_first() else {
        write!(f, " {:width$} · ", "")?;
        highlight_gutter(f, gutter, line, label, Mode::Single);
        return writeln!(f, "─");
    };
    write!(f, " {:width$} · ", "")?;
    if rest.is_empty() {
        highlight_gutter(f, gutter, line, label, Mode::Single);
        return writeln!(f, "─ {first}");
    }
    highlight_gutter(f, gutter, line, label, Mode::First);
    writeln!(f, "┤ {first}")?;
    for part in rest {
        write!(f, " {:width$} · ", "")?;
        highlight_gutter(f, gutter, line, label, Mode::Rest);
        writeln!(f, "│ {part}")?;
    }
    Ok(())
}
