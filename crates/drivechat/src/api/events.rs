//! `GET /api/v1/events`: the live events the pages get (the workspace's HighLevel changes and
//! messages), for programs, as server-sent events with JSON data. Every event carries an
//! `id:` — the position in both the change and the message streams, `c<change>.m<message>`
//! — so a client that reconnects with `Last-Event-ID` is first sent what it missed, read
//! from the store (at most [`REPLAY_MAX`] of each; past that it gets `resync`).
//!
//! A stream outlives the request that authenticated it, so the token is checked again
//! before each batch of events and every `Config::api_stream_recheck`: a token revoked or
//! deleted, or a member removed, ends the stream with an `end` event.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use store::{Change, Message};
use tokio::sync::{broadcast, mpsc};

use super::auth::{stream_still_authorised, ApiMember};
use super::types::{ChangeOut, MessageOut, StreamEventData, StreamNotice, StreamReady};
use crate::live::LiveEvent;
use crate::reads::FeedCursor;
use crate::{live, ApiError, App, Error, Shared};

/// Missed changes (and, separately, messages) replayed to a resuming client at most.
pub(crate) const REPLAY_MAX: u32 = 500;
/// Events taken from the hub at once, checked against the token together.
const BATCH: usize = 256;
/// Events queued for a slow client; when full, the stream waits (the hub then lags it, and
/// it is caught up from the store).
const QUEUE: usize = 64;

/// Where a stream is: the last change and message id it has passed on (or skipped).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Position {
    change: i64,
    message: i64,
}

impl Position {
    fn parse(v: &str) -> Option<Position> {
        let c = FeedCursor::parse(v).ok()?;
        Some(Position {
            change: c.change?,
            message: c.message?,
        })
    }

    fn id(self) -> String {
        FeedCursor {
            change: Some(self.change),
            message: Some(self.message),
        }
        .encode()
    }

    /// The later of the two in each stream.
    fn max(self, other: Position) -> Position {
        Position {
            change: self.change.max(other.change),
            message: self.message.max(other.message),
        }
    }
}

/// Who a stream is for.
struct Listener {
    loc: String,
    user_id: i64,
    token_hash: String,
}

/// The workspace's live events.
#[utoipa::path(get, path = "/api/v1/events", tag = "events",
    params(("Last-Event-ID" = Option<String>, Header,
        description = "The `id` of the last event received: the events since are sent first")),
    responses(
        (status = 200, content_type = "text/event-stream", body = StreamEventData,
            description = "Server-sent events. Each has `event:` (its name), `id:` and one \
                `data:` line of JSON, typed by the name: `ready` (StreamReady: sent once, \
                after any replay), `change` (ChangeOut), `message` (MessageOut), `resync` \
                (StreamNotice: events were missed; reload what you show) and `end` \
                (StreamNotice: the token was revoked or deleted, or its member removed; the \
                stream closes). Comment lines keep the connection alive every 15 s."),
        (status = 400, body = super::types::ErrorBody), (status = 401, body = super::types::ErrorBody)))]
pub(crate) async fn events(
    State(app): State<Shared>,
    m: ApiMember,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let resume = match headers.get("last-event-id") {
        None => None,
        Some(v) => {
            let v = v.to_str().unwrap_or_default();
            Some(Position::parse(v).ok_or_else(|| {
                Error::BadRequest(format!(
                    "Last-Event-ID must be the id of an event this stream sent (like \
                     c120.m45), not {v:?}; reconnect without it to start from now"
                ))
            })?)
        }
    };
    live::ensure_started(&app).await?;
    // Subscribed before reading where the store is: an event is either in the store read
    // below or comes through the hub, never neither.
    let rx = app.live.subscribe();
    let latest = latest(&app).await?;
    let listener = Listener {
        loc: m.loc,
        user_id: m.user.id,
        token_hash: m.token_hash,
    };
    let (tx, out) = mpsc::channel(QUEUE);
    tokio::spawn(run(app, listener, rx, resume, latest, tx));
    let stream = futures::stream::unfold(out, |mut out| async move {
        out.recv().await.map(|e| (Ok(e), out))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

async fn latest(app: &App) -> Result<Position, Error> {
    Ok(Position {
        change: app.store.last_change_id().await?,
        message: app.store.last_message_id().await?,
    })
}

/// Feeds one client until it goes away or its token no longer holds.
async fn run(
    app: Shared,
    who: Listener,
    mut rx: broadcast::Receiver<LiveEvent>,
    resume: Option<Position>,
    latest: Position,
    tx: mpsc::Sender<Event>,
) {
    let (mut pos, mut first) = match resume {
        Some(from) => {
            let mut pos = from;
            match catch_up(&app, &who.loc, &mut pos, latest).await {
                Ok(events) => (pos, events),
                Err(e) => {
                    tracing::warn!(error = %e, "an API event stream could not replay");
                    (
                        latest,
                        vec![resync(latest, "missed events could not be read")],
                    )
                }
            }
        }
        None => (latest, Vec::new()),
    };
    let replayed = first.iter().filter(|(_, counts)| *counts).count() as u32;
    let ready = StreamEventData::Ready(StreamReady {
        workspace: who.loc.clone(),
        replayed,
    });
    first.push((event("ready", pos, &ready), false));
    if !deliver(&app, &who, &tx, resume.unwrap_or(latest), first).await {
        return;
    }
    let mut recheck = tokio::time::interval(recheck_every(&app));
    recheck.tick().await; // the first tick is immediate; the token was just checked
    loop {
        tokio::select! {
            got = rx.recv() => {
                let before = pos;
                let batch = match got {
                    Ok(ev) => {
                        let mut batch = Vec::new();
                        take(&who.loc, &mut pos, ev, &mut batch);
                        while batch.len() < BATCH {
                            match rx.try_recv() {
                                Ok(ev) => take(&who.loc, &mut pos, ev, &mut batch),
                                Err(_) => break,
                            }
                        }
                        batch
                    }
                    // Fell behind the hub: read what was missed from the store instead.
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        match latest_and_catch_up(&app, &who.loc, &mut pos).await {
                            Ok(events) => events,
                            Err(e) => {
                                tracing::warn!(error = %e, "an API event stream could not catch up");
                                vec![resync(pos, "missed events could not be read")]
                            }
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                };
                if !batch.is_empty() && !deliver(&app, &who, &tx, before, batch).await {
                    return;
                }
            }
            _ = recheck.tick() => {
                if !deliver(&app, &who, &tx, pos, Vec::new()).await {
                    return;
                }
            }
            () = tx.closed() => return,
        }
    }
}

fn recheck_every(app: &App) -> Duration {
    app.config.api_stream_recheck.max(Duration::from_millis(50))
}

/// Checks the token, then sends `events`; false when the stream is over (the token no
/// longer holds, after an `end` event whose id is `before`, where the stream stood before
/// these events; or the client went away).
async fn deliver(
    app: &App,
    who: &Listener,
    tx: &mpsc::Sender<Event>,
    before: Position,
    events: Vec<(Event, bool)>,
) -> bool {
    let refused = match stream_still_authorised(app, &who.token_hash, who.user_id, &who.loc).await {
        Ok(true) => None,
        Ok(false) => {
            Some("this API token was revoked or deleted, or its member removed from the workspace")
        }
        Err(e) => {
            tracing::warn!(error = %e, "an API event stream could not check its token");
            Some("the token could not be checked (the database is unreachable); reconnect later")
        }
    };
    if let Some(reason) = refused {
        let end = StreamEventData::Notice(StreamNotice {
            reason: reason.into(),
        });
        let _ = tx.send(event("end", before, &end)).await;
        return false;
    }
    for (e, _) in events {
        if tx.send(e).await.is_err() {
            return false;
        }
    }
    true
}

/// Passes on a hub event of this workspace that the stream has not passed on yet.
fn take(loc: &str, pos: &mut Position, ev: LiveEvent, out: &mut Vec<(Event, bool)>) {
    match ev {
        LiveEvent::Change(c, _) if c.location_id == loc && c.id > pos.change => {
            pos.change = c.id;
            out.push(change_event(*pos, &c));
        }
        LiveEvent::Message(m) if m.location_id == loc && m.id > pos.message => {
            pos.message = m.id;
            out.push(message_event(*pos, &m));
        }
        _ => {}
    }
}

async fn latest_and_catch_up(
    app: &App,
    loc: &str,
    pos: &mut Position,
) -> Result<Vec<(Event, bool)>, Error> {
    let latest = latest(app).await?;
    catch_up(app, loc, pos, latest).await
}

/// What the workspace had after `pos`, from the store, oldest first (changes and messages
/// merged by time, each stream in id order). Past [`REPLAY_MAX`] of either, the rest is
/// skipped up to `latest` and a `resync` says so.
async fn catch_up(
    app: &App,
    loc: &str,
    pos: &mut Position,
    latest: Position,
) -> Result<Vec<(Event, bool)>, Error> {
    let changes = app
        .store
        .changes_after(loc, None, pos.change, REPLAY_MAX)
        .await?;
    let messages = app
        .store
        .messages_after(loc, pos.message, REPLAY_MAX)
        .await?;
    let overflow = changes.len() as u32 == REPLAY_MAX || messages.len() as u32 == REPLAY_MAX;
    let mut out = Vec::with_capacity(changes.len() + messages.len() + 1);
    let (mut cs, mut ms) = (changes.iter().peekable(), messages.iter().peekable());
    loop {
        let change_first = match (cs.peek(), ms.peek()) {
            (Some(c), Some(m)) => c.at_ms <= m.at_ms,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        if change_first {
            if let Some(c) = cs.next() {
                pos.change = c.id;
                out.push(change_event(*pos, c));
            }
        } else if let Some(m) = ms.next() {
            pos.message = m.id;
            out.push(message_event(*pos, m));
        }
    }
    if overflow {
        *pos = pos.max(latest);
        out.push(resync(
            *pos,
            &format!("more than {REPLAY_MAX} events were missed; reload what you show"),
        ));
    }
    Ok(out)
}

/// An event and whether it is a replayed record (counted in `ready`).
fn change_event(pos: Position, c: &Change) -> (Event, bool) {
    let data = StreamEventData::Change(ChangeOut::from(c.clone()));
    (event("change", pos, &data), true)
}

fn message_event(pos: Position, m: &Message) -> (Event, bool) {
    let data = StreamEventData::Message(MessageOut::from(m.clone()));
    (event("message", pos, &data), true)
}

fn resync(pos: Position, reason: &str) -> (Event, bool) {
    let data = StreamEventData::Notice(StreamNotice {
        reason: reason.into(),
    });
    (event("resync", pos, &data), false)
}

fn event(name: &str, pos: Position, data: &StreamEventData) -> Event {
    Event::default().event(name).id(pos.id()).data(json(data))
}

fn json(data: &StreamEventData) -> String {
    // Plain structs of strings and numbers: serialising cannot fail.
    serde_json::to_string(data).unwrap_or_else(|_| "{}".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_event_ids() {
        let p = Position {
            change: 12,
            message: 3,
        };
        assert_eq!(p.id(), "c12.m3");
        assert_eq!(Position::parse("c12.m3"), Some(p));
        assert_eq!(Position::parse("12"), None);
        assert_eq!(
            p.max(Position {
                change: 5,
                message: 9
            }),
            Position {
                change: 12,
                message: 9
            }
        );
    }
}
