//! The daemon's side of the internal API: [`Control`] implements [`api::Daemon`] from what the loop
//! publishes (the view, decisions, rules, holidays) and hands admin requests to the loop. The server never
//! touches the engine: it reads published state and queues requests.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use api::{AccountRules, AdminRequest, AdminResult, DecisionRecord, Holidays, View};
use gateway::Session;
use jiff::Timestamp;
use tokio::sync::{broadcast, mpsc, oneshot, watch};

use crate::journal::Journal;
use crate::metrics::{External, Metrics};

/// How many of the trading day's decisions `/v1/decisions` keeps in memory.
pub const HISTORY_CAP: usize = 20_000;

/// An admin request on its way to the loop, with where to answer.
pub type AdminQueued = (AdminRequest, oneshot::Sender<AdminResult>);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What the loop publishes for the API, shared between the two.
#[derive(Debug)]
pub struct Published {
    pub decisions: broadcast::Sender<DecisionRecord>,
    history: Mutex<VecDeque<DecisionRecord>>,
    rules: Mutex<Vec<AccountRules>>,
    holidays: Mutex<Holidays>,
}

impl Published {
    pub fn new(rules: Vec<AccountRules>, holidays: Holidays) -> Self {
        Published {
            decisions: broadcast::channel(4_096).0,
            history: Mutex::new(VecDeque::new()),
            rules: Mutex::new(rules),
            holidays: Mutex::new(holidays),
        }
    }

    /// A decision taken now: into the day's history and out to every stream client.
    pub fn decision(&self, record: DecisionRecord) {
        {
            let mut h = lock(&self.history);
            if h.len() == HISTORY_CAP {
                h.pop_front();
            }
            h.push_back(record.clone());
        }
        let _ = self.decisions.send(record);
    }

    /// Decisions already journaled today (on start), oldest first.
    pub fn preload(&self, records: impl IntoIterator<Item = DecisionRecord>) {
        let mut h = lock(&self.history);
        for r in records {
            if h.len() == HISTORY_CAP {
                h.pop_front();
            }
            h.push_back(r);
        }
    }

    /// Forget decisions before the trading day that starts at `day_start`.
    pub fn trim_before(&self, day_start: Timestamp) {
        let mut h = lock(&self.history);
        while h.front().is_some_and(|r| r.t < day_start) {
            h.pop_front();
        }
    }

    pub fn set_rules(&self, rules: Vec<AccountRules>, holidays: Holidays) {
        *lock(&self.rules) = rules;
        *lock(&self.holidays) = holidays;
    }
}

/// The [`api::Daemon`] the server talks to.
#[derive(Debug)]
pub struct Control {
    pub(crate) view: watch::Receiver<Arc<View>>,
    pub(crate) published: Arc<Published>,
    pub(crate) admin: mpsc::Sender<AdminQueued>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) sessions: Vec<(String, Arc<Session>)>,
    pub(crate) journal: Arc<Journal>,
}

impl api::Daemon for Control {
    fn view(&self) -> watch::Receiver<Arc<View>> {
        self.view.clone()
    }

    fn decisions(&self) -> broadcast::Receiver<DecisionRecord> {
        self.published.decisions.subscribe()
    }

    fn decision_history(
        &self,
        since: Option<Timestamp>,
        account: Option<i64>,
    ) -> Vec<DecisionRecord> {
        lock(&self.published.history)
            .iter()
            .filter(|r| since.is_none_or(|s| r.t >= s))
            .filter(|r| account.is_none_or(|a| r.account == a))
            .cloned()
            .collect()
    }

    fn rules(&self) -> Vec<AccountRules> {
        lock(&self.published.rules).clone()
    }

    fn holidays(&self) -> Holidays {
        lock(&self.published.holidays).clone()
    }

    fn admin(&self, request: AdminRequest) -> oneshot::Receiver<AdminResult> {
        let (tx, rx) = oneshot::channel();
        if let Err(
            mpsc::error::TrySendError::Full((_, tx)) | mpsc::error::TrySendError::Closed((_, tx)),
        ) = self.admin.try_send((request, tx))
        {
            let _ = tx.send(Err(api::AdminError {
                kind: "unavailable".into(),
                message: "the daemon is busy or stopping; try again".into(),
                errors: Vec::new(),
            }));
        }
        rx
    }

    fn metrics(&self) -> String {
        let mut ext = External::default();
        for (login, s) in &self.sessions {
            for (ep, st) in &s.rest_stats().endpoints {
                ext.rest.push((login.clone(), ep, st.calls, st.errors));
            }
        }
        let lat = self.journal.store().append_latency();
        ext.journal_p50 = lat.p50;
        ext.journal_p99 = lat.p99;
        ext.journal_max = lat.max;
        ext.journal_samples = lat.samples;
        ext.journal_degraded = self.journal.is_degraded();
        self.metrics.render(&ext)
    }
}
