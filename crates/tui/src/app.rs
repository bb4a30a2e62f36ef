//! The async shell around the pure [`Model`] and [`render`]: the terminal (raw mode, alternate screen,
//! restored on exit and on panic), a blocking input thread that forwards key presses, the connection task, and
//! a one-second tick for the countdowns.
//!
//! The connection task re-creates the [`Client`] from the data dir on every attempt (a restarted daemon may
//! listen on a new port and rewrites its endpoint file), opens the stream, then reads the day's history, the
//! effective rules and the holidays once; a `reload` decision reads rules and holidays again. When the
//! daemon cannot be reached it says so and tries again after 0.5 s, doubling to 5 s. There is no polling
//! for data: the screen is redrawn after every message or key, and once a second; otherwise the loop sleeps.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use api::client::Client;
use api::{AccountRules, DecisionRecord, Holidays, StreamEvent};
use crossterm::event::Event;
use futures_util::StreamExt as _;
use jiff::Timestamp;
use tokio::sync::mpsc;

use crate::model::{Command, Model};
use crate::render::render;

/// What the connection task and the "done for today" request tell the loop.
#[derive(Debug)]
enum Msg {
    Connected,
    Event(StreamEvent),
    History(Vec<DecisionRecord>),
    Rules(Vec<AccountRules>),
    Holidays(Holidays),
    FetchError(String),
    Unreachable { error: String, retry_at: Timestamp },
    DoneAnswer(Result<String, String>),
}

const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Run the UI until the trader quits.
///
/// # Errors
/// The terminal cannot be set up or written.
pub async fn run(data_dir: PathBuf) -> io::Result<()> {
    let mut terminal = ratatui::try_init()?;
    let result = event_loop(&mut terminal, data_dir).await;
    ratatui::restore();
    result
}

async fn event_loop(terminal: &mut ratatui::DefaultTerminal, data_dir: PathBuf) -> io::Result<()> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Msg>();
    let (keys_tx, mut keys) = mpsc::unbounded_channel::<io::Result<Event>>();
    // crossterm's `read` blocks; a plain thread is the cheapest way to wait for keys (it ends with the
    // process).
    std::thread::Builder::new()
        .name("keys".into())
        .spawn(move || {
            loop {
                let event = crossterm::event::read();
                let failed = event.is_err();
                if keys_tx.send(event).is_err() || failed {
                    return;
                }
            }
        })?;
    let connection = tokio::spawn(connection(data_dir.clone(), tx.clone()));
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut model = Model::new();
    let result = loop {
        terminal.draw(|f| render(f, &model, Timestamp::now()))?;
        tokio::select! {
            msg = rx.recv() => {
                let Some(msg) = msg else { break Ok(()) };
                handle(&mut model, msg);
                // Apply whatever else is already queued before drawing once.
                while let Ok(msg) = rx.try_recv() {
                    handle(&mut model, msg);
                }
            }
            key = keys.recv() => match key {
                Some(Ok(Event::Key(key))) => match model.on_key(key) {
                    Some(Command::Quit) => break Ok(()),
                    Some(Command::DoneForToday) => {
                        tokio::spawn(done_for_today(data_dir.clone(), tx.clone()));
                    }
                    None => {}
                },
                Some(Ok(_)) => {} // a resize: redrawn below
                Some(Err(e)) => break Err(e),
                None => break Ok(()),
            },
            _ = tick.tick() => {}
        }
    };
    connection.abort();
    result
}

fn handle(model: &mut Model, msg: Msg) {
    let now = Timestamp::now();
    match msg {
        Msg::Connected => model.on_connected(now),
        Msg::Event(event) => model.apply(event, now),
        Msg::History(h) => model.on_history(h),
        Msg::Rules(r) => model.on_rules(r),
        Msg::Holidays(h) => model.on_holidays(h),
        Msg::FetchError(e) => model.fetch_error = Some(e),
        Msg::Unreachable { error, retry_at } => model.on_unreachable(error, retry_at),
        Msg::DoneAnswer(answer) => model.on_done_answer(answer),
    }
}

async fn done_for_today(data_dir: PathBuf, tx: mpsc::UnboundedSender<Msg>) {
    let answer = match Client::from_data_dir(&data_dir) {
        Ok(client) => client
            .done_for_today(None)
            .await
            .map(|done| done.message)
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    let _ = tx.send(Msg::DoneAnswer(answer));
}

/// Connect, follow the stream, and reconnect with a backoff, until the loop is gone.
async fn connection(data_dir: PathBuf, tx: mpsc::UnboundedSender<Msg>) {
    let mut backoff = FIRST_BACKOFF;
    loop {
        let (was_live, error) = session(&data_dir, &tx).await;
        if tx.is_closed() {
            return;
        }
        if was_live {
            backoff = FIRST_BACKOFF;
        }
        let retry_at = Timestamp::now()
            .checked_add(backoff)
            .unwrap_or_else(|_| Timestamp::now());
        if tx.send(Msg::Unreachable { error, retry_at }).is_err() {
            return;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// One connection: whether the stream opened, and why it ended.
async fn session(data_dir: &Path, tx: &mpsc::UnboundedSender<Msg>) -> (bool, String) {
    let client = match Client::from_data_dir(data_dir) {
        Ok(c) => c,
        Err(e) => return (false, plain(&e)),
    };
    let stream = match client.stream().await {
        Ok(s) => s,
        Err(e) => return (false, plain(&e)),
    };
    let mut stream = std::pin::pin!(stream);
    if tx.send(Msg::Connected).is_err() {
        return (true, String::new());
    }
    fetch(&client, tx, true).await;
    while let Some(item) = stream.next().await {
        match item {
            Ok(event) => {
                let reload = matches!(&event, StreamEvent::Decision(d) if d.action == "reload");
                if tx.send(Msg::Event(event)).is_err() {
                    return (true, String::new());
                }
                if reload {
                    fetch(&client, tx, false).await;
                }
            }
            Err(e) => return (true, plain(&e)),
        }
    }
    (true, "the stream ended (did the daemon stop?)".to_owned())
}

/// A client error without the client's own "the daemon is unreachable:" prefix (the screen says it).
fn plain(e: &api::client::ClientError) -> String {
    match e {
        api::client::ClientError::Unreachable(why) => why.clone(),
        other => other.to_string(),
    }
}

/// Read the rules and holidays (and, with `history`, the day's decisions) once.
async fn fetch(client: &Client, tx: &mpsc::UnboundedSender<Msg>, history: bool) {
    let mut errors = Vec::new();
    if history {
        match client.decisions(None, None).await {
            Ok(h) => drop(tx.send(Msg::History(h))),
            Err(e) => errors.push(format!("history: {e}")),
        }
    }
    match client.rules().await {
        Ok(r) => drop(tx.send(Msg::Rules(r))),
        Err(e) => errors.push(format!("rules: {e}")),
    }
    match client.holidays().await {
        Ok(h) => drop(tx.send(Msg::Holidays(h))),
        Err(e) => errors.push(format!("holidays: {e}")),
    }
    if !errors.is_empty() {
        let _ = tx.send(Msg::FetchError(errors.join("; ")));
    }
}
