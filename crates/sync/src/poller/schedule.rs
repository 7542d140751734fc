//! Queues each location's polls and reconciles when their intervals have passed. Every
//! drivesync process may run this: a job is queued only when none of its kind is pending or
//! running under the location's key, so they make one poll between them. Each location's
//! intervals are saved in its sync state, where `drivesync status` shows them.

use std::collections::HashMap;

use store::{jobs, JobKind, LocationState, NewJob, Store};

use crate::config::EngineConfig;
use crate::error::SyncError;
use crate::gate::LocationGate;
use crate::millis;

/// The scheduler's memory: the intervals last saved per location.
#[derive(Debug, Default)]
pub struct Scheduler {
    saved: HashMap<String, (i64, i64)>,
}

impl Scheduler {
    /// Saves the location's intervals if they changed since last saved by this process.
    pub async fn ensure_state(
        &mut self,
        store: &Store,
        config: &EngineConfig,
        location: &str,
    ) -> Result<(), SyncError> {
        let s = config.schedule_of(location);
        let want = (millis(s.poll_interval), millis(s.reconcile_interval));
        if self.saved.get(location) != Some(&want) {
            store.ensure_sync_state(location, want.0, want.1).await?;
            self.saved.insert(location.to_string(), want);
        }
        Ok(())
    }

    /// One look at every connected location; returns how many jobs were queued.
    pub async fn tick(
        &mut self,
        store: &Store,
        gate: &LocationGate,
        config: &EngineConfig,
    ) -> Result<usize, SyncError> {
        let now = chrono::Utc::now().timestamp_millis();
        let mut queued = 0;
        let locations = store.locations().await?;
        for loc in &locations {
            // An agency connection only mints location tokens; it has no contacts.
            if loc.user_type == ghl::UserType::Company {
                continue;
            }
            self.ensure_state(store, config, &loc.location_id).await?;
        }
        let states: HashMap<String, store::SyncState> = store
            .sync_states()
            .await?
            .into_iter()
            .map(|s| (s.location_id.clone(), s))
            .collect();
        for loc in locations
            .iter()
            .filter(|l| l.user_type != ghl::UserType::Company)
        {
            let Some(state) = states.get(&loc.location_id) else {
                continue;
            };
            let due = |last: Option<i64>, every: i64| last.is_none_or(|t| now - t >= every);
            let reconcile = due(state.last_reconcile_ms, state.reconcile_interval_ms);
            let poll = due(state.last_poll_ms, state.poll_interval_ms);
            // A location never reconciled has not been imported: its tasks are the import's.
            // Nor is one whose token cannot search tasks (when its scopes are known).
            let may_search = loc.scopes.is_empty()
                || loc
                    .scopes
                    .iter()
                    .any(|s| s == crate::scope_of("task-search"));
            let tasks = state.last_reconcile_ms.is_some()
                && may_search
                && config
                    .task_poll_interval
                    .is_some_and(|every| due(state.last_task_poll_ms, millis(every)));
            if !(reconcile || poll || tasks) || !gate.schedulable(&loc.location_id, loc.state) {
                continue;
            }
            if loc.state == LocationState::BudgetExhausted && reconcile {
                // Probing with a poll is cheap; a reconcile waits for a renewed budget.
                continue;
            }
            for (kind, wanted) in [
                (JobKind::Reconcile, reconcile),
                (JobKind::Poll, poll),
                (JobKind::TaskPoll, tasks && !reconcile),
            ] {
                if !wanted {
                    continue;
                }
                let job = NewJob::new(
                    kind,
                    loc.location_id.clone(),
                    jobs::poll_key(&loc.location_id),
                    serde_json::json!({}),
                );
                if store.enqueue_if_idle(&job).await?.is_some() {
                    tracing::debug!(location = %loc.location_id, %kind, "scheduled");
                    queued += 1;
                }
            }
        }
        Ok(queued)
    }
}
