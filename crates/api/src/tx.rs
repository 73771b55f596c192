//! What the transaction routes take and answer: the bodies of `/api/tx/*`, the steps a wallet sends
//! ([`PreparedTx`]), an account's access and earnings, and what a browser's publish and propose answer.

use alloy_primitives::{Address, Bytes, U256};
use scal3ml_primitives::card::CardFile;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One transaction for a wallet to send: `eth_sendTransaction` with `{from: account, to, data, value}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PreparedCall {
    /// What it does, for people: "Approve 2.5 USDX", "Buy asset 7".
    pub label: String,
    /// The contract called.
    #[schema(value_type = String, pattern = "^(0x)?[0-9a-fA-F]{40}$")]
    pub to: Address,
    /// The ABI-encoded call (0x-hex).
    #[schema(value_type = String)]
    pub data: Bytes,
    /// Wei sent with it (a 0x-hex quantity).
    #[schema(value_type = String)]
    pub value: U256,
}

/// Transactions for the wallet to send in order, each with `eth_sendTransaction` from the account, waiting
/// for each receipt.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PreparedTx {
    /// `[{label, to, data, value}]`: `to` the contract, `data` 0x-hex calldata, `value` a 0x-hex quantity in wei.
    #[schema(value_type = Vec<Object>)]
    pub steps: Vec<PreparedCall>,
}

/// `POST /api/tx/buy`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BuyBody {
    /// The buyer.
    #[schema(value_type = String, pattern = "^(0x)?[0-9a-fA-F]{40}$")]
    pub account: Address,
    /// The asset.
    pub asset: u64,
    /// What to pay in: an ERC-20 address, or the zero address for ETH.
    #[schema(value_type = String, pattern = "^(0x)?[0-9a-fA-F]{40}$")]
    pub token: Address,
    /// The price the page showed, in base units (wei for ETH) as a decimal string: the most the buyer pays.
    pub max_price: String,
    /// The license the page showed, in seconds (0: perpetual): the shortest the buyer accepts.
    pub duration: u64,
    /// The metadata CID of the card the page showed: the purchase reverts if the card changed.
    pub metadata_cid: String,
}

/// `POST /api/tx/withdraw`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WithdrawBody {
    /// The shareholder.
    #[schema(value_type = String, pattern = "^(0x)?[0-9a-fA-F]{40}$")]
    pub account: Address,
    /// The token to withdraw (zero address for ETH).
    #[schema(value_type = String, pattern = "^(0x)?[0-9a-fA-F]{40}$")]
    pub token: Address,
    /// The assets to withdraw from (one payment).
    pub assets: Vec<u64>,
}

/// `POST /api/tx/vote`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct VoteBody {
    /// The voter.
    #[schema(value_type = String, pattern = "^(0x)?[0-9a-fA-F]{40}$")]
    pub account: Address,
    /// The proposal.
    pub proposal: u64,
    /// Yes or no.
    pub support: bool,
}

/// `POST /api/tx/execute` and `/api/tx/reject`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProposalBody {
    /// Who sends it.
    #[schema(value_type = String, pattern = "^(0x)?[0-9a-fA-F]{40}$")]
    pub account: Address,
    /// The proposal.
    pub proposal: u64,
}

/// What an account may do with an asset, as the chain says now (`GET /api/assets/{id}/access/{account}`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AccessInfo {
    /// Whether the account may use the asset (owner, shareholder, unexpired license, or a free listing).
    pub has_access: bool,
    /// When its license ends (Unix seconds); null without a timed license.
    pub expiry: Option<u64>,
    /// Whether its license never ends.
    pub perpetual: bool,
    /// Whether it owns the asset.
    pub owner: bool,
    /// Revenue shares it holds.
    pub shares: u128,
}

/// What an account may withdraw from one asset in one token.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EarningInfo {
    /// The asset.
    pub asset: u64,
    /// The token (zero address for ETH).
    #[schema(value_type = String, pattern = "^(0x)?[0-9a-fA-F]{40}$")]
    pub token: Address,
    /// Its symbol.
    pub symbol: String,
    /// Claimable now, in the token's smallest unit (decimal).
    pub claimable: String,
    /// The same in whole tokens (`0.05`).
    pub formatted: String,
}

/// What `POST /api/publish` answers.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PublishAnswer {
    /// The content's root CID (version 0).
    pub content_cid: String,
    /// The card's CID.
    pub metadata_cid: String,
    /// Whether the content is encrypted (a priced asset).
    pub encrypted: bool,
    /// The card's files: path, size, sha256, cid.
    #[schema(value_type = Vec<Object>)]
    pub files: Vec<CardFile>,
    /// For an encrypted asset, the key deposit for the wallet to sign, else null.
    pub deposit: Option<ToSign>,
    /// The publish transaction, the account as first shareholder.
    pub tx: PreparedTx,
}

/// Something for the wallet to sign: it signs `typed_data` with `eth_signTypedData_v4`, and `body` with
/// `signature` added is the JSON to send on (a key deposit to `POST /access/keys`, a key request to
/// `POST /api/propose`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ToSign {
    /// EIP-712 typed data: `{types, primaryType, domain, message}`.
    #[schema(value_type = Object)]
    pub typed_data: serde_json::Value,
    /// The signed message's fields, e.g. `{cid, key, depositor, nonce, expiry, chain_id, gateway}`.
    #[schema(value_type = Object)]
    pub body: serde_json::Value,
}

/// What `POST /api/propose` answers.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProposeAnswer {
    /// The asset.
    pub asset: u64,
    /// The proposed content's root CID.
    pub content_cid: String,
    /// The proposed card's CID.
    pub metadata_cid: String,
    /// The message's CID.
    pub description_cid: String,
    /// New shares the proposal asks for.
    pub requested_shares: u64,
    /// Whether the content is encrypted (under a fresh key of its own, deposited by the proposer).
    pub encrypted: bool,
    /// The proposed card's files: path, size, sha256, cid.
    #[schema(value_type = Vec<Object>)]
    pub files: Vec<CardFile>,
    /// For an encrypted asset, the key deposit for the new content to sign, else null.
    pub deposit: Option<ToSign>,
    /// The propose transaction.
    pub tx: PreparedTx,
}
