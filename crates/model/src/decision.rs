//! Decisions: what the engine wants done, as data with the reason and the numbers behind it.
//!
//! A decision is written as one JSON line in the REPLAY.md output format by [`Decision::to_json_line`]; the
//! same text goes to the daemon's journal.

use std::fmt::Write as _;

use jiff::Timestamp;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::event::Side;
use crate::ids::{AccountId, ContractId, OrderId};

/// A rule, in CONFIG.md order. The order of the variants is the order decisions of one instant are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleId {
    /// The daily reset; it comes before everything else that happens at its instant.
    Reset,
    /// The locked-account gate.
    LockoutGuard,
    MaxContracts,
    MaxContractsPerInstrument,
    DailyRealizedLoss,
    DailyUnrealizedLoss,
    MaxUnrealizedProfit,
    TradeFrequencyLimit,
    CooldownAfterLoss,
    NoStopLossGrace,
    SessionBlockOutside,
    AuthLossGuard,
    SymbolBlocks,
    TradeManagement,
    Admin,
    /// The trader's own "done for today" lock (until the next reset).
    SelfLock,
}

impl RuleId {
    pub const ALL: [RuleId; 16] = [
        RuleId::Reset,
        RuleId::LockoutGuard,
        RuleId::MaxContracts,
        RuleId::MaxContractsPerInstrument,
        RuleId::DailyRealizedLoss,
        RuleId::DailyUnrealizedLoss,
        RuleId::MaxUnrealizedProfit,
        RuleId::TradeFrequencyLimit,
        RuleId::CooldownAfterLoss,
        RuleId::NoStopLossGrace,
        RuleId::SessionBlockOutside,
        RuleId::AuthLossGuard,
        RuleId::SymbolBlocks,
        RuleId::TradeManagement,
        RuleId::Admin,
        RuleId::SelfLock,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RuleId::Reset => "reset",
            RuleId::LockoutGuard => "lockout_guard",
            RuleId::MaxContracts => "max_contracts",
            RuleId::MaxContractsPerInstrument => "max_contracts_per_instrument",
            RuleId::DailyRealizedLoss => "daily_realized_loss",
            RuleId::DailyUnrealizedLoss => "daily_unrealized_loss",
            RuleId::MaxUnrealizedProfit => "max_unrealized_profit",
            RuleId::TradeFrequencyLimit => "trade_frequency_limit",
            RuleId::CooldownAfterLoss => "cooldown_after_loss",
            RuleId::NoStopLossGrace => "no_stop_loss_grace",
            RuleId::SessionBlockOutside => "session_block_outside",
            RuleId::AuthLossGuard => "auth_loss_guard",
            RuleId::SymbolBlocks => "symbol_blocks",
            RuleId::TradeManagement => "trade_management",
            RuleId::Admin => "admin",
            RuleId::SelfLock => "self_lock",
        }
    }

    pub fn parse(s: &str) -> Option<RuleId> {
        RuleId::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl std::fmt::Display for RuleId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertLevel {
    Info,
    Warning,
}

/// What to do. The names and fields are those of REPLAY.md's output table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    ClosePosition {
        contract: ContractId,
    },
    PartialClose {
        contract: ContractId,
        size: i64,
    },
    CloseAllPositions,
    CancelOrder {
        order: OrderId,
    },
    CancelAllOrders,
    /// `until: None` means until cleared (permanent, or until canTrade returns).
    Lockout {
        until: Option<Timestamp>,
    },
    Cooldown {
        until: Timestamp,
    },
    Unlock,
    PlaceStop {
        contract: ContractId,
        side: Side,
        size: i64,
        stop_price: Decimal,
    },
    ModifyStop {
        order: OrderId,
        stop_price: Decimal,
    },
    Alert {
        level: AlertLevel,
    },
    Reset,
}

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Action::ClosePosition { .. } => "close_position",
            Action::PartialClose { .. } => "partial_close",
            Action::CloseAllPositions => "close_all_positions",
            Action::CancelOrder { .. } => "cancel_order",
            Action::CancelAllOrders => "cancel_all_orders",
            Action::Lockout { .. } => "lockout",
            Action::Cooldown { .. } => "cooldown",
            Action::Unlock => "unlock",
            Action::PlaceStop { .. } => "place_stop",
            Action::ModifyStop { .. } => "modify_stop",
            Action::Alert { .. } => "alert",
            Action::Reset => "reset",
        }
    }

    /// Closes, cancels and locks: the actions that take something away from the trader.
    pub fn is_destructive(&self) -> bool {
        matches!(
            self,
            Action::ClosePosition { .. }
                | Action::PartialClose { .. }
                | Action::CloseAllPositions
                | Action::CancelOrder { .. }
                | Action::CancelAllOrders
                | Action::Lockout { .. }
                | Action::Cooldown { .. }
        )
    }
}

/// One decision of the engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub t: Timestamp,
    pub account: AccountId,
    pub rule: RuleId,
    pub action: Action,
    pub reason: String,
    pub dry_run: bool,
}

/// RFC 3339 in UTC, as REPLAY.md writes instants.
pub fn fmt_instant(t: Timestamp) -> String {
    t.to_string()
}

impl Decision {
    /// The decision as one line of REPLAY.md's output format (no trailing newline).
    pub fn to_json_line(&self) -> String {
        let mut s = String::with_capacity(160);
        let _ = write!(
            s,
            r#"{{"t":"{}","account":{},"rule":"{}","action":"{}""#,
            self.t,
            self.account,
            self.rule,
            self.action.name()
        );
        match &self.action {
            Action::ClosePosition { contract } => {
                push_str_field(&mut s, "contractId", contract.as_str())
            }
            Action::PartialClose { contract, size } => {
                push_str_field(&mut s, "contractId", contract.as_str());
                let _ = write!(s, r#","size":{size}"#);
            }
            Action::CancelOrder { order } => {
                let _ = write!(s, r#","orderId":{order}"#);
            }
            Action::Lockout { until } => match until {
                Some(u) => push_str_field(&mut s, "until", &u.to_string()),
                None => s.push_str(r#","until":null"#),
            },
            Action::Cooldown { until } => push_str_field(&mut s, "until", &until.to_string()),
            Action::PlaceStop {
                contract,
                side,
                size,
                stop_price,
            } => {
                push_str_field(&mut s, "contractId", contract.as_str());
                let _ = write!(
                    s,
                    r#","side":{},"size":{size},"stopPrice":{}"#,
                    side.wire(),
                    stop_price.normalize()
                );
            }
            Action::ModifyStop { order, stop_price } => {
                let _ = write!(
                    s,
                    r#","orderId":{order},"stopPrice":{}"#,
                    stop_price.normalize()
                );
            }
            Action::Alert { level } => {
                let level = match level {
                    AlertLevel::Info => "info",
                    AlertLevel::Warning => "warning",
                };
                push_str_field(&mut s, "level", level);
            }
            Action::CloseAllPositions
            | Action::CancelAllOrders
            | Action::Unlock
            | Action::Reset => {}
        }
        push_str_field(&mut s, "reason", &self.reason);
        if self.dry_run {
            s.push_str(r#","dry_run":true"#);
        }
        s.push('}');
        s
    }
}

fn push_str_field(s: &mut String, key: &str, value: &str) {
    let _ = write!(s, r#","{key}":"#);
    // serde_json escapes exactly as JSON requires; writing a &str cannot fail.
    s.push_str(&serde_json::to_string(value).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_line_matches_replay_format() {
        let d = Decision {
            t: "2026-03-02T15:04:05Z".parse().unwrap_or_default(),
            account: AccountId(123),
            rule: RuleId::DailyRealizedLoss,
            action: Action::Lockout {
                until: "2026-03-02T23:00:00Z".parse().ok(),
            },
            reason: "day P&L -550.00 reached the -500.00 limit".into(),
            dry_run: false,
        };
        assert_eq!(
            d.to_json_line(),
            r#"{"t":"2026-03-02T15:04:05Z","account":123,"rule":"daily_realized_loss","action":"lockout","until":"2026-03-02T23:00:00Z","reason":"day P&L -550.00 reached the -500.00 limit"}"#
        );
        let parsed: serde_json::Value = serde_json::from_str(&d.to_json_line()).unwrap_or_default();
        assert_eq!(parsed["account"], 123);
    }

    #[test]
    fn rule_names_round_trip() {
        for r in RuleId::ALL {
            assert_eq!(RuleId::parse(r.as_str()), Some(r));
        }
    }
}
