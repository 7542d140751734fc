//! Who may call which route: the one place roles are checked.
//!
//! Every route, web and API, is added through [`Routes`], which makes it name its [`Access`]
//! and wraps its handler in the guard that enforces it. The guard is also the only source of
//! the identity handlers act on ([`crate::session::SignedIn`], [`crate::api::ApiMember`]):
//! a handler behind no guard cannot find out who is asking and fails closed. The declared
//! table is public ([`crate::DriveChat::access_rules`]) so a test walks every real route with
//! every role.
//!
//! The rules (team changes have theirs in `crate::team`):
//! - a viewer reads; a member also acts (tasks, notes, tags, messages, their own API tokens);
//!   an admin also manages the workspace (members, invitations, others' tokens, settings);
//! - everyone, viewers included, manages their own account (name, password, time zone, own
//!   sessions and tokens): securing an account is never refused;
//! - not a member of the workspace reads as 404, exactly like a workspace that does not
//!   exist; signed out is a redirect to sign in (web) or 401 (API); a role too low is 403
//!   with a sentence saying what the role allows and whom to ask.

use axum::extract::{Request, State};
use axum::handler::Handler;
use axum::http::Method;
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{self, MethodRouter};
use axum::Router;
use store::{Role, Workspace};

use crate::{Error, Shared};

/// What a route needs of the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone (sign-in, invitations, assets, the API's description).
    Public,
    /// Any signed-in person, whatever their workspaces (sign-out).
    SignedIn,
    /// A member of the route's workspace with at least this role.
    Role(Role),
}

/// One route as declared: method, path pattern (axum syntax) and what it needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Declared {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
}

/// Which guard a table of routes is behind.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Surface {
    /// Session cookie; the workspace is the `{ws}` in the path.
    Web,
    /// Bearer API token; the workspace is the token's.
    Api,
}

#[derive(Clone)]
struct Guard {
    app: Shared,
    access: Access,
    surface: Surface,
}

/// A router under construction that records what each route needs.
pub(crate) struct Routes {
    app: Shared,
    surface: Surface,
    router: Router<Shared>,
    declared: Vec<Declared>,
}

impl Routes {
    pub(crate) fn new(app: Shared, surface: Surface) -> Routes {
        Routes {
            app,
            surface,
            router: Router::new(),
            declared: Vec::new(),
        }
    }

    pub(crate) fn get<H, T>(self, path: &'static str, access: Access, handler: H) -> Routes
    where
        H: Handler<T, Shared>,
        T: 'static,
    {
        self.add(Method::GET, path, access, routing::get(handler))
    }

    pub(crate) fn post<H, T>(self, path: &'static str, access: Access, handler: H) -> Routes
    where
        H: Handler<T, Shared>,
        T: 'static,
    {
        self.add(Method::POST, path, access, routing::post(handler))
    }

    fn add(
        mut self,
        method: Method,
        path: &'static str,
        access: Access,
        route: MethodRouter<Shared>,
    ) -> Routes {
        let guard = Guard {
            app: self.app.clone(),
            access,
            surface: self.surface,
        };
        self.router = self
            .router
            .route(path, route.route_layer(from_fn_with_state(guard, guarded)));
        self.declared.push(Declared {
            method,
            path,
            access,
        });
        self
    }

    /// A layer around every route (after the guards).
    pub(crate) fn layer(mut self, f: impl FnOnce(Router<Shared>) -> Router<Shared>) -> Routes {
        self.router = f(self.router);
        self
    }

    pub(crate) fn finish(self) -> (Router<Shared>, Vec<Declared>) {
        (self.router, self.declared)
    }
}

async fn guarded(State(g): State<Guard>, req: Request, next: Next) -> Response {
    let checked = match g.surface {
        Surface::Web => crate::session::guard(&g.app, g.access, req).await,
        Surface::Api => crate::api::guard(&g.app, g.access, req).await,
    };
    match checked {
        Ok(req) => next.run(req).await,
        Err(refused) => refused,
    }
}

/// The refusal for a member whose `role` in `ws` is below `needed`: what the role allows,
/// and whom to ask. `None` when the role suffices.
pub(crate) fn refusal(ws: &Workspace, role: Role, needed: Role) -> Option<Error> {
    if role.allows(needed) {
        return None;
    }
    let name = &ws.name;
    let message = match needed {
        Role::Admin => format!(
            "Only admins of {name} can do this (members, invitations, other people's API \
             tokens, the dashboard, the audit trail and workspace settings); you are a {role} \
             there. Ask an admin of {name}."
        ),
        Role::Member | Role::Viewer => format!(
            "You are a viewer in {name}: you can read everything but change nothing. Ask an \
             admin of {name} to make you a member."
        ),
    };
    Some(Error::Forbidden(message))
}

/// Turns a guard's refusal into the response of its surface.
pub(crate) fn refuse(e: Error, surface: Surface) -> Response {
    match surface {
        Surface::Web => e.into_response(),
        Surface::Api => crate::ApiError(e).into_response(),
    }
}
