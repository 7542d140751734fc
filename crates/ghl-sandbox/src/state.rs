//! The running sandbox: its data, tokens, limits, faults, counters and webhook signer, shared
//! by the HTTP routes, the webhook dispatcher and the activity generator.

use parking_lot::{Mutex, RwLock};
use serde_json::Value;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc;

use crate::auth::Auth;
use crate::config::SandboxConfig;
use crate::counters::Counters;
use crate::faults::FaultSettings;
use crate::ratelimit::RateLimiter;
use crate::seed::{seed_world, SeedSpec};
use crate::time::{day_start, now_ms, Millis};
use crate::webhooks::{KeyError, Signer};
use crate::world::{Event, World};

const RECENT_EVENTS: usize = 2000;
/// How many delivered webhook ids `GET /_sandbox/deliveries` can list.
const DELIVERED_LOG: usize = 200_000;

pub struct Sandbox {
    pub config: SandboxConfig,
    pub world: RwLock<World>,
    pub auth: Mutex<Auth>,
    pub limiter: Mutex<RateLimiter>,
    pub faults: RwLock<FaultSettings>,
    pub counters: Counters,
    pub signer: Signer,
    pub webhook_url: RwLock<Option<String>>,
    /// Midnight UTC the seeded dates hang from.
    pub anchor: Millis,
    activity_rate: AtomicU64,
    /// Webhooks also carry the legacy `x-wh-signature` (starts as `webhooks.legacy_signature`).
    legacy_signature: AtomicBool,
    /// Webhook bodies keep fields beyond their schema (starts as `webhooks.extras`).
    webhook_extras: AtomicBool,
    events_tx: mpsc::UnboundedSender<Event>,
    recent: Mutex<VecDeque<Value>>,
    /// Webhook ids answered 2xx, oldest first (capped at [`DELIVERED_LOG`]).
    delivered: Mutex<VecDeque<String>>,
}

impl Sandbox {
    pub fn new(
        config: SandboxConfig,
        signer: Signer,
    ) -> (Arc<Sandbox>, mpsc::UnboundedReceiver<Event>) {
        let anchor = config.anchor_day.unwrap_or_else(|| day_start(now_ms()));
        let world = seed_world(&SeedSpec {
            seed: config.seed,
            locations: config.locations,
            contacts_per_location: config.contacts_per_location,
            anchor,
        });
        let (tx, rx) = mpsc::unbounded_channel();
        let sandbox = Sandbox {
            world: RwLock::new(world),
            auth: Mutex::new(Auth::default()),
            limiter: Mutex::new(RateLimiter::new(config.rate_limit)),
            faults: RwLock::new(config.faults.clone()),
            counters: Counters::default(),
            signer,
            webhook_url: RwLock::new(config.webhooks.url.clone()),
            anchor,
            activity_rate: AtomicU64::new(config.activity_rate.to_bits()),
            legacy_signature: AtomicBool::new(config.webhooks.legacy_signature),
            webhook_extras: AtomicBool::new(config.webhooks.extras),
            events_tx: tx,
            recent: Mutex::new(VecDeque::new()),
            delivered: Mutex::new(VecDeque::new()),
            config,
        };
        (Arc::new(sandbox), rx)
    }

    /// Runs a change and hands the webhooks it calls for to the dispatcher, after the lock is
    /// released so deliveries never wait on data.
    pub fn write<R>(&self, f: impl FnOnce(&mut World) -> R) -> R {
        let (r, events) = {
            let mut w = self.world.write();
            let r = f(&mut w);
            (r, std::mem::take(&mut w.events))
        };
        self.counters
            .changes
            .fetch_add(events.len() as u64, Ordering::Relaxed);
        for e in events {
            // The receiver only goes away when the sandbox shuts down.
            let _ = self.events_tx.send(e);
        }
        r
    }

    pub fn read<R>(&self, f: impl FnOnce(&World) -> R) -> R {
        f(&self.world.read())
    }

    /// Replaces the data with freshly seeded data; tokens stay valid (the same seed gives the
    /// same location ids).
    pub fn reseed(&self, seed: u64, locations: usize, contacts_per_location: usize) {
        let world = seed_world(&SeedSpec {
            seed,
            locations,
            contacts_per_location,
            anchor: self.anchor,
        });
        *self.world.write() = world;
    }

    pub fn activity_rate(&self) -> f64 {
        f64::from_bits(self.activity_rate.load(Ordering::Relaxed))
    }

    pub fn set_activity_rate(&self, rate: f64) {
        self.activity_rate
            .store(rate.max(0.0).to_bits(), Ordering::Relaxed);
    }

    pub fn legacy_signature(&self) -> bool {
        self.legacy_signature.load(Ordering::Relaxed)
    }

    /// Turns the legacy `x-wh-signature` on or off for the webhooks built from now on. Turning
    /// it on loads (or first generates) the RSA key, which can take a moment: call it off the
    /// async threads.
    pub fn set_legacy_signature(&self, on: bool) -> Result<(), KeyError> {
        if on {
            self.signer.load_rsa()?;
        }
        self.legacy_signature.store(on, Ordering::Relaxed);
        Ok(())
    }

    pub fn webhook_extras(&self) -> bool {
        self.webhook_extras.load(Ordering::Relaxed)
    }

    pub fn set_webhook_extras(&self, on: bool) {
        self.webhook_extras.store(on, Ordering::Relaxed);
    }

    /// Keeps the last webhook bodies built, for `GET /_sandbox/events`.
    pub fn remember(&self, body: Value) {
        let mut r = self.recent.lock();
        if r.len() == RECENT_EVENTS {
            r.pop_front();
        }
        r.push_back(body);
    }

    /// Notes that the receiver answered 2xx to the webhook `id` (for tests that check every
    /// acknowledged webhook was kept).
    pub fn note_delivered(&self, id: String) {
        let mut d = self.delivered.lock();
        if d.len() == DELIVERED_LOG {
            d.pop_front();
        }
        d.push_back(id);
    }

    pub fn delivered_ids(&self) -> Vec<String> {
        self.delivered.lock().iter().cloned().collect()
    }

    pub fn recent_events(&self) -> Vec<Value> {
        self.recent.lock().iter().cloned().collect()
    }
}
