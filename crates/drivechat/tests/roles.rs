//! Roles: every route of the router's own table (`DriveChat::access_rules`, the table its
//! guards enforce), web and API, walked as an admin, a member and a viewer of workspace A, a
//! member of another workspace, and someone signed out, each with the exact status its
//! declared access gives. A route added without the right declaration fails here. Then the
//! team itself: invitations (new and existing accounts, used, expired, revoked), removing
//! members (sessions, tokens and open live streams end), the last admin, and one's own
//! password and sessions.

mod common;

use std::time::Duration;

use common::*;
use drivechat::team::{self, Actor};
use drivechat::{Access, Config, Role};
use futures::StreamExt as _;
use reqwest::{Method, StatusCode};
use secrecy::ExposeSecret as _;
use serde_json::{json, Value};
use store::SecretString;

on_both_backends!(
    every_route_checks_the_role,
    invitations_work_once_and_say_why_not,
    removing_a_member_ends_their_access,
    the_last_admin_stays,
    own_password_and_sessions,
    live_streams_end_with_their_session,
    viewers_see_no_action_forms,
);

pub fn config() -> Config {
    Config {
        live_recheck_interval: Duration::from_millis(500),
        ..Config::default()
    }
}

const MIA: &str = "mia@example.com";
const VIC: &str = "vic@example.com";

async fn add(env: &Env, email: &str, name: &str, loc: &str, role: Role) -> i64 {
    drivechat::admin::add_user(
        &env.store,
        email,
        SecretString::from(PASSWORD),
        name,
        &[(loc.into(), role)],
    )
    .await
    .expect("add user")
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Signs in without following the redirect; returns the client and its CSRF token.
async fn session(env: &Env, email: &str) -> (reqwest::Client, String) {
    let loc = if email == BOB { B } else { A };
    let c = no_redirects();
    let form = c
        .get(env.at("/signin"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = field_value(&form, "_csrf").unwrap();
    let r = c
        .post(env.at("/signin"))
        .form(&[("email", email), ("password", PASSWORD), ("_csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{email} signs in");
    let page = c
        .get(env.at(&format!("/w/{loc}/settings")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = field_value(&page, "_csrf").unwrap_or_default();
    (c, csrf)
}

/// Who walks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Caller {
    Admin,
    Member,
    Viewer,
    /// A member of workspace B only.
    Other,
    SignedOut,
}

impl Caller {
    fn role(self) -> Option<Role> {
        match self {
            Caller::Admin => Some(Role::Admin),
            Caller::Member => Some(Role::Member),
            Caller::Viewer => Some(Role::Viewer),
            _ => None,
        }
    }
}

/// What a route needs, by the rules written independently of the router: reads need a
/// viewer; acting a member; managing members and invitations (and others' tokens) an admin;
/// one's own account any role; sign-in, invitations and assets nobody.
fn policy(method: &Method, path: &str) -> Access {
    const OWN: [&str; 6] = [
        // A mute is one's own view of the feed.
        "/w/{ws}/feed/mutes",
        "/w/{ws}/settings/timezone",
        "/w/{ws}/settings/profile",
        "/w/{ws}/settings/password",
        "/w/{ws}/settings/sessions/{id}/end",
        "/w/{ws}/settings/tokens/{id}/revoke",
    ];
    let get = method == Method::GET;
    match path {
        "/signin" | "/invite/{token}" | "/assets/{name}" => Access::Public,
        "/api/v1/openapi.json" | "/api/v1" | "/api/v1/{*rest}" => Access::Public,
        // The API's documentation, read before anyone has a token.
        p if p.starts_with("/api/v1/docs") => Access::Public,
        "/" | "/signout" => Access::SignedIn,
        // The dashboard and the audit trail: admins only.
        p if p.starts_with("/w/{ws}/dashboard") || p.starts_with("/w/{ws}/audit") => {
            Access::Role(Role::Admin)
        }
        p if p.starts_with("/w/{ws}") || p.starts_with("/api/v1/") => {
            if get || OWN.contains(&p) {
                Access::Role(Role::Viewer)
            } else if p.starts_with("/w/{ws}/settings/invites")
                || p.starts_with("/w/{ws}/settings/members/")
            {
                Access::Role(Role::Admin)
            } else {
                Access::Role(Role::Member)
            }
        }
        _ => panic!("{method} {path}: a route the rules do not cover; add it to the policy"),
    }
}

/// What a route answers when it lets the caller in (with valid ids and a valid form).
fn allowed_status(method: &Method, path: &str) -> u16 {
    match (method.as_str(), path) {
        ("GET", "/" | "/w/{ws}") => 303,
        // These render a secret once instead of redirecting.
        ("POST", "/w/{ws}/settings/tokens" | "/w/{ws}/settings/invites") => 200,
        ("POST", "/api/v1/messages" | "/api/v1/contacts/{contact_id}/messages") => 201,
        ("GET", _) => 200,
        ("POST", p) if p.starts_with("/api/") => 202,
        _ => 303,
    }
}

async fn every_route_checks_the_role(env: Env) {
    let mia = add(&env, MIA, "Mia Member", A, Role::Member).await;
    let vic = add(&env, VIC, "Vic Viewer", A, Role::Viewer).await;
    let alice = env
        .store
        .chat_user_by_email(ALICE)
        .await
        .unwrap()
        .unwrap()
        .id;
    env.put(contact(A, "ca", "Pat", "Lee", &["vip"]), &[]).await;
    env.put(task(A, "ta", "ca", "Call", now_ms() + DAY, false), &[])
        .await;
    let (command, _) = env
        .store
        .enqueue_command(&store::NewCommand {
            location_id: A.into(),
            command: store::HighLevelCommand::AddNote {
                contact_id: "ca".into(),
                body: "x".into(),
                user_id: None,
            },
            requested_by: None,
            actor: None,
            idempotency_key: None,
        })
        .await
        .unwrap();

    let rules = env.chat.access_rules();
    // Each route declares what the rules (`drivechat::access` docs) say it needs; the walk below then
    // proves the guard enforces the declaration.
    for d in &rules {
        assert_eq!(
            d.access,
            policy(&d.method, d.path),
            "{} {}",
            d.method,
            d.path
        );
    }
    let users = [
        (Caller::Admin, ALICE, alice),
        (Caller::Member, MIA, mia),
        (Caller::Viewer, VIC, vic),
    ];
    let mut n = 0;
    let mut walked = 0;
    let callers = [
        Caller::Admin,
        Caller::Member,
        Caller::Viewer,
        Caller::Other,
        Caller::SignedOut,
    ];
    for caller in callers {
        let (c, csrf) = match caller {
            Caller::SignedOut => (no_redirects(), String::new()),
            Caller::Other => session(&env, BOB).await,
            _ => {
                let email = users.iter().find(|u| u.0 == caller).unwrap().1;
                session(&env, email).await
            }
        };
        let me = users.iter().find(|u| u.0 == caller).map(|u| u.2);
        let mut web: Vec<_> = rules
            .iter()
            .filter(|d| !d.path.starts_with("/api/"))
            .collect();
        // Signing out last: it ends the walking session.
        web.sort_by_key(|d| d.path == "/signout");
        for d in web {
            if d.access == Access::Public {
                continue;
            }
            n += 1;
            // Fresh targets, so each allowed request does something real and harmless.
            let target = add(
                &env,
                &format!("t{n}@example.com"),
                "Target",
                A,
                Role::Member,
            )
            .await;
            let token =
                drivechat::admin::create_api_token(&env.store, &format!("t{n}@example.com"), A)
                    .await
                    .unwrap();
            let _ = token.expose_secret();
            let other_token = env.store.api_tokens(Some(A), Some(target)).await.unwrap()[0]
                .id
                .clone();
            let own_token = match me {
                Some(uid) if caller != Caller::Viewer => {
                    let email = users.iter().find(|u| u.2 == uid).unwrap().1;
                    drivechat::admin::create_api_token(&env.store, email, A)
                        .await
                        .unwrap();
                    env.store.api_tokens(Some(A), Some(uid)).await.unwrap()[0]
                        .id
                        .clone()
                }
                Some(uid) => {
                    // A viewer's token, made by the operator.
                    drivechat::admin::create_api_token(&env.store, VIC, A)
                        .await
                        .unwrap();
                    env.store.api_tokens(Some(A), Some(uid)).await.unwrap()[0]
                        .id
                        .clone()
                }
                None => other_token.clone(),
            };
            let spare_session = format!("{:0>64}", n);
            env.store
                .create_session(&spare_session, me.unwrap_or(target), now_ms() + DAY)
                .await
                .unwrap();
            let invite = team::invite(
                &env.store,
                Duration::from_secs(60),
                A,
                Actor::Operator,
                &format!("inv{n}@example.com"),
                Role::Viewer,
            )
            .await
            .unwrap();
            let _ = invite.token.expose_secret();
            let invite_id = env.store.pending_invites(A).await.unwrap()[0].id;
            let id = if d.path.contains("/sessions/") {
                spare_session[..16].to_string()
            } else if d.path.contains("/members/tokens/") {
                other_token.clone()
            } else if d.path.contains("/tokens/") {
                own_token.clone()
            } else if d.path.contains("/invites/") {
                invite_id.to_string()
            } else {
                command.to_string()
            };
            let path = d
                .path
                .replace("{ws}", A)
                .replace("{contact}", "ca")
                .replace("{task}", "ta")
                .replace("{user}", &target.to_string())
                .replace("{id}", &id);
            let form = [
                ("_csrf", csrf.clone()),
                ("_idem", format!("walk-{n}")),
                ("title", "T".into()),
                ("due", "2030-01-01".into()),
                ("body", "B".into()),
                ("tags", "t".into()),
                ("tag", "vip".into()),
                ("timezone", String::new()),
                ("name", "Renamed".into()),
                ("current", PASSWORD.into()),
                ("new", PASSWORD.into()),
                ("email", format!("new{n}@example.com")),
                ("role", "viewer".into()),
            ];
            let r = if d.method == Method::GET {
                c.get(env.at(&path)).send().await.unwrap()
            } else {
                c.post(env.at(&path)).form(&form).send().await.unwrap()
            };
            let status = r.status().as_u16();
            let location = r
                .headers()
                .get("location")
                .and_then(|l| l.to_str().ok())
                .unwrap_or_default()
                .to_string();
            // An open stream has no end to read.
            let body = if path.ends_with("/live") && status == 200 {
                String::new()
            } else {
                r.text().await.unwrap()
            };
            let what = format!("{caller:?} {} {path}", d.method);
            match (d.access, caller) {
                (_, Caller::SignedOut) => {
                    assert_eq!(status, 303, "{what}");
                    assert!(location.starts_with("/signin"), "{what} → {location}");
                }
                (Access::Role(_), Caller::Other) => {
                    assert_eq!(status, 404, "{what}");
                    assert!(body.contains("workspace not found"), "{what}: {body}");
                }
                (Access::Role(needed), _) if !caller.role().unwrap().allows(needed) => {
                    assert_eq!(status, 403, "{what}");
                    let sentence = match needed {
                        Role::Admin => "Only admins of Acme Roofing can do this",
                        _ => "You are a viewer in Acme Roofing: you can read everything but change nothing",
                    };
                    assert!(body.contains(sentence), "{what}: {body}");
                }
                _ => {
                    let expected = allowed_status(&d.method, d.path);
                    assert_eq!(status, expected, "{what}: {location} {body}");
                    if status == 303 && d.path.starts_with("/w/") && d.method == Method::POST {
                        assert!(!location.starts_with("/signin"), "{what} → {location}");
                    }
                    walked += 1;
                }
            }
        }
    }
    assert!(walked >= 60, "allowed requests walked: {walked}");

    // The API, with tokens of each role of A and of B's member, and without one.
    let api_token = |email: &'static str, loc: &'static str| {
        let store = env.store.clone();
        async move {
            drivechat::admin::create_api_token(&store, email, loc)
                .await
                .unwrap()
                .expose_secret()
                .to_string()
        }
    };
    let tokens = [
        (Caller::Admin, Some(api_token(ALICE, A).await)),
        (Caller::Member, Some(api_token(MIA, A).await)),
        (Caller::Viewer, Some(api_token(VIC, A).await)),
        (Caller::Other, Some(api_token(BOB, B).await)),
        (Caller::SignedOut, None),
    ];
    let c = reqwest::Client::new();
    let mut api_walked = 0;
    for (caller, token) in &tokens {
        for d in rules.iter().filter(|d| d.path.starts_with("/api/")) {
            if d.access == Access::Public {
                continue;
            }
            n += 1;
            let path = d
                .path
                .replace("{contact_id}", "ca")
                .replace("{task_id}", "ta")
                .replace("{command_id}", &command.to_string());
            let body = json!({"title": "T", "due_date": "2030-01-01T00:00:00Z", "body": "B", "tags": ["t"]});
            let mut req = c
                .request(d.method.clone(), env.at(&path))
                .header("idempotency-key", format!("api-{n}"))
                .json(&body);
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            let r = req.send().await.unwrap();
            let status = r.status();
            // An open stream has no end to read.
            let text = if path.ends_with("/events") && status.is_success() {
                String::new()
            } else {
                r.text().await.unwrap()
            };
            let what = format!("{caller:?} {} {path}: {text}", d.method);
            let Access::Role(needed) = d.access else {
                panic!("{what}: API routes need a role");
            };
            match caller {
                Caller::SignedOut => assert_eq!(status, 401, "{what}"),
                // B's token reaches B: A's ids are not there.
                Caller::Other => {
                    let expected = if d.path.contains('{') {
                        404
                    } else {
                        allowed_status(&d.method, d.path)
                    };
                    assert_eq!(status.as_u16(), expected, "{what}");
                }
                _ if !caller.role().unwrap().allows(needed) => {
                    assert_eq!(status, StatusCode::FORBIDDEN, "{what}");
                    let e: Value = serde_json::from_str(&text).unwrap();
                    assert!(
                        e["error"]
                            .as_str()
                            .unwrap()
                            .contains("You are a viewer in Acme Roofing"),
                        "{what}"
                    );
                }
                _ => {
                    assert_eq!(status.as_u16(), allowed_status(&d.method, d.path), "{what}");
                    api_walked += 1;
                }
            }
        }
    }
    assert!(api_walked >= 30, "{api_walked}");
}

/// A signed-out browser's view of an invitation link: the page and its CSRF token.
async fn open_invite(c: &reqwest::Client, env: &Env, link: &str) -> (StatusCode, String) {
    let r = c.get(env.at(link)).send().await.unwrap();
    let status = r.status();
    (status, r.text().await.unwrap())
}

async fn invitations_work_once_and_say_why_not(env: Env) {
    let alice = env
        .store
        .chat_user_by_email(ALICE)
        .await
        .unwrap()
        .unwrap()
        .id;
    let (admin, csrf) = session(&env, ALICE).await;
    // The admin invites from the settings page and is shown the link once, not cached.
    let r = admin
        .post(env.at(&format!("/w/{A}/settings/invites")))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("email", " New@Example.com"),
            ("role", "member"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let page = r.text().await.unwrap();
    let marker = "data-testid=\"invite-link\">";
    let start = page.find(marker).expect("the link is shown") + marker.len();
    let link = &page[start..start + page[start..].find('<').unwrap()];
    let path = &link[link.find("/invite/").expect("an invitation path")..];
    assert!(link.starts_with("http://127.0.0.1:"), "{link}");
    // Only a hash is stored.
    let invites = env.store.pending_invites(A).await.unwrap();
    assert_eq!(
        (invites.len(), invites[0].email.as_str()),
        (1, "new@example.com")
    );
    let token = &path["/invite/".len()..];
    assert!(env.store.invite_by_hash(token).await.unwrap().is_none());
    // Inviting someone already in: refused, saying what to do instead.
    let r = admin
        .post(env.at(&format!("/w/{A}/settings/invites")))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("email", ALICE),
            ("role", "viewer"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let page = admin
        .get(env.at(&format!("/w/{A}/settings")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("is already a member of Acme Roofing (admin); change their role"),
        "{page}"
    );

    // The invitee, signed out, sets a name and password and lands in the workspace.
    let invitee = no_redirects();
    let (status, form) = open_invite(&invitee, &env, path).await;
    assert_eq!(status, 200);
    assert!(form.contains("new@example.com") && form.contains("Join Acme Roofing"));
    let pre = field_value(&form, "_csrf").unwrap();
    let short = invitee
        .post(env.at(path))
        .form(&[
            ("_csrf", pre.as_str()),
            ("name", "Nia New"),
            ("password", "short"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(short.status(), 400);
    assert!(short
        .text()
        .await
        .unwrap()
        .contains("at least 8 characters"));
    let forged = invitee
        .post(env.at(path))
        .form(&[
            ("_csrf", "forged"),
            ("name", "Nia New"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    let r = invitee
        .post(env.at(path))
        .form(&[
            ("_csrf", pre.as_str()),
            ("name", "Nia New"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], format!("/w/{A}/contacts"));
    let page = invitee
        .get(env.at(&format!("/w/{A}/settings")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(
        page.contains("data-testid=\"my-role\">member<"),
        "joined as a member"
    );
    // Used: the link says so (410), and another browser cannot reuse it.
    let (status, used) = open_invite(&no_redirects(), &env, path).await;
    assert_eq!(status, 410);
    assert!(
        used.contains("This invitation to Acme Roofing was already used"),
        "{used}"
    );
    let (status, unknown) = open_invite(&no_redirects(), &env, "/invite/nonsense").await;
    assert_eq!(status, 404);
    assert!(unknown.contains("This invitation link is not valid"));

    // Expired and revoked links say so too.
    let expired = team::invite(
        &env.store,
        Duration::ZERO,
        A,
        Actor::Member(alice),
        "late@example.com",
        Role::Viewer,
    )
    .await
    .unwrap();
    let (status, page) =
        open_invite(&no_redirects(), &env, &team::invite_path(&expired.token)).await;
    assert_eq!(status, 410);
    assert!(
        page.contains("has expired. Ask an admin of Acme Roofing for a new one"),
        "{page}"
    );
    let first = team::invite(
        &env.store,
        Duration::from_secs(60),
        A,
        Actor::Operator,
        "twice@example.com",
        Role::Viewer,
    )
    .await
    .unwrap();
    let second = team::invite(
        &env.store,
        Duration::from_secs(60),
        A,
        Actor::Operator,
        "twice@example.com",
        Role::Viewer,
    )
    .await
    .unwrap();
    let (status, page) = open_invite(&no_redirects(), &env, &team::invite_path(&first.token)).await;
    assert_eq!(status, 410, "only the newest link works");
    assert!(page.contains("was withdrawn"), "{page}");
    let (status, _) = open_invite(&no_redirects(), &env, &team::invite_path(&second.token)).await;
    assert_eq!(status, 200);

    // Someone who has an account (Bob, of B) joins by signing in, never by setting a password.
    let to_bob = team::invite(
        &env.store,
        Duration::from_secs(60),
        A,
        Actor::Operator,
        BOB,
        Role::Viewer,
    )
    .await
    .unwrap();
    let bob_path = team::invite_path(&to_bob.token);
    let (status, page) = open_invite(&no_redirects(), &env, &bob_path).await;
    assert_eq!(status, 200);
    assert!(page.contains("already has a Drive Chat account"), "{page}");
    assert!(
        !page.contains("name=\"password\""),
        "no password form for an existing account"
    );
    let stranger = no_redirects();
    let pre = field_value(&open_invite(&stranger, &env, &bob_path).await.1, "_csrf");
    let r = stranger
        .post(env.at(&bob_path))
        .form(&[
            ("_csrf", pre.unwrap_or_default().as_str()),
            ("name", "X"),
            ("password", "hijacked!"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "sent to sign in");
    assert!(r.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/signin"));
    let (bob, _) = session(&env, BOB).await;
    let page = bob
        .get(env.at(&bob_path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let bob_csrf = field_value(&page, "_csrf").expect("a join button");
    let r = bob
        .post(env.at(&bob_path))
        .form(&[("_csrf", bob_csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let m = env
        .store
        .membership(
            env.store.chat_user_by_email(BOB).await.unwrap().unwrap().id,
            A,
        )
        .await
        .unwrap();
    assert_eq!(m.map(|m| m.role), Some(Role::Viewer));
}

async fn removing_a_member_ends_their_access(env: Env) {
    let mia = add(&env, MIA, "Mia Member", A, Role::Member).await;
    let (admin, csrf) = session(&env, ALICE).await;
    let (member, _) = session(&env, MIA).await;
    let token = drivechat::admin::create_api_token(&env.store, MIA, A)
        .await
        .unwrap();
    let api = |t: String| {
        let url = env.at("/api/v1/workspace");
        async move {
            reqwest::Client::new()
                .get(url)
                .bearer_auth(t)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(api(token.expose_secret().to_string()).await, 200);
    // Roles change at once: made a viewer, Mia can no longer act.
    let r = admin
        .post(env.at(&format!("/w/{A}/settings/members/{mia}/role")))
        .form(&[("_csrf", csrf.as_str()), ("role", "viewer")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let r = member
        .post(env.at(&format!("/w/{A}/feed/messages")))
        .form(&[("body", "hi")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // A role that is not one is refused, saying which there are.
    let r = admin
        .post(env.at(&format!("/w/{A}/settings/members/{mia}/role")))
        .form(&[("_csrf", csrf.as_str()), ("role", "owner")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let page = admin
        .get(env.at(&format!("/w/{A}/settings")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("is not a role; pick admin, member or viewer"),
        "{page}"
    );
    // Removed: her page, her token and her sessions end.
    let r = admin
        .post(env.at(&format!("/w/{A}/settings/members/{mia}/remove")))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let r = member
        .get(env.at(&format!("/w/{A}/contacts")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert!(r.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/signin"));
    assert_eq!(api(token.expose_secret().to_string()).await, 401);
    assert!(env.store.user_sessions(mia).await.unwrap().is_empty());
    assert!(env
        .store
        .api_tokens(None, Some(mia))
        .await
        .unwrap()
        .is_empty());
    // Removing again: the member is not there.
    let r = admin
        .post(env.at(&format!("/w/{A}/settings/members/{mia}/remove")))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

async fn the_last_admin_stays(env: Env) {
    let alice = env
        .store
        .chat_user_by_email(ALICE)
        .await
        .unwrap()
        .unwrap()
        .id;
    let (admin, csrf) = session(&env, ALICE).await;
    for (path, form) in [
        ("role", vec![("_csrf", csrf.as_str()), ("role", "member")]),
        ("remove", vec![("_csrf", csrf.as_str())]),
    ] {
        let r = admin
            .post(env.at(&format!("/w/{A}/settings/members/{alice}/{path}")))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "{path}");
        assert_eq!(r.headers()["location"], format!("/w/{A}/settings"));
        let page = admin
            .get(env.at(&format!("/w/{A}/settings")))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            page.contains("Alice Archer is the last admin of Acme Roofing and cannot be")
                && page.contains("make another member an admin first"),
            "{path}: {page}"
        );
    }
    assert_eq!(
        env.store.membership(alice, A).await.unwrap().unwrap().role,
        Role::Admin
    );
    // With a second admin, each may step down, but not both at once.
    let mia = add(&env, MIA, "Mia", A, Role::Admin).await;
    let (a, b) = tokio::join!(
        team::set_role(&env.store, A, Actor::Operator, alice, Role::Member),
        team::set_role(&env.store, A, Actor::Operator, mia, Role::Member),
    );
    assert!(
        a.is_ok() != b.is_ok(),
        "exactly one steps down: {a:?} {b:?}"
    );
    let admins = env
        .store
        .workspace_members(A)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.role == Role::Admin)
        .count();
    assert_eq!(admins, 1);
}

async fn own_password_and_sessions(env: Env) {
    let alice = env
        .store
        .chat_user_by_email(ALICE)
        .await
        .unwrap()
        .unwrap()
        .id;
    let (laptop, csrf) = session(&env, ALICE).await;
    let (phone, _) = session(&env, ALICE).await;
    let page = laptop
        .get(env.at(&format!("/w/{A}/settings")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let ids = attr_values(&page, "data-session-id");
    assert_eq!(ids.len(), 2, "both sessions listed");
    assert!(
        page.contains("this browser") && page.contains("127.0.0.1"),
        "{page}"
    );
    // Wrong current password: nothing changes.
    let r = laptop
        .post(env.at(&format!("/w/{A}/settings/password")))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("current", "wrong one"),
            ("new", "a new password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let page = laptop
        .get(env.at(&format!("/w/{A}/settings")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Your current password is not right"),
        "{page}"
    );
    assert_eq!(env.store.user_sessions(alice).await.unwrap().len(), 2);
    // Right: the phone is signed out, the laptop stays.
    let r = laptop
        .post(env.at(&format!("/w/{A}/settings/password")))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("current", PASSWORD),
            ("new", "a new password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let r = phone
        .get(env.at(&format!("/w/{A}/contacts")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "the other session ended");
    let r = laptop
        .get(env.at(&format!("/w/{A}/contacts")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Ending a session by its id from the list; another person's id is not found.
    let bob = env.store.chat_user_by_email(BOB).await.unwrap().unwrap().id;
    env.store
        .create_session(&format!("{:f>64}", 1), bob, now_ms() + DAY)
        .await
        .unwrap();
    let r = laptop
        .post(env.at(&format!("/w/{A}/settings/sessions/{}/end", "f".repeat(16))))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(env.store.user_sessions(bob).await.unwrap().len(), 1);
}

async fn live_streams_end_with_their_session(env: Env) {
    let mia = add(&env, MIA, "Mia Member", A, Role::Member).await;
    // Signing out ends the stream of that session.
    let (alice, csrf) = session(&env, ALICE).await;
    let open = open_stream(alice.clone(), env.at(&format!("/w/{A}/live"))).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = alice
        .post(env.at("/signout"))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let took = open
        .await
        .unwrap()
        .expect("the stream ended after sign-out");
    assert!(took < Duration::from_secs(5), "{took:?}");
    // Removing a member ends theirs.
    let (member, _) = session(&env, MIA).await;
    let open = open_stream(member, env.at(&format!("/w/{A}/live"))).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    team::remove(&env.store, A, Actor::Operator, mia)
        .await
        .unwrap();
    let took = open.await.unwrap().expect("the stream ended after removal");
    assert!(took < Duration::from_secs(5), "{took:?}");
    // A stream whose holder stays keeps going.
    let (bob, _) = session(&env, BOB).await;
    let r = bob
        .get(env.at(&format!("/w/{B}/live")))
        .send()
        .await
        .unwrap();
    let mut stream = r.bytes_stream();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    assert!(!stream_end(&mut stream, deadline).await, "still open");
}

/// Opens a live stream; the task answers how long it took to end (`None`: open after 10 s).
async fn open_stream(c: reqwest::Client, url: String) -> tokio::task::JoinHandle<Option<Duration>> {
    let r = c.get(url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let mut stream = r.bytes_stream();
    let started = tokio::time::Instant::now();
    let deadline = started + Duration::from_secs(10);
    tokio::spawn(async move {
        stream_end(&mut stream, deadline)
            .await
            .then(|| started.elapsed())
    })
}

/// Reads the stream until it ends (true) or `deadline` passes (false).
async fn stream_end<S, T, E>(stream: &mut S, deadline: tokio::time::Instant) -> bool
where
    S: futures::Stream<Item = Result<T, E>> + Unpin,
{
    loop {
        match tokio::time::timeout_at(deadline, stream.next()).await {
            Err(_) => return false,
            Ok(None) | Ok(Some(Err(_))) => return true,
            Ok(Some(Ok(_))) => {}
        }
    }
}

async fn viewers_see_no_action_forms(env: Env) {
    add(&env, VIC, "Vic Viewer", A, Role::Viewer).await;
    add(&env, MIA, "Mia Member", A, Role::Member).await;
    env.put(contact(A, "ca", "Pat", "Lee", &["vip"]), &[]).await;
    env.put(task(A, "ta", "ca", "Call", now_ms() + DAY, false), &[])
        .await;
    let pages = ["contacts/ca", "tasks", "feed", "alerts", "settings"];
    let forms = |page: &str| {
        let starts: Vec<&str> = page.split("<form").skip(1).collect();
        starts
            .iter()
            .filter(|f| f[..f.find('>').unwrap()].contains("method=\"post\""))
            .map(|f| {
                let a = f.find("action=\"").unwrap() + 8;
                f[a..a + f[a..].find('"').unwrap()].to_string()
            })
            .collect::<Vec<_>>()
    };
    for (email, acts) in [(VIC, false), (MIA, true)] {
        let (c, _) = session(&env, email).await;
        for p in pages {
            let page = c
                .get(env.at(&format!("/w/{A}/{p}")))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            let posts = forms(&page);
            // A viewer keeps signing out and their own account's forms; nothing that acts.
            let acting: Vec<&String> = posts
                .iter()
                .filter(|a| {
                    *a != "/signout"
                        && ![
                            "/settings/timezone",
                            "/settings/profile",
                            "/settings/password",
                            "/feed/mutes",
                        ]
                        .iter()
                        .any(|own| a.ends_with(own))
                })
                .collect();
            assert_eq!(!acting.is_empty(), acts, "{email} on {p}: {acting:?}");
        }
    }
}
