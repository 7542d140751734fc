//! Request parameters routes read the same way: the `locationId` of a query or a body,
//! checked against the token; whole numbers within bounds; HighLevel's free-text `query` over a
//! contact. A leaf of `api`, so that listing, search and the other routes share them without
//! importing one another.

use std::collections::HashMap;

use super::guard::Ctx;
use crate::body::Body;
use crate::error::{ApiError, ApiResult};
use crate::model::{Contact, Str};
use crate::world::normalize_phone;

/// Reads `locationId` from a query and checks it is the token's.
pub fn query_location(ctx: &Ctx, q: &HashMap<String, String>) -> ApiResult<()> {
    match q.get("locationId").filter(|l| !l.is_empty()) {
        Some(l) => ctx.check_location(l),
        None => Err(ApiError::unprocessable(vec![
            "locationId should not be empty".into(),
        ])),
    }
}

/// Reads `locationId` from a body and checks it is the token's.
pub fn body_location(ctx: &Ctx, b: &mut Body) -> ApiResult<()> {
    match b.str_req("locationId") {
        Some(l) => ctx.check_location(&l),
        None => Ok(()),
    }
}

/// A whole number from the query within [min, max], `default` when absent.
pub fn parse_num(
    q: &HashMap<String, String>,
    key: &str,
    default: usize,
    min: usize,
    max: usize,
) -> ApiResult<usize> {
    match q.get(key).filter(|s| !s.is_empty()) {
        None => Ok(default),
        Some(s) => s
            .parse::<usize>()
            .ok()
            .filter(|n| (min..=max).contains(n))
            .ok_or_else(|| {
                ApiError::unprocessable(vec![if max == usize::MAX {
                    format!("{key} must not be less than {min}")
                } else {
                    format!("{key} must be a number between {min} and {max}")
                }])
            }),
    }
}

/// Free-text match over name, email, phone and company, as HighLevel's `query`.
pub fn text_matches(c: &Contact, q: &str) -> bool {
    let q = q.trim();
    if q.is_empty() {
        return true;
    }
    let has = |v: &Option<Str>| v.as_ref().is_some_and(|s| s.to_lowercase().contains(q));
    // Only a query that looks like a phone number is matched against phones: the digits of
    // an email address ("ana12@…") would otherwise match half the location.
    let phone_like = q.chars().filter(char::is_ascii_digit).count() >= 3
        && q.chars()
            .all(|ch| ch.is_ascii_digit() || " +-().".contains(ch));
    has(&c.full_name().map(Str::from))
        || has(&c.email)
        || has(&c.company_name)
        || (phone_like
            && c.phone
                .as_ref()
                .is_some_and(|p| normalize_phone(p).contains(normalize_phone(q).as_str())))
}
