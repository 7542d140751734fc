//! Request bodies, read the way HighLevel's NestJS validators read them: malformed JSON is a
//! 400, and every field that is missing or of the wrong type is named in one 422.

use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};
use crate::model::Str;
use crate::time::{self, Millis};

/// A field of a partial update: left out, explicitly `null`, or given.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Patch<T> {
    #[default]
    Absent,
    Null,
    Set(T),
}

impl<T> Patch<T> {
    /// Applies the patch to an optional field.
    pub fn apply(self, slot: &mut Option<T>) -> bool
    where
        T: PartialEq,
    {
        match self {
            Patch::Absent => false,
            Patch::Null => slot.take().is_some(),
            Patch::Set(v) => {
                let changed = slot.as_ref() != Some(&v);
                *slot = Some(v);
                changed
            }
        }
    }
}

pub struct Body {
    map: Map<String, Value>,
    errors: Vec<String>,
}

impl Body {
    /// Parses a JSON object; an empty body reads as `{}`.
    pub fn parse(bytes: &[u8]) -> ApiResult<Body> {
        if bytes.iter().all(|b| b.is_ascii_whitespace()) {
            return Ok(Body::from_map(Map::new()));
        }
        match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(map)) => Ok(Body::from_map(map)),
            Ok(_) => Err(ApiError::bad_request("Request body must be a JSON object")),
            Err(e) => Err(ApiError::bad_request(format!(
                "Malformed JSON in request body: {e}"
            ))),
        }
    }

    pub fn from_map(map: Map<String, Value>) -> Body {
        Body {
            map,
            errors: Vec::new(),
        }
    }

    pub fn raw(&self, key: &str) -> Option<&Value> {
        self.map.get(key)
    }

    pub fn has(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    pub fn error(&mut self, message: String) {
        self.errors.push(message);
    }

    pub fn str_req(&mut self, key: &str) -> Option<Str> {
        match self.map.get(key) {
            None | Some(Value::Null) => {
                self.errors.push(format!("{key} should not be empty"));
                None
            }
            Some(Value::String(s)) if s.trim().is_empty() => {
                self.errors.push(format!("{key} should not be empty"));
                None
            }
            Some(Value::String(s)) => Some(s.as_str().into()),
            Some(_) => {
                self.errors.push(format!("{key} must be a string"));
                None
            }
        }
    }

    pub fn str_opt(&mut self, key: &str) -> Option<Str> {
        match self.str_patch(key) {
            Patch::Set(s) => Some(s),
            _ => None,
        }
    }

    pub fn str_patch(&mut self, key: &str) -> Patch<Str> {
        match self.map.get(key) {
            None => Patch::Absent,
            Some(Value::Null) => Patch::Null,
            Some(Value::String(s)) => Patch::Set(s.as_str().into()),
            Some(_) => {
                self.errors.push(format!("{key} must be a string"));
                Patch::Absent
            }
        }
    }

    pub fn bool_req(&mut self, key: &str) -> Option<bool> {
        match self.map.get(key) {
            Some(Value::Bool(b)) => Some(*b),
            None | Some(Value::Null) => {
                self.errors.push(format!("{key} should not be empty"));
                self.errors.push(format!("{key} must be a boolean value"));
                None
            }
            Some(_) => {
                self.errors.push(format!("{key} must be a boolean value"));
                None
            }
        }
    }

    pub fn bool_opt(&mut self, key: &str) -> Option<bool> {
        match self.map.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                self.errors.push(format!("{key} must be a boolean value"));
                None
            }
        }
    }

    pub fn strings_req(&mut self, key: &str) -> Option<Vec<Str>> {
        if !self.has(key) || self.map.get(key) == Some(&Value::Null) {
            self.errors.push(format!("{key} should not be empty"));
            self.errors.push(format!("{key} must be an array"));
            return None;
        }
        self.strings_opt(key)
    }

    pub fn strings_opt(&mut self, key: &str) -> Option<Vec<Str>> {
        match self.map.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Array(items)) => {
                let out: Option<Vec<Str>> =
                    items.iter().map(|v| v.as_str().map(Str::from)).collect();
                if out.is_none() {
                    self.errors
                        .push(format!("each value in {key} must be a string"));
                }
                out
            }
            Some(_) => {
                self.errors.push(format!("{key} must be an array"));
                None
            }
        }
    }

    /// A whole number from `min` to `max`, as a NestJS `@IsNumber() @Min() @Max()` reads it.
    pub fn int_opt(&mut self, key: &str, min: i64, max: i64) -> Option<i64> {
        let v = match self.map.get(key) {
            None | Some(Value::Null) => return None,
            Some(Value::Number(n)) => n.as_i64(),
            Some(_) => None,
        };
        match v {
            None => {
                self.errors.push(format!(
                    "{key} must be a number conforming to the specified constraints"
                ));
                None
            }
            Some(v) if v < min => {
                self.errors
                    .push(format!("{key} must not be less than {min}"));
                None
            }
            Some(v) if v > max => {
                self.errors
                    .push(format!("{key} must not be greater than {max}"));
                None
            }
            Some(v) => Some(v),
        }
    }

    pub fn date_req(&mut self, key: &str) -> Option<Millis> {
        if !self.has(key) || self.map.get(key) == Some(&Value::Null) {
            self.errors.push(format!("{key} should not be empty"));
            return None;
        }
        self.date_opt(key)
    }

    /// A date as an ISO 8601 string or epoch milliseconds. Only dates a calendar can hold
    /// (chrono's range, about ±262,000 years) are accepted, so date arithmetic (an
    /// appointment's default end, a moved appointment's length) cannot overflow.
    pub fn date_opt(&mut self, key: &str) -> Option<Millis> {
        let t = match self.map.get(key) {
            None | Some(Value::Null) => return None,
            Some(Value::String(s)) => time::parse(s),
            Some(Value::Number(n)) => n.as_i64(),
            Some(_) => None,
        };
        match t.filter(|&t| chrono::DateTime::from_timestamp_millis(t).is_some()) {
            Some(t) => Some(t),
            None => {
                self.errors
                    .push(format!("{key} must be a valid ISO 8601 date string"));
                None
            }
        }
    }

    pub fn max_len(&mut self, key: &str, value: &Option<Str>, max: usize) {
        if value.as_ref().is_some_and(|v| v.chars().count() > max) {
            self.errors.push(format!(
                "{key} must be shorter than or equal to {max} characters"
            ));
        }
    }

    pub fn one_of(&mut self, key: &str, value: &Option<Str>, allowed: &[&str]) {
        if let Some(v) = value {
            if !allowed.contains(&v.as_str()) {
                self.errors.push(format!(
                    "{key} must be one of the following values: {}",
                    allowed.join(", ")
                ));
            }
        }
    }

    /// Ends validation: a 422 naming every problem found, or the fields.
    pub fn finish(self) -> ApiResult<Map<String, Value>> {
        if self.errors.is_empty() {
            Ok(self.map)
        } else {
            Err(ApiError::unprocessable(self.errors))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_every_missing_and_mistyped_field() {
        let mut b = Body::parse(br#"{"title": 5, "completed": "yes"}"#).unwrap();
        b.str_req("title");
        b.date_req("dueDate");
        b.bool_req("completed");
        let err = b.finish().unwrap_err();
        assert_eq!(err.status.as_u16(), 422);
        assert_eq!(
            err.message,
            crate::error::Message::Many(vec![
                "title must be a string".into(),
                "dueDate should not be empty".into(),
                "completed must be a boolean value".into(),
            ])
        );
    }

    #[test]
    fn malformed_json_is_a_400() {
        let err = Body::parse(b"{\"a\":").err().unwrap();
        assert_eq!(err.status.as_u16(), 400);
        let err = Body::parse(b"[1,2]").err().unwrap();
        assert_eq!(err.status.as_u16(), 400);
    }
}
