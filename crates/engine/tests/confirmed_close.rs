//! A close the gateway confirmed (`Outcome.closed`) while hub events sent before it are still on their way.
//!
//! The REST answer to `closeContract` can overtake the hub's events, and the daemon's loop takes outcomes
//! before the feed. A position event sent before the close (the trader's own partial exit, say) must then not
//! be taken for a new position on a locked account: one breach, one close. Once the close's own fill has
//! arrived, the next position event is a new position and is judged as one, flat event or not.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{MNQ, engine, fill, position, t};
use engine::Engine;
use model::decision::{Action, Decision, RuleId};
use model::event::{AdminCommand, Event, Outcome, Side, Target};
use model::ids::{AccountId, ContractId};

/// An engine whose account 1 has locked itself for the day.
fn locked() -> Engine {
    let mut e = engine("rules: { max_contracts: { enabled: true, limit: 5 } }");
    e.handle(&common::contract(), t("15:00:00"));
    let lock = e.handle(
        &Event::Admin(AdminCommand::SelfLock {
            account: AccountId(1),
            reason: "done".into(),
        }),
        t("15:00:00"),
    );
    assert!(
        lock.iter()
            .any(|d| matches!(d.action, Action::Lockout { .. })),
        "{lock:?}"
    );
    e
}

fn closed_at_gateway() -> Event {
    Event::Outcome(Outcome {
        account: AccountId(1),
        target: Target::Position {
            contract: ContractId::new(MNQ),
        },
        ok: true,
        detail: "sent".into(),
        closed: true,
    })
}

fn gate_closes(d: &[Decision]) -> usize {
    d.iter()
        .filter(|d| {
            d.rule == RuleId::LockoutGuard && matches!(d.action, Action::ClosePosition { .. })
        })
        .count()
}

/// A position of 3 opened on the locked account: the gate closes it, and the gateway confirms the close.
fn opened_and_closed(e: &mut Engine) {
    assert_eq!(gate_closes(&e.handle(&position(3), t("15:01:00"))), 1);
    assert!(e.handle(&closed_at_gateway(), t("15:01:00")).is_empty());
}

#[test]
fn a_position_event_sent_before_the_close_is_not_a_new_position() {
    let mut e = locked();
    opened_and_closed(&mut e);
    // The trader's partial exit, sent before the close, arrives after its confirmation.
    let stale = e.handle(&position(2), t("15:01:00"));
    assert!(stale.is_empty(), "one breach, one close: {stale:?}");
    // The close's own fill and the flat event.
    assert!(
        e.handle(&fill(10, Side::Sell, 2, Some(-5)), t("15:01:00"))
            .iter()
            .all(|d| !d.action.is_destructive())
    );
    assert!(e.handle(&position(0), t("15:01:00")).is_empty());
    // A genuinely new position on the locked account is still closed.
    assert_eq!(gate_closes(&e.handle(&position(1), t("15:02:00"))), 1);
}

#[test]
fn after_the_closing_fill_the_next_event_is_a_new_position_even_without_a_flat_event() {
    let mut e = locked();
    opened_and_closed(&mut e);
    e.handle(&fill(10, Side::Sell, 3, Some(-5)), t("15:01:00"));
    // No size-0 event (GATEWAY.md §7.4 does not promise one): the trader opens 1 again.
    e.handle(&fill(11, Side::Buy, 1, None), t("15:02:00"));
    assert_eq!(gate_closes(&e.handle(&position(1), t("15:02:00"))), 1);
}

#[test]
fn a_stale_event_showing_the_position_grown_closes_nothing_and_the_close_fill_still_ends_the_wait()
{
    let mut e = locked();
    opened_and_closed(&mut e);
    // The trader added one lot before the close; the gateway closed all 4.
    assert!(e.handle(&position(4), t("15:01:00")).is_empty());
    // The close filled in two parts.
    e.handle(&fill(10, Side::Sell, 1, Some(-1)), t("15:01:00"));
    e.handle(&fill(11, Side::Sell, 3, Some(-3)), t("15:01:00"));
    assert_eq!(gate_closes(&e.handle(&position(2), t("15:02:00"))), 1);
}

#[test]
fn without_a_confirmed_close_a_smaller_position_is_the_close_progressing() {
    let mut e = locked();
    assert_eq!(gate_closes(&e.handle(&position(3), t("15:01:00"))), 1);
    // The close is in flight: the partial exit neither re-decides it nor counts as a new position.
    assert!(e.handle(&position(2), t("15:01:00")).is_empty());
    // The close failed: the position still there is closed again.
    e.handle(
        &Event::Outcome(Outcome {
            account: AccountId(1),
            target: Target::Position {
                contract: ContractId::new(MNQ),
            },
            ok: false,
            detail: "rejected".into(),
            closed: false,
        }),
        t("15:01:01"),
    );
    assert_eq!(gate_closes(&e.handle(&position(2), t("15:01:02"))), 1);
}

#[test]
fn reconciliation_ends_the_wait_when_a_gap_hid_the_closing_fill() {
    let mut e = locked();
    opened_and_closed(&mut e);
    // The hubs dropped: the close's fill and the flat event were lost, and the trader opened 2 again.
    // Reconciliation feeds the confirmed-closed position flat, then the gateway's truth.
    assert!(e.handle(&position(0), t("15:03:00")).is_empty());
    assert_eq!(gate_closes(&e.handle(&position(2), t("15:03:00"))), 1);
}
