//! One login: its own token, its own two hub connections, its subscriptions, and the REST calls the daemon
//! makes through it.
//!
//! Tasks per session: one pump per hub (reads projectx-client's event stream in order, subscribes after every
//! (re)connect, normalises payloads, pushes the feed), one token keeper (`Auth/validate` every
//! `validate_every`, full re-login when it fails, then a controlled reconnect), and a short-lived supervisor
//! per lost hub (if the hub stays down, check the token — a revoked token makes projectx-client's own
//! reconnect loop fail forever — and connect again).
//!
//! Invariants: a money-moving call is sent at most once (a pre-send "not logged in" is fixed by logging in and
//! then sending it for the first time); a failed read is an `Err`, never an empty list; every reconnect or
//! transport gap ends, once the hub is subscribed again, with `Feed::Resynced`; no secret reaches a log line or
//! an error.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use jiff::Timestamp;
use model::event::{ContractInfo, Event, Fill, OrderStatus, OrderUpdate, PositionUpdate, Side};
use model::ids::{AccountId, ContractId, OrderId};
use projectx_client as px;
use rust_decimal::Decimal;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, warn};

use crate::config::{Credentials, Endpoints, SessionOptions};
use crate::convert;
use crate::error::{GatewayError, clean_untrusted, redact};
use crate::feed::{
    CallOutcome, ConnectionState, Feed, HubKind, HubStatus, NOT_SENT, Reconciled, RestStats,
    UNAUTHORIZED,
};
use crate::pacer::{CallClass, Pacer};
use crate::payload::{self, Target};

/// The daemon's end of a session's feed: items stamped with their arrival instant.
pub type FeedSender = mpsc::Sender<(Timestamp, Feed)>;

const HUBS: [HubKind; 2] = [HubKind::User, HubKind::Market];
/// `working_orders` has no trading-day start: it searches this far back for Suspended bracket legs.
const WORKING_ORDERS_LOOKBACK_HOURS: i64 = 24;
/// How long a read, a login or a stop update waits for the rate budget before it gives up.
const ADMISSION_WAIT: Duration = Duration::from_secs(30);
/// How long a close or a cancel waits for the rate budget (it may use the reserve) before it is refused.
const EXIT_ADMISSION_WAIT: Duration = Duration::from_secs(2);
/// Attempts of a read that fails with a 429, a 5xx or a transport error (reads are safe to repeat).
const READ_ATTEMPTS: u32 = 4;
/// The wait before the second attempt of a read after a 5xx or a transport error; doubles after that.
const READ_RETRY_FIRST: Duration = Duration::from_millis(200);

/// One login at the gateway. Dropping it stops its tasks; [`Session::shutdown`] also closes the hubs cleanly.
pub struct Session {
    inner: Arc<Inner>,
    tasks: Vec<JoinHandle<()>>,
}

struct Inner {
    client: px::Client,
    user: px::RealtimeClient,
    market: px::RealtimeClient,
    endpoints: Endpoints,
    accounts: Vec<AccountId>,
    px_accounts: Vec<px::AccountId>,
    options: SessionOptions,
    feed: FeedSender,
    cancel: CancellationToken,
    /// Current quote subscriptions, replayed after every market-hub reconnect.
    quotes: Mutex<BTreeSet<String>>,
    /// Contract cache: info and symbol id (to key a quote that came without its contract id).
    contracts: Mutex<HashMap<ContractId, (ContractInfo, String)>>,
    stats: Mutex<RestStats>,
    /// The session's REST budget (see [`crate::pacer`]); projectx-client's own limiter is off.
    pacer: Pacer,
    /// Serialises re-logins; holds the login generation.
    login: tokio::sync::Mutex<u64>,
    login_gen: AtomicU64,
    up: [watch::Sender<bool>; 2],
    supervising: [AtomicBool; 2],
    /// Scrubbed from every message we build (belt and braces: projectx-client never prints them).
    secrets: [SecretString; 2],
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn idx(hub: HubKind) -> usize {
    match hub {
        HubKind::User => 0,
        HubKind::Market => 1,
    }
}

fn px_account(account: AccountId) -> Option<px::AccountId> {
    i32::try_from(account.0)
        .ok()
        .and_then(|v| px::AccountId::new(v).ok())
}

fn px_contract(contract: &ContractId) -> Option<px::ContractId> {
    px::ContractId::new(contract.as_str()).ok()
}

fn px_time(t: Timestamp) -> Result<px::Timestamp, GatewayError> {
    px::Timestamp::new(&t.to_string())
        .map_err(|_| GatewayError::Config(format!("timestamp {t} is not usable")))
}

fn listed<T>(
    endpoint: &'static str,
    field: &'static str,
    list: px::ProviderList<T>,
) -> Result<Vec<T>, GatewayError> {
    list.into_listed()
        .ok_or(GatewayError::Absent { endpoint, field })
}

fn normalised<A, B>(
    endpoint: &'static str,
    rows: &[A],
    f: impl Fn(&A) -> Result<B, model::normalize::PayloadError>,
) -> Result<Vec<B>, GatewayError> {
    rows.iter()
        .map(|r| f(r).map_err(|error| GatewayError::Payload { endpoint, error }))
        .collect()
}

/// Working for reconciliation: what the engine counts as working, plus PendingCancellation (not gone yet).
fn reconcilable(status: OrderStatus) -> bool {
    status.is_working() || status == OrderStatus::PendingCancellation
}

fn rejected(message: impl Into<String>) -> CallOutcome {
    CallOutcome::Rejected {
        code: NOT_SENT,
        message: message.into(),
    }
}

/// A read (`$call` is a future expression, evaluated again for each attempt). Reads are safe to repeat: on a
/// refused or missing token, log in again and read once more; after a 429, a 5xx or a transport error, try
/// again (up to [`READ_ATTEMPTS`]), the pacer spacing the attempts after a 429. A macro rather than a
/// closure-taking method so that the futures stay `Send` (async closures are not, yet, for borrowed captures).
macro_rules! read {
    ($inner:expr, $endpoint:expr, $call:expr) => {{
        let inner: &Inner = $inner;
        let endpoint: &'static str = $endpoint;
        let mut attempt: u32 = 0;
        let mut logged_in_again = false;
        loop {
            let seen = inner.login_generation();
            if let Err(wait) = inner.pacer.admit(CallClass::Other, ADMISSION_WAIT).await {
                break Err(GatewayError::Rest {
                    endpoint,
                    detail: format!("not sent: the REST budget is spent for another {wait:?}"),
                });
            }
            inner.count(endpoint);
            match $call.await {
                Ok(v) => {
                    inner.pacer.passed();
                    break Ok(v);
                }
                Err(e) => {
                    inner.count_error(endpoint);
                    if is_auth_error(&e) && !logged_in_again {
                        logged_in_again = true;
                        if let Err(login) = inner.relogin(seen).await {
                            break Err(login);
                        }
                        continue;
                    }
                    match inner.read_retry(&e, attempt) {
                        Some(wait) if attempt + 1 < READ_ATTEMPTS => {
                            attempt += 1;
                            debug!(endpoint, attempt, ?wait, "read failed; trying again");
                            tokio::time::sleep(wait).await;
                        }
                        _ => break Err(inner.rest_error(endpoint, e)),
                    }
                }
            }
        }
    }};
}

/// A money-moving call, sent at most once. "Not logged in" is refused by projectx-client before anything is
/// sent, so it is fixed by logging in and sending the call for the first time; every other failure is final.
macro_rules! mutate {
    ($inner:expr, $endpoint:expr, $class:expr, $call:expr) => {{
        let inner: &Arc<Inner> = $inner;
        let endpoint: &'static str = $endpoint;
        let class: CallClass = $class;
        match inner.admit_mutation(endpoint, class).await {
            Err(refused) => refused,
            Ok(()) => {
                let seen = inner.login_generation();
                inner.count(endpoint);
                let mut result: Result<(), px::Error> = $call.await;
                let mut login_failure = None;
                if matches!(result, Err(px::Error::NotAuthenticated)) {
                    match inner.relogin(seen).await {
                        Ok(()) => result = $call.await,
                        Err(e) => login_failure = Some(e),
                    }
                }
                inner.finish_mutation(endpoint, seen, result, login_failure)
            }
        }
    }};
}

impl Session {
    /// Logs in, connects both hubs and subscribes every account, with [`SessionOptions::default`].
    pub async fn start(
        endpoints: Endpoints,
        creds: Credentials,
        accounts: Vec<AccountId>,
        feed: FeedSender,
    ) -> Result<Session, GatewayError> {
        Self::start_with(endpoints, creds, accounts, feed, SessionOptions::default()).await
    }

    pub async fn start_with(
        endpoints: Endpoints,
        creds: Credentials,
        accounts: Vec<AccountId>,
        feed: FeedSender,
        options: SessionOptions,
    ) -> Result<Session, GatewayError> {
        endpoints.validate()?;
        let px_endpoints = px::Endpoints::custom(&endpoints.api_url, &endpoints.realtime_url)
            .map_err(|e| GatewayError::Config(e.to_string()))?;
        let px_creds = px::Credentials::new(creds.user_name(), creds.api_key())
            .map_err(|e| GatewayError::Config(e.to_string()))?;
        // Pacing and retries are ours (crate::pacer): the client's limiter cools every call down for a whole
        // minute after a 429 without Retry-After, and its retries of reads wait that minute too.
        let client = px::Client::builder(px_creds)
            .endpoints(px_endpoints)
            .timeout(options.request_timeout)
            .disable_rate_limits()
            .max_retries(0)
            .build()
            .map_err(|e| GatewayError::Config(e.to_string()))?;
        let px_accounts = accounts
            .iter()
            .map(|a| {
                px_account(*a).ok_or_else(|| {
                    GatewayError::Config(format!("account id {a} is not a gateway account id"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let user = client.realtime(px::Hub::User);
        let market = client.realtime(px::Hub::Market);
        let closed = || GatewayError::Config("hub event receiver already taken".into());
        let user_rx = user.take_event_receiver().ok_or_else(closed)?;
        let market_rx = market.take_event_receiver().ok_or_else(closed)?;
        let inner = Arc::new(Inner {
            client,
            user,
            market,
            endpoints,
            accounts,
            px_accounts,
            feed,
            cancel: CancellationToken::new(),
            quotes: Mutex::default(),
            contracts: Mutex::default(),
            stats: Mutex::default(),
            pacer: Pacer::new(options.rate_budget),
            login: tokio::sync::Mutex::new(0),
            login_gen: AtomicU64::new(0),
            up: [watch::Sender::new(false), watch::Sender::new(false)],
            supervising: [AtomicBool::new(false), AtomicBool::new(false)],
            secrets: [
                SecretString::from(creds.user_name().to_owned()),
                SecretString::from(creds.api_key().to_owned()),
            ],
            options,
        });
        let deadline = inner.options.start_timeout;
        let mut session = Session {
            inner: Arc::clone(&inner),
            tasks: Vec::new(),
        };

        let login = tokio::time::timeout(deadline, inner.login()).await;
        match login {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e),
            Err(_) => {
                inner.count_error("Auth/loginKey");
                return Err(GatewayError::Login("timed out".into()));
            }
        }

        let (user_ready, user_ready_rx) = oneshot::channel();
        let (market_ready, market_ready_rx) = oneshot::channel();
        session.tasks.push(tokio::spawn(Arc::clone(&inner).pump(
            HubKind::User,
            user_rx,
            user_ready,
        )));
        session.tasks.push(tokio::spawn(Arc::clone(&inner).pump(
            HubKind::Market,
            market_rx,
            market_ready,
        )));

        let connect = |hub: HubKind| {
            let inner = Arc::clone(&inner);
            async move {
                inner
                    .hub(hub)
                    .connect()
                    .await
                    .map_err(|e| inner.hub_error(hub, &e))
            }
        };
        let ready = |hub: HubKind, rx: oneshot::Receiver<Result<(), GatewayError>>| async move {
            rx.await.map_err(|_| GatewayError::Hub {
                hub,
                detail: "the hub task ended before subscribing".into(),
            })?
        };
        let started = tokio::time::timeout(deadline, async {
            tokio::try_join!(connect(HubKind::User), connect(HubKind::Market))?;
            tokio::try_join!(
                ready(HubKind::User, user_ready_rx),
                ready(HubKind::Market, market_ready_rx)
            )?;
            Ok::<(), GatewayError>(())
        })
        .await;
        match started {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e),
            Err(_) => {
                return Err(GatewayError::Hub {
                    hub: HubKind::User,
                    detail: "connecting and subscribing the hubs timed out".into(),
                });
            }
        }
        session
            .tasks
            .push(tokio::spawn(Arc::clone(&inner).keep_token()));
        info!(
            accounts = ?inner.accounts,
            api = %inner.endpoints.api_url,
            "gateway session started"
        );
        Ok(session)
    }

    /// The login's active accounts (`Account/search` with `onlyActiveAccounts`): id, name, canTrade.
    pub async fn accounts(&self) -> Result<Vec<(AccountId, String, Option<bool>)>, GatewayError> {
        const EP: &str = "Account/search";
        let inner = &self.inner;
        let list = read!(inner, EP, inner.client.search_active_accounts())?;
        Ok(listed(EP, "accounts", list)?
            .iter()
            .map(|a| {
                (
                    AccountId(i64::from(a.id.get())),
                    a.name.clone(),
                    Some(a.can_trade),
                )
            })
            .collect())
    }

    /// Everything the daemon needs after a start or a [`Feed::Resynced`]: open positions, working orders
    /// (Suspended bracket legs included), the account's canTrade, and the fills since `day_start`.
    pub async fn reconcile(
        &self,
        account: AccountId,
        day_start: Timestamp,
    ) -> Result<Reconciled, GatewayError> {
        const ACCOUNTS: &str = "Account/search";
        let inner = &self.inner;
        let account_row = async {
            let list = read!(inner, ACCOUNTS, inner.client.search_active_accounts())?;
            let rows = listed(ACCOUNTS, "accounts", list)?;
            rows.iter()
                .find(|a| i64::from(a.id.get()) == account.0)
                .map(convert::account)
                .transpose()
                .map_err(|error| GatewayError::Payload {
                    endpoint: ACCOUNTS,
                    error,
                })
        };
        let (positions, orders, account_row, trades) = tokio::try_join!(
            self.open_positions(account),
            self.working_orders_since(account, day_start),
            account_row,
            self.trades_since(account, day_start),
        )?;
        Ok(Reconciled {
            positions,
            orders,
            account: account_row,
            trades,
        })
    }

    /// `Contract/searchById`, cached for the life of the session.
    pub async fn contract(&self, id: &ContractId) -> Result<ContractInfo, GatewayError> {
        const EP: &str = "Contract/searchById";
        if let Some((info, _)) = lock(&self.inner.contracts).get(id) {
            return Ok(info.clone());
        }
        let pid = px_contract(id)
            .ok_or_else(|| GatewayError::Config(format!("`{id}` is not a contract id")))?;
        let inner = &self.inner;
        let row = read!(inner, EP, inner.client.contract_by_id(&pid))?;
        let info = convert::contract(&row).map_err(|error| GatewayError::Payload {
            endpoint: EP,
            error,
        })?;
        lock(&inner.contracts).insert(
            id.clone(),
            (info.clone(), row.symbol_id.as_str().to_owned()),
        );
        Ok(info)
    }

    /// Subscribes the contract's quotes on the market hub. Idempotent; remembered and replayed after every
    /// reconnect. While the hub is reconnecting the subscription is only remembered (and `Ok`).
    pub async fn subscribe_quotes(&self, id: &ContractId) -> Result<(), GatewayError> {
        let pid = px_contract(id)
            .ok_or_else(|| GatewayError::Config(format!("`{id}` is not a contract id")))?;
        if !lock(&self.inner.quotes).insert(id.as_str().to_owned()) {
            return Ok(());
        }
        match self.inner.market.subscribe_contract_quotes(&pid).await {
            Ok(()) => Ok(()),
            Err(
                px::RealtimeError::NotConnected
                | px::RealtimeError::StaleGeneration
                | px::RealtimeError::InvocationSessionEnded { .. },
            ) => {
                debug!(contract = %id, "market hub not connected; the subscription is made on reconnect");
                Ok(())
            }
            Err(e) => {
                lock(&self.inner.quotes).remove(id.as_str());
                Err(self.inner.hub_error(HubKind::Market, &e))
            }
        }
    }

    pub async fn unsubscribe_quotes(&self, id: &ContractId) -> Result<(), GatewayError> {
        let pid = px_contract(id)
            .ok_or_else(|| GatewayError::Config(format!("`{id}` is not a contract id")))?;
        if !lock(&self.inner.quotes).remove(id.as_str()) {
            return Ok(());
        }
        match self.inner.market.unsubscribe_contract_quotes(&pid).await {
            Ok(())
            | Err(
                px::RealtimeError::NotConnected
                | px::RealtimeError::StaleGeneration
                | px::RealtimeError::InvocationSessionEnded { .. },
            ) => Ok(()),
            Err(e) => Err(self.inner.hub_error(HubKind::Market, &e)),
        }
    }

    /// `Position/closeContract`: flattens the whole position in that contract. Never retried.
    pub async fn close_contract(&self, account: AccountId, contract: &ContractId) -> CallOutcome {
        let (Some(account_id), Some(contract_id)) = (px_account(account), px_contract(contract))
        else {
            return rejected("invalid account or contract id");
        };
        let request = px::CloseContract {
            account_id,
            contract_id,
        };
        let inner = &self.inner;
        mutate!(inner, "Position/closeContract", CallClass::Exit, async {
            inner.client.close_contract(&request).await.map(|_| ())
        })
    }

    /// `Position/partialCloseContract`: closes `size` contracts of the position. Never retried.
    pub async fn partial_close(
        &self,
        account: AccountId,
        contract: &ContractId,
        size: i64,
    ) -> CallOutcome {
        let (Some(account_id), Some(contract_id), Ok(size)) = (
            px_account(account),
            px_contract(contract),
            i32::try_from(size),
        ) else {
            return rejected("invalid account, contract id or size");
        };
        let Ok(request) = px::PartialCloseContract::new(account_id, contract_id, size) else {
            return rejected(format!("invalid partial close size {size}"));
        };
        let inner = &self.inner;
        mutate!(
            inner,
            "Position/partialCloseContract",
            CallClass::Exit,
            async {
                inner
                    .client
                    .partial_close_contract(&request)
                    .await
                    .map(|_| ())
            }
        )
    }

    /// `Order/cancel`. Never retried.
    pub async fn cancel_order(&self, account: AccountId, order: OrderId) -> CallOutcome {
        let (Some(account_id), Ok(order_id)) = (px_account(account), px::OrderId::new(order.0))
        else {
            return rejected("invalid account or order id");
        };
        let request = px::CancelOrder {
            account_id,
            order_id,
        };
        let inner = &self.inner;
        mutate!(inner, "Order/cancel", CallClass::Exit, async {
            inner.client.cancel_order(&request).await.map(|_| ())
        })
    }

    /// `Order/modify` with a new stop price. Never retried.
    pub async fn modify_stop(
        &self,
        account: AccountId,
        order: OrderId,
        stop_price: Decimal,
    ) -> CallOutcome {
        let (Some(account_id), Ok(order_id)) = (px_account(account), px::OrderId::new(order.0))
        else {
            return rejected("invalid account or order id");
        };
        let Ok(request) = px::ModifyOrder::builder(account_id, order_id)
            .stop_price(stop_price)
            .build()
        else {
            return rejected("invalid modification");
        };
        let inner = &self.inner;
        mutate!(inner, "Order/modify", CallClass::Other, async {
            inner.client.modify_order(&request).await.map(|_| ())
        })
    }

    /// `Order/place` of a stop order with `customTag` (unique per account: it is also how a read-back finds
    /// the order after an ambiguous outcome). Never retried.
    pub async fn place_stop(
        &self,
        account: AccountId,
        contract: &ContractId,
        side: Side,
        size: i64,
        stop_price: Decimal,
        custom_tag: &str,
    ) -> CallOutcome {
        let (Some(account_id), Some(contract_id), Some(side), Ok(size)) = (
            px_account(account),
            px_contract(contract),
            convert::side(side),
            i32::try_from(size),
        ) else {
            return rejected("invalid account, contract id, side or size");
        };
        let mut builder =
            px::PlaceOrder::builder(account_id, contract_id, px::OrderType::Stop, side, size)
                .stop_price(stop_price);
        if !custom_tag.is_empty() {
            builder = builder.custom_tag(custom_tag);
        }
        let request = match builder.build() {
            Ok(r) => r,
            Err(e) => return rejected(format!("invalid stop order: {e}")),
        };
        let inner = &self.inner;
        mutate!(inner, "Order/place", CallClass::Other, async {
            let placed = inner.client.place_order(&request).await?;
            info!(
                order = placed.order_id.get(),
                tag = custom_tag,
                "stop order placed"
            );
            Ok(())
        })
    }

    /// `Position/searchOpen`, normalised. A contract missing from the list is flat.
    pub async fn open_positions(
        &self,
        account: AccountId,
    ) -> Result<Vec<PositionUpdate>, GatewayError> {
        const EP: &str = "Position/searchOpen";
        let pa = self.inner.account_id(account)?;
        let inner = &self.inner;
        let list = read!(inner, EP, inner.client.search_open_positions(pa))?;
        normalised(EP, &listed(EP, "positions", list)?, convert::position)
    }

    /// Working orders, Suspended bracket legs included (see [`Session::reconcile`]), searching the last 24 h.
    pub async fn working_orders(
        &self,
        account: AccountId,
    ) -> Result<Vec<OrderUpdate>, GatewayError> {
        let since = Timestamp::now()
            .checked_sub(jiff::SignedDuration::from_hours(
                WORKING_ORDERS_LOOKBACK_HOURS,
            ))
            .map_err(|e| GatewayError::Config(e.to_string()))?;
        self.working_orders_since(account, since).await
    }

    /// `Order/searchOpen` leaves Suspended orders out, so `Order/search` from `since` filtered to working
    /// statuses is merged in, deduplicated by order id (the `searchOpen` row wins).
    async fn working_orders_since(
        &self,
        account: AccountId,
        since: Timestamp,
    ) -> Result<Vec<OrderUpdate>, GatewayError> {
        const OPEN: &str = "Order/searchOpen";
        const SEARCH: &str = "Order/search";
        let pa = self.inner.account_id(account)?;
        let search = px::OrderSearch::new(pa, px_time(since)?, None)
            .map_err(|e| GatewayError::Config(e.to_string()))?;
        let inner = &self.inner;
        let (open, searched) = tokio::try_join!(
            async { read!(inner, OPEN, inner.client.search_open_orders(pa)) },
            async { read!(inner, SEARCH, inner.client.search_orders(&search)) },
        )?;
        let open = normalised(OPEN, &listed(OPEN, "orders", open)?, convert::order)?;
        let searched = normalised(SEARCH, &listed(SEARCH, "orders", searched)?, convert::order)?;
        let mut seen = BTreeSet::new();
        Ok(open
            .into_iter()
            .chain(searched.into_iter().filter(|o| reconcilable(o.status)))
            .filter(|o| seen.insert(o.order))
            .collect())
    }

    async fn trades_since(
        &self,
        account: AccountId,
        since: Timestamp,
    ) -> Result<Vec<Fill>, GatewayError> {
        const EP: &str = "Trade/search";
        let pa = self.inner.account_id(account)?;
        let search = px::TradeSearch::new(pa, px_time(since)?, None)
            .map_err(|e| GatewayError::Config(e.to_string()))?;
        let inner = &self.inner;
        let list = read!(inner, EP, inner.client.search_trades(&search))?;
        normalised(EP, &listed(EP, "trades", list)?, convert::trade)
    }

    /// REST calls and errors by endpoint since the start.
    pub fn rest_stats(&self) -> RestStats {
        lock(&self.inner.stats).clone()
    }

    /// Failed REST calls since the start, every endpoint together (without copying the table).
    pub fn rest_errors(&self) -> u64 {
        lock(&self.inner.stats)
            .endpoints
            .values()
            .map(|e| e.errors)
            .sum()
    }

    /// Whether each hub is connected and subscribed right now.
    pub fn hubs_up(&self) -> [(HubKind, bool); 2] {
        HUBS.map(|hub| (hub, *self.inner.up[idx(hub)].borrow()))
    }

    /// The accounts this session watches.
    pub fn watched_accounts(&self) -> &[AccountId] {
        &self.inner.accounts
    }

    /// Stops every task, closes both hubs (each reports `Down`), within a few seconds.
    pub async fn shutdown(mut self) {
        self.inner.cancel.cancel();
        for hub in HUBS {
            if tokio::time::timeout(Duration::from_secs(5), self.inner.hub(hub).disconnect())
                .await
                .is_err()
            {
                warn!(%hub, "hub did not close in time");
            }
            self.inner.set_up(hub, false);
            let _ = self.inner.feed.try_send((
                Timestamp::now(),
                Feed::Connection(ConnectionState {
                    hub,
                    status: HubStatus::Down {
                        reason: "session shut down".into(),
                    },
                }),
            ));
        }
        for task in self.tasks.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
        info!(accounts = ?self.inner.accounts, "gateway session shut down");
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.inner.cancel.cancel();
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("endpoints", &self.inner.endpoints)
            .field("accounts", &self.inner.accounts)
            .field("quotes", &lock(&self.inner.quotes).len())
            .field("credentials", &"***")
            .finish_non_exhaustive()
    }
}

impl Inner {
    fn hub(&self, hub: HubKind) -> &px::RealtimeClient {
        match hub {
            HubKind::User => &self.user,
            HubKind::Market => &self.market,
        }
    }

    fn set_up(&self, hub: HubKind, up: bool) {
        self.up[idx(hub)].send_replace(up);
    }

    fn account_id(&self, account: AccountId) -> Result<px::AccountId, GatewayError> {
        px_account(account)
            .ok_or_else(|| GatewayError::Config(format!("account id {account} is not valid")))
    }

    /// Redacts tokens and this login's secrets from a message.
    fn clean(&self, text: &str) -> String {
        let mut out = redact(text);
        for secret in &self.secrets {
            let s = secret.expose_secret();
            if s.len() >= 3 {
                out = out.replace(s, "***");
            }
        }
        out
    }

    fn hub_error(&self, hub: HubKind, e: &px::RealtimeError) -> GatewayError {
        GatewayError::Hub {
            hub,
            detail: self.clean(&e.to_string()),
        }
    }

    fn count(&self, endpoint: &'static str) {
        lock(&self.stats)
            .endpoints
            .entry(endpoint)
            .or_default()
            .calls += 1;
    }

    fn count_error(&self, endpoint: &'static str) {
        lock(&self.stats)
            .endpoints
            .entry(endpoint)
            .or_default()
            .errors += 1;
    }

    fn rest_error(&self, endpoint: &'static str, e: px::Error) -> GatewayError {
        match e {
            px::Error::Provider(p) => GatewayError::Rejected {
                endpoint,
                code: i64::from(p.code),
                message: self.clean(&provider_text(&p)),
            },
            other => GatewayError::Rest {
                endpoint,
                detail: self.clean(&other.to_string()),
            },
        }
    }

    fn login_generation(&self) -> u64 {
        self.login_gen.load(Ordering::Acquire)
    }

    /// Logs in again unless another task already did since `seen`.
    async fn relogin(&self, seen: u64) -> Result<(), GatewayError> {
        let mut generation = self.login.lock().await;
        if *generation != seen {
            return Ok(());
        }
        if let Err(e) = self.login().await {
            warn!(error = %e, "re-login failed");
            return Err(e);
        }
        *generation += 1;
        self.login_gen.store(*generation, Ordering::Release);
        info!("logged in again");
        Ok(())
    }

    /// `Auth/loginKey`, paced and counted.
    async fn login(&self) -> Result<(), GatewayError> {
        const EP: &str = "Auth/loginKey";
        if let Err(wait) = self.pacer.admit(CallClass::Other, ADMISSION_WAIT).await {
            return Err(GatewayError::Login(format!(
                "not sent: the REST budget is spent for another {wait:?}"
            )));
        }
        self.count(EP);
        match self.client.authenticate().await {
            Ok(()) => {
                self.pacer.passed();
                Ok(())
            }
            Err(e) => {
                self.count_error(EP);
                self.note_throttle(&e);
                Err(GatewayError::Login(self.clean(&e.to_string())))
            }
        }
    }

    /// A 429 slows the whole session down (see [`crate::pacer`]).
    fn note_throttle(&self, e: &px::Error) {
        if let px::Error::ProviderRateLimited { retry_after, .. } = e {
            let cool = self
                .pacer
                .throttled(Some(*retry_after), tokio::time::Instant::now());
            warn!(?cool, "the gateway answered 429: slowing down");
        }
    }

    /// Whether a failed read is worth another attempt, and after how long (a 429's wait is the pacer's).
    fn read_retry(&self, e: &px::Error, attempt: u32) -> Option<Duration> {
        let backoff = READ_RETRY_FIRST.saturating_mul(1 << attempt.min(8));
        match e {
            px::Error::ProviderRateLimited { .. } => {
                self.note_throttle(e);
                Some(Duration::ZERO)
            }
            px::Error::UnexpectedStatus { status } if *status >= 500 => Some(backoff),
            px::Error::Transport(t) if t.is_timeout() || t.is_connect() => Some(backoff),
            _ => None,
        }
    }

    /// Admission of a money-moving call; refused (never sent) when the budget stays spent past the wait.
    async fn admit_mutation(
        &self,
        endpoint: &'static str,
        class: CallClass,
    ) -> Result<(), CallOutcome> {
        let wait = match class {
            CallClass::Exit => EXIT_ADMISSION_WAIT,
            CallClass::Other => ADMISSION_WAIT,
        };
        self.pacer.admit(class, wait).await.map_err(|next| {
            warn!(endpoint, ?next, "REST budget spent: call not sent");
            rejected(format!(
                "not sent: the REST budget is spent for another {next:?}"
            ))
        })
    }

    /// The end of a money-moving call: count, schedule a re-login after a 401, classify.
    fn finish_mutation(
        self: &Arc<Self>,
        endpoint: &'static str,
        seen: u64,
        result: Result<(), px::Error>,
        login_failure: Option<GatewayError>,
    ) -> CallOutcome {
        if let Some(e) = login_failure {
            self.count_error(endpoint);
            return rejected(format!("not sent: {e}"));
        }
        let error = match result {
            Ok(()) => {
                self.pacer.passed();
                return CallOutcome::Done;
            }
            Err(e) => e,
        };
        self.count_error(endpoint);
        self.note_throttle(&error);
        if matches!(error, px::Error::UnexpectedStatus { status: 401 }) {
            let inner = Arc::clone(self);
            tokio::spawn(async move {
                let _ = inner.relogin(seen).await;
            });
        }
        let outcome = self.outcome(&error);
        warn!(endpoint, outcome = ?outcome, "money-moving call not done");
        outcome
    }

    fn outcome(&self, e: &px::Error) -> CallOutcome {
        match e {
            px::Error::Provider(p) => CallOutcome::Rejected {
                code: i64::from(p.code),
                message: self.clean(&provider_text(p)),
            },
            px::Error::AmbiguousMutation { .. } => CallOutcome::Ambiguous {
                reason: self.clean(&e.to_string()),
            },
            px::Error::UnexpectedStatus { status: 401 } => CallOutcome::Rejected {
                code: UNAUTHORIZED,
                message: "HTTP 401: the token was refused; logging in again".into(),
            },
            px::Error::NotAuthenticated
            | px::Error::LocallyRateLimited { .. }
            | px::Error::Configuration(_)
            | px::Error::Encode(_)
            | px::Error::Url(_)
            | px::Error::InvalidIdentifier { .. } => {
                rejected(format!("not sent: {}", self.clean(&e.to_string())))
            }
            _ => CallOutcome::Ambiguous {
                reason: self.clean(&e.to_string()),
            },
        }
    }

    async fn push(&self, at: Timestamp, item: Feed) {
        if self.cancel.is_cancelled() {
            return;
        }
        // Nearly always there is room: hand the item over without building the waiting futures (this runs for
        // every quote).
        let item = match self.feed.try_send((at, item)) {
            Ok(()) => return,
            Err(mpsc::error::TrySendError::Full(item)) => item,
            Err(mpsc::error::TrySendError::Closed(_)) => return self.feed_gone(),
        };
        tokio::select! {
            biased;
            () = self.cancel.cancelled() => {}
            sent = self.feed.send(item) => {
                if sent.is_err() {
                    self.feed_gone();
                }
            }
        }
    }

    fn feed_gone(&self) {
        if !self.cancel.is_cancelled() {
            info!("the feed receiver is gone; stopping the gateway session");
        }
        self.cancel.cancel();
    }

    async fn push_state(&self, hub: HubKind, status: HubStatus) {
        self.push(
            Timestamp::now(),
            Feed::Connection(ConnectionState { hub, status }),
        )
        .await;
    }

    /// Subscribes everything this hub needs on its current socket.
    async fn subscribe_all(&self, hub: HubKind) -> Result<(), px::RealtimeError> {
        let socket = self.hub(hub).session()?;
        match hub {
            HubKind::User => {
                socket.subscribe_accounts().await?;
                for account in &self.px_accounts {
                    socket.subscribe_orders(*account).await?;
                    socket.subscribe_positions(*account).await?;
                    socket.subscribe_trades(*account).await?;
                }
            }
            HubKind::Market => {
                let ids: Vec<String> = lock(&self.quotes).iter().cloned().collect();
                for id in ids {
                    let Ok(pid) = px::ContractId::new(id.clone()) else {
                        continue;
                    };
                    match socket.subscribe_contract_quotes(&pid).await {
                        Ok(()) => {}
                        Err(px::RealtimeError::InvocationRejected { .. }) => {
                            warn!(contract = %id, "the gateway refused the quote subscription; dropping it");
                            lock(&self.quotes).remove(&id);
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
        }
        Ok(())
    }

    /// Reads one hub's events in order until the session is cancelled.
    async fn pump(
        self: Arc<Self>,
        hub: HubKind,
        mut events: px::RealtimeEventReceiver,
        ready: oneshot::Sender<Result<(), GatewayError>>,
    ) {
        let mut ready = Some(ready);
        loop {
            let event = tokio::select! {
                biased;
                () = self.cancel.cancelled() => break,
                event = events.recv() => event,
            };
            let Some(event) = event else {
                break;
            };
            let at = Timestamp::now();
            match event {
                px::RealtimeEvent::Connected | px::RealtimeEvent::Reconnected => {
                    self.on_connected(hub, &mut ready).await;
                }
                px::RealtimeEvent::Disconnected => {
                    self.set_up(hub, false);
                    if self.cancel.is_cancelled() {
                        break;
                    }
                    warn!(%hub, "hub connection lost; reconnecting");
                    self.push_state(
                        hub,
                        HubStatus::Reconnecting {
                            reason: "connection lost".into(),
                        },
                    )
                    .await;
                    tokio::spawn(Arc::clone(&self).supervise(hub));
                }
                px::RealtimeEvent::TransportGap => {
                    warn!(%hub, "transport gap: a record was lost or unreadable");
                    self.push(
                        at,
                        Feed::Malformed {
                            what: format!("{hub} hub record"),
                            error: "projectx-client could not read a record (transport gap)".into(),
                        },
                    )
                    .await;
                    match self.subscribe_all(hub).await {
                        Ok(()) => self.push(Timestamp::now(), Feed::Resynced).await,
                        Err(e) => {
                            warn!(%hub, error = %self.clean(&e.to_string()), "resubscribe after a gap failed");
                            self.after_failed_subscribe(hub, &e).await;
                        }
                    }
                }
                px::RealtimeEvent::Invocation(invocation) => {
                    self.dispatch(hub, &invocation, at).await;
                }
                _ => {}
            }
        }
        debug!(%hub, "hub pump stopped");
    }

    async fn on_connected(
        self: &Arc<Self>,
        hub: HubKind,
        ready: &mut Option<oneshot::Sender<Result<(), GatewayError>>>,
    ) {
        match self.subscribe_all(hub).await {
            Ok(()) => {
                self.set_up(hub, true);
                info!(%hub, "hub connected and subscribed");
                self.push_state(hub, HubStatus::Up).await;
                match ready.take() {
                    Some(tx) => {
                        let _ = tx.send(Ok(()));
                    }
                    None => self.push(Timestamp::now(), Feed::Resynced).await,
                }
            }
            Err(e) => {
                warn!(%hub, error = %self.clean(&e.to_string()), "subscribing failed");
                if let Some(tx) = ready.take() {
                    let _ = tx.send(Err(self.hub_error(hub, &e)));
                    return;
                }
                self.after_failed_subscribe(hub, &e).await;
            }
        }
    }

    /// A subscription failed on a live socket: report it and reconnect (after a pause, so that a gateway
    /// that keeps refusing does not spin us).
    async fn after_failed_subscribe(self: &Arc<Self>, hub: HubKind, e: &px::RealtimeError) {
        if matches!(
            e,
            px::RealtimeError::NotConnected
                | px::RealtimeError::StaleGeneration
                | px::RealtimeError::InvocationSessionEnded { .. }
        ) {
            // The socket is gone; its Disconnected event starts the reconnect.
            return;
        }
        self.push_state(
            hub,
            HubStatus::Reconnecting {
                reason: format!("subscribing failed: {}", self.clean(&e.to_string())),
            },
        )
        .await;
        let inner = Arc::clone(self);
        tokio::spawn(async move {
            tokio::select! {
                () = inner.cancel.cancelled() => {}
                () = tokio::time::sleep(Duration::from_secs(2)) => {
                    inner.reconnect(hub, "subscribing failed").await;
                }
            }
        });
    }

    async fn dispatch(
        self: &Arc<Self>,
        hub: HubKind,
        invocation: &px::SignalRInvocation,
        at: Timestamp,
    ) {
        let target = invocation.target();
        match payload::classify(target) {
            Target::User(kind) => {
                for item in payload::user_events(kind, invocation.payload()) {
                    let feed = match item {
                        Ok(event) => Feed::Event(event),
                        Err(bad) => {
                            warn!(what = %bad.what, error = %bad.error, "malformed user-hub payload");
                            Feed::Malformed {
                                what: bad.what,
                                error: bad.error,
                            }
                        }
                    };
                    self.push(at, feed).await;
                }
            }
            Target::Quote => {
                let arg = invocation.contract_id().map(px::ContractId::as_str);
                match payload::quote(arg, invocation.payload(), |symbol| {
                    self.contract_for_symbol(symbol)
                }) {
                    Ok(Some(quote)) => self.push(at, Feed::Event(Event::Quote(quote))).await,
                    Ok(None) => {}
                    Err(bad) => {
                        warn!(what = %bad.what, error = %bad.error, "malformed quote");
                        self.push(
                            at,
                            Feed::Malformed {
                                what: bad.what,
                                error: bad.error,
                            },
                        )
                        .await;
                    }
                }
            }
            Target::MarketOther => {}
            Target::Logout => {
                error!(%hub, "GatewayLogout: this login was used elsewhere; the connection is lost");
                self.set_up(hub, false);
                self.push_state(
                    hub,
                    HubStatus::Reconnecting {
                        reason: "GatewayLogout: the login was used elsewhere".into(),
                    },
                )
                .await;
                let inner = Arc::clone(self);
                tokio::spawn(async move { inner.reconnect(hub, "GatewayLogout").await });
            }
            Target::Unknown => {
                debug!(%hub, target = %clean_untrusted(target), "ignoring an unknown hub event");
            }
        }
    }

    /// The one subscribed contract whose cached symbol id is `symbol`, if exactly one.
    fn contract_for_symbol(&self, symbol: &str) -> Option<ContractId> {
        let quotes = lock(&self.quotes);
        let contracts = lock(&self.contracts);
        let mut matching = contracts
            .iter()
            .filter(|(id, (_, sym))| sym == symbol && quotes.contains(id.as_str()))
            .map(|(id, _)| id.clone());
        let first = matching.next();
        if matching.next().is_some() {
            return None;
        }
        first
    }

    /// Closes the hub and connects it again with the current token; the pump resubscribes on `Connected`.
    async fn reconnect(self: &Arc<Self>, hub: HubKind, reason: &str) {
        if self.cancel.is_cancelled() {
            return;
        }
        info!(%hub, reason, "reconnecting hub");
        let client = self.hub(hub);
        if let Err(e) = client.disconnect().await {
            debug!(%hub, error = %self.clean(&e.to_string()), "hub close");
        }
        if self.cancel.is_cancelled() {
            return;
        }
        if let Err(e) = client.connect().await {
            warn!(%hub, error = %self.clean(&e.to_string()), "reconnect failed; the supervisor retries");
            tokio::spawn(Arc::clone(self).supervise(hub));
        }
    }

    /// Watches a lost hub: if it is not back within `hub_down_check`, check the token (log in again if it was
    /// refused) and connect it ourselves; repeat until it is up or the session ends.
    async fn supervise(self: Arc<Self>, hub: HubKind) {
        let i = idx(hub);
        loop {
            if self.supervising[i].swap(true, Ordering::AcqRel) {
                return;
            }
            let mut up = self.up[i].subscribe();
            loop {
                let wait = tokio::time::timeout(self.options.hub_down_check, async {
                    up.wait_for(|u| *u).await.map(|_| ())
                });
                let back = tokio::select! {
                    () = self.cancel.cancelled() => true,
                    r = wait => r.is_ok(),
                };
                if back {
                    break;
                }
                warn!(%hub, "hub still down; checking the token and connecting again");
                self.check_token().await;
                match self.hub(hub).connect().await {
                    Ok(())
                    | Err(
                        px::RealtimeError::AlreadyConnected
                        | px::RealtimeError::ConnectionCancelled,
                    ) => {}
                    Err(e) => warn!(%hub, error = %self.clean(&e.to_string()), "connect failed"),
                }
            }
            self.supervising[i].store(false, Ordering::Release);
            // Lost again between the last check and the release: supervise again.
            if self.cancel.is_cancelled() || *self.up[i].borrow() {
                return;
            }
        }
    }

    /// `Auth/validate`; any failure means a full re-login.
    async fn check_token(&self) -> bool {
        let seen = self.login_generation();
        if self
            .pacer
            .admit(CallClass::Other, ADMISSION_WAIT)
            .await
            .is_err()
        {
            // No budget to validate: keep the token; the next check comes soon (see keep_token).
            return false;
        }
        self.count("Auth/validate");
        match self.client.validate_session().await {
            Ok(()) => true,
            Err(e) => {
                self.count_error("Auth/validate");
                self.note_throttle(&e);
                warn!(error = %self.clean(&e.to_string()), "token validation failed; logging in again");
                self.relogin(seen).await.is_ok()
            }
        }
    }

    /// Validates the token every `validate_every` (re-login when that fails), then reconnects the hubs so that
    /// they carry the fresh token.
    async fn keep_token(self: Arc<Self>) {
        let mut delay = self.options.validate_every;
        loop {
            tokio::select! {
                () = self.cancel.cancelled() => return,
                () = tokio::time::sleep(delay) => {}
            }
            let refreshed = self.check_token().await;
            delay = if refreshed {
                self.options.validate_every
            } else {
                self.options.validate_every.min(Duration::from_secs(60))
            };
            if refreshed && self.options.reconnect_after_token_refresh {
                for hub in HUBS {
                    self.reconnect(hub, "token refreshed").await;
                }
            }
        }
    }
}

fn is_auth_error(e: &px::Error) -> bool {
    matches!(
        e,
        px::Error::NotAuthenticated | px::Error::UnexpectedStatus { status: 401 }
    )
}

fn provider_text(p: &px::ProviderError) -> String {
    let name = p.name.unwrap_or("rejected");
    match p.untrusted_message() {
        Some(m) if !m.trim().is_empty() => format!("{name}: {}", clean_untrusted(m)),
        _ => name.to_owned(),
    }
}
