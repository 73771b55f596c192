//! scal3ml-access: the access gateway of a Scal3ML node. It holds the content keys of encrypted assets (sealed
//! at rest under a node key), takes deposits from publishers (EIP-712 signed), and releases a key, or streams the
//! decrypted bytes, only to an account that proves who it is (an EIP-712 signed request, or Sign-In with
//! Ethereum for browsers) and that the chain says holds a license (`hasAccess` at the latest block). Nonces are
//! single use, requests expire, refusals are rate limited and every decision goes to an audit log.
//! [`Gateway`] holds those rules as typed methods, callable without HTTP; [`router`] serves them under
//! `/access`. [`client::AccessClient`] is the command line's side.
//!
//! It is not DRM: a licensee who has the key can share the plaintext. It does not index the chain (the node
//! hands it an [`AssetDirectory`]) nor decide who is licensed (the contracts do; [`LicenseChecker`] asks them).
//! See docs/access.md for the trust model.

pub mod append_log;
pub mod audit;
pub mod bounded;
pub mod client;
mod config;
pub mod content;
pub mod eip712;
mod error;
mod gateway;
pub mod keys;
mod license;
pub mod limit;
pub mod nonces;
mod openapi;
mod server;
pub mod sessions;
pub mod siwe;
pub mod upload;

pub use config::AccessConfig;
pub use error::{AccessError, AccessResult, ApiError, ApiErrorBody, ApiErrorDetail, json_errors};
pub use gateway::{ContentRead, Credentials, Gateway, Origin, SweepReport};
pub use ipnet::IpNet;
pub use license::{
    AssetContent, AssetDirectory, ChainLicenses, LicenseChecker, ProposalContent, VersionContent,
};
pub use openapi::AccessApiDoc;
// The wire types moved to scal3ml-api; named here too so the crates that import them from here compile as they
// are.
pub use scal3ml_api::{
    DepositReply, KeyQuery, KeyRelease, KeyStatus, NonceReply, SessionReply, SiweLogin,
};
pub use server::{
    ACCESS_HEADER, NODE_CALL_HEADER, SESSION_COOKIE, client_addr, parse_trusted_proxy, router,
};
