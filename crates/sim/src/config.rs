//! Simulator configuration: users and their API keys, accounts, contracts, token lifetime, the REST rate
//! limit and the fee per contract.
//!
//! The file format is YAML, read with `serde-saphyr` (serde_yaml is deprecated). Every section has a default,
//! so a file only needs the keys it changes; `SimConfig::default()` is the configuration `riskguard sim`
//! runs with when no file is given: user `demo` with API key `demo`, two accounts and the contracts of
//! GATEWAY.md §6.1.

use std::path::Path;

use anyhow::Context as _;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Everything the simulator starts from. Deserialisable from YAML ([`SimConfig::from_yaml`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "snake_case", deny_unknown_fields)]
pub struct SimConfig {
    /// Users that may log in with `Auth/loginKey`.
    pub users: Vec<UserConfig>,
    /// Trading accounts; each belongs to one user.
    pub accounts: Vec<AccountConfig>,
    /// Tradable contracts.
    pub contracts: Vec<ContractConfig>,
    /// Lifetime of an issued session token, in seconds (24 h by default, as the real gateway).
    pub token_lifetime_secs: u64,
    /// REST requests allowed per token within `rate_limit_window_secs` (200 by default).
    pub rate_limit_requests: u32,
    /// Length of the rate-limit window in seconds (60 by default).
    pub rate_limit_window_secs: u64,
    /// Fee charged per contract on every fill.
    pub fee_per_contract: Decimal,
}

/// One login: user name, API key and the accounts it may see and trade.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub struct UserConfig {
    /// `userName` at login.
    pub user_name: String,
    /// `apiKey` at login.
    pub api_key: String,
    /// Ids of the accounts this user owns.
    pub account_ids: Vec<i64>,
}

/// One trading account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub struct AccountConfig {
    /// Account id (an int on the wire).
    pub id: i64,
    /// Display name.
    pub name: String,
    /// Starting balance.
    pub balance: Decimal,
    /// Whether the account may trade.
    #[serde(default = "yes")]
    pub can_trade: bool,
    /// Whether the account is visible (and so "active" for `onlyActiveAccounts`).
    #[serde(default = "yes")]
    pub is_visible: bool,
    /// Whether the account is a simulated (practice) account.
    #[serde(default = "yes")]
    pub simulated: bool,
}

/// One contract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub struct ContractConfig {
    /// `CON.F.US.<ROOT>.<EXPIRY>`.
    pub id: String,
    /// Exchange-style ticker, e.g. `ESZ5`.
    pub name: String,
    /// Human description.
    pub description: String,
    /// Minimum price increment.
    pub tick_size: Decimal,
    /// Money value of one tick for one contract.
    pub tick_value: Decimal,
    /// Whether the contract is the active (front) one.
    #[serde(default = "yes")]
    pub active_contract: bool,
    /// Optional starting last price; without it the contract has no market until `/sim/price`.
    #[serde(default)]
    pub last_price: Option<Decimal>,
}

impl ContractConfig {
    /// `F.US.<ROOT>`, derived from the id.
    pub fn symbol_id(&self) -> String {
        match self.id.strip_prefix("CON.") {
            Some(rest) => match rest.rsplit_once('.') {
                Some((symbol, _expiry)) => symbol.to_owned(),
                None => rest.to_owned(),
            },
            None => self.id.clone(),
        }
    }
}

fn yes() -> bool {
    true
}

impl SimConfig {
    /// Parses a YAML document.
    pub fn from_yaml(text: &str) -> anyhow::Result<Self> {
        let config: SimConfig = serde_saphyr::from_str(text).context("parsing simulator config")?;
        config.validate()?;
        Ok(config)
    }

    /// Reads and parses a YAML file.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading simulator config {}", path.display()))?;
        Self::from_yaml(&text).with_context(|| format!("in {}", path.display()))
    }

    /// Checks cross references and limits.
    pub fn validate(&self) -> anyhow::Result<()> {
        for user in &self.users {
            for id in &user.account_ids {
                if !self.accounts.iter().any(|a| a.id == *id) {
                    anyhow::bail!("user {} owns unknown account {id}", user.user_name);
                }
            }
        }
        for contract in &self.contracts {
            if contract.tick_size <= Decimal::ZERO || contract.tick_value <= Decimal::ZERO {
                anyhow::bail!(
                    "contract {}: tick size and tick value must be positive",
                    contract.id
                );
            }
        }
        if self.rate_limit_requests == 0 || self.rate_limit_window_secs == 0 {
            anyhow::bail!("rate limit requests and window must be positive");
        }
        if self.token_lifetime_secs == 0 {
            anyhow::bail!("token lifetime must be positive");
        }
        Ok(())
    }
}

fn contract(
    root: &str,
    name: &str,
    description: &str,
    tick: Decimal,
    value: Decimal,
) -> ContractConfig {
    let expiry = &name[name.len().saturating_sub(2)..];
    let expiry = format!("{}2{}", &expiry[..1], &expiry[1..]);
    ContractConfig {
        id: format!("CON.F.US.{root}.{expiry}"),
        name: name.to_owned(),
        description: description.to_owned(),
        tick_size: tick,
        tick_value: value,
        active_contract: true,
        last_price: None,
    }
}

impl Default for SimConfig {
    fn default() -> Self {
        let d = |v: i64, scale: u32| Decimal::new(v, scale);
        SimConfig {
            users: vec![UserConfig {
                user_name: "demo".into(),
                api_key: "demo".into(),
                account_ids: vec![7001, 7002],
            }],
            accounts: vec![
                AccountConfig {
                    id: 7001,
                    name: "SIM-DEMO-1".into(),
                    balance: d(50_000, 0),
                    can_trade: true,
                    is_visible: true,
                    simulated: true,
                },
                AccountConfig {
                    id: 7002,
                    name: "SIM-DEMO-2".into(),
                    balance: d(150_000, 0),
                    can_trade: true,
                    is_visible: true,
                    simulated: true,
                },
            ],
            contracts: vec![
                contract(
                    "MNQ",
                    "MNQZ5",
                    "Micro E-mini Nasdaq-100",
                    d(25, 2),
                    d(50, 2),
                ),
                contract("MES", "MESZ5", "Micro E-mini S&P 500", d(25, 2), d(125, 2)),
                contract("EP", "ESZ5", "E-Mini S&P 500", d(25, 2), d(1250, 2)),
                contract("ENQ", "NQZ5", "E-mini NASDAQ-100", d(25, 2), d(500, 2)),
                contract("RTY", "RTYZ5", "E-mini Russell 2000", d(1, 1), d(500, 2)),
                contract(
                    "M2K",
                    "M2KZ5",
                    "Micro E-mini Russell 2000",
                    d(1, 1),
                    d(50, 2),
                ),
                contract("CL", "CLF6", "Crude Oil", d(1, 2), d(1000, 2)),
                contract("GC", "GCG6", "Gold", d(1, 1), d(1000, 2)),
                contract("MBT", "MBTZ5", "Micro Bitcoin", d(5, 0), d(50, 2)),
            ],
            token_lifetime_secs: 24 * 60 * 60,
            rate_limit_requests: 200,
            rate_limit_window_secs: 60,
            fee_per_contract: d(140, 2),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn default_has_the_documented_contracts() {
        let c = SimConfig::default();
        c.validate().unwrap();
        let es = c.contracts.iter().find(|c| c.name == "ESZ5").unwrap();
        assert_eq!(es.id, "CON.F.US.EP.Z25");
        assert_eq!(es.symbol_id(), "F.US.EP");
        let cl = c.contracts.iter().find(|c| c.name == "CLF6").unwrap();
        assert_eq!(cl.id, "CON.F.US.CL.F26");
        assert_eq!(cl.tick_size, Decimal::new(1, 2));
        assert_eq!(cl.tick_value, Decimal::new(10, 0));
    }

    #[test]
    fn yaml_overrides_only_what_it_names() {
        let c = SimConfig::from_yaml("rate_limit_requests: 5\nfee_per_contract: 0.5\n").unwrap();
        assert_eq!(c.rate_limit_requests, 5);
        assert_eq!(c.fee_per_contract, Decimal::new(5, 1));
        assert_eq!(c.accounts.len(), 2);
        assert!(SimConfig::from_yaml("bogus_key: 1\n").is_err());
    }
}
