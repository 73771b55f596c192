//! The wire types of the access gateway's routes (`/access`): what a deposit, a key release, a sign-in, a nonce
//! and a proposal's key status answer, and the query of a key request. The EIP-712 signed requests they answer
//! stay with their signing code in `scal3ml-access`.

use alloy_primitives::Address;
use scal3ml_primitives::AssetId;
use serde::{Deserialize, Serialize};

/// The answer to a deposit.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct DepositReply {
    /// The content CID.
    pub cid: String,
    /// The depositor.
    #[schema(value_type = String, pattern = "^(0x)?[0-9a-fA-F]{40}$")]
    pub depositor: Address,
    /// `true` if this deposit stored the key, `false` if the same key was already there.
    pub stored: bool,
}

/// A released key: the key of one version of an asset. Its `Debug` leaves the key out.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct KeyRelease {
    /// The asset.
    #[schema(value_type = u64)]
    pub asset: AssetId,
    /// The version the key opens (the latest unless the request named one).
    pub version: u64,
    /// That version's content CID.
    pub content_cid: String,
    /// The content key, 32 hex characters.
    pub key: String,
}

impl std::fmt::Debug for KeyRelease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRelease")
            .field("asset", &self.asset)
            .field("version", &self.version)
            .field("content_cid", &self.content_cid)
            .field("key", &"..")
            .finish()
    }
}

/// The query of `POST /access/key`: which version's key (the latest if left out).
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct KeyQuery {
    /// The version number (0 is the first); the latest if left out.
    pub version: Option<u64>,
}

/// A signed-in session.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct SessionReply {
    /// The session token (also set as the `scal3ml_session` cookie); send it as `Authorization: Bearer`.
    pub token: String,
    /// The signed-in account.
    #[schema(value_type = String, pattern = "^(0x)?[0-9a-fA-F]{40}$")]
    pub address: Address,
    /// Unix seconds when the session ends.
    pub expires_at: u64,
}

/// The body of `POST /access/siwe`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SiweLogin {
    /// The EIP-4361 message text, exactly as signed.
    pub message: String,
    /// The EIP-191 signature, 0x-hex.
    pub signature: String,
}

/// The answer of `GET /access/nonce`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct NonceReply {
    /// A fresh nonce for the `Nonce:` line of a Sign-In with Ethereum message; valid for 10 minutes, once.
    pub nonce: String,
}

/// Whether the gateway holds the key of a proposal's content, deposited by its proposer (`GET
/// /access/proposals/{id}/key-status`). The key itself never leaves the gateway this way.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct KeyStatus {
    /// The proposal.
    pub proposal: u64,
    /// Its content CID.
    pub content_cid: String,
    /// Its proposer, the only depositor whose key counts.
    #[schema(value_type = String, pattern = "^(0x)?[0-9a-fA-F]{40}$")]
    pub proposer: Address,
    /// Whether that key is here (it was checked against the content when it was deposited).
    pub held: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_release_never_shows_its_key_in_debug() {
        let release = KeyRelease {
            asset: AssetId(7),
            version: 1,
            content_cid: "bafy".into(),
            key: "00112233445566778899aabbccddeeff".into(),
        };
        let shown = format!("{release:?}");
        assert!(!shown.contains("0011223344"), "{shown}");
        assert!(shown.contains("bafy"), "{shown}");
    }
}
