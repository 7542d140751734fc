//! Group commit: requests hand their event to one collector task through a bounded queue;
//! the collector writes whatever has gathered (waiting at most `max_batch_delay` after the
//! first) in one `accept_webhooks` transaction, and answers each request. One fsync then
//! covers many webhooks, which is what bounds SQLite's throughput.
//!
//! Nothing here can make a request hang: a full queue is refused at once, and a request gives
//! up on the store after its deadline (both are 429s, so HighLevel retries). A write the
//! request gave up on may still commit; the retry then finds the id stored and is answered
//! `duplicate`, so nothing is applied twice.

use std::sync::Arc;
use std::time::Duration;

use store::inbox::{Accepted, InboxEvent};
use store::Store;
use tokio::sync::{mpsc, oneshot, Notify};
use tokio::time::Instant;

use super::metrics::IngestMetrics;
use super::refusal::Refusal;

/// However the database misbehaves, one transaction is abandoned after this long, so a wedged
/// connection cannot stop the collector for good. Requests have long given up by then.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy)]
pub struct BatchConfig {
    /// Most webhooks in one transaction.
    pub max_batch: usize,
    /// How long the collector waits for more webhooks after the first of a batch. Zero
    /// writes what has already arrived without waiting.
    pub max_batch_delay: Duration,
    /// Webhooks waiting for the collector; one more is refused with 429 `overloaded`.
    pub queue: usize,
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig {
            max_batch: 256,
            max_batch_delay: Duration::from_millis(2),
            queue: 4096,
        }
    }
}

/// What the store said about one event.
type Reply = Result<Accepted, ()>;

struct Job {
    event: InboxEvent,
    reply: oneshot::Sender<Reply>,
}

/// The requests' side of the collector. Dropping every clone stops the collector.
#[derive(Clone)]
pub(crate) struct Writer {
    tx: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts the collector on the current Tokio runtime; `stored` is notified after each
    /// commit that queued new jobs, so idle workers in this process start at once.
    pub(crate) fn spawn(
        store: Store,
        config: BatchConfig,
        metrics: Arc<IngestMetrics>,
        stored: Arc<Notify>,
    ) -> Writer {
        let (tx, rx) = mpsc::channel(config.queue.max(1));
        tokio::spawn(collect(store, rx, config, metrics, stored));
        Writer { tx }
    }

    /// Queues `event` and waits for its commit until `deadline`.
    pub(crate) async fn submit(
        &self,
        event: InboxEvent,
        deadline: Instant,
    ) -> Result<Accepted, Refusal> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .try_send(Job { event, reply })
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => Refusal::Overloaded,
                mpsc::error::TrySendError::Closed(_) => Refusal::StoreUnavailable,
            })?;
        match tokio::time::timeout_at(deadline, answer).await {
            Err(_) => Err(Refusal::StoreTimeout),
            Ok(Ok(Ok(accepted))) => Ok(accepted),
            // The store failed, or the collector dropped the job (it is stopping).
            Ok(Ok(Err(()))) | Ok(Err(_)) => Err(Refusal::StoreUnavailable),
        }
    }
}

async fn collect(
    store: Store,
    mut rx: mpsc::Receiver<Job>,
    config: BatchConfig,
    metrics: Arc<IngestMetrics>,
    stored: Arc<Notify>,
) {
    let max_batch = config.max_batch.max(1);
    let mut jobs = Vec::with_capacity(max_batch);
    while let Some(first) = rx.recv().await {
        jobs.push(first);
        let until = Instant::now() + config.max_batch_delay;
        while jobs.len() < max_batch {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(mpsc::error::TryRecvError::Disconnected) => break,
                Err(mpsc::error::TryRecvError::Empty) => {
                    match tokio::time::timeout_at(until, rx.recv()).await {
                        Ok(Some(job)) => jobs.push(job),
                        Ok(None) | Err(_) => break,
                    }
                }
            }
        }
        // A request that has already been answered 429 will be re-sent; writing it now
        // would only add work to a store that is already behind.
        jobs.retain(|j| !j.reply.is_closed());
        if !jobs.is_empty() && write(&store, std::mem::take(&mut jobs), &metrics).await {
            stored.notify_waiters();
        }
    }
}

/// Returns whether any webhook was newly stored (and so a job queued).
async fn write(store: &Store, jobs: Vec<Job>, metrics: &IngestMetrics) -> bool {
    let (events, replies): (Vec<InboxEvent>, Vec<oneshot::Sender<Reply>>) =
        jobs.into_iter().map(|j| (j.event, j.reply)).unzip();
    metrics.batch();
    let result = tokio::time::timeout(WRITE_TIMEOUT, store.accept_webhooks(&events)).await;
    match result {
        Ok(Ok(outcomes)) if outcomes.len() == events.len() => {
            let queued = outcomes
                .iter()
                .any(|o| matches!(o, Accepted::Stored { .. }));
            for (reply, outcome) in replies.into_iter().zip(outcomes) {
                let _ = reply.send(Ok(outcome));
            }
            return queued;
        }
        Ok(Ok(outcomes)) => tracing::error!(
            sent = events.len(),
            answered = outcomes.len(),
            "the store answered a batch of webhooks with the wrong number of outcomes"
        ),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, events = events.len(), "the store refused a batch of webhooks")
        }
        Err(_) => tracing::warn!(
            events = events.len(),
            "the store did not finish a batch of webhooks in {WRITE_TIMEOUT:?}"
        ),
    }
    if events.len() == 1 {
        for reply in replies {
            let _ = reply.send(Err(()));
        }
        return false;
    }
    // One event the store cannot take must not sink the others of its batch: try each alone
    // (a store that is down fails them all quickly anyway).
    let mut queued = false;
    for (event, reply) in events.iter().zip(replies) {
        if reply.is_closed() {
            continue;
        }
        let one = tokio::time::timeout(WRITE_TIMEOUT, store.accept_webhook(event)).await;
        let answer = match one {
            Ok(Ok(accepted)) => {
                queued |= matches!(accepted, Accepted::Stored { .. });
                Ok(accepted)
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, webhook_id = %event.webhook_id, "the store refused a webhook");
                Err(())
            }
            Err(_) => Err(()),
        };
        let _ = reply.send(answer);
    }
    queued
}
