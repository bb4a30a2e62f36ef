//! What a process restart forgets (`Engine::forget_in_flight`): calls in flight and stale prices.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{contract, engine, position, quote, t};
use model::decision::{Action, RuleId};

#[test]
fn a_restart_forgets_prices_so_a_position_waits_for_a_fresh_quote() {
    let mut e = engine("rules: { daily_unrealized_loss: { enabled: true, loss_limit: 300.00 } }");
    e.handle(&contract(), t("15:00:00"));
    e.handle(&position(1), t("15:00:00"));
    // -$200: inside the limit.
    assert!(e.handle(&quote(20900), t("15:00:01")).is_empty());
    e.forget_in_flight();
    // Hours later the position is reconciled at 2 lots: judged on the old 20900 it would read -$400.
    let decisions = e.handle(&position(2), t("18:00:00"));
    assert!(
        decisions.iter().all(|d| !d.action.is_destructive()),
        "{decisions:?}"
    );
    // A fresh quote decides.
    let decisions = e.handle(&quote(20840), t("18:00:01"));
    assert!(
        decisions
            .iter()
            .any(|d| d.rule == RuleId::DailyUnrealizedLoss
                && matches!(d.action, Action::ClosePosition { .. })),
        "{decisions:?}"
    );
}

#[test]
fn a_close_decided_before_a_restart_is_decided_again_when_the_position_shows_up_smaller() {
    let mut e = engine("rules: { max_contracts: { enabled: true, limit: 1, action: close_all } }");
    e.handle(&contract(), t("15:00:00"));
    let first = e.handle(&position(3), t("15:00:00"));
    assert!(
        first.iter().any(|d| d.action == Action::CloseAllPositions),
        "{first:?}"
    );
    // Before the restart, a smaller position reads as "the close is progressing": nothing new.
    let mut again = e.handle(&position(2), t("15:00:01"));
    assert!(again.is_empty(), "{again:?}");
    e.forget_in_flight();
    // After it, nothing is in flight any more: the position still there is closed again, by the same rule.
    again = e.handle(&position(1), t("15:00:30"));
    assert!(
        again
            .iter()
            .any(|d| d.rule == RuleId::MaxContracts
                && matches!(d.action, Action::ClosePosition { .. })),
        "{again:?}"
    );
}
