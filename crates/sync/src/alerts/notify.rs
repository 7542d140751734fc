//! Saying an alert: a message in `#alerts` of the workspace it is about (every workspace for
//! an installation-wide one), and the same to the outbound webhook when one is configured.
//! The outbound delivery runs on its own task, so a slow receiver does not hold up the
//! evaluation; its failures are the sender's to count and log.

use store::alerts::INSTALLATION;
use store::{Channel, NewMessage, Store, StoreError};

use super::rules::{span, Rule};

/// Who alerts are posted as in Drive Chat.
pub const AUTHOR: &str = "drivesync alerts";

/// Which announcement of an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Announcement {
    /// It started (the first announcement).
    Opened,
    /// It goes on; announced again at most every `renotify_every`.
    Reminder,
    /// It is over.
    Recovered,
}

impl Announcement {
    fn kind(self) -> &'static str {
        match self {
            Announcement::Opened => "alert.opened",
            Announcement::Reminder => "alert.reminder",
            Announcement::Recovered => "alert.recovered",
        }
    }
}

/// One alert to say.
#[derive(Debug, Clone)]
pub struct Notice {
    pub announcement: Announcement,
    pub rule: Rule,
    /// A location id, or [`INSTALLATION`].
    pub scope: String,
    pub summary: String,
    pub opened_ms: i64,
    /// Which announcement of this alert this is (1 for the first).
    pub number: i64,
    pub now_ms: i64,
}

impl Notice {
    /// The words people read, in `#alerts` and in a Slack channel.
    pub fn text(&self) -> String {
        let what = self.rule.title();
        let at = if self.scope == INSTALLATION {
            String::new()
        } else {
            format!(" [location {}]", self.scope)
        };
        match self.announcement {
            Announcement::Opened => format!(
                "🔴 {what}{at}: {}. What to do: {}",
                self.summary,
                self.rule.what_to_do()
            ),
            Announcement::Reminder => format!(
                "🔴 Still going on, for {}: {what}{at}: {}. What to do: {}",
                span(self.now_ms - self.opened_ms),
                self.summary,
                self.rule.what_to_do()
            ),
            Announcement::Recovered => format!(
                "✅ Recovered: {what}{at}, after {}.",
                span(self.now_ms - self.opened_ms)
            ),
        }
    }

    fn event(&self) -> outbound::Event {
        outbound::Event::new(
            self.announcement.kind(),
            &self.text(),
            serde_json::json!({
                "rule": self.rule.name(),
                "location": (self.scope != INSTALLATION).then_some(&self.scope),
                "title": self.rule.title(),
                "summary": self.summary,
                "what_to_do": self.rule.what_to_do(),
                "opened_at_ms": self.opened_ms,
                "notification": self.number,
            }),
        )
    }
}

/// Says alerts where they are configured to be said.
#[derive(Clone, Debug)]
pub struct Notifier {
    store: Store,
    outbound: Option<outbound::Sender>,
}

impl Notifier {
    pub fn new(store: Store, outbound: Option<outbound::Sender>) -> Notifier {
        Notifier { store, outbound }
    }

    /// Posts to `#alerts` (unless `chat` is false: the store cannot take the post) and sends
    /// to the outbound webhook. The post's idempotency key makes a repeated call (a retry
    /// after a crash) post once.
    pub async fn say(&self, notice: &Notice, chat: bool) -> Result<(), StoreError> {
        if let Some(sender) = self.outbound.clone() {
            let event = notice.event();
            tokio::spawn(async move {
                // Failures are counted and logged by the sender, once per run of them.
                let _ = sender.send(&event).await;
            });
        }
        if !chat {
            return Ok(());
        }
        let text = notice.text();
        for workspace in self.workspaces(&notice.scope).await? {
            let key = format!(
                "alert:{}:{}:{}:{}:{}",
                notice.rule.name(),
                notice.scope,
                notice.opened_ms,
                match notice.announcement {
                    Announcement::Recovered => "recovered".to_string(),
                    _ => notice.number.to_string(),
                },
                workspace
            );
            self.store
                .post_message(&NewMessage {
                    location_id: workspace,
                    channel: Channel::Alerts,
                    author_id: None,
                    author_name: AUTHOR.into(),
                    body: text.clone(),
                    idempotency_key: Some(key),
                })
                .await?;
        }
        Ok(())
    }

    /// The workspaces an alert of `scope` is posted in.
    async fn workspaces(&self, scope: &str) -> Result<Vec<String>, StoreError> {
        let candidates: Vec<String> = if scope == INSTALLATION {
            self.store
                .locations()
                .await?
                .into_iter()
                .map(|l| l.location_id)
                .collect()
        } else {
            vec![scope.to_string()]
        };
        let mut out = Vec::new();
        for id in candidates {
            if self.store.workspace(&id).await?.is_some() {
                out.push(id);
            }
        }
        Ok(out)
    }
}
