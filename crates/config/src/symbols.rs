//! Symbol keys: validation, upper-casing, and the ticker ↔ gateway product code table (GATEWAY.md §6.1).
//!
//! Config may name a product by its exchange ticker root (`ES`) or by the gateway's product code, the fourth
//! segment of a contract id (`EP` in `CON.F.US.EP.Z25`). Both match the same contracts, so configuring both in
//! one map is ambiguous and is an error (CONFIG.md §6). Products whose code equals the ticker (`MNQ`, `MBT`)
//! need no entry here.

/// Tickers whose gateway product code differs: (ticker, product code).
pub(crate) const TICKER_PRODUCT: &[(&str, &str)] = &[
    ("ES", "EP"),
    ("NQ", "ENQ"),
    ("QM", "NQM"),
    ("QG", "NQG"),
    ("6B", "BP6"),
    ("6E", "EU6"),
    ("6J", "JY6"),
    ("MET", "GMET"),
    ("LE", "GLE"),
];

/// The other spelling of the same product, if the key is a ticker or product code from the table.
pub(crate) fn alias_of(key: &str) -> Option<&'static str> {
    TICKER_PRODUCT.iter().find_map(|(t, p)| {
        if *t == key {
            Some(*p)
        } else if *p == key {
            Some(*t)
        } else {
            None
        }
    })
}

/// A symbol key is 1 to 12 ASCII letters and digits. Returns the upper-cased key.
pub(crate) fn normalise(key: &str) -> Option<String> {
    let ok = !key.is_empty() && key.len() <= 12 && key.chars().all(|c| c.is_ascii_alphanumeric());
    ok.then(|| key.to_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_go_both_ways() {
        assert_eq!(alias_of("ES"), Some("EP"));
        assert_eq!(alias_of("EP"), Some("ES"));
        assert_eq!(alias_of("GLE"), Some("LE"));
        assert_eq!(alias_of("MBT"), None);
        assert_eq!(alias_of("MES"), None);
    }

    #[test]
    fn normalise_upper_cases_and_rejects_junk() {
        assert_eq!(normalise("mnq").as_deref(), Some("MNQ"));
        assert_eq!(normalise("6b").as_deref(), Some("6B"));
        assert_eq!(normalise("ES Z5"), None);
        assert_eq!(normalise(""), None);
    }
}
