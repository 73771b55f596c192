//! What the operations take and return.

use alloy::primitives::{Address, B256, TxHash, U256, keccak256};
use scal3ml_contracts::DeploymentManifest;
use scal3ml_primitives::{AssetId, AssetKind, Cid, LicenseDuration, LicenseTerms};
use serde::{Deserialize, Serialize};

use crate::{MarketError, MarketResult};

/// Where the contracts live: the parts of a deployment the SDK needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deployment {
    /// The chain the contracts are deployed on.
    pub chain_id: u64,
    /// The marketplace contract.
    pub marketplace: Address,
    /// The attestations contract.
    pub attestations: Address,
}

impl TryFrom<&DeploymentManifest> for Deployment {
    type Error = MarketError;
    fn try_from(m: &DeploymentManifest) -> MarketResult<Self> {
        let get = |name: &'static str| {
            m.address(name)
                .map_err(|_| MarketError::MissingContract { name })
        };
        Ok(Self {
            chain_id: m.chain_id,
            marketplace: get("Marketplace")?,
            attestations: get("Attestations")?,
        })
    }
}

impl From<&scal3ml_contracts::Deployment> for Deployment {
    fn from(d: &scal3ml_contracts::Deployment) -> Self {
        Self {
            chain_id: d.manifest.chain_id,
            marketplace: d.marketplace,
            attestations: d.attestations,
        }
    }
}

/// A mined transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxInfo {
    /// Its hash.
    pub hash: TxHash,
    /// The block that holds it.
    pub block: u64,
    /// Gas it used.
    pub gas_used: u64,
    /// What the sender paid for gas, in wei (gas used x effective gas price).
    pub fee: U256,
}

/// Everything a publish transaction records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishRequest {
    /// Dataset or model.
    pub kind: AssetKind,
    /// Root CID of the content (version 0).
    pub content_cid: Cid,
    /// CID of the card.
    pub metadata_cid: Cid,
    /// Whether the content is encrypted (then `gateway_url` is required).
    pub encrypted: bool,
    /// The access gateway that releases the key to licensees ("" for unencrypted assets).
    pub gateway_url: String,
    /// Parent assets and the royalty each receives from every sale, in basis points.
    pub parents: Vec<(AssetId, u16)>,
    /// Initial shareholders and their shares (at least one).
    pub shareholders: Vec<(Address, u64)>,
    /// The first listing; price 0 makes the asset free for everyone.
    pub listing: LicenseTerms,
}

/// A published asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Published {
    /// Its id (from the `AssetPublished` event of the receipt).
    pub asset: AssetId,
    /// The publishing transaction.
    pub tx: TxInfo,
}

/// How long a license lasts for an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LicenseExpiry {
    /// No license (never bought).
    None,
    /// Valid until this Unix time (in seconds); expired if in the past.
    Until(u64),
    /// Never expires.
    Perpetual,
}

impl LicenseExpiry {
    pub(crate) fn from_chain(expiry: u64) -> Self {
        match expiry {
            0 => Self::None,
            u64::MAX => Self::Perpetual,
            t => Self::Until(t),
        }
    }
}

/// The terms a buyer read and accepts. [`Market::buy`](crate::Market::buy) passes them to the contract, whose
/// `buy` reverts if any changed before the purchase is mined: a price above `max_price`, a license shorter
/// than `duration`, or a card other than `metadata_cid` (the owner updated it or a version was added).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuyTerms {
    /// What the price is paid in (zero for ETH).
    pub token: Address,
    /// The most the buyer pays, in base units.
    pub max_price: U256,
    /// The license the buyer read; a longer one is accepted, a shorter one is not.
    pub duration: LicenseDuration,
    /// The metadata CID of the card the buyer read.
    pub metadata_cid: Cid,
}

impl BuyTerms {
    /// The terms of `listing` as read, with the card `metadata_cid` read beside it: at most its price, at
    /// least its duration.
    pub fn new(listing: &LicenseTerms, metadata_cid: Cid) -> Self {
        Self {
            token: listing.token.address(),
            max_price: listing.price,
            duration: listing.duration,
            metadata_cid,
        }
    }

    /// The contract's `minDuration`: seconds, or `type(uint64).max` for a perpetual license.
    pub fn min_duration(&self) -> u64 {
        match self.duration {
            LicenseDuration::Perpetual => u64::MAX,
            LicenseDuration::Seconds(s) => s,
        }
    }

    /// The contract's `metadataHash`: keccak256 of the metadata CID's bytes.
    pub fn metadata_hash(&self) -> B256 {
        keccak256(self.metadata_cid.to_bytes())
    }
}

/// A bought license.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bought {
    /// The asset.
    pub asset: AssetId,
    /// What was paid in (zero for ETH).
    pub token: Address,
    /// The price paid, in base units.
    pub price: U256,
    /// The license's new expiry.
    pub expiry: LicenseExpiry,
    /// The ERC-20 approval sent first, if one was needed.
    pub approval: Option<TxInfo>,
    /// The purchase.
    pub tx: TxInfo,
}

/// A withdrawal of revenue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Withdrawal {
    /// The token withdrawn (zero for ETH).
    pub token: Address,
    /// Amount paid to the account, in base units (sum of the `Withdrawn` events).
    pub amount: U256,
    /// The transaction.
    pub tx: TxInfo,
}

/// What an account may withdraw from one asset in one token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Earning {
    /// The asset.
    pub asset: AssetId,
    /// The token (zero for ETH).
    pub token: Address,
    /// Claimable now, in base units.
    pub claimable: U256,
}

/// An asset's stored record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetRecord {
    /// Dataset or model.
    pub kind: AssetKind,
    /// Shares outstanding.
    pub total_shares: u128,
    /// Whether the content is encrypted.
    pub encrypted: bool,
    /// Whether the owner deprecated it.
    pub deprecated: bool,
    /// Number of parents.
    pub parent_count: u8,
    /// Length of the longest ancestor chain above it.
    pub depth: u8,
    /// Number of versions.
    pub version_count: u32,
    /// Whether some listing is free (then everyone has access).
    pub free: bool,
}

/// A proposal as the chain reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposalInfo {
    /// The asset it would change.
    pub asset: AssetId,
    /// Who proposed it.
    pub proposer: Address,
    /// 1 open, 2 executed, 3 rejected, 4 expired.
    pub state: u8,
    /// Shares minted to the proposer on execution.
    pub requested_shares: u128,
    /// Yes votes (in shares).
    pub yes_votes: u128,
    /// No votes (in shares).
    pub no_votes: u128,
    /// All shares at the snapshot; more than half must vote yes.
    pub total_at_snapshot: u128,
    /// Voting deadline (Unix seconds).
    pub deadline: u64,
}

/// An evaluation result to attest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttestRequest {
    /// The model asset and version evaluated.
    pub model: (AssetId, u64),
    /// The dataset asset and version it was evaluated on.
    pub dataset: (AssetId, u64),
    /// Metric name, e.g. `accuracy`.
    pub metric: String,
    /// Fixed-point value with `decimals` decimals.
    pub value: i128,
    /// Decimals of `value`.
    pub decimals: u8,
    /// CID of the evaluation report.
    pub report_cid: Cid,
}
