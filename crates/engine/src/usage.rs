//! How close an account is to each enabled rule's limit, for status displays: "3 of 5 contracts",
//! "-320.00 of -500.00". Pure and read-only: it derives from the same state and config the rules use, so what
//! the trader sees is what the engine will act on.

use jiff::Timestamp;
use model::config::{FrequencyWindow, Rules, Scope, UnknownSymbolAction};
use model::decision::RuleId;
use model::symbol::Roots;
use rust_decimal::Decimal;

use crate::rules::money;
use crate::state::{AccountState, State};

/// What a usage counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Contracts,
    Usd,
    Trades,
    Positions,
}

impl Unit {
    pub fn name(self) -> &'static str {
        match self {
            Unit::Contracts => "contracts",
            Unit::Usd => "usd",
            Unit::Trades => "trades",
            Unit::Positions => "positions",
        }
    }
}

/// One rule's usage. For losses both numbers are negative ("-320 of -500"); `fraction` is how far along
/// the way to the limit the account is (0 to 1 and beyond; 0 when the limit is 0 and nothing is used, 1 when
/// anything is used against a limit of 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usage {
    pub rule: RuleId,
    pub used: Decimal,
    pub limit: Decimal,
    pub unit: Unit,
    pub fraction: Decimal,
    pub text: String,
}

fn fraction(used: Decimal, limit: Decimal) -> Decimal {
    if limit.is_zero() {
        return if used.is_zero() {
            Decimal::ZERO
        } else {
            Decimal::ONE
        };
    }
    (used / limit).max(Decimal::ZERO).round_dp(4)
}

fn usage(rule: RuleId, used: Decimal, limit: Decimal, unit: Unit, text: String) -> Usage {
    Usage {
        rule,
        used,
        limit,
        unit,
        fraction: fraction(used, limit),
        text,
    }
}

fn plural(n: i64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}

/// Every enabled rule's usage for `account` at `now` (rules in CONFIG.md order). An account the engine has
/// not seen yet uses nothing.
pub fn account_usage(
    state: &State,
    rules: &Rules,
    account: &AccountState,
    now: Timestamp,
) -> Vec<Usage> {
    let mut out = Vec::new();
    let roots = |c: &model::ids::ContractId| {
        state
            .contracts
            .get(c)
            .map_or_else(|| Roots::of(c, None), |m| m.roots.clone())
    };
    let open = || account.positions.iter().filter(|(_, p)| p.size != 0);

    if rules.max_contracts.enabled {
        let total = account.total_contracts();
        let limit = i64::from(rules.max_contracts.limit);
        out.push(usage(
            RuleId::MaxContracts,
            total.into(),
            limit.into(),
            Unit::Contracts,
            format!("{total} of {limit} contracts"),
        ));
    }

    let cfg = &rules.max_contracts_per_instrument;
    if cfg.enabled {
        // The instrument nearest its limit; configured roots with nothing open show as 0.
        let mut worst: Option<(Decimal, i64, i64, String)> = None;
        let mut consider = |key: String, total: i64, limit: i64| {
            let f = fraction(total.into(), limit.into());
            if worst.as_ref().is_none_or(|(wf, ..)| f > *wf) {
                worst = Some((f, total, limit, key));
            }
        };
        for (key, limit) in &cfg.limits {
            let total: i64 = open()
                .filter(|(c, _)| roots(c).matches(key))
                .map(|(_, p)| p.size.abs())
                .sum();
            consider(key.clone(), total, i64::from(*limit));
        }
        for (c, p) in open() {
            let r = roots(c);
            if cfg.limits.keys().any(|k| r.matches(k)) {
                continue;
            }
            let limit = match cfg.unknown_symbol_action {
                UnknownSymbolAction::AllowUnlimited => continue,
                UnknownSymbolAction::Block => 0,
                UnknownSymbolAction::AllowWithLimit(n) => i64::from(n),
            };
            consider(r.display().to_string(), p.size.abs(), limit);
        }
        if let Some((_, total, limit, key)) = worst {
            out.push(usage(
                RuleId::MaxContractsPerInstrument,
                total.into(),
                limit.into(),
                Unit::Contracts,
                format!("{key}: {total} of {limit} contracts"),
            ));
        }
    }

    let cfg = &rules.daily_realized_loss;
    if cfg.enabled {
        let mut pnl = account.realized();
        if cfg.include_unrealized {
            pnl += account.unrealized_total();
        }
        let limit = -cfg.loss_limit;
        out.push(Usage {
            rule: RuleId::DailyRealizedLoss,
            used: pnl,
            limit,
            unit: Unit::Usd,
            // Only a loss moves toward the limit.
            fraction: fraction(pnl.min(Decimal::ZERO), limit),
            text: format!("{} of {}", money(pnl), money(limit)),
        });
    }

    for (rule, cfg, sign) in [
        (
            RuleId::DailyUnrealizedLoss,
            &rules.daily_unrealized_loss,
            Decimal::NEGATIVE_ONE,
        ),
        (
            RuleId::MaxUnrealizedProfit,
            &rules.max_unrealized_profit,
            Decimal::ONE,
        ),
    ] {
        if !cfg.enabled {
            continue;
        }
        let limit = cfg.limit * sign;
        let (used, what) = match cfg.scope {
            Scope::Total => (account.unrealized_total(), "open P&L".to_string()),
            Scope::PerPosition => {
                // The position nearest the limit.
                let nearest = open()
                    .filter_map(|(c, p)| p.unrealized.map(|u| (c, u)))
                    .max_by_key(|(_, u)| *u * sign);
                match nearest {
                    Some((c, u)) => (u, format!("{} open P&L", roots(c).display())),
                    None => (Decimal::ZERO, "open P&L".to_string()),
                }
            }
        };
        let toward = if sign.is_sign_negative() {
            used.min(Decimal::ZERO)
        } else {
            used.max(Decimal::ZERO)
        };
        out.push(Usage {
            rule,
            used,
            limit,
            unit: Unit::Usd,
            fraction: fraction(toward, limit),
            text: format!("{what} {} of {}", money(used), money(limit)),
        });
    }

    let cfg = &rules.trade_frequency_limit;
    if cfg.enabled {
        let day_start = state.day_start.unwrap_or(Timestamp::MIN);
        let mut worst: Option<Usage> = None;
        for win in &cfg.windows {
            let count = crate::rules::trades::trades_in(account, win.window, now, day_start);
            let count = i64::try_from(count).unwrap_or(i64::MAX);
            let label = match win.window {
                FrequencyWindow::Minute => "in the last minute",
                FrequencyWindow::Hour => "in the last hour",
                FrequencyWindow::Session => "today",
            };
            let u = usage(
                RuleId::TradeFrequencyLimit,
                count.into(),
                win.limit.into(),
                Unit::Trades,
                format!("{count} of {} trades {label}", win.limit),
            );
            if worst.as_ref().is_none_or(|w| u.fraction > w.fraction) {
                worst = Some(u);
            }
        }
        out.extend(worst);
    }

    let cfg = &rules.cooldown_after_loss;
    if cfg.enabled
        && let Some(first) = cfg.tiers.iter().map(|t| t.loss).min()
    {
        // The worst closing trade today against the smallest loss that starts a cooldown.
        let worst = account
            .day
            .closing_orders
            .values()
            .map(|o| o.net)
            .min()
            .unwrap_or(Decimal::ZERO)
            .min(Decimal::ZERO);
        let limit = -first;
        out.push(usage(
            RuleId::CooldownAfterLoss,
            worst,
            limit,
            Unit::Usd,
            format!("worst trade today {} of {}", money(worst), money(limit)),
        ));
    }

    if rules.no_stop_loss_grace.enabled {
        let unprotected = open()
            .filter(|(c, p)| !account.has_closing_stop(c, p.size))
            .count();
        let n = i64::try_from(unprotected).unwrap_or(i64::MAX);
        out.push(usage(
            RuleId::NoStopLossGrace,
            n.into(),
            Decimal::ZERO,
            Unit::Positions,
            format!("{} without a stop", plural(n, "position", "positions")),
        ));
    }

    if rules.symbol_blocks.enabled {
        let blocked = open()
            .filter(|(c, _)| {
                let r = roots(c);
                rules
                    .symbol_blocks
                    .blocked_symbols
                    .iter()
                    .any(|s| r.matches(s))
            })
            .count();
        let n = i64::try_from(blocked).unwrap_or(i64::MAX);
        out.push(usage(
            RuleId::SymbolBlocks,
            n.into(),
            Decimal::ZERO,
            Unit::Positions,
            format!("{} in blocked symbols", plural(n, "position", "positions")),
        ));
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::Arc;

    use model::config::{DailyRealizedLoss, MaxContracts, RiskConfig};
    use model::event::{Event, Fill, PositionUpdate, Side};
    use model::ids::{AccountId, ContractId, OrderId, TradeId};
    use rust_decimal_macros::dec;

    use super::*;
    use crate::Engine;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn contracts_and_realized_loss_read_as_the_rules_count_them() {
        let mut config = RiskConfig::default();
        config.rules.max_contracts = MaxContracts {
            enabled: true,
            limit: 5,
            ..Default::default()
        };
        config.rules.daily_realized_loss = DailyRealizedLoss {
            enabled: true,
            loss_limit: dec!(500),
            ..Default::default()
        };
        let mut engine = Engine::new(Arc::new(config.clone()));
        let account = AccountId(7);
        let mnq = ContractId::new("CON.F.US.MNQ.Z25");
        let now = t("2026-03-02T15:00:00Z");
        engine.handle(
            &Event::Trade(Fill {
                account,
                trade: TradeId(1),
                order: OrderId(1),
                contract: mnq.clone(),
                price: dec!(21000),
                pnl: Some(dec!(-320)),
                fees: dec!(0),
                side: Side::Sell,
                size: 1,
                voided: false,
            }),
            now,
        );
        engine.handle(
            &Event::Position(PositionUpdate {
                account,
                contract: mnq,
                size: 3,
                average_price: dec!(21000),
            }),
            now,
        );
        let state = engine.state();
        let acct = state.accounts.get(&account).unwrap();
        let u = account_usage(state, &config.rules, acct, now);
        assert_eq!(u.len(), 2);
        assert_eq!(u[0].rule, RuleId::MaxContracts);
        assert_eq!(u[0].text, "3 of 5 contracts");
        assert_eq!(u[0].fraction, dec!(0.6));
        assert_eq!(u[1].rule, RuleId::DailyRealizedLoss);
        assert_eq!((u[1].used, u[1].limit), (dec!(-320), dec!(-500)));
        assert_eq!(u[1].fraction, dec!(0.64));
        assert!(
            u[1].text.contains("-320.00") && u[1].text.contains("-500.00"),
            "{}",
            u[1].text
        );
    }

    #[test]
    fn a_profit_is_no_way_toward_a_loss_limit_and_a_zero_limit_is_full_at_one() {
        assert_eq!(fraction(Decimal::ZERO, dec!(-500)), Decimal::ZERO);
        assert_eq!(fraction(dec!(1), Decimal::ZERO), Decimal::ONE);
        assert_eq!(fraction(dec!(-450), dec!(-500)), dec!(0.9));
    }
}
