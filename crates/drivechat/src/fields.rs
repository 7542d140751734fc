//! A contact's custom fields and do-not-disturb settings, read from the contact as HighLevel
//! sent it (`customFields: [{id, value}]`, `dnd`, `dndSettings`) and typed by the location's
//! custom field definitions (`store::context`). Shared by the contact page and the API, so
//! both show the same labels and values.
//!
//! A value is typed by its definition's `dataType`: numbers stay numbers, dates become dates,
//! checkboxes and multiple options lists. A field whose definition is unknown (the token
//! lacks `locations/customFields.readonly`, or the field was added since the last refresh),
//! or whose value does not fit its type, keeps its id as label and its value as sent.

use chrono::{DateTime, NaiveDate};
use serde_json::{Number, Value};
use store::{CustomFieldDef, LocationContext};

/// How a calendar date (a date field's value) is written: the date part of the one format
/// every instant is written in (`zone::when`), without a time or zone since it has neither.
const DATE_FORMAT: &str = "%a %-d %b %Y";

/// A custom field's value, typed.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum FieldValue {
    Text(String),
    /// As HighLevel sent it (integers stay integers).
    Number(Number),
    /// A calendar date: date fields have no time and no zone.
    Date(NaiveDate),
    /// Checkbox, multiple options, text list, files: each entry's label.
    List(Vec<String>),
    /// The value as sent, when its definition is unknown or it does not fit its type.
    Raw(Value),
}

impl FieldValue {
    /// What the API calls the value's type: `text`, `number`, `date`, `list` or `raw`.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            FieldValue::Text(_) => "text",
            FieldValue::Number(_) => "number",
            FieldValue::Date(_) => "date",
            FieldValue::List(_) => "list",
            FieldValue::Raw(_) => "raw",
        }
    }

    /// The value as JSON: a string, a number, a `YYYY-MM-DD` string, a list of strings, or
    /// the value as HighLevel sent it.
    pub(crate) fn to_json(&self) -> Value {
        match self {
            FieldValue::Text(s) => Value::String(s.clone()),
            FieldValue::Number(n) => Value::Number(n.clone()),
            FieldValue::Date(d) => Value::String(d.format("%Y-%m-%d").to_string()),
            FieldValue::List(items) => Value::from(items.clone()),
            FieldValue::Raw(v) => v.clone(),
        }
    }

    /// The value as a page shows it (lists joined with ", ").
    pub(crate) fn display(&self, data_type: Option<&str>) -> String {
        match self {
            FieldValue::Text(s) => s.clone(),
            FieldValue::Number(n) => number_text(n, data_type.is_some_and(is_money)),
            FieldValue::Date(d) => d.format(DATE_FORMAT).to_string(),
            FieldValue::List(items) => items.join(", "),
            FieldValue::Raw(Value::String(s)) => s.clone(),
            FieldValue::Raw(v) => v.to_string(),
        }
    }
}

/// One custom field of a contact, labelled and typed.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct CustomFieldView {
    pub(crate) id: String,
    /// The definition's name, or the id when the definition is unknown.
    pub(crate) label: String,
    pub(crate) field_key: Option<String>,
    /// HighLevel's `dataType`, when the definition is known.
    pub(crate) data_type: Option<String>,
    pub(crate) value: FieldValue,
}

impl CustomFieldView {
    pub(crate) fn display(&self) -> String {
        self.value.display(self.data_type.as_deref())
    }
}

/// The contact's custom fields that hold a value: those with a known definition first, in
/// the location's order of definitions, then unknown ones in the contact's order.
pub(crate) fn custom_fields(context: &LocationContext, contact: &Value) -> Vec<CustomFieldView> {
    let Some(entries) = contact.get("customFields").and_then(Value::as_array) else {
        return Vec::new();
    };
    let mut known: Vec<(usize, CustomFieldView)> = Vec::new();
    let mut unknown: Vec<CustomFieldView> = Vec::new();
    for entry in entries {
        let Some(id) = entry
            .get("id")
            .and_then(Value::as_str)
            .filter(|i| !i.is_empty())
        else {
            continue;
        };
        // HighLevel writes `value`; some of its answers (and its write bodies) say
        // `field_value`.
        let raw = entry
            .get("value")
            .or_else(|| entry.get("field_value"))
            .unwrap_or(&Value::Null);
        if is_empty(raw) {
            continue;
        }
        match context
            .custom_fields
            .iter()
            .position(|d| d.id == id)
            .map(|i| (i, &context.custom_fields[i]))
        {
            Some((position, def)) => known.push((
                position,
                CustomFieldView {
                    id: id.to_string(),
                    label: if def.name.trim().is_empty() {
                        id.to_string()
                    } else {
                        def.name.clone()
                    },
                    field_key: def.field_key.clone(),
                    data_type: Some(def.data_type.clone()),
                    value: typed(def, raw),
                },
            )),
            None => unknown.push(CustomFieldView {
                id: id.to_string(),
                label: id.to_string(),
                field_key: None,
                data_type: None,
                value: FieldValue::Raw(raw.clone()),
            }),
        }
    }
    known.sort_by_key(|(position, _)| *position);
    known.into_iter().map(|(_, f)| f).chain(unknown).collect()
}

/// `raw` typed by `def`'s data type; [`FieldValue::Raw`] when it does not fit.
fn typed(def: &CustomFieldDef, raw: &Value) -> FieldValue {
    let data_type = def.data_type.trim().to_ascii_uppercase();
    let fitted = match data_type.as_str() {
        "NUMERICAL" | "MONETORY" | "MONETARY" | "NUMBER" => number(raw).map(FieldValue::Number),
        "DATE" => date(raw).map(FieldValue::Date),
        "CHECKBOX" | "MULTIPLE_OPTIONS" | "TEXTBOX_LIST" => {
            list(raw).map(|items| FieldValue::List(option_labels(def, items)))
        }
        "SINGLE_OPTIONS" | "RADIO" => text(raw).map(|t| FieldValue::Text(option_label(def, t))),
        "FILE_UPLOAD" => files(raw).map(FieldValue::List),
        // TEXT, LARGE_TEXT, PHONE, EMAIL and anything newer: text when it is text.
        _ => text(raw).map(FieldValue::Text),
    };
    fitted.unwrap_or_else(|| FieldValue::Raw(raw.clone()))
}

fn is_money(data_type: &str) -> bool {
    matches!(
        data_type.trim().to_ascii_uppercase().as_str(),
        "MONETORY" | "MONETARY"
    )
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A number, or a string holding one (forms send numbers as text).
fn number(v: &Value) -> Option<Number> {
    match v {
        Value::Number(n) => Some(n.clone()),
        Value::String(s) => {
            let s = s.trim().replace(',', "");
            if let Ok(i) = s.parse::<i64>() {
                return Some(Number::from(i));
            }
            s.parse::<f64>().ok().and_then(Number::from_f64)
        }
        _ => None,
    }
}

/// A date field's value: `YYYY-MM-DD`, an RFC 3339 time (its UTC date: HighLevel keeps
/// dates as midnight UTC), or Unix milliseconds (as a number or a string of digits).
fn date(v: &Value) -> Option<NaiveDate> {
    let from_ms = |ms: i64| DateTime::from_timestamp_millis(ms).map(|t| t.date_naive());
    match v {
        Value::Number(n) => n.as_i64().and_then(from_ms),
        Value::String(s) => {
            let s = s.trim();
            if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
                return Some(d);
            }
            if let Ok(t) = DateTime::parse_from_rfc3339(s) {
                return Some(t.naive_utc().date());
            }
            if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
                return s.parse().ok().and_then(from_ms);
            }
            None
        }
        _ => None,
    }
}

/// A calendar date HighLevel sent (e.g. a contact's `dateOfBirth`) as a page writes dates,
/// or `None` when it is not one of the shapes [`date`] reads.
pub(crate) fn calendar_date(v: &Value) -> Option<String> {
    date(v).map(|d| d.format(DATE_FORMAT).to_string())
}

/// A list of labels: an array of strings or numbers, or one string standing alone.
fn list(v: &Value) -> Option<Vec<String>> {
    match v {
        Value::Array(items) => items.iter().map(text).collect(),
        Value::String(s) => Some(vec![s.clone()]),
        _ => None,
    }
}

/// A file field: HighLevel keeps `{<uuid>: {url, meta: {originalname}}}` (or a list of
/// such objects); each file is shown by its original name, else its URL.
fn files(v: &Value) -> Option<Vec<String>> {
    let entries: Vec<&Value> = match v {
        Value::Object(map) => map.values().collect(),
        Value::Array(items) => items.iter().collect(),
        Value::String(s) => return Some(vec![s.clone()]),
        _ => return None,
    };
    entries
        .into_iter()
        .map(|f| {
            f.pointer("/meta/originalname")
                .or_else(|| f.get("url"))
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .collect()
}

/// The option as the definition spells it (values may differ in case from the label).
fn option_label(def: &CustomFieldDef, value: String) -> String {
    def.options
        .iter()
        .find(|o| o.eq_ignore_ascii_case(value.trim()))
        .cloned()
        .unwrap_or(value)
}

fn option_labels(def: &CustomFieldDef, values: Vec<String>) -> Vec<String> {
    values.into_iter().map(|v| option_label(def, v)).collect()
}

/// "1234", "12.5"; money with two decimals ("1234.50").
fn number_text(n: &Number, money: bool) -> String {
    match (money, n.as_f64()) {
        (true, Some(f)) => format!("{f:.2}"),
        _ => n.to_string(),
    }
}

/// The contact's do-not-disturb state: everything (`dnd`), and per channel (`dndSettings`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Dnd {
    /// Do not disturb on every channel.
    pub(crate) all: bool,
    /// The channels HighLevel has a setting for, in HighLevel's order (Call, Email, SMS,
    /// WhatsApp, GMB, FB), then any other by name.
    pub(crate) channels: Vec<ChannelDnd>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ChannelDnd {
    /// HighLevel's channel key: Call, Email, SMS, WhatsApp, GMB, FB.
    pub(crate) channel: String,
    /// active (do not disturb on this channel), inactive, or permanent.
    pub(crate) status: String,
    pub(crate) message: Option<String>,
    pub(crate) code: Option<String>,
}

impl ChannelDnd {
    /// Whether the channel must not be used.
    pub(crate) fn blocked(&self) -> bool {
        matches!(self.status.as_str(), "active" | "permanent")
    }

    /// The channel as people say it.
    pub(crate) fn label(&self) -> &str {
        CHANNELS
            .iter()
            .find(|(key, _)| *key == self.channel)
            .map_or(self.channel.as_str(), |(_, label)| label)
    }
}

impl Dnd {
    /// Whether anything blocks a channel.
    pub(crate) fn any(&self) -> bool {
        self.all || self.channels.iter().any(ChannelDnd::blocked)
    }
}

/// HighLevel's DND channel keys, in its order, with their names.
const CHANNELS: &[(&str, &str)] = &[
    ("Call", "Calls"),
    ("Email", "Email"),
    ("SMS", "SMS"),
    ("WhatsApp", "WhatsApp"),
    ("GMB", "Google Business"),
    ("FB", "Facebook"),
];

pub(crate) fn dnd(contact: &Value) -> Dnd {
    let all = contact.get("dnd").and_then(Value::as_bool).unwrap_or(false);
    let mut channels: Vec<ChannelDnd> = contact
        .get("dndSettings")
        .and_then(Value::as_object)
        .map(|settings| {
            settings
                .iter()
                .filter_map(|(channel, s)| {
                    let status = s.get("status").and_then(Value::as_str)?;
                    let opt = |k: &str| {
                        s.get(k)
                            .and_then(Value::as_str)
                            .map(str::trim)
                            .filter(|v| !v.is_empty())
                            .map(str::to_string)
                    };
                    Some(ChannelDnd {
                        channel: channel.clone(),
                        status: status.to_string(),
                        message: opt("message"),
                        code: opt("code"),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let rank = |c: &ChannelDnd| {
        CHANNELS
            .iter()
            .position(|(key, _)| *key == c.channel)
            .unwrap_or(CHANNELS.len())
    };
    channels.sort_by(|a, b| {
        rank(a)
            .cmp(&rank(b))
            .then_with(|| a.channel.cmp(&b.channel))
    });
    Dnd { all, channels }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn def(id: &str, name: &str, data_type: &str, options: &[&str]) -> CustomFieldDef {
        CustomFieldDef {
            id: id.into(),
            name: name.into(),
            field_key: None,
            data_type: data_type.into(),
            options: options.iter().map(|o| o.to_string()).collect(),
        }
    }

    fn context() -> LocationContext {
        LocationContext {
            custom_fields: vec![
                def("plan", "Plan", "SINGLE_OPTIONS", &["Gold", "Silver"]),
                def("ltv", "Lifetime value", "MONETORY", &[]),
                def("visits", "Visits", "NUMERICAL", &[]),
                def("renew", "Renewal date", "DATE", &[]),
                def("ok", "Consents", "CHECKBOX", &["Email", "SMS"]),
                def("docs", "Documents", "FILE_UPLOAD", &[]),
            ],
            ..LocationContext::default()
        }
    }

    #[test]
    fn values_are_typed_by_their_definition() {
        let contact = json!({ "customFields": [
            { "id": "zzz", "value": {"odd": 1} },
            { "id": "renew", "value": "2026-03-10" },
            { "id": "visits", "value": "12" },
            { "id": "ltv", "value": 1234.5 },
            { "id": "plan", "value": "gold" },
            { "id": "ok", "value": ["sms", "Email"] },
            { "id": "docs", "value": {"u1": {"url": "https://x/a.pdf", "meta": {"originalname": "a.pdf"}}} },
            { "id": "empty", "value": "" },
        ]});
        let fields = custom_fields(&context(), &contact);
        let shown: Vec<(&str, &str, String)> = fields
            .iter()
            .map(|f| (f.label.as_str(), f.value.kind(), f.display()))
            .collect();
        assert_eq!(
            shown,
            vec![
                ("Plan", "text", "Gold".to_string()),
                ("Lifetime value", "number", "1234.50".to_string()),
                ("Visits", "number", "12".to_string()),
                ("Renewal date", "date", "Tue 10 Mar 2026".to_string()),
                ("Consents", "list", "SMS, Email".to_string()),
                ("Documents", "list", "a.pdf".to_string()),
                ("zzz", "raw", r#"{"odd":1}"#.to_string()),
            ]
        );
        assert_eq!(fields[2].value.to_json(), json!(12));
        assert_eq!(fields[3].value.to_json(), json!("2026-03-10"));
        assert!(fields[6].data_type.is_none(), "unknown definition");
    }

    #[test]
    fn dates_come_in_several_shapes_and_misfits_stay_raw() {
        let d = |v: Value| date(&v);
        let tenth = NaiveDate::from_ymd_opt(2026, 3, 10);
        assert_eq!(d(json!("2026-03-10T00:00:00.000Z")), tenth);
        assert_eq!(d(json!(1_773_100_800_000_i64)), tenth);
        assert_eq!(d(json!("1773100800000")), tenth);
        assert_eq!(d(json!("next week")), None);
        let f = def("n", "N", "NUMERICAL", &[]);
        assert_eq!(typed(&f, &json!("lots")), FieldValue::Raw(json!("lots")));
    }

    #[test]
    fn without_definitions_fields_keep_id_and_value() {
        let contact = json!({ "customFields": [{ "id": "renew", "value": "2026-03-10" }] });
        let fields = custom_fields(&LocationContext::default(), &contact);
        assert_eq!(fields.len(), 1);
        assert_eq!(fields[0].label, "renew");
        assert_eq!(fields[0].value, FieldValue::Raw(json!("2026-03-10")));
        assert!(custom_fields(&context(), &json!({})).is_empty());
    }

    #[test]
    fn dnd_reads_all_and_each_channel() {
        let contact = json!({
            "dnd": false,
            "dndSettings": {
                "SMS": { "status": "active", "message": "asked", "code": "" },
                "Call": { "status": "inactive" },
                "Zap": { "status": "permanent" },
                "Email": { "message": "no status" }
            }
        });
        let d = dnd(&contact);
        assert!(!d.all);
        assert!(d.any());
        let got: Vec<(&str, bool, Option<&str>)> = d
            .channels
            .iter()
            .map(|c| (c.label(), c.blocked(), c.message.as_deref()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("Calls", false, None),
                ("SMS", true, Some("asked")),
                ("Zap", true, None)
            ]
        );
        assert!(d.channels[1].code.is_none());
        assert_eq!(
            dnd(&json!({"dnd": true})),
            Dnd {
                all: true,
                channels: vec![]
            }
        );
        assert!(!dnd(&json!({})).any());
    }
}
