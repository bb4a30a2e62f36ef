//! Symbol roots (CONFIG.md §3).
//!
//! A contract is known by two roots: the ticker root from its `name` (`ESZ5` → `ES`, `6BU5` → `6B`) and the
//! gateway's product code from its id (`CON.F.US.EP.Z25` → `EP`). A config key matches a contract when it
//! equals either, exactly and case-insensitively: `ES` matches the E-mini S&P and never `MES`.

use crate::ids::ContractId;

const MONTH_CODES: &[u8] = b"FGHJKMNQUVXZ";

/// The ticker root of an exchange-style contract name: trailing year digits and one month code removed.
/// A name without that shape is returned whole, upper-cased.
pub fn ticker_root(name: &str) -> String {
    let upper = name.trim().to_ascii_uppercase();
    let without_year = upper.trim_end_matches(|c: char| c.is_ascii_digit());
    if without_year.len() == upper.len() || without_year.len() < 2 {
        return upper;
    }
    let bytes = without_year.as_bytes();
    match bytes.last() {
        Some(m) if MONTH_CODES.contains(m) => without_year[..without_year.len() - 1].to_string(),
        _ => upper,
    }
}

/// The roots a contract answers to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Roots {
    /// From the contract name, when the contract's metadata is known.
    pub ticker: Option<String>,
    /// The product code from the contract id, upper-cased.
    pub product: String,
}

impl Roots {
    pub fn of(contract: &ContractId, name: Option<&str>) -> Self {
        Roots {
            ticker: name.map(ticker_root),
            product: contract.product_code().to_ascii_uppercase(),
        }
    }

    /// Whether a config key (any case) names this contract.
    pub fn matches(&self, key: &str) -> bool {
        key.eq_ignore_ascii_case(&self.product)
            || self
                .ticker
                .as_deref()
                .is_some_and(|t| key.eq_ignore_ascii_case(t))
    }

    /// The name to show a trader: the ticker root when known, else the product code.
    pub fn display(&self) -> &str {
        self.ticker.as_deref().unwrap_or(&self.product)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticker_roots() {
        assert_eq!(ticker_root("MNQZ5"), "MNQ");
        assert_eq!(ticker_root("ESZ5"), "ES");
        assert_eq!(ticker_root("6BU5"), "6B");
        assert_eq!(ticker_root("SR3Z5"), "SR3");
        assert_eq!(ticker_root("MBTN25"), "MBT");
        assert_eq!(ticker_root("odd"), "ODD");
    }

    #[test]
    fn es_matches_ep_but_never_mes() {
        let es = Roots::of(&ContractId::new("CON.F.US.EP.Z25"), Some("ESZ5"));
        assert!(es.matches("ES"));
        assert!(es.matches("ep"));
        assert!(!es.matches("MES"));
        let mes = Roots::of(&ContractId::new("CON.F.US.MES.Z25"), Some("MESZ5"));
        assert!(!mes.matches("ES"));
        assert!(mes.matches("mes"));
    }
}
