//! What the trader's screen shows, as plain data: the daemon's latest [`View`] kept current by the stream's
//! deltas, the day's decision history, the effective rules and holidays, the UI's own connection state, and
//! the UI state (tab, filters, help, the "done for today" dialog, scrolling).
//!
//! Nothing here does I/O or reads the clock: [`Model::apply`] takes a stream event, [`Model::on_key`] a key
//! press and answers with a [`Command`] for the shell to carry out, and the shell reports back through the
//! other `on_*` methods. Only key *presses* count (Windows Terminal also sends releases and repeats).

use api::{AccountRules, DecisionRecord, Holidays, StreamEvent, View};
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use jiff::Timestamp;

/// The tabs, in their order on screen (keys 1–7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Overview,
    Positions,
    Rules,
    Locks,
    History,
    Connections,
    Holidays,
}

impl Tab {
    pub const ALL: [Tab; 7] = [
        Tab::Overview,
        Tab::Positions,
        Tab::Rules,
        Tab::Locks,
        Tab::History,
        Tab::Connections,
        Tab::Holidays,
    ];

    /// The full title, and a short one for narrow terminals.
    pub fn titles(self) -> (&'static str, &'static str) {
        match self {
            Tab::Overview => ("Overview", "Overview"),
            Tab::Positions => ("Positions", "Positions"),
            Tab::Rules => ("Rules", "Rules"),
            Tab::Locks => ("Locks", "Locks"),
            Tab::History => ("History", "History"),
            Tab::Connections => ("Connections", "Conn"),
            Tab::Holidays => ("Holidays & sessions", "Holidays"),
        }
    }

    pub fn index(self) -> usize {
        Tab::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }

    fn offset(self, by: isize) -> Tab {
        let n = Tab::ALL.len().cast_signed();
        let i = (self.index().cast_signed() + by).rem_euclid(n);
        Tab::ALL[i.cast_unsigned()]
    }
}

/// The UI's own connection to the daemon's API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connection {
    /// The first attempt is under way.
    Connecting,
    /// The stream is open (since the instant the snapshot arrived).
    Live { since: Timestamp, reconnects: u64 },
    /// The daemon cannot be reached; the next attempt is at `retry_at`.
    Unreachable {
        error: String,
        retry_at: Timestamp,
        reconnects: u64,
    },
}

/// The "done for today" dialog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dialog {
    /// Asking for `y`.
    Confirm,
    /// The request is on its way.
    Sending,
    /// The daemon's answer (its message), or the error.
    Answer(Result<String, String>),
}

/// What the shell must do after a key press.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Quit,
    /// Lock every account until the next reset (`Client::done_for_today`).
    DoneForToday,
}

/// Everything the screen shows.
#[derive(Debug, Clone)]
pub struct Model {
    /// The latest view (`None` until the first snapshot).
    pub view: Option<View>,
    /// The trading day's decisions, oldest first.
    pub history: Vec<DecisionRecord>,
    pub rules: Vec<AccountRules>,
    pub holidays: Option<Holidays>,
    pub connection: Connection,
    /// When the UI last received a stream event.
    pub last_stream_event: Option<Timestamp>,
    pub tab: Tab,
    pub account_filter: Option<i64>,
    pub rule_filter: Option<String>,
    pub help: bool,
    pub dialog: Option<Dialog>,
    /// Lines (or rows) scrolled down in the current tab.
    pub scroll: u16,
    /// A fetch (rules, holidays, history) that failed while the stream is up, for the Connections tab.
    pub fetch_error: Option<String>,
}

impl Default for Model {
    fn default() -> Self {
        Model::new()
    }
}

impl Model {
    pub fn new() -> Model {
        Model {
            view: None,
            history: Vec::new(),
            rules: Vec::new(),
            holidays: None,
            connection: Connection::Connecting,
            last_stream_event: None,
            tab: Tab::Overview,
            account_filter: None,
            rule_filter: None,
            help: false,
            dialog: None,
            scroll: 0,
            fetch_error: None,
        }
    }

    /// Apply one stream event received at `now`.
    pub fn apply(&mut self, event: StreamEvent, now: Timestamp) {
        self.last_stream_event = Some(now);
        if let StreamEvent::Snapshot(view) = event {
            self.view = Some(*view);
            return;
        }
        if let StreamEvent::Decision(d) = event {
            self.push_decision(d);
            return;
        }
        let Some(view) = self.view.as_mut() else {
            // Deltas before any snapshot cannot be placed; the snapshot always comes first.
            return;
        };
        match event {
            StreamEvent::Status(status) => view.status = status,
            StreamEvent::Account(account) => {
                match view.accounts.iter_mut().find(|a| a.id == account.id) {
                    Some(a) => *a = account,
                    None => {
                        view.accounts.push(account);
                        view.accounts.sort_by_key(|a| a.id);
                    }
                }
            }
            StreamEvent::Positions(p) => view.positions = p,
            StreamEvent::Orders(o) => view.orders = o,
            StreamEvent::Locks(l) => view.locks = l,
            StreamEvent::Pending(p) => view.pending = p,
            StreamEvent::Snapshot(_) | StreamEvent::Decision(_) => {}
        }
    }

    /// Add a decision unless the history already has it (the history fetched after the stream opened may
    /// hold the stream's first decisions too).
    fn push_decision(&mut self, d: DecisionRecord) {
        let known = self
            .history
            .iter()
            .rev()
            .take_while(|h| h.t >= d.t)
            .any(|h| *h == d);
        if !known {
            let at = self.history.partition_point(|h| h.t <= d.t);
            self.history.insert(at, d);
        }
    }

    /// The stream is open again (its snapshot follows).
    pub fn on_connected(&mut self, now: Timestamp) {
        let reconnects = match &self.connection {
            Connection::Connecting => 0,
            Connection::Live { reconnects, .. } | Connection::Unreachable { reconnects, .. } => {
                reconnects + 1
            }
        };
        self.connection = Connection::Live {
            since: now,
            reconnects,
        };
        self.fetch_error = None;
    }

    /// The daemon cannot be reached; the shell tries again at `retry_at`.
    pub fn on_unreachable(&mut self, error: String, retry_at: Timestamp) {
        let reconnects = match &self.connection {
            Connection::Connecting => 0,
            Connection::Live { reconnects, .. } | Connection::Unreachable { reconnects, .. } => {
                *reconnects
            }
        };
        self.connection = Connection::Unreachable {
            error,
            retry_at,
            reconnects,
        };
    }

    /// The day's history as fetched (replaces what was kept, keeps stream decisions that are newer).
    pub fn on_history(&mut self, mut fetched: Vec<DecisionRecord>) {
        fetched.sort_by_key(|d| d.t);
        let old = std::mem::replace(&mut self.history, fetched);
        let last = self.history.last().map(|d| d.t);
        for d in old {
            if last.is_none_or(|t| d.t >= t) {
                self.push_decision(d);
            }
        }
    }

    pub fn on_rules(&mut self, rules: Vec<AccountRules>) {
        self.rules = rules;
    }

    pub fn on_holidays(&mut self, holidays: Holidays) {
        self.holidays = Some(holidays);
    }

    /// The answer to "done for today".
    pub fn on_done_answer(&mut self, answer: Result<String, String>) {
        self.dialog = Some(Dialog::Answer(answer));
    }

    /// The accounts known to the screen (from the view and the history), ascending.
    pub fn known_accounts(&self) -> Vec<i64> {
        let mut ids: Vec<i64> = self.history.iter().map(|d| d.account).collect();
        if let Some(v) = &self.view {
            ids.extend(v.accounts.iter().map(|a| a.id));
        }
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// The rules that appear in the history, sorted.
    pub fn known_rules(&self) -> Vec<String> {
        let mut rules: Vec<String> = self.history.iter().map(|d| d.rule.clone()).collect();
        rules.sort_unstable();
        rules.dedup();
        rules
    }

    /// The history as the History tab shows it: filtered, newest first.
    pub fn filtered_history(&self) -> Vec<&DecisionRecord> {
        self.history
            .iter()
            .rev()
            .filter(|d| self.account_filter.is_none_or(|a| d.account == a))
            .filter(|d| self.rule_filter.as_ref().is_none_or(|r| d.rule == *r))
            .collect()
    }

    fn switch(&mut self, tab: Tab) {
        if self.tab != tab {
            self.tab = tab;
            self.scroll = 0;
        }
    }

    /// Handle a key event; only presses count.
    pub fn on_key(&mut self, key: KeyEvent) -> Option<Command> {
        if key.kind != KeyEventKind::Press {
            return None;
        }
        let ctrl_c =
            key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c');
        if ctrl_c {
            return Some(Command::Quit);
        }
        match &self.dialog {
            Some(Dialog::Confirm) => {
                if key.code == KeyCode::Char('y') {
                    self.dialog = Some(Dialog::Sending);
                    return Some(Command::DoneForToday);
                }
                self.dialog = None;
                return None;
            }
            Some(Dialog::Sending) => return None,
            Some(Dialog::Answer(_)) => {
                self.dialog = None;
                return None;
            }
            None => {}
        }
        if self.help {
            if key.code == KeyCode::Char('q') {
                return Some(Command::Quit);
            }
            self.help = false;
            return None;
        }
        match key.code {
            KeyCode::Char('q') => return Some(Command::Quit),
            KeyCode::Char('?') => self.help = true,
            KeyCode::Tab => self.switch(self.tab.offset(1)),
            KeyCode::BackTab => self.switch(self.tab.offset(-1)),
            KeyCode::Char(c @ '1'..='7') => {
                let i = usize::from(c as u8 - b'1');
                self.switch(Tab::ALL[i]);
            }
            KeyCode::Char('D') => self.dialog = Some(Dialog::Confirm),
            KeyCode::Char('a') => {
                self.account_filter = next_in(&self.known_accounts(), self.account_filter.as_ref());
                self.scroll = 0;
            }
            KeyCode::Char('r') => {
                self.rule_filter = next_in(&self.known_rules(), self.rule_filter.as_ref());
                self.scroll = 0;
            }
            KeyCode::Char('c') => {
                self.account_filter = None;
                self.rule_filter = None;
                self.scroll = 0;
            }
            KeyCode::Down | KeyCode::Char('j') => self.scroll = self.scroll.saturating_add(1),
            KeyCode::Up | KeyCode::Char('k') => self.scroll = self.scroll.saturating_sub(1),
            KeyCode::PageDown => self.scroll = self.scroll.saturating_add(10),
            KeyCode::PageUp => self.scroll = self.scroll.saturating_sub(10),
            KeyCode::Home => self.scroll = 0,
            _ => {}
        }
        None
    }
}

/// The filter after `current`: none → the first → … → the last → none.
fn next_in<T: Clone + PartialEq>(all: &[T], current: Option<&T>) -> Option<T> {
    match current {
        None => all.first().cloned(),
        Some(c) => {
            let at = all.iter().position(|x| x == c)?;
            all.get(at + 1).cloned()
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use api::{Status, TradingState};
    use crossterm::event::KeyEventState;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn press(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn release(code: KeyCode) -> KeyEvent {
        KeyEvent {
            code,
            modifiers: KeyModifiers::NONE,
            kind: KeyEventKind::Release,
            state: KeyEventState::NONE,
        }
    }

    fn decision(t_: &str, account: i64, rule: &str) -> DecisionRecord {
        DecisionRecord {
            t: t(t_),
            account,
            rule: rule.into(),
            action: "lockout".into(),
            details: serde_json::Value::Null,
            reason: format!("{rule} breached"),
            dry_run: false,
        }
    }

    fn view() -> View {
        View {
            at: t("2025-01-02T15:00:00Z"),
            status: Status {
                version: "1".into(),
                started_at: t("2025-01-02T14:00:00Z"),
                uptime_secs: 3600,
                dry_run: false,
                hubs: Vec::new(),
                last_event_at: None,
                last_event_age_ms: None,
                enforcement_online: true,
                journal_degraded: false,
                malformed_payloads: 0,
                rest_errors: 0,
            },
            accounts: vec![account(7001)],
            positions: Vec::new(),
            orders: Vec::new(),
            locks: Vec::new(),
            pending: Vec::new(),
        }
    }

    fn account(id: i64) -> api::Account {
        api::Account {
            id,
            can_trade: Some(true),
            state: TradingState::Ok,
            state_reason: None,
            state_until: None,
            realized_pnl: rust_decimal::Decimal::ZERO,
            unrealized_pnl: rust_decimal::Decimal::ZERO,
            net_pnl: rust_decimal::Decimal::ZERO,
            open_positions: 0,
            working_orders: 0,
            usage: Vec::new(),
        }
    }

    #[test]
    fn deltas_update_the_snapshot_and_are_ignored_before_it() {
        let now = t("2025-01-02T15:00:01Z");
        let mut m = Model::new();
        m.apply(StreamEvent::Locks(Vec::new()), now);
        assert!(m.view.is_none());
        m.apply(StreamEvent::Snapshot(Box::new(view())), now);
        let mut locked = account(7001);
        locked.state = TradingState::Locked;
        m.apply(StreamEvent::Account(locked), now);
        m.apply(StreamEvent::Account(account(6000)), now);
        let v = m.view.as_ref().unwrap();
        assert_eq!(v.accounts.len(), 2);
        assert_eq!(v.accounts[0].id, 6000, "kept sorted");
        assert_eq!(v.accounts[1].state, TradingState::Locked);
        assert_eq!(m.last_stream_event, Some(now));
    }

    #[test]
    fn decisions_are_kept_in_order_without_duplicates() {
        let now = t("2025-01-02T15:00:01Z");
        let mut m = Model::new();
        m.apply(
            StreamEvent::Decision(decision("2025-01-02T15:00:00Z", 7001, "b")),
            now,
        );
        m.on_history(vec![
            decision("2025-01-02T15:00:00Z", 7001, "b"),
            decision("2025-01-02T14:00:00Z", 7001, "a"),
        ]);
        m.apply(
            StreamEvent::Decision(decision("2025-01-02T15:00:00Z", 7001, "b")),
            now,
        );
        m.apply(
            StreamEvent::Decision(decision("2025-01-02T15:30:00Z", 7002, "c")),
            now,
        );
        let rules: Vec<&str> = m.history.iter().map(|d| d.rule.as_str()).collect();
        assert_eq!(rules, ["a", "b", "c"]);
        let newest_first: Vec<&str> = m
            .filtered_history()
            .iter()
            .map(|d| d.rule.as_str())
            .collect();
        assert_eq!(newest_first, ["c", "b", "a"]);
    }

    #[test]
    fn filters_cycle_through_accounts_and_rules_and_back_to_all() {
        let mut m = Model::new();
        m.on_history(vec![
            decision("2025-01-02T14:00:00Z", 7001, "max_contracts"),
            decision("2025-01-02T14:01:00Z", 7002, "daily_realized_loss"),
            decision("2025-01-02T14:02:00Z", 7001, "daily_realized_loss"),
        ]);
        assert_eq!(m.filtered_history().len(), 3);
        m.on_key(press(KeyCode::Char('a')));
        assert_eq!(m.account_filter, Some(7001));
        assert_eq!(m.filtered_history().len(), 2);
        m.on_key(press(KeyCode::Char('r')));
        assert_eq!(m.rule_filter.as_deref(), Some("daily_realized_loss"));
        assert_eq!(m.filtered_history().len(), 1);
        m.on_key(press(KeyCode::Char('a')));
        assert_eq!(m.account_filter, Some(7002));
        m.on_key(press(KeyCode::Char('a')));
        assert_eq!(m.account_filter, None);
        m.on_key(press(KeyCode::Char('r')));
        m.on_key(press(KeyCode::Char('r')));
        assert_eq!(m.rule_filter, None);
        m.on_key(press(KeyCode::Char('a')));
        m.on_key(press(KeyCode::Char('c')));
        assert_eq!((m.account_filter, m.rule_filter.clone()), (None, None));
    }

    #[test]
    fn tabs_switch_by_number_tab_and_shift_tab() {
        let mut m = Model::new();
        m.on_key(press(KeyCode::Char('5')));
        assert_eq!(m.tab, Tab::History);
        m.on_key(press(KeyCode::Tab));
        assert_eq!(m.tab, Tab::Connections);
        m.on_key(press(KeyCode::Tab));
        m.on_key(press(KeyCode::Tab));
        assert_eq!(m.tab, Tab::Overview, "wraps around");
        m.on_key(press(KeyCode::BackTab));
        assert_eq!(m.tab, Tab::Holidays);
        m.on_key(press(KeyCode::Down));
        assert_eq!(m.scroll, 1);
        m.on_key(press(KeyCode::Char('1')));
        assert_eq!((m.tab, m.scroll), (Tab::Overview, 0));
        assert_eq!(m.on_key(press(KeyCode::Char('q'))), Some(Command::Quit));
    }

    #[test]
    fn releases_and_repeats_are_ignored() {
        let mut m = Model::new();
        assert_eq!(m.on_key(release(KeyCode::Char('q'))), None);
        m.on_key(release(KeyCode::Char('3')));
        assert_eq!(m.tab, Tab::Overview);
        let mut repeat = press(KeyCode::Tab);
        repeat.kind = KeyEventKind::Repeat;
        m.on_key(repeat);
        assert_eq!(m.tab, Tab::Overview);
    }

    #[test]
    fn help_toggles_and_swallows_the_next_key() {
        let mut m = Model::new();
        m.on_key(press(KeyCode::Char('?')));
        assert!(m.help);
        m.on_key(press(KeyCode::Char('3')));
        assert!(!m.help);
        assert_eq!(m.tab, Tab::Overview);
        m.on_key(press(KeyCode::Char('?')));
        assert_eq!(m.on_key(press(KeyCode::Char('q'))), Some(Command::Quit));
    }

    #[test]
    fn done_for_today_needs_y_and_shows_the_answer() {
        let mut m = Model::new();
        assert_eq!(m.on_key(press(KeyCode::Char('D'))), None);
        assert_eq!(m.dialog, Some(Dialog::Confirm));
        assert_eq!(m.on_key(press(KeyCode::Char('n'))), None);
        assert_eq!(m.dialog, None, "any other key cancels");
        m.on_key(press(KeyCode::Char('D')));
        assert_eq!(m.on_key(release(KeyCode::Char('y'))), None);
        assert_eq!(
            m.dialog,
            Some(Dialog::Confirm),
            "a release does not confirm"
        );
        assert_eq!(
            m.on_key(press(KeyCode::Char('y'))),
            Some(Command::DoneForToday)
        );
        assert_eq!(m.dialog, Some(Dialog::Sending));
        assert_eq!(m.on_key(press(KeyCode::Char('q'))), None, "waits");
        m.on_done_answer(Err("HTTP 501: not built yet".into()));
        assert!(matches!(m.dialog, Some(Dialog::Answer(Err(_)))));
        m.on_key(press(KeyCode::Enter));
        assert_eq!(m.dialog, None);
        m.on_key(press(KeyCode::Char('D')));
        assert_eq!(m.on_key(press(KeyCode::Char('q'))), None, "q cancels first");
    }

    #[test]
    fn reconnects_are_counted() {
        let mut m = Model::new();
        let now = t("2025-01-02T15:00:00Z");
        m.on_connected(now);
        assert_eq!(
            m.connection,
            Connection::Live {
                since: now,
                reconnects: 0
            }
        );
        m.on_unreachable("refused".into(), now);
        m.on_unreachable("refused".into(), now);
        m.on_connected(now);
        assert_eq!(
            m.connection,
            Connection::Live {
                since: now,
                reconnects: 1
            }
        );
    }
}
