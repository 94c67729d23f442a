//! Reading requests from a file or stdin: one JSON request, or a JSON array of them.

use std::io::Read;
use std::path::Path;

use meshgate::Request;

/// Reads the text of `path`, or stdin for `-`.
pub fn read_text(path: &Path) -> Result<String, String> {
    if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).map_err(|e| {
            format!(
                "cannot read the request from stdin: {}",
                crate::load::io_reason(&e)
            )
        })?;
        return Ok(text);
    }
    std::fs::read_to_string(path).map_err(|e| {
        format!(
            "cannot read `{}`: {}",
            path.display(),
            crate::load::io_reason(&e)
        )
    })
}

/// Reads and parses the requests of `path` (or stdin), stamping those without a `time` with the
/// current time unless `no_clock`. Errors are printed; the result is then the exit code.
pub fn load(path: &Path, no_clock: bool) -> Result<Vec<Request<'static>>, u8> {
    let text = read_text(path).map_err(|e| {
        eprintln!("error: {e}");
        crate::USAGE
    })?;
    let (mut reqs, _) = parse(&text).map_err(|e| {
        eprintln!("error: {e}");
        crate::USAGE
    })?;
    if !no_clock {
        let now = jiff::Timestamp::now();
        for r in &mut reqs {
            r.time.get_or_insert(now);
        }
    }
    Ok(reqs)
}

/// Parses one request, or every request of a JSON array. Errors read `invalid request: …` and
/// name the field (and, for an array, the item).
pub fn parse(text: &str) -> Result<(Vec<Request<'static>>, bool), String> {
    let trimmed = text.trim_start();
    if !trimmed.starts_with('[') {
        return Request::from_json(text)
            .map(|r| (vec![r], false))
            .map_err(|e| e.to_string());
    }
    if let Err(e) = serde_json::from_str::<serde_json::Value>(text) {
        return Err(format!("invalid request: not valid JSON: {e}"));
    }
    let items =
        split_array(trimmed).ok_or_else(|| "invalid request: not a JSON array".to_string())?;
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        match Request::from_json(item) {
            Ok(r) => out.push(r),
            Err(e) => {
                return Err(format!(
                    "invalid request: item {} of {}: {}",
                    i.saturating_add(1),
                    items.len(),
                    e.message
                ));
            }
        }
    }
    Ok((out, true))
}

/// The texts of the elements of a well-formed JSON array (checked by the caller), so that each
/// element can be read with the request parser's own checks (duplicate keys among them).
fn split_array(text: &str) -> Option<Vec<&str>> {
    let body = text.trim().strip_prefix('[')?.strip_suffix(']')?;
    let mut items = Vec::new();
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    let mut start = 0;
    for (i, c) in body.char_indices() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '[' | '{' => depth = depth.saturating_add(1),
            ']' | '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                items.push(body.get(start..i)?);
                start = i.saturating_add(1);
            }
            _ => {}
        }
    }
    let last = body.get(start..)?;
    if !last.trim().is_empty() || !items.is_empty() {
        items.push(last);
    }
    Some(items)
}

#[cfg(test)]
mod tests {
    use super::split_array;

    #[test]
    fn splits_top_level_elements_only() {
        let items = split_array(r#" [ {"a": [1, 2]}, {"b": "x,]}"} ] "#).unwrap();
        assert_eq!(items, [r#" {"a": [1, 2]}"#, r#" {"b": "x,]}"} "#]);
        assert_eq!(split_array("[]").unwrap(), Vec::<&str>::new());
        assert_eq!(
            split_array(r#"[{"s": "a\"b"}]"#).unwrap(),
            [r#"{"s": "a\"b"}"#]
        );
    }
}
