//! scal3ml-access: the access gateway of a Scal3ML node. It holds the content keys of encrypted assets (sealed
//! at rest under a node key), takes deposits from publishers (EIP-712 signed), and releases a key, or streams the
//! decrypted bytes, only to an account that proves who it is (an EIP-712 signed request, or Sign-In with
//! Ethereum for browsers) and that the chain says holds a license (`hasAccess` at the latest block). Nonces are
//! single use, requests expire, refusals are rate limited and every decision goes to an audit log.
//! [`client::AccessClient`] is the command line's side.
//!
//! It is not DRM: a licensee who has the key can share the plaintext. It does not index the chain (the node
//! hands it an [`AssetDirectory`]) nor decide who is licensed (the contracts do; [`LicenseChecker`] asks them).
//! See docs/access.md for the trust model.

pub mod append_log;
pub mod audit;
pub mod bounded;
pub mod client;
pub mod content;
pub mod eip712;
mod error;
pub mod keys;
mod license;
pub mod limit;
pub mod nonces;
mod openapi;
mod server;
pub mod sessions;
pub mod siwe;
pub mod upload;

pub use error::{AccessError, AccessResult, ApiError, ApiErrorBody, ApiErrorDetail, json_errors};
pub use ipnet::IpNet;
pub use license::{
    AssetContent, AssetDirectory, ChainLicenses, LicenseChecker, ProposalContent, VersionContent,
};
pub use openapi::AccessApiDoc;
pub use server::{
    ACCESS_HEADER, AccessConfig, AccessState, DepositReply, KeyQuery, KeyRelease, KeyStatus,
    NODE_CALL_HEADER, NonceReply, SESSION_COOKIE, SessionReply, SiweLogin, SweepReport,
    client_addr, parse_trusted_proxy, router,
};
