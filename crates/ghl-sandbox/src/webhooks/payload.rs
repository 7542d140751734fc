//! Builds a webhook body: the event's fields plus `type`, `timestamp` and `webhookId`.

use rand::Rng;
use serde_json::{json, Map, Value};

use crate::time::{format, now_ms};
use crate::world::Event;

pub fn new_webhook_id() -> String {
    let mut r = rand::thread_rng();
    let b: [u8; 16] = r.gen();
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// The JSON body HighLevel would POST for `event`; `drop_contact_id` reproduces the
/// TaskCreate-without-contactId payloads seen from HighLevel.
pub fn build(event: &Event, drop_contact_id: bool) -> Value {
    let mut m = Map::new();
    m.insert("type".into(), json!(event.kind));
    for (k, v) in &event.fields {
        if drop_contact_id && k == "contactId" {
            continue;
        }
        m.insert(k.clone(), v.clone());
    }
    m.insert("timestamp".into(), json!(format(now_ms())));
    m.insert("webhookId".into(), json!(new_webhook_id()));
    Value::Object(m)
}
