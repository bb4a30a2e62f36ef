//! `riskguard demo`: the gateway simulator and the daemon in-process on free loopback ports, SQLite in a
//! temporary directory, and a scripted trader who breaches five rules through the simulator's ordinary REST
//! API. Every step is narrated with the enforcement, its reason and its numbers; at the end the demo checks
//! its own outcome against the simulator's state and exits non-zero if an enforcement did not happen.

mod trader;

use std::path::Path;
use std::time::Duration;

use model::decision::{Action, Decision, RuleId};
use tokio::sync::broadcast;

use trader::Trader;

/// The account the demo trades (the simulator's default config owns it).
const ACCOUNT: i64 = 7001;
const MNQ: &str = "CON.F.US.MNQ.Z25";
const MES: &str = "CON.F.US.MES.Z25";
const RTY: &str = "CON.F.US.RTY.Z25";

/// The risk rules of the demo: small numbers so that each breach happens within seconds.
pub const DEMO_RULES: &str = r#"
global: { timezone: "America/Chicago", reset_time: "17:00", subtract_fees: true }
rules:
  max_contracts: { enabled: true, limit: 5, action: close_all }
  daily_realized_loss: { enabled: true, loss_limit: 500.00, action: close_all_and_lockout }
  cooldown_after_loss: { enabled: true, tiers: [ { loss: 100.00, cooldown_seconds: 8 } ] }
  no_stop_loss_grace: { enabled: true, grace_period_seconds: 3 }
  symbol_blocks: { enabled: true, blocked_symbols: [RTY] }
"#;

/// One line of the closing summary.
struct Check {
    step: &'static str,
    rule: RuleId,
    seen: bool,
    detail: String,
}

/// Run the demo; `Ok(true)` when every enforcement happened and the simulator agrees.
pub async fn run() -> anyhow::Result<bool> {
    let started = std::time::Instant::now();
    let data_dir = std::env::temp_dir().join(format!("riskguard-demo-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let sim = sim::spawn(sim::SimConfig::default(), listener).await?;
    let base = sim.base_url().to_string();
    say(&format!(
        "simulator up at {base} (user demo, account {ACCOUNT})"
    ));

    let risk = config::parse_risk_config(DEMO_RULES, Path::new("demo-rules.yaml"), None)
        .map_err(|errors| anyhow::anyhow!("demo rules invalid: {errors:?}"))?;
    let login = daemon::LoginPlan::at(&base, "demo", "demo", vec![model::ids::AccountId(ACCOUNT)]);
    let config = daemon::DaemonConfig::in_code(risk, vec![login], data_dir.clone());
    let (decisions_tx, mut decisions) = broadcast::channel(1024);
    let hooks = daemon::Hooks {
        decisions: Some(decisions_tx),
        ..daemon::Hooks::default()
    };
    let mut running = daemon::spawn(config, hooks);
    running.ready(Duration::from_secs(15)).await?;
    say(&format!(
        "riskguard is watching account {ACCOUNT}; SQLite journal in {}",
        data_dir.display()
    ));
    println!();

    let trader = Trader::login(&base, ACCOUNT).await?;
    trader.price(MNQ, "21000.00").await?;
    trader.price(MES, "5800.00").await?;
    trader.price(RTY, "2050.0").await?;
    let mut checks = Vec::new();

    // 1. Oversize.
    step(
        "1",
        "The trader buys 6 MNQ; the account allows 5 contracts in total.",
    );
    trader.market(MNQ, 0, 6).await?;
    let d = expect(&mut decisions, RuleId::MaxContracts).await;
    checks.push(check("oversize", RuleId::MaxContracts, d));
    trader.wait_flat(MNQ).await?;
    say("   the simulator shows MNQ flat");

    // 2. Blocked symbol.
    step("2", "The trader buys 1 RTY, a blocked symbol.");
    trader.market(RTY, 0, 1).await?;
    let d = expect(&mut decisions, RuleId::SymbolBlocks).await;
    checks.push(check("blocked symbol", RuleId::SymbolBlocks, d));
    trader.wait_flat(RTY).await?;
    say("   the simulator shows RTY flat");

    // 3. Missing stop.
    step(
        "3",
        "The trader buys 1 MES and places no stop-loss (grace: 3 s).",
    );
    trader.market(MES, 0, 1).await?;
    let d = expect(&mut decisions, RuleId::NoStopLossGrace).await;
    checks.push(check("missing stop", RuleId::NoStopLossGrace, d));
    trader.wait_flat(MES).await?;
    say("   the simulator shows MES flat");

    // 4. Trading during a cooldown.
    step(
        "4",
        "The trader buys 1 MNQ with a stop, the market drops 75 points, the trader sells: -$150.",
    );
    let stop = trader.stop(MNQ, 1, 1, "20500.00").await?;
    trader.market(MNQ, 0, 1).await?;
    trader.price(MNQ, "20925.00").await?;
    trader.market(MNQ, 1, 1).await?;
    let d = expect(&mut decisions, RuleId::CooldownAfterLoss).await;
    checks.push(check("loss cooldown", RuleId::CooldownAfterLoss, d));
    trader.cancel(stop).await?;
    step("", "During the cooldown the trader buys 1 MNQ again.");
    trader.market(MNQ, 0, 1).await?;
    let d = expect(&mut decisions, RuleId::LockoutGuard).await;
    checks.push(check("trade during cooldown", RuleId::LockoutGuard, d));
    trader.wait_flat(MNQ).await?;
    say("   the simulator shows MNQ flat");
    let _ = expect(&mut decisions, RuleId::CooldownAfterLoss).await;

    // 5. Daily loss.
    step(
        "5",
        "The trader buys 2 MNQ with a stop; MNQ falls 130 points and the trader sells: the day passes -$500.",
    );
    trader.price(MNQ, "21000.00").await?;
    let stop = trader.stop(MNQ, 1, 2, "20000.00").await?;
    trader.market(MNQ, 0, 2).await?;
    trader.price(MNQ, "20870.00").await?;
    trader.market(MNQ, 1, 2).await?;
    let d = expect(&mut decisions, RuleId::DailyRealizedLoss).await;
    checks.push(check("daily loss", RuleId::DailyRealizedLoss, d));
    let _ = stop;
    trader.wait_no_orders().await?;
    say("   the simulator shows no working orders: the stop was cancelled with the lock");
    step(
        "",
        "Locked until the 17:00 CT reset, the trader tries once more: buy 1 MES.",
    );
    trader.market(MES, 0, 1).await?;
    let d = expect(&mut decisions, RuleId::LockoutGuard).await;
    checks.push(check("trade while locked", RuleId::LockoutGuard, d));
    trader.wait_flat(MES).await?;

    // Stop the daemon cleanly, then check the simulator's view.
    running.stop(Duration::from_secs(15)).await?;
    let state = trader.state().await?;
    let open = state["positions"].as_array().map_or(0, Vec::len);
    let closes = state["restCalls"]["/api/Position/closeContract"]
        .as_u64()
        .unwrap_or(0);

    println!();
    println!("{:<24} {:<30} {:<6} detail", "step", "rule", "ok");
    let mut all = true;
    for c in &checks {
        all &= c.seen;
        println!(
            "{:<24} {:<30} {:<6} {}",
            c.step,
            c.rule.as_str(),
            if c.seen { "yes" } else { "NO" },
            c.detail
        );
    }
    println!();
    println!("simulator: {open} open position(s), {closes} closeContract call(s)");
    let flat = open == 0;
    if !flat {
        println!("NOT OK: positions are still open");
    }
    let ok = all && flat;
    println!(
        "{} in {:.1} s",
        if ok {
            "demo OK: every enforcement happened"
        } else {
            "demo FAILED"
        },
        started.elapsed().as_secs_f32()
    );
    sim.shutdown().await?;
    let _ = std::fs::remove_dir_all(&data_dir);
    Ok(ok)
}

fn say(text: &str) {
    println!("{text}");
}

fn step(n: &str, text: &str) {
    if n.is_empty() {
        println!("   {text}");
    } else {
        println!("\n{n}. {text}");
    }
}

fn check(step: &'static str, rule: RuleId, d: Option<Decision>) -> Check {
    match d {
        Some(d) => Check {
            step,
            rule,
            seen: true,
            detail: format!("{}: {}", d.action.name(), d.reason),
        },
        None => Check {
            step,
            rule,
            seen: false,
            detail: "no decision within 15 s".into(),
        },
    }
}

/// Wait for the next decision of `rule`, narrating every decision on the way and the ones taken at the same
/// time (they are published together).
async fn expect(decisions: &mut broadcast::Receiver<Decision>, rule: RuleId) -> Option<Decision> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let d = tokio::time::timeout_at(deadline, decisions.recv())
            .await
            .ok()?
            .ok()?;
        narrate(&d);
        if d.rule == rule {
            while let Ok(more) = decisions.try_recv() {
                narrate(&more);
            }
            return Some(d);
        }
    }
}

fn narrate(d: &Decision) {
    let at = |u: &jiff::Timestamp| {
        u.round(jiff::Unit::Second)
            .map_or_else(|_| u.to_string(), |r| r.to_string())
    };
    let extra = match &d.action {
        Action::ClosePosition { contract } => format!(" {contract}"),
        Action::Lockout { until: Some(u) } | Action::Cooldown { until: u } => {
            format!(" until {}", at(u))
        }
        _ => String::new(),
    };
    println!(
        "   riskguard [{}] {}{}: {}",
        d.rule,
        d.action.name(),
        extra,
        d.reason
    );
}
