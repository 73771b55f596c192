//! [`SessionBook`]: the browser sessions Sign-In with Ethereum opens, bounded and expiring.
//!
//! A session is a random 32-byte token (sent as hex in the cookie or as a bearer token), its account and when it
//! ends (Unix seconds). Nothing else is kept, so an entry has a fixed size and the book at most `cap` of them.
//! The policy when a new session needs room, in order:
//!
//! 1. an account holds at most [`MAX_SESSIONS_PER_ACCOUNT`] sessions: its next sign-in ends its own oldest, so
//!    one account signing in over and over (a stuck page, or an attacker with one key) signs out only itself;
//! 2. when the book is full, every expired session goes;
//! 3. if it is still full, the one live session ending soonest (the oldest, as sessions last the same unless a
//!    sign-in message asked for less) is ended: exactly one per new session, never a batch.
//!
//! So nobody can grow the book past `cap`, and sessions of others are signed out only when many accounts together
//! fill it, one per sign-in beyond the bound; their owners sign in again. An expired session stays until room is
//! needed or its owner signs out, so its owner is told it ended rather than that it is unknown.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Mutex;

use alloy_primitives::{Address, hex};

use crate::error::{AccessError, AccessResult};

/// The most sessions one account holds at once; its next sign-in ends its oldest.
pub const MAX_SESSIONS_PER_ACCOUNT: usize = 16;

type Token = [u8; 32];

/// What a token names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionLookup {
    /// A live session of this account.
    Valid(Address),
    /// A session that has ended (still remembered).
    Expired,
    /// No session: never opened, signed out, evicted, or the node restarted.
    Unknown,
}

/// The sessions, at most `cap` of them.
#[derive(Debug)]
pub struct SessionBook {
    inner: Mutex<Book>,
}

#[derive(Debug)]
struct Session {
    account: Address,
    expires: u64,
    seq: u64,
}

#[derive(Debug)]
struct Book {
    cap: usize,
    per_account: usize,
    /// Sessions opened so far: orders sessions ending at the same second.
    seq: u64,
    sessions: HashMap<Token, Session>,
    /// (expires, seq, token) of every session, soonest first.
    by_expiry: BTreeSet<(u64, u64, Token)>,
    /// Each account's tokens, oldest first.
    of_account: HashMap<Address, VecDeque<Token>>,
}

impl SessionBook {
    /// An empty book of at most `cap` sessions (at least 1).
    pub fn new(cap: usize) -> Self {
        let cap = cap.max(1);
        Self {
            inner: Mutex::new(Book {
                cap,
                per_account: MAX_SESSIONS_PER_ACCOUNT.min(cap),
                seq: 0,
                sessions: HashMap::new(),
                by_expiry: BTreeSet::new(),
                of_account: HashMap::new(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Book> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Opens a session for `account` until `expires`, making room first (see the module's policy); returns its
    /// token, 64 hex characters.
    pub fn open(&self, account: Address, expires: u64, now: u64) -> AccessResult<String> {
        let mut token = [0u8; 32];
        getrandom::getrandom(&mut token)
            .map_err(|e| AccessError::KeyStore(format!("no randomness: {e}")))?;
        self.lock().insert(token, account, expires, now);
        Ok(hex::encode(token))
    }

    /// What `token` names at `now`.
    pub fn get(&self, token: &str, now: u64) -> SessionLookup {
        let Some(token) = parse(token) else {
            return SessionLookup::Unknown;
        };
        match self.lock().sessions.get(&token) {
            Some(s) if s.expires > now => SessionLookup::Valid(s.account),
            Some(_) => SessionLookup::Expired,
            None => SessionLookup::Unknown,
        }
    }

    /// Ends the session `token`; whether there was one.
    pub fn end(&self, token: &str) -> bool {
        parse(token).is_some_and(|t| self.lock().remove(&t).is_some())
    }

    /// How many sessions are held (expired ones not yet dropped included).
    pub fn len(&self) -> usize {
        self.lock().sessions.len()
    }

    /// Whether no session is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn parse(token: &str) -> Option<Token> {
    hex::decode(token).ok()?.try_into().ok()
}

impl Book {
    fn insert(&mut self, token: Token, account: Address, expires: u64, now: u64) {
        let own = self.of_account.get(&account).map_or(0, VecDeque::len);
        if own >= self.per_account
            && let Some(oldest) = self
                .of_account
                .get(&account)
                .and_then(|q| q.front().copied())
        {
            self.remove(&oldest);
        }
        if self.sessions.len() >= self.cap {
            while let Some(&(until, _, t)) = self.by_expiry.first()
                && until <= now
            {
                self.remove(&t);
            }
        }
        if self.sessions.len() >= self.cap
            && let Some(&(_, _, t)) = self.by_expiry.first()
        {
            self.remove(&t);
        }
        self.seq += 1;
        let seq = self.seq;
        self.sessions.insert(
            token,
            Session {
                account,
                expires,
                seq,
            },
        );
        self.by_expiry.insert((expires, seq, token));
        self.of_account.entry(account).or_default().push_back(token);
    }

    fn remove(&mut self, token: &Token) -> Option<Session> {
        let s = self.sessions.remove(token)?;
        self.by_expiry.remove(&(s.expires, s.seq, *token));
        if let Some(q) = self.of_account.get_mut(&s.account) {
            q.retain(|t| t != token);
            if q.is_empty() {
                self.of_account.remove(&s.account);
            }
        }
        Some(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(i: u64) -> Address {
        Address::left_padding_from(&i.to_be_bytes())
    }

    #[test]
    fn a_session_is_found_until_it_ends_or_its_owner_signs_out() {
        let book = SessionBook::new(10);
        let t = book.open(account(1), 100, 0).unwrap();
        assert_eq!(t.len(), 64);
        assert_eq!(book.get(&t, 99), SessionLookup::Valid(account(1)));
        assert_eq!(book.get(&t, 100), SessionLookup::Expired);
        assert_eq!(book.get("not a token", 0), SessionLookup::Unknown);
        assert_eq!(book.get(&"00".repeat(32), 0), SessionLookup::Unknown);
        assert!(book.end(&t));
        assert!(!book.end(&t));
        assert_eq!(book.get(&t, 0), SessionLookup::Unknown);
        assert!(book.is_empty());
    }

    #[test]
    fn when_full_expired_sessions_go_first_then_the_one_ending_soonest() {
        let book = SessionBook::new(3);
        let old = book.open(account(1), 10, 0).unwrap();
        let a = book.open(account(2), 100, 0).unwrap();
        let b = book.open(account(3), 200, 0).unwrap();
        // At 50 `old` has ended: it makes the room, the live ones stay.
        let c = book.open(account(4), 300, 50).unwrap();
        assert_eq!(book.get(&old, 50), SessionLookup::Unknown);
        for t in [&a, &b, &c] {
            assert!(matches!(book.get(t, 50), SessionLookup::Valid(_)));
        }
        // Full of live sessions: exactly one goes, the one ending soonest.
        let d = book.open(account(5), 400, 50).unwrap();
        assert_eq!(book.len(), 3);
        assert_eq!(book.get(&a, 50), SessionLookup::Unknown);
        for t in [&b, &c, &d] {
            assert!(matches!(book.get(t, 50), SessionLookup::Valid(_)));
        }
    }

    // Attack: one account signs in a million times. The book never holds more than the account's own limit for
    // it, and the sessions of everyone else stay valid.
    #[test]
    fn one_account_signing_in_a_million_times_signs_out_only_itself() {
        let book = SessionBook::new(1_000);
        let others: Vec<String> = (0..500)
            .map(|i| book.open(account(i), 1_000 + i, 0).unwrap())
            .collect();
        let mut last = String::new();
        for i in 0..1_000_000u64 {
            last = book.open(account(u64::MAX), 10_000 + i, 1).unwrap();
        }
        assert_eq!(book.len(), 500 + MAX_SESSIONS_PER_ACCOUNT);
        assert_eq!(book.get(&last, 1), SessionLookup::Valid(account(u64::MAX)));
        for (i, t) in others.iter().enumerate() {
            assert_eq!(book.get(t, 1), SessionLookup::Valid(account(i as u64)));
        }
    }

    // Attack: a million accounts sign in once each. The book stays within its bound (so memory does), expired
    // sessions make room before live ones, and live ones go one per sign-in beyond the bound, soonest first: the
    // newest sessions, the attacker's last among them, are the ones kept.
    #[test]
    fn a_million_accounts_stay_within_the_bound_and_evict_the_soonest_ending_first() {
        let cap = 1_000;
        let book = SessionBook::new(cap);
        let expired = book.open(account(u64::MAX), 5, 0).unwrap();
        let victim = book.open(account(u64::MAX - 1), 2_000_000, 0).unwrap();
        let mut newest = String::new();
        for i in 0..1_000_000u64 {
            newest = book.open(account(i), 10 + i, 10).unwrap();
            assert!(book.len() <= cap);
        }
        assert_eq!(book.len(), cap);
        assert_eq!(book.get(&expired, 10), SessionLookup::Unknown);
        // The victim's session outlives every attacker's: it was never the one ending soonest.
        assert_eq!(
            book.get(&victim, 10),
            SessionLookup::Valid(account(u64::MAX - 1))
        );
        assert!(matches!(book.get(&newest, 10), SessionLookup::Valid(_)));
        let inner = book.lock();
        assert_eq!(inner.by_expiry.len(), cap);
        assert_eq!(inner.of_account.len(), cap);
    }
}
