//! Who carries out the store's requests, and on which thread: flat combining.
//!
//! Every request goes into one first-in first-out queue; the queue's order is the journal's order. A caller that
//! waits for its answer ([`Combiner::call`]) then, if the connection is free, takes its lock and carries out
//! everything queued, its own request included, on its own thread. Nothing is handed to another thread and back,
//! so a lone waited append costs its transaction and no thread wake-up (on 2 cores, the wake-up of a blocked
//! thread was the slow part of journaling a decision: docs/PERFORMANCE.md). If the connection is busy, the caller
//! waits for its answer: the holder carries out every request queued before it lets go, so callers that arrive
//! together still share one transaction (group commit). A decision still commits only after the quotes queued
//! before it.
//!
//! Requests nobody waits for ([`Combiner::queue`]: quotes) are committed by the next caller that waits, or by the
//! background thread ([`Combiner::run_background`]) [`LAZY_COMMIT_GAP`] after the first of them arrived: at
//! thousands of quotes per second a transaction each would be most of the work, and a quote that leads to a
//! decision is best committed with it, on the caller's thread, while the background thread keeps out of the way.
//!
//! Requests are taken off the queue only by the holder of the connection's lock, and the holder carries out every
//! waited request before letting go. A waited request queued just as the lock was let go is picked up by the
//! holder's check after letting go ([`Combiner::combine`]); its caller also retries the lock every [`RECHECK`],
//! so that no interleaving can leave a request queued with nobody to carry it out. Unwaited requests left in the
//! queue are the background thread's: it looks at the queue again after each of its commits.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, TryLockError};
use std::time::Duration;

use crate::db::{Counters, Db, Reply, Req};
use crate::error::StoreError;

/// The most requests one batch takes off the queue (one transaction, when they are all writes).
const MAX_BATCH: usize = 4096;
/// How long the background thread lets unwaited requests gather before it commits them. Most of them are
/// committed sooner, by a waited request after them; in a flood, a transaction each would be most of the work.
const LAZY_COMMIT_GAP: Duration = Duration::from_millis(1);
/// How long a caller waits for its answer before trying the connection's lock again itself.
const RECHECK: Duration = Duration::from_millis(1);

/// The queue, the connection, and the background thread's wake-up.
pub(crate) struct Combiner {
    queue: Mutex<Queue>,
    /// Signalled when an unwaited request arrives while the background thread is idle, and on close.
    wake: Condvar,
    db: Mutex<Db>,
    pub(crate) counters: Arc<Counters>,
}

#[derive(Default)]
struct Queue {
    reqs: VecDeque<(Req, bool)>,
    /// How many of `reqs` have a caller waiting for them.
    waited: usize,
    /// The background thread is waiting for work (a push must wake it).
    idle: bool,
    /// The store is being dropped: the background thread finishes what is queued and ends.
    closing: bool,
}

/// A panic while a lock was held leaves nothing half-done that matters here: an open transaction rolls back
/// when it unwinds, and each push to or take from the queue is one step under its lock. So a poisoned lock is
/// used as is.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// [`lock`], unless another thread holds it.
fn try_lock<T>(m: &Mutex<T>) -> Option<MutexGuard<'_, T>> {
    match m.try_lock() {
        Ok(guard) => Some(guard),
        Err(TryLockError::Poisoned(p)) => Some(p.into_inner()),
        Err(TryLockError::WouldBlock) => None,
    }
}

impl Combiner {
    pub(crate) fn new(db: Db) -> Combiner {
        Combiner {
            counters: Arc::clone(&db.counters),
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
            db: Mutex::new(db),
        }
    }

    /// Queue a request and return once it is carried out, with its answer.
    pub(crate) fn call<T>(&self, make: impl FnOnce(Reply<T>) -> Req) -> Result<T, StoreError> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.push(make(reply), true);
        loop {
            self.combine();
            match answer.recv_timeout(RECHECK) {
                Ok(result) => return result,
                // Whoever took the request dropped it unanswered: it panicked.
                Err(RecvTimeoutError::Disconnected) => return Err(StoreError::Closed),
                Err(RecvTimeoutError::Timeout) => {}
            }
        }
    }

    /// Queue a request without waiting for it.
    pub(crate) fn queue(&self, req: Req) {
        self.push(req, false);
    }

    fn push(&self, req: Req, waited: bool) {
        let mut q = lock(&self.queue);
        q.reqs.push_back((req, waited));
        if waited {
            q.waited += 1;
        } else if q.idle {
            // A waited request is carried out by its caller; only an unwaited one needs the background thread.
            q.idle = false;
            self.wake.notify_one();
        }
        self.counters.queued.fetch_add(1, Ordering::SeqCst);
    }

    /// If the connection is free, carry out everything queued; again after letting go if a waited request was
    /// queued meanwhile (its caller found the lock taken and counts on the holder).
    fn combine(&self) {
        while let Some(mut db) = try_lock(&self.db) {
            self.drain(&mut db);
            drop(db);
            if lock(&self.queue).waited == 0 {
                return;
            }
        }
    }

    /// Carry out what is queued, a batch at a time, until no waited request is left. Unwaited ones that arrive
    /// meanwhile stay for the background thread: a holder that took one batch after another while they trickle
    /// in would commit them a few at a time. Only with the connection's lock held.
    fn drain(&self, db: &mut Db) {
        loop {
            let batch: Vec<Req> = {
                let mut q = lock(&self.queue);
                let n = q.reqs.len().min(MAX_BATCH);
                let batch: Vec<(Req, bool)> = q.reqs.drain(..n).collect();
                q.waited -= batch.iter().filter(|(_, waited)| *waited).count();
                batch.into_iter().map(|(req, _)| req).collect()
            };
            if batch.is_empty() {
                return;
            }
            db.process(batch);
            if lock(&self.queue).waited == 0 {
                return;
            }
        }
    }

    /// The background thread's loop: commit what nobody waits for, until [`Combiner::close`] and an empty queue.
    pub(crate) fn run_background(&self) {
        loop {
            let closing = {
                let mut q = lock(&self.queue);
                while q.reqs.is_empty() {
                    if q.closing {
                        return;
                    }
                    q.idle = true;
                    q = self.wake.wait(q).unwrap_or_else(PoisonError::into_inner);
                }
                q.idle = false;
                q.closing
            };
            // Let the run gather company. A quote that leads to a decision is committed sooner, with the decision,
            // by the caller that journals it; and in a flood, one transaction takes a millisecond's quotes.
            if !closing {
                std::thread::sleep(LAZY_COMMIT_GAP);
            }
            // Wait for a holder to let go (it empties the queue first), then take what is left.
            let mut db = lock(&self.db);
            self.drain(&mut db);
            drop(db);
            self.combine();
        }
    }

    /// Ask the background thread to finish what is queued and end.
    pub(crate) fn close(&self) {
        let mut q = lock(&self.queue);
        q.closing = true;
        self.wake.notify_one();
    }

    /// Tests: hold the connection's lock, so that requests pile up in the queue until the guard is dropped.
    #[cfg(test)]
    pub(crate) fn hold(&self) -> MutexGuard<'_, Db> {
        lock(&self.db)
    }
}
