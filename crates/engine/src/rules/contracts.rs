//! Contract caps and symbol blocks: `max_contracts` (RULE-001), `max_contracts_per_instrument` (RULE-002)
//! and `symbol_blocks` (RULE-011). Count limits are strict: a breach is `count > limit`.

use model::config::{MaxContractsAction, PerInstrumentAction, UnknownSymbolAction};
use model::decision::{Action, RuleId};
use model::event::OrderUpdate;
use model::ids::ContractId;

use super::World;
use crate::intent::Intents;
use crate::state::AccountState;

pub(crate) fn max_contracts(w: &World<'_>, acct: &AccountState, intents: &mut Intents) {
    let cfg = &w.rules.max_contracts;
    if !cfg.enabled {
        return;
    }
    let limit = i64::from(cfg.limit);
    // Positions already being closed are on their way out: do not close a second one for them.
    let live: Vec<(&ContractId, i64, u64)> = acct
        .positions
        .iter()
        .filter(|(_, p)| p.size != 0 && p.close_decided.is_none())
        .map(|(c, p)| (c, p.size.abs(), p.changed_seq))
        .collect();
    let total: i64 = live.iter().map(|(_, s, _)| s).sum();
    if total <= limit {
        return;
    }
    let reason = format!("{total} contracts open, above the limit of {limit}");
    match cfg.action {
        MaxContractsAction::CloseAll => intents.act(
            acct.id,
            RuleId::MaxContracts,
            Action::CloseAllPositions,
            reason,
        ),
        MaxContractsAction::ReduceToLimit => {
            let mut order = live;
            // Largest first; ties: most recently changed first.
            order.sort_by(|a, b| b.1.cmp(&a.1).then(b.2.cmp(&a.2)));
            let mut remaining = total;
            for (c, size, _) in order {
                if remaining <= limit {
                    break;
                }
                remaining -= size;
                let why = format!("{reason}: closing {size} in {c}");
                intents.act(
                    acct.id,
                    RuleId::MaxContracts,
                    Action::ClosePosition {
                        contract: c.clone(),
                    },
                    why,
                );
            }
        }
    }
}

pub(crate) fn per_instrument(
    w: &World<'_>,
    acct: &AccountState,
    intents: &mut Intents,
    c: &ContractId,
) {
    let cfg = &w.rules.max_contracts_per_instrument;
    if !cfg.enabled {
        return;
    }
    let Some(pos) = acct.positions.get(c).filter(|p| p.size != 0) else {
        return;
    };
    let roots = w.roots(c);
    let configured = cfg.limits.iter().find(|(k, _)| roots.matches(k));
    let (key, limit) = match configured {
        Some((k, l)) => (k.clone(), i64::from(*l)),
        None => match cfg.unknown_symbol_action {
            UnknownSymbolAction::AllowUnlimited => return,
            UnknownSymbolAction::Block => (roots.display().to_string(), 0),
            UnknownSymbolAction::AllowWithLimit(n) => (roots.display().to_string(), i64::from(n)),
        },
    };
    // Every contract with this root counts together (a roll holds two expiries).
    let total: i64 = acct
        .positions
        .iter()
        .filter(|(other, _)| {
            let r = w.roots(other);
            if configured.is_some() {
                r.matches(&key)
            } else {
                r.product == roots.product
            }
        })
        .map(|(_, p)| p.size.abs())
        .sum();
    if total <= limit {
        return;
    }
    let excess = total - limit;
    let size = pos.size.abs();
    let reason = format!("{key}: {total} contracts, above the limit of {limit}");
    let action = match cfg.action {
        PerInstrumentAction::ReduceToLimit if excess < size => Action::PartialClose {
            contract: c.clone(),
            size: excess,
        },
        _ => Action::ClosePosition {
            contract: c.clone(),
        },
    };
    intents.act(acct.id, RuleId::MaxContractsPerInstrument, action, reason);
}

fn blocked(w: &World<'_>, c: &ContractId) -> Option<String> {
    let cfg = &w.rules.symbol_blocks;
    if !cfg.enabled {
        return None;
    }
    let roots = w.roots(c);
    cfg.blocked_symbols
        .iter()
        .find(|s| roots.matches(s))
        .cloned()
}

pub(crate) fn symbol_blocks(
    w: &World<'_>,
    acct: &AccountState,
    intents: &mut Intents,
    c: &ContractId,
) {
    if acct.positions.get(c).is_none_or(|p| p.size == 0) {
        return;
    }
    let Some(symbol) = blocked(w, c) else { return };
    let reason = format!("{symbol} is a blocked symbol");
    intents.act(
        acct.id,
        RuleId::SymbolBlocks,
        Action::ClosePosition {
            contract: c.clone(),
        },
        reason.clone(),
    );
    for (id, o) in &acct.orders {
        if &o.contract == c {
            intents.act(
                acct.id,
                RuleId::SymbolBlocks,
                Action::CancelOrder { order: *id },
                reason.clone(),
            );
        }
    }
}

pub(crate) fn blocked_order(
    w: &World<'_>,
    acct: &AccountState,
    intents: &mut Intents,
    ev: &OrderUpdate,
) {
    if !acct.orders.contains_key(&ev.order) {
        return;
    }
    let Some(symbol) = blocked(w, &ev.contract) else {
        return;
    };
    let reason = format!("{symbol} is a blocked symbol: order cancelled");
    intents.act(
        acct.id,
        RuleId::SymbolBlocks,
        Action::CancelOrder { order: ev.order },
        reason,
    );
}
