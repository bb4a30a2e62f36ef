//! Event routing and state updates: each event first updates the state, then every rule routed to it is
//! evaluated (CONFIG.md §4). Rules only push intents; `merge` turns them into decisions.
//!
//! Routing (the union of RULES.md §1, plus the gate):
//! position → gate, 001, 002, 003 (with unrealized), 004, 005, 008, 009, 011, 012;
//! order → gate, 008, 011, 012; trade → 003, 006, 007; account → 010; quote → 003 (with unrealized), 004,
//! 005, 012.

pub(crate) mod contracts;
pub(crate) mod gate;
pub(crate) mod management;
pub(crate) mod pnl;
pub(crate) mod session;
pub(crate) mod stops;
pub(crate) mod trades;

use jiff::Timestamp;
use model::config::{RiskConfig, Rules};
use model::decision::{Action, AlertLevel, RuleId};
use model::event::{
    AccountUpdate, AdminCommand, Event, Fill, OrderStatus, OrderUpdate, Outcome, PositionUpdate,
    Quote, Target,
};
use model::ids::{AccountId, ContractId};
use model::symbol::Roots;
use rust_decimal::Decimal;
use rustc_hash::FxHashMap;

use crate::intent::Intents;
use crate::state::{AccountState, ContractMeta, Order, Position, QuoteState, State};

/// What every rule may read about the world besides its account.
pub(crate) struct World<'a> {
    pub now: Timestamp,
    pub config: &'a RiskConfig,
    pub rules: &'a Rules,
    pub contracts: &'a FxHashMap<ContractId, ContractMeta>,
    pub quotes: &'a FxHashMap<ContractId, QuoteState>,
    pub next_reset: Option<Timestamp>,
    pub day_start: Option<Timestamp>,
}

impl World<'_> {
    pub fn roots(&self, c: &ContractId) -> Roots {
        self.contracts
            .get(c)
            .map_or_else(|| Roots::of(c, None), |m| m.roots.clone())
    }

    pub fn last(&self, c: &ContractId) -> Option<Decimal> {
        self.quotes.get(c).and_then(|q| q.last)
    }
}

pub(crate) fn route(
    config: &RiskConfig,
    state: &mut State,
    intents: &mut Intents,
    event: &Event,
    now: Timestamp,
) {
    match event {
        Event::Contract(info) => {
            let meta = ContractMeta {
                roots: Roots::of(&info.id, Some(&info.name)),
                tick_size: info.tick_size,
                tick_value: info.tick_value,
                point_value: if info.tick_size.is_zero() {
                    Decimal::ZERO
                } else {
                    info.tick_value / info.tick_size
                },
                known: true,
            };
            state.contracts.insert(info.id.clone(), meta);
            refresh_unrealized(state, &info.id);
        }
        Event::Quote(q) => on_quote(config, state, intents, q, now),
        Event::Position(p) => {
            on_position(config, state, intents, p, now);
            // Nobody holds the contract any more: its quotes stop (the daemon unsubscribes), so its last
            // price goes stale. Forget it: a new position waits for a fresh quote instead of being judged on
            // an old one (never breach on missing or stale data).
            if p.size == 0 && !state.holders.contains_key(&p.contract) {
                state.quotes.remove(&p.contract);
            }
        }
        Event::Order(o) => on_order(config, state, intents, o, now),
        Event::Trade(f) => on_trade(config, state, intents, f, now),
        Event::Account(a) => on_account(config, state, intents, a),
        Event::Admin(cmd) => on_admin(state, intents, cmd),
        Event::Outcome(o) => on_outcome(state, o),
    }
}

fn world<'a>(
    config: &'a RiskConfig,
    rules: &'a Rules,
    s: &'a SplitState<'a>,
    now: Timestamp,
) -> World<'a> {
    World {
        now,
        config,
        rules,
        contracts: s.contracts,
        quotes: s.quotes,
        next_reset: s.next_reset,
        day_start: s.day_start,
    }
}

/// The read-only parts of the state, borrowed apart from the mutable account.
struct SplitState<'a> {
    contracts: &'a FxHashMap<ContractId, ContractMeta>,
    quotes: &'a FxHashMap<ContractId, QuoteState>,
    next_reset: Option<Timestamp>,
    day_start: Option<Timestamp>,
}

fn split(
    state: &mut State,
    account: AccountId,
) -> (
    SplitState<'_>,
    &mut AccountState,
    &mut FxHashMap<ContractId, Vec<AccountId>>,
) {
    let acct = state
        .accounts
        .entry(account)
        .or_insert_with(|| AccountState::new(account));
    (
        SplitState {
            contracts: &state.contracts,
            quotes: &state.quotes,
            next_reset: state.next_reset,
            day_start: state.day_start,
        },
        acct,
        &mut state.holders,
    )
}

fn unrealized(meta: Option<&ContractMeta>, last: Option<Decimal>, p: &Position) -> Option<Decimal> {
    let meta = meta.filter(|m| m.known)?;
    let last = last?;
    Some((last - p.average_price) * Decimal::from(p.size) * meta.point_value)
}

fn refresh_unrealized(state: &mut State, contract: &ContractId) {
    let Some(holders) = state.holders.get(contract) else {
        return;
    };
    let meta = state.contracts.get(contract);
    let last = state.quotes.get(contract).and_then(|q| q.last);
    for id in holders {
        if let Some(p) = state
            .accounts
            .get_mut(id)
            .and_then(|a| a.positions.get_mut(contract))
        {
            p.unrealized = unrealized(meta, last, p);
        }
    }
}

fn on_quote(
    config: &RiskConfig,
    state: &mut State,
    intents: &mut Intents,
    q: &Quote,
    now: Timestamp,
) {
    // Quotes for contracts seen before are the hot path: no allocation, no id clone.
    let entry = match state.quotes.get_mut(&q.contract) {
        Some(e) => e,
        None => state.quotes.entry(q.contract.clone()).or_default(),
    };
    let moved = q.last.is_some_and(|l| entry.last != Some(l));
    if let Some(l) = q.last {
        entry.last = Some(l);
    }
    if q.bid.is_some() {
        entry.bid = q.bid;
    }
    if q.ask.is_some() {
        entry.ask = q.ask;
    }
    if !moved {
        return;
    }
    let Some(holders) = state.holders.get(&q.contract) else {
        return;
    };
    let s = SplitState {
        contracts: &state.contracts,
        quotes: &state.quotes,
        next_reset: state.next_reset,
        day_start: state.day_start,
    };
    for id in holders {
        let Some(acct) = state.accounts.get_mut(id) else {
            continue;
        };
        let rules = config.rules_for(*id);
        let w = world(config, rules, &s, now);
        let Some(p) = acct.positions.get_mut(&q.contract) else {
            continue;
        };
        p.unrealized = unrealized(s.contracts.get(&q.contract), w.last(&q.contract), p);
        pnl::on_price(&w, acct, intents, &q.contract);
        management::on_price(&w, acct, intents, &q.contract);
    }
}

fn on_position(
    config: &RiskConfig,
    state: &mut State,
    intents: &mut Intents,
    ev: &PositionUpdate,
    now: Timestamp,
) {
    state.seq += 1;
    let seq = state.seq;
    if !state.contracts.contains_key(&ev.contract) {
        let roots = Roots::of(&ev.contract, None);
        let meta = ContractMeta {
            roots,
            tick_size: Decimal::ZERO,
            tick_value: Decimal::ZERO,
            point_value: Decimal::ZERO,
            known: false,
        };
        state.contracts.insert(ev.contract.clone(), meta);
    }
    let rules = config.rules_for(ev.account);
    let (s, acct, holders) = split(state, ev.account);
    let w = world(config, rules, &s, now);
    // Closed at the gateway and its closing fill not seen yet: this event was sent before the close.
    if let Some(p) = acct.positions.get_mut(&ev.contract)
        && p.flat_at_gateway
        && !p.expect_flat
        && ev.size != 0
    {
        p.size = ev.size;
        p.average_price = ev.average_price;
        p.closing_fills = 0;
        return;
    }
    // A position the gateway has flattened, its closing fill seen, is gone: the next event is a new position.
    let prev = acct
        .positions
        .get(&ev.contract)
        .filter(|p| !p.flat_at_gateway)
        .map_or(0, |p| p.size);
    let new = ev.size;
    let c = &ev.contract;

    if new == 0 {
        acct.positions.remove(c);
        if let Some(h) = holders.get_mut(c) {
            h.retain(|a| *a != ev.account);
            if h.is_empty() {
                holders.remove(c);
            }
        }
    } else {
        let reversed = prev != 0 && prev.signum() != new.signum();
        if prev == 0 || reversed {
            acct.positions
                .insert(c.clone(), Position::new(new, ev.average_price, now, seq));
            let h = holders.entry(c.clone()).or_default();
            if !h.contains(&ev.account) {
                h.push(ev.account);
            }
        } else if let Some(p) = acct.positions.get_mut(c) {
            if p.size != new {
                p.changed_seq = seq;
            }
            p.size = new;
            p.average_price = ev.average_price;
            p.expect_flat = false;
            p.closing_fills = 0;
            // Once per target: the position is still there, unchanged or grown, so the close may be decided again.
            if p.close_decided.is_some_and(|d| new.abs() >= d) {
                p.close_decided = None;
            }
            p.partial_decided = false;
        }
        if let Some(p) = acct.positions.get_mut(c) {
            p.unrealized = unrealized(s.contracts.get(c), w.last(c), p);
        }
    }

    // A close decided before a restart and never confirmed: the position is still there, so close it again.
    if let Some(p) = acct.positions.get_mut(c)
        && let Some(rule) = p.reclose.take()
        && !(new == 0 || prev == 0 || prev.signum() != new.signum())
    {
        let reason = format!(
            "a close decided before the restart did not complete: {} is still open",
            c
        );
        intents.act(
            acct.id,
            rule,
            Action::ClosePosition {
                contract: c.clone(),
            },
            reason,
        );
    }
    let opened = new != 0 && (prev == 0 || prev.signum() != new.signum());
    let grew = opened || (new != 0 && new.abs() > prev.abs());
    gate::on_position(&w, acct, intents, c, grew);
    contracts::max_contracts(&w, acct, intents);
    contracts::per_instrument(&w, acct, intents, c);
    pnl::on_price(&w, acct, intents, c);
    stops::on_position(&w, acct, intents, c, opened);
    session::on_position(&w, acct, intents, c, grew);
    contracts::symbol_blocks(&w, acct, intents, c);
    management::on_position(&w, acct, intents, c, new);
    unknown_contract_alert(&w, acct, intents, c);
}

/// The engine met a contract without metadata: P&L rules skip it; say so once.
fn unknown_contract_alert(
    w: &World<'_>,
    acct: &mut AccountState,
    intents: &mut Intents,
    c: &ContractId,
) {
    if w.contracts.get(c).is_some_and(|m| m.known)
        || acct.unknown_alerted.contains(c)
        || !acct.positions.contains_key(c)
    {
        return;
    }
    let r = w.rules;
    let rule = if r.daily_unrealized_loss.enabled {
        RuleId::DailyUnrealizedLoss
    } else if r.max_unrealized_profit.enabled {
        RuleId::MaxUnrealizedProfit
    } else if r.daily_realized_loss.enabled && r.daily_realized_loss.include_unrealized {
        RuleId::DailyRealizedLoss
    } else if r.trade_management.enabled {
        RuleId::TradeManagement
    } else {
        return;
    };
    acct.unknown_alerted.insert(c.clone());
    let reason = format!("no contract details for {c}: open P&L rules skip it");
    intents.act(
        acct.id,
        rule,
        Action::Alert {
            level: AlertLevel::Warning,
        },
        reason,
    );
}

fn on_order(
    config: &RiskConfig,
    state: &mut State,
    intents: &mut Intents,
    ev: &OrderUpdate,
    now: Timestamp,
) {
    let rules = config.rules_for(ev.account);
    let (s, acct, _) = split(state, ev.account);
    let w = world(config, rules, &s, now);
    if ev.status.is_working() {
        let order = Order {
            contract: ev.contract.clone(),
            status: ev.status,
            order_type: ev.order_type,
            side: ev.side,
            size: ev.size,
            stop_price: ev.stop_price,
            own: ev.is_own(),
            cancel_decided: false,
        };
        acct.orders.insert(ev.order, order);
    } else {
        acct.orders.remove(&ev.order);
    }
    gate::on_order(&w, acct, intents, ev);
    stops::on_order(&w, acct, &ev.contract);
    contracts::blocked_order(&w, acct, intents, ev);
    let stop_gone = ev.order_type.is_stop()
        && matches!(
            ev.status,
            OrderStatus::Cancelled | OrderStatus::Expired | OrderStatus::Rejected
        );
    management::on_order(&w, acct, intents, &ev.contract, stop_gone);
}

fn on_trade(
    config: &RiskConfig,
    state: &mut State,
    intents: &mut Intents,
    f: &Fill,
    now: Timestamp,
) {
    let rules = config.rules_for(f.account);
    let (s, acct, _) = split(state, f.account);
    let w = world(config, rules, &s, now);
    let Some(kind) = trades::record(&w, acct, f) else {
        return;
    };
    // The gateway sends fills before the position event they cause: closing fills of the whole position
    // mean it is going flat, and a close decided now would only be refused.
    if kind == trades::FillKind::Closing
        && let Some(p) = acct.positions.get_mut(&f.contract)
        && f.side == model::event::Side::reducing(p.size)
    {
        p.closing_fills += f.size;
        if p.closing_fills == p.size.abs() {
            p.expect_flat = true;
        }
    }
    pnl::on_trade(&w, acct, intents);
    match kind {
        trades::FillKind::NewOpeningOrder => trades::frequency(&w, acct, intents),
        trades::FillKind::Closing => trades::cooldown_after_loss(&w, acct, intents, f),
        trades::FillKind::Other => {}
    }
}

fn on_account(config: &RiskConfig, state: &mut State, intents: &mut Intents, ev: &AccountUpdate) {
    let rules = config.rules_for(ev.account);
    let (_, acct, _) = split(state, ev.account);
    let Some(can_trade) = ev.can_trade else {
        return;
    };
    acct.can_trade = Some(can_trade);
    if !rules.auth_loss_guard.enabled {
        return;
    }
    let id = acct.id;
    if can_trade {
        if acct.locks.remove(&RuleId::AuthLossGuard).is_some() {
            intents.act(
                id,
                RuleId::AuthLossGuard,
                Action::Unlock,
                "the gateway set canTrade true again".into(),
            );
        }
    } else {
        let reason = "the gateway set canTrade false".to_string();
        if rules.auth_loss_guard.flatten {
            intents.act(
                id,
                RuleId::AuthLossGuard,
                Action::CloseAllPositions,
                reason.clone(),
            );
            intents.act(
                id,
                RuleId::AuthLossGuard,
                Action::CancelAllOrders,
                reason.clone(),
            );
        }
        intents.lock(
            id,
            RuleId::AuthLossGuard,
            crate::state::LockKind::CanTrade,
            None,
            reason,
        );
    }
}

fn on_admin(state: &mut State, intents: &mut Intents, cmd: &AdminCommand) {
    let next_reset = state.next_reset;
    let acct = state
        .accounts
        .entry(cmd.account())
        .or_insert_with(|| AccountState::new(cmd.account()));
    match cmd {
        AdminCommand::ClearLock {
            account,
            rule,
            reason,
        } => {
            if acct.locks.remove(rule).is_some() {
                intents.act(
                    *account,
                    *rule,
                    Action::Unlock,
                    format!("cleared by admin: {reason}"),
                );
            } else {
                let why =
                    format!("admin asked to clear a {rule} lock, but there is none ({reason})");
                intents.act(
                    *account,
                    RuleId::Admin,
                    Action::Alert {
                        level: AlertLevel::Info,
                    },
                    why,
                );
            }
        }
        AdminCommand::Flatten { account, reason } => {
            let why = format!("flatten by admin: {reason}");
            intents.act(
                *account,
                RuleId::Admin,
                Action::CloseAllPositions,
                why.clone(),
            );
            intents.act(*account, RuleId::Admin, Action::CancelAllOrders, why);
        }
        AdminCommand::SelfLock { account, reason } => {
            let why = format!("done for today: {reason}");
            intents.lock(
                *account,
                RuleId::SelfLock,
                crate::state::LockKind::DailyReset,
                next_reset,
                why,
            );
        }
    }
}

/// A failed enforcement call re-arms its target so that the engine may decide it again.
fn on_outcome(state: &mut State, o: &Outcome) {
    let Some(acct) = state.accounts.get_mut(&o.account) else {
        return;
    };
    if o.ok {
        if let (true, Target::Position { contract }) = (o.closed, &o.target)
            && let Some(p) = acct.positions.get_mut(contract)
        {
            p.flat_at_gateway = true;
        }
        return;
    }
    match &o.target {
        Target::Position { contract } => {
            if let Some(p) = acct.positions.get_mut(contract) {
                p.close_decided = None;
                p.partial_decided = false;
            }
        }
        Target::Order { order } => {
            if let Some(ord) = acct.orders.get_mut(order) {
                ord.cancel_decided = false;
            }
        }
    }
}

/// Money as traders read it: two decimals.
pub(crate) fn money(d: Decimal) -> String {
    format!("{:.2}", d)
}
