//! `riskguard admin rules set KEY VALUE`: change one value of risk_config.yaml *as text*, so that every comment,
//! blank line and the order of keys stay exactly as the admin wrote them.
//!
//! The file is parsed into the marked tree ([`crate::tree`]) only to find where the key's value sits: its source
//! span is replaced by the new value's text. A key that is not in the file yet is inserted as a new line at the
//! end of its parent block (missing parent blocks are created the same way). Only one-line values are edited: a
//! value spread over several lines (a block list) is refused with a message that says to edit the file by hand.
//!
//! The result is checked before it is returned: parsed again, the key must now hold exactly the new text. The
//! caller then validates the whole config ([`crate::parse_risk_config`]) before writing anything.

use saphyr::YamlData;

use crate::tree::{Ctx, Node, load, scalar};

/// Why an edit could not be made (nothing was changed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct EditError(pub String);

fn fail<T>(message: impl Into<String>) -> Result<T, EditError> {
    Err(EditError(message.into()))
}

/// The key path of `rules set`: `RULE.KEY[.SUB]` (under `rules:`), `global.KEY`, `accounts.ID.RULE.KEY`, or
/// `rules.RULE.KEY`. Returns the YAML path from the document root.
pub fn key_path(key: &str) -> Result<Vec<String>, EditError> {
    let parts: Vec<String> = key.trim().split('.').map(str::to_owned).collect();
    if parts.iter().any(|p| p.is_empty()) || parts.len() < 2 {
        return fail(format!(
            "`{key}` is not a setting: use RULE.KEY (daily_realized_loss.loss_limit), global.KEY or \
             accounts.ID.RULE.KEY"
        ));
    }
    if parts
        .iter()
        .any(|p| !p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
    {
        return fail(format!(
            "`{key}`: each part of a key is letters, digits and `_` only"
        ));
    }
    Ok(match parts[0].as_str() {
        "global" | "rules" | "accounts" => parts,
        _ => std::iter::once("rules".to_owned()).chain(parts).collect(),
    })
}

/// Byte offset of a character index in `text`.
fn byte_at(text: &str, char_index: usize) -> usize {
    text.char_indices()
        .nth(char_index)
        .map_or(text.len(), |(b, _)| b)
}

/// The byte offset where 1-based `line` starts (the text's end past the last line).
fn line_start(text: &str, line: usize) -> usize {
    if line <= 1 {
        return 0;
    }
    text.match_indices('\n')
        .nth(line - 2)
        .map_or(text.len(), |(i, _)| i + 1)
}

fn mapping_get<'n, 'a>(node: &'n Node<'a>, key: &str) -> Option<(&'n Node<'a>, &'n Node<'a>)> {
    let YamlData::Mapping(map) = &node.data else {
        return None;
    };
    map.iter()
        .find(|(k, _)| scalar(k).is_some_and(|(t, _)| t == key))
}

/// The last line any node under `node` starts on.
fn last_line(node: &Node<'_>) -> usize {
    let mut last = node.span.start.line();
    match &node.data {
        YamlData::Mapping(map) => {
            for (k, v) in map {
                last = last.max(last_line(k)).max(last_line(v));
            }
        }
        YamlData::Sequence(items) => {
            for v in items {
                last = last.max(last_line(v));
            }
        }
        _ => {}
    }
    last
}

fn is_flow_line(node: &Node<'_>, text: &str) -> bool {
    let start = byte_at(text, node.span.start.index());
    text[start..].starts_with(['{', '['])
}

/// The byte just past the bracket that closes the flow collection opening at `start` (quotes respected), if
/// it closes on the same line.
fn flow_end(text: &str, start: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    for (i, c) in text[start..].char_indices() {
        match (quote, c) {
            (_, '\n') => return None,
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '{' | '[') => depth += 1,
            (None, '}' | ']') => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(start + i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// A node's source bytes: a scalar's span, or a one-line flow collection up to its closing bracket.
fn source_range(text: &str, node: &Node<'_>) -> Option<(usize, usize)> {
    let start = byte_at(text, node.span.start.index());
    if is_flow_line(node, text) {
        return flow_end(text, start).map(|end| (start, end));
    }
    match &node.data {
        YamlData::Mapping(_) | YamlData::Sequence(_) => None,
        _ => Some((start, byte_at(text, node.span.end.index()))),
    }
}

/// Check that `value` is one YAML value on one line.
fn check_value(value: &str) -> Result<String, EditError> {
    let v = value.trim();
    if v.is_empty() {
        return fail("the value is empty: give a YAML value such as 600, true or [RTY, MBT]");
    }
    if v.contains(['\n', '\r']) {
        return fail("the value must be on one line");
    }
    let probe = format!("k: {v}\n");
    let mut ctx = Ctx::new(std::path::Path::new("value"));
    match load(&mut ctx, &probe) {
        Some(Some(doc)) if mapping_get(&doc, "k").is_some() && ctx.errors.is_empty() => {}
        _ => {
            let why = ctx
                .errors
                .first()
                .map_or_else(|| "not a YAML value".to_owned(), |e| e.message.clone());
            return fail(format!("`{v}` is not a valid YAML value: {why}"));
        }
    }
    Ok(v.to_owned())
}

/// The source text of the value at `path`, if the file has it.
pub fn current_value(text: &str, path: &[String]) -> Option<String> {
    let mut ctx = Ctx::new(std::path::Path::new("risk_config.yaml"));
    let doc = load(&mut ctx, text)??;
    let mut node = &doc;
    for part in path {
        node = mapping_get(node, part)?.1;
    }
    let (start, end) = source_range(text, node)?;
    Some(text.get(start..end)?.trim().to_owned())
}

/// `text` with the value at `path` set to `value` (YAML, one line), comments and layout kept.
///
/// # Errors
/// The file does not parse, a parent on the path is not a mapping, the old value spans several lines, or the
/// value is not one YAML value.
pub fn set_value(text: &str, path: &[String], value: &str) -> Result<String, EditError> {
    let value = check_value(value)?;
    let mut ctx = Ctx::new(std::path::Path::new("risk_config.yaml"));
    let Some(Some(doc)) = load(&mut ctx, text) else {
        let why = ctx
            .errors
            .first()
            .map_or_else(|| "the file is empty".to_owned(), ToString::to_string);
        return fail(format!("the file cannot be edited: {why}"));
    };

    // Walk as far as the file goes.
    let mut node = &doc;
    let mut depth = 0;
    while depth < path.len() {
        if !matches!(node.data, YamlData::Mapping(_)) && !crate::tree::is_null(node) {
            return fail(format!(
                "`{}` is not a mapping in the file, so `{}` cannot be set",
                path[..depth].join("."),
                path.join(".")
            ));
        }
        match mapping_get(node, &path[depth]) {
            Some((_, v)) => {
                node = v;
                depth += 1;
            }
            None => break,
        }
    }

    let edited = if depth == path.len() {
        replace_value(text, node, &path.join("."), &value)?
    } else {
        insert_value(text, &doc, node, &path[..depth], &path[depth..], &value)?
    };

    // Parse again: the key must now hold exactly the new text.
    if current_value(&edited, path).as_deref() != Some(value.as_str()) {
        return fail(format!(
            "could not set `{}` safely in this file's layout; edit it by hand, then reload",
            path.join(".")
        ));
    }
    Ok(edited)
}

fn replace_value(text: &str, node: &Node<'_>, key: &str, value: &str) -> Result<String, EditError> {
    let several_lines = || {
        EditError(format!(
            "`{key}` spans several lines in the file; edit it by hand, then reload"
        ))
    };
    let (start, end) = source_range(text, node).ok_or_else(several_lines)?;
    let old = &text[start..end];
    if old.trim().lines().count() > 1 {
        return Err(several_lines());
    }
    // Keep whatever whitespace the old span carried at its end (a scalar's span may reach the line break).
    let kept = &old[old.trim_end().len()..];
    Ok(format!("{}{value}{kept}{}", &text[..start], &text[end..]))
}

fn insert_value(
    text: &str,
    doc: &Node<'_>,
    parent: &Node<'_>,
    found: &[String],
    missing: &[String],
    value: &str,
) -> Result<String, EditError> {
    // A flow mapping on one line: add `, key: value` (nested missing parts as flow mappings) before its `}`.
    if matches!(parent.data, YamlData::Mapping(_)) && is_flow_line(parent, text) {
        let start = byte_at(text, parent.span.start.index());
        let close = flow_end(text, start).map(|end| end - 1).ok_or_else(|| {
            EditError(format!(
                "`{}` spans several lines in the file; edit it by hand, then reload",
                found.join(".")
            ))
        })?;
        let mut item = value.to_owned();
        for part in missing.iter().skip(1).rev() {
            item = format!("{{ {part}: {item} }}");
        }
        let before = text[..close].trim_end();
        let sep = if before.ends_with('{') { " " } else { ", " };
        return Ok(format!(
            "{before}{sep}{}: {item} {}",
            missing[0],
            &text[close..]
        ));
    }
    // A block mapping (or the root, or an empty `key:`): new lines after its last line.
    let (indent, after_line) = if found.is_empty() {
        (0, last_line(doc))
    } else if crate::tree::is_null(parent) {
        let parent_indent = parent_key_indent(doc, found);
        (parent_indent + 2, parent.span.start.line())
    } else {
        let YamlData::Mapping(map) = &parent.data else {
            return fail(format!("`{}` is not a mapping", found.join(".")));
        };
        let indent = map.iter().next().map_or(2, |(k, _)| k.span.start.col());
        (indent, last_line(parent))
    };
    let mut lines = String::new();
    for (i, part) in missing.iter().enumerate() {
        let pad = " ".repeat(indent + 2 * i);
        if i + 1 == missing.len() {
            lines.push_str(&format!("{pad}{part}: {value}\n"));
        } else {
            lines.push_str(&format!("{pad}{part}:\n"));
        }
    }
    let at = line_start(text, after_line + 1);
    let mut out = String::with_capacity(text.len() + lines.len() + 1);
    out.push_str(&text[..at]);
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&lines);
    out.push_str(&text[at..]);
    Ok(out)
}

/// The column of the key that names the mapping at `path`.
fn parent_key_indent(doc: &Node<'_>, path: &[String]) -> usize {
    let mut node = doc;
    let mut col = 0;
    for part in path {
        match mapping_get(node, part) {
            Some((k, v)) => {
                col = k.span.start.col();
                node = v;
            }
            None => break,
        }
    }
    col
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const FILE: &str = "\
# riskguard limits (desk policy 2026-11)
global:
  timezone: \"America/Chicago\"   # CT

rules:
  daily_realized_loss:
    enabled: true
    loss_limit: 500.00   # firm max is 1000
    warn_at: [0.5, 0.9]
  symbol_blocks:
    enabled: true
    blocked_symbols:
      - RTY
accounts:
  \"7001\":
    daily_realized_loss: { loss_limit: 250.00 }
# end
";

    fn set(key: &str, value: &str) -> Result<String, EditError> {
        set_value(FILE, &key_path(key).unwrap(), value)
    }

    #[test]
    fn replaces_a_value_and_keeps_its_comment() {
        let out = set("daily_realized_loss.loss_limit", "400").unwrap();
        assert_eq!(
            out,
            FILE.replace(
                "loss_limit: 500.00   # firm max",
                "loss_limit: 400   # firm max"
            )
        );
    }

    #[test]
    fn replaces_inside_a_flow_mapping() {
        let out = set("accounts.7001.daily_realized_loss.loss_limit", "200.00").unwrap();
        assert!(
            out.contains("daily_realized_loss: { loss_limit: 200.00 }"),
            "{out}"
        );
        assert!(out.contains("# end"));
    }

    #[test]
    fn replaces_a_flow_list() {
        let out = set("daily_realized_loss.warn_at", "[0.75]").unwrap();
        assert!(out.contains("    warn_at: [0.75]\n"), "{out}");
    }

    #[test]
    fn inserts_a_missing_key_into_its_block() {
        let out = set("daily_realized_loss.action", "close_all").unwrap();
        assert!(
            out.contains("    warn_at: [0.5, 0.9]\n    action: close_all\n  symbol_blocks:"),
            "{out}"
        );
        assert!(out.starts_with("# riskguard limits"));
    }

    #[test]
    fn inserts_a_missing_rule_block() {
        let out = set("max_contracts.limit", "3").unwrap();
        assert!(
            out.contains("      - RTY\n  max_contracts:\n    limit: 3\naccounts:"),
            "{out}"
        );
    }

    #[test]
    fn inserts_into_a_flow_mapping() {
        let out = set("accounts.7001.daily_realized_loss.enabled", "true").unwrap();
        assert!(
            out.contains("daily_realized_loss: { loss_limit: 250.00, enabled: true }"),
            "{out}"
        );
    }

    #[test]
    fn inserts_a_global_key() {
        let out = set("global.cooling_off_minutes", "30").unwrap();
        assert!(
            out.contains("  timezone: \"America/Chicago\"   # CT\n  cooling_off_minutes: 30\n"),
            "{out}"
        );
    }

    #[test]
    fn refuses_a_block_list_and_bad_keys_and_values() {
        let e = set("symbol_blocks.blocked_symbols", "[RTY, ES]").unwrap_err();
        assert!(e.0.contains("spans several lines"), "{e}");
        assert!(key_path("loss_limit").is_err());
        assert!(key_path("a..b").is_err());
        assert!(key_path("a.b c").is_err());
        let e = set("daily_realized_loss.loss_limit", "[1, ").unwrap_err();
        assert!(e.0.contains("not a valid YAML value"), "{e}");
        assert!(set("daily_realized_loss.loss_limit", "").is_err());
        assert!(set("daily_realized_loss.loss_limit", "1\n2").is_err());
        let e = set("daily_realized_loss.loss_limit.x", "1").unwrap_err();
        assert!(e.0.contains("not a mapping"), "{e}");
    }

    #[test]
    fn current_value_reads_source_text() {
        let path = key_path("daily_realized_loss.loss_limit").unwrap();
        assert_eq!(current_value(FILE, &path).as_deref(), Some("500.00"));
        assert_eq!(
            current_value(FILE, &key_path("max_contracts.limit").unwrap()),
            None
        );
    }
}
