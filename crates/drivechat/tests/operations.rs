//! The admins' pages against a real server and store: the dashboard and the audit trail are
//! refused to members (403, with what to do) and to outsiders (404); the audit trail lists,
//! filters and pages what was recorded in the admin's workspaces only, and exports the same
//! selection as CSV (escaped, formula-safe) and JSON lines; the dashboard draws the samples
//! as SVG without style attributes, with HighLevel's traceIds and #alerts.

mod common;

use common::*;
use drivechat::Config;
use secrecy::ExposeSecret as _;
use serde_json::{json, Value};
use store::{
    Actor, ActorKind, AuditEntry, AuditQuery, AuditScope, Channel, CommandState, MetricSample,
    NewMessage, Outcome,
};

on_both_backends!(
    admin_pages_are_refused_to_members_and_outsiders,
    the_audit_trail_records_filters_pages_and_exports,
    the_dashboard_draws_the_last_day,
    a_write_back_is_audited_as_who_asked,
);

pub fn config() -> Config {
    Config::default()
}

async fn get(c: &reqwest::Client, url: String) -> (u16, String) {
    let r = c.get(url).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn admin_pages_are_refused_to_members_and_outsiders(env: Env) {
    let (bob, home) = sign_in(&env, BOB).await;
    assert!(!home.contains("nav-dashboard"), "members see no link");
    for path in ["dashboard", "audit", "audit.csv", "audit.jsonl"] {
        let (status, html) = get(&bob, env.at(&format!("/w/{B}/{path}"))).await;
        assert_eq!(status, 403, "{path}: {html}");
        assert!(
            html.contains(
                "Only admins of Beta Dental can do this (members, invitations, other people's API \
                 tokens, the dashboard, the audit trail and workspace settings); you are a member \
                 there. Ask an admin of Beta Dental."
            ),
            "{path}: {html}"
        );
        // Another workspace's pages do not exist for him.
        let (status, _) = get(&bob, env.at(&format!("/w/{A}/{path}"))).await;
        assert_eq!(status, 404, "{path}");
    }
    let (alice, _) = sign_in(&env, ALICE).await;
    let (status, html) = get(&alice, env.at(&format!("/w/{A}/dashboard"))).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("data-testid=\"nav-audit\""), "{html}");
    let (status, _) = get(&alice, env.at(&format!("/w/{A}/audit"))).await;
    assert_eq!(status, 200);
}

/// Rows of the audit table, by their `data-audit-id`.
fn rows(html: &str) -> Vec<String> {
    attr_values(html, "data-audit-id")
}

async fn the_audit_trail_records_filters_pages_and_exports(env: Env) {
    let (alice, page) = sign_in(&env, ALICE).await;
    let csrf = field_value(&page, "_csrf").unwrap();
    // Admin actions from the pages are recorded as Alice, the member.
    let r = alice
        .post(env.at(&format!("/w/{A}/settings/tokens")))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = alice
        .post(env.at(&format!("/w/{A}/settings/timezone")))
        .form(&[("timezone", "Europe/Paris"), ("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // A write HighLevel refused, whose target a spreadsheet would run as a formula.
    let mut refused = AuditEntry::new(
        Actor::api_token(1, "Alice Archer"),
        "highlevel.add_note",
        Some(A),
    )
    .target("=HYPERLINK(\"http://evil\",\"x\")")
    .detail(json!({ "body": "a, \"quoted\"\nnote" }));
    refused.outcome = Outcome::Refused;
    refused.status = Some(422);
    refused.message = Some("HighLevel refused the change as invalid: body".into());
    refused.trace_id = Some("trace-422".into());
    env.store.record_audit(&refused).await.unwrap();
    // Not Alice's workspace: never shown to her.
    env.store
        .record_audit(&AuditEntry::new(
            Actor::member(2, "Bob Baker"),
            "timezone.set",
            Some(B),
        ))
        .await
        .unwrap();
    // The installation's own.
    env.store
        .record_audit(&AuditEntry::new(Actor::command_line(), "keys.rotate", None).target("k2"))
        .await
        .unwrap();

    let base = env.at(&format!("/w/{A}/audit"));
    let (status, html) = get(&alice, base.clone()).await;
    assert_eq!(status, 200, "{html}");
    // Alice's own joining (member.add by `drivesync users add`), her token, her zone, the
    // refusal and the key rotation: not Bob's entries.
    assert_eq!(rows(&html).len(), 5, "{html}");
    assert!(html.contains("api_token.create") && html.contains("timezone.set"));
    assert!(html.contains("keys.rotate") && html.contains("Installation"));
    assert!(!html.contains("Bob Baker"), "{html}");
    assert!(
        html.contains("trace-422") && html.contains("HTTP 422"),
        "{html}"
    );
    assert!(
        html.contains("=HYPERLINK(&quot;http://evil"),
        "escaped on the page"
    );

    // Filters.
    let (_, refusals) = get(&alice, format!("{base}?outcome=refused")).await;
    assert_eq!(rows(&refusals).len(), 1);
    let (_, by_kind) = get(&alice, format!("{base}?kind=api_token.create")).await;
    assert_eq!(rows(&by_kind).len(), 1);
    let (_, by_actor) = get(&alice, format!("{base}?actor=Alice+Archer")).await;
    assert_eq!(rows(&by_actor).len(), 3, "token, zone, refusal: {by_actor}");
    let (_, instance) = get(&alice, format!("{base}?location=-")).await;
    assert_eq!(rows(&instance).len(), 1);
    let (_, other) = get(&alice, format!("{base}?location={B}")).await;
    assert_eq!(
        rows(&other).len(),
        0,
        "another workspace's entries stay hidden"
    );
    let (_, tomorrow) = get(&alice, format!("{base}?from=2999-01-01")).await;
    assert_eq!(rows(&tomorrow).len(), 0);
    let (status, bad) = get(&alice, format!("{base}?from=yesterday")).await;
    assert_eq!(status, 400);
    assert!(
        bad.contains("the from date must be YYYY-MM-DD, not &quot;yesterday&quot;"),
        "{bad}"
    );
    let (status, bad) = get(&alice, format!("{base}?outcome=maybe")).await;
    assert_eq!(status, 400);
    assert!(
        bad.contains("the outcome must be ok, refused or failed"),
        "{bad}"
    );
    // The download links keep the filters.
    assert!(
        refusals.contains(&format!("href=\"/w/{A}/audit.csv?outcome=refused\"")),
        "{refusals}"
    );

    // CSV: a header, one line per entry, quoted where needed, formulas defused.
    let r = alice
        .get(format!("{}.csv?outcome=refused", base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-type"].to_str().unwrap(),
        "text/csv; charset=utf-8"
    );
    assert!(r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment;"));
    let csv = r.text().await.unwrap();
    let lines: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(
        lines[0],
        "id,time,actor_kind,actor_id,actor,kind,location_id,target,outcome,status,message,trace_id,detail"
    );
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(
        lines[1].contains(",api_token,1,Alice Archer,highlevel.add_note,locA,\"'=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")\",refused,422,HighLevel refused the change as invalid: body,trace-422,"),
        "{csv}"
    );
    assert!(
        lines[1].ends_with("\"{\"\"body\"\":\"\"a, \\\"\"quoted\\\"\"\\nnote\"\"}\""),
        "{csv}"
    );

    // JSON lines: the same selection, one object each.
    let jsonl = alice
        .get(format!("{}.jsonl", base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let objects: Vec<Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(objects.len(), 5, "{jsonl}");
    let r = objects
        .iter()
        .find(|o| o["kind"] == "highlevel.add_note")
        .unwrap();
    assert_eq!(r["trace_id"], "trace-422");
    assert_eq!(r["status"], 422);
    assert_eq!(r["actor_kind"], "api_token");
    assert_eq!(r["detail"]["body"], "a, \"quoted\"\nnote");
    assert!(r["time"].as_str().unwrap().ends_with('Z'));

    // Pages of 50, newest first, the filters kept on the link to older ones.
    for i in 0..55 {
        env.store
            .record_audit(
                &AuditEntry::new(Actor::member(1, "Alice Archer"), "member.test", Some(A))
                    .target(&format!("n{i}")),
            )
            .await
            .unwrap();
    }
    let (_, first) = get(&alice, format!("{base}?kind=member.test")).await;
    assert_eq!(rows(&first).len(), 50);
    let next = attr_values(&first, "href")
        .into_iter()
        .find(|h| h.contains("before="))
        .expect("a link to older entries");
    assert!(next.contains("kind=member.test"), "{next}");
    let (_, second) = get(&alice, env.at(&next.replace("&amp;", "&"))).await;
    assert_eq!(rows(&second).len(), 5);
    assert!(!second.contains("data-testid=\"next-page\""));
}

async fn the_dashboard_draws_the_last_day(env: Env) {
    let now = now_ms();
    let minute = now - now % 60_000;
    let samples: Vec<MetricSample> = (1..=30)
        .map(|i| MetricSample {
            location_id: A.into(),
            minute_ms: minute - i * 60_000,
            lag_ms: Some(1_500),
            events: i,
            budget_remaining: Some(190_000),
            queue_pending: 4,
            queue_running: 1,
            dead_letters: 2,
            refusals: [("bad_signature".to_string(), 100 - i)].into(),
        })
        .collect();
    env.store.save_metric_samples(&samples).await.unwrap();
    // Another location's figures are not this dashboard's.
    env.store
        .save_metric_samples(&[MetricSample {
            location_id: B.into(),
            minute_ms: minute - 60_000,
            events: 777,
            ..MetricSample::default()
        }])
        .await
        .unwrap();
    let mut refused = AuditEntry::new(
        Actor::member(1, "Alice Archer"),
        "highlevel.complete_task",
        Some(A),
    );
    refused.outcome = Outcome::Refused;
    refused.status = Some(404);
    refused.message = Some("The task no longer exists in HighLevel".into());
    refused.trace_id = Some("trace-dash-404".into());
    env.store.record_audit(&refused).await.unwrap();
    env.store
        .post_message(&NewMessage {
            location_id: A.into(),
            channel: Channel::Alerts,
            author_id: None,
            author_name: "drivesync".into(),
            body: "Webhooks refused for 10 minutes".into(),
            idempotency_key: None,
        })
        .await
        .unwrap();
    // Alerts open now: this location's and the installation's show, another location's not.
    for (rule, scope, summary) in [
        ("dead_letters", A, "3 jobs are in the dead-letter queue"),
        ("store_writes", "", "The store refuses writes"),
        ("needs_reauth", B, "Beta must be reconnected"),
    ] {
        assert!(env.store.open_alert(rule, scope, summary).await.unwrap());
    }

    let (alice, _) = sign_in(&env, ALICE).await;
    let (status, html) = get(&alice, env.at(&format!("/w/{A}/dashboard"))).await;
    assert_eq!(status, 200, "{html}");
    for chart in [
        "chart-lag",
        "chart-events",
        "chart-budget",
        "chart-refusals",
        "chart-queue",
        "chart-dead",
    ] {
        assert!(
            html.contains(&format!("data-testid=\"{chart}\"")),
            "{chart}"
        );
    }
    assert!(html.matches("<polyline").count() >= 7, "{html}");
    assert!(
        !html.contains(" style="),
        "no style attributes (CSP): {html}"
    );
    assert!(!html.contains("<script>"), "no inline scripts");
    assert!(
        html.contains("webhooks: latest 1/min, peak 30/min"),
        "{html}"
    );
    assert!(html.contains("lag: latest 1.5 s"), "{html}");
    assert!(
        html.contains("bad_signature: latest 1/min, peak 1/min"),
        "{html}"
    );
    assert!(html.contains("dead letters: latest 2"), "{html}");
    assert!(!html.contains("777"), "another location's figures");
    assert!(html.contains("trace-dash-404"), "{html}");
    assert!(html.contains("The task no longer exists in HighLevel"));
    assert!(html.contains("Webhooks refused for 10 minutes"), "{html}");
    assert!(
        html.contains("3 jobs are in the dead-letter queue"),
        "{html}"
    );
    assert!(html.contains("Whole installation · open since"), "{html}");
    assert!(html.contains("The store refuses writes"), "{html}");
    assert!(
        !html.contains("Beta must be reconnected"),
        "another location's alert"
    );
    assert!(!html.contains("No alert is open."), "{html}");
}

/// A command queued from a page is the member's, one queued with an API token the token's:
/// the audit entry written when it settles says which.
async fn a_write_back_is_audited_as_who_asked(env: Env) {
    let due = now_ms() + DAY;
    env.put(contact(A, "c1", "Ann", "Smith", &[]), &[]).await;
    env.put(task(A, "t1", "c1", "Call back", due, false), &[])
        .await;
    env.put(task(A, "t2", "c1", "Send quote", due, false), &[])
        .await;
    let token = drivechat::admin::create_api_token(&env.store, ALICE, A)
        .await
        .unwrap();
    let r = reqwest::Client::new()
        .post(env.at("/api/v1/tasks/t1/complete"))
        .bearer_auth(token.expose_secret())
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let by_token = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let (alice, page) = sign_in(&env, ALICE).await;
    let csrf = field_value(&page, "_csrf").unwrap();
    let r = alice
        .post(env.at(&format!("/w/{A}/tasks/t2/complete")))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let on_page = env.store.commands(A, None, None, 10).await.unwrap();
    let on_page = on_page.iter().find(|c| c.id != by_token).unwrap().id;
    for id in [by_token, on_page] {
        env.store
            .settle_command(id, CommandState::Done, None, None, None)
            .await
            .unwrap();
    }
    let entries = env
        .store
        .audit_page(&AuditQuery {
            scope: AuditScope {
                locations: vec![A.into()],
                instance: false,
            },
            kind: Some("highlevel.complete_task".into()),
            limit: 10,
            ..AuditQuery::default()
        })
        .await
        .unwrap()
        .entries;
    let actor = |id: i64| {
        entries
            .iter()
            .find(|e| e.detail["command_id"] == json!(id))
            .map(|e| (e.actor_kind, e.actor_name.clone()))
    };
    assert_eq!(
        actor(by_token),
        Some((ActorKind::ApiToken, "Alice Archer".to_string()))
    );
    assert_eq!(
        actor(on_page),
        Some((ActorKind::Member, "Alice Archer".to_string()))
    );
}
