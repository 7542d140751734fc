//! HighLevel (GHL) for drivesync: typed models of contacts, tasks, notes, appointments,
//! the location's profile, users, custom fields and calendars, and webhook events; a client
//! with a method for every Contacts API operation, the appointment operations and the
//! location-wide reads (task search, calendars, users, custom fields); per-location rate
//! limiting with priorities; OAuth with rotating refresh tokens.
//! No storage: tokens come through [`token::TokenProvider`] and [`token::TokenRepository`].

pub mod api;
pub mod client;
pub mod error;
mod http;
pub mod models;
pub mod oauth;
pub mod operations;
pub mod ratelimit;
pub mod scopes;
pub mod token;
pub mod webhook;

pub use client::{with_write_receipts, ClientConfig, GhlClient, WriteReceipt};
pub use error::{GhlError, Result};
pub use http::API_VERSION;
pub use oauth::{OAuthApp, TokenResponse, UserType};
pub use scopes::{missing_scopes, DEFAULT_SCOPES};
pub use token::{AccessToken, OAuthTokens, StaticTokens, TokenProvider, TokenRepository};
