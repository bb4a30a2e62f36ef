//! Benchmark inputs for riskguard: a deterministic generator of gateway event streams in the REPLAY.md JSONL
//! format, and a risk configuration with all twelve rules enabled.
//!
//! The stream models 10 accounts trading 5 CME index futures (MNQ, MES, ES, NQ, M2K) with their real tick sizes
//! and tick values. It starts with one `contract` line per contract and one `account` line per account, then
//! `n` events: about 80 % sparse `quote` lines (prices random-walk by whole ticks; ES/MES and NQ/MNQ follow the
//! same index) and about 20 % account activity in the gateway's shape: market and limit orders
//! (Open → Filled or Cancelled), opening fills with `profitAndLoss: null`, closing fills with their P&L, positions
//! that open, grow, reduce and flatten, protective stops that are placed, resized, trailed, hit or cancelled,
//! balance updates, and rarely a `canTrade: false` blip.
//!
//! Time starts Monday 2026-03-02 08:30 CT (14:30Z) and advances 0–160 ms per event (80 ms on average), so
//! 1,000,000 events span about 22 hours of exchange time: the ES regular session ends (15:00 CT), the Globex
//! maintenance break (16:00–17:00 CT, which the generator skips like the exchange does) and the 17:00 CT daily
//! reset all happen. The generator is open loop: it does not react to the engine's decisions, so a locked
//! account keeps trading and the `lockout_guard` path is exercised as well.
//!
//! No floating point is used anywhere: prices are integer tick counts turned into `Decimal` text.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::time::Duration;

use jiff::Timestamp;
use rust_decimal::Decimal;

/// Number of accounts in the generated stream.
pub const ACCOUNTS: usize = 10;
/// The first account id; accounts are `FIRST_ACCOUNT..FIRST_ACCOUNT + ACCOUNTS`.
pub const FIRST_ACCOUNT: i64 = 7001;
/// Start of the stream: Monday 2026-03-02 14:30:00Z (08:30 America/Chicago, CST).
pub const START_SECOND: i64 = 1_772_461_800;
/// Mean time between two events, in microseconds (each step is uniform in `0..=2 * MEAN_STEP_US`).
pub const MEAN_STEP_US: i64 = 80_000;

/// Percentage of the `n` events that are quotes.
pub const QUOTE_PERCENT: u64 = 80;

/// A small, fast, seedable PRNG (xorshift64*), seeded through splitmix64. Deterministic across platforms.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        Rng(if z == 0 { 0x2545_F491_4F6C_DD1D } else { z })
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        let span = (hi - lo + 1).max(1) as u64;
        lo + self.below(span) as i64
    }

    /// True with probability `per_mille / 1000`.
    pub fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }

    /// An index drawn with the given integer weights.
    pub fn weighted(&mut self, weights: &[u64]) -> usize {
        let total: u64 = weights.iter().sum();
        let mut r = self.below(total);
        for (i, w) in weights.iter().enumerate() {
            if r < *w {
                return i;
            }
            r -= w;
        }
        weights.len() - 1
    }
}

/// One contract of the generated stream.
#[derive(Debug, Clone, Copy)]
pub struct ContractSpec {
    pub id: &'static str,
    pub name: &'static str,
    pub symbol_id: &'static str,
    /// Tick size in hundredths (0.25 → 25, 0.1 → 10).
    pub tick_size_cents: i64,
    /// Tick value in cents (0.50 → 50, 12.50 → 1250).
    pub tick_value_cents: i64,
    /// Fee per contract per side, in cents.
    pub fee_cents: i64,
    /// The index the contract follows: 0 S&P 500, 1 Nasdaq-100, 2 Russell 2000.
    pub family: usize,
    pub micro: bool,
    /// Typical protective-stop distance in ticks (min, max).
    pub stop_ticks: (i64, i64),
}

/// The five contracts: real CME tick sizes and tick values, March 2026 expiry.
pub const CONTRACTS: [ContractSpec; 5] = [
    ContractSpec {
        id: "CON.F.US.MNQ.H26",
        name: "MNQH6",
        symbol_id: "F.US.MNQ",
        tick_size_cents: 25,
        tick_value_cents: 50,
        fee_cents: 37,
        family: 1,
        micro: true,
        stop_ticks: (20, 80),
    },
    ContractSpec {
        id: "CON.F.US.MES.H26",
        name: "MESH6",
        symbol_id: "F.US.MES",
        tick_size_cents: 25,
        tick_value_cents: 125,
        fee_cents: 37,
        family: 0,
        micro: true,
        stop_ticks: (8, 24),
    },
    ContractSpec {
        id: "CON.F.US.EP.H26",
        name: "ESH6",
        symbol_id: "F.US.EP",
        tick_size_cents: 25,
        tick_value_cents: 1250,
        fee_cents: 140,
        family: 0,
        micro: false,
        stop_ticks: (8, 24),
    },
    ContractSpec {
        id: "CON.F.US.ENQ.H26",
        name: "NQH6",
        symbol_id: "F.US.ENQ",
        tick_size_cents: 25,
        tick_value_cents: 500,
        fee_cents: 140,
        family: 1,
        micro: false,
        stop_ticks: (20, 80),
    },
    ContractSpec {
        id: "CON.F.US.M2K.H26",
        name: "M2KH6",
        symbol_id: "F.US.M2K",
        tick_size_cents: 10,
        tick_value_cents: 50,
        fee_cents: 37,
        family: 2,
        micro: true,
        stop_ticks: (10, 40),
    },
];

/// Starting index levels in ticks: S&P 5800.00, Nasdaq 21000.00 (0.25 ticks), Russell 2050.0 (0.1 ticks).
const FAMILY_START_TICKS: [i64; 3] = [23_200, 84_000, 20_500];
/// Which contract a quote is for (MNQ, MES, ES, NQ, M2K).
const QUOTE_WEIGHTS: [u64; 5] = [30, 20, 20, 20, 10];
/// Which contract a trader opens (MNQ, MES, ES, NQ, M2K): mostly micros, as on evaluation accounts.
const ENTRY_WEIGHTS: [u64; 5] = [35, 25, 13, 12, 15];

fn cents(v: i64) -> Decimal {
    Decimal::new(v, 2)
}

fn tick_size(c: &ContractSpec) -> Decimal {
    cents(c.tick_size_cents)
}

/// Price text of `ticks` ticks of `c` (`84000` MNQ ticks → `21000.00`).
fn price_text(c: &ContractSpec, ticks: i64) -> String {
    (Decimal::from(ticks) * tick_size(c)).to_string()
}

fn side_of(dir: i64) -> i64 {
    if dir > 0 { 0 } else { 1 }
}

#[derive(Debug, Clone)]
struct Stop {
    order: i64,
    ticks: i64,
}

#[derive(Debug, Clone)]
struct Position {
    contract: usize,
    /// +1 long, -1 short.
    dir: i64,
    size: i64,
    /// Average entry in ticks (fractional after adds).
    avg_ticks: Decimal,
    stop: Option<Stop>,
}

#[derive(Debug, Clone)]
struct WorkingLimit {
    order: i64,
    contract: usize,
    dir: i64,
    size: i64,
    ticks: i64,
}

#[derive(Debug)]
struct Account {
    id: i64,
    balance: Decimal,
    /// Lines planned but not yet emitted: (kind, data); `t` is added at emission.
    queue: VecDeque<(&'static str, String)>,
    position: Option<Position>,
    limit: Option<WorkingLimit>,
    can_trade_off: bool,
}

/// The generator's whole state.
#[derive(Debug)]
struct Generator {
    rng: Rng,
    t_us: i64,
    family_ticks: [i64; 3],
    accounts: Vec<Account>,
    next_order: i64,
    next_trade: i64,
}

impl Generator {
    fn new(seed: u64) -> Self {
        let accounts = (0..ACCOUNTS)
            .map(|i| Account {
                id: FIRST_ACCOUNT + i as i64,
                balance: Decimal::new(50_000, 0),
                queue: VecDeque::new(),
                position: None,
                limit: None,
                can_trade_off: false,
            })
            .collect();
        Generator {
            rng: Rng::new(seed),
            t_us: START_SECOND * 1_000_000,
            family_ticks: FAMILY_START_TICKS,
            accounts,
            next_order: 3_100_000,
            next_trade: 8_200_000,
        }
    }

    fn t_text(&self) -> String {
        Timestamp::from_microsecond(self.t_us)
            .map(|t| t.to_string())
            .unwrap_or_default()
    }

    /// Move the clock forward by one event step; skip the Globex maintenance break and the weekend.
    fn tick_clock(&mut self) {
        self.t_us += self.rng.range(0, 2 * MEAN_STEP_US);
        let sec = self.t_us.div_euclid(1_000_000);
        let day = sec.div_euclid(86_400);
        let sod = sec.rem_euclid(86_400);
        // 1970-01-01 was a Thursday: (day + 4) % 7 gives 0 = Sunday … 6 = Saturday.
        let dow = (day + 4).rem_euclid(7);
        // In CST the break is 22:00Z–23:00Z (16:00–17:00 CT); Friday 16:00 CT to Sunday 17:00 CT is closed.
        let reopen = |d: i64| (d * 86_400 + 23 * 3_600) * 1_000_000;
        let closed_from = 22 * 3_600;
        let jump = match dow {
            5 if sod >= closed_from => Some(reopen(day + 2)),
            6 => Some(reopen(day + 1)),
            0 if sod < 23 * 3_600 => Some(reopen(day)),
            _ if (closed_from..23 * 3_600).contains(&sod) => Some(reopen(day)),
            _ => None,
        };
        if let Some(j) = jump {
            self.t_us = j + self.rng.range(0, 2 * MEAN_STEP_US);
        }
    }

    fn last_ticks(&self, c: usize) -> i64 {
        self.family_ticks[CONTRACTS[c].family]
    }

    fn header(&self) -> Vec<String> {
        let t = self.t_text();
        let mut out = Vec::new();
        for c in &CONTRACTS {
            out.push(format!(
                r#"{{"t":"{t}","kind":"contract","data":{{"id":"{}","name":"{}","description":"{}","tickSize":{},"tickValue":{},"activeContract":true,"symbolId":"{}"}}}}"#,
                c.id,
                c.name,
                c.name,
                tick_size(c),
                cents(c.tick_value_cents),
                c.symbol_id
            ));
        }
        for a in &self.accounts {
            out.push(account_line(&t, a.id, a.balance, true));
        }
        out
    }

    fn quote(&mut self) -> String {
        let c = self.rng.weighted(&QUOTE_WEIGHTS);
        let spec = &CONTRACTS[c];
        let step = [-2, -1, 0, 1, 2][self.rng.weighted(&[5, 25, 40, 25, 5])];
        let f = spec.family;
        self.family_ticks[f] += step;
        let last = self.family_ticks[f];
        let t = self.t_text();
        let mut data = format!(r#"{{"symbol":"{}""#, spec.symbol_id);
        let bid = last - self.rng.range(0, 1);
        match self.rng.below(10) {
            // Mostly a trade print only.
            0..=6 => {
                let _ = write!(data, r#","lastPrice":{}"#, price_text(spec, last));
            }
            // Book-only update.
            7 | 8 => {
                let _ = write!(
                    data,
                    r#","bestBid":{},"bestAsk":{}"#,
                    price_text(spec, bid),
                    price_text(spec, bid + 1)
                );
            }
            // Everything, as after a subscription.
            _ => {
                let _ = write!(
                    data,
                    r#","lastPrice":{},"bestBid":{},"bestAsk":{},"timestamp":"{t}""#,
                    price_text(spec, last),
                    price_text(spec, bid),
                    price_text(spec, bid + 1)
                );
            }
        }
        data.push('}');
        format!(
            r#"{{"t":"{t}","kind":"quote","contractId":"{}","data":{data}}}"#,
            spec.id
        )
    }

    /// One account event: plan actions until some account has a line to emit.
    fn account_event(&mut self) -> String {
        let mut a = self.rng.below(ACCOUNTS as u64) as usize;
        loop {
            if self.accounts[a].queue.is_empty() {
                self.plan(a);
            }
            if let Some((kind, data)) = self.accounts[a].queue.pop_front() {
                let t = self.t_text();
                return format!(r#"{{"t":"{t}","kind":"{kind}","data":{data}}}"#);
            }
            a = (a + 1) % ACCOUNTS;
        }
    }

    fn order_id(&mut self) -> i64 {
        self.next_order += 1;
        self.next_order
    }

    fn trade_id(&mut self) -> i64 {
        self.next_trade += 1;
        self.next_trade
    }

    /// Plan the next action of account `a` (may plan nothing: the trader waits).
    fn plan(&mut self, a: usize) {
        let t = self.t_text();
        if self.accounts[a].can_trade_off {
            let acc = &mut self.accounts[a];
            acc.can_trade_off = false;
            let line = account_data(acc.id, acc.balance, true);
            acc.queue.push_back(("account", line));
            return;
        }
        if self.accounts[a].position.is_some() {
            self.plan_in_position(a, &t);
        } else if self.accounts[a].limit.is_some() {
            self.plan_working_limit(a, &t);
        } else {
            self.plan_flat(a, &t);
        }
    }

    fn plan_flat(&mut self, a: usize, t: &str) {
        let acc_id = self.accounts[a].id;
        // A rare loss of trading permission (e.g. a gateway-side risk event), restored on the next action.
        if self.rng.chance(1) && self.rng.chance(100) {
            let acc = &mut self.accounts[a];
            acc.can_trade_off = true;
            acc.queue
                .push_back(("account", account_data(acc_id, acc.balance, false)));
            return;
        }
        let c = self.rng.weighted(&ENTRY_WEIGHTS);
        let spec = CONTRACTS[c];
        let dir = if self.rng.chance(500) { 1 } else { -1 };
        let size = if spec.micro {
            [1, 2, 3, 4, 5][self.rng.weighted(&[35, 30, 20, 10, 5])]
        } else {
            [1, 2][self.rng.weighted(&[80, 20])]
        };
        let last = self.last_ticks(c);
        if self.rng.chance(250) {
            // A resting limit order below (buy) or above (sell) the market.
            let ticks = last - dir * self.rng.range(2, 12);
            let id = self.order_id();
            let data = order_data(
                t,
                id,
                acc_id,
                &spec,
                1,
                1,
                side_of(dir),
                size,
                Some(ticks),
                None,
                0,
                None,
            );
            self.accounts[a].queue.push_back(("order", data));
            self.accounts[a].limit = Some(WorkingLimit {
                order: id,
                contract: c,
                dir,
                size,
                ticks,
            });
            return;
        }
        let id = self.order_id();
        self.entry_fill(a, t, c, dir, size, id, last, 2, None);
    }

    fn plan_working_limit(&mut self, a: usize, t: &str) {
        let Some(l) = self.accounts[a].limit.clone() else {
            return;
        };
        let acc_id = self.accounts[a].id;
        let spec = CONTRACTS[l.contract];
        let last = self.last_ticks(l.contract);
        let crossed = if l.dir > 0 {
            last <= l.ticks
        } else {
            last >= l.ticks
        };
        if crossed {
            self.accounts[a].limit = None;
            self.entry_fill(
                a,
                t,
                l.contract,
                l.dir,
                l.size,
                l.order,
                l.ticks,
                1,
                Some(l.ticks),
            );
        } else if self.rng.chance(400) {
            self.accounts[a].limit = None;
            let data = order_data(
                t,
                l.order,
                acc_id,
                &spec,
                3,
                1,
                side_of(l.dir),
                l.size,
                Some(l.ticks),
                None,
                0,
                None,
            );
            self.accounts[a].queue.push_back(("order", data));
        }
    }

    /// An order `id` that opens a position: (Open for market orders), Filled, the opening fill, the position,
    /// and usually a protective stop.
    #[allow(clippy::too_many_arguments)]
    fn entry_fill(
        &mut self,
        a: usize,
        t: &str,
        c: usize,
        dir: i64,
        size: i64,
        id: i64,
        fill_ticks: i64,
        order_type: i64,
        limit: Option<i64>,
    ) {
        let acc_id = self.accounts[a].id;
        let spec = CONTRACTS[c];
        let side = side_of(dir);
        let trade = self.trade_id();
        let q = &mut self.accounts[a].queue;
        if order_type == 2 {
            q.push_back((
                "order",
                order_data(t, id, acc_id, &spec, 1, 2, side, size, None, None, 0, None),
            ));
        }
        q.push_back((
            "order",
            order_data(
                t,
                id,
                acc_id,
                &spec,
                2,
                order_type,
                side,
                size,
                limit,
                None,
                size,
                Some(fill_ticks),
            ),
        ));
        q.push_back((
            "trade",
            trade_data(t, trade, acc_id, &spec, fill_ticks, None, size, side, id),
        ));
        let avg_ticks = Decimal::from(fill_ticks);
        q.push_back((
            "position",
            position_data(t, acc_id, c, dir, size, avg_ticks),
        ));
        let mut position = Position {
            contract: c,
            dir,
            size,
            avg_ticks,
            stop: None,
        };
        // Most traders place a stop at once; some forget (no_stop_loss_grace) and may add one later.
        if self.rng.chance(880) {
            self.place_stop(a, t, &mut position);
        }
        self.accounts[a].position = Some(position);
    }

    fn place_stop(&mut self, a: usize, t: &str, p: &mut Position) {
        let spec = CONTRACTS[p.contract];
        let dist = self.rng.range(spec.stop_ticks.0, spec.stop_ticks.1);
        let last = self.last_ticks(p.contract);
        let ticks = last - p.dir * dist;
        let id = self.order_id();
        let acc_id = self.accounts[a].id;
        let data = order_data(
            t,
            id,
            acc_id,
            &spec,
            1,
            4,
            side_of(-p.dir),
            p.size,
            None,
            Some(ticks),
            0,
            None,
        );
        self.accounts[a].queue.push_back(("order", data));
        p.stop = Some(Stop { order: id, ticks });
    }

    fn plan_in_position(&mut self, a: usize, t: &str) {
        let Some(mut p) = self.accounts[a].position.take() else {
            return;
        };
        let acc_id = self.accounts[a].id;
        let spec = CONTRACTS[p.contract];
        let last = self.last_ticks(p.contract);
        let exit_side = side_of(-p.dir);
        // The stop is hit when the market trades through it.
        if let Some(stop) = p.stop.clone() {
            let hit = if p.dir > 0 {
                last <= stop.ticks
            } else {
                last >= stop.ticks
            };
            if hit {
                let data = order_data(
                    t,
                    stop.order,
                    acc_id,
                    &spec,
                    2,
                    4,
                    exit_side,
                    p.size,
                    None,
                    Some(stop.ticks),
                    p.size,
                    Some(stop.ticks),
                );
                self.accounts[a].queue.push_back(("order", data));
                self.close_fill(a, t, &p, p.size, stop.ticks, stop.order);
                return;
            }
        } else if self.rng.chance(500) {
            self.place_stop(a, t, &mut p);
            self.accounts[a].position = Some(p);
            return;
        }
        match self.rng.weighted(&[15, 15, 30, 25, 15]) {
            // Add to the position.
            0 if p.size < 10 => {
                let add = if spec.micro { self.rng.range(1, 3) } else { 1 };
                let id = self.order_id();
                let trade = self.trade_id();
                let side = side_of(p.dir);
                let new_size = p.size + add;
                p.avg_ticks = ((p.avg_ticks * Decimal::from(p.size) + Decimal::from(last * add))
                    / Decimal::from(new_size))
                .round_dp(8);
                p.size = new_size;
                let q = &mut self.accounts[a].queue;
                q.push_back((
                    "order",
                    order_data(t, id, acc_id, &spec, 1, 2, side, add, None, None, 0, None),
                ));
                q.push_back((
                    "order",
                    order_data(
                        t,
                        id,
                        acc_id,
                        &spec,
                        2,
                        2,
                        side,
                        add,
                        None,
                        None,
                        add,
                        Some(last),
                    ),
                ));
                q.push_back((
                    "trade",
                    trade_data(t, trade, acc_id, &spec, last, None, add, side, id),
                ));
                q.push_back((
                    "position",
                    position_data(t, acc_id, p.contract, p.dir, p.size, p.avg_ticks),
                ));
                if let Some(stop) = &p.stop {
                    q.push_back((
                        "order",
                        order_data(
                            t,
                            stop.order,
                            acc_id,
                            &spec,
                            1,
                            4,
                            exit_side,
                            p.size,
                            None,
                            Some(stop.ticks),
                            0,
                            None,
                        ),
                    ));
                }
            }
            // Take partial profit / scale out.
            1 if p.size > 1 => {
                let cut = self.rng.range(1, p.size - 1);
                let id = self.order_id();
                let q = &mut self.accounts[a].queue;
                q.push_back((
                    "order",
                    order_data(
                        t, id, acc_id, &spec, 1, 2, exit_side, cut, None, None, 0, None,
                    ),
                ));
                q.push_back((
                    "order",
                    order_data(
                        t,
                        id,
                        acc_id,
                        &spec,
                        2,
                        2,
                        exit_side,
                        cut,
                        None,
                        None,
                        cut,
                        Some(last),
                    ),
                ));
                self.close_fill(a, t, &p, cut, last, id);
                p.size -= cut;
                if let Some(stop) = &p.stop {
                    let data = order_data(
                        t,
                        stop.order,
                        acc_id,
                        &spec,
                        1,
                        4,
                        exit_side,
                        p.size,
                        None,
                        Some(stop.ticks),
                        0,
                        None,
                    );
                    self.accounts[a].queue.push_back(("order", data));
                }
            }
            // Close at market and cancel the stop.
            2 => {
                let id = self.order_id();
                let q = &mut self.accounts[a].queue;
                q.push_back((
                    "order",
                    order_data(
                        t, id, acc_id, &spec, 1, 2, exit_side, p.size, None, None, 0, None,
                    ),
                ));
                q.push_back((
                    "order",
                    order_data(
                        t,
                        id,
                        acc_id,
                        &spec,
                        2,
                        2,
                        exit_side,
                        p.size,
                        None,
                        None,
                        p.size,
                        Some(last),
                    ),
                ));
                self.close_fill(a, t, &p, p.size, last, id);
                if let Some(stop) = &p.stop {
                    let data = order_data(
                        t,
                        stop.order,
                        acc_id,
                        &spec,
                        3,
                        4,
                        exit_side,
                        p.size,
                        None,
                        Some(stop.ticks),
                        0,
                        None,
                    );
                    self.accounts[a].queue.push_back(("order", data));
                }
                return;
            }
            // Trail the stop when the market moved in our favour.
            3 => {
                if let Some(stop) = &mut p.stop {
                    let dist = self.rng.range(spec.stop_ticks.0, spec.stop_ticks.1);
                    let wanted = last - p.dir * dist;
                    if (wanted - stop.ticks) * p.dir > 0 {
                        stop.ticks = wanted;
                        let data = order_data(
                            t,
                            stop.order,
                            acc_id,
                            &spec,
                            1,
                            4,
                            exit_side,
                            p.size,
                            None,
                            Some(wanted),
                            0,
                            None,
                        );
                        self.accounts[a].queue.push_back(("order", data));
                    }
                }
            }
            // Wait.
            _ => {}
        }
        self.accounts[a].position = Some(p);
    }

    /// A closing fill of `qty` at `ticks`, the position after it and, when flat, the balance update.
    fn close_fill(&mut self, a: usize, t: &str, p: &Position, qty: i64, ticks: i64, order: i64) {
        let acc_id = self.accounts[a].id;
        let spec = CONTRACTS[p.contract];
        let trade = self.trade_id();
        let pnl = ((Decimal::from(ticks) - p.avg_ticks)
            * Decimal::from(qty * p.dir)
            * cents(spec.tick_value_cents))
        .round_dp(2);
        let fees = cents(spec.fee_cents * qty);
        let acc = &mut self.accounts[a];
        acc.balance += pnl - fees;
        let remaining = p.size - qty;
        acc.queue.push_back((
            "trade",
            trade_data(
                t,
                trade,
                acc_id,
                &spec,
                ticks,
                Some(pnl),
                qty,
                side_of(-p.dir),
                order,
            ),
        ));
        acc.queue.push_back((
            "position",
            position_data(t, acc_id, p.contract, p.dir, remaining, p.avg_ticks),
        ));
        if remaining == 0 {
            acc.queue
                .push_back(("account", account_data(acc_id, acc.balance, true)));
        }
    }
}

fn account_data(id: i64, balance: Decimal, can_trade: bool) -> String {
    format!(
        r#"{{"id":{id},"name":"BENCH-{id}","balance":{},"canTrade":{can_trade},"isVisible":true,"simulated":true}}"#,
        balance.round_dp(2)
    )
}

fn account_line(t: &str, id: i64, balance: Decimal, can_trade: bool) -> String {
    format!(
        r#"{{"t":"{t}","kind":"account","data":{}}}"#,
        account_data(id, balance, can_trade)
    )
}

fn opt_price(c: &ContractSpec, ticks: Option<i64>) -> String {
    ticks.map_or_else(|| "null".to_string(), |t| price_text(c, t))
}

#[allow(clippy::too_many_arguments)]
fn order_data(
    t: &str,
    id: i64,
    account: i64,
    c: &ContractSpec,
    status: i64,
    order_type: i64,
    side: i64,
    size: i64,
    limit: Option<i64>,
    stop: Option<i64>,
    fill_volume: i64,
    filled: Option<i64>,
) -> String {
    format!(
        r#"{{"id":{id},"accountId":{account},"contractId":"{}","symbolId":"{}","creationTimestamp":"{t}","updateTimestamp":"{t}","status":{status},"type":{order_type},"side":{side},"size":{size},"limitPrice":{},"stopPrice":{},"fillVolume":{fill_volume},"filledPrice":{},"customTag":null}}"#,
        c.id,
        c.symbol_id,
        opt_price(c, limit),
        opt_price(c, stop),
        opt_price(c, filled),
    )
}

#[allow(clippy::too_many_arguments)]
fn trade_data(
    t: &str,
    id: i64,
    account: i64,
    c: &ContractSpec,
    ticks: i64,
    pnl: Option<Decimal>,
    size: i64,
    side: i64,
    order: i64,
) -> String {
    let pnl = pnl.map_or_else(|| "null".to_string(), |p| p.to_string());
    format!(
        r#"{{"id":{id},"accountId":{account},"contractId":"{}","creationTimestamp":"{t}","price":{},"profitAndLoss":{pnl},"fees":{},"side":{side},"size":{size},"voided":false,"orderId":{order}}}"#,
        c.id,
        price_text(c, ticks),
        cents(c.fee_cents * size),
    )
}

fn position_data(
    t: &str,
    account: i64,
    c: usize,
    dir: i64,
    size: i64,
    avg_ticks: Decimal,
) -> String {
    let spec = &CONTRACTS[c];
    let (kind, avg) = if size == 0 {
        (if dir > 0 { 1 } else { 2 }, "0".to_string())
    } else {
        (
            if dir > 0 { 1 } else { 2 },
            (avg_ticks * tick_size(spec))
                .round_dp(6)
                .normalize()
                .to_string(),
        )
    };
    format!(
        r#"{{"id":{},"accountId":{account},"contractId":"{}","creationTimestamp":"{t}","type":{kind},"size":{size},"averagePrice":{avg}}}"#,
        account * 10 + c as i64,
        spec.id,
    )
}

/// The header (5 `contract` lines, 10 `account` lines) followed by `n` events, as JSONL lines without newlines.
/// The same `(n, seed)` always gives the same lines.
pub fn generate(n: usize, seed: u64) -> Vec<String> {
    let mut g = Generator::new(seed);
    let mut out = g.header();
    out.reserve(n);
    for _ in 0..n {
        g.tick_clock();
        let line = if g.rng.below(100) < QUOTE_PERCENT {
            g.quote()
        } else {
            g.account_event()
        };
        out.push(line);
    }
    out
}

/// The generated lines joined into one JSONL text (each line ends with `\n`).
pub fn generate_text(n: usize, seed: u64) -> String {
    let lines = generate(n, seed);
    let mut text = String::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
    for l in lines {
        text.push_str(&l);
        text.push('\n');
    }
    text
}

/// A risk_config.yaml with all twelve rules enabled, tuned to the generated stream so that every rule fires
/// now and then without locking the accounts for good.
pub fn risk_config_all_rules() -> String {
    RISK_CONFIG_ALL_RULES.to_string()
}

const RISK_CONFIG_ALL_RULES: &str = r#"# Benchmark config: all twelve rules enabled (crates/bench, risk_config_all_rules()).
global:
  dry_run: false
  reset_time: "17:00"
  timezone: "America/Chicago"
  subtract_fees: true
  journal_retention_days: 30
  strict_mode: false

rules:
  max_contracts:
    enabled: true
    limit: 8
    action: reduce_to_limit
  max_contracts_per_instrument:
    enabled: true
    limits: { MNQ: 6, MES: 6, M2K: 6, ES: 2, NQ: 2 }
    action: reduce_to_limit
    unknown_symbol_action: allow_unlimited
  daily_realized_loss:
    enabled: true
    loss_limit: 4000.00
    include_unrealized: false
    action: close_all_and_lockout
    lockout_until: daily_reset
    warn_at: [0.5, 0.75, 0.9]
  daily_unrealized_loss:
    enabled: true
    loss_limit: 400.00
    scope: per_position
    lockout: false
  max_unrealized_profit:
    enabled: true
    profit_target: 600.00
    scope: per_position
    lockout: false
  trade_frequency_limit:
    enabled: true
    per_minute: 3
    per_hour: 100
    cooldown_seconds: { per_minute: 60, per_hour: 600 }
  cooldown_after_loss:
    enabled: true
    tiers:
      - { loss: 250.00, cooldown_seconds: 60 }
      - { loss: 500.00, cooldown_seconds: 300 }
  no_stop_loss_grace:
    enabled: true
    grace_period_seconds: 30
  session_block_outside:
    enabled: true
    timezone: "America/Chicago"
    sessions:
      default: { start: "17:00", end: "16:00", days: [sun, mon, tue, wed, thu] }
      ES: { start: "08:30", end: "15:00", days: [mon, tue, wed, thu, fri] }
    respect_holidays: true
    holidays: ["2026-12-25"]
    close_positions_at_session_end: true
    lockout_outside_session: true
  auth_loss_guard:
    enabled: true
    flatten: true
  symbol_blocks:
    enabled: true
    blocked_symbols: [RTY, MBT]
  trade_management:
    enabled: true
    auto_breakeven: { enabled: true, trigger_ticks: 16, offset_ticks: 2 }
    trailing_stop: { enabled: true, activation_ticks: 40, distance_ticks: 20 }

accounts:
  "7003":
    daily_realized_loss: { loss_limit: 1500.00 }
  "7007":
    symbol_blocks: { blocked_symbols: [M2K, RTY] }
"#;

/// CPU time (user + system) consumed so far by the calling thread, from `/proc/thread-self/stat` (Linux; 10 ms
/// resolution). `None` elsewhere. The benchmarks print throughput per CPU second next to criterion's wall-clock
/// figures, because on a shared machine the wall clock also counts time spent waiting for a core.
pub fn thread_cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    // Fields after the `(comm)`: state is field 3, utime 14, stime 15 (1-based).
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split_ascii_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    // USER_HZ is 100 on every Linux platform Rust supports.
    Some(Duration::from_millis((utime + stime) * 10))
}
