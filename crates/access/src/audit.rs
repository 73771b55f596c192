//! The audit log: one JSON line per decision (key released or refused, key deposited, content streamed, sign
//! in) in `audit.jsonl` in the data directory: time, decision, reason code, account, asset, CID, client IP.
//! Never a key. Lines are not fsynced one by one (the decision stands either way); a line torn by a crash is
//! cut off at open ([`AppendLog`]), so the next line starts clean.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use alloy_primitives::Address;
use serde::Serialize;

use crate::append_log::AppendLog;
use crate::error::AccessResult;

/// The audit log's file name in the data directory.
pub const AUDIT_FILE: &str = "audit.jsonl";

/// One audit line.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AuditEntry {
    /// RFC 3339 time (filled in by [`AuditLog::write`]).
    pub time: String,
    /// What was asked: `key`, `deposit`, `content`, `siwe`.
    pub action: &'static str,
    /// `release`, `refuse`, `accept`.
    pub decision: &'static str,
    /// The error code of a refusal, or `ok`.
    pub reason: String,
    /// The account asking (as claimed when its signature did not verify).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<Address>,
    /// The asset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asset: Option<u64>,
    /// The content CID (deposits).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cid: Option<String>,
    /// The client's IP, when the server knows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<IpAddr>,
}

/// Appends audit lines to a file.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    log: Mutex<AppendLog>,
}

impl AuditLog {
    /// Opens (or creates) `audit.jsonl` in `dir` for appending.
    pub fn open(dir: &Path) -> AccessResult<Self> {
        let path = dir.join(AUDIT_FILE);
        let log = AppendLog::open(&path, 0o600)?;
        Ok(Self {
            path,
            log: Mutex::new(log),
        })
    }

    /// Where the log is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one line (one write, so lines from concurrent requests never interleave). A failure to write is
    /// logged, not returned: the decision has been made.
    pub fn write(&self, mut entry: AuditEntry) {
        entry.time = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let mut log = self.log.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(error) = log.append(&entry, false) {
            tracing::error!(target: "access::audit", %error, path = %self.path.display(), "cannot write the audit log");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Regression: a line torn by a crash stayed at the end of the log and the next decision was glued onto it,
    // so that line no longer parsed. Cut the last line at every byte: every complete line and the next one parse.
    #[test]
    fn regression_a_torn_audit_line_does_not_swallow_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let entry = |asset| AuditEntry {
            action: "key",
            decision: "release",
            reason: "ok".into(),
            asset: Some(asset),
            ..Default::default()
        };
        {
            let log = AuditLog::open(dir.path()).unwrap();
            log.write(entry(1));
            log.write(entry(2));
        }
        let path = dir.path().join(AUDIT_FILE);
        let whole = std::fs::read(&path).unwrap();
        let last = whole[..whole.len() - 1]
            .iter()
            .rposition(|&b| b == b'\n')
            .unwrap()
            + 1;
        for cut in last..=whole.len() {
            std::fs::write(&path, &whole[..cut]).unwrap();
            AuditLog::open(dir.path()).unwrap().write(entry(3));
            let text = std::fs::read_to_string(&path).unwrap();
            let assets: Vec<u64> = text
                .lines()
                .map(|l| {
                    serde_json::from_str::<serde_json::Value>(l).unwrap()["asset"]
                        .as_u64()
                        .unwrap()
                })
                .collect();
            let want = if cut == whole.len() {
                vec![1, 2, 3]
            } else {
                vec![1, 3]
            };
            assert_eq!(assets, want, "cut {cut}");
        }
    }
}
