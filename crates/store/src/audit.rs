//! The audit trail: every write to HighLevel — who asked (a member, a program with an API
//! token, later a flow), what, when, and HighLevel's answer — and every admin action (API
//! tokens, people added, time zones, master keys), one row each, never changed once written.
//!
//! Everything that acts calls [`Store::record_audit`] with an [`AuditEntry`]; write-backs are
//! recorded where a command settles ([`Store::settle_command_answered`]), in the same
//! transaction, so a settled command always has its entry and never two.

use serde::Serialize;
use serde_json::Value;

use crate::clock::now_ms;
use crate::db::{texts_in, with_pool, Db};
use crate::{Store, StoreError};

/// What kind of party acted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    /// A person signed in to Drive Chat.
    Member,
    /// A program using a member's API token.
    ApiToken,
    /// An operator at the `drivesync` command line.
    CommandLine,
    /// An automation (flows, when they exist).
    Flow,
    /// drivesync itself.
    System,
}

impl ActorKind {
    pub const ALL: [ActorKind; 5] = [
        ActorKind::Member,
        ActorKind::ApiToken,
        ActorKind::CommandLine,
        ActorKind::Flow,
        ActorKind::System,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::Member => "member",
            ActorKind::ApiToken => "api_token",
            ActorKind::CommandLine => "command_line",
            ActorKind::Flow => "flow",
            ActorKind::System => "system",
        }
    }

    pub fn parse(v: &str) -> Option<ActorKind> {
        ActorKind::ALL.into_iter().find(|k| k.as_str() == v)
    }
}

/// Who acted: their kind, an id where they have one (a Drive Chat user id), and the name
/// people read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Actor {
    pub kind: ActorKind,
    pub id: Option<String>,
    pub name: String,
}

impl Actor {
    /// A signed-in member of Drive Chat.
    pub fn member(user_id: i64, name: &str) -> Actor {
        Actor {
            kind: ActorKind::Member,
            id: Some(user_id.to_string()),
            name: name.into(),
        }
    }

    /// A program acting with member `user_id`'s API token.
    pub fn api_token(user_id: i64, name: &str) -> Actor {
        Actor {
            kind: ActorKind::ApiToken,
            id: Some(user_id.to_string()),
            name: name.into(),
        }
    }

    /// The operator at the command line, named by the system account running it.
    pub fn command_line() -> Actor {
        let who = std::env::var("USER")
            .or_else(|_| std::env::var("USERNAME"))
            .ok()
            .filter(|u| !u.trim().is_empty());
        Actor {
            kind: ActorKind::CommandLine,
            id: who.clone(),
            name: match who {
                Some(u) => format!("command line ({u})"),
                None => "command line".into(),
            },
        }
    }

    pub fn system() -> Actor {
        Actor {
            kind: ActorKind::System,
            id: None,
            name: "drivesync".into(),
        }
    }
}

/// How an action ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ok,
    /// HighLevel (or a check before it) said no.
    Refused,
    /// It could not be carried out (no usable connection, given up on).
    Failed,
}

impl Outcome {
    pub const ALL: [Outcome; 3] = [Outcome::Ok, Outcome::Refused, Outcome::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Refused => "refused",
            Outcome::Failed => "failed",
        }
    }

    pub fn parse(v: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.as_str() == v)
    }
}

/// HighLevel's answer to a write, as far as it is known: its HTTP status and the `traceId`
/// it sent (HighLevel's support finds a request by it).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HighLevelAnswer {
    pub status: Option<u16>,
    pub trace_id: Option<String>,
}

/// An action to record. `kind` names it with a dotted prefix for its area
/// (`highlevel.complete_task`, `api_token.create`, `member.add`, `keys.rotate`, ...).
#[derive(Clone, Debug, PartialEq)]
pub struct AuditEntry {
    pub actor: Actor,
    pub kind: String,
    /// The workspace (location) acted in; `None` for the whole installation.
    pub location_id: Option<String>,
    /// What was acted on: a record id, a person's email, a key id.
    pub target: Option<String>,
    /// Anything else worth keeping, as JSON (never a secret).
    pub detail: Value,
    pub outcome: Outcome,
    pub status: Option<u16>,
    /// HighLevel's refusal, or why it failed.
    pub message: Option<String>,
    pub trace_id: Option<String>,
}

impl AuditEntry {
    /// A successful action with nothing else to say; set the other fields as needed.
    pub fn new(actor: Actor, kind: &str, location_id: Option<&str>) -> AuditEntry {
        AuditEntry {
            actor,
            kind: kind.into(),
            location_id: location_id.map(str::to_string),
            target: None,
            detail: Value::Null,
            outcome: Outcome::Ok,
            status: None,
            message: None,
            trace_id: None,
        }
    }

    pub fn target(mut self, target: &str) -> AuditEntry {
        self.target = Some(target.into());
        self
    }

    pub fn detail(mut self, detail: Value) -> AuditEntry {
        self.detail = detail;
        self
    }
}

/// A recorded entry.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AuditRecord {
    pub id: i64,
    pub at_ms: i64,
    pub actor_kind: ActorKind,
    pub actor_id: Option<String>,
    pub actor_name: String,
    pub kind: String,
    pub location_id: Option<String>,
    pub target: Option<String>,
    pub detail: Value,
    pub outcome: Outcome,
    pub status: Option<u16>,
    pub message: Option<String>,
    pub trace_id: Option<String>,
}

/// The entries a reader may see: those of `locations`, and the installation's own (no
/// location) when `instance`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditScope {
    pub locations: Vec<String>,
    pub instance: bool,
}

/// A page of the trail, newest first. Filters left `None` match everything; `location`
/// outside the scope matches nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditQuery {
    pub scope: AuditScope,
    /// One location; `Some("")` for the installation's own entries.
    pub location: Option<String>,
    /// An actor's name, exactly.
    pub actor: Option<String>,
    pub kind: Option<String>,
    pub outcome: Option<Outcome>,
    /// From (inclusive) and to (exclusive), Unix ms.
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    /// Only entries older than this id: the next page after an entry.
    pub before_id: Option<i64>,
    pub limit: u32,
}

/// Entries, and the id to pass as `before_id` for the next page when there is one.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditPage {
    pub entries: Vec<AuditRecord>,
    pub next_before: Option<i64>,
}

/// The largest page [`Store::audit_page`] returns.
pub const MAX_PAGE: u32 = 1000;

pub(crate) const INSERT: &str =
    "INSERT INTO audit_log (at_ms, actor_kind, actor_id, actor_name, kind, \
     location_id, target, detail, outcome, status, message, trace_id) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id";

/// Binds an [`AuditEntry`] to [`INSERT`] (a macro: the query's database type differs per
/// backend and per transaction).
macro_rules! insert_audit {
    ($e:expr, $at:expr) => {
        sqlx::query_scalar::<_, i64>($crate::audit::INSERT)
            .bind($at)
            .bind($e.actor.kind.as_str())
            .bind(&$e.actor.id)
            .bind(&$e.actor.name)
            .bind(&$e.kind)
            .bind(&$e.location_id)
            .bind(&$e.target)
            .bind($e.detail.to_string())
            .bind($e.outcome.as_str())
            .bind($e.status.map(i64::from))
            .bind(&$e.message)
            .bind(&$e.trace_id)
    };
}
pub(crate) use insert_audit;

/// An `audit_log` row as stored.
#[derive(sqlx::FromRow)]
struct AuditRow {
    id: i64,
    at_ms: i64,
    actor_kind: String,
    actor_id: Option<String>,
    actor_name: String,
    kind: String,
    location_id: Option<String>,
    target: Option<String>,
    detail: String,
    outcome: String,
    status: Option<i64>,
    message: Option<String>,
    trace_id: Option<String>,
}

impl AuditRow {
    fn into_record(self) -> Result<AuditRecord, StoreError> {
        let corrupt = |reason: String| StoreError::Corrupt {
            what: format!("audit entry {}", self.id),
            reason,
        };
        Ok(AuditRecord {
            actor_kind: ActorKind::parse(&self.actor_kind)
                .ok_or_else(|| corrupt(format!("unknown actor kind {:?}", self.actor_kind)))?,
            outcome: Outcome::parse(&self.outcome)
                .ok_or_else(|| corrupt(format!("unknown outcome {:?}", self.outcome)))?,
            detail: serde_json::from_str(&self.detail).unwrap_or(Value::Null),
            status: self.status.and_then(|s| u16::try_from(s).ok()),
            id: self.id,
            at_ms: self.at_ms,
            actor_id: self.actor_id,
            actor_name: self.actor_name,
            kind: self.kind,
            location_id: self.location_id,
            target: self.target,
            message: self.message,
            trace_id: self.trace_id,
        })
    }
}

/// The scope as bound parameters: the locations as a JSON list, and the instance flag.
fn scope_params(scope: &AuditScope) -> (String, i64) {
    (
        serde_json::to_string(&scope.locations).unwrap_or_else(|_| "[]".into()),
        i64::from(scope.instance),
    )
}

/// `WHERE` text limiting rows to the scope bound at `$1` (locations) and `$2` (instance).
fn scope_clause(db: &Db) -> String {
    format!(
        "(location_id IN ({}) OR ($2 = 1 AND location_id IS NULL))",
        texts_in(db, 1)
    )
}

impl Store {
    /// Records an action in the audit trail. Returns the entry's id.
    pub async fn record_audit(&self, e: &AuditEntry) -> Result<i64, StoreError> {
        let at = now_ms();
        with_pool!(&self.db, |pool| insert_audit!(e, at).fetch_one(pool).await)
            .map_err(StoreError::db("recording an audit entry"))
    }

    /// A page of the entries `q` asks for, newest first.
    pub async fn audit_page(&self, q: &AuditQuery) -> Result<AuditPage, StoreError> {
        let limit = q.limit.clamp(1, MAX_PAGE);
        let sql = format!(
            "SELECT id, at_ms, actor_kind, actor_id, actor_name, kind, location_id, target, \
             detail, outcome, status, message, trace_id FROM audit_log WHERE {} \
             AND ($3 IS NULL OR COALESCE(location_id, '') = $3) \
             AND ($4 IS NULL OR actor_name = $4) AND ($5 IS NULL OR kind = $5) \
             AND ($6 IS NULL OR outcome = $6) AND ($7 IS NULL OR at_ms >= $7) \
             AND ($8 IS NULL OR at_ms < $8) AND ($9 IS NULL OR id < $9) \
             ORDER BY id DESC LIMIT $10",
            scope_clause(&self.db)
        );
        let (locations, instance) = scope_params(&q.scope);
        let rows: Vec<AuditRow> = with_pool!(&self.db, |pool| sqlx::query_as(&sql)
            .bind(&locations)
            .bind(instance)
            .bind(&q.location)
            .bind(&q.actor)
            .bind(&q.kind)
            .bind(q.outcome.map(Outcome::as_str))
            .bind(q.from_ms)
            .bind(q.to_ms)
            .bind(q.before_id)
            .bind(i64::from(limit) + 1)
            .fetch_all(pool)
            .await)
        .map_err(StoreError::db("reading the audit trail"))?;
        let more = rows.len() > limit as usize;
        let entries = rows
            .into_iter()
            .take(limit as usize)
            .map(AuditRow::into_record)
            .collect::<Result<Vec<_>, _>>()?;
        let next_before = if more {
            entries.last().map(|e| e.id)
        } else {
            None
        };
        Ok(AuditPage {
            entries,
            next_before,
        })
    }

    /// The actor names and kinds found in the scope, sorted: what the filters offer.
    pub async fn audit_facets(
        &self,
        scope: &AuditScope,
    ) -> Result<(Vec<String>, Vec<String>), StoreError> {
        let (locations, instance) = scope_params(scope);
        let mut out = Vec::new();
        for column in ["actor_name", "kind"] {
            let sql = format!(
                "SELECT DISTINCT {column} FROM audit_log WHERE {} ORDER BY {column}",
                scope_clause(&self.db)
            );
            let values: Vec<String> = with_pool!(&self.db, |pool| sqlx::query_scalar(&sql)
                .bind(&locations)
                .bind(instance)
                .fetch_all(pool)
                .await)
            .map_err(StoreError::db("listing audit actors and kinds"))?;
            out.push(values);
        }
        let kinds = out.pop().unwrap_or_default();
        let actors = out.pop().unwrap_or_default();
        Ok((actors, kinds))
    }
}
