//! Admin actions, carried out by the loop (so they are ordered with every other input): clear a lock, flatten
//! and the trader's self-lock go to the engine as journaled admin events; dry-run, reload and `rules set` are
//! the daemon's own and are journaled as `note` lines. Each is answered with what happened, or why nothing did.
//!
//! **Tighten-only while trading** ([`crate::guard`]): during a trading day, clearing a lock and any config
//! change that loosens protection are refused with `needs_confirmation` until the admin confirms; confirmed,
//! they wait `global.cooling_off_minutes` in [`crate::pending`] and are carried out by [`Loop::apply_due`].
//! Tightening changes, and everything outside a trading day, take effect at once.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use api::{AdminAction, AdminDone, AdminError, AdminRequest, AdminResult, PendingChange};
use jiff::{SignedDuration, Timestamp};
use model::config::RiskConfig;
use model::decision::RuleId;
use model::event::{AdminCommand, Event};
use model::ids::AccountId;
use serde_json::json;

use super::Loop;
use crate::guard;
use crate::pending::{Change, Edit, Item};
use crate::view;

fn error(kind: &str, message: impl Into<String>) -> AdminError {
    AdminError {
        kind: kind.into(),
        message: message.into(),
        errors: Vec::new(),
    }
}

fn done(message: impl Into<String>) -> AdminResult {
    Ok(AdminDone {
        message: message.into(),
        pending: None,
    })
}

/// A reason is mandatory: it is what the journal and the trader's history show.
fn reason(text: &str) -> Result<String, AdminError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(error("bad_request", "a reason is required"));
    }
    Ok(t.to_owned())
}

fn config_errors(path: &Path, errors: &[config::ConfigError]) -> AdminError {
    AdminError {
        kind: "invalid_config".into(),
        message: format!(
            "{} would have {} error(s); nothing was changed",
            path.display(),
            errors.len()
        ),
        errors: errors.iter().map(ToString::to_string).collect(),
    }
}

/// A loosening asked for during the trading day, for [`Loop::gate`].
struct Loosening {
    /// `clear_lock`, `config` or `dry_run` (`PendingChange::kind`).
    kind: &'static str,
    account: Option<i64>,
    /// For people: what the change is.
    what: String,
    /// Each loosening in it.
    loosens: Vec<String>,
    reason: String,
    by: String,
}

/// What [`Loop::gate`] decided.
enum Gate {
    /// Carry the change out now.
    Now(Change),
    /// Answer with this (needs confirmation, or scheduled).
    Answer(AdminResult),
}

/// A loosening asked for without `confirm`.
fn needs_confirmation(what: &str, loosens: Vec<String>, minutes: u32) -> AdminError {
    AdminError {
        kind: "needs_confirmation".into(),
        message: format!(
            "{what} loosens protection during the trading day: confirm it, and it takes effect {minutes} \
             minute(s) later"
        ),
        errors: loosens,
    }
}

/// Write the file whole or not at all (a temporary file beside it, then a rename).
fn write_atomically(path: &Path, text: &str) -> Result<(), AdminError> {
    let tmp = path.with_extension("yaml.new");
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            error(
                "unavailable",
                format!("cannot write {}: {e}; nothing was changed", path.display()),
            )
        })
}

fn read_file(path: &Path) -> Result<String, AdminError> {
    std::fs::read_to_string(path).map_err(|e| {
        error(
            "unavailable",
            format!("cannot read {}: {e}", path.display()),
        )
    })
}

impl Loop {
    pub(super) async fn admin(&mut self, request: AdminRequest) -> AdminResult {
        let by = request.by.trim().to_owned();
        let now = self.stamp(Timestamp::now());
        match request.action {
            AdminAction::ClearLock {
                account,
                rule,
                reason: why,
                confirm,
            } => {
                let why = reason(&why)?;
                self.clear_lock(account, &rule, why, confirm, &by, now)
                    .await
            }
            AdminAction::Flatten {
                account,
                reason: why,
            } => {
                let why = reason(&why)?;
                let account = self.watched_account(account)?;
                let cmd = AdminCommand::Flatten {
                    account,
                    reason: format!("{why} (by {by})"),
                };
                self.handle(Event::Admin(cmd), now).await;
                self.metrics.admin("flatten");
                tracing::warn!(%account, reason = %why, %by, "flatten by an admin");
                done(format!(
                    "account {account}: closing every position and cancelling every working order"
                ))
            }
            AdminAction::SelfLock { reason: why } => {
                let why = reason(&why)?;
                for account in self.watched.clone() {
                    let cmd = AdminCommand::SelfLock {
                        account,
                        reason: format!("{why} (by {by})"),
                    };
                    self.handle(Event::Admin(cmd), now).await;
                }
                self.metrics.admin("self_lock");
                tracing::warn!(reason = %why, %by, "every account locked until the next reset on the trader's request");
                let until = self
                    .engine
                    .state()
                    .next_reset
                    .map_or_else(|| "the next reset".to_owned(), |t| t.to_string());
                done(format!(
                    "done for today: every account is locked until {until}; only an admin can clear it, \
                     with a cooling-off delay"
                ))
            }
            AdminAction::SetDryRun {
                enabled,
                reason: why,
                confirm,
            } => {
                let why = reason(&why)?;
                // Switching dry-run on stops enforcement: the biggest loosening there is.
                if enabled && !self.dry_run && guard::loosening_waits(self.engine.config(), now) {
                    let what = "dry-run on (decisions recorded, nothing sent)".to_owned();
                    let loosening = Loosening {
                        kind: "dry_run",
                        account: None,
                        loosens: vec![what.clone()],
                        what,
                        reason: why.clone(),
                        by: by.clone(),
                    };
                    if let Gate::Answer(answer) =
                        self.gate(loosening, confirm, Change::DryRun { enabled }, now)
                    {
                        return answer;
                    }
                }
                done(self.set_dry_run(enabled, &why, &by, now))
            }
            AdminAction::Reload { confirm } => {
                let path = self.risk_file()?;
                let text = read_file(&path)?;
                let risk = config::parse_risk_config_for(&text, &path)
                    .map_err(|errors| config_errors(&path, &errors))?;
                let change = Change::Config {
                    base: text.clone(),
                    text,
                    edit: None,
                };
                let what = format!("reload of {}", path.display());
                let why = "reload".to_owned();
                self.config_change(risk, change, &what, why, confirm, &by, now)
            }
            AdminAction::SetRule {
                key,
                value,
                reason: why,
                confirm,
            } => {
                let why = reason(&why)?;
                let path = self.risk_file()?;
                let base = read_file(&path)?;
                let key_path =
                    config::edit::key_path(&key).map_err(|e| error("bad_request", e.0))?;
                let old = config::edit::current_value(&base, &key_path)
                    .unwrap_or_else(|| "(not set)".to_owned());
                let text = config::edit::set_value(&base, &key_path, &value)
                    .map_err(|e| error("bad_request", e.0))?;
                let risk = config::parse_risk_config_for(&text, &path)
                    .map_err(|errors| config_errors(&path, &errors))?;
                let what = format!("{key} {old} -> {}", value.trim());
                let edit = Some(Edit {
                    path: key_path,
                    value: value.trim().to_owned(),
                });
                let change = Change::Config { base, text, edit };
                self.config_change(risk, change, &what, why, confirm, &by, now)
            }
            AdminAction::CancelPending { id, reason: why } => {
                let why = reason(&why)?;
                let Some(item) = self.pending.cancel(id) else {
                    return Err(error(
                        "not_found",
                        format!("no pending change {id} (it may have taken effect already)"),
                    ));
                };
                self.pending.save(self.journal.store());
                self.metrics.admin("cancel_pending");
                let text = format!(
                    "pending change {id} withdrawn: {} ({why}, by {by})",
                    item.shown.description
                );
                tracing::warn!(id, reason = %why, %by, "pending change withdrawn");
                self.record(
                    now,
                    "cancel_pending",
                    &text,
                    json!({"id": id, "reason": why, "by": by}),
                );
                done(text)
            }
        }
    }

    /// Switch dry-run now; journaled, logged and announced.
    fn set_dry_run(&mut self, enabled: bool, why: &str, by: &str, now: Timestamp) -> String {
        let was = self.dry_run;
        self.dry_run = enabled;
        self.metrics.admin("set_dry_run");
        let text = if enabled {
            format!("dry-run on: decisions are recorded, nothing is sent ({why}, by {by})")
        } else {
            format!("dry-run off: enforcement sends calls again ({why}, by {by})")
        };
        tracing::warn!(enabled, was, reason = %why, %by, "dry-run switched by an admin");
        self.record(
            now,
            "set_dry_run",
            &text,
            json!({"enabled": enabled, "reason": why, "by": by}),
        );
        text
    }

    fn risk_file(&self) -> Result<PathBuf, AdminError> {
        self.risk_path.clone().ok_or_else(|| {
            error(
                "bad_request",
                "this daemon's rules were built in code: there is no file to change",
            )
        })
    }

    fn cooling_off(&self) -> u32 {
        self.engine.config().global.cooling_off_minutes
    }

    /// The tighten-only gate for a loosening during the trading day: without `confirm`, the answer says what
    /// loosens; confirmed, the change waits out the cooling-off delay (the answer says until when); with a
    /// delay of 0 minutes it applies now.
    fn gate(&mut self, l: Loosening, confirm: bool, change: Change, now: Timestamp) -> Gate {
        let minutes = self.cooling_off();
        if !confirm {
            return Gate::Answer(Err(needs_confirmation(&l.what, l.loosens, minutes)));
        }
        if minutes == 0 {
            return Gate::Now(change);
        }
        let shown = PendingChange {
            id: 0,
            kind: l.kind.into(),
            account: l.account,
            description: l.what,
            loosens: l.loosens,
            reason: l.reason,
            by: l.by,
            requested_at: now,
            effective_at: now + SignedDuration::from_mins(i64::from(minutes)),
        };
        let shown = self.pending.add(shown, change);
        self.pending.save(self.journal.store());
        self.metrics.admin("schedule");
        let text = format!(
            "{} waits {minutes} minute(s): takes effect at {} ({}, by {})",
            shown.description, shown.effective_at, shown.reason, shown.by
        );
        tracing::warn!(id = shown.id, effective_at = %shown.effective_at, by = %shown.by, "{}", shown.description);
        self.record(now, "schedule", &text, json!({"pending": shown}));
        Gate::Answer(Ok(AdminDone {
            message: text,
            pending: Some(shown),
        }))
    }

    async fn clear_lock(
        &mut self,
        account: i64,
        rule: &str,
        why: String,
        confirm: bool,
        by: &str,
        now: Timestamp,
    ) -> AdminResult {
        let account = self.watched_account(account)?;
        let rule_id = RuleId::parse(rule.trim())
            .ok_or_else(|| error("bad_request", format!("unknown rule `{rule}`")))?;
        if !self.has_lock(account, rule_id) {
            return Err(error(
                "not_found",
                format!("account {account} has no {rule_id} lock"),
            ));
        }
        let what = format!("clearing the {rule_id} lock of account {account}");
        if guard::loosening_waits(self.engine.config(), now) {
            if let Some(waiting) = self.pending.has_clear_lock(account.0, rule_id.as_str()) {
                return Err(error(
                    "bad_request",
                    format!(
                        "{what} is already pending (id {}, takes effect at {})",
                        waiting.id, waiting.effective_at
                    ),
                ));
            }
            let loosening = Loosening {
                kind: "clear_lock",
                account: Some(account.0),
                loosens: vec![what.clone()],
                what,
                reason: why.clone(),
                by: by.to_owned(),
            };
            let change = Change::ClearLock {
                account: account.0,
                rule: rule_id.as_str().to_owned(),
            };
            if let Gate::Answer(answer) = self.gate(loosening, confirm, change, now) {
                return answer;
            }
        }
        self.clear_now(account, rule_id, &why, by, now).await;
        done(format!(
            "the {rule_id} lock on account {account} is cleared"
        ))
    }

    async fn clear_now(
        &mut self,
        account: AccountId,
        rule: RuleId,
        why: &str,
        by: &str,
        now: Timestamp,
    ) {
        let cmd = AdminCommand::ClearLock {
            account,
            rule,
            reason: format!("{why} (by {by})"),
        };
        self.handle(Event::Admin(cmd), now).await;
        self.metrics.admin("clear_lock");
        tracing::warn!(%account, %rule, reason = %why, %by, "lock cleared by an admin");
    }

    /// A validated new config: at once if it only tightens (or outside a trading day), otherwise confirmed
    /// and delayed.
    #[allow(clippy::too_many_arguments)]
    fn config_change(
        &mut self,
        risk: RiskConfig,
        change: Change,
        what: &str,
        why: String,
        confirm: bool,
        by: &str,
        now: Timestamp,
    ) -> AdminResult {
        let loosens = guard::loosenings(self.engine.config(), &risk, &self.watched);
        let change = if !loosens.is_empty() && guard::loosening_waits(self.engine.config(), now) {
            let loosening = Loosening {
                kind: "config",
                account: None,
                what: what.to_owned(),
                loosens,
                reason: why.clone(),
                by: by.to_owned(),
            };
            match self.gate(loosening, confirm, change, now) {
                Gate::Now(change) => change,
                Gate::Answer(answer) => return answer,
            }
        } else {
            change
        };
        let Change::Config { base, text, .. } = change else {
            return Err(error("bad_request", "not a config change"));
        };
        let path = self.risk_file()?;
        if base != text {
            write_atomically(&path, &text)?;
        }
        self.risk_text = Some(text);
        let text = self.apply_config(risk, what, &why, by, now);
        done(text)
    }

    /// Make `risk` the running config; journaled, logged and announced.
    fn apply_config(
        &mut self,
        risk: RiskConfig,
        what: &str,
        why: &str,
        by: &str,
        now: Timestamp,
    ) -> String {
        let risk = Arc::new(risk);
        self.engine.set_config(risk.clone());
        self.published.set_rules(
            view::account_rules(&risk, &self.watched),
            view::holidays(&risk, now),
        );
        let file = self
            .risk_path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        self.metrics.admin("reload");
        let text = format!("{what}: applied ({why}, by {by})");
        tracing::warn!(file = %file, %by, "{text}");
        self.record(
            now,
            "reload",
            &text,
            json!({"file": file, "change": what, "reason": why, "by": by}),
        );
        text
    }

    /// Carry out the pending changes whose delay is over.
    pub(super) async fn apply_due(&mut self, now: Timestamp) {
        let due = self.pending.take_due(now);
        if due.is_empty() {
            return;
        }
        self.pending.save(self.journal.store());
        self.dirty = true;
        for Item { shown, change } in due {
            match change {
                Change::ClearLock { account, rule } => {
                    let Some(rule) = RuleId::parse(&rule) else {
                        continue;
                    };
                    let account = AccountId(account);
                    if self.has_lock(account, rule) {
                        self.clear_now(account, rule, &shown.reason, &shown.by, now)
                            .await;
                    }
                }
                Change::DryRun { enabled } => {
                    self.set_dry_run(enabled, &shown.reason, &shown.by, now);
                }
                Change::Config { base, text, edit } => {
                    if let Err(e) = self.apply_due_config(&shown, &base, &text, edit.as_ref(), now)
                    {
                        let msg = format!(
                            "pending change {} not applied: {} ({})",
                            shown.id, shown.description, e.message
                        );
                        tracing::error!(errors = ?e.errors, "{msg}");
                        self.record(
                            now,
                            "pending_refused",
                            &msg,
                            json!({"id": shown.id, "why": e.message}),
                        );
                    }
                }
            }
        }
    }

    fn apply_due_config(
        &mut self,
        shown: &PendingChange,
        base: &str,
        text: &str,
        edit: Option<&Edit>,
        now: Timestamp,
    ) -> Result<(), AdminError> {
        let path = self.risk_file()?;
        let current = read_file(&path)?;
        let runs_current = self.risk_text.as_deref() == Some(current.as_str());
        let new_text = match edit {
            _ if current == text || current == base => text.to_owned(),
            // Another change was applied since (the file holds exactly the running config): make this
            // one edit again on top of it.
            Some(edit) if runs_current => {
                config::edit::set_value(&current, &edit.path, &edit.value)
                    .map_err(|e| error("bad_request", e.0))?
            }
            _ => {
                return Err(error(
                    "bad_request",
                    format!(
                        "{} was edited since the change was confirmed and those edits are not in force; \
                         reload or confirm the change again",
                        path.display()
                    ),
                ));
            }
        };
        let risk = config::parse_risk_config_for(&new_text, &path)
            .map_err(|errors| config_errors(&path, &errors))?;
        if current != new_text {
            write_atomically(&path, &new_text)?;
        }
        self.risk_text = Some(new_text);
        self.apply_config(risk, &shown.description, &shown.reason, &shown.by, now);
        Ok(())
    }

    fn has_lock(&self, account: AccountId, rule: RuleId) -> bool {
        self.engine
            .state()
            .accounts
            .get(&account)
            .is_some_and(|a| a.locks.contains_key(&rule))
    }

    fn watched_account(&self, id: i64) -> Result<AccountId, AdminError> {
        let account = AccountId(id);
        if self.watched.contains(&account) {
            Ok(account)
        } else {
            Err(error(
                "not_found",
                format!("account {id} is not watched by this daemon"),
            ))
        }
    }

    /// An admin action outside the engine: journaled as a `note` line (with `action` and the `text` people
    /// see, so that History shows it again after a restart), and shown in every account's history and on
    /// the stream.
    fn record(&mut self, t: Timestamp, action: &str, text: &str, mut data: serde_json::Value) {
        if let Some(m) = data.as_object_mut() {
            m.insert("action".into(), json!(action));
            m.insert("text".into(), json!(text));
        }
        self.journal.note(t, &data);
        for record in view::records_from_note(t, &data, &self.watched, self.dry_run) {
            self.published.decision(record);
        }
        self.dirty = true;
    }
}
