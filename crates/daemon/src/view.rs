//! What the internal API shows, built from the engine's state: the [`api::View`] the loop publishes, the
//! decision records the stream and `/v1/decisions` carry, and the effective rules and holidays.
//!
//! Everything here is a pure function of the engine, the config and the status figures passed in; the loop
//! decides when to build and publish.

use api::{
    Account, AccountRules, DecisionRecord, Holiday, Holidays, Lock, Order, Position, Status,
    TradingState, View,
};
use engine::Engine;
use engine::state::LockKind;
use jiff::Timestamp;
use model::config::{
    FrequencyWindow, LockoutUntil, MaxContractsAction, PerInstrumentAction, RealizedLossAction,
    RiskConfig, Rules, Scope, UnknownSymbolAction,
};
use model::decision::Decision;
use model::event::{OrderStatus, OrderType, Side};
use model::ids::AccountId;
use rust_decimal::Decimal;
use serde_json::{Value, json};

/// The view of `accounts` (the watched ones, in order) at the engine's clock (or `now` before any event).
pub fn build(engine: &Engine, accounts: &[AccountId], now: Timestamp, status: Status) -> View {
    let state = engine.state();
    let at = state.now.unwrap_or(now);
    let config = engine.config();
    let mut view = View {
        at,
        status,
        accounts: Vec::with_capacity(accounts.len()),
        positions: Vec::new(),
        orders: Vec::new(),
        locks: Vec::new(),
        pending: Vec::new(),
    };
    for id in accounts {
        let Some(acct) = state.accounts.get(id) else {
            view.accounts.push(empty_account(*id));
            continue;
        };
        let realized = acct.realized();
        let unrealized = acct.unrealized_total();
        let mut trading = TradingState::Ok;
        let mut state_reason = None;
        let mut state_until = None;
        for (rule, lock) in &acct.locks {
            let locked = lock.kind != LockKind::Timed;
            // A lockout outranks a cooldown; among equals the one that ends last decides.
            let rank = |s: TradingState| match s {
                TradingState::Ok => 0,
                TradingState::Cooldown => 1,
                TradingState::Locked => 2,
            };
            let this = if locked {
                TradingState::Locked
            } else {
                TradingState::Cooldown
            };
            let later = match (lock.until, state_until) {
                (None, _) => true,
                (Some(u), Some(s)) => u > s,
                (Some(_), None) => state_reason.is_none(),
            };
            if rank(this) > rank(trading) || (rank(this) == rank(trading) && later) {
                trading = this;
                state_reason = Some(lock.reason.clone());
                state_until = lock.until;
            }
            view.locks.push(Lock {
                account: id.0,
                rule: rule.to_string(),
                kind: lock_kind(lock.kind).into(),
                reason: lock.reason.clone(),
                since: lock.since,
                until: lock.until,
            });
        }
        let mut open = 0;
        for (contract, p) in acct.positions.iter().filter(|(_, p)| p.size != 0) {
            open += 1;
            view.positions.push(Position {
                account: id.0,
                contract: contract.as_str().to_owned(),
                size: p.size,
                average_price: p.average_price,
                last_price: state.quotes.get(contract).and_then(|q| q.last),
                unrealized_pnl: p.unrealized,
                has_stop: acct.has_closing_stop(contract, p.size),
                stop_grace_until: p.grace_deadline,
                opened_at: p.opened_at,
            });
        }
        let mut working = 0;
        for (order, o) in &acct.orders {
            working += 1;
            view.orders.push(Order {
                account: id.0,
                order: order.0,
                contract: o.contract.as_str().to_owned(),
                status: status_name(o.status),
                order_type: type_name(o.order_type),
                side: side_name(o.side),
                size: o.size,
                limit_price: None,
                stop_price: o.stop_price,
            });
        }
        let usage = engine::usage::account_usage(state, config.rules_for(*id), acct, at)
            .into_iter()
            .map(|u| api::RuleUsage {
                rule: u.rule.to_string(),
                used: u.used,
                limit: u.limit,
                unit: u.unit.name().into(),
                fraction: u.fraction,
                text: u.text,
            })
            .collect();
        view.accounts.push(Account {
            id: id.0,
            can_trade: acct.can_trade,
            state: trading,
            state_reason,
            state_until,
            realized_pnl: realized,
            unrealized_pnl: unrealized,
            net_pnl: realized + unrealized,
            open_positions: open,
            working_orders: working,
            usage,
        });
    }
    view
}

fn empty_account(id: AccountId) -> Account {
    Account {
        id: id.0,
        can_trade: None,
        state: TradingState::Ok,
        state_reason: None,
        state_until: None,
        realized_pnl: Decimal::ZERO,
        unrealized_pnl: Decimal::ZERO,
        net_pnl: Decimal::ZERO,
        open_positions: 0,
        working_orders: 0,
        usage: Vec::new(),
    }
}

fn lock_kind(kind: LockKind) -> &'static str {
    match kind {
        LockKind::Timed => "cooldown",
        LockKind::DailyReset => "until_reset",
        LockKind::CanTrade => "until_can_trade",
        LockKind::Permanent => "permanent",
    }
}

fn status_name(s: OrderStatus) -> String {
    match s {
        OrderStatus::None => "none".into(),
        OrderStatus::Open => "open".into(),
        OrderStatus::Filled => "filled".into(),
        OrderStatus::Cancelled => "cancelled".into(),
        OrderStatus::Expired => "expired".into(),
        OrderStatus::Rejected => "rejected".into(),
        OrderStatus::Pending => "pending".into(),
        OrderStatus::PendingCancellation => "pending_cancellation".into(),
        OrderStatus::Suspended => "suspended".into(),
        OrderStatus::Unknown(c) => format!("unknown({c})"),
    }
}

fn type_name(t: OrderType) -> String {
    match t {
        OrderType::Unknown => "unknown".into(),
        OrderType::Limit => "limit".into(),
        OrderType::Market => "market".into(),
        OrderType::StopLimit => "stop_limit".into(),
        OrderType::Stop => "stop".into(),
        OrderType::TrailingStop => "trailing_stop".into(),
        OrderType::JoinBid => "join_bid".into(),
        OrderType::JoinAsk => "join_ask".into(),
        OrderType::Other(c) => format!("other({c})"),
    }
}

fn side_name(s: Side) -> String {
    match s {
        Side::Buy => "buy".into(),
        Side::Sell => "sell".into(),
        Side::Unknown(c) => format!("unknown({c})"),
    }
}

/// A decision as the API carries it: the journal's line, split into its common fields and the details.
pub fn decision_record(d: &Decision) -> DecisionRecord {
    let mut details = serde_json::from_str::<serde_json::Map<String, Value>>(&d.to_json_line())
        .unwrap_or_default();
    for key in [
        "t", "account", "rule", "action", "reason", "dryRun", "dry_run",
    ] {
        details.remove(key);
    }
    DecisionRecord {
        t: d.t,
        account: d.account.0,
        rule: d.rule.to_string(),
        action: d.action.name().into(),
        details: Value::Object(details),
        reason: d.reason.clone(),
        dry_run: d.dry_run,
    }
}

/// The History entries of an admin `note` (one per watched account, rule `admin`), from its `action` and
/// `text`; none for a note without them.
pub fn records_from_note(
    t: Timestamp,
    data: &Value,
    watched: &[AccountId],
    dry_run: bool,
) -> Vec<DecisionRecord> {
    let (Some(action), Some(text)) = (
        data.get("action").and_then(Value::as_str),
        data.get("text").and_then(Value::as_str),
    ) else {
        return Vec::new();
    };
    watched
        .iter()
        .map(|a| DecisionRecord {
            t,
            account: a.0,
            rule: model::decision::RuleId::Admin.to_string(),
            action: action.to_owned(),
            details: json!({}),
            reason: text.to_owned(),
            dry_run,
        })
        .collect()
}

/// The History entries of a journal line: a decision, or an admin `note` that people were shown.
pub fn records_from_journal_line(
    line: &store::JournalLine,
    watched: &[AccountId],
) -> Vec<DecisionRecord> {
    match line.kind {
        store::Kind::Decision => record_from_line(&line.line).into_iter().collect(),
        store::Kind::Admin => {
            let Ok(v) = serde_json::from_str::<Value>(&line.line) else {
                return Vec::new();
            };
            if v.get("kind").and_then(Value::as_str) != Some("note") {
                return Vec::new();
            }
            match v.get("data") {
                Some(data) => records_from_note(line.t, data, watched, false),
                None => Vec::new(),
            }
        }
        _ => Vec::new(),
    }
}

/// A decision read back from a journal line (REPLAY.md's output format); `None` for a line that is not one.
pub fn record_from_line(line: &str) -> Option<DecisionRecord> {
    let mut m = serde_json::from_str::<serde_json::Map<String, Value>>(line).ok()?;
    let t = m.remove("t")?.as_str()?.parse().ok()?;
    let account = m.remove("account")?.as_i64()?;
    let rule = m.remove("rule")?.as_str()?.to_owned();
    let action = m.remove("action")?.as_str()?.to_owned();
    let reason = m
        .remove("reason")
        .and_then(|r| r.as_str().map(str::to_owned))
        .unwrap_or_default();
    let dry_run = m
        .remove("dryRun")
        .or_else(|| m.remove("dry_run"))
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    Some(DecisionRecord {
        t,
        account,
        rule,
        action,
        details: Value::Object(m),
        reason,
        dry_run,
    })
}

/// The effective rules of every watched account, in risk_config.yaml's shape.
pub fn account_rules(config: &RiskConfig, accounts: &[AccountId]) -> Vec<AccountRules> {
    accounts
        .iter()
        .map(|a| AccountRules {
            account: a.0,
            rules: rules_json(config, config.rules_for(*a)),
        })
        .collect()
}

fn rules_json(config: &RiskConfig, r: &Rules) -> Value {
    let g = &config.global;
    let window = |w: FrequencyWindow| w.key();
    json!({
        "global": {
            "dry_run": g.dry_run,
            "reset_time": g.reset_time.to_string(),
            "timezone": g.timezone_name,
            "subtract_fees": g.subtract_fees,
            "strict_mode": g.strict_mode,
            "cooling_off_minutes": g.cooling_off_minutes,
            "tighten_only": match g.tighten_only {
                model::config::TightenOnly::TradingDay => "trading_day",
                model::config::TightenOnly::Always => "always",
            },
        },
        "max_contracts": {
            "enabled": r.max_contracts.enabled,
            "limit": r.max_contracts.limit,
            "action": match r.max_contracts.action {
                MaxContractsAction::CloseAll => "close_all",
                MaxContractsAction::ReduceToLimit => "reduce_to_limit",
            },
        },
        "max_contracts_per_instrument": {
            "enabled": r.max_contracts_per_instrument.enabled,
            "limits": r.max_contracts_per_instrument.limits,
            "action": match r.max_contracts_per_instrument.action {
                PerInstrumentAction::CloseAll => "close_all",
                PerInstrumentAction::ReduceToLimit => "reduce_to_limit",
            },
            "unknown_symbol_action": match r.max_contracts_per_instrument.unknown_symbol_action {
                UnknownSymbolAction::Block => "block".to_string(),
                UnknownSymbolAction::AllowUnlimited => "allow_unlimited".to_string(),
                UnknownSymbolAction::AllowWithLimit(n) => format!("allow_with_limit:{n}"),
            },
        },
        "daily_realized_loss": {
            "enabled": r.daily_realized_loss.enabled,
            "loss_limit": r.daily_realized_loss.loss_limit,
            "include_unrealized": r.daily_realized_loss.include_unrealized,
            "action": match r.daily_realized_loss.action {
                RealizedLossAction::CloseAllAndLockout => "close_all_and_lockout",
                RealizedLossAction::CloseAll => "close_all",
                RealizedLossAction::Alert => "alert",
            },
            "lockout_until": match r.daily_realized_loss.lockout_until {
                LockoutUntil::DailyReset => "daily_reset",
                LockoutUntil::Permanent => "permanent",
            },
            "warn_at": r.daily_realized_loss.warn_at,
        },
        "daily_unrealized_loss": unrealized(&r.daily_unrealized_loss, "loss_limit"),
        "max_unrealized_profit": unrealized(&r.max_unrealized_profit, "profit_target"),
        "trade_frequency_limit": {
            "enabled": r.trade_frequency_limit.enabled,
            "windows": r.trade_frequency_limit.windows.iter().map(|w| json!({
                "window": window(w.window), "limit": w.limit, "cooldown_seconds": w.cooldown_seconds,
            })).collect::<Vec<_>>(),
        },
        "cooldown_after_loss": {
            "enabled": r.cooldown_after_loss.enabled,
            "tiers": r.cooldown_after_loss.tiers.iter().map(|t| json!({
                "loss": t.loss, "cooldown_seconds": t.cooldown_seconds,
            })).collect::<Vec<_>>(),
        },
        "no_stop_loss_grace": {
            "enabled": r.no_stop_loss_grace.enabled,
            "grace_period_seconds": r.no_stop_loss_grace.grace_period_seconds,
        },
        "session_block_outside": {
            "enabled": r.session_block_outside.enabled,
            "timezone": r.session_block_outside.timezone_name,
            "sessions": sessions_json(r),
            "respect_holidays": r.session_block_outside.respect_holidays,
            "holidays": r.session_block_outside.holidays.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "close_positions_at_session_end": r.session_block_outside.close_positions_at_session_end,
            "lockout_outside_session": r.session_block_outside.lockout_outside_session,
        },
        "auth_loss_guard": {
            "enabled": r.auth_loss_guard.enabled,
            "flatten": r.auth_loss_guard.flatten,
        },
        "symbol_blocks": {
            "enabled": r.symbol_blocks.enabled,
            "blocked_symbols": r.symbol_blocks.blocked_symbols,
        },
        "trade_management": {
            "enabled": r.trade_management.enabled,
            "auto_breakeven": {
                "enabled": r.trade_management.auto_breakeven.enabled,
                "trigger_ticks": r.trade_management.auto_breakeven.trigger_ticks,
                "offset_ticks": r.trade_management.auto_breakeven.offset_ticks,
            },
            "trailing_stop": {
                "enabled": r.trade_management.trailing_stop.enabled,
                "activation_ticks": r.trade_management.trailing_stop.activation_ticks,
                "distance_ticks": r.trade_management.trailing_stop.distance_ticks,
            },
        },
    })
}

fn unrealized(u: &model::config::UnrealizedLimit, key: &str) -> Value {
    let mut v = json!({
        "enabled": u.enabled,
        "scope": match u.scope { Scope::PerPosition => "per_position", Scope::Total => "total" },
        "lockout": u.lockout,
    });
    if let Some(m) = v.as_object_mut() {
        m.insert(key.into(), json!(u.limit));
    }
    v
}

fn sessions_json(r: &Rules) -> Value {
    let s = &r.session_block_outside;
    Value::Object(
        s.sessions
            .iter()
            .map(|(name, w)| {
                (
                    name.clone(),
                    json!({
                        "start": w.start.to_string(),
                        "end": w.end.to_string(),
                        "days": w.days.iter().map(|d| format!("{d:?}")).collect::<Vec<_>>(),
                    }),
                )
            })
            .collect(),
    )
}

/// The configured holidays and session windows, with the next holiday on or after `now`'s trading date.
pub fn holidays(config: &RiskConfig, now: Timestamp) -> Holidays {
    let s = &config.rules.session_block_outside;
    let mut days = s.holidays.clone();
    days.sort_unstable();
    days.dedup();
    let today = s.timezone.to_datetime(now).date();
    let list: Vec<Holiday> = days
        .iter()
        .map(|d| Holiday {
            date: d.to_string(),
            name: String::new(),
            kind: "closed".into(),
        })
        .collect();
    let next = days
        .iter()
        .position(|d| *d >= today)
        .and_then(|i| list.get(i).cloned());
    Holidays {
        timezone: s.timezone_name.clone(),
        holidays: list,
        next,
        sessions: if s.enabled {
            sessions_json(&config.rules)
        } else {
            json!({})
        },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use model::decision::{Action, RuleId};

    use super::*;

    #[test]
    fn a_decision_survives_the_journal_round_trip() {
        let d = Decision {
            t: "2026-03-02T15:00:00Z".parse().unwrap(),
            account: AccountId(7001),
            rule: RuleId::MaxContracts,
            action: Action::ClosePosition {
                contract: model::ids::ContractId::new("CON.F.US.MNQ.Z25"),
            },
            reason: "4 contracts open, above the limit of 3".into(),
            dry_run: false,
        };
        let live = decision_record(&d);
        assert_eq!(live.rule, "max_contracts");
        assert_eq!(live.action, "close_position");
        assert_eq!(live.details["contractId"], "CON.F.US.MNQ.Z25");
        assert!(live.details.get("reason").is_none());
        let read_back = record_from_line(&d.to_json_line()).unwrap();
        assert_eq!(read_back, live);
        assert!(record_from_line(r#"{"t":"x"}"#).is_none());
    }
}
