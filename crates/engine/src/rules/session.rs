//! `session_block_outside` (RULE-009): trading only inside the allowed windows.
//!
//! A contract follows the window of its root, or `default`; with neither, it is not restricted. A position
//! that opens or grows outside its window (or on a holiday) is closed, its orders cancelled, and, with
//! `lockout_outside_session`, that window's roots are locked until it opens again. Merely being outside a
//! window decides nothing. At a window's end the positions in its roots are closed when configured.

use jiff::Timestamp;
use model::config::{RiskConfig, SessionBlockOutside};
use model::decision::{Action, RuleId};
use model::ids::ContractId;
use model::symbol::Roots;
use rustc_hash::FxHashMap;

use super::World;
use crate::calendar;
use crate::intent::Intents;
use crate::state::{AccountState, ContractMeta};

/// The window key a contract follows: its root's own window, else `default`, else none.
pub(crate) fn window_key(cfg: &SessionBlockOutside, roots: &Roots) -> Option<String> {
    cfg.sessions
        .keys()
        .find(|k| k.as_str() != "default" && roots.matches(k))
        .or_else(|| cfg.sessions.keys().find(|k| k.as_str() == "default"))
        .cloned()
}

pub(crate) fn on_position(
    w: &World<'_>,
    acct: &mut AccountState,
    intents: &mut Intents,
    c: &ContractId,
    grew: bool,
) {
    let cfg = &w.rules.session_block_outside;
    if !cfg.enabled {
        return;
    }
    let roots = w.roots(c);
    let Some(key) = window_key(cfg, &roots) else {
        return;
    };
    let Some(window) = cfg.sessions.get(&key) else {
        return;
    };
    let Some(p) = acct.positions.get_mut(c) else {
        return;
    };
    match calendar::containing(cfg, window, w.now) {
        Some(occ) => p.session_close = Some((occ.close, key)),
        None => {
            p.session_close = None;
            // Merely being outside a window decides nothing; opening or growing there does, and so does a
            // position still there after such a close was decided (lost in a crash, or failed).
            let again = p.session_breach && p.close_decided.is_none();
            if !grew && !again {
                return;
            }
            p.session_breach = true;
            let local = cfg.timezone.to_datetime(w.now);
            let holiday = cfg.respect_holidays && cfg.holidays.contains(&local.date());
            let why = if holiday {
                "on a holiday"
            } else {
                "outside its session"
            };
            let reason = format!(
                "{} position opened {why} ({key} {}–{} {}, now {})",
                roots.display(),
                window.start.strftime("%H:%M"),
                window.end.strftime("%H:%M"),
                cfg.timezone_name,
                local.strftime("%a %H:%M"),
            );
            enforce(
                acct,
                intents,
                cfg,
                &key,
                std::slice::from_ref(c),
                true,
                w.now,
                reason,
            );
        }
    }
}

/// The window `key` ended at `t` while positions in `contracts` were open.
pub(crate) fn window_end(
    config: &RiskConfig,
    _contracts: &FxHashMap<ContractId, ContractMeta>,
    acct: &mut AccountState,
    intents: &mut Intents,
    key: &str,
    contracts: &[ContractId],
    t: Timestamp,
) {
    let cfg = &config.rules_for(acct.id).session_block_outside;
    if !cfg.enabled {
        return;
    }
    let open: Vec<ContractId> = contracts
        .iter()
        .filter(|c| acct.positions.contains_key(*c))
        .cloned()
        .collect();
    if open.is_empty() {
        return;
    }
    let local = cfg.timezone.to_datetime(t);
    let reason = format!(
        "the {key} session ended at {} {}",
        local.strftime("%H:%M"),
        cfg.timezone_name
    );
    enforce(
        acct,
        intents,
        cfg,
        key,
        &open,
        cfg.close_positions_at_session_end,
        t,
        reason,
    );
}

#[allow(clippy::too_many_arguments)]
fn enforce(
    acct: &AccountState,
    intents: &mut Intents,
    cfg: &SessionBlockOutside,
    key: &str,
    contracts: &[ContractId],
    close: bool,
    now: Timestamp,
    reason: String,
) {
    if close {
        for c in contracts {
            intents.act(
                acct.id,
                RuleId::SessionBlockOutside,
                Action::ClosePosition {
                    contract: c.clone(),
                },
                reason.clone(),
            );
            for (id, o) in &acct.orders {
                if &o.contract == c {
                    intents.act(
                        acct.id,
                        RuleId::SessionBlockOutside,
                        Action::CancelOrder { order: *id },
                        reason.clone(),
                    );
                }
            }
        }
    }
    if cfg.lockout_outside_session {
        let until = cfg
            .sessions
            .get(key)
            .and_then(|w| calendar::next_open(cfg, w, now));
        intents.session_lock(acct.id, until, key.to_string(), reason);
    }
}
