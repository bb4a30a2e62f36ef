//! The daemon's main loop: one task owns the engine and reads its inputs through a `biased` select, serving
//! enforcement outcomes before market data, so a close is never stuck behind a quote flood.
//!
//! Per input: journal it, hand it to the engine, journal the decisions, hand them to the executor. Before a
//! contract's first event the loop fetches the contract's details; after every reconnect it reconciles from
//! REST; it keeps quote subscriptions in step with the open positions.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use engine::Engine;
use gateway::{Feed, Session};
use jiff::Timestamp;
use model::decision::Decision;
use model::event::{Event, OrderStatus, OrderUpdate, PositionUpdate};
use model::ids::{AccountId, ContractId};
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::control::{AdminQueued, Control, Published};
use crate::executor::{Executor, jobs};
use crate::journal::Journal;
use crate::metrics::Metrics;
use crate::setup::DaemonConfig;
use crate::view;

/// The view is published when the loop has no input waiting: at once after a change of anything but
/// quotes, at most this often for quotes alone ...
const QUOTE_PUBLISH_EVERY: Duration = Duration::from_millis(100);
/// ... and, when inputs never stop coming, at least this often.
const MAX_PUBLISH_DELAY: Duration = Duration::from_millis(250);

mod admin;

/// How long shutdown waits for enforcement in flight.
pub const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(4);

/// Optional observers, for the demo and the tests (and later the internal API).
#[derive(Debug, Default)]
pub struct Hooks {
    /// Every decision, as it is taken.
    pub decisions: Option<broadcast::Sender<Decision>>,
    /// Fired once, after the start-up reconciliation.
    pub ready: Option<oneshot::Sender<()>>,
    /// Receives a sender into the daemon's gateway feed, for tests that inject what a gateway could send
    /// (malformed payloads, odd enum values) without a gateway that sends it.
    pub feed_tap: Option<oneshot::Sender<mpsc::Sender<(Timestamp, Feed)>>>,
    /// Receives the count of malformed payloads skipped, each time it changes.
    pub malformed: Option<tokio::sync::watch::Sender<u64>>,
    /// Liveness probes for a service watchdog: the loop answers each one in its next turn, so an answer
    /// proves the loop is turning (not just that the process is alive).
    pub pulse: Option<mpsc::Receiver<oneshot::Sender<()>>>,
    /// For tests of that watchdog only: each duration received blocks the loop's thread that long, as a
    /// stuck loop would.
    pub stall: Option<mpsc::Receiver<Duration>>,
    /// Receives the internal API's bound address once it listens.
    pub api_addr: Option<oneshot::Sender<std::net::SocketAddr>>,
}

/// One hub of one login, as the status shows it.
#[derive(Debug, Clone)]
struct HubTrack {
    up: bool,
    since: Option<Timestamp>,
    reconnects: u64,
}

struct Loop {
    engine: Engine,
    journal: Arc<Journal>,
    executor: Executor,
    sessions: Vec<Arc<Session>>,
    session_of: HashMap<AccountId, usize>,
    /// Quote subscriptions per session.
    subscribed: Vec<BTreeSet<ContractId>>,
    hooks: Hooks,
    dry_run: bool,
    decisions: Vec<Decision>,
    /// Malformed gateway payloads skipped so far.
    malformed: u64,
    // What the internal API shows.
    metrics: Arc<Metrics>,
    published: Arc<Published>,
    view_tx: tokio::sync::watch::Sender<Arc<api::View>>,
    login_names: Vec<String>,
    /// The watched accounts, in id order.
    watched: Vec<AccountId>,
    hubs: Vec<[HubTrack; 2]>,
    started_at: Timestamp,
    last_event_at: Option<Timestamp>,
    /// Something besides quotes changed since the last published view.
    dirty: bool,
    /// Quotes changed the view since the last publication.
    quotes_dirty: bool,
    last_publish: tokio::time::Instant,
    risk_path: Option<std::path::PathBuf>,
    day_start_seen: Option<Timestamp>,
    /// Confirmed loosenings waiting out their cooling-off delay.
    pending: crate::pending::Pending,
    /// The text of risk_config.yaml the running config came from (as loaded at start, then as applied).
    risk_text: Option<String>,
}

/// Run the daemon until `shutdown` completes: stop inputs, drain or journal enforcement in flight, flush
/// the store, all under [`SHUTDOWN_DEADLINE`].
pub async fn run(
    config: DaemonConfig,
    shutdown: impl Future<Output = ()>,
    hooks: Hooks,
) -> anyhow::Result<()> {
    let store = Arc::new(store::Store::open(&config.data_dir)?);
    let journal = Arc::new(Journal::new(store.clone()));
    let (mut engine, refed) = journal.recover(config.risk.clone())?;
    engine.set_config(config.risk.clone());
    // A new process has nothing in flight: closes decided before the restart are decided again when
    // reconciliation shows their positions still open.
    engine.forget_in_flight();
    tracing::info!(refed, data_dir = %config.data_dir.display(), "state recovered from the journal");
    let retention = i64::from(config.risk.global.journal_retention_days.max(1));
    match store.prune_before(Timestamp::now() - jiff::SignedDuration::from_hours(24 * retention)) {
        Ok(0) => {}
        Ok(n) => tracing::info!(lines = n, days = retention, "old journal lines pruned"),
        Err(e) => tracing::warn!(error = %e, "cannot prune the journal"),
    }

    let (feed_tx, mut feed_rx) = mpsc::channel::<(Timestamp, Feed)>(16_384);
    let (outcome_tx, mut outcome_rx) = mpsc::channel(1_024);
    let mut sessions = Vec::new();
    let mut session_of = HashMap::new();
    for login in &config.logins {
        let session = Session::start(
            login.endpoints.clone(),
            login.credentials.clone(),
            login.accounts.clone(),
            feed_tx.clone(),
        )
        .await
        .map_err(|e| anyhow::anyhow!("login `{}`: {e}", login.name))?;
        for a in &login.accounts {
            session_of.insert(*a, sessions.len());
        }
        // Accounts this login can see but accounts.yaml does not list are ignored; say so once.
        if let Ok(visible) = session.accounts().await {
            for (id, name, _) in visible
                .iter()
                .filter(|(id, ..)| !login.accounts.contains(id))
            {
                tracing::info!(login = %login.name, account = %id, %name, "account not listed in accounts.yaml: not watched");
            }
        }
        sessions.push(Arc::new(session));
    }
    let subscribed = vec![BTreeSet::new(); sessions.len()];
    let dry_run = config.risk.global.dry_run;
    let mut watched: Vec<AccountId> = session_of.keys().copied().collect();
    watched.sort_unstable();
    let started_at = Timestamp::now();
    let published = Arc::new(Published::new(
        view::account_rules(&config.risk, &watched),
        view::holidays(&config.risk, started_at),
    ));
    // Today's decisions so far, for `/v1/decisions` after a restart.
    if let Some(day_start) = engine.state().day_start {
        match store.lines_between(day_start, Timestamp::MAX) {
            Ok(lines) => published.preload(
                lines
                    .iter()
                    .flat_map(|l| view::records_from_journal_line(l, &watched)),
            ),
            Err(e) => tracing::warn!(error = %e, "cannot read today's decisions from the journal"),
        }
    }
    let metrics = Arc::new(Metrics::default());
    let login_names: Vec<String> = config.logins.iter().map(|l| l.name.clone()).collect();
    let hubs = vec![
        [
            HubTrack {
                up: false,
                since: None,
                reconnects: 0
            },
            HubTrack {
                up: false,
                since: None,
                reconnects: 0
            },
        ];
        sessions.len()
    ];
    let (view_tx, view_rx) = tokio::sync::watch::channel(Arc::new(view::build(
        &engine,
        &watched,
        started_at,
        empty_status(started_at, dry_run),
    )));
    let (admin_tx, mut admin_rx) = mpsc::channel::<AdminQueued>(64);
    let control = Control {
        view: view_rx,
        published: published.clone(),
        admin: admin_tx,
        metrics: metrics.clone(),
        sessions: login_names
            .iter()
            .cloned()
            .zip(sessions.iter().cloned())
            .collect(),
        journal: journal.clone(),
    };
    let mut lp = Loop {
        engine,
        journal,
        executor: Executor::new(outcome_tx, feed_tx.clone()),
        sessions,
        session_of,
        subscribed,
        hooks,
        dry_run,
        decisions: Vec::new(),
        malformed: 0,
        metrics,
        published,
        view_tx,
        login_names,
        watched,
        hubs,
        started_at,
        last_event_at: None,
        dirty: true,
        quotes_dirty: false,
        last_publish: tokio::time::Instant::now(),
        risk_path: config.risk_path.clone(),
        day_start_seen: None,
        pending: crate::pending::Pending::load(&store),
        risk_text: config.risk_text.clone(),
    };
    for i in 0..lp.sessions.len() {
        lp.reconcile(i).await;
    }
    lp.publish();
    let server = if config.api_listen.is_empty() {
        None
    } else {
        let listen = config
            .api_listen
            .parse()
            .map_err(|e| anyhow::anyhow!("api listen address `{}`: {e}", config.api_listen))?;
        // Enforcement never depends on the API: if it cannot listen, the daemon says so and enforces anyway
        // (status clients then report it unreachable).
        match api::start(
            api::ServerConfig {
                listen,
                data_dir: config.data_dir.clone(),
            },
            Arc::new(control),
        )
        .await
        {
            Ok(server) => {
                tracing::info!(addr = %server.local_addr, "internal API listening");
                if let Some(tx) = lp.hooks.api_addr.take() {
                    let _ = tx.send(server.local_addr);
                }
                Some(server)
            }
            Err(e) => {
                tracing::error!(error = %e, "the internal API cannot start: enforcing without it");
                None
            }
        }
    };
    if let Some(tap) = lp.hooks.feed_tap.take() {
        let _ = tap.send(feed_tx.clone());
    }
    if let Some(ready) = lp.hooks.ready.take() {
        let _ = ready.send(());
    }
    tracing::info!(
        accounts = lp.session_of.len(),
        dry_run,
        "riskguard is enforcing"
    );

    let mut pulse = lp.hooks.pulse.take();
    let mut stall = lp.hooks.stall.take();
    tokio::pin!(shutdown);
    let quotes_due = tokio::time::sleep_until(lp.last_publish + QUOTE_PUBLISH_EVERY);
    tokio::pin!(quotes_due);
    loop {
        let due = match (lp.engine.next_due(), lp.pending.next_due()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let sleep = async {
            match due {
                Some(t) => {
                    // An overdue timer fires at once (a negative wait is no wait).
                    let wait = t.duration_since(Timestamp::now());
                    if wait.is_positive() {
                        tokio::time::sleep(wait.unsigned_abs()).await;
                    }
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            biased;
            () = &mut shutdown => break,
            Some((t, outcome)) = outcome_rx.recv() => {
                if !outcome.ok {
                    tracing::warn!(account = %outcome.account, target = ?outcome.target, detail = %outcome.detail, "enforcement call failed");
                }
                lp.handle(Event::Outcome(outcome), t).await;
            }
            Some((request, reply)) = admin_rx.recv() => {
                let answer = lp.admin(request).await;
                let _ = reply.send(answer);
            }
            Some((t, feed)) = feed_rx.recv() => lp.feed(t, feed).await,
            Some(probe) = recv_opt(&mut pulse) => {
                let _ = probe.send(());
            }
            Some(d) = recv_opt(&mut stall) => {
                tracing::warn!(?d, "stalling the event loop on a test's request");
                std::thread::sleep(d);
            }
            () = sleep => {
                let now = lp.stamp(Timestamp::now());
                // A `clock` line, so that a replay of the journal fires the same timers.
                lp.journal.clock(now);
                let mut out = std::mem::take(&mut lp.decisions);
                out.clear();
                lp.engine.advance(now, &mut out);
                lp.act(&mut out);
                lp.decisions = out;
                lp.apply_due(now).await;
            }
            () = &mut quotes_due, if lp.quotes_dirty || lp.dirty => {
                if lp.last_publish.elapsed() >= MAX_PUBLISH_DELAY {
                    // A call in flight has held the view back long enough.
                    lp.publish();
                    quotes_due.as_mut().reset(lp.last_publish + QUOTE_PUBLISH_EVERY);
                } else {
                    // Quotes moved prices: publish when idle, or by MAX_PUBLISH_DELAY at the latest.
                    lp.dirty = true;
                    quotes_due.as_mut().reset(lp.last_publish + MAX_PUBLISH_DELAY);
                }
            }
            // Last, so only when no input waits and no enforcement call is in flight: building the view
            // never delays an input or shares the cores with a close.
            () = std::future::ready(()), if lp.dirty && lp.executor.is_idle() => {
                lp.publish();
                quotes_due.as_mut().reset(lp.last_publish + QUOTE_PUBLISH_EVERY);
            }
        }
        lp.executor.reap();
        lp.journal.maybe_snapshot(&lp.engine, false);
        // Under a flood the loop is never idle: publish anyway once the view is this stale.
        if (lp.dirty || lp.quotes_dirty) && lp.last_publish.elapsed() >= MAX_PUBLISH_DELAY {
            lp.publish();
            quotes_due
                .as_mut()
                .reset(lp.last_publish + QUOTE_PUBLISH_EVERY);
        }
    }
    if let Some(server) = server {
        server.shutdown().await;
    }

    // Shutdown: no new inputs; enforcement in flight finishes or is abandoned (it is journaled already).
    drop(feed_rx);
    let abandoned = lp.executor.drain(SHUTDOWN_DEADLINE).await;
    if abandoned > 0 {
        tracing::warn!(
            abandoned,
            "shutdown deadline: calls in flight abandoned; the journal has their decisions"
        );
    }
    while let Ok((t, outcome)) = outcome_rx.try_recv() {
        lp.journal.outcome(t, &outcome);
        let mut out = Vec::new();
        lp.engine.handle_into(&Event::Outcome(outcome), t, &mut out);
    }
    lp.journal.maybe_snapshot(&lp.engine, true);
    store.flush()?;
    for s in lp.sessions.drain(..) {
        if let Ok(s) = Arc::try_unwrap(s) {
            s.shutdown().await;
        }
    }
    tracing::info!("riskguard stopped cleanly");
    Ok(())
}

impl Loop {
    /// Build the view and hand it to the API (every stream client sees it in the same turn).
    fn publish(&mut self) {
        let now = Timestamp::now();
        self.track_hubs(now);
        if let Some(day_start) = self.engine.state().day_start
            && self.day_start_seen != Some(day_start)
        {
            self.day_start_seen = Some(day_start);
            self.published.trim_before(day_start);
        }
        let status = self.status(now);
        let mut v = view::build(&self.engine, &self.watched, now, status);
        v.pending = self.pending.list();
        self.view_tx.send_replace(Arc::new(v));
        self.dirty = false;
        self.quotes_dirty = false;
        self.last_publish = tokio::time::Instant::now();
    }

    fn status(&self, now: Timestamp) -> api::Status {
        let mut s = empty_status(self.started_at, self.dry_run);
        s.uptime_secs = now.duration_since(self.started_at).as_secs();
        s.hubs = self
            .hubs
            .iter()
            .enumerate()
            .flat_map(|(i, pair)| {
                let login = self.login_names.get(i).cloned().unwrap_or_default();
                pair.iter()
                    .zip(["user", "market"])
                    .map(move |(h, name)| api::HubState {
                        login: login.clone(),
                        hub: name.into(),
                        up: h.up,
                        since: h.since,
                        reconnects: h.reconnects,
                    })
            })
            .collect();
        s.enforcement_online = !s.hubs.is_empty() && s.hubs.iter().all(|h| h.up);
        s.last_event_at = self.last_event_at;
        s.last_event_age_ms = self.last_event_at.map(|t| {
            now.duration_since(t)
                .as_millis()
                .try_into()
                .unwrap_or(i64::MAX)
        });
        s.journal_degraded = self.journal.is_degraded();
        s.malformed_payloads = self.malformed;
        s.rest_errors = self.sessions.iter().map(|x| x.rest_errors()).sum();
        s
    }

    /// Read each session's hub states; count a reconnect when a hub comes back up.
    fn track_hubs(&mut self, t: Timestamp) {
        for (i, session) in self.sessions.iter().enumerate() {
            for (j, (_, up)) in session.hubs_up().into_iter().enumerate() {
                let h = &mut self.hubs[i][j];
                if h.up != up {
                    if up && h.since.is_some() {
                        h.reconnects += 1;
                        self.metrics
                            .hub_reconnects
                            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    h.up = up;
                    h.since = Some(t);
                    self.dirty = true;
                }
            }
        }
    }

    async fn feed(&mut self, t: Timestamp, feed: Feed) {
        match feed {
            Feed::Event(e) => self.handle(e, t).await,
            Feed::Malformed { what, error } => {
                self.malformed += 1;
                self.metrics
                    .malformed
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                self.dirty = true;
                if let Some(tx) = &self.hooks.malformed {
                    let _ = tx.send(self.malformed);
                }
                tracing::warn!(
                    what,
                    error,
                    count = self.malformed,
                    "malformed gateway payload skipped"
                );
            }
            Feed::Connection(state) => {
                tracing::info!(?state, "gateway connection");
                self.track_hubs(t);
            }
            Feed::Resynced => {
                for i in 0..self.sessions.len() {
                    self.reconcile(i).await;
                }
            }
        }
    }

    /// The instant an input counts at: when it arrived, but never before the previous input, so the journal
    /// (and a replay of it) sees time only move forward even when tasks stamped events out of order.
    fn stamp(&self, t: Timestamp) -> Timestamp {
        self.engine.state().now.map_or(t, |last| last.max(t))
    }

    /// Journal, decide, act: one input.
    async fn handle(&mut self, event: Event, t: Timestamp) {
        let t = self.stamp(t);
        self.metrics.event(event_kind(&event));
        if !matches!(event, Event::Outcome(_) | Event::Admin(_)) {
            self.last_event_at = Some(t);
        }
        if matches!(event, Event::Quote(_)) {
            self.quotes_dirty = true;
        } else {
            self.dirty = true;
        }
        if let Some(contract) = contract_of(&event) {
            self.ensure_contract(&event, contract, t).await;
        }
        // Quotes of contracts nobody holds cannot change a decision: they are not journaled (CONFIG.md §6).
        let journal = match &event {
            Event::Quote(q) => self.engine.state().holders.contains_key(&q.contract),
            _ => true,
        };
        if journal {
            if matches!(event, Event::Quote(_)) {
                self.journal.quote(t, &event);
            } else {
                self.journal.input(t, &event);
            }
        }
        let mut out = std::mem::take(&mut self.decisions);
        out.clear();
        self.engine.handle_into(&event, t, &mut out);
        self.act(&mut out);
        self.decisions = out;
        if !matches!(event, Event::Quote(_)) {
            self.sync_quotes().await;
        }
    }

    /// Journal the decisions, then hand them to the executor (unless dry-run).
    fn act(&mut self, decisions: &mut Vec<Decision>) {
        if decisions.is_empty() {
            return;
        }
        self.journal.decisions(decisions);
        self.dirty = true;
        // The calls first; telling people about them can wait a few microseconds.
        for d in decisions.iter() {
            if self.dry_run || d.dry_run {
                continue;
            }
            let Some(&i) = self.session_of.get(&d.account) else {
                continue;
            };
            for job in jobs(d, self.engine.state()) {
                self.executor.run(
                    self.sessions[i].clone(),
                    job,
                    Some(self.metrics.clone()),
                    d.t,
                );
            }
        }
        for d in decisions.iter() {
            self.metrics.decision(d.rule.to_string(), d.action.name());
            self.published.decision(view::decision_record(d));
            tracing::info!(account = %d.account, rule = %d.rule, action = d.action.name(), reason = %d.reason, dry_run = d.dry_run, "decision");
            if let Some(tx) = &self.hooks.decisions {
                let _ = tx.send(d.clone());
            }
        }
        decisions.clear();
    }

    /// Fetch a contract's details before its first event reaches the engine.
    async fn ensure_contract(&mut self, event: &Event, contract: ContractId, t: Timestamp) {
        if self
            .engine
            .state()
            .contracts
            .get(&contract)
            .is_some_and(|m| m.known)
        {
            return;
        }
        let Some(&i) = event
            .account()
            .and_then(|a| self.session_of.get(&a))
            .or(self.session_of.values().next())
        else {
            return;
        };
        match self.sessions[i].contract(&contract).await {
            Ok(info) => {
                let e = Event::Contract(info);
                self.journal.input(t, &e);
                let mut out = Vec::new();
                self.engine.handle_into(&e, t, &mut out);
                self.act(&mut out);
            }
            Err(err) => {
                tracing::warn!(%contract, error = %err, "no contract details: open-P&L rules skip it")
            }
        }
    }

    /// Subscribe quotes of contracts with an open position; unsubscribe when flat.
    async fn sync_quotes(&mut self) {
        let mut wanted: Vec<BTreeSet<ContractId>> = vec![BTreeSet::new(); self.sessions.len()];
        for (id, acct) in &self.engine.state().accounts {
            let Some(&i) = self.session_of.get(id) else {
                continue;
            };
            wanted[i].extend(
                acct.positions
                    .iter()
                    .filter(|(_, p)| p.size != 0)
                    .map(|(c, _)| c.clone()),
            );
        }
        for (i, want) in wanted.into_iter().enumerate() {
            let have = &self.subscribed[i];
            for c in want.difference(have) {
                if let Err(e) = self.sessions[i].subscribe_quotes(c).await {
                    tracing::warn!(contract = %c, error = %e, "cannot subscribe quotes");
                }
            }
            for c in have.difference(&want) {
                if let Err(e) = self.sessions[i].unsubscribe_quotes(c).await {
                    tracing::warn!(contract = %c, error = %e, "cannot unsubscribe quotes");
                }
            }
            self.subscribed[i] = want;
        }
    }

    /// Read the truth from REST for every account of session `i` and feed it to the engine: positions (and
    /// flat ones the engine still thinks open), working orders (and gone ones it still thinks working),
    /// canTrade, and the trading day's fills.
    async fn reconcile(&mut self, i: usize) {
        let accounts: Vec<AccountId> = self
            .session_of
            .iter()
            .filter(|(_, s)| **s == i)
            .map(|(a, _)| *a)
            .collect();
        let day_start = self.engine.state().day_start.unwrap_or_else(|| {
            let g = &self.engine.config().global;
            engine::trading_day_start(&g.timezone, g.reset_time, Timestamp::now())
        });
        for account in accounts {
            let r = match self.sessions[i].reconcile(account, day_start).await {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!(%account, error = %e, "reconciliation failed: keeping the current view");
                    continue;
                }
            };
            let t = Timestamp::now();
            let known = self.engine.state().accounts.get(&account);
            // Each position the engine holds, and whether the gateway confirmed closing it.
            let open_before: BTreeMap<ContractId, bool> = known
                .map(|a| {
                    a.positions
                        .iter()
                        .map(|(c, p)| (c.clone(), p.flat_at_gateway))
                        .collect()
                })
                .unwrap_or_default();
            let orders_before: Vec<(model::ids::OrderId, engine::state::Order)> = known
                .map(|a| a.orders.iter().map(|(o, ord)| (*o, ord.clone())).collect())
                .unwrap_or_default();
            // First the positions the gateway no longer has (so that rules re-evaluated by the fills do not
            // close positions already flat), then the day's fills, then the open positions (after the fills
            // that made them: the gateway's own order), then working orders and canTrade. A position whose
            // close the gateway confirmed went flat then, whatever the gap hid since: it is fed flat too, so
            // that one the gateway shows now is judged as the new position it is.
            let mut events: Vec<Event> = Vec::new();
            for (c, closed) in open_before {
                if closed || !r.positions.iter().any(|p| p.contract == c) {
                    events.push(Event::Position(PositionUpdate {
                        account,
                        contract: c,
                        size: 0,
                        average_price: rust_decimal::Decimal::ZERO,
                    }));
                }
            }
            events.extend(r.trades.into_iter().map(Event::Trade));
            events.extend(r.positions.into_iter().map(Event::Position));
            for (order, o) in orders_before {
                if !r.orders.iter().any(|x| x.order == order) {
                    events.push(Event::Order(OrderUpdate {
                        account,
                        order,
                        contract: o.contract.clone(),
                        status: OrderStatus::Cancelled,
                        order_type: o.order_type,
                        side: o.side,
                        size: o.size,
                        limit_price: None,
                        stop_price: o.stop_price,
                        custom_tag: None,
                    }));
                }
            }
            events.extend(r.orders.into_iter().map(Event::Order));
            events.extend(r.account.into_iter().map(Event::Account));
            for e in events {
                Box::pin(self.handle(e, t)).await;
            }
        }
    }
}

/// Receive from an optional channel; a missing channel never yields.
async fn recv_opt<T>(rx: &mut Option<mpsc::Receiver<T>>) -> Option<T> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

fn empty_status(started_at: Timestamp, dry_run: bool) -> api::Status {
    api::Status {
        version: env!("CARGO_PKG_VERSION").into(),
        started_at,
        uptime_secs: 0,
        dry_run,
        hubs: Vec::new(),
        last_event_at: None,
        last_event_age_ms: None,
        enforcement_online: false,
        journal_degraded: false,
        malformed_payloads: 0,
        rest_errors: 0,
    }
}

fn event_kind(event: &Event) -> &'static str {
    match event {
        Event::Quote(_) => "quote",
        Event::Position(_) => "position",
        Event::Order(_) => "order",
        Event::Trade(_) => "trade",
        Event::Account(_) => "account",
        Event::Contract(_) => "contract",
        Event::Outcome(_) => "outcome",
        Event::Admin(_) => "admin",
    }
}

fn contract_of(event: &Event) -> Option<ContractId> {
    match event {
        Event::Position(p) => Some(p.contract.clone()),
        Event::Order(o) => Some(o.contract.clone()),
        Event::Trade(f) => Some(f.contract.clone()),
        _ => None,
    }
}
