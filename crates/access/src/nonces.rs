//! Single-use request nonces. A signed request's (account, nonce) is remembered until the request's expiry, in
//! memory and in `nonces.jsonl` in the data directory (appended and fsynced before the request is answered; a
//! line torn by a crash is cut off at open), so a replay is refused even after a restart.
//!
//! The book is bounded ([`BoundedMap`]): past `cap` entries, expired ones go first, then those expiring
//! soonest, and a request expiring at or before the latest expiry so forgotten is refused as too old (its nonce
//! may have been used), so eviction never opens a replay. The file is rewritten without expired entries at
//! open and whenever it holds more than twice the live entries, so it stays within a few times `cap` lines.

use std::path::Path;
use std::sync::Mutex;

use alloy_primitives::{Address, B256};
use serde::{Deserialize, Serialize};

use crate::append_log::AppendLog;
use crate::bounded::BoundedMap;
use crate::error::AccessResult;
use scal3ml_primitives::clock::now_secs;

/// The nonce book's file name in the data directory.
pub const NONCES_FILE: &str = "nonces.jsonl";

/// Default bound on remembered nonces.
pub const DEFAULT_MAX_NONCES: usize = 100_000;

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Line {
    Entry {
        account: Address,
        nonce: B256,
        expiry: u64,
    },
    /// Requests expiring at or before this were (possibly) forgotten: refuse them.
    Floor { floor: u64 },
}

/// What [`NonceBook::use_once`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceUse {
    /// First use: recorded.
    Fresh,
    /// Already used: a replay.
    Reused,
    /// The request expires no later than nonces the full book had to forget: it may be a replay; sign anew.
    TooOld,
}

/// Nonces seen, by (account, nonce), with the expiry of the request that used them.
#[derive(Debug)]
pub struct NonceBook {
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    seen: BoundedMap<(Address, B256), ()>,
    log: AppendLog,
    /// Lines in the file.
    lines: usize,
    /// Whether each line is fsynced before the request is answered.
    sync: bool,
}

impl NonceBook {
    /// Opens the book in `dir` holding at most `cap` nonces, keeping only unexpired entries.
    pub fn open(dir: &Path, cap: usize) -> AccessResult<Self> {
        Self::open_with(dir, cap, true)
    }

    /// [`NonceBook::open`], with `sync` false for tests that write a million lines.
    fn open_with(dir: &Path, cap: usize, sync: bool) -> AccessResult<Self> {
        let log = AppendLog::open(&dir.join(NONCES_FILE), 0o600)?;
        let now = now_secs();
        let mut seen = BoundedMap::new(cap);
        for line in log.records::<Line>()? {
            match line {
                Line::Entry {
                    account,
                    nonce,
                    expiry,
                } if expiry >= now => seen.insert((account, nonce), expiry + 1, (), now),
                Line::Entry { .. } => {}
                Line::Floor { floor } => seen.raise_floor(floor),
            }
        }
        let mut inner = Inner {
            seen,
            log,
            lines: 0,
            sync,
        };
        inner.compact(now)?;
        Ok(Self {
            inner: Mutex::new(inner),
        })
    }

    /// Records `nonce` for `account` until `expiry` (Unix seconds), unless it was used already or the request
    /// is older than what the book had to forget.
    pub fn use_once(&self, account: Address, nonce: B256, expiry: u64) -> AccessResult<NonceUse> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let now = now_secs();
        // Entries live until `expiry + 1` (the request is valid through `expiry`).
        if inner.seen.get(&(account, nonce), now).is_some() {
            return Ok(NonceUse::Reused);
        }
        if expiry < inner.seen.floor() {
            return Ok(NonceUse::TooOld);
        }
        inner.seen.insert((account, nonce), expiry + 1, (), now);
        let sync = inner.sync;
        inner.log.append(
            &Line::Entry {
                account,
                nonce,
                expiry,
            },
            sync,
        )?;
        inner.lines += 1;
        // Lines of evicted nonces stay in the file until it is compacted (so a crash before then forgets
        // nothing: reopening evicts them again and sets the same floor); compacting writes the floor.
        if inner.lines > 2 * inner.seen.len() + 1024 {
            inner.compact(now)?;
        }
        Ok(NonceUse::Fresh)
    }

    /// How many nonces are remembered.
    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .seen
            .len()
    }

    /// Whether no nonce is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Inner {
    /// Rewrites the file with the live entries (and the floor while it matters).
    fn compact(&mut self, now: u64) -> AccessResult<()> {
        self.seen.prune(now);
        let floor = self.seen.floor();
        let mut lines: Vec<Line> = Vec::with_capacity(self.seen.len() + 1);
        if floor > now {
            lines.push(Line::Floor { floor });
        }
        lines.extend(
            self.seen
                .iter()
                .map(|((account, nonce), until, ())| Line::Entry {
                    account: *account,
                    nonce: *nonce,
                    expiry: until - 1,
                }),
        );
        self.lines = lines.len();
        self.log.rewrite(lines)
    }
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
            let book = NonceBook::open(dir.path(), 100).unwrap();
            assert_eq!(book.use_once(a, n, until).unwrap(), NonceUse::Fresh);
            assert_eq!(book.use_once(a, n, until).unwrap(), NonceUse::Reused);
            // Another account's request may carry the same nonce.
            assert_eq!(
                book.use_once(Address::repeat_byte(3), n, until).unwrap(),
                NonceUse::Fresh
            );
        }
        let book = NonceBook::open(dir.path(), 100).unwrap();
        assert_eq!(book.use_once(a, n, until).unwrap(), NonceUse::Reused);
    }

    // Regression: a nonce line torn by a crash was skipped but kept, so the next nonce was glued onto it and
    // forgotten at the next start (its request could be replayed). Cut the last line at every byte.
    #[test]
    fn regression_a_torn_nonce_line_forgets_no_answered_request() {
        let dir = tempfile::tempdir().unwrap();
        let a = Address::repeat_byte(1);
        let until = now_secs() + 600;
        {
            let book = NonceBook::open(dir.path(), 100).unwrap();
            book.use_once(a, B256::repeat_byte(1), until).unwrap();
            book.use_once(a, B256::repeat_byte(2), until).unwrap();
        }
        let path = dir.path().join(NONCES_FILE);
        let whole = std::fs::read(&path).unwrap();
        let last = whole[..whole.len() - 1]
            .iter()
            .rposition(|&b| b == b'\n')
            .unwrap()
            + 1;
        for cut in last..=whole.len() {
            std::fs::write(&path, &whole[..cut]).unwrap();
            {
                let book = NonceBook::open(dir.path(), 100).unwrap();
                // The answered request stays used; the torn one was never answered, so it may be used now.
                assert_eq!(
                    book.use_once(a, B256::repeat_byte(1), until).unwrap(),
                    NonceUse::Reused
                );
                assert_eq!(
                    book.use_once(a, B256::repeat_byte(2), until).unwrap(),
                    if cut == whole.len() {
                        NonceUse::Reused
                    } else {
                        NonceUse::Fresh
                    },
                    "cut {cut}"
                );
                book.use_once(a, B256::repeat_byte(3), until).unwrap();
            }
            let book = NonceBook::open(dir.path(), 100).unwrap();
            for n in 1..=3 {
                assert_eq!(
                    book.use_once(a, B256::repeat_byte(n), until).unwrap(),
                    NonceUse::Reused,
                    "cut {cut}"
                );
            }
            // Back to the original file for the next cut.
            std::fs::write(&path, &whole).unwrap();
        }
    }

    // Attack: a million signed requests from a million fresh accounts. The book and its file stay bounded, what
    // it forgot cannot be replayed, and a fresh request from a legitimate user still gets in.
    #[test]
    fn a_million_fresh_accounts_stay_bounded_and_cannot_replay_what_was_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let cap = 2_000;
        let book = NonceBook::open_with(dir.path(), cap, false).unwrap();
        let now = now_secs();
        let first = (Address::repeat_byte(9), B256::repeat_byte(9), now + 100);
        assert_eq!(
            book.use_once(first.0, first.1, first.2).unwrap(),
            NonceUse::Fresh
        );
        let path = dir.path().join(NONCES_FILE);
        let mut max_file = 0;
        for i in 0..1_000_000u64 {
            let account = Address::left_padding_from(&i.to_be_bytes());
            // Attackers sign requests valid for the longest time allowed.
            book.use_once(account, B256::ZERO, now + 500).unwrap();
            assert!(book.len() <= cap);
            if i % 10_000 == 0 {
                max_file = max_file.max(std::fs::metadata(&path).unwrap().len());
            }
        }
        assert!(max_file < 3 * (cap as u64 + 1024) * 200, "{max_file}");
        // The first request was forgotten; replaying it is refused, not accepted.
        assert_eq!(
            book.use_once(first.0, first.1, first.2).unwrap(),
            NonceUse::TooOld
        );
        // A legitimate user's fresh request (valid a little longer than the flood's) gets in.
        assert_eq!(
            book.use_once(Address::repeat_byte(7), B256::repeat_byte(7), now + 600)
                .unwrap(),
            NonceUse::Fresh
        );
    }
}
