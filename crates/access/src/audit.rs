//! The audit log: one JSON line per decision (key released or refused, key deposited, content streamed, sign
//! in) in `audit.jsonl` in the data directory: time, decision, reason code, account, asset, CID, client IP.
//! Never a key.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use alloy_primitives::Address;
use serde::Serialize;

use crate::error::{AccessError, AccessResult};

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
    file: Mutex<File>,
}

impl AuditLog {
    /// Opens (or creates) `audit.jsonl` in `dir` for appending.
    pub fn open(dir: &Path) -> AccessResult<Self> {
        let path = dir.join(AUDIT_FILE);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| AccessError::io("cannot open the audit log", &path, e))?;
        Ok(Self {
            path,
            file: Mutex::new(file),
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
        let mut line = serde_json::to_string(&entry).unwrap_or_default();
        line.push('\n');
        let mut f = self.file.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(error) = f.write_all(line.as_bytes()) {
            tracing::error!(target: "access::audit", %error, path = %self.path.display(), "cannot write the audit log");
        }
    }
}
