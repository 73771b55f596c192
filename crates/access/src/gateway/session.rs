//! Sign-In with Ethereum (EIP-4361) and sessions: [`Gateway::siwe_nonce`] issues a nonce (stored nowhere: it
//! is its issue time, random bytes and an HMAC), [`Gateway::login`] checks a signed message made for this
//! gateway and opens a session in the bounded [`crate::sessions::SessionBook`], [`Gateway::session`] says whose a
//! token is, [`Gateway::logout`] ends it.

use std::time::Duration;

use alloy_primitives::{Address, keccak256};
use scal3ml_api::{NonceReply, SessionReply, SiweLogin};
use scal3ml_primitives::clock::{now_millis, now_secs};

use super::{Action, Decision, Fail, Gateway, Inner, Origin};
use crate::error::{AccessError, AccessResult, ApiError};
use crate::sessions::SessionLookup;
use crate::siwe;

/// How long an issued SIWE nonce may be signed and sent back.
const SIWE_NONCE_TTL: Duration = Duration::from_secs(600);

impl Gateway {
    /// A fresh Sign-In with Ethereum nonce, valid for 10 minutes, once.
    pub fn siwe_nonce(&self) -> Result<NonceReply, ApiError> {
        Ok(NonceReply {
            nonce: issue_siwe_nonce(&self.0)?,
        })
    }

    /// Signs in: the EIP-4361 message must name this gateway's domain, a URI under its public URL and its
    /// chain, be within its validity times, carry a nonce this gateway issued and nobody used, and be signed by
    /// the address it names. Opens a session for that address.
    pub fn login(&self, origin: Origin, login: &SiweLogin) -> Result<SessionReply, ApiError> {
        let mut decision = self.admit(Action::Siwe, origin)?;
        let result = self.sign_in(login, &mut decision);
        self.decide(decision, result)
    }

    /// The account a session token belongs to: 401 `session_expired` for a session that has ended, 401
    /// `no_session` for a token nobody holds (signed out, evicted, or the node restarted).
    pub fn session(&self, token: &str) -> Result<Address, ApiError> {
        match self.0.sessions.get(token, now_secs()) {
            SessionLookup::Valid(account) => Ok(account),
            SessionLookup::Expired => Err(ApiError::unauthorized(
                "session_expired",
                "your session has ended: sign in again",
            )),
            SessionLookup::Unknown => Err(ApiError::unauthorized(
                "no_session",
                "this session is unknown (signed out, or the node restarted): sign in again",
            )),
        }
    }

    /// Ends the session `token` (if there is one).
    pub fn logout(&self, token: &str) {
        self.0.sessions.end(token);
    }

    fn sign_in(&self, login: &SiweLogin, decision: &mut Decision) -> Result<SessionReply, Fail> {
        let s = &self.0;
        let msg = siwe::parse(&login.message).map_err(|e| {
            ApiError::bad_request(format!("not a Sign-In with Ethereum message: {e}"))
        })?;
        decision.account(msg.address);
        let cfg = &s.config;
        if msg.domain != cfg.siwe_domain {
            return Err(ApiError::unauthorized(
                "wrong_domain",
                format!(
                    "the message signs in to {:?}, but this is {:?}: the page that made it is not this gateway's",
                    msg.domain, cfg.siwe_domain
                ),
            )
            .into());
        }
        let under = msg.uri.strip_prefix(cfg.public_url.as_str());
        if !under.is_some_and(|rest| rest.is_empty() || rest.starts_with(['/', '?', '#'])) {
            return Err(ApiError::unauthorized(
                "wrong_uri",
                format!(
                    "the message's URI {:?} is not under {:?}",
                    msg.uri, cfg.public_url
                ),
            )
            .into());
        }
        if msg.chain_id != cfg.chain_id {
            return Err(ApiError::unauthorized(
                "wrong_chain",
                format!(
                    "the message is for chain {}, but this gateway serves chain {}: switch your wallet to chain {}",
                    msg.chain_id, cfg.chain_id, cfg.chain_id
                ),
            )
            .into());
        }
        let now = chrono::Utc::now();
        if msg.issued_at > now + chrono::Duration::minutes(5) {
            return Err(ApiError::unauthorized(
                "not_yet_valid",
                "the message was issued in the future: check your computer's clock",
            )
            .into());
        }
        if msg.expiration_time.is_some_and(|t| t <= now) {
            return Err(ApiError::unauthorized(
                "request_expired",
                "the sign-in message has expired: sign in again",
            )
            .into());
        }
        if msg.not_before.is_some_and(|t| t > now) {
            return Err(ApiError::unauthorized(
                "not_yet_valid",
                "the sign-in message is not valid yet (Not Before is in the future)",
            )
            .into());
        }
        let signer = login
            .signature
            .parse::<alloy_primitives::Signature>()
            .map_err(|e| {
                ApiError::unauthorized(
                    "bad_signature",
                    format!("the signature is not 65 bytes of hex ({e})"),
                )
            })?
            .recover_address_from_msg(login.message.as_bytes())
            .map_err(|e| {
                ApiError::unauthorized("bad_signature", format!("no address recovers ({e})"))
            })?;
        if signer != msg.address {
            return Err(ApiError::unauthorized(
                "bad_signature",
                format!(
                    "the signature is not {}'s (it recovers {signer}): sign the message with that account",
                    msg.address
                ),
            )
            .into());
        }
        let now_ms = now_millis();
        let fresh = siwe_nonce_expiry(s, &msg.nonce).filter(|(_, until)| *until > now_ms);
        let spent = fresh.is_some_and(|(raw, until)| {
            let mut used = s.siwe_used.lock().unwrap_or_else(|p| p.into_inner());
            // Forgotten by a full table (the floor) counts as used: eviction never opens a replay.
            if used.get(&raw, now_ms).is_some() || until <= used.floor() {
                return false;
            }
            used.insert(raw, until, (), now_ms);
            true
        });
        if !spent {
            return Err(Fail {
                err: ApiError::unauthorized(
                    "bad_nonce",
                    "the message's nonce was not issued by this gateway, was already used, or is older than 10 \
                     minutes: get a fresh one from GET /access/nonce and sign again",
                ),
                verified: Some(signer),
            });
        }
        let mut expires = now_secs() + cfg.session_ttl.as_secs();
        if let Some(t) = msg.expiration_time {
            expires = expires.min(t.timestamp().max(0) as u64);
        }
        let token = s.sessions.open(signer, expires, now_secs())?;
        Ok(SessionReply {
            token,
            address: signer,
            expires_at: expires,
        })
    }
}

/// A SIWE nonce is `issued (8 bytes, big-endian Unix milliseconds) || random (8) || HMAC-SHA256(siwe_key, the 16
/// before)[..16]`, in hex: nothing is stored until it is used.
fn issue_siwe_nonce(s: &Inner) -> AccessResult<String> {
    let mut raw = [0u8; 32];
    raw[..8].copy_from_slice(&now_millis().to_be_bytes());
    getrandom::getrandom(&mut raw[8..16])
        .map_err(|e| AccessError::KeyStore(format!("no randomness: {e}")))?;
    let tag = ring::hmac::sign(&s.siwe_key, &raw[..16]);
    raw[16..].copy_from_slice(&tag.as_ref()[..16]);
    Ok(alloy_primitives::hex::encode(raw))
}

/// When a nonce this gateway issued stops being valid (Unix milliseconds); `None` if it did not issue it.
fn siwe_nonce_expiry(s: &Inner, nonce: &str) -> Option<([u8; 32], u64)> {
    let raw: [u8; 32] = alloy_primitives::hex::decode(nonce).ok()?.try_into().ok()?;
    // Compared as hashes, so the time taken says nothing about the tag.
    let tag = ring::hmac::sign(&s.siwe_key, &raw[..16]);
    if keccak256(&tag.as_ref()[..16]) != keccak256(&raw[16..]) {
        return None;
    }
    let issued = u64::from_be_bytes(raw[..8].try_into().ok()?);
    Some((raw, issued + SIWE_NONCE_TTL.as_millis() as u64))
}
