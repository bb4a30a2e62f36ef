//! The typed, validated risk configuration (CONFIG.md §2 and §6).
//!
//! These types are only ever built by the `config` crate after every check has passed, so the engine can trust
//! them: limits are positive, windows are well-formed, time zones exist. `Default` gives every rule disabled
//! with the option defaults of CONFIG.md §2.

use std::collections::BTreeMap;

use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use rust_decimal::Decimal;

use crate::ids::AccountId;

/// The whole risk configuration, with per-account overrides already merged.
#[derive(Debug, Clone, Default)]
pub struct RiskConfig {
    pub global: Global,
    /// The rules for accounts without an override.
    pub rules: Rules,
    /// Effective rules of accounts that have overrides (the `rules` block merged key by key with the override).
    pub accounts: BTreeMap<AccountId, Rules>,
}

impl RiskConfig {
    /// The effective rules of an account.
    pub fn rules_for(&self, account: AccountId) -> &Rules {
        self.accounts.get(&account).unwrap_or(&self.rules)
    }
}

#[derive(Debug, Clone)]
pub struct Global {
    pub dry_run: bool,
    /// Start of a new trading day, in `timezone`.
    pub reset_time: Time,
    pub timezone_name: String,
    pub timezone: TimeZone,
    pub subtract_fees: bool,
    pub journal_retention_days: u32,
    pub strict_mode: bool,
    /// How long a loosening change (or clearing a lock) waits during the trading day once confirmed.
    pub cooling_off_minutes: u32,
    /// When loosening needs confirmation and the cooling-off delay.
    pub tighten_only: TightenOnly,
}

/// `global.tighten_only`: when a loosening change must be confirmed and wait out the cooling-off delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TightenOnly {
    /// During trading days (Monday to Friday, not holidays), from reset to reset.
    #[default]
    TradingDay,
    /// At every hour, weekends included.
    Always,
}

impl Default for Global {
    fn default() -> Self {
        Global {
            dry_run: false,
            reset_time: Time::constant(17, 0, 0, 0),
            timezone_name: "America/Chicago".into(),
            timezone: TimeZone::get("America/Chicago").unwrap_or(TimeZone::UTC),
            subtract_fees: true,
            journal_retention_days: 30,
            strict_mode: false,
            cooling_off_minutes: 15,
            tighten_only: TightenOnly::TradingDay,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Rules {
    pub max_contracts: MaxContracts,
    pub max_contracts_per_instrument: MaxContractsPerInstrument,
    pub daily_realized_loss: DailyRealizedLoss,
    pub daily_unrealized_loss: UnrealizedLimit,
    pub max_unrealized_profit: UnrealizedLimit,
    pub trade_frequency_limit: TradeFrequencyLimit,
    pub cooldown_after_loss: CooldownAfterLoss,
    pub no_stop_loss_grace: NoStopLossGrace,
    pub session_block_outside: SessionBlockOutside,
    pub auth_loss_guard: AuthLossGuard,
    pub symbol_blocks: SymbolBlocks,
    pub trade_management: TradeManagement,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MaxContractsAction {
    #[default]
    CloseAll,
    ReduceToLimit,
}

#[derive(Debug, Clone, Default)]
pub struct MaxContracts {
    pub enabled: bool,
    /// Total open contracts allowed (sum of |net size| over contracts). Breach when total > limit.
    pub limit: u32,
    pub action: MaxContractsAction,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PerInstrumentAction {
    #[default]
    ReduceToLimit,
    CloseAll,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UnknownSymbolAction {
    Block,
    #[default]
    AllowUnlimited,
    AllowWithLimit(u32),
}

#[derive(Debug, Clone, Default)]
pub struct MaxContractsPerInstrument {
    pub enabled: bool,
    /// Symbol key (ticker root or product code, upper-case) → the most contracts allowed.
    pub limits: BTreeMap<String, u32>,
    pub action: PerInstrumentAction,
    pub unknown_symbol_action: UnknownSymbolAction,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RealizedLossAction {
    #[default]
    CloseAllAndLockout,
    CloseAll,
    Alert,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LockoutUntil {
    #[default]
    DailyReset,
    Permanent,
}

#[derive(Debug, Clone)]
pub struct DailyRealizedLoss {
    pub enabled: bool,
    /// Positive dollars; breach when day P&L <= -loss_limit.
    pub loss_limit: Decimal,
    pub include_unrealized: bool,
    pub action: RealizedLossAction,
    pub lockout_until: LockoutUntil,
    /// Fractions of the limit in (0, 1), ascending; each raises one alert per day.
    pub warn_at: Vec<Decimal>,
}

impl Default for DailyRealizedLoss {
    fn default() -> Self {
        DailyRealizedLoss {
            enabled: false,
            loss_limit: Decimal::ZERO,
            include_unrealized: false,
            action: RealizedLossAction::default(),
            lockout_until: LockoutUntil::default(),
            warn_at: vec![Decimal::new(5, 1), Decimal::new(75, 2), Decimal::new(9, 1)],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scope {
    #[default]
    PerPosition,
    Total,
}

/// `daily_unrealized_loss` (limit = loss_limit) and `max_unrealized_profit` (limit = profit_target).
#[derive(Debug, Clone, Default)]
pub struct UnrealizedLimit {
    pub enabled: bool,
    /// Positive dollars.
    pub limit: Decimal,
    pub scope: Scope,
    /// Total scope only: also cancel all orders and lock until the next reset.
    pub lockout: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FrequencyWindow {
    Minute,
    Hour,
    Session,
}

impl FrequencyWindow {
    pub fn key(self) -> &'static str {
        match self {
            FrequencyWindow::Minute => "per_minute",
            FrequencyWindow::Hour => "per_hour",
            FrequencyWindow::Session => "per_session",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrequencyLimit {
    pub window: FrequencyWindow,
    /// Breach when the count in the window > limit.
    pub limit: u32,
    pub cooldown_seconds: u32,
}

#[derive(Debug, Clone, Default)]
pub struct TradeFrequencyLimit {
    pub enabled: bool,
    /// The configured windows, in minute, hour, session order.
    pub windows: Vec<FrequencyLimit>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LossTier {
    /// Positive dollars; reached when a closing order's loss >= loss.
    pub loss: Decimal,
    pub cooldown_seconds: u32,
}

#[derive(Debug, Clone, Default)]
pub struct CooldownAfterLoss {
    pub enabled: bool,
    /// Sorted by `loss`, ascending.
    pub tiers: Vec<LossTier>,
}

#[derive(Debug, Clone, Default)]
pub struct NoStopLossGrace {
    pub enabled: bool,
    pub grace_period_seconds: u32,
}

/// An allowed trading window. `start > end` means the window crosses midnight; `days` are the days it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionWindow {
    pub start: Time,
    pub end: Time,
    pub days: Vec<Weekday>,
}

#[derive(Debug, Clone)]
pub struct SessionBlockOutside {
    pub enabled: bool,
    pub timezone_name: String,
    pub timezone: TimeZone,
    /// Window key (`default` or a symbol root, upper-case except `default`) → window.
    pub sessions: BTreeMap<String, SessionWindow>,
    pub respect_holidays: bool,
    /// The rule's own holidays merged with holidays.yaml.
    pub holidays: Vec<Date>,
    pub close_positions_at_session_end: bool,
    pub lockout_outside_session: bool,
}

impl Default for SessionBlockOutside {
    fn default() -> Self {
        SessionBlockOutside {
            enabled: false,
            timezone_name: "America/Chicago".into(),
            timezone: TimeZone::get("America/Chicago").unwrap_or(TimeZone::UTC),
            sessions: BTreeMap::new(),
            respect_holidays: true,
            holidays: Vec::new(),
            close_positions_at_session_end: true,
            lockout_outside_session: true,
        }
    }
}

#[derive(Debug, Clone)]
pub struct AuthLossGuard {
    pub enabled: bool,
    pub flatten: bool,
}

impl Default for AuthLossGuard {
    fn default() -> Self {
        AuthLossGuard {
            enabled: false,
            flatten: true,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct SymbolBlocks {
    pub enabled: bool,
    /// Upper-case symbol keys.
    pub blocked_symbols: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct AutoBreakeven {
    pub enabled: bool,
    pub trigger_ticks: u32,
    pub offset_ticks: u32,
}

#[derive(Debug, Clone)]
pub struct TrailingStop {
    pub enabled: bool,
    pub activation_ticks: u32,
    pub distance_ticks: u32,
}

#[derive(Debug, Clone)]
pub struct TradeManagement {
    pub enabled: bool,
    pub auto_breakeven: AutoBreakeven,
    pub trailing_stop: TrailingStop,
}

impl Default for TradeManagement {
    fn default() -> Self {
        TradeManagement {
            enabled: false,
            auto_breakeven: AutoBreakeven {
                enabled: true,
                trigger_ticks: 10,
                offset_ticks: 0,
            },
            trailing_stop: TrailingStop {
                enabled: true,
                activation_ticks: 20,
                distance_ticks: 10,
            },
        }
    }
}

/// `accounts.yaml` (CONFIG.md §5): where the gateway is, which accounts to watch, and where each login's
/// secrets are. It holds references to secrets, never secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountsConfig {
    pub gateway: GatewayEndpoints,
    pub logins: Vec<Login>,
    /// Enabled accounts only; disabled ones are dropped at validation.
    pub accounts: Vec<WatchedAccount>,
    pub api: ApiSettings,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayEndpoints {
    pub api_url: String,
    /// Hubs at `<realtime_url>/hubs/user` and `/hubs/market`.
    pub realtime_url: String,
}

impl Default for GatewayEndpoints {
    fn default() -> Self {
        GatewayEndpoints {
            api_url: "https://api.topstepx.com".into(),
            realtime_url: "https://rtc.topstepx.com".into(),
        }
    }
}

/// Where a secret lives. `key_path` names the config key for error messages ("logins[0].api_key_env").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretRef {
    /// The name of an environment variable.
    Env { var: String, key_path: String },
    /// An OS keyring entry ("service/user" style name).
    Keyring { entry: String, key_path: String },
    /// One half of a credential stored by `riskguard credentials set --login NAME` (a login's `credential:`
    /// key names it; the user name and the API key are kept together).
    Stored {
        name: String,
        field: StoredField,
        key_path: String,
    },
}

/// Which half of a stored credential a [`SecretRef::Stored`] means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoredField {
    UserName,
    ApiKey,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    pub name: String,
    pub user_name: SecretRef,
    pub api_key: SecretRef,
    /// This login's own endpoints (accounts at another firm); else the top-level `gateway`.
    pub gateway: Option<GatewayEndpoints>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchedAccount {
    pub id: AccountId,
    pub login: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiSettings {
    /// The internal API's address: loopback only.
    pub listen: String,
}

impl Default for ApiSettings {
    fn default() -> Self {
        ApiSettings {
            listen: "127.0.0.1:8787".into(),
        }
    }
}
