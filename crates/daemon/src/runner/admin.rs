//! Admin actions, carried out by the loop (so they are ordered with every other input): clear a lock and
//! flatten go to the engine as journaled admin events; dry-run and reload are the daemon's own and are
//! journaled as `note` lines. Each is answered with what happened, or why nothing did.

use std::sync::Arc;

use api::{AdminAction, AdminDone, AdminError, AdminRequest, AdminResult, DecisionRecord};
use jiff::Timestamp;
use model::decision::RuleId;
use model::event::{AdminCommand, Event};
use model::ids::AccountId;
use serde_json::json;

use super::Loop;
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

impl Loop {
    pub(super) async fn admin(&mut self, request: AdminRequest) -> AdminResult {
        let by = request.by.trim().to_owned();
        let now = self.stamp(Timestamp::now());
        match request.action {
            AdminAction::ClearLock {
                account,
                rule,
                reason: why,
                confirm: _,
            } => {
                let why = reason(&why)?;
                let account = self.watched_account(account)?;
                let rule_id: RuleId = serde_json::from_value(json!(rule))
                    .map_err(|_| error("bad_request", format!("unknown rule `{rule}`")))?;
                let has_lock = self
                    .engine
                    .state()
                    .accounts
                    .get(&account)
                    .is_some_and(|a| a.locks.contains_key(&rule_id));
                if !has_lock {
                    return Err(error(
                        "not_found",
                        format!("account {account} has no {rule_id} lock"),
                    ));
                }
                let cmd = AdminCommand::ClearLock {
                    account,
                    rule: rule_id,
                    reason: format!("{why} (by {by})"),
                };
                self.handle(Event::Admin(cmd), now).await;
                self.metrics.admin("clear_lock");
                tracing::warn!(%account, rule = %rule_id, reason = %why, %by, "lock cleared by an admin");
                done(format!(
                    "the {rule_id} lock on account {account} is cleared"
                ))
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
            AdminAction::SetDryRun {
                enabled,
                reason: why,
            } => {
                let why = reason(&why)?;
                let was = self.dry_run;
                self.dry_run = enabled;
                self.journal.note(
                    now,
                    &json!({"action": "set_dry_run", "enabled": enabled, "reason": why, "by": by}),
                );
                self.metrics.admin("set_dry_run");
                let text = if enabled {
                    format!("dry-run on: decisions are recorded, nothing is sent ({why}, by {by})")
                } else {
                    format!("dry-run off: enforcement sends calls again ({why}, by {by})")
                };
                tracing::warn!(enabled, was, reason = %why, %by, "dry-run switched by an admin");
                self.announce(now, "set_dry_run", &text);
                self.dirty = true;
                done(text)
            }
            AdminAction::Reload { confirm: _ } => {
                let Some(path) = self.risk_path.clone() else {
                    return Err(error(
                        "bad_request",
                        "this daemon's rules were built in code: there is no file to reload",
                    ));
                };
                match config::load_risk_config(&path) {
                    Err(errors) => {
                        tracing::warn!(errors = errors.len(), %by, "reload refused: the running config stays");
                        Err(AdminError {
                            kind: "invalid_config".into(),
                            message: format!(
                                "{} has {} error(s); the running config is unchanged",
                                path.display(),
                                errors.len()
                            ),
                            errors: errors.iter().map(ToString::to_string).collect(),
                        })
                    }
                    Ok(risk) => {
                        let risk = Arc::new(risk);
                        self.engine.set_config(risk.clone());
                        self.published.set_rules(
                            view::account_rules(&risk, &self.watched),
                            view::holidays(&risk, now),
                        );
                        self.journal.note(
                            now,
                            &json!({"action": "reload", "file": path.display().to_string(), "by": by}),
                        );
                        self.metrics.admin("reload");
                        let text = format!("{} reloaded (by {by})", path.display());
                        tracing::warn!(file = %path.display(), %by, "config reloaded by an admin");
                        self.announce(now, "reload", &text);
                        self.dirty = true;
                        done(text)
                    }
                }
            }
            AdminAction::SetRule { .. }
            | AdminAction::SelfLock { .. }
            | AdminAction::CancelPending { .. } => Err(error("unavailable", "not built yet")),
        }
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

    /// An admin action outside the engine, shown in every account's history and on the stream.
    fn announce(&self, t: Timestamp, action: &str, text: &str) {
        for a in &self.watched {
            self.published.decision(DecisionRecord {
                t,
                account: a.0,
                rule: RuleId::Admin.to_string(),
                action: action.into(),
                details: json!({}),
                reason: text.into(),
                dry_run: self.dry_run,
            });
        }
    }
}
