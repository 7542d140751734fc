//! Delivers webhooks the way HighLevel does: a POST of the signed body; an answer of 429 is
//! retried with the same body and signature (up to `max_retries` times, backoff doubling);
//! any other answer, or a timeout, is final. Faults (drop, duplicate, reorder, delay) are
//! applied here, after the body is signed, so a duplicate is byte-for-byte the original.
//!
//! Signed with `x-ghl-signature` (Ed25519) only, as HighLevel signs since 1 July 2026; while
//! legacy signing is on (`webhooks.legacy_signature`, or `POST /_sandbox/webhook-options`) the
//! legacy `x-wh-signature` (RSA-SHA256) is added too.

use bytes::Bytes;
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Semaphore};

use crate::counters::bump;
use crate::faults::FaultSettings;
use crate::state::Sandbox;
use crate::webhooks::payload;
use crate::world::Event;

/// A signed body ready to POST.
#[derive(Debug, Clone)]
pub struct Signed {
    pub webhook_id: String,
    pub body: Bytes,
    pub ghl_signature: String,
    /// The legacy RSA signature, only while legacy signing is on.
    pub wh_signature: Option<String>,
}

struct Held {
    signed: Arc<Signed>,
    /// Released once this many later events have gone out, or at `deadline`.
    after: u32,
    deadline: Instant,
}

pub struct Dispatcher {
    sandbox: Arc<Sandbox>,
    client: reqwest::Client,
    slots: Arc<Semaphore>,
    held: Vec<Held>,
}

impl Dispatcher {
    pub fn new(sandbox: Arc<Sandbox>) -> Dispatcher {
        let cfg = &sandbox.config.webhooks;
        let client = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .user_agent("ghl-sandbox-webhooks/0.1")
            .build()
            .unwrap_or_default();
        let slots = Arc::new(Semaphore::new(cfg.concurrency.max(1)));
        Dispatcher {
            sandbox,
            client,
            slots,
            held: Vec::new(),
        }
    }

    pub async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Event>) {
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        loop {
            tokio::select! {
                ev = rx.recv() => match ev {
                    Some(ev) => self.handle(ev).await,
                    None => break,
                },
                _ = tick.tick() => self.release(false).await,
            }
        }
        self.release(true).await;
    }

    async fn handle(&mut self, ev: Event) {
        let faults = self.sandbox.faults.read().clone();
        let faulty = faults.applies_to(&ev.location_id);
        let no_contact =
            faulty && ev.kind == "TaskCreate" && FaultSettings::roll(faults.task_without_contact);
        let body = payload::build(&ev, no_contact, self.sandbox.webhook_extras());
        let signed = Arc::new(self.sign(&body));
        self.sandbox.remember(body);
        let counters = &self.sandbox.counters;
        if faulty && FaultSettings::roll(faults.drop) {
            bump(&counters.webhooks_dropped);
            return;
        }
        if faulty && FaultSettings::roll(faults.reorder) {
            bump(&counters.webhooks_reordered);
            let after = rand::Rng::gen_range(&mut rand::thread_rng(), 1..=5);
            self.held.push(Held {
                signed,
                after,
                deadline: Instant::now() + Duration::from_secs(2),
            });
            return;
        }
        let delay = (faulty && FaultSettings::roll(faults.delay))
            .then(|| Duration::from_millis(faults.delay_ms));
        if delay.is_some() {
            bump(&counters.webhooks_delayed);
        }
        let copies = if faulty && FaultSettings::roll(faults.duplicate) {
            bump(&counters.webhooks_duplicated);
            2
        } else {
            1
        };
        for _ in 0..copies {
            self.send(signed.clone(), delay).await;
        }
        for h in &mut self.held {
            h.after = h.after.saturating_sub(1);
        }
        self.release(false).await;
    }

    fn sign(&self, body: &Value) -> Signed {
        let bytes = serde_json::to_vec(body).unwrap_or_default();
        let signer = &self.sandbox.signer;
        let wh_signature = if self.sandbox.legacy_signature() {
            match signer.sign_rsa(&bytes) {
                Ok(s) => Some(s),
                Err(e) => {
                    // `start` and the runtime switch load the key before signing with it; only
                    // a sandbox built directly with a bad key file gets here. The webhook still
                    // goes out, verifiable by its Ed25519 signature.
                    tracing::error!(error = %e, "webhook sent without x-wh-signature");
                    None
                }
            }
        } else {
            None
        };
        let ghl_signature = signer.sign_ed25519(&bytes);
        Signed {
            webhook_id: body
                .get("webhookId")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            body: Bytes::from(bytes),
            ghl_signature,
            wh_signature,
        }
    }

    /// Sends the held events whose turn has come (or all of them), newest first: a held event
    /// goes out after the events that came after it, even when those were held too (with
    /// `reorder=1` every event is held, and releasing them oldest first would keep their order).
    async fn release(&mut self, all: bool) {
        let now = Instant::now();
        let (due, keep): (Vec<Held>, Vec<Held>) = std::mem::take(&mut self.held)
            .into_iter()
            .partition(|h| all || h.after == 0 || h.deadline <= now);
        self.held = keep;
        for h in due.into_iter().rev() {
            self.send(h.signed, None).await;
        }
    }

    async fn send(&self, signed: Arc<Signed>, delay: Option<Duration>) {
        let Some(url) = self.sandbox.webhook_url.read().clone() else {
            bump(&self.sandbox.counters.webhooks_unsent);
            return;
        };
        // Waiting for a slot here keeps first attempts in the order events happened.
        let Ok(permit) = self.slots.clone().acquire_owned().await else {
            return;
        };
        let sandbox = self.sandbox.clone();
        let client = self.client.clone();
        tokio::spawn(async move {
            if let Some(d) = delay {
                tokio::time::sleep(d).await;
            }
            deliver(&sandbox, &client, &url, &signed).await;
            drop(permit);
        });
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    /// Not a 2xx or 429, a timeout, or a connection error: HighLevel does not retry these.
    Failed,
    /// Still 429 after every retry.
    Exhausted,
}

pub async fn deliver(
    sandbox: &Sandbox,
    client: &reqwest::Client,
    url: &str,
    signed: &Signed,
) -> Outcome {
    let cfg = &sandbox.config.webhooks;
    let c = &sandbox.counters;
    for attempt in 0..=cfg.max_retries {
        if attempt > 0 {
            bump(&c.webhooks_retried);
            tokio::time::sleep(cfg.retry_base * 2u32.saturating_pow(attempt - 1)).await;
        }
        bump(&c.webhooks_sent);
        let mut req = client
            .post(url)
            .header("content-type", "application/json")
            .header("x-ghl-signature", &signed.ghl_signature);
        if let Some(rsa) = &signed.wh_signature {
            req = req.header("x-wh-signature", rsa);
        }
        let res = req.body(signed.body.clone()).send().await;
        match res {
            Ok(r) if r.status().as_u16() == 429 => continue,
            Ok(r) if r.status().is_success() => {
                bump(&c.webhooks_delivered);
                sandbox.note_delivered(signed.webhook_id.clone());
                return Outcome::Delivered;
            }
            Ok(r) => {
                tracing::debug!(status = r.status().as_u16(), "webhook refused; not retried");
                bump(&c.webhooks_failed);
                return Outcome::Failed;
            }
            Err(e) => {
                tracing::debug!(error = %e, "webhook delivery failed; not retried");
                bump(&c.webhooks_failed);
                return Outcome::Failed;
            }
        }
    }
    bump(&c.webhooks_failed);
    Outcome::Exhausted
}
