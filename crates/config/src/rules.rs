//! The twelve rule blocks: raw tree → partial block → (overlay of an account override) → typed `model` rule.
//!
//! Each block is first read into a *partial* whose fields are [`Slot`]s: absent, bad (an error was already
//! reported) or set with the line it came from. Partials make the two CONFIG.md requirements easy to honour:
//!
//! * **per-account overrides are merged key by key**: an account's effective block is the base partial with the
//!   override's set slots laid over it ([`Block::overlay`]). Values that are themselves collections of data
//!   (`limits`, `warn_at`, `tiers`, `sessions`, `holidays`, `blocked_symbols`) are replaced as a whole; the
//!   structural sub-blocks `cooldown_seconds`, `auto_breakeven` and `trailing_stop` merge key by key as well.
//! * **required keys depend on `enabled`**, which may come from the base while the limit comes from the override,
//!   so requirements are checked on the effective partial ([`Block::finish`]), once for the base `rules` and once
//!   for every account block that the override touches (reported at the override's key path).
//!
//! Type, value and unknown-key problems are reported while reading, at the exact key. Disabled blocks are read
//! and checked the same way; only the "required when enabled" checks depend on `enabled`.
//!
//! Value ranges chosen here (CONFIG.md leaves them open):
//! * money (`loss_limit`, `profit_target`, tier `loss`) must be > 0;
//! * `max_contracts.limit` must be ≥ 1 (a limit of 0 would flatten every position: use `symbol_blocks`);
//! * per-instrument `limits` values may be 0, which means "no contracts of that symbol";
//! * `allow_with_limit:N` takes N ≥ 0;
//! * frequency windows, every `cooldown_seconds`, `grace_period_seconds`, `trigger_ticks`, `activation_ticks`
//!   and `distance_ticks` must be ≥ 1; `offset_ticks` ≥ 0 and below `trigger_ticks`;
//! * `warn_at` fractions lie strictly between 0 and 1, without duplicates (stored ascending);
//! * the required collections (`limits`, `tiers`, `sessions`, `blocked_symbols`) must not be empty when the block
//!   is enabled: an enabled rule that can never act is almost certainly a mistake;
//! * a session window needs `start`, `end` and `days` (non-empty, each of mon..sun, no repeats); `start == end`
//!   is an error, `start > end` is an overnight window;
//! * `lockout: true` with `scope: per_position` is an error (lockout applies to the total scope only).

use std::collections::BTreeMap;

use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use model::config::*;
use rust_decimal::Decimal;

use crate::symbols;
use crate::tree::{
    At, Ctx, Entry, boolean, count, date, entries, hh_mm, items, join, money, one_of, string,
    time_zone, unknown_key,
};

/// A partial value: absent, present but invalid (already reported), or set with its line.
#[derive(Debug, Clone, Default)]
pub(crate) enum Slot<T> {
    #[default]
    Absent,
    Bad,
    Set(T, usize),
}

impl<T: Clone> Slot<T> {
    fn overlay(&mut self, over: &Slot<T>) {
        if !matches!(over, Slot::Absent) {
            *self = over.clone();
        }
    }

    fn get(&self) -> Option<&T> {
        match self {
            Slot::Set(v, _) => Some(v),
            _ => None,
        }
    }

    fn line(&self) -> Option<usize> {
        match self {
            Slot::Set(_, l) => Some(*l),
            _ => None,
        }
    }

    fn or(&self, default: T) -> T {
        self.get().cloned().unwrap_or(default)
    }
}

/// Read a value into a slot. Any error reported while reading (even inside a collection) makes the slot `Bad`,
/// so that a later "required" check does not report the same key a second time.
fn slot<'n, 'a, T>(
    ctx: &mut Ctx,
    at: &At<'n, 'a>,
    read: impl FnOnce(&mut Ctx, &At<'n, 'a>) -> Option<T>,
) -> Slot<T> {
    let before = ctx.errors.len();
    let v = read(ctx, at);
    match v {
        Some(v) if ctx.errors.len() == before => Slot::Set(v, at.line),
        _ => Slot::Bad,
    }
}

/// What finishing a block needs from outside it.
#[derive(Debug, Clone)]
pub(crate) struct Env {
    pub timezone_name: String,
    pub timezone: TimeZone,
    /// Dates from holidays.yaml, merged into every `session_block_outside.holidays`.
    pub extra_holidays: Vec<Date>,
}

/// Where the requirement checks of a block report, or nowhere (`check == false`) for a block that the scope
/// being finished did not write.
pub(crate) struct Sink<'c> {
    ctx: &'c mut Ctx,
    path: String,
    line: usize,
    check: bool,
}

impl Sink<'_> {
    fn err(&mut self, rel: &str, line: usize, msg: impl Into<String>) {
        if self.check {
            let path = rel
                .split('.')
                .filter(|k| !k.is_empty())
                .fold(self.path.clone(), |p, k| join(&p, k));
            self.ctx.err(&path, line, msg);
        }
    }

    /// The value of a required key; reports it missing when the block is enabled and the key is absent.
    fn required<T: Clone>(&mut self, enabled: bool, s: &Slot<T>, key: &str) -> Option<T> {
        if enabled && matches!(s, Slot::Absent) {
            let line = self.line;
            self.err(key, line, "required when the block is enabled");
        }
        s.get().cloned()
    }

    /// Like [`Sink::required`], for collections that must also be non-empty when enabled.
    fn required_non_empty<T: Clone>(
        &mut self,
        enabled: bool,
        s: &Slot<T>,
        key: &str,
        is_empty: impl Fn(&T) -> bool,
    ) -> Option<T> {
        let v = self.required(enabled, s, key);
        if let (true, Some(v), Some(line)) = (enabled, &v, s.line())
            && is_empty(v)
        {
            self.err(key, line, "must not be empty when the block is enabled");
        }
        v
    }
}

/// One rule block: read, overlay, finish.
pub(crate) trait Block: Default + Clone {
    type Out;
    /// Every key the block accepts.
    const KEYS: &'static [&'static str];
    fn read_entry(&mut self, ctx: &mut Ctx, e: &Entry<'_, '_>) -> bool;
    fn overlay(&mut self, over: &Self);
    fn finish(&self, sink: &mut Sink<'_>, env: &Env) -> Self::Out;

    fn read(ctx: &mut Ctx, at: &At<'_, '_>) -> Self {
        let mut p = Self::default();
        for e in entries(ctx, at).unwrap_or_default() {
            if !p.read_entry(ctx, &e) {
                unknown_key(ctx, &e, Self::KEYS);
            }
        }
        p
    }
}

const MAX_CONTRACTS_ACTIONS: &[(&str, MaxContractsAction)] = &[
    ("close_all", MaxContractsAction::CloseAll),
    ("reduce_to_limit", MaxContractsAction::ReduceToLimit),
];
const PER_INSTRUMENT_ACTIONS: &[(&str, PerInstrumentAction)] = &[
    ("reduce_to_limit", PerInstrumentAction::ReduceToLimit),
    ("close_all", PerInstrumentAction::CloseAll),
];
const REALIZED_ACTIONS: &[(&str, RealizedLossAction)] = &[
    (
        "close_all_and_lockout",
        RealizedLossAction::CloseAllAndLockout,
    ),
    ("close_all", RealizedLossAction::CloseAll),
    ("alert", RealizedLossAction::Alert),
];
const LOCKOUT_UNTIL: &[(&str, LockoutUntil)] = &[
    ("daily_reset", LockoutUntil::DailyReset),
    ("permanent", LockoutUntil::Permanent),
];
const SCOPES: &[(&str, Scope)] = &[
    ("per_position", Scope::PerPosition),
    ("total", Scope::Total),
];
const DAYS: &[(&str, Weekday)] = &[
    ("mon", Weekday::Monday),
    ("tue", Weekday::Tuesday),
    ("wed", Weekday::Wednesday),
    ("thu", Weekday::Thursday),
    ("fri", Weekday::Friday),
    ("sat", Weekday::Saturday),
    ("sun", Weekday::Sunday),
];

// ---------------------------------------------------------------------------------------------------------
// max_contracts

#[derive(Debug, Clone, Default)]
pub(crate) struct MaxContractsP {
    enabled: Slot<bool>,
    limit: Slot<u32>,
    action: Slot<MaxContractsAction>,
}

impl Block for MaxContractsP {
    type Out = MaxContracts;
    const KEYS: &'static [&'static str] = &["enabled", "limit", "action"];

    fn read_entry(&mut self, ctx: &mut Ctx, e: &Entry<'_, '_>) -> bool {
        let v = &e.value;
        match e.key.as_str() {
            "enabled" => self.enabled = slot(ctx, v, boolean),
            "limit" => self.limit = slot(ctx, v, |c, a| count(c, a, 1)),
            "action" => self.action = slot(ctx, v, |c, a| one_of(c, a, MAX_CONTRACTS_ACTIONS)),
            _ => return false,
        }
        true
    }

    fn overlay(&mut self, o: &Self) {
        self.enabled.overlay(&o.enabled);
        self.limit.overlay(&o.limit);
        self.action.overlay(&o.action);
    }

    fn finish(&self, s: &mut Sink<'_>, _env: &Env) -> MaxContracts {
        let enabled = self.enabled.or(false);
        MaxContracts {
            enabled,
            limit: s.required(enabled, &self.limit, "limit").unwrap_or(0),
            action: self.action.or(MaxContractsAction::default()),
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// max_contracts_per_instrument

#[derive(Debug, Clone, Default)]
pub(crate) struct PerInstrumentP {
    enabled: Slot<bool>,
    limits: Slot<BTreeMap<String, u32>>,
    action: Slot<PerInstrumentAction>,
    unknown_symbol_action: Slot<UnknownSymbolAction>,
}

fn unknown_symbol_action(ctx: &mut Ctx, at: &At<'_, '_>) -> Option<UnknownSymbolAction> {
    const EXPECTED: &str =
        "expected block | allow_unlimited | allow_with_limit:N (N a whole number >= 0)";
    let Some(text) = (match crate::tree::scalar(at.node) {
        Some((t, crate::tree::ScalarKind::Str)) => Some(t),
        _ => None,
    }) else {
        ctx.err(
            &at.path,
            at.line,
            format!("{EXPECTED}, found {}", crate::tree::describe(at.node)),
        );
        return None;
    };
    match text {
        "block" => return Some(UnknownSymbolAction::Block),
        "allow_unlimited" => return Some(UnknownSymbolAction::AllowUnlimited),
        _ => {}
    }
    if let Some(n) = text.strip_prefix("allow_with_limit:")
        && !n.is_empty()
        && n.bytes().all(|b| b.is_ascii_digit())
        && let Ok(n) = n.parse::<u32>()
    {
        return Some(UnknownSymbolAction::AllowWithLimit(n));
    }
    ctx.err(&at.path, at.line, format!("{EXPECTED}, found {text:?}"));
    None
}

/// A mapping keyed by symbol (or `default` when `allow_default`): keys validated, upper-cased, checked for
/// repeats after upper-casing and for a ticker configured together with its product code.
fn symbol_map<'n, 'a, T>(
    ctx: &mut Ctx,
    at: &At<'n, 'a>,
    allow_default: bool,
    mut value: impl FnMut(&mut Ctx, &At<'n, 'a>) -> Option<T>,
) -> Option<BTreeMap<String, T>> {
    let es = entries(ctx, at)?;
    let mut out = BTreeMap::new();
    let mut seen: BTreeMap<String, String> = BTreeMap::new(); // normalised key -> key as written
    for e in &es {
        let key = if allow_default && e.key.eq_ignore_ascii_case("default") {
            "default".to_string()
        } else if let Some(k) = symbols::normalise(&e.key) {
            k
        } else {
            ctx.err(
                &e.value.path,
                e.key_line,
                "a symbol key must be 1 to 12 letters or digits (a ticker root such as MNQ or a product code such as EP)",
            );
            continue;
        };
        if let Some(first) = seen.get(&key) {
            ctx.err(
                &e.value.path,
                e.key_line,
                format!("{key} is configured twice (also as {first})"),
            );
            continue;
        }
        if let Some(alias) = symbols::alias_of(&key)
            && let Some(first) = seen.get(alias)
        {
            ctx.err(
                &e.value.path,
                e.key_line,
                format!(
                    "{key} and {first} name the same product (ticker and gateway product code); configure only one"
                ),
            );
            continue;
        }
        seen.insert(key.clone(), e.key.clone());
        if let Some(v) = value(ctx, &e.value) {
            out.insert(key, v);
        }
    }
    Some(out)
}

impl Block for PerInstrumentP {
    type Out = MaxContractsPerInstrument;
    const KEYS: &'static [&'static str] = &["enabled", "limits", "action", "unknown_symbol_action"];

    fn read_entry(&mut self, ctx: &mut Ctx, e: &Entry<'_, '_>) -> bool {
        let v = &e.value;
        match e.key.as_str() {
            "enabled" => self.enabled = slot(ctx, v, boolean),
            "limits" => {
                self.limits = slot(ctx, v, |c, a| {
                    symbol_map(c, a, false, |c, a| count(c, a, 0))
                })
            }
            "action" => self.action = slot(ctx, v, |c, a| one_of(c, a, PER_INSTRUMENT_ACTIONS)),
            "unknown_symbol_action" => {
                self.unknown_symbol_action = slot(ctx, v, unknown_symbol_action)
            }
            _ => return false,
        }
        true
    }

    fn overlay(&mut self, o: &Self) {
        self.enabled.overlay(&o.enabled);
        self.limits.overlay(&o.limits);
        self.action.overlay(&o.action);
        self.unknown_symbol_action.overlay(&o.unknown_symbol_action);
    }

    fn finish(&self, s: &mut Sink<'_>, _env: &Env) -> MaxContractsPerInstrument {
        let enabled = self.enabled.or(false);
        MaxContractsPerInstrument {
            enabled,
            limits: s
                .required_non_empty(enabled, &self.limits, "limits", BTreeMap::is_empty)
                .unwrap_or_default(),
            action: self.action.or(PerInstrumentAction::default()),
            unknown_symbol_action: self
                .unknown_symbol_action
                .or(UnknownSymbolAction::default()),
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// daily_realized_loss

#[derive(Debug, Clone, Default)]
pub(crate) struct RealizedP {
    enabled: Slot<bool>,
    loss_limit: Slot<Decimal>,
    include_unrealized: Slot<bool>,
    action: Slot<RealizedLossAction>,
    lockout_until: Slot<LockoutUntil>,
    warn_at: Slot<Vec<Decimal>>,
}

fn warn_at(ctx: &mut Ctx, at: &At<'_, '_>) -> Option<Vec<Decimal>> {
    let mut out: Vec<Decimal> = Vec::new();
    for item in items(ctx, at)? {
        let Some(f) = crate::tree::decimal(ctx, &item) else {
            continue;
        };
        if f <= Decimal::ZERO || f >= Decimal::ONE {
            ctx.err(
                &item.path,
                item.line,
                format!("must be a fraction of the limit strictly between 0 and 1, found {f}"),
            );
        } else if out.contains(&f) {
            ctx.err(&item.path, item.line, format!("{f} is listed twice"));
        } else {
            out.push(f);
        }
    }
    out.sort();
    Some(out)
}

impl Block for RealizedP {
    type Out = DailyRealizedLoss;
    const KEYS: &'static [&'static str] = &[
        "enabled",
        "loss_limit",
        "include_unrealized",
        "action",
        "lockout_until",
        "warn_at",
    ];

    fn read_entry(&mut self, ctx: &mut Ctx, e: &Entry<'_, '_>) -> bool {
        let v = &e.value;
        match e.key.as_str() {
            "enabled" => self.enabled = slot(ctx, v, boolean),
            "loss_limit" => self.loss_limit = slot(ctx, v, money),
            "include_unrealized" => self.include_unrealized = slot(ctx, v, boolean),
            "action" => self.action = slot(ctx, v, |c, a| one_of(c, a, REALIZED_ACTIONS)),
            "lockout_until" => {
                self.lockout_until = slot(ctx, v, |c, a| one_of(c, a, LOCKOUT_UNTIL))
            }
            "warn_at" => self.warn_at = slot(ctx, v, warn_at),
            _ => return false,
        }
        true
    }

    fn overlay(&mut self, o: &Self) {
        self.enabled.overlay(&o.enabled);
        self.loss_limit.overlay(&o.loss_limit);
        self.include_unrealized.overlay(&o.include_unrealized);
        self.action.overlay(&o.action);
        self.lockout_until.overlay(&o.lockout_until);
        self.warn_at.overlay(&o.warn_at);
    }

    fn finish(&self, s: &mut Sink<'_>, _env: &Env) -> DailyRealizedLoss {
        let enabled = self.enabled.or(false);
        let d = DailyRealizedLoss::default();
        DailyRealizedLoss {
            enabled,
            loss_limit: s
                .required(enabled, &self.loss_limit, "loss_limit")
                .unwrap_or(Decimal::ZERO),
            include_unrealized: self.include_unrealized.or(d.include_unrealized),
            action: self.action.or(d.action),
            lockout_until: self.lockout_until.or(d.lockout_until),
            warn_at: self.warn_at.or(d.warn_at),
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// daily_unrealized_loss (PROFIT = false) and max_unrealized_profit (PROFIT = true)

#[derive(Debug, Clone, Default)]
pub(crate) struct UnrealizedP<const PROFIT: bool> {
    enabled: Slot<bool>,
    limit: Slot<Decimal>,
    scope: Slot<Scope>,
    lockout: Slot<bool>,
}

impl<const PROFIT: bool> UnrealizedP<PROFIT> {
    const LIMIT_KEY: &'static str = if PROFIT {
        "profit_target"
    } else {
        "loss_limit"
    };
}

impl<const PROFIT: bool> Block for UnrealizedP<PROFIT> {
    type Out = UnrealizedLimit;
    const KEYS: &'static [&'static str] = if PROFIT {
        &["enabled", "profit_target", "scope", "lockout"]
    } else {
        &["enabled", "loss_limit", "scope", "lockout"]
    };

    fn read_entry(&mut self, ctx: &mut Ctx, e: &Entry<'_, '_>) -> bool {
        let v = &e.value;
        match e.key.as_str() {
            "enabled" => self.enabled = slot(ctx, v, boolean),
            k if k == Self::LIMIT_KEY => self.limit = slot(ctx, v, money),
            "scope" => self.scope = slot(ctx, v, |c, a| one_of(c, a, SCOPES)),
            "lockout" => self.lockout = slot(ctx, v, boolean),
            _ => return false,
        }
        true
    }

    fn overlay(&mut self, o: &Self) {
        self.enabled.overlay(&o.enabled);
        self.limit.overlay(&o.limit);
        self.scope.overlay(&o.scope);
        self.lockout.overlay(&o.lockout);
    }

    fn finish(&self, s: &mut Sink<'_>, _env: &Env) -> UnrealizedLimit {
        let enabled = self.enabled.or(false);
        let scope = self.scope.or(Scope::default());
        let lockout = self.lockout.or(false);
        if lockout
            && scope == Scope::PerPosition
            && let Some(line) = self.lockout.line()
        {
            s.err(
                "lockout",
                line,
                "lockout applies to scope: total only; with scope: per_position set it to false",
            );
        }
        UnrealizedLimit {
            enabled,
            limit: s
                .required(enabled, &self.limit, Self::LIMIT_KEY)
                .unwrap_or(Decimal::ZERO),
            scope,
            lockout,
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// trade_frequency_limit

const WINDOWS: [FrequencyWindow; 3] = [
    FrequencyWindow::Minute,
    FrequencyWindow::Hour,
    FrequencyWindow::Session,
];

#[derive(Debug, Clone, Default)]
pub(crate) struct FrequencyP {
    enabled: Slot<bool>,
    /// Indexed like [`WINDOWS`].
    limit: [Slot<u32>; 3],
    cooldown: [Slot<u32>; 3],
}

impl Block for FrequencyP {
    type Out = TradeFrequencyLimit;
    const KEYS: &'static [&'static str] = &[
        "enabled",
        "per_minute",
        "per_hour",
        "per_session",
        "cooldown_seconds",
    ];

    fn read_entry(&mut self, ctx: &mut Ctx, e: &Entry<'_, '_>) -> bool {
        let v = &e.value;
        if let Some(i) = WINDOWS.iter().position(|w| w.key() == e.key) {
            self.limit[i] = slot(ctx, v, |c, a| count(c, a, 1));
            return true;
        }
        match e.key.as_str() {
            "enabled" => self.enabled = slot(ctx, v, boolean),
            "cooldown_seconds" => {
                let keys: Vec<&str> = WINDOWS.iter().map(|w| w.key()).collect();
                for ce in entries(ctx, v).unwrap_or_default() {
                    match WINDOWS.iter().position(|w| w.key() == ce.key) {
                        Some(i) => self.cooldown[i] = slot(ctx, &ce.value, |c, a| count(c, a, 1)),
                        None => unknown_key(ctx, &ce, &keys),
                    }
                }
            }
            _ => return false,
        }
        true
    }

    fn overlay(&mut self, o: &Self) {
        self.enabled.overlay(&o.enabled);
        for i in 0..3 {
            self.limit[i].overlay(&o.limit[i]);
            self.cooldown[i].overlay(&o.cooldown[i]);
        }
    }

    fn finish(&self, s: &mut Sink<'_>, _env: &Env) -> TradeFrequencyLimit {
        let enabled = self.enabled.or(false);
        let mut windows = Vec::new();
        for (i, w) in WINDOWS.iter().enumerate() {
            match (&self.limit[i], &self.cooldown[i]) {
                (Slot::Set(limit, _), Slot::Set(cd, _)) => windows.push(FrequencyLimit {
                    window: *w,
                    limit: *limit,
                    cooldown_seconds: *cd,
                }),
                (Slot::Set(_, line), Slot::Absent) => s.err(
                    w.key(),
                    *line,
                    format!(
                        "window has no cooldown_seconds.{} entry (how long to block trading after a breach)",
                        w.key()
                    ),
                ),
                (Slot::Absent, Slot::Set(_, line)) => s.err(
                    &format!("cooldown_seconds.{}", w.key()),
                    *line,
                    format!("cooldown for a window that is not configured (no {})", w.key()),
                ),
                _ => {}
            }
        }
        let any_window = self.limit.iter().any(|l| !matches!(l, Slot::Absent));
        if enabled && !any_window {
            let line = s.line;
            s.err(
                "",
                line,
                "at least one window (per_minute, per_hour, per_session) is required when the block is enabled",
            );
        }
        TradeFrequencyLimit { enabled, windows }
    }
}

// ---------------------------------------------------------------------------------------------------------
// cooldown_after_loss

#[derive(Debug, Clone, Default)]
pub(crate) struct CooldownP {
    enabled: Slot<bool>,
    tiers: Slot<Vec<LossTier>>,
}

fn tiers(ctx: &mut Ctx, at: &At<'_, '_>) -> Option<Vec<LossTier>> {
    const KEYS: &[&str] = &["loss", "cooldown_seconds"];
    let mut out: Vec<LossTier> = Vec::new();
    for item in items(ctx, at)? {
        let Some(es) = entries(ctx, &item) else {
            continue;
        };
        let (mut loss, mut cd) = (None, None);
        let mut loss_line = item.line;
        for e in &es {
            match e.key.as_str() {
                "loss" => {
                    loss = money(ctx, &e.value);
                    loss_line = e.value.line;
                }
                "cooldown_seconds" => cd = count(ctx, &e.value, 1),
                _ => unknown_key(ctx, e, KEYS),
            }
        }
        let has = |k: &str| es.iter().any(|e| e.key == k);
        for k in KEYS {
            if !has(k) {
                ctx.err(&item.path, item.line, format!("missing key {k}"));
            }
        }
        if let (Some(loss), Some(cooldown_seconds)) = (loss, cd) {
            if out.iter().any(|t| t.loss == loss) {
                ctx.err(
                    &join(&item.path, "loss"),
                    loss_line,
                    format!("two tiers have the same loss {loss}"),
                );
            } else {
                out.push(LossTier {
                    loss,
                    cooldown_seconds,
                });
            }
        }
    }
    out.sort_by_key(|t| t.loss);
    Some(out)
}

impl Block for CooldownP {
    type Out = CooldownAfterLoss;
    const KEYS: &'static [&'static str] = &["enabled", "tiers"];

    fn read_entry(&mut self, ctx: &mut Ctx, e: &Entry<'_, '_>) -> bool {
        let v = &e.value;
        match e.key.as_str() {
            "enabled" => self.enabled = slot(ctx, v, boolean),
            "tiers" => self.tiers = slot(ctx, v, tiers),
            _ => return false,
        }
        true
    }

    fn overlay(&mut self, o: &Self) {
        self.enabled.overlay(&o.enabled);
        self.tiers.overlay(&o.tiers);
    }

    fn finish(&self, s: &mut Sink<'_>, _env: &Env) -> CooldownAfterLoss {
        let enabled = self.enabled.or(false);
        CooldownAfterLoss {
            enabled,
            tiers: s
                .required_non_empty(enabled, &self.tiers, "tiers", Vec::is_empty)
                .unwrap_or_default(),
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// no_stop_loss_grace

#[derive(Debug, Clone, Default)]
pub(crate) struct GraceP {
    enabled: Slot<bool>,
    grace: Slot<u32>,
}

impl Block for GraceP {
    type Out = NoStopLossGrace;
    const KEYS: &'static [&'static str] = &["enabled", "grace_period_seconds"];

    fn read_entry(&mut self, ctx: &mut Ctx, e: &Entry<'_, '_>) -> bool {
        let v = &e.value;
        match e.key.as_str() {
            "enabled" => self.enabled = slot(ctx, v, boolean),
            "grace_period_seconds" => self.grace = slot(ctx, v, |c, a| count(c, a, 1)),
            _ => return false,
        }
        true
    }

    fn overlay(&mut self, o: &Self) {
        self.enabled.overlay(&o.enabled);
        self.grace.overlay(&o.grace);
    }

    fn finish(&self, s: &mut Sink<'_>, _env: &Env) -> NoStopLossGrace {
        let enabled = self.enabled.or(false);
        NoStopLossGrace {
            enabled,
            grace_period_seconds: s
                .required(enabled, &self.grace, "grace_period_seconds")
                .unwrap_or(0),
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// session_block_outside

#[derive(Debug, Clone, Default)]
pub(crate) struct SessionP {
    enabled: Slot<bool>,
    timezone: Slot<(String, TimeZone)>,
    sessions: Slot<BTreeMap<String, SessionWindow>>,
    respect_holidays: Slot<bool>,
    holidays: Slot<Vec<Date>>,
    close_at_end: Slot<bool>,
    lockout_outside: Slot<bool>,
}

fn window(ctx: &mut Ctx, at: &At<'_, '_>) -> Option<SessionWindow> {
    const KEYS: &[&str] = &["start", "end", "days"];
    let es = entries(ctx, at)?;
    let (mut start, mut end, mut days) = (None, None, None);
    let mut end_at = None;
    let mut failed = false;
    for e in &es {
        match e.key.as_str() {
            "start" => start = hh_mm(ctx, &e.value),
            "end" => {
                end = hh_mm(ctx, &e.value);
                end_at = Some(e.value.clone());
            }
            "days" => days = weekdays(ctx, &e.value),
            _ => {
                unknown_key(ctx, e, KEYS);
                failed = true;
            }
        }
    }
    for k in KEYS {
        if !es.iter().any(|e| e.key == *k) {
            ctx.err(&at.path, at.line, format!("missing key {k}"));
            failed = true;
        }
    }
    let (start, end, days): (Time, Time, Vec<Weekday>) = (start?, end?, days?);
    if start == end {
        if let Some(e) = end_at {
            ctx.err(
                &e.path,
                e.line,
                "end equals start: a window must have a length (start > end means it crosses midnight)",
            );
        }
        return None;
    }
    (!failed).then_some(SessionWindow { start, end, days })
}

fn weekdays(ctx: &mut Ctx, at: &At<'_, '_>) -> Option<Vec<Weekday>> {
    let list = items(ctx, at)?;
    if list.is_empty() {
        ctx.err(
            &at.path,
            at.line,
            "must list at least one day (mon, tue, wed, thu, fri, sat, sun)",
        );
        return None;
    }
    let mut out = Vec::new();
    for item in list {
        let Some(text) = string(ctx, &item) else {
            continue;
        };
        let lower = text.to_ascii_lowercase();
        match DAYS.iter().find(|(n, _)| *n == lower) {
            Some((_, d)) if out.contains(d) => {
                ctx.err(&item.path, item.line, format!("{text} is listed twice"))
            }
            Some((_, d)) => out.push(*d),
            None => ctx.err(
                &item.path,
                item.line,
                format!("expected a day: mon, tue, wed, thu, fri, sat or sun, found {text:?}"),
            ),
        }
    }
    Some(out)
}

pub(crate) fn date_list(ctx: &mut Ctx, at: &At<'_, '_>) -> Option<Vec<Date>> {
    let mut out = Vec::new();
    for item in items(ctx, at)? {
        if let Some(d) = date(ctx, &item) {
            out.push(d);
        }
    }
    out.sort();
    out.dedup();
    Some(out)
}

impl Block for SessionP {
    type Out = SessionBlockOutside;
    const KEYS: &'static [&'static str] = &[
        "enabled",
        "timezone",
        "sessions",
        "respect_holidays",
        "holidays",
        "close_positions_at_session_end",
        "lockout_outside_session",
    ];

    fn read_entry(&mut self, ctx: &mut Ctx, e: &Entry<'_, '_>) -> bool {
        let v = &e.value;
        match e.key.as_str() {
            "enabled" => self.enabled = slot(ctx, v, boolean),
            "timezone" => self.timezone = slot(ctx, v, time_zone),
            "sessions" => self.sessions = slot(ctx, v, |c, a| symbol_map(c, a, true, window)),
            "respect_holidays" => self.respect_holidays = slot(ctx, v, boolean),
            "holidays" => self.holidays = slot(ctx, v, date_list),
            "close_positions_at_session_end" => self.close_at_end = slot(ctx, v, boolean),
            "lockout_outside_session" => self.lockout_outside = slot(ctx, v, boolean),
            _ => return false,
        }
        true
    }

    fn overlay(&mut self, o: &Self) {
        self.enabled.overlay(&o.enabled);
        self.timezone.overlay(&o.timezone);
        self.sessions.overlay(&o.sessions);
        self.respect_holidays.overlay(&o.respect_holidays);
        self.holidays.overlay(&o.holidays);
        self.close_at_end.overlay(&o.close_at_end);
        self.lockout_outside.overlay(&o.lockout_outside);
    }

    fn finish(&self, s: &mut Sink<'_>, env: &Env) -> SessionBlockOutside {
        let enabled = self.enabled.or(false);
        let d = SessionBlockOutside::default();
        let (timezone_name, timezone) = self
            .timezone
            .or((env.timezone_name.clone(), env.timezone.clone()));
        let mut holidays = self.holidays.or(Vec::new());
        holidays.extend(env.extra_holidays.iter().copied());
        holidays.sort();
        holidays.dedup();
        SessionBlockOutside {
            enabled,
            timezone_name,
            timezone,
            sessions: s
                .required_non_empty(enabled, &self.sessions, "sessions", BTreeMap::is_empty)
                .unwrap_or_default(),
            respect_holidays: self.respect_holidays.or(d.respect_holidays),
            holidays,
            close_positions_at_session_end: self.close_at_end.or(d.close_positions_at_session_end),
            lockout_outside_session: self.lockout_outside.or(d.lockout_outside_session),
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// auth_loss_guard

#[derive(Debug, Clone, Default)]
pub(crate) struct AuthP {
    enabled: Slot<bool>,
    flatten: Slot<bool>,
}

impl Block for AuthP {
    type Out = AuthLossGuard;
    const KEYS: &'static [&'static str] = &["enabled", "flatten"];

    fn read_entry(&mut self, ctx: &mut Ctx, e: &Entry<'_, '_>) -> bool {
        let v = &e.value;
        match e.key.as_str() {
            "enabled" => self.enabled = slot(ctx, v, boolean),
            "flatten" => self.flatten = slot(ctx, v, boolean),
            _ => return false,
        }
        true
    }

    fn overlay(&mut self, o: &Self) {
        self.enabled.overlay(&o.enabled);
        self.flatten.overlay(&o.flatten);
    }

    fn finish(&self, _s: &mut Sink<'_>, _env: &Env) -> AuthLossGuard {
        AuthLossGuard {
            enabled: self.enabled.or(false),
            flatten: self.flatten.or(AuthLossGuard::default().flatten),
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// symbol_blocks

#[derive(Debug, Clone, Default)]
pub(crate) struct SymbolBlocksP {
    enabled: Slot<bool>,
    blocked: Slot<Vec<String>>,
}

fn symbol_list(ctx: &mut Ctx, at: &At<'_, '_>) -> Option<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for item in items(ctx, at)? {
        let Some(text) = string(ctx, &item) else {
            continue;
        };
        match symbols::normalise(text) {
            Some(s) if out.contains(&s) => {
                ctx.err(&item.path, item.line, format!("{s} is listed twice"))
            }
            Some(s) => out.push(s),
            None => ctx.err(
                &item.path,
                item.line,
                format!("a symbol must be 1 to 12 letters or digits, found {text:?}"),
            ),
        }
    }
    Some(out)
}

impl Block for SymbolBlocksP {
    type Out = SymbolBlocks;
    const KEYS: &'static [&'static str] = &["enabled", "blocked_symbols"];

    fn read_entry(&mut self, ctx: &mut Ctx, e: &Entry<'_, '_>) -> bool {
        let v = &e.value;
        match e.key.as_str() {
            "enabled" => self.enabled = slot(ctx, v, boolean),
            "blocked_symbols" => self.blocked = slot(ctx, v, symbol_list),
            _ => return false,
        }
        true
    }

    fn overlay(&mut self, o: &Self) {
        self.enabled.overlay(&o.enabled);
        self.blocked.overlay(&o.blocked);
    }

    fn finish(&self, s: &mut Sink<'_>, _env: &Env) -> SymbolBlocks {
        let enabled = self.enabled.or(false);
        SymbolBlocks {
            enabled,
            blocked_symbols: s
                .required_non_empty(enabled, &self.blocked, "blocked_symbols", Vec::is_empty)
                .unwrap_or_default(),
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// trade_management

#[derive(Debug, Clone, Default)]
pub(crate) struct TradeManagementP {
    enabled: Slot<bool>,
    /// auto_breakeven: enabled, trigger_ticks, offset_ticks.
    be_enabled: Slot<bool>,
    be_trigger: Slot<u32>,
    be_offset: Slot<u32>,
    /// trailing_stop: enabled, activation_ticks, distance_ticks.
    ts_enabled: Slot<bool>,
    ts_activation: Slot<u32>,
    ts_distance: Slot<u32>,
}

impl Block for TradeManagementP {
    type Out = TradeManagement;
    const KEYS: &'static [&'static str] = &["enabled", "auto_breakeven", "trailing_stop"];

    fn read_entry(&mut self, ctx: &mut Ctx, e: &Entry<'_, '_>) -> bool {
        let v = &e.value;
        match e.key.as_str() {
            "enabled" => self.enabled = slot(ctx, v, boolean),
            "auto_breakeven" => {
                const KEYS: &[&str] = &["enabled", "trigger_ticks", "offset_ticks"];
                for se in entries(ctx, v).unwrap_or_default() {
                    let sv = &se.value;
                    match se.key.as_str() {
                        "enabled" => self.be_enabled = slot(ctx, sv, boolean),
                        "trigger_ticks" => self.be_trigger = slot(ctx, sv, |c, a| count(c, a, 1)),
                        "offset_ticks" => self.be_offset = slot(ctx, sv, |c, a| count(c, a, 0)),
                        _ => unknown_key(ctx, &se, KEYS),
                    }
                }
            }
            "trailing_stop" => {
                const KEYS: &[&str] = &["enabled", "activation_ticks", "distance_ticks"];
                for se in entries(ctx, v).unwrap_or_default() {
                    let sv = &se.value;
                    match se.key.as_str() {
                        "enabled" => self.ts_enabled = slot(ctx, sv, boolean),
                        "activation_ticks" => {
                            self.ts_activation = slot(ctx, sv, |c, a| count(c, a, 1))
                        }
                        "distance_ticks" => self.ts_distance = slot(ctx, sv, |c, a| count(c, a, 1)),
                        _ => unknown_key(ctx, &se, KEYS),
                    }
                }
            }
            _ => return false,
        }
        true
    }

    fn overlay(&mut self, o: &Self) {
        self.enabled.overlay(&o.enabled);
        self.be_enabled.overlay(&o.be_enabled);
        self.be_trigger.overlay(&o.be_trigger);
        self.be_offset.overlay(&o.be_offset);
        self.ts_enabled.overlay(&o.ts_enabled);
        self.ts_activation.overlay(&o.ts_activation);
        self.ts_distance.overlay(&o.ts_distance);
    }

    fn finish(&self, s: &mut Sink<'_>, _env: &Env) -> TradeManagement {
        let d = TradeManagement::default();
        let trigger = self.be_trigger.or(d.auto_breakeven.trigger_ticks);
        let offset = self.be_offset.or(d.auto_breakeven.offset_ticks);
        if offset >= trigger {
            // Report where the offending value was written (the offset if set, else the trigger).
            let (key, line) = match (self.be_offset.line(), self.be_trigger.line()) {
                (Some(l), _) => ("auto_breakeven.offset_ticks", l),
                (None, Some(l)) => ("auto_breakeven.trigger_ticks", l),
                (None, None) => ("auto_breakeven", s.line),
            };
            s.err(
                key,
                line,
                format!(
                    "offset_ticks ({offset}) must be less than trigger_ticks ({trigger}): the breakeven stop would sit at or beyond the current price"
                ),
            );
        }
        TradeManagement {
            enabled: self.enabled.or(false),
            auto_breakeven: AutoBreakeven {
                enabled: self.be_enabled.or(d.auto_breakeven.enabled),
                trigger_ticks: trigger,
                offset_ticks: offset,
            },
            trailing_stop: TrailingStop {
                enabled: self.ts_enabled.or(d.trailing_stop.enabled),
                activation_ticks: self.ts_activation.or(d.trailing_stop.activation_ticks),
                distance_ticks: self.ts_distance.or(d.trailing_stop.distance_ticks),
            },
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// The `rules` map (and an account override, which has the same shape)

macro_rules! rules_partial {
    ($($field:ident : $p:ty),* $(,)?) => {
        /// Every block of a `rules:` map (or an account override), with the line of its key when present.
        #[derive(Debug, Clone, Default)]
        pub(crate) struct RulesP {
            $(pub $field: Option<(usize, $p)>,)*
        }

        /// The rule block names, in CONFIG.md order.
        pub(crate) const RULE_KEYS: &[&str] = &[$(stringify!($field)),*];

        impl RulesP {
            pub(crate) fn read(ctx: &mut Ctx, at: &At<'_, '_>) -> RulesP {
                let mut out = RulesP::default();
                for e in entries(ctx, at).unwrap_or_default() {
                    match e.key.as_str() {
                        $(stringify!($field) => {
                            out.$field = Some((e.key_line, <$p>::read(ctx, &e.value)));
                        })*
                        _ => unknown_key(ctx, &e, RULE_KEYS),
                    }
                }
                out
            }

            /// The typed rules. With `over == None`, `self` is the base `rules` map, reported under `scope`
            /// (`rules`). With an override, the effective rules are `self` overlaid with it, and only the
            /// blocks the override writes are checked, reported under `scope` (`accounts."<id>"`).
            pub(crate) fn finish(
                &self,
                ctx: &mut Ctx,
                over: Option<&RulesP>,
                scope: &str,
                env: &Env,
            ) -> Rules {
                Rules {
                    $($field: finish_block(
                        ctx,
                        &self.$field,
                        over.map(|o| &o.$field),
                        scope,
                        stringify!($field),
                        env,
                    ),)*
                }
            }
        }
    };
}

rules_partial! {
    max_contracts: MaxContractsP,
    max_contracts_per_instrument: PerInstrumentP,
    daily_realized_loss: RealizedP,
    daily_unrealized_loss: UnrealizedP<false>,
    max_unrealized_profit: UnrealizedP<true>,
    trade_frequency_limit: FrequencyP,
    cooldown_after_loss: CooldownP,
    no_stop_loss_grace: GraceP,
    session_block_outside: SessionP,
    auth_loss_guard: AuthP,
    symbol_blocks: SymbolBlocksP,
    trade_management: TradeManagementP,
}

fn finish_block<B: Block>(
    ctx: &mut Ctx,
    base: &Option<(usize, B)>,
    over: Option<&Option<(usize, B)>>,
    scope: &str,
    key: &str,
    env: &Env,
) -> B::Out {
    let path = join(scope, key);
    match over {
        None => {
            let (line, block, check) = match base {
                Some((line, b)) => (*line, b.clone(), true),
                None => (0, B::default(), false),
            };
            block.finish(
                &mut Sink {
                    ctx,
                    path,
                    line,
                    check,
                },
                env,
            )
        }
        Some(over) => {
            let mut block = base.as_ref().map(|(_, b)| b.clone()).unwrap_or_default();
            let (line, check) = match over {
                Some((line, o)) => {
                    block.overlay(o);
                    (*line, true)
                }
                None => (0, false),
            };
            block.finish(
                &mut Sink {
                    ctx,
                    path,
                    line,
                    check,
                },
                env,
            )
        }
    }
}
