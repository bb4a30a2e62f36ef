//! Changes waiting out their cooling-off delay (issue 6, "tighten-only while trading"): a confirmed lock
//! clearing or a confirmed loosening of risk_config.yaml, with the instant it takes effect.
//!
//! The list lives in the loop, is shown in the API's view (`View::pending`), and is saved in the store's meta
//! table after every change, so a restart neither forgets a waiting change nor applies it early. The loop
//! wakes at [`Pending::next_due`] and carries out what [`Pending::take_due`] hands it.
//!
//! A config change keeps the file's text from when it was confirmed (`base`) and the text it will apply
//! (`text`). When it comes due the file must still hold one of the two, or, for a `rules set`, exactly the
//! config the daemon runs (another change was applied meanwhile): then the one edit is made again on it. A
//! file edited by hand in between is not applied (the admin confirms again), so a small confirmed loosening
//! can never carry unreviewed edits in with it.

use api::PendingChange;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// The store's meta key of the list.
pub const META_KEY: &str = "pending_changes";

/// What to do when the delay is over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    ClearLock {
        account: i64,
        rule: String,
    },
    /// Switch dry-run (on: enforcement stops).
    DryRun {
        enabled: bool,
    },
    /// Apply `text` as risk_config.yaml (written first when the file still holds `base`). For `rules set`,
    /// `edit` is the one value it changes: when the file has moved on since (another change applied, and the
    /// file holds exactly the running config), the edit is made again on the file as it is then.
    Config {
        base: String,
        text: String,
        #[serde(default)]
        edit: Option<Edit>,
    },
}

/// One value of risk_config.yaml to set (`rules set`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Edit {
    /// The key path from the document root (`rules`, `daily_realized_loss`, `loss_limit`).
    pub path: Vec<String>,
    /// The YAML value.
    pub value: String,
}

/// One waiting change: what people see, and what the loop will do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    pub shown: PendingChange,
    pub change: Change,
}

/// The waiting changes, soonest first.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    next_id: u64,
    items: Vec<Item>,
}

impl Pending {
    /// The list saved in the store, or an empty one (a corrupt entry is logged and dropped: nothing loosens).
    pub fn load(store: &store::Store) -> Pending {
        match store.meta(META_KEY) {
            Ok(Some(text)) => serde_json::from_str(&text).unwrap_or_else(|e| {
                tracing::error!(error = %e, "the saved pending changes are unreadable: none will be applied");
                Pending::default()
            }),
            Ok(None) => Pending::default(),
            Err(e) => {
                tracing::error!(error = %e, "cannot read the pending changes: none will be applied");
                Pending::default()
            }
        }
    }

    /// Save the list (logged on failure: the change still waits in memory).
    pub fn save(&self, store: &store::Store) {
        let text = serde_json::to_string(self).unwrap_or_default();
        if let Err(e) = store.set_meta(META_KEY, &text) {
            tracing::error!(error = %e, "cannot save the pending changes");
        }
    }

    /// Add a change; `shown.id` is assigned here. Returns what people see.
    pub fn add(&mut self, mut shown: PendingChange, change: Change) -> PendingChange {
        self.next_id += 1;
        shown.id = self.next_id;
        self.items.push(Item {
            shown: shown.clone(),
            change,
        });
        self.items
            .sort_by_key(|i| (i.shown.effective_at, i.shown.id));
        shown
    }

    /// Withdraw a change before it takes effect.
    pub fn cancel(&mut self, id: u64) -> Option<Item> {
        let at = self.items.iter().position(|i| i.shown.id == id)?;
        Some(self.items.remove(at))
    }

    /// The changes whose delay is over at `now`, soonest first, removed from the list.
    pub fn take_due(&mut self, now: Timestamp) -> Vec<Item> {
        let (due, later): (Vec<Item>, Vec<Item>) = std::mem::take(&mut self.items)
            .into_iter()
            .partition(|i| i.shown.effective_at <= now);
        self.items = later;
        due
    }

    /// When the next change comes due.
    pub fn next_due(&self) -> Option<Timestamp> {
        self.items.first().map(|i| i.shown.effective_at)
    }

    /// What the API shows.
    pub fn list(&self) -> Vec<PendingChange> {
        self.items.iter().map(|i| i.shown.clone()).collect()
    }

    /// A clearing of this lock is already waiting.
    pub fn has_clear_lock(&self, account: i64, rule: &str) -> Option<&PendingChange> {
        self.items
            .iter()
            .find(|i| {
                matches!(&i.change, Change::ClearLock { account: a, rule: r } if *a == account && r == rule)
            })
            .map(|i| &i.shown)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn shown(at: &str) -> PendingChange {
        let t: Timestamp = at.parse().unwrap();
        PendingChange {
            id: 0,
            kind: "clear_lock".into(),
            account: Some(7),
            description: "clear".into(),
            loosens: vec![],
            reason: "r".into(),
            by: "admin".into(),
            requested_at: t,
            effective_at: t,
        }
    }

    fn clear(rule: &str) -> Change {
        Change::ClearLock {
            account: 7,
            rule: rule.into(),
        }
    }

    #[test]
    fn changes_come_due_in_order_and_only_when_due() {
        let mut p = Pending::default();
        let late = p.add(shown("2026-03-02T15:30:00Z"), clear("a"));
        let early = p.add(shown("2026-03-02T15:15:00Z"), clear("b"));
        assert_eq!((late.id, early.id), (1, 2));
        assert_eq!(p.next_due(), Some("2026-03-02T15:15:00Z".parse().unwrap()));
        assert!(
            p.take_due("2026-03-02T15:14:59Z".parse().unwrap())
                .is_empty()
        );
        let due = p.take_due("2026-03-02T15:15:00Z".parse().unwrap());
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].change, clear("b"));
        assert_eq!(p.list().len(), 1);
        assert!(p.has_clear_lock(7, "a").is_some());
        assert!(p.has_clear_lock(7, "b").is_none());
        assert_eq!(p.cancel(1).map(|i| i.change), Some(clear("a")));
        assert!(p.cancel(1).is_none());
        assert_eq!(p.next_due(), None);
    }

    #[test]
    fn the_list_survives_a_save_and_load() {
        let dir = std::env::temp_dir().join(format!("rg-pending-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = store::Store::open(&dir).unwrap();
        let mut p = Pending::default();
        p.add(
            shown("2026-03-02T15:30:00Z"),
            Change::Config {
                base: "a: 1\n".into(),
                text: "a: 2\n".into(),
                edit: None,
            },
        );
        p.save(&store);
        store.flush().unwrap();
        assert_eq!(Pending::load(&store), p);
        // Ids keep counting after a restart.
        let mut again = Pending::load(&store);
        assert_eq!(again.add(shown("2026-03-02T15:31:00Z"), clear("x")).id, 2);
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
