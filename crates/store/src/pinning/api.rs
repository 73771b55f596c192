//! The wire types of the IPFS Pinning Service API v0.1.1: what a client sends and a service answers.
//!
//! Field names and JSON shapes follow the specification exactly (lower-case `requestid`, RFC 3339 times,
//! `status` as one of four words), so any compliant service or client understands them.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The longest pin name the API accepts, in characters.
pub const MAX_NAME_LEN: usize = 255;
/// The most origins or delegates a pin request or status may carry.
pub const MAX_ADDRS: usize = 20;
/// The most CIDs one `GET /pins?cid=` filter may list.
pub const MAX_CID_FILTER: usize = 10;
/// The largest page `GET /pins?limit=` may ask for.
pub const MAX_LIMIT: usize = 1000;
/// The page size when `limit` is not given.
pub const DEFAULT_LIMIT: usize = 10;

/// What a client asks a service to pin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pin {
    /// The CID to pin, as text (CIDv0 or CIDv1).
    pub cid: String,
    /// An optional name for the pin (at most 255 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Multiaddrs of peers known to hold the data, as hints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origins: Option<Vec<String>>,
    /// Free-form string metadata attached to the pin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<BTreeMap<String, String>>,
}

impl Pin {
    /// A pin request for `cid` with no name, origins or metadata.
    pub fn new(cid: impl Into<String>) -> Self {
        Self {
            cid: cid.into(),
            name: None,
            origins: None,
            meta: None,
        }
    }

    /// Sets the pin's name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Adds a metadata entry.
    pub fn with_meta(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.meta
            .get_or_insert_with(BTreeMap::new)
            .insert(key.into(), value.into());
        self
    }
}

/// Where a pin request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Accepted, waiting to be worked on.
    Queued,
    /// Being fetched.
    Pinning,
    /// All blocks are held and kept.
    Pinned,
    /// Could not be pinned; `info` may say why.
    Failed,
}

impl Status {
    /// All four statuses, in lifecycle order.
    pub const ALL: [Status; 4] = [
        Status::Queued,
        Status::Pinning,
        Status::Pinned,
        Status::Failed,
    ];

    /// The word the API uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Pinning => "pinning",
            Status::Pinned => "pinned",
            Status::Failed => "failed",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Status::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| {
                format!("unknown pin status {s:?}: expected queued, pinning, pinned or failed")
            })
    }
}

/// A service's answer about one pin request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinStatus {
    /// The service's id for this request; use it to get, replace or delete it.
    pub requestid: String,
    /// Where the request stands.
    pub status: Status,
    /// When the request was created, RFC 3339.
    pub created: String,
    /// The request as the service holds it.
    pub pin: Pin,
    /// Multiaddrs of the service's own peers the client should connect to (one or more).
    pub delegates: Vec<String>,
    /// Extra string information from the service (for example why it failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<BTreeMap<String, String>>,
}

/// One page of `GET /pins`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinResults {
    /// How many requests match the filter in total (not just on this page).
    pub count: u64,
    /// The page, newest first.
    pub results: Vec<PinStatus>,
}

/// The body of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// What went wrong.
    pub error: FailureError,
}

/// The inner part of [`Failure`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureError {
    /// A short machine-friendly reason, upper snake case (`BAD_REQUEST`, `NOT_FOUND`, ...).
    pub reason: String,
    /// A human explanation of what to do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
}

/// How `GET /pins?name=` compares names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TextMatch {
    /// Exactly equal (the default).
    #[default]
    Exact,
    /// Equal ignoring case.
    Iexact,
    /// Contains, case-sensitive.
    Partial,
    /// Contains, ignoring case.
    Ipartial,
}

impl TextMatch {
    /// The word the API uses.
    pub fn as_str(self) -> &'static str {
        match self {
            TextMatch::Exact => "exact",
            TextMatch::Iexact => "iexact",
            TextMatch::Partial => "partial",
            TextMatch::Ipartial => "ipartial",
        }
    }

    /// Whether `candidate` matches the filter `wanted` under this rule.
    pub fn matches(self, wanted: &str, candidate: &str) -> bool {
        match self {
            TextMatch::Exact => candidate == wanted,
            TextMatch::Iexact => candidate.to_lowercase() == wanted.to_lowercase(),
            TextMatch::Partial => candidate.contains(wanted),
            TextMatch::Ipartial => candidate.to_lowercase().contains(&wanted.to_lowercase()),
        }
    }
}

impl FromStr for TextMatch {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "exact" => Ok(TextMatch::Exact),
            "iexact" => Ok(TextMatch::Iexact),
            "partial" => Ok(TextMatch::Partial),
            "ipartial" => Ok(TextMatch::Ipartial),
            _ => Err(format!(
                "unknown match {s:?}: expected exact, iexact, partial or ipartial"
            )),
        }
    }
}

/// The filters of `GET /pins`. The default lists the 10 newest pinned requests, as the spec says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    /// Only these CIDs (at most 10).
    pub cid: Vec<String>,
    /// Only names matching this under `match_`.
    pub name: Option<String>,
    /// How `name` compares.
    pub match_: TextMatch,
    /// Only these statuses (empty means the spec's default, `pinned`).
    pub status: Vec<Status>,
    /// Only requests created before this RFC 3339 time.
    pub before: Option<String>,
    /// Only requests created after this RFC 3339 time.
    pub after: Option<String>,
    /// Page size, 1 to 1000.
    pub limit: usize,
    /// Only requests whose meta contains all these entries.
    pub meta: BTreeMap<String, String>,
}

impl Default for ListQuery {
    fn default() -> Self {
        Self {
            cid: Vec::new(),
            name: None,
            match_: TextMatch::Exact,
            status: Vec::new(),
            before: None,
            after: None,
            limit: DEFAULT_LIMIT,
            meta: BTreeMap::new(),
        }
    }
}

impl ListQuery {
    /// Lists requests in any of `statuses`.
    pub fn with_status(mut self, statuses: &[Status]) -> Self {
        self.status = statuses.to_vec();
        self
    }

    /// Lists only requests for `cid`.
    pub fn with_cid(mut self, cid: impl Into<String>) -> Self {
        self.cid.push(cid.into());
        self
    }

    /// Sets the page size.
    pub fn with_limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// The query string pairs to send, in the API's names.
    pub fn to_pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = Vec::new();
        if !self.cid.is_empty() {
            pairs.push(("cid", self.cid.join(",")));
        }
        if let Some(name) = &self.name {
            pairs.push(("name", name.clone()));
            pairs.push(("match", self.match_.as_str().to_owned()));
        }
        if !self.status.is_empty() {
            let words: Vec<&str> = self.status.iter().map(|s| s.as_str()).collect();
            pairs.push(("status", words.join(",")));
        }
        if let Some(before) = &self.before {
            pairs.push(("before", before.clone()));
        }
        if let Some(after) = &self.after {
            pairs.push(("after", after.clone()));
        }
        pairs.push(("limit", self.limit.to_string()));
        if !self.meta.is_empty() {
            pairs.push((
                "meta",
                serde_json::to_string(&self.meta).unwrap_or_default(),
            ));
        }
        pairs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pin_status_json_uses_the_spec_field_names() {
        let status = PinStatus {
            requestid: "r1".into(),
            status: Status::Pinning,
            created: "2026-01-01T00:00:00Z".into(),
            pin: Pin::new("bafkqaaa").with_name("x"),
            delegates: vec!["/ip4/127.0.0.1/tcp/8080/http".into()],
            info: None,
        };
        let json = serde_json::to_value(&status).unwrap();
        assert_eq!(json["requestid"], "r1");
        assert_eq!(json["status"], "pinning");
        assert_eq!(json["pin"]["cid"], "bafkqaaa");
        assert!(
            json["pin"].get("origins").is_none(),
            "absent optional fields are omitted"
        );
        let back: PinStatus = serde_json::from_value(json).unwrap();
        assert_eq!(back, status);
    }

    #[test]
    fn text_match_rules() {
        assert!(TextMatch::Exact.matches("Model", "Model"));
        assert!(!TextMatch::Exact.matches("model", "Model"));
        assert!(TextMatch::Iexact.matches("model", "MODEL"));
        assert!(TextMatch::Partial.matches("ode", "Model"));
        assert!(!TextMatch::Partial.matches("ODE", "Model"));
        assert!(TextMatch::Ipartial.matches("ODE", "Model"));
    }

    #[test]
    fn list_query_pairs() {
        let query = ListQuery::default()
            .with_cid("a")
            .with_cid("b")
            .with_status(&[Status::Queued, Status::Failed]);
        let pairs = query.to_pairs();
        assert!(pairs.contains(&("cid", "a,b".to_owned())));
        assert!(pairs.contains(&("status", "queued,failed".to_owned())));
        assert!(pairs.contains(&("limit", "10".to_owned())));
    }
}
