//! Drawing: [`render`] is a pure function of a [`Model`] and the instant `now` (every countdown is computed
//! from `now`; nothing here reads the clock), so every tab can be snapshot-tested at a fixed instant.
//!
//! Colours are the standard named ANSI ones (green, yellow, red, cyan) plus bold and reversed, so the screen
//! reads on dark and light terminals alike. Times are shown in the trading time zone (from `/v1/holidays`),
//! UTC until it is known. Money is formatted from `Decimal`, never through a float.

use api::{Account, DecisionRecord, Lock, PendingChange, RuleUsage, TradingState};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Borders, Cell, Clear, Paragraph, Row, Table, Wrap};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use crate::model::{Connection, Dialog, Model, Tab};

/// At this width and above the screen uses its wide layouts (one-line history, two rule columns, a clock).
const WIDE: u16 = 120;

fn bold() -> Style {
    Style::new().add_modifier(Modifier::BOLD)
}

fn fg(c: Color) -> Style {
    Style::new().fg(c)
}

fn heading() -> Style {
    Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD)
}

/// The whole screen.
pub fn render(frame: &mut Frame<'_>, model: &Model, now: Timestamp) {
    let tz = zone(model);
    let [top, body, bottom] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    frame.render_widget(tab_bar(model, top.width, now, &tz), top);
    frame.render_widget(footer(model, bottom.width, now), bottom);
    match (&model.connection, &model.view) {
        (
            Connection::Unreachable {
                error, retry_at, ..
            },
            _,
        ) => unreachable(frame, body, error, *retry_at, now),
        (_, None) => {
            let text = if matches!(model.connection, Connection::Connecting) {
                "Connecting to the riskguard daemon…"
            } else {
                "Connected; waiting for the daemon's first snapshot…"
            };
            frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), body);
        }
        (_, Some(_)) => match model.tab {
            Tab::Overview => overview(frame, body, model, now, &tz),
            Tab::Positions => positions(frame, body, model, now, &tz),
            Tab::Rules => rules(frame, body, model),
            Tab::Locks => locks(frame, body, model, now, &tz),
            Tab::History => history(frame, body, model, &tz),
            Tab::Connections => connections(frame, body, model, now, &tz),
            Tab::Holidays => holidays(frame, body, model),
        },
    }
    if model.help {
        help(frame);
    }
    if let Some(dialog) = &model.dialog {
        done_dialog(frame, dialog);
    }
}

/// The trading time zone, UTC until the daemon has said.
fn zone(model: &Model) -> TimeZone {
    model
        .holidays
        .as_ref()
        .and_then(|h| TimeZone::get(&h.timezone).ok())
        .unwrap_or(TimeZone::UTC)
}

/// Whole seconds from `now` to `until`, rounded up (0 once it has passed).
fn secs_until(until: Timestamp, now: Timestamp) -> i64 {
    let d = until.duration_since(now);
    let up = i64::from(d.subsec_nanos() > 0);
    (d.as_secs() + up).max(0)
}

/// `3h12m05s`, `4m05s`, `12s`, `2d03h12m`.
pub fn duration(secs: i64) -> String {
    let secs = secs.max(0);
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m{s:02}s"),
        (0, _, _) => format!("{h}h{m:02}m{s:02}s"),
        _ => format!("{d}d{h:02}h{m:02}m"),
    }
}

/// `in 3h12m05s` (or `now` once it has passed).
fn countdown(until: Timestamp, now: Timestamp) -> String {
    match secs_until(until, now) {
        0 => "now".to_owned(),
        s => format!("in {}", duration(s)),
    }
}

/// `15:02:03` today (in the zone), `Fri 03 Jan 17:00` on another day.
fn clock(t: Timestamp, now: Timestamp, tz: &TimeZone) -> String {
    let z = t.to_zoned_datetime(tz.clone());
    if z.date() == now.to_zoned_datetime(tz.clone()).date() {
        z.strftime("%H:%M:%S").to_string()
    } else {
        z.strftime("%a %d %b %H:%M").to_string()
    }
}

fn money(d: Decimal) -> String {
    format!("{:.2}", d.round_dp(2))
}

fn pnl_style(d: Decimal) -> Style {
    if d.is_sign_negative() && !d.is_zero() {
        fg(Color::Red)
    } else if d.is_zero() {
        Style::new()
    } else {
        fg(Color::Green)
    }
}

fn tab_bar(model: &Model, width: u16, now: Timestamp, tz: &TimeZone) -> Line<'static> {
    let wide = width >= WIDE;
    let mut spans = Vec::new();
    for (i, tab) in Tab::ALL.iter().enumerate() {
        let (long, short) = tab.titles();
        let title = format!(" {} {} ", i + 1, if wide { long } else { short });
        let style = if *tab == model.tab {
            Style::new()
                .fg(Color::Cyan)
                .add_modifier(Modifier::REVERSED | Modifier::BOLD)
        } else {
            Style::new()
        };
        spans.push(Span::styled(title, style));
    }
    if wide {
        let used: usize = spans.iter().map(Span::width).sum();
        let now = now
            .to_zoned_datetime(tz.clone())
            .strftime("%H:%M:%S %Z")
            .to_string();
        let pad = usize::from(width).saturating_sub(used + now.len() + 1);
        spans.push(Span::raw(" ".repeat(pad)));
        spans.push(Span::styled(now, bold()));
    }
    Line::from(spans)
}

fn footer(model: &Model, width: u16, now: Timestamp) -> Line<'static> {
    let state = match &model.connection {
        Connection::Connecting => Span::styled("connecting…", fg(Color::Yellow)),
        Connection::Live { .. } => {
            Span::styled("● live", fg(Color::Green).add_modifier(Modifier::BOLD))
        }
        Connection::Unreachable { retry_at, .. } => Span::styled(
            format!("● daemon unreachable, retry {}", countdown(*retry_at, now)),
            fg(Color::Red).add_modifier(Modifier::BOLD),
        ),
    };
    let keys = if state.width() + 52 <= usize::from(width) {
        "   Tab/1-7 tabs · D done for today · ? help · q quit"
    } else {
        "   ? help · q quit"
    };
    Line::from(vec![state, Span::raw(keys)])
}

fn unreachable(
    frame: &mut Frame<'_>,
    area: Rect,
    error: &str,
    retry_at: Timestamp,
    now: Timestamp,
) {
    let retry = match secs_until(retry_at, now) {
        0 => "Retrying now.".to_owned(),
        s => format!("Retrying in {s}s."),
    };
    let text = Text::from(vec![
        Line::raw(""),
        Line::styled(
            format!("The riskguard daemon is unreachable: {error}"),
            fg(Color::Red).add_modifier(Modifier::BOLD),
        ),
        Line::raw(""),
        Line::styled(retry, bold()),
        Line::raw(""),
        Line::raw(
            "Nothing is shown until it answers again, so that nothing stale looks current. This screen \
             reconnects by itself; if the daemon stays down, start it (or its service) again.",
        ),
    ]);
    frame.render_widget(
        Paragraph::new(text).wrap(Wrap { trim: false }).block(
            Block::new()
                .borders(Borders::ALL)
                .border_style(fg(Color::Red))
                .title(" riskguard "),
        ),
        area,
    );
}

/// The state as a block three lines tall, readable from across the desk: (blank, word, blank) rows of the
/// same width, in the state's colour, reversed (so the colour is the background on dark and light terminals).
fn state_block(state: TradingState) -> [Span<'static>; 3] {
    let (word, color) = match state {
        TradingState::Ok => ("OK", Color::Green),
        TradingState::Cooldown => ("COOLDOWN", Color::Yellow),
        TradingState::Locked => ("LOCKED", Color::Red),
    };
    let style = Style::new()
        .fg(color)
        .add_modifier(Modifier::REVERSED | Modifier::BOLD);
    let blank = " ".repeat(STATE_WIDTH);
    [
        Span::styled(blank.clone(), style),
        Span::styled(format!("{word:^STATE_WIDTH$}"), style),
        Span::styled(blank, style),
    ]
}

/// The width of the state block: "COOLDOWN" with two spaces each side.
const STATE_WIDTH: usize = 12;

fn overview(frame: &mut Frame<'_>, area: Rect, model: &Model, now: Timestamp, tz: &TimeZone) {
    let Some(view) = &model.view else { return };
    let mut lines: Vec<Line<'static>> = Vec::new();
    if view.accounts.is_empty() {
        lines.push(Line::raw("No accounts are watched."));
    }
    for (i, a) in view.accounts.iter().enumerate() {
        if i > 0 {
            lines.push(Line::raw(""));
        }
        account_lines(&mut lines, a, area.width, now, tz);
        for p in view.pending.iter().filter(|p| p.account == Some(a.id)) {
            lines.push(pending_line(p, now, tz));
        }
    }
    let global: Vec<&PendingChange> = view
        .pending
        .iter()
        .filter(|p| p.account.is_none())
        .collect();
    if !global.is_empty() {
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            "Pending config changes (all accounts)",
            heading(),
        ));
        for p in global {
            lines.push(pending_line(p, now, tz));
        }
    }
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((model.scroll, 0)),
        area,
    );
}

fn account_lines(
    lines: &mut Vec<Line<'static>>,
    a: &Account,
    width: u16,
    now: Timestamp,
    tz: &TimeZone,
) {
    let [top, middle, bottom] = state_block(a.state);
    let mut first = vec![top, Span::styled(format!("  Account {}", a.id), heading())];
    if a.can_trade == Some(false) {
        first.push(Span::styled("  canTrade=false", fg(Color::Red)));
    }
    lines.push(Line::from(first));
    let mut second = vec![middle];
    if let Some(until) = a.state_until {
        second.push(Span::styled(
            format!("  ends {}", countdown(until, now)),
            bold(),
        ));
        second.push(Span::raw(format!(
            " (at {})",
            until.to_zoned_datetime(tz.clone()).strftime("%H:%M:%S %Z")
        )));
    } else if a.state == TradingState::Ok {
        second.push(Span::raw("  trading allowed"));
    } else {
        second.push(Span::styled("  until cleared or reset", bold()));
    }
    lines.push(Line::from(second));
    let mut third = vec![bottom];
    if let Some(reason) = &a.state_reason {
        let color = if a.state == TradingState::Locked {
            Color::Red
        } else {
            Color::Yellow
        };
        third.push(Span::styled(format!("  {reason}"), fg(color)));
    }
    lines.push(Line::from(third));
    lines.push(Line::from(vec![
        Span::raw("  P&L  realized "),
        Span::styled(money(a.realized_pnl), pnl_style(a.realized_pnl)),
        Span::raw("   open "),
        Span::styled(money(a.unrealized_pnl), pnl_style(a.unrealized_pnl)),
        Span::raw("   net "),
        Span::styled(
            money(a.net_pnl),
            pnl_style(a.net_pnl).add_modifier(Modifier::BOLD),
        ),
        Span::raw(format!(
            "    positions {}  orders {}",
            a.open_positions, a.working_orders
        )),
    ]));
    let name_w = a
        .usage
        .iter()
        .map(|u| u.rule.len())
        .max()
        .unwrap_or(0)
        .min(28);
    let text_w = a.usage.iter().map(|u| u.text.len()).max().unwrap_or(0);
    let bar_w = usize::from(width)
        .saturating_sub(2 + name_w + 1 + 2 + 1 + text_w)
        .clamp(6, 80);
    for u in &a.usage {
        lines.push(usage_line(u, name_w, bar_w));
    }
}

/// The bar colour of a usage fraction: green, amber from 0.75, red from 0.9.
pub fn usage_color(fraction: Decimal) -> Color {
    if fraction >= Decimal::new(9, 1) {
        Color::Red
    } else if fraction >= Decimal::new(75, 2) {
        Color::Yellow
    } else {
        Color::Green
    }
}

/// How many of `width` cells a fraction fills (clamped to 0..=width), in Decimal arithmetic.
pub fn filled(fraction: Decimal, width: usize) -> usize {
    let f = fraction.clamp(Decimal::ZERO, Decimal::ONE);
    (f * Decimal::from(width))
        .floor()
        .to_usize()
        .unwrap_or(0)
        .min(width)
}

fn usage_line(u: &RuleUsage, name_w: usize, bar_w: usize) -> Line<'static> {
    let color = usage_color(u.fraction);
    let n = filled(u.fraction, bar_w);
    let mut name = u.rule.clone();
    name.truncate(name_w);
    Line::from(vec![
        Span::raw(format!("  {name:<name_w$} ")),
        Span::styled("█".repeat(n), fg(color)),
        Span::raw("░".repeat(bar_w - n)),
        Span::styled(format!(" {}", u.text), fg(color)),
    ])
}

fn pending_line(p: &PendingChange, now: Timestamp, tz: &TimeZone) -> Line<'static> {
    Line::from(vec![
        Span::styled("  pending ", fg(Color::Yellow).add_modifier(Modifier::BOLD)),
        Span::raw(format!("{} ", p.description)),
        Span::styled(
            format!(
                "takes effect {} ({})",
                countdown(p.effective_at, now),
                clock(p.effective_at, now, tz)
            ),
            bold(),
        ),
        Span::raw(format!(" by {}: {}", p.by, p.reason)),
    ])
}

fn right(s: String) -> Cell<'static> {
    Cell::from(Line::from(s).alignment(Alignment::Right))
}

fn positions(frame: &mut Frame<'_>, area: Rect, model: &Model, now: Timestamp, tz: &TimeZone) {
    let Some(view) = &model.view else { return };
    let wide = area.width >= WIDE;
    let area = if wide && !view.orders.is_empty() {
        let rows = u16::try_from(view.orders.len() + 2).unwrap_or(u16::MAX);
        let [top, bottom] =
            Layout::vertical([Constraint::Fill(1), Constraint::Length(rows)]).areas(area);
        orders(frame, bottom, &view.orders);
        top
    } else {
        area
    };
    if view.positions.is_empty() {
        frame.render_widget(Paragraph::new("No open positions."), area);
        return;
    }
    let mut titles = vec![
        "Account",
        "Contract",
        "Size",
        "Avg price",
        "Last",
        "Open P&L",
        "Stop",
        "Grace",
    ];
    if wide {
        titles.insert(7, "Opened");
    }
    let header = Row::new(titles.into_iter().map(|h| Cell::from(h).style(heading())));
    let rows: Vec<Row<'static>> = view
        .positions
        .iter()
        .skip(usize::from(model.scroll))
        .map(|p| {
            let open = p.unrealized_pnl.map_or_else(|| "—".to_owned(), money);
            let open_style = p.unrealized_pnl.map_or_else(Style::new, pnl_style);
            let (stop, grace) = if p.has_stop {
                (Cell::from("yes").style(fg(Color::Green)), Cell::from(""))
            } else {
                let grace = match p.stop_grace_until {
                    Some(until) if secs_until(until, now) > 0 => {
                        format!("{} left", duration(secs_until(until, now)))
                    }
                    Some(_) => "expired".to_owned(),
                    None => String::new(),
                };
                (
                    Cell::from("NO").style(fg(Color::Red).add_modifier(Modifier::BOLD)),
                    Cell::from(grace).style(fg(Color::Yellow).add_modifier(Modifier::BOLD)),
                )
            };
            let mut cells = vec![
                Cell::from(p.account.to_string()),
                Cell::from(p.contract.clone()),
                right(format!("{:+}", p.size)),
                right(p.average_price.to_string()),
                right(
                    p.last_price
                        .map_or_else(|| "—".to_owned(), |d| d.to_string()),
                ),
                Cell::from(Line::from(open).alignment(Alignment::Right)).style(open_style),
                stop,
                grace,
            ];
            if wide {
                cells.insert(7, Cell::from(clock(p.opened_at, now, tz)));
            }
            Row::new(cells)
        })
        .collect();
    let contract_w = view
        .positions
        .iter()
        .map(|p| p.contract.len())
        .max()
        .unwrap_or(8)
        .max(8);
    let mut widths = vec![
        Constraint::Length(7),
        Constraint::Length(u16::try_from(contract_w).unwrap_or(20)),
        Constraint::Length(5),
        Constraint::Length(10),
        Constraint::Length(10),
        Constraint::Length(10),
        Constraint::Length(4),
        Constraint::Fill(1),
    ];
    if wide {
        widths.insert(7, Constraint::Length(16));
    }
    frame.render_widget(Table::new(rows, widths).header(header), area);
}

/// The working orders (wide screens only).
fn orders(frame: &mut Frame<'_>, area: Rect, orders: &[api::Order]) {
    let mut lines = vec![Line::styled("Working orders", heading())];
    for o in orders {
        let price = match (o.limit_price, o.stop_price) {
            (Some(l), Some(s)) => format!("limit {l} stop {s}"),
            (Some(l), None) => format!("limit {l}"),
            (None, Some(s)) => format!("stop {s}"),
            (None, None) => String::new(),
        };
        lines.push(Line::raw(format!(
            "  {}  #{}  {}  {} {} {}  {}  ({})",
            o.account, o.order, o.contract, o.side, o.size, o.order_type, price, o.status
        )));
    }
    frame.render_widget(Paragraph::new(lines), area);
}

/// `rule.key = value` lines of a JSON tree (a disabled rule is one `rule.enabled = false` line).
pub fn flatten(prefix: &str, value: &serde_json::Value, out: &mut Vec<String>) {
    use serde_json::Value;
    let join = |k: &str| {
        if prefix.is_empty() {
            k.to_owned()
        } else {
            format!("{prefix}.{k}")
        }
    };
    match value {
        Value::Object(map) => {
            if map.get("enabled") == Some(&Value::Bool(false)) {
                out.push(format!("{} = false", join("enabled")));
                return;
            }
            for (k, v) in map {
                flatten(&join(k), v, out);
            }
        }
        Value::Array(items) if items.iter().any(|v| v.is_object() || v.is_array()) => {
            for (i, v) in items.iter().enumerate() {
                flatten(&format!("{prefix}[{i}]"), v, out);
            }
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(scalar).collect();
            out.push(format!("{prefix} = [{}]", items.join(", ")));
        }
        _ => out.push(format!("{prefix} = {}", scalar(value))),
    }
}

fn scalar(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn rules(frame: &mut Frame<'_>, area: Rect, model: &Model) {
    let mut lines: Vec<Line<'static>> = Vec::new();
    if model.rules.is_empty() {
        lines.push(Line::raw("The effective rules have not been read yet."));
    }
    for (i, r) in model.rules.iter().enumerate() {
        if i > 0 {
            lines.push(Line::raw(""));
        }
        lines.push(Line::styled(
            format!("Account {} (read-only; an admin changes them)", r.account),
            heading(),
        ));
        let mut flat = Vec::new();
        flatten("", &r.rules, &mut flat);
        lines.extend(flat.into_iter().map(|l| {
            let style = if l.ends_with(".enabled = false") {
                fg(Color::Yellow)
            } else {
                Style::new()
            };
            Line::styled(format!("  {l}"), style)
        }));
    }
    if area.width >= WIDE && lines.len() > usize::from(area.height) {
        let half = lines.len().div_ceil(2);
        let second = lines.split_off(half);
        let [l, r] = Layout::horizontal([Constraint::Fill(1), Constraint::Fill(1)]).areas(area);
        frame.render_widget(Paragraph::new(lines).scroll((model.scroll, 0)), l);
        frame.render_widget(Paragraph::new(second).scroll((model.scroll, 0)), r);
    } else {
        frame.render_widget(Paragraph::new(lines).scroll((model.scroll, 0)), area);
    }
}

fn lock_end(l: &Lock, now: Timestamp, tz: &TimeZone) -> String {
    match l.until {
        Some(until) => format!("ends {} ({})", countdown(until, now), clock(until, now, tz)),
        None if l.kind == "until_can_trade" => "until canTrade returns".to_owned(),
        None if l.kind == "until_reset" => "until reset".to_owned(),
        None => "until cleared".to_owned(),
    }
}

fn locks(frame: &mut Frame<'_>, area: Rect, model: &Model, now: Timestamp, tz: &TimeZone) {
    let Some(view) = &model.view else { return };
    let mut lines: Vec<Line<'static>> = Vec::new();
    if view.locks.is_empty() {
        lines.push(Line::raw("No locks: every account may trade."));
    }
    for l in &view.locks {
        let color = if l.kind == "cooldown" {
            Color::Yellow
        } else {
            Color::Red
        };
        lines.push(Line::from(vec![
            Span::styled(format!("{} ", l.account), heading()),
            Span::styled(l.rule.clone(), fg(color).add_modifier(Modifier::BOLD)),
            Span::raw(format!(" ({})  ", l.kind)),
            Span::styled(lock_end(l, now, tz), bold()),
        ]));
        lines.push(Line::raw(format!(
            "    since {}: {}",
            clock(l.since, now, tz),
            l.reason
        )));
    }
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((model.scroll, 0)),
        area,
    );
}

fn history(frame: &mut Frame<'_>, area: Rect, model: &Model, tz: &TimeZone) {
    let shown = model.filtered_history();
    let account = model
        .account_filter
        .map_or_else(|| "all".to_owned(), |a| a.to_string());
    let rule = model
        .rule_filter
        .clone()
        .unwrap_or_else(|| "all".to_owned());
    let mut lines = vec![Line::from(vec![
        Span::styled("Filter: ", heading()),
        Span::styled(format!("account {account}"), bold()),
        Span::raw(" (a)  "),
        Span::styled(format!("rule {rule}"), bold()),
        Span::raw(format!(
            " (r) · c clears · {} of {}, newest first",
            shown.len(),
            model.history.len()
        )),
    ])];
    if shown.is_empty() {
        lines.push(Line::raw("No decisions."));
    }
    let wide = area.width >= WIDE;
    let rule_w = shown.iter().map(|d| d.rule.len()).max().unwrap_or(0);
    let action_w = shown.iter().map(|d| d.action.len()).max().unwrap_or(0);
    for d in shown.iter().skip(usize::from(model.scroll)) {
        lines.extend(decision_lines(d, tz, wide, rule_w, action_w));
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
}

fn decision_lines(
    d: &DecisionRecord,
    tz: &TimeZone,
    wide: bool,
    rule_w: usize,
    action_w: usize,
) -> Vec<Line<'static>> {
    let time =
        d.t.to_zoned_datetime(tz.clone())
            .strftime("%H:%M:%S")
            .to_string();
    let action_style = match d.action.as_str() {
        "lockout" | "close_position" | "close_all_positions" | "flatten" => {
            fg(Color::Red).add_modifier(Modifier::BOLD)
        }
        "cooldown" | "cancel_order" | "cancel_all_orders" | "alert" | "warn" => {
            fg(Color::Yellow).add_modifier(Modifier::BOLD)
        }
        "unlock" => fg(Color::Green).add_modifier(Modifier::BOLD),
        _ => bold(),
    };
    let dry = if d.dry_run { " [dry-run]" } else { "" };
    let head = vec![
        Span::raw(format!("{time} ")),
        Span::styled(format!("{} ", d.account), heading()),
        Span::raw(format!("{:<rule_w$} ", d.rule)),
        Span::styled(format!("{:<action_w$}", d.action), action_style),
        Span::raw(dry),
    ];
    if wide {
        let mut head = head;
        head.push(Span::raw(format!("  {}", d.reason)));
        vec![Line::from(head)]
    } else {
        vec![
            Line::from(head),
            Line::raw(format!("         {}", d.reason)),
        ]
    }
}

fn yes_no(ok: bool, good: &str, bad: &str) -> Span<'static> {
    if ok {
        Span::styled(good.to_owned(), fg(Color::Green))
    } else {
        Span::styled(bad.to_owned(), fg(Color::Red).add_modifier(Modifier::BOLD))
    }
}

fn connections(frame: &mut Frame<'_>, area: Rect, model: &Model, now: Timestamp, tz: &TimeZone) {
    let Some(view) = &model.view else { return };
    let s = &view.status;
    let label = |l: &str| Span::styled(format!("{l:<20}"), heading());
    let ui = match &model.connection {
        Connection::Live { since, reconnects } => Span::styled(
            format!(
                "live since {} ({reconnects} reconnect{})",
                clock(*since, now, tz),
                if *reconnects == 1 { "" } else { "s" }
            ),
            fg(Color::Green),
        ),
        Connection::Connecting => Span::raw("connecting"),
        Connection::Unreachable { error, .. } => {
            Span::styled(format!("unreachable: {error}"), fg(Color::Red))
        }
    };
    let last_event = match s.last_event_at {
        Some(t) => {
            let age = now.duration_since(t).as_secs().max(0);
            format!("{} ago ({})", duration(age), clock(t, now, tz))
        }
        None => "none yet".to_owned(),
    };
    let count = |n: u64| {
        if n == 0 {
            Span::raw("0")
        } else {
            Span::styled(
                n.to_string(),
                fg(Color::Yellow).add_modifier(Modifier::BOLD),
            )
        }
    };
    let mut lines = vec![
        Line::from(vec![label("This screen"), ui]),
        Line::from(vec![
            label("Enforcement"),
            yes_no(
                s.enforcement_online,
                "online",
                "OFFLINE: enforcement calls cannot reach the gateway",
            ),
        ]),
        Line::from(vec![
            label("Dry-run"),
            if s.dry_run {
                Span::styled(
                    "ON: decisions are recorded, nothing is sent",
                    fg(Color::Yellow).add_modifier(Modifier::BOLD),
                )
            } else {
                Span::raw("off")
            },
        ]),
        Line::from(vec![
            label("Journal"),
            yes_no(
                !s.journal_degraded,
                "ok",
                "DEGRADED: the journal cannot be written",
            ),
        ]),
        Line::from(vec![label("Last gateway event"), Span::raw(last_event)]),
        Line::from(vec![
            label("Last update here"),
            Span::raw(model.last_stream_event.map_or_else(
                || "none yet".to_owned(),
                |t| format!("{} ago", duration(now.duration_since(t).as_secs().max(0))),
            )),
        ]),
        Line::from(vec![label("REST errors"), count(s.rest_errors)]),
        Line::from(vec![
            label("Malformed payloads"),
            count(s.malformed_payloads),
        ]),
        Line::from(vec![
            label("Daemon"),
            Span::raw(format!(
                "riskguard {}, up {} (since {})",
                s.version,
                duration(now.duration_since(s.started_at).as_secs()),
                clock(s.started_at, now, tz)
            )),
        ]),
    ];
    if let Some(e) = &model.fetch_error {
        lines.push(Line::from(vec![
            label("Last read"),
            Span::styled(e.clone(), fg(Color::Red)),
        ]));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled("Hubs", heading()));
    if s.hubs.is_empty() {
        lines.push(Line::raw("  none"));
    }
    let login_w = s
        .hubs
        .iter()
        .map(|h| h.login.len())
        .max()
        .unwrap_or(5)
        .max(5);
    lines.push(Line::styled(
        format!(
            "  {:<login_w$}  {:<6}  {:<5}  {:<16}  reconnects",
            "login", "hub", "state", "since"
        ),
        bold(),
    ));
    for h in &s.hubs {
        lines.push(Line::from(vec![
            Span::raw(format!("  {:<login_w$}  {:<6}  ", h.login, h.hub)),
            if h.up {
                Span::styled("up   ", fg(Color::Green))
            } else {
                Span::styled("DOWN ", fg(Color::Red).add_modifier(Modifier::BOLD))
            },
            Span::raw(format!(
                "  {:<16}  {}",
                h.since
                    .map_or_else(|| "—".to_owned(), |t| clock(t, now, tz)),
                h.reconnects
            )),
        ]));
    }
    frame.render_widget(Paragraph::new(lines).scroll((model.scroll, 0)), area);
}

fn holidays(frame: &mut Frame<'_>, area: Rect, model: &Model) {
    let Some(h) = &model.holidays else {
        frame.render_widget(Paragraph::new("The holidays have not been read yet."), area);
        return;
    };
    let label = |l: &str| Span::styled(format!("{l:<14}"), heading());
    let mut lines = vec![
        Line::from(vec![label("Timezone"), Span::raw(h.timezone.clone())]),
        Line::from(vec![
            label("Next holiday"),
            match &h.next {
                Some(n) => Span::styled(format!("{}  {} ({})", n.date, n.name, n.kind), bold()),
                None => Span::raw("none configured"),
            },
        ]),
        Line::raw(""),
        Line::styled("Holidays", heading()),
    ];
    if h.holidays.is_empty() {
        lines.push(Line::raw("  none configured"));
    }
    let name_w = h.holidays.iter().map(|x| x.name.len()).max().unwrap_or(0);
    for x in &h.holidays {
        lines.push(Line::raw(format!(
            "  {}  {:<name_w$}  {}",
            x.date, x.name, x.kind
        )));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled("Session windows", heading()));
    let mut flat = Vec::new();
    if !h.sessions.is_null() {
        flatten("", &h.sessions, &mut flat);
    }
    if flat.is_empty() {
        lines.push(Line::raw("  none (the session rule is disabled)"));
    }
    lines.extend(flat.into_iter().map(|l| Line::raw(format!("  {l}"))));
    frame.render_widget(Paragraph::new(lines).scroll((model.scroll, 0)), area);
}

/// A rectangle of at most `w`×`h` centred in `area`.
fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

fn popup(frame: &mut Frame<'_>, area: Rect, title: &str, text: Text<'static>, color: Color) {
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(text).wrap(Wrap { trim: false }).block(
            Block::new()
                .borders(Borders::ALL)
                .border_style(fg(color).add_modifier(Modifier::BOLD))
                .title(format!(" {title} ")),
        ),
        area,
    );
}

fn help(frame: &mut Frame<'_>) {
    let keys = [
        ("Tab / Shift-Tab", "next / previous tab"),
        ("1 … 7", "Overview … Holidays & sessions"),
        ("↑ ↓ PgUp PgDn", "scroll (j / k too); Home: top"),
        ("a / r", "History: cycle the account / rule filter"),
        ("c", "History: clear the filters"),
        ("D", "done for today: lock every account until the reset"),
        ("?", "this help (any key closes it)"),
        ("q / Ctrl-C", "quit (the daemon keeps enforcing)"),
    ];
    let lines: Vec<Line<'static>> = keys
        .iter()
        .map(|(k, v)| {
            Line::from(vec![
                Span::styled(format!("{k:<16}"), heading()),
                Span::raw((*v).to_owned()),
            ])
        })
        .collect();
    let area = centered(frame.area(), 76, 10);
    popup(frame, area, "Keys", Text::from(lines), Color::Cyan);
}

fn done_dialog(frame: &mut Frame<'_>, dialog: &Dialog) {
    let (title, text, color) = match dialog {
        Dialog::Confirm => (
            "Done for today",
            Text::from(vec![
                Line::styled("Lock every account until the next reset?", bold()),
                Line::raw("Only an admin with a cooling-off delay can undo it."),
                Line::raw(""),
                Line::styled(
                    "Press y to confirm, any other key to cancel.",
                    fg(Color::Yellow).add_modifier(Modifier::BOLD),
                ),
            ]),
            Color::Yellow,
        ),
        Dialog::Sending => (
            "Done for today",
            Text::raw("Asking the daemon to lock every account…"),
            Color::Yellow,
        ),
        Dialog::Answer(Ok(message)) => (
            "Done for today",
            Text::from(vec![
                Line::styled(
                    message.clone(),
                    fg(Color::Green).add_modifier(Modifier::BOLD),
                ),
                Line::raw(""),
                Line::raw("Press any key."),
            ]),
            Color::Green,
        ),
        Dialog::Answer(Err(error)) => (
            "Done for today failed",
            Text::from(vec![
                Line::styled(error.clone(), fg(Color::Red).add_modifier(Modifier::BOLD)),
                Line::raw(""),
                Line::raw("Nothing was locked by this request. Press any key."),
            ]),
            Color::Red,
        ),
    };
    let area = centered(frame.area(), 64, 7);
    popup(frame, area, title, text, color);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn durations_and_countdowns() {
        assert_eq!(duration(0), "0s");
        assert_eq!(duration(65), "1m05s");
        assert_eq!(duration(3600 + 12 * 60 + 5), "1h12m05s");
        assert_eq!(duration(2 * 86_400 + 3 * 3600), "2d03h00m");
        let now: Timestamp = "2025-01-02T15:00:00.200Z".parse().unwrap();
        let until: Timestamp = "2025-01-02T15:00:10Z".parse().unwrap();
        assert_eq!(countdown(until, now), "in 10s", "rounded up");
        assert_eq!(countdown(now, until), "now");
    }

    #[test]
    fn bars_fill_by_decimal_fraction_and_change_colour_at_the_thresholds() {
        assert_eq!(filled(Decimal::new(5, 1), 10), 5);
        assert_eq!(filled(Decimal::new(104, 2), 10), 10);
        assert_eq!(filled(Decimal::new(-1, 0), 10), 0);
        assert_eq!(filled(Decimal::new(99, 2), 10), 9);
        assert_eq!(usage_color(Decimal::new(74, 2)), Color::Green);
        assert_eq!(usage_color(Decimal::new(75, 2)), Color::Yellow);
        assert_eq!(usage_color(Decimal::new(9, 1)), Color::Red);
    }

    #[test]
    fn rules_flatten_into_key_value_lines() {
        let v = serde_json::json!({
            "max_contracts": {"enabled": true, "limit": 5},
            "symbol_blocks": {"enabled": false, "blocked_symbols": ["RTY"]},
            "session": {"enabled": true, "windows": [{"root": "ES", "open": "08:30"}], "roots": ["ES", "NQ"]}
        });
        let mut out = Vec::new();
        flatten("", &v, &mut out);
        assert_eq!(
            out,
            [
                "max_contracts.enabled = true",
                "max_contracts.limit = 5",
                "session.enabled = true",
                "session.roots = [ES, NQ]",
                "session.windows[0].open = 08:30",
                "session.windows[0].root = ES",
                "symbol_blocks.enabled = false",
            ]
        );
    }
}
