//! Shared value types of Scal3ML: asset ids, asset kinds, content identifiers as bytes and text, license terms
//! and amounts, asset cards (their JSON, validation and the Hugging Face README mapping), the network presets and
//! the one wall clock (`clock`). Every other crate speaks in these types. This crate does no I/O beyond reading
//! the clock and talks to no chain or store: it does not
//! compute CIDs from content (that is `scal3ml-store`) nor talk to contracts (`scal3ml-contracts`).

mod asset;
pub mod card;
mod cid;
pub mod clock;
mod license;
pub mod network;
pub mod signature;

pub use alloy_primitives::{Address, U256};
pub use asset::{AssetId, AssetKind, AttestationId, ProposalId};
pub use card::{Card, CardError};
pub use cid::{Cid, Codec, SHA2_256};
pub use license::{Amount, LicenseDuration, LicenseTerms, PaymentToken};
pub use network::Network;

/// What can be wrong with a value handed to this crate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrimitivesError {
    /// The text is not a CIDv0 (`Qm...`, base58btc) or a CIDv1 in base32 (`b...`) or base58btc (`z...`).
    #[error("{text:?} is not a CID: {reason}; expected CIDv0 (Qm...) or base32 CIDv1 (b...)")]
    CidText {
        /// The text that was given.
        text: String,
        /// Why it was refused.
        reason: String,
    },
    /// The bytes are not a binary CID.
    #[error("bytes 0x{hex} are not a binary CID: {reason}")]
    CidBytes {
        /// The bytes as hex.
        hex: String,
        /// Why they were refused.
        reason: String,
    },
    /// The asset kind is neither dataset (0) nor model (1).
    #[error("unknown asset kind {0:?}: expected \"dataset\" or \"model\" (0 or 1 on chain)")]
    AssetKind(String),
    /// An id does not fit in 64 bits.
    #[error("id {0} is too large: ids are sequential and fit in 64 bits")]
    IdTooLarge(U256),
}

/// Result alias of this crate.
pub type PrimitivesResult<T> = Result<T, PrimitivesError>;
