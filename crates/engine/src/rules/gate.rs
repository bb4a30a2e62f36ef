//! The locked-account gate (`lockout_guard`): while a lock is active, new exposure is closed or cancelled.
//!
//! A position that opens, grows or reverses is closed; a working order that would open or add exposure is
//! cancelled. Orders that only reduce an open position (protective stops and targets), Suspended bracket legs
//! and the daemon's own tagged orders are left alone. Session locks cover only their windows' roots.

use model::config::RiskConfig;
use model::decision::{Action, RuleId};
use model::event::{OrderStatus, OrderUpdate, Side};
use model::ids::ContractId;
use model::symbol::Roots;
use rustc_hash::FxHashMap;

use super::World;
use super::session::window_key;
use crate::intent::Intents;
use crate::state::{AccountState, ContractMeta, Lock, Order};

/// The active lock, if any, that covers a contract with these roots.
fn covering<'a>(
    config: &RiskConfig,
    acct: &'a AccountState,
    roots: &Roots,
) -> Option<(RuleId, &'a Lock)> {
    let sessions = &config.rules_for(acct.id).session_block_outside;
    acct.locks
        .iter()
        .find(|(_, l)| {
            l.windows.is_empty()
                || window_key(sessions, roots).is_some_and(|k| l.windows.contains(&k))
        })
        .map(|(r, l)| (*r, l))
}

fn adds_exposure(acct: &AccountState, o: &Order) -> bool {
    if o.own || !matches!(o.status, OrderStatus::Open | OrderStatus::Pending) {
        return false;
    }
    let pos = acct.positions.get(&o.contract).map_or(0, |p| p.size);
    if pos == 0 {
        return true;
    }
    match o.side {
        Side::Unknown(_) => true,
        side if side == Side::reducing(pos) => o.size > pos.abs(),
        _ => true,
    }
}

fn reason(rule: RuleId, lock: &Lock, what: &str) -> String {
    format!("account locked by {rule} ({}): {what}", lock.reason)
}

/// A position that opened or grew while locked is closed. If that close was decided but the position is
/// still there on a later event (the close was lost in a crash or failed), it is decided again.
pub(crate) fn on_position(
    w: &World<'_>,
    acct: &mut AccountState,
    intents: &mut Intents,
    c: &ContractId,
    grew: bool,
) {
    let again = acct
        .positions
        .get(c)
        .is_some_and(|p| p.gated && p.close_decided.is_none());
    if !(grew || again) {
        return;
    }
    let roots = w.roots(c);
    let Some((rule, lock)) = covering(w.config, acct, &roots) else {
        return;
    };
    let why = reason(
        rule,
        lock,
        &format!("new exposure in {} closed", roots.display()),
    );
    intents.act(
        acct.id,
        RuleId::LockoutGuard,
        Action::ClosePosition {
            contract: c.clone(),
        },
        why,
    );
    if let Some(p) = acct.positions.get_mut(c) {
        p.gated = true;
    }
}

pub(crate) fn on_order(
    w: &World<'_>,
    acct: &AccountState,
    intents: &mut Intents,
    ev: &OrderUpdate,
) {
    let Some(order) = acct.orders.get(&ev.order) else {
        return;
    };
    if !adds_exposure(acct, order) {
        return;
    }
    let roots = w.roots(&ev.contract);
    if let Some((rule, lock)) = covering(w.config, acct, &roots) {
        let why = reason(
            rule,
            lock,
            &format!(
                "order {} would add exposure in {}",
                ev.order,
                roots.display()
            ),
        );
        intents.act(
            acct.id,
            RuleId::LockoutGuard,
            Action::CancelOrder { order: ev.order },
            why,
        );
    }
}

/// When a lock begins: the working orders that would add exposure under it.
pub(crate) fn sweep_orders(
    config: &RiskConfig,
    contracts: &FxHashMap<ContractId, ContractMeta>,
    acct: &AccountState,
    out: &mut Vec<(Action, String)>,
) {
    for (id, o) in &acct.orders {
        if o.cancel_decided || !adds_exposure(acct, o) {
            continue;
        }
        let roots = contracts
            .get(&o.contract)
            .map_or_else(|| Roots::of(&o.contract, None), |m| m.roots.clone());
        if let Some((rule, lock)) = covering(config, acct, &roots) {
            let why = reason(
                rule,
                lock,
                &format!("order {id} would add exposure in {}", roots.display()),
            );
            out.push((Action::CancelOrder { order: *id }, why));
        }
    }
}
