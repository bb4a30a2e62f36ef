//! The top level of `risk_config.yaml`: `global:`, `rules:` and `accounts:` (CONFIG.md §2), plus the merge of
//! holidays.yaml. Builds a [`RiskConfig`] only when neither file had a single problem.

use std::collections::BTreeMap;
use std::path::Path;

use model::config::{Global, RiskConfig, TightenOnly};
use model::ids::AccountId;

use crate::error::ConfigError;
use crate::holidays;
use crate::rules::{Env, RulesP};
use crate::tree::{
    At, Ctx, FILE_PATH, boolean, count, entries, hh_mm, load, one_of, time_zone, unknown_key,
};

const TOP_KEYS: &[&str] = &["global", "rules", "accounts"];
const GLOBAL_KEYS: &[&str] = &[
    "dry_run",
    "reset_time",
    "timezone",
    "subtract_fees",
    "journal_retention_days",
    "strict_mode",
    "cooling_off_minutes",
    "tighten_only",
];

/// Parse and validate; see [`crate::parse_risk_config`].
pub(crate) fn parse(
    text: &str,
    file: &Path,
    holidays_file: Option<(&str, &Path)>,
) -> Result<RiskConfig, Vec<ConfigError>> {
    let (extra_holidays, holiday_errors) = match holidays_file {
        Some((h_text, h_file)) => match holidays::parse(h_text, h_file) {
            Ok(dates) => (dates, Vec::new()),
            Err(errors) => (Vec::new(), errors),
        },
        None => (Vec::new(), Vec::new()),
    };

    let mut ctx = Ctx::new(file);
    let config = parse_risk(&mut ctx, text, extra_holidays);
    let mut errors = ctx.into_sorted();
    errors.extend(holiday_errors);
    match config {
        Some(config) if errors.is_empty() => Ok(config),
        _ => Err(errors),
    }
}

fn parse_risk(
    ctx: &mut Ctx,
    text: &str,
    extra_holidays: Vec<jiff::civil::Date>,
) -> Option<RiskConfig> {
    let Some(doc) = load(ctx, text)? else {
        ctx.err(
            FILE_PATH,
            1,
            "the file is empty: expected `global:` and `rules:` (and optionally `accounts:`)",
        );
        return None;
    };
    let root = At {
        path: String::new(),
        line: 1,
        node: &doc,
    };
    let mut global = Global::default();
    let mut rules = RulesP::default();
    let mut overrides: Vec<(AccountId, String, RulesP)> = Vec::new();
    let top = entries(ctx, &root)?;
    for e in &top {
        match e.key.as_str() {
            "global" => global = read_global(ctx, &e.value),
            "rules" => rules = RulesP::read(ctx, &e.value),
            "accounts" => overrides = read_accounts(ctx, &e.value),
            _ => unknown_key(ctx, e, TOP_KEYS),
        }
    }

    let env = Env {
        timezone_name: global.timezone_name.clone(),
        timezone: global.timezone.clone(),
        extra_holidays,
    };
    let base = rules.finish(ctx, None, "rules", &env);
    let mut accounts = BTreeMap::new();
    for (id, path, over) in &overrides {
        accounts.insert(*id, rules.finish(ctx, Some(over), path, &env));
    }
    Some(RiskConfig {
        global,
        rules: base,
        accounts,
    })
}

fn read_global(ctx: &mut Ctx, at: &At<'_, '_>) -> Global {
    let mut g = Global::default();
    for e in entries(ctx, at).unwrap_or_default() {
        let v = &e.value;
        match e.key.as_str() {
            "dry_run" => g.dry_run = boolean(ctx, v).unwrap_or(g.dry_run),
            "reset_time" => g.reset_time = hh_mm(ctx, v).unwrap_or(g.reset_time),
            "timezone" => {
                if let Some((name, tz)) = time_zone(ctx, v) {
                    g.timezone_name = name;
                    g.timezone = tz;
                }
            }
            "subtract_fees" => g.subtract_fees = boolean(ctx, v).unwrap_or(g.subtract_fees),
            "journal_retention_days" => {
                g.journal_retention_days = count(ctx, v, 1).unwrap_or(g.journal_retention_days)
            }
            "strict_mode" => g.strict_mode = boolean(ctx, v).unwrap_or(g.strict_mode),
            "tighten_only" => {
                g.tighten_only = one_of(
                    ctx,
                    v,
                    &[
                        ("trading_day", TightenOnly::TradingDay),
                        ("always", TightenOnly::Always),
                    ],
                )
                .unwrap_or(g.tighten_only)
            }
            "cooling_off_minutes" => {
                g.cooling_off_minutes = count(ctx, v, 0).unwrap_or(g.cooling_off_minutes)
            }
            _ => unknown_key(ctx, &e, GLOBAL_KEYS),
        }
    }
    g
}

/// `accounts:` keys are numeric gateway account ids (quoted or not); each value is a partial `rules` map.
fn read_accounts(ctx: &mut Ctx, at: &At<'_, '_>) -> Vec<(AccountId, String, RulesP)> {
    let mut out: Vec<(AccountId, String, RulesP)> = Vec::new();
    for e in entries(ctx, at).unwrap_or_default() {
        // Account keys are always shown quoted: `accounts."123456"`.
        let path = format!("accounts.\"{}\"", e.key.replace('"', "\\\""));
        let id = (!e.key.is_empty() && e.key.bytes().all(|b| b.is_ascii_digit()))
            .then(|| e.key.parse::<i64>().ok())
            .flatten()
            .filter(|id| *id > 0);
        let Some(id) = id else {
            ctx.err(
                &path,
                e.key_line,
                "an account override key must be a numeric account id, e.g. \"123456\"",
            );
            continue;
        };
        let id = AccountId(id);
        if out.iter().any(|(seen, _, _)| *seen == id) {
            ctx.err(
                &path,
                e.key_line,
                format!("account {} has two override blocks", id.0),
            );
            continue;
        }
        let value = At {
            path: path.clone(),
            ..e.value.clone()
        };
        let over = RulesP::read(ctx, &value);
        out.push((id, path, over));
    }
    out
}
