//! Single-use request nonces. A signed request's (account, nonce) is remembered until the request's expiry, in
//! memory and in `nonces.jsonl` in the data directory, so a replay is refused even after a restart. Expired
//! entries are dropped as the book grows and when it is reopened (the file is rewritten without them).

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use alloy_primitives::{Address, B256};
use serde::{Deserialize, Serialize};

use crate::eip712::now_secs;
use crate::error::{AccessError, AccessResult};

/// The nonce book's file name in the data directory.
pub const NONCES_FILE: &str = "nonces.jsonl";

#[derive(Serialize, Deserialize)]
struct Entry {
    account: Address,
    nonce: B256,
    expiry: u64,
}

/// Nonces seen, by (account, nonce), with the expiry of the request that used them.
#[derive(Debug)]
pub struct NonceBook {
    path: PathBuf,
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    seen: HashMap<(Address, B256), u64>,
    file: File,
    prune_at: usize,
}

impl NonceBook {
    /// Opens the book in `dir`, keeping only unexpired entries.
    pub fn open(dir: &Path) -> AccessResult<Self> {
        let path = dir.join(NONCES_FILE);
        let now = now_secs();
        let mut seen = HashMap::new();
        match File::open(&path) {
            Ok(f) => {
                for line in BufReader::new(f).lines() {
                    let line = line.map_err(|e| AccessError::io("cannot read", &path, e))?;
                    // A line cut short by a crash is skipped: its request was never answered.
                    if let Ok(e) = serde_json::from_str::<Entry>(&line)
                        && e.expiry >= now
                    {
                        seen.insert((e.account, e.nonce), e.expiry);
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(AccessError::io("cannot read", &path, e)),
        }
        let file = rewrite(&path, &seen)?;
        let prune_at = (seen.len() * 2).max(1024);
        Ok(Self {
            path,
            inner: Mutex::new(Inner {
                seen,
                file,
                prune_at,
            }),
        })
    }

    /// Records `nonce` for `account` until `expiry`; false if it was already used.
    pub fn use_once(&self, account: Address, nonce: B256, expiry: u64) -> AccessResult<bool> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let now = now_secs();
        if let Some(&until) = inner.seen.get(&(account, nonce))
            && until >= now
        {
            return Ok(false);
        }
        inner.seen.insert((account, nonce), expiry);
        let mut line = serde_json::to_string(&Entry {
            account,
            nonce,
            expiry,
        })
        .map_err(|e| AccessError::KeyStore(format!("encoding a nonce: {e}")))?;
        line.push('\n');
        inner
            .file
            .write_all(line.as_bytes())
            .map_err(|e| AccessError::io("cannot write", &self.path, e))?;
        if inner.seen.len() >= inner.prune_at {
            inner.seen.retain(|_, until| *until >= now);
            inner.file = rewrite(&self.path, &inner.seen)?;
            inner.prune_at = (inner.seen.len() * 2).max(1024);
        }
        Ok(true)
    }
}

fn rewrite(path: &Path, seen: &HashMap<(Address, B256), u64>) -> AccessResult<File> {
    let tmp = path.with_extension("jsonl.tmp");
    let mut out = String::new();
    for ((account, nonce), expiry) in seen {
        let e = Entry {
            account: *account,
            nonce: *nonce,
            expiry: *expiry,
        };
        out.push_str(&serde_json::to_string(&e).unwrap_or_default());
        out.push('\n');
    }
    std::fs::write(&tmp, out).map_err(|e| AccessError::io("cannot write", &tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| AccessError::io("cannot replace", path, e))?;
    OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(|e| AccessError::io("cannot open", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nonce_is_used_once_even_across_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let (a, n) = (Address::repeat_byte(1), B256::repeat_byte(2));
        let until = now_secs() + 60;
        {
            let book = NonceBook::open(dir.path()).unwrap();
            assert!(book.use_once(a, n, until).unwrap());
            assert!(!book.use_once(a, n, until).unwrap());
            // Another account's request may carry the same nonce.
            assert!(book.use_once(Address::repeat_byte(3), n, until).unwrap());
        }
        let book = NonceBook::open(dir.path()).unwrap();
        assert!(!book.use_once(a, n, until).unwrap());
    }
}
