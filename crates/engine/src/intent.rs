//! Intents: what a rule asks for before the engine merges the instant's requests into decisions.
//!
//! Rules push intents; [`crate::Engine`] then orders them by rule, lets close-all subsume single closes,
//! applies "once per target" and turns lock requests into `lockout`/`cooldown` lines only when a lock is
//! created or its expiry moves later.

use jiff::Timestamp;
use model::decision::{Action, RuleId};
use model::ids::AccountId;

use crate::state::LockKind;

#[derive(Debug, Clone)]
pub(crate) enum What {
    Act(Action),
    Lock {
        kind: LockKind,
        until: Option<Timestamp>,
        cooldown: bool,
        window: Option<String>,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct Intent {
    pub account: AccountId,
    pub rule: RuleId,
    pub what: What,
    pub reason: String,
}

/// The requests of one instant, in the order rules made them.
#[derive(Debug, Default)]
pub(crate) struct Intents(pub Vec<Intent>);

impl Intents {
    pub fn act(&mut self, account: AccountId, rule: RuleId, action: Action, reason: String) {
        self.0.push(Intent {
            account,
            rule,
            what: What::Act(action),
            reason,
        });
    }

    pub fn lock(
        &mut self,
        account: AccountId,
        rule: RuleId,
        kind: LockKind,
        until: Option<Timestamp>,
        reason: String,
    ) {
        self.0.push(Intent {
            account,
            rule,
            what: What::Lock {
                kind,
                until,
                cooldown: false,
                window: None,
            },
            reason,
        });
    }

    pub fn cooldown(&mut self, account: AccountId, rule: RuleId, until: Timestamp, reason: String) {
        let what = What::Lock {
            kind: LockKind::Timed,
            until: Some(until),
            cooldown: true,
            window: None,
        };
        self.0.push(Intent {
            account,
            rule,
            what,
            reason,
        });
    }

    pub fn session_lock(
        &mut self,
        account: AccountId,
        until: Option<Timestamp>,
        window: String,
        reason: String,
    ) {
        let kind = if until.is_some() {
            LockKind::Timed
        } else {
            LockKind::Permanent
        };
        let what = What::Lock {
            kind,
            until,
            cooldown: false,
            window: Some(window),
        };
        self.0.push(Intent {
            account,
            rule: RuleId::SessionBlockOutside,
            what,
            reason,
        });
    }
}
