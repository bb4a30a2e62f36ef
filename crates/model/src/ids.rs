//! Identifiers as the gateway types them: account ids are ints, order and trade ids are longs, contract ids are
//! strings such as `CON.F.US.MNQ.Z25`.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// A trading account at the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AccountId(pub i64);

/// A gateway order id (a long on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OrderId(pub i64);

/// A gateway fill id (a long on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TradeId(pub i64);

/// A contract id such as `CON.F.US.EP.Z25`. Cheap to clone: the text is shared.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ContractId(Arc<str>);

impl ContractId {
    pub fn new(id: &str) -> Self {
        Self(Arc::from(id))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The fourth dot-separated segment of the id: the gateway's product code (`CON.F.US.EP.Z25` → `EP`).
    /// An id that does not have the usual shape is its own product code.
    pub fn product_code(&self) -> &str {
        self.0.split('.').nth(3).unwrap_or(&self.0)
    }
}

impl From<&str> for ContractId {
    fn from(s: &str) -> Self {
        Self::new(s)
    }
}

macro_rules! display_inner {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }
    )*};
}
display_inner!(AccountId, OrderId, TradeId, ContractId);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn product_code_is_fourth_segment() {
        assert_eq!(ContractId::new("CON.F.US.EP.Z25").product_code(), "EP");
        assert_eq!(ContractId::new("weird").product_code(), "weird");
    }
}
