//! Fault injection: what goes wrong with HighLevel in real life, each with a rate in [0, 1],
//! switchable at start (`--faults SPEC`) and at runtime (`POST /_sandbox/faults`).

use rand::Rng;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct FaultSettings {
    /// A webhook is delivered twice (same body, same signature, same webhookId).
    pub duplicate: f64,
    /// A webhook is held back and released after later ones.
    pub reorder: f64,
    /// A webhook is never sent: only polling can find the change.
    pub drop: f64,
    /// A webhook is delivered after `delayMs`.
    pub delay: f64,
    pub delay_ms: u64,
    /// An API request fails with a 5xx.
    #[serde(rename = "api5xx")]
    pub api_5xx: f64,
    /// An API request hangs for `timeoutMs` before it is answered.
    pub api_timeout: f64,
    pub timeout_ms: u64,
    /// An API request is refused with 429 whatever its budget says.
    #[serde(rename = "storm429")]
    pub storm_429: f64,
    /// The access token of an API request is revoked after it is served.
    pub revoke: f64,
    /// A TaskCreate webhook is sent without its `contactId`, as HighLevel sometimes does.
    pub task_without_contact: f64,
    /// When non-empty, faults touch only these locations.
    pub locations: Vec<String>,
}

impl Default for FaultSettings {
    fn default() -> Self {
        FaultSettings {
            duplicate: 0.0,
            reorder: 0.0,
            drop: 0.0,
            delay: 0.0,
            delay_ms: 1000,
            api_5xx: 0.0,
            api_timeout: 0.0,
            timeout_ms: 30_000,
            storm_429: 0.0,
            revoke: 0.0,
            task_without_contact: 0.0,
            locations: Vec::new(),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FaultSpecError {
    #[error("fault spec item `{0}` is not NAME=VALUE (e.g. duplicate=0.2)")]
    NotAPair(String),
    #[error("unknown fault `{0}`; known: duplicate, reorder, drop, delay, delayMs, api5xx, apiTimeout, timeoutMs, storm429, revoke, taskWithoutContact, location")]
    Unknown(String),
    #[error("fault `{name}` needs a rate between 0 and 1, got `{value}`")]
    BadRate { name: String, value: String },
    #[error("fault `{name}` needs a whole number of milliseconds, got `{value}`")]
    BadMillis { name: String, value: String },
}

impl FaultSettings {
    /// Parses `duplicate=0.2,reorder=0.2,drop=0.1,api5xx=0.05,location=ID`.
    pub fn parse(spec: &str) -> Result<FaultSettings, FaultSpecError> {
        let mut f = FaultSettings::default();
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (name, value) = item
                .split_once('=')
                .ok_or_else(|| FaultSpecError::NotAPair(item.to_string()))?;
            f.set(name.trim(), value.trim())?;
        }
        Ok(f)
    }

    fn set(&mut self, name: &str, value: &str) -> Result<(), FaultSpecError> {
        let rate = || -> Result<f64, FaultSpecError> {
            value
                .parse::<f64>()
                .ok()
                .filter(|r| (0.0..=1.0).contains(r))
                .ok_or(FaultSpecError::BadRate {
                    name: name.to_string(),
                    value: value.to_string(),
                })
        };
        let millis = || -> Result<u64, FaultSpecError> {
            value.parse::<u64>().map_err(|_| FaultSpecError::BadMillis {
                name: name.to_string(),
                value: value.to_string(),
            })
        };
        match name {
            "duplicate" => self.duplicate = rate()?,
            "reorder" => self.reorder = rate()?,
            "drop" => self.drop = rate()?,
            "delay" => self.delay = rate()?,
            "delayMs" | "delay_ms" => self.delay_ms = millis()?,
            "api5xx" | "api_5xx" => self.api_5xx = rate()?,
            "apiTimeout" | "api_timeout" => self.api_timeout = rate()?,
            "timeoutMs" | "timeout_ms" => self.timeout_ms = millis()?,
            "storm429" | "storm_429" => self.storm_429 = rate()?,
            "revoke" => self.revoke = rate()?,
            "taskWithoutContact" | "task_without_contact" => self.task_without_contact = rate()?,
            "location" => self.locations.push(value.to_string()),
            _ => return Err(FaultSpecError::Unknown(name.to_string())),
        }
        Ok(())
    }

    /// Checks rates after a JSON update (serde cannot bound a float).
    pub fn validate(&self) -> Result<(), FaultSpecError> {
        for (name, r) in [
            ("duplicate", self.duplicate),
            ("reorder", self.reorder),
            ("drop", self.drop),
            ("delay", self.delay),
            ("api5xx", self.api_5xx),
            ("apiTimeout", self.api_timeout),
            ("storm429", self.storm_429),
            ("revoke", self.revoke),
            ("taskWithoutContact", self.task_without_contact),
        ] {
            if !(0.0..=1.0).contains(&r) {
                return Err(FaultSpecError::BadRate {
                    name: name.into(),
                    value: r.to_string(),
                });
            }
        }
        Ok(())
    }

    pub fn applies_to(&self, location_id: &str) -> bool {
        self.locations.is_empty() || self.locations.iter().any(|l| l == location_id)
    }

    /// Draws whether a fault of rate `rate` happens now.
    pub fn roll(rate: f64) -> bool {
        rate > 0.0 && rand::thread_rng().gen_bool(rate.min(1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_spec_and_refuses_bad_items() {
        let f = FaultSettings::parse("duplicate=0.2, drop=0.1,api5xx=0.05,location=abc").unwrap();
        assert_eq!(f.duplicate, 0.2);
        assert_eq!(f.drop, 0.1);
        assert_eq!(f.api_5xx, 0.05);
        assert_eq!(f.locations, vec!["abc".to_string()]);
        assert_eq!(
            FaultSettings::parse("duplicate=2"),
            Err(FaultSpecError::BadRate {
                name: "duplicate".into(),
                value: "2".into()
            })
        );
        assert_eq!(
            FaultSettings::parse("explode=0.1"),
            Err(FaultSpecError::Unknown("explode".into()))
        );
        assert_eq!(
            FaultSettings::parse("drop"),
            Err(FaultSpecError::NotAPair("drop".into()))
        );
    }
}
