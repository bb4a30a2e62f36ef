//! The raw layer: YAML text → a saphyr `MarkedYaml` tree that keeps line positions, plus typed readers that
//! push a [`ConfigError`] instead of stopping.
//!
//! Scalars are loaded *unparsed* (`early_parse(false)`), so every reader sees the exact source text: amounts
//! go straight from text to `Decimal` (never through `f64`), and a quoted `"5"` stays a string. The YAML core
//! schema (via `saphyr::Scalar::parse_from_cow`) decides what type a plain scalar *is*; the readers decide what
//! it *should be* and report mismatches as "expected X, found Y".
//!
//! Conventions shared by every reader: a reader gets the key path and the line of the node, returns `None`
//! after pushing an error, and never panics. Key paths are dotted; keys that are not plain identifiers are
//! quoted (`accounts."123456"`), list items are `[i]` (0-based).

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use rust_decimal::Decimal;
use saphyr::{MarkedYaml, Scalar, ScalarStyle, YamlData, YamlLoader};
use saphyr_parser::Parser;

use crate::error::ConfigError;

/// A node of the marked YAML tree.
pub(crate) type Node<'a> = MarkedYaml<'a>;

/// Key path used for problems that concern the YAML syntax of the whole file.
pub(crate) const SYNTAX_PATH: &str = "(yaml)";
/// Key path used for problems that concern the file as a whole (I/O, root type).
pub(crate) const FILE_PATH: &str = "(file)";

/// Collects every problem of one file. An empty key path (the document root) is recorded as [`FILE_PATH`].
#[derive(Debug)]
pub(crate) struct Ctx {
    pub file: PathBuf,
    pub errors: Vec<ConfigError>,
}

impl Ctx {
    pub fn new(file: &Path) -> Self {
        Ctx {
            file: file.to_path_buf(),
            errors: Vec::new(),
        }
    }

    pub fn err(&mut self, path: &str, line: usize, message: impl Into<String>) {
        self.errors.push(ConfigError {
            file: self.file.clone(),
            key_path: if path.is_empty() {
                FILE_PATH.to_string()
            } else {
                path.to_string()
            },
            line,
            message: message.into(),
        });
    }

    /// The errors, sorted by line (stable: same-line errors keep the order they were found in).
    pub fn into_sorted(mut self) -> Vec<ConfigError> {
        self.errors.sort_by_key(|e| e.line);
        self.errors
    }
}

/// Parse `text` into its single document. A syntax error (including a duplicated key) or a second document is
/// pushed to `ctx` and gives `None`. An empty document gives `Some(None)`.
pub(crate) fn load<'a>(ctx: &mut Ctx, text: &'a str) -> Option<Option<Node<'a>>> {
    let mut loader: YamlLoader<'a, Node<'a>> = YamlLoader::default();
    loader.early_parse(false);
    let mut parser = Parser::new_from_str(text);
    if let Err(e) = parser.load(&mut loader, true) {
        ctx.err(SYNTAX_PATH, e.marker().line(), e.info().to_string());
        return None;
    }
    if let Some(e) = loader.error() {
        ctx.err(SYNTAX_PATH, e.marker().line(), e.info().to_string());
        return None;
    }
    let mut docs = loader.into_documents().into_iter();
    let first = docs.next();
    if let Some(second) = docs.next() {
        ctx.err(
            SYNTAX_PATH,
            line_of(&second),
            "only one YAML document is allowed per file",
        );
        return None;
    }
    match first {
        None => Some(None),
        Some(doc) if matches!(doc.data, YamlData::BadValue) => Some(None),
        Some(doc) if is_null(&doc) => Some(None),
        Some(doc) => Some(Some(doc)),
    }
}

/// The 1-based line a node starts on.
pub(crate) fn line_of(node: &Node<'_>) -> usize {
    node.span.start.line()
}

/// `parent.key`, quoting `key` when it is not a plain identifier.
pub(crate) fn join(parent: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && key
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    let key = if plain {
        key.to_string()
    } else {
        format!("\"{}\"", key.replace('"', "\\\""))
    };
    if parent.is_empty() {
        key
    } else {
        format!("{parent}.{key}")
    }
}

/// `parent[index]`.
pub(crate) fn index_path(parent: &str, index: usize) -> String {
    format!("{parent}[{index}]")
}

/// What a scalar node holds, resolved with the YAML core schema, plus its source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScalarKind {
    Null,
    Bool,
    Int,
    Float,
    Str,
}

/// A scalar's source text and its core-schema type (`Str` for every quoted scalar and for `!!str`).
pub(crate) fn scalar<'n>(node: &'n Node<'_>) -> Option<(&'n str, ScalarKind)> {
    let YamlData::Representation(text, style, tag) = &node.data else {
        return None;
    };
    let forced_str = tag
        .as_ref()
        .is_some_and(|t| t.is_yaml_core_schema() && t.suffix == "str");
    if forced_str || *style != ScalarStyle::Plain {
        return Some((text, ScalarKind::Str));
    }
    if text.is_empty() {
        // An empty value (`key:` with nothing after it).
        return Some((text, ScalarKind::Null));
    }
    let kind = match Scalar::parse_from_cow(Cow::Borrowed(&**text)) {
        Scalar::Null => ScalarKind::Null,
        Scalar::Boolean(_) => ScalarKind::Bool,
        Scalar::Integer(_) => ScalarKind::Int,
        Scalar::FloatingPoint(_) => ScalarKind::Float,
        Scalar::String(_) => ScalarKind::Str,
    };
    Some((text, kind))
}

pub(crate) fn is_null(node: &Node<'_>) -> bool {
    matches!(scalar(node), Some((_, ScalarKind::Null)))
}

/// "a string", "a list", ... for "expected X, found Y" messages.
pub(crate) fn describe(node: &Node<'_>) -> &'static str {
    match &node.data {
        YamlData::Sequence(_) => "a list",
        YamlData::Mapping(_) => "a mapping",
        YamlData::Tagged(..) => "a tagged value",
        YamlData::Alias(_) | YamlData::BadValue => "an unresolvable value",
        YamlData::Value(_) => "a value",
        YamlData::Representation(..) => match scalar(node) {
            Some((_, ScalarKind::Null)) => "nothing (null)",
            Some((_, ScalarKind::Bool)) => "a boolean",
            Some((_, ScalarKind::Int | ScalarKind::Float)) => "a number",
            _ => "a string",
        },
    }
}

/// A located node: its key path, its line and the node.
#[derive(Debug, Clone)]
pub(crate) struct At<'n, 'a> {
    pub path: String,
    pub line: usize,
    pub node: &'n Node<'a>,
}

/// A mapping entry: the key text and its located value. `line` is the key's line; the value's own line is used
/// for problems with the value, except an empty value, which is reported on the key's line.
#[derive(Debug, Clone)]
pub(crate) struct Entry<'n, 'a> {
    pub key: String,
    pub key_line: usize,
    pub value: At<'n, 'a>,
}

/// The entries of a mapping node. `null` (an empty value) counts as an empty mapping. Anything else is an
/// error. Keys must be scalars; a key that is not is reported and skipped.
pub(crate) fn entries<'n, 'a>(ctx: &mut Ctx, at: &At<'n, 'a>) -> Option<Vec<Entry<'n, 'a>>> {
    if is_null(at.node) {
        return Some(Vec::new());
    }
    let YamlData::Mapping(map) = &at.node.data else {
        ctx.err(
            &at.path,
            at.line,
            format!("expected a mapping, found {}", describe(at.node)),
        );
        return None;
    };
    let mut out = Vec::with_capacity(map.len());
    for (k, v) in map {
        let key_line = line_of(k);
        let Some((text, _)) = scalar(k) else {
            ctx.err(
                &at.path,
                key_line,
                format!("keys must be plain strings, found {}", describe(k)),
            );
            continue;
        };
        let path = join(&at.path, text);
        let line = if is_null(v) && scalar(v).is_some_and(|(t, _)| t.is_empty()) {
            key_line
        } else {
            line_of(v)
        };
        out.push(Entry {
            key: text.to_string(),
            key_line,
            value: At {
                path,
                line,
                node: v,
            },
        });
    }
    Some(out)
}

/// The items of a list node, each located as `path[i]`.
pub(crate) fn items<'n, 'a>(ctx: &mut Ctx, at: &At<'n, 'a>) -> Option<Vec<At<'n, 'a>>> {
    let YamlData::Sequence(seq) = &at.node.data else {
        ctx.err(
            &at.path,
            at.line,
            format!("expected a list, found {}", describe(at.node)),
        );
        return None;
    };
    Some(
        seq.iter()
            .enumerate()
            .map(|(i, n)| At {
                path: index_path(&at.path, i),
                line: line_of(n),
                node: n,
            })
            .collect(),
    )
}

/// Report a key that the block does not know, listing the keys it does.
pub(crate) fn unknown_key(ctx: &mut Ctx, e: &Entry<'_, '_>, allowed: &[&str]) {
    ctx.err(
        &e.value.path,
        e.key_line,
        format!("unknown key; allowed keys: {}", allowed.join(", ")),
    );
}

pub(crate) fn boolean(ctx: &mut Ctx, at: &At<'_, '_>) -> Option<bool> {
    match scalar(at.node) {
        Some((t, ScalarKind::Bool)) => Some(t.eq_ignore_ascii_case("true")),
        _ => {
            ctx.err(
                &at.path,
                at.line,
                format!("expected true or false, found {}", describe(at.node)),
            );
            None
        }
    }
}

/// A string scalar (quoted, or plain text that is not a number, boolean or null).
pub(crate) fn string<'n>(ctx: &mut Ctx, at: &At<'n, '_>) -> Option<&'n str> {
    match scalar(at.node) {
        Some((t, ScalarKind::Str)) => Some(t),
        _ => {
            ctx.err(
                &at.path,
                at.line,
                format!("expected a string, found {}", describe(at.node)),
            );
            None
        }
    }
}

/// A whole number written in decimal, with the given lower bound, that fits a `u32`.
pub(crate) fn count(ctx: &mut Ctx, at: &At<'_, '_>, min: u32) -> Option<u32> {
    let text = match scalar(at.node) {
        Some((t, ScalarKind::Int | ScalarKind::Float)) => t,
        _ => {
            ctx.err(
                &at.path,
                at.line,
                format!("expected a whole number, found {}", describe(at.node)),
            );
            return None;
        }
    };
    let digits = text.strip_prefix('+').unwrap_or(text);
    let negative = digits.starts_with('-');
    let body = digits.strip_prefix('-').unwrap_or(digits);
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
        ctx.err(
            &at.path,
            at.line,
            format!("expected a whole number, found {text}"),
        );
        return None;
    }
    let bound = if min == 0 {
        "must be 0 or more"
    } else {
        "must be 1 or more"
    };
    if negative {
        // "-0" is zero; anything else negative is out of range.
        if body.bytes().all(|b| b == b'0') && min == 0 {
            return Some(0);
        }
        ctx.err(&at.path, at.line, format!("{bound}, found {text}"));
        return None;
    }
    match body.parse::<u32>() {
        Ok(n) if n >= min => Some(n),
        Ok(_) => {
            ctx.err(&at.path, at.line, format!("{bound}, found {text}"));
            None
        }
        Err(_) => {
            ctx.err(
                &at.path,
                at.line,
                format!("too large (at most {}), found {text}", u32::MAX),
            );
            None
        }
    }
}

/// A decimal number written as plain digits (`500`, `500.00`, `0.75`), parsed from its text.
pub(crate) fn decimal(ctx: &mut Ctx, at: &At<'_, '_>) -> Option<Decimal> {
    let text = match scalar(at.node) {
        Some((t, ScalarKind::Int | ScalarKind::Float)) => t,
        _ => {
            ctx.err(
                &at.path,
                at.line,
                format!("expected a number, found {}", describe(at.node)),
            );
            return None;
        }
    };
    let body = text.trim_start_matches(['+', '-']);
    let well_formed = text.len() - body.len() <= 1
        && !body.is_empty()
        && body.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && body.bytes().filter(|b| *b == b'.').count() <= 1
        && body.bytes().any(|b| b.is_ascii_digit());
    let parsed = if well_formed {
        Decimal::from_str_exact(text.trim_start_matches('+')).ok()
    } else {
        None
    };
    if parsed.is_none() {
        ctx.err(
            &at.path,
            at.line,
            format!("expected a plain decimal number such as 500.00, found {text}"),
        );
    }
    parsed
}

/// A positive dollar amount (> 0).
pub(crate) fn money(ctx: &mut Ctx, at: &At<'_, '_>) -> Option<Decimal> {
    let d = decimal(ctx, at)?;
    if d <= Decimal::ZERO {
        ctx.err(
            &at.path,
            at.line,
            format!("must be a positive dollar amount (a magnitude, e.g. 500.00), found {d}"),
        );
        return None;
    }
    Some(d)
}

/// One of a fixed set of strings.
pub(crate) fn one_of<T: Copy>(ctx: &mut Ctx, at: &At<'_, '_>, options: &[(&str, T)]) -> Option<T> {
    let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
    let Some(text) = (match scalar(at.node) {
        Some((t, ScalarKind::Str)) => Some(t),
        _ => None,
    }) else {
        ctx.err(
            &at.path,
            at.line,
            format!(
                "expected one of {}, found {}",
                names.join(" | "),
                describe(at.node)
            ),
        );
        return None;
    };
    match options.iter().find(|(n, _)| *n == text) {
        Some((_, v)) => Some(*v),
        None => {
            ctx.err(
                &at.path,
                at.line,
                format!("expected one of {}, found {text:?}", names.join(" | ")),
            );
            None
        }
    }
}

/// "HH:MM", 00:00 to 23:59, exactly two digits each.
pub(crate) fn hh_mm(ctx: &mut Ctx, at: &At<'_, '_>) -> Option<jiff::civil::Time> {
    let text = string(ctx, at)?;
    let parsed = parse_hh_mm(text);
    if parsed.is_none() {
        ctx.err(
            &at.path,
            at.line,
            format!("expected a time \"HH:MM\" (00:00 to 23:59), found {text:?}"),
        );
    }
    parsed
}

fn parse_hh_mm(text: &str) -> Option<jiff::civil::Time> {
    let b = text.as_bytes();
    if b.len() != 5 || b[2] != b':' {
        return None;
    }
    let two = |i: usize| -> Option<i8> {
        let (x, y) = (b[i], b[i + 1]);
        (x.is_ascii_digit() && y.is_ascii_digit()).then(|| ((x - b'0') * 10 + (y - b'0')) as i8)
    };
    let (h, m) = (two(0)?, two(3)?);
    jiff::civil::Time::new(h, m, 0, 0).ok()
}

/// "YYYY-MM-DD", a real calendar date.
pub(crate) fn date(ctx: &mut Ctx, at: &At<'_, '_>) -> Option<jiff::civil::Date> {
    let text = match scalar(at.node) {
        Some((t, ScalarKind::Str)) => t,
        _ => {
            ctx.err(
                &at.path,
                at.line,
                format!(
                    "expected a date \"YYYY-MM-DD\", found {}",
                    describe(at.node)
                ),
            );
            return None;
        }
    };
    let b = text.as_bytes();
    let shape = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    let parsed = if shape {
        jiff::civil::Date::from_str(text).ok()
    } else {
        None
    };
    if parsed.is_none() {
        ctx.err(
            &at.path,
            at.line,
            format!("expected a date \"YYYY-MM-DD\", found {text:?}"),
        );
    }
    parsed
}

/// An IANA time zone name known to the bundled tz database.
pub(crate) fn time_zone(ctx: &mut Ctx, at: &At<'_, '_>) -> Option<(String, jiff::tz::TimeZone)> {
    let text = string(ctx, at)?;
    match jiff::tz::TimeZone::get(text) {
        Ok(tz) => Some((text.to_string(), tz)),
        Err(_) => {
            ctx.err(
                &at.path,
                at.line,
                format!("unknown IANA time zone {text:?} (e.g. \"America/Chicago\")"),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn join_quotes_non_identifiers() {
        assert_eq!(join("accounts", "123456"), "accounts.\"123456\"");
        assert_eq!(join("rules", "max_contracts"), "rules.max_contracts");
        assert_eq!(join("", "rules"), "rules");
        assert_eq!(join("x.limits", "6B"), "x.limits.\"6B\"");
    }

    #[test]
    fn hh_mm_is_strict() {
        assert_eq!(
            parse_hh_mm("08:30"),
            Some(jiff::civil::Time::constant(8, 30, 0, 0))
        );
        assert_eq!(parse_hh_mm("8:30"), None);
        assert_eq!(parse_hh_mm("24:00"), None);
        assert_eq!(parse_hh_mm("12:60"), None);
        assert_eq!(parse_hh_mm("ab:cd"), None);
    }

    #[test]
    fn syntax_error_has_a_line() {
        let mut ctx = Ctx::new(Path::new("f.yaml"));
        assert!(load(&mut ctx, "a: 1\nb: [1, 2\n").is_none());
        assert_eq!(ctx.errors.len(), 1);
        assert_eq!(ctx.errors[0].key_path, SYNTAX_PATH);
        assert!(ctx.errors[0].line >= 2, "{:?}", ctx.errors);
    }

    #[test]
    fn duplicate_key_is_a_syntax_error() {
        let mut ctx = Ctx::new(Path::new("f.yaml"));
        assert!(load(&mut ctx, "a: 1\nb: 2\na: 3\n").is_none());
        assert_eq!(ctx.errors[0].line, 3);
        assert!(ctx.errors[0].message.contains("duplicated key"));
    }

    #[test]
    fn quoted_numbers_are_strings() {
        let mut ctx = Ctx::new(Path::new("f.yaml"));
        let doc = load(&mut ctx, "a: \"5\"\nb: 5\nc: 5.50\nd: true\ne:\n")
            .unwrap()
            .unwrap();
        let root = At {
            path: String::new(),
            line: 1,
            node: &doc,
        };
        let es = entries(&mut ctx, &root).unwrap();
        let kinds: Vec<_> = es.iter().map(|e| scalar(e.value.node).unwrap().1).collect();
        assert_eq!(
            kinds,
            vec![
                ScalarKind::Str,
                ScalarKind::Int,
                ScalarKind::Float,
                ScalarKind::Bool,
                ScalarKind::Null
            ]
        );
        assert_eq!(
            decimal(&mut ctx, &es[2].value),
            Some(Decimal::from_str("5.50").unwrap())
        );
        // The empty value is reported on its key's line.
        assert_eq!(es[4].value.line, 5);
        assert!(ctx.errors.is_empty());
    }
}
