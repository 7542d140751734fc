//! Live updates. One task per process follows the database — every new change of any
//! location and every new message — and fans them out through a broadcast channel; each open
//! page holds a server-sent-events stream that passes on only its own workspace's events.
//!
//! Following the database rather than an in-process signal means a change written by any
//! process (the sync engine, another replica serving Drive Chat on the same PostgreSQL)
//! reaches every open page, whichever replica serves it.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Weak};

use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use store::{Change, Message};
use tokio::sync::{broadcast, OnceCell};

use crate::context::Seen;
use crate::feed_filter::FeedKind;
use crate::{App, Error, Shared};

/// Events buffered per slow client before it starts missing some (it then refreshes).
const BUFFER: usize = 1024;
/// Rows read per poll; a burst larger than this is read over the next polls.
const BATCH: u32 = 1000;

#[derive(Clone, Debug)]
pub(crate) enum LiveEvent {
    /// A change, with the current name of the contact it is about (read once per batch by
    /// the follower, not once per open page).
    Change(Arc<Change>, Option<Arc<str>>),
    Message(Arc<Message>),
}

impl LiveEvent {
    fn location_id(&self) -> &str {
        match self {
            LiveEvent::Change(c, _) => &c.location_id,
            LiveEvent::Message(m) => &m.location_id,
        }
    }
}

pub(crate) struct Hub {
    tx: broadcast::Sender<LiveEvent>,
    started: OnceCell<()>,
}

impl Hub {
    pub(crate) fn new() -> Hub {
        Hub {
            tx: broadcast::channel(BUFFER).0,
            started: OnceCell::new(),
        }
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<LiveEvent> {
        self.tx.subscribe()
    }
}

/// Starts the follower once: reads where the feed is now (so only later rows are sent), then
/// polls in the background.
pub(crate) async fn ensure_started(app: &Shared) -> Result<(), Error> {
    app.live
        .started
        .get_or_try_init(|| async {
            let change = app.store.last_change_id().await?;
            let message = app.store.last_message_id().await?;
            tokio::spawn(follow(Arc::downgrade(app), change, message));
            tracing::debug!(change, message, "live feed following the database");
            Ok::<(), Error>(())
        })
        .await
        .map(|_| ())
}

/// The follower. It holds the app weakly and stops once the app is gone.
async fn follow(app: Weak<App>, mut change: i64, mut message: i64) {
    let mut failing = false;
    loop {
        let Some(app) = app.upgrade() else {
            tracing::debug!("live feed stopped: Drive Chat was dropped");
            return;
        };
        let interval = app.config.live_poll_interval;
        match poll(&app, &mut change, &mut message).await {
            Ok(()) => failing = false,
            // Logged once per outage, not every 250 ms.
            Err(e) if !failing => {
                failing = true;
                tracing::warn!(error = %e, "live feed cannot read the database; retrying");
            }
            Err(_) => {}
        }
        drop(app);
        tokio::time::sleep(interval).await;
    }
}

async fn poll(app: &App, change: &mut i64, message: &mut i64) -> Result<(), Error> {
    let changes = app.store.all_changes_after(*change, BATCH).await?;
    let names = names(app, &changes).await?;
    for c in changes {
        *change = c.id;
        let name = c
            .contact_id
            .as_ref()
            .and_then(|id| names.get(&(c.location_id.clone(), id.clone())))
            .cloned();
        // No subscriber is not an error: nobody has a page open.
        let _ = app.live.tx.send(LiveEvent::Change(Arc::new(c), name));
    }
    for m in app.store.all_messages_after(*message, BATCH).await? {
        *message = m.id;
        let _ = app.live.tx.send(LiveEvent::Message(Arc::new(m)));
    }
    Ok(())
}

/// The names of the contacts `changes` are about, by location and contact id.
async fn names(
    app: &App,
    changes: &[Change],
) -> Result<HashMap<(String, String), Arc<str>>, Error> {
    let mut by_location: HashMap<&str, Vec<&str>> = HashMap::new();
    for c in changes {
        if let Some(id) = &c.contact_id {
            by_location.entry(&c.location_id).or_default().push(id);
        }
    }
    let mut out = HashMap::new();
    for (loc, ids) in by_location {
        for (id, name) in crate::reads::names_of(app, loc, &ids).await? {
            out.insert((loc.to_string(), id), Arc::from(name));
        }
    }
    Ok(out)
}

/// Whose stream it is: it lasts only as long as their session and membership do.
pub(crate) struct Holder {
    pub(crate) token_hash: String,
    pub(crate) user_id: i64,
}

/// How often at most an event makes the stream check its holder again (the periodic check
/// runs every [`crate::Config::live_recheck_interval`] regardless).
const RECHECK_ON_EVENT: std::time::Duration = std::time::Duration::from_secs(1);

/// Whether the holder's session and membership of `loc` still stand, read from the store so
/// a sign-out or removal on any replica counts. A failing database does not cut streams.
async fn still_allowed(app: &Weak<App>, holder: &Holder, loc: &str) -> bool {
    let Some(app) = app.upgrade() else {
        return false;
    };
    let session = app
        .store
        .session_user(&holder.token_hash, app.config.idle_ms())
        .await;
    let member = app.store.membership(holder.user_id, loc).await;
    match (session, member) {
        (Ok(Some(u)), Ok(Some(_))) => u.id == holder.user_id,
        (Ok(_), Ok(_)) => false,
        (Err(e), _) | (_, Err(e)) => {
            tracing::warn!(error = %e, "a live stream could not check its session; keeping it");
            true
        }
    }
}

struct State {
    rx: broadcast::Receiver<LiveEvent>,
    loc: String,
    seen: Seen,
    app: Weak<App>,
    holder: Holder,
    ticker: tokio::time::Interval,
    checked: tokio::time::Instant,
}

/// The SSE stream of workspace `loc`. Each event is `change` or `message`, its data JSON:
/// `{id, kind, feed_kind, record_id, contact_id, action, actor, summary, html}` for a change
/// (`html` the feed entry as the page renders it, `feed_kind` its kind as the feed's filter
/// and mutes name it), `{id, channel, contact_id, author, author_id, feed_kind, body, html}`
/// for a message. A client that fell behind gets `resync` and should reload what it shows.
/// Entries are rendered for the member `seen` (times in their zone). The stream ends when
/// its holder signs out, or their session or membership ends: checked before passing on an
/// event and every `recheck`.
pub(crate) fn stream(
    app: &Shared,
    rx: broadcast::Receiver<LiveEvent>,
    loc: String,
    seen: Seen,
    holder: Holder,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let recheck = app.config.live_recheck_interval;
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + recheck, recheck);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let state = State {
        rx,
        loc,
        seen,
        app: Arc::downgrade(app),
        holder,
        ticker,
        checked: tokio::time::Instant::now(),
    };
    let s = futures::stream::unfold(state, |mut st| async move {
        loop {
            let received = tokio::select! {
                r = st.rx.recv() => r,
                _ = st.ticker.tick() => {
                    if !still_allowed(&st.app, &st.holder, &st.loc).await {
                        tracing::debug!(user_id = st.holder.user_id, "live stream ended: session or membership gone");
                        return None;
                    }
                    st.checked = tokio::time::Instant::now();
                    continue;
                }
            };
            let event = match received {
                Ok(ev) if ev.location_id() == st.loc => render(&st.seen, &st.loc, &ev),
                Ok(_) => continue,
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::debug!(missed = n, "a live client fell behind");
                    Event::default().event("resync").data("{}")
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            };
            if st.checked.elapsed() >= RECHECK_ON_EVENT {
                if !still_allowed(&st.app, &st.holder, &st.loc).await {
                    return None;
                }
                st.checked = tokio::time::Instant::now();
            }
            return Some((Ok(event), st));
        }
    });
    Sse::new(s).keep_alive(KeepAlive::default())
}

fn render(seen: &Seen, loc: &str, ev: &LiveEvent) -> Event {
    let now = crate::time::now_ms();
    match ev {
        LiveEvent::Change(c, name) => {
            let html = crate::ui::components::change_item(seen, loc, c, name.as_deref(), now)
                .into_string();
            let data = serde_json::json!({
                "id": c.id,
                "kind": c.kind.as_str(),
                "feed_kind": FeedKind::of(c).as_str(),
                "actor": c.actor,
                "record_id": c.record_id,
                "contact_id": c.contact_id,
                "action": c.action,
                "summary": c.summary,
                "html": html,
            });
            Event::default()
                .event("change")
                .id(format!("c{}", c.id))
                .data(data.to_string())
        }
        LiveEvent::Message(m) => {
            let html = crate::ui::components::message_item(seen, m, now).into_string();
            let contact = match &m.channel {
                store::Channel::Contact(c) => Some(c.as_str()),
                _ => None,
            };
            let data = serde_json::json!({
                "id": m.id,
                "channel": m.channel.as_str(),
                "contact_id": contact,
                "author": m.author_name,
                "author_id": m.author_id,
                "feed_kind": FeedKind::Message.as_str(),
                "body": m.body,
                "html": html,
            });
            Event::default()
                .event("message")
                .id(format!("m{}", m.id))
                .data(data.to_string())
        }
    }
}
