//! The scripted trader: an ordinary ProjectX client of the simulator (REST with a bearer token), plus the
//! simulator's control surface to move prices and read its state. Waits are conditions with deadlines.

use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};

pub struct Trader {
    http: reqwest::Client,
    base: String,
    token: String,
    account: i64,
}

impl Trader {
    pub async fn login(base: &str, account: i64) -> anyhow::Result<Trader> {
        let http = reqwest::Client::new();
        let r: Value = http
            .post(format!("{base}/api/Auth/loginKey"))
            .json(&json!({"userName": "demo", "apiKey": "demo"}))
            .send()
            .await?
            .json()
            .await?;
        let token = r["token"]
            .as_str()
            .context("no token from the simulator")?
            .to_string();
        Ok(Trader {
            http,
            base: base.to_string(),
            token,
            account,
        })
    }

    async fn api(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        let r: Value = self
            .http
            .post(format!("{}/api/{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await?
            .json()
            .await?;
        if r["success"] != json!(true) {
            bail!("{path} refused: {}", r["errorMessage"]);
        }
        Ok(r)
    }

    /// Set the market (control surface).
    pub async fn price(&self, contract: &str, last: &str) -> anyhow::Result<()> {
        let body = format!(r#"{{"contractId":"{contract}","lastPrice":{last}}}"#);
        self.http
            .post(format!("{}/sim/price", self.base))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await?
            .error_for_status()?;
        Ok(())
    }

    /// A market order; side 0 buys, 1 sells.
    pub async fn market(&self, contract: &str, side: i64, size: i64) -> anyhow::Result<i64> {
        let r = self
            .api("Order/place", json!({"accountId": self.account, "contractId": contract, "type": 2, "side": side, "size": size}))
            .await?;
        r["orderId"].as_i64().context("no orderId")
    }

    /// A resting stop order.
    pub async fn stop(
        &self,
        contract: &str,
        side: i64,
        size: i64,
        price: &str,
    ) -> anyhow::Result<i64> {
        let body = format!(
            r#"{{"accountId":{},"contractId":"{contract}","type":4,"side":{side},"size":{size},"stopPrice":{price}}}"#,
            self.account
        );
        let r: Value = self
            .http
            .post(format!("{}/api/Order/place", self.base))
            .bearer_auth(&self.token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await?
            .json()
            .await?;
        r["orderId"]
            .as_i64()
            .with_context(|| format!("stop refused: {r}"))
    }

    pub async fn cancel(&self, order: i64) -> anyhow::Result<()> {
        // The order may already be gone (the daemon cancels too): that is fine.
        let _ = self
            .api(
                "Order/cancel",
                json!({"accountId": self.account, "orderId": order}),
            )
            .await;
        Ok(())
    }

    pub async fn state(&self) -> anyhow::Result<Value> {
        Ok(self
            .http
            .get(format!("{}/sim/state", self.base))
            .send()
            .await?
            .json()
            .await?)
    }

    async fn wait(&self, what: &str, done: impl Fn(&Value) -> bool) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            if done(&self.state().await?) {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                bail!("timed out waiting until {what}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn wait_flat(&self, contract: &str) -> anyhow::Result<()> {
        let account = self.account;
        self.wait(&format!("{contract} is flat"), move |s| {
            !s["positions"].as_array().is_some_and(|ps| {
                ps.iter()
                    .any(|p| p["accountId"] == json!(account) && p["contractId"] == json!(contract))
            })
        })
        .await
    }

    pub async fn wait_no_orders(&self) -> anyhow::Result<()> {
        let account = self.account;
        self.wait("no working orders", move |s| {
            !s["workingOrders"]
                .as_array()
                .is_some_and(|os| os.iter().any(|o| o["accountId"] == json!(account)))
        })
        .await
    }
}
