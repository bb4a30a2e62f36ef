//! The executor: decisions in, gateway calls out, outcomes back to the engine.
//!
//! Money-moving calls are never retried blindly. `Done` and `Rejected` are definite; after an `Ambiguous`
//! outcome (timeout, 5xx, 429) the executor reads the positions or orders back and reports what it sees: the
//! read-back goes to the engine as ordinary events, so a position still there re-arms the engine's "once per
//! target" and the engine decides again. A contract or order with a call in flight is never sent a second
//! call: one breach never produces two closes of the same position.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use gateway::{CallOutcome, Feed, Session};
use jiff::Timestamp;
use model::decision::{Action, Decision};
use model::event::{Event, Outcome, Target};
use model::ids::{AccountId, ContractId, OrderId};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

/// Work the executor was asked to do, resolved against the engine's state at decision time.
#[derive(Debug, Clone)]
pub enum Job {
    Close {
        account: AccountId,
        contract: ContractId,
    },
    PartialClose {
        account: AccountId,
        contract: ContractId,
        size: i64,
    },
    Cancel {
        account: AccountId,
        order: OrderId,
    },
    PlaceStop {
        account: AccountId,
        contract: ContractId,
        side: model::event::Side,
        size: i64,
        stop_price: rust_decimal::Decimal,
    },
    ModifyStop {
        account: AccountId,
        order: OrderId,
        stop_price: rust_decimal::Decimal,
    },
}

impl Job {
    fn key(&self) -> Option<(AccountId, Target)> {
        match self {
            Job::Close { account, contract }
            | Job::PartialClose {
                account, contract, ..
            } => Some((
                *account,
                Target::Position {
                    contract: contract.clone(),
                },
            )),
            Job::Cancel { account, order } | Job::ModifyStop { account, order, .. } => {
                Some((*account, Target::Order { order: *order }))
            }
            Job::PlaceStop { .. } => None,
        }
    }
}

/// Turn one decision into jobs. `close_all_positions` and `cancel_all_orders` expand to the positions and
/// working orders the engine knows at this instant (reconciliation adds any it missed).
pub fn jobs(d: &Decision, state: &engine::state::State) -> Vec<Job> {
    let account = d.account;
    let acct = state.accounts.get(&account);
    match &d.action {
        Action::ClosePosition { contract } => vec![Job::Close {
            account,
            contract: contract.clone(),
        }],
        Action::PartialClose { contract, size } => {
            vec![Job::PartialClose {
                account,
                contract: contract.clone(),
                size: *size,
            }]
        }
        Action::CloseAllPositions => acct
            .map(|a| {
                a.positions
                    .iter()
                    .filter(|(_, p)| p.size != 0 && !p.expect_flat)
                    .map(|(c, _)| Job::Close {
                        account,
                        contract: c.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        Action::CancelOrder { order } => vec![Job::Cancel {
            account,
            order: *order,
        }],
        Action::CancelAllOrders => acct
            .map(|a| {
                a.orders
                    .keys()
                    .map(|o| Job::Cancel { account, order: *o })
                    .collect()
            })
            .unwrap_or_default(),
        Action::PlaceStop {
            contract,
            side,
            size,
            stop_price,
        } => vec![Job::PlaceStop {
            account,
            contract: contract.clone(),
            side: *side,
            size: *size,
            stop_price: *stop_price,
        }],
        Action::ModifyStop { order, stop_price } => {
            vec![Job::ModifyStop {
                account,
                order: *order,
                stop_price: *stop_price,
            }]
        }
        Action::Lockout { .. }
        | Action::Cooldown { .. }
        | Action::Unlock
        | Action::Alert { .. }
        | Action::Reset => Vec::new(),
    }
}

/// Runs jobs on the right session, at most one call in flight per target.
#[derive(Debug)]
pub struct Executor {
    in_flight: Arc<Mutex<HashSet<(AccountId, Target)>>>,
    outcomes: mpsc::Sender<(Timestamp, Outcome)>,
    feed: mpsc::Sender<(Timestamp, Feed)>,
    tasks: JoinSet<()>,
    /// Jobs whose call has not been answered yet.
    running: Arc<std::sync::atomic::AtomicUsize>,
    tag_seq: Arc<AtomicU64>,
}

impl Executor {
    pub fn new(
        outcomes: mpsc::Sender<(Timestamp, Outcome)>,
        feed: mpsc::Sender<(Timestamp, Feed)>,
    ) -> Self {
        // Tags must be unique per account across restarts: start the sequence at the current millisecond.
        let start = u64::try_from(Timestamp::now().as_millisecond()).unwrap_or(0);
        Executor {
            in_flight: Arc::default(),
            outcomes,
            feed,
            tasks: JoinSet::new(),
            running: Arc::default(),
            tag_seq: Arc::new(AtomicU64::new(start)),
        }
    }

    /// Calls still running.
    pub fn in_flight(&self) -> usize {
        self.tasks.len()
    }

    /// No call in flight: every job started has had its answer (its outcome is on its way to the loop, so
    /// the loop learns of the last answer after this turns true, never before).
    pub fn is_idle(&self) -> bool {
        self.running.load(Ordering::Acquire) == 0
    }

    /// Reap finished tasks (cheap; call from the loop now and then).
    pub fn reap(&mut self) {
        while let Some(r) = self.tasks.try_join_next() {
            if let Err(e) = r {
                tracing::error!(error = %e, "an enforcement task failed");
            }
        }
    }

    /// Wait for every call in flight, up to `deadline`. Returns how many were still running.
    pub async fn drain(&mut self, deadline: std::time::Duration) -> usize {
        let waited = tokio::time::timeout(deadline, async {
            while self.tasks.join_next().await.is_some() {}
        })
        .await;
        if waited.is_err() {
            let left = self.tasks.len();
            self.tasks.abort_all();
            left
        } else {
            0
        }
    }

    /// Start a job; `metrics`, when given, gets the time from `arrived` (when the input behind the decision
    /// arrived) to the call starting, and from now to the gateway's answer.
    pub fn run(
        &mut self,
        session: Arc<Session>,
        job: Job,
        metrics: Option<Arc<crate::metrics::Metrics>>,
        arrived: Timestamp,
    ) {
        if let Some(key) = job.key() {
            let mut guard = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
            if !guard.insert(key.clone()) {
                tracing::info!(
                    ?key,
                    "a call for this target is already in flight: not sending another"
                );
                return;
            }
        }
        let in_flight = self.in_flight.clone();
        let outcomes = self.outcomes.clone();
        let feed = self.feed.clone();
        let tag = format!(
            "riskguard:{}:{}",
            job_account(&job),
            self.tag_seq.fetch_add(1, Ordering::Relaxed)
        );
        let key = job.key();
        let started = std::time::Instant::now();
        let running = self.running.clone();
        running.fetch_add(1, Ordering::AcqRel);
        self.tasks.spawn(async move {
            if let Some(m) = &metrics {
                // A wall clock stepped back makes it negative: count that as no wait.
                let waited = Timestamp::now().duration_since(arrived);
                m.reaction
                    .record(std::time::Duration::try_from(waited).unwrap_or_default());
            }
            let (outcome, read_back) = execute(session, job, tag).await;
            running.fetch_sub(1, Ordering::AcqRel);
            if let Some(m) = metrics {
                m.enforcement.record(started.elapsed());
            }
            if let Some(key) = key {
                in_flight
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&key);
            }
            let now = Timestamp::now();
            for event in read_back {
                let _ = feed.send((now, Feed::Event(event))).await;
            }
            if let Some(outcome) = outcome {
                let _ = outcomes.send((now, outcome)).await;
            }
        });
    }
}

fn job_account(job: &Job) -> AccountId {
    match job {
        Job::Close { account, .. }
        | Job::PartialClose { account, .. }
        | Job::Cancel { account, .. }
        | Job::PlaceStop { account, .. }
        | Job::ModifyStop { account, .. } => *account,
    }
}

fn outcome(account: AccountId, target: Target, ok: bool, detail: String) -> Outcome {
    Outcome {
        account,
        target,
        ok,
        detail,
        closed: false,
    }
}

/// A whole-position close the gateway carried out: the engine then treats the next position event of that
/// contract as a new position.
fn closed(account: AccountId, target: Target, detail: String) -> Outcome {
    Outcome {
        account,
        target,
        ok: true,
        detail,
        closed: true,
    }
}

/// What the gateway showed when a target was read back: fed to the engine as ordinary events.
type ReadBack = Vec<Event>;

/// One job: the call, and after an unknown outcome a read-back. What the read-back shows goes to the engine
/// as ordinary events (after the in-flight mark is cleared), so the engine decides again from what it sees.
async fn execute(session: Arc<Session>, job: Job, tag: String) -> (Option<Outcome>, ReadBack) {
    let mut read_back = ReadBack::new();
    let outcome = match &job {
        Job::Close { account, contract }
        | Job::PartialClose {
            account, contract, ..
        } => {
            let result = match &job {
                Job::PartialClose { size, .. } => {
                    session.partial_close(*account, contract, *size).await
                }
                _ => session.close_contract(*account, contract).await,
            };
            let target = Target::Position {
                contract: contract.clone(),
            };
            let whole = matches!(job, Job::Close { .. });
            Some(match result {
                CallOutcome::Done if whole => closed(*account, target, "sent".into()),
                CallOutcome::Done => outcome(*account, target, true, "sent".into()),
                CallOutcome::Rejected { code, message } if code != gateway::UNAUTHORIZED => {
                    outcome(
                        *account,
                        target,
                        false,
                        format!("rejected (code {code}): {message}"),
                    )
                }
                // Unknown (timeout, 5xx, 429), or refused for a token the session has since renewed: read
                // back and decide from what the gateway shows.
                CallOutcome::Rejected {
                    message: reason, ..
                }
                | CallOutcome::Ambiguous { reason } => {
                    match session.open_positions(*account).await {
                        Ok(positions) => {
                            match positions.into_iter().find(|p| &p.contract == contract) {
                                Some(p) => {
                                    read_back.push(Event::Position(p));
                                    outcome(
                                        *account,
                                        target,
                                        false,
                                        format!("{reason}; read back: still open"),
                                    )
                                }
                                None => {
                                    read_back.push(Event::Position(model::event::PositionUpdate {
                                        account: *account,
                                        contract: contract.clone(),
                                        size: 0,
                                        average_price: rust_decimal::Decimal::ZERO,
                                    }));
                                    outcome(
                                        *account,
                                        target,
                                        true,
                                        format!("{reason}; read back: flat"),
                                    )
                                }
                            }
                        }
                        Err(e) => outcome(
                            *account,
                            target,
                            false,
                            format!("{reason}; read back failed: {e}"),
                        ),
                    }
                }
            })
        }
        Job::Cancel { account, order } | Job::ModifyStop { account, order, .. } => {
            let result = match &job {
                Job::ModifyStop { stop_price, .. } => {
                    session.modify_stop(*account, *order, *stop_price).await
                }
                _ => session.cancel_order(*account, *order).await,
            };
            let target = Target::Order { order: *order };
            Some(match result {
                CallOutcome::Done => outcome(*account, target, true, "sent".into()),
                CallOutcome::Rejected { code, message } if code != gateway::UNAUTHORIZED => {
                    outcome(
                        *account,
                        target,
                        false,
                        format!("rejected (code {code}): {message}"),
                    )
                }
                CallOutcome::Rejected {
                    message: reason, ..
                }
                | CallOutcome::Ambiguous { reason } => {
                    match session.working_orders(*account).await {
                        Ok(orders) => match orders.into_iter().find(|o| o.order == *order) {
                            Some(o) => {
                                read_back.push(Event::Order(o));
                                outcome(
                                    *account,
                                    target,
                                    false,
                                    format!("{reason}; read back: still working"),
                                )
                            }
                            None => outcome(
                                *account,
                                target,
                                true,
                                format!("{reason}; read back: gone"),
                            ),
                        },
                        Err(e) => outcome(
                            *account,
                            target,
                            false,
                            format!("{reason}; read back failed: {e}"),
                        ),
                    }
                }
            })
        }
        Job::PlaceStop {
            account,
            contract,
            side,
            size,
            stop_price,
        } => {
            match session
                .place_stop(*account, contract, *side, *size, *stop_price, &tag)
                .await
            {
                CallOutcome::Done => {}
                CallOutcome::Rejected { code, message } => {
                    tracing::warn!(%account, %contract, code, message, "placing a stop was rejected");
                }
                CallOutcome::Ambiguous { reason } => match session.working_orders(*account).await {
                    // Look for our tag before anything else: the stop may exist.
                    Ok(orders) => match orders
                        .into_iter()
                        .find(|o| o.custom_tag.as_deref() == Some(tag.as_str()))
                    {
                        Some(o) => read_back.push(Event::Order(o)),
                        None => {
                            tracing::warn!(%account, %contract, reason, "placing a stop: outcome unknown and no stop found")
                        }
                    },
                    Err(e) => {
                        tracing::warn!(%account, %contract, reason, error = %e, "placing a stop: read back failed")
                    }
                },
            }
            None
        }
    };
    (outcome, read_back)
}
