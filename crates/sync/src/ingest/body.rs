//! Reading a request body with a hard cap: never more than `max` bytes are buffered, however
//! much the client sends or claims to send.

use axum::body::Body;
use axum::http::{header, HeaderMap};
use bytes::{Bytes, BytesMut};
use futures::StreamExt as _;

use super::refusal::Refusal;

pub async fn read_limited(headers: &HeaderMap, body: Body, max: usize) -> Result<Bytes, Refusal> {
    // A declared length over the cap is refused before a byte is read.
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(Refusal::BodyTooLarge);
    }
    let mut buf = BytesMut::with_capacity(declared.map_or(0, |n| n as usize).min(max));
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| Refusal::BodyUnreadable)?;
        if buf.len() + chunk.len() > max {
            return Err(Refusal::BodyTooLarge);
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}
