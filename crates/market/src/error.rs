//! The one error type of the SDK, and the one place contract reverts become messages.

use alloy::{
    contract::Error as ContractError,
    primitives::{Address, TxHash, U256},
    transports::{RpcError, TransportError},
};
use scal3ml_contracts::{
    Attestations::AttestationsErrors, Marketplace::MarketplaceErrors, TestToken::TestTokenErrors,
};
use scal3ml_primitives::AssetId;
use std::path::PathBuf;

/// Everything that can go wrong in a marketplace operation. Each message says what was wrong and what to do.
#[derive(Debug, thiserror::Error)]
pub enum MarketError {
    /// The JSON-RPC endpoint did not answer.
    #[error("cannot reach the chain at {url}: {reason}; is the node running? (check --rpc-url)")]
    Unreachable {
        /// The endpoint, as the caller named it.
        url: String,
        /// What the transport said.
        reason: String,
    },
    /// The node answered a call with an error that is not a contract revert.
    #[error("{op}: the node at {url} refused the request: {reason}")]
    Rpc {
        /// The operation.
        op: &'static str,
        /// The endpoint.
        url: String,
        /// The node's message.
        reason: String,
    },
    /// The node serves another chain than the deployment.
    #[error(
        "wrong chain: the deployment is on chain id {expected} but the node at {url} serves chain id {actual}; \
         point --rpc-url at a node of chain {expected} or use the deployment file for chain {actual}"
    )]
    WrongChain {
        /// The deployment's chain id.
        expected: u64,
        /// What `eth_chainId` answered.
        actual: u64,
        /// The endpoint.
        url: String,
    },
    /// No contract code at the marketplace address.
    #[error(
        "no marketplace contract at {address} on chain {chain_id}: the deployment file does not match this chain \
         (was the chain reset?); deploy again with `scal3ml deploy` or use the right deployment file"
    )]
    NotDeployed {
        /// The address the deployment names.
        address: Address,
        /// The chain.
        chain_id: u64,
    },
    /// The deployment manifest lacks a contract.
    #[error("the deployment has no {name} contract; use a manifest written by `scal3ml deploy`")]
    MissingContract {
        /// `Marketplace` or `Attestations`.
        name: &'static str,
    },
    /// The account cannot pay; nothing was sent.
    #[error(
        "insufficient funds: {what} needs {needed} {symbol} but {account} has {has} {symbol}; \
         fund the account and run again (nothing was sent)"
    )]
    InsufficientFunds {
        /// What was being paid for.
        what: String,
        /// The paying account.
        account: Address,
        /// Amount needed, formatted in the token's units.
        needed: String,
        /// Amount held, formatted.
        has: String,
        /// Token symbol.
        symbol: String,
        /// Amount needed in base units.
        needed_raw: U256,
        /// Amount held in base units.
        has_raw: U256,
    },
    /// The listed price is above what the buyer accepted.
    #[error(
        "the price of asset {asset} is {price} {symbol}, above the {max_price} {symbol} you accepted \
         (it may have risen while your purchase was in flight); run again with --max-price {price} to accept"
    )]
    PriceTooHigh {
        /// The asset.
        asset: AssetId,
        /// The price now, formatted.
        price: String,
        /// What the buyer accepted, formatted.
        max_price: String,
        /// Token symbol.
        symbol: String,
        /// The price in base units.
        price_raw: U256,
    },
    /// The listing's license is shorter than the one the buyer read (the owner changed the listing).
    #[error(
        "the listing of asset {asset} changed since you read it: the license is now {now}, not {read}; read \
         `scal3ml show {asset}` again and buy again (nothing was paid)"
    )]
    DurationChanged {
        /// The asset.
        asset: AssetId,
        /// The license listed now ("1 s", "30 days").
        now: String,
        /// The license the buyer read ("30 days", "perpetual").
        read: String,
    },
    /// The card is not the one the buyer read (the owner updated it, or a new version was added).
    #[error(
        "the card of asset {asset} changed since you read it (its owner updated it or a new version was added); \
         read `scal3ml show {asset}` again and buy again (nothing was paid)"
    )]
    MetadataChanged {
        /// The asset.
        asset: AssetId,
    },
    /// No asset has this id.
    #[error("asset {asset} does not exist on this marketplace; check the id (search lists them)")]
    UnknownAsset {
        /// The id asked for.
        asset: AssetId,
    },
    /// The asset has no listing in this token.
    #[error(
        "asset {asset} is not for sale in {token}; look at its listings and pay in one of their tokens"
    )]
    NotListed {
        /// The asset.
        asset: AssetId,
        /// The token (`ETH` or an address).
        token: String,
    },
    /// Any other contract revert, decoded into a sentence.
    #[error("{op} was refused by the contract: {reason}")]
    Rejected {
        /// The operation.
        op: &'static str,
        /// What the contract said, and what to do.
        reason: String,
    },
    /// The transaction was mined but reverted.
    #[error(
        "{op}: transaction {tx} was mined but reverted; nothing changed on chain (run again to see why)"
    )]
    Reverted {
        /// The operation.
        op: &'static str,
        /// The mined transaction.
        tx: TxHash,
    },
    /// The receipt lacks the event the operation emits.
    #[error("{op}: transaction {tx} succeeded but emitted no {event} event from the marketplace")]
    MissingEvent {
        /// The operation.
        op: &'static str,
        /// The transaction.
        tx: TxHash,
        /// The event looked for.
        event: &'static str,
    },
    /// An amount did not parse.
    #[error("amount {input:?} {reason}; write a decimal number such as 0.05")]
    Amount {
        /// What was given.
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A token did not resolve.
    #[error("token {token:?}: {reason}")]
    Token {
        /// What was given.
        token: String,
        /// What is wrong.
        reason: String,
    },
    /// A request argument is out of range.
    #[error("{0}")]
    Invalid(String),
    /// Content preparation or download refused a path.
    #[error("{path}: {reason}")]
    Path {
        /// The path.
        path: PathBuf,
        /// What is wrong and what to do.
        reason: String,
    },
    /// A file system operation failed.
    #[error("{context} {path}: {source}")]
    Io {
        /// What was being done.
        context: &'static str,
        /// On which path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A downloaded file's SHA-256 differs from the card's.
    #[error(
        "{path}: the downloaded bytes have SHA-256 {actual} but the card says {expected}; the file was not \
         written. The content does not match its card: tell the publisher, or try another source"
    )]
    HashMismatch {
        /// The file (as named in the card).
        path: String,
        /// The card's hash.
        expected: String,
        /// What the bytes hash to.
        actual: String,
    },
    /// The store refused (missing or corrupt block, bad key, ...).
    #[error(transparent)]
    Store(#[from] scal3ml_store::StoreError),
}

/// Result alias of this crate.
pub type MarketResult<T> = Result<T, MarketError>;

/// Maps an error from a contract call or send into a [`MarketError`]: custom errors into sentences, transport
/// failures into [`MarketError::Unreachable`]. `token` is a label for the token involved, if any.
pub(crate) fn from_contract(op: &'static str, url: &str, err: ContractError) -> MarketError {
    if let Some(e) = err.as_decoded_interface_error::<MarketplaceErrors>() {
        return from_marketplace(op, e);
    }
    if let Some(e) = err.as_decoded_interface_error::<AttestationsErrors>() {
        return MarketError::Rejected {
            op,
            reason: attestation_reason(e),
        };
    }
    if let Some(e) = err.as_decoded_interface_error::<TestTokenErrors>() {
        return MarketError::Rejected {
            op,
            reason: erc20_reason(e),
        };
    }
    match err {
        ContractError::TransportError(e) => from_transport(op, url, e),
        ContractError::PendingTransactionError(e) => MarketError::Rpc {
            op,
            url: url.to_string(),
            reason: format!("waiting for the receipt failed: {e}"),
        },
        other => MarketError::Rpc {
            op,
            url: url.to_string(),
            reason: other.to_string(),
        },
    }
}

/// Maps a transport error: no answer is [`MarketError::Unreachable`], an error answer is [`MarketError::Rpc`].
pub(crate) fn from_transport(op: &'static str, url: &str, err: TransportError) -> MarketError {
    match err {
        RpcError::Transport(kind) => MarketError::Unreachable {
            url: url.to_string(),
            reason: kind.to_string(),
        },
        RpcError::ErrorResp(payload) => {
            let msg = payload.message.to_string();
            if msg.to_ascii_lowercase().contains("revert") {
                MarketError::Rejected {
                    op,
                    reason: format!("{msg} (the contract gave no reason the SDK knows)"),
                }
            } else {
                MarketError::Rpc {
                    op,
                    url: url.to_string(),
                    reason: msg,
                }
            }
        }
        other => MarketError::Rpc {
            op,
            url: url.to_string(),
            reason: other.to_string(),
        },
    }
}

fn asset(id: U256) -> String {
    id.to_string()
}

fn from_marketplace(op: &'static str, e: MarketplaceErrors) -> MarketError {
    use MarketplaceErrors as E;
    let rejected = |reason: String| MarketError::Rejected { op, reason };
    match e {
        E::UnknownAsset(e) => match AssetId::try_from(e.assetId) {
            Ok(asset) => MarketError::UnknownAsset { asset },
            Err(_) => rejected(format!("asset {} does not exist", e.assetId)),
        },
        E::NotListed(e) => match AssetId::try_from(e.assetId) {
            Ok(asset) => MarketError::NotListed {
                asset,
                token: token_label(e.token),
            },
            Err(_) => rejected(format!("asset {} is not listed", e.assetId)),
        },
        // Only `buy` raises it; `Market::buy` fills in the asset and formats the figures in the token's units.
        E::PriceTooHigh(e) => MarketError::PriceTooHigh {
            asset: AssetId(0),
            price: e.price.to_string(),
            max_price: e.maxPrice.to_string(),
            symbol: "base units".into(),
            price_raw: e.price,
        },
        // Only `buy` raises these; `Market::buy` fills in the asset.
        E::DurationTooShort(e) => MarketError::DurationChanged {
            asset: AssetId(0),
            now: duration_text(e.duration),
            read: duration_text(e.minDuration),
        },
        E::MetadataChanged(_) => MarketError::MetadataChanged { asset: AssetId(0) },
        E::ReceivedWrongAmount(e) => rejected(format!(
            "token {} delivered {} units to the marketplace instead of {}: it charges a fee on transfer, which \
             the marketplace refuses; pay in another token (nothing was paid)",
            e.token, e.received, e.expected
        )),
        E::NotAssetOwner(e) => rejected(format!(
            "only the owner of asset {} may do this, and {} is not its owner; sign with the owner's account",
            asset(e.assetId),
            e.caller
        )),
        E::EmptyCid(_) => rejected("a content or metadata CID was empty; pass both".into()),
        E::MissingGateway(_) => rejected(
            "an encrypted asset needs an access gateway URL (where buyers get the key); pass --gateway-url".into(),
        ),
        E::TooManyParents(e) => rejected(format!(
            "{} parents named, at most {} are allowed; keep the closest ones",
            e.count, e.max
        )),
        E::DuplicateParent(e) => rejected(format!(
            "parent {} is named twice; name each parent once",
            asset(e.parentId)
        )),
        E::ZeroRoyalty(e) => rejected(format!(
            "parent {} has a royalty of 0; give it at least 1 basis point or leave it out",
            asset(e.parentId)
        )),
        E::RoyaltyTooHigh(e) => rejected(format!(
            "the parents' royalties add up to {} basis points, more than {} (100%); lower them",
            e.totalBps, e.max
        )),
        E::LineageTooDeep(e) => rejected(format!(
            "the lineage would be {} levels deep, at most {} are allowed; name a closer parent",
            e.depth, e.max
        )),
        E::TooManyAncestors(e) => rejected(format!(
            "a sale would pay {} ancestors, at most {} are allowed; name fewer parents",
            e.count, e.max
        )),
        E::NoShareholders(_) => {
            rejected("an asset needs at least one shareholder; name the publisher".into())
        }
        E::ZeroShares(e) => rejected(format!(
            "{} was given 0 shares; give a positive number or leave the account out",
            e.account
        )),
        E::ZeroAddress(_) => rejected("the zero address is not allowed here; name a real account".into()),
        E::TooManyShares(e) => rejected(format!(
            "{} shares in total is more than the contract can hold ({}); use smaller numbers",
            e.total, e.max
        )),
        E::TokenNotAllowed(e) => rejected(format!(
            "token {} is not accepted for payment on this marketplace; use ETH or one of its payment tokens",
            e.token
        )),
        E::WrongPayment(e) => rejected(format!(
            "{} wei was sent but the purchase needs exactly {}",
            e.sent, e.expected
        )),
        E::Deprecated(e) => rejected(format!(
            "asset {} is deprecated: it can no longer be bought or changed (existing licenses stay valid)",
            asset(e.assetId)
        )),
        E::AlreadyPerpetual(e) => rejected(format!(
            "{} already holds a perpetual license for asset {}; there is nothing to buy",
            e.account,
            asset(e.assetId)
        )),
        E::InsufficientShares(e) => rejected(format!(
            "{} holds {} shares of asset {} but {} were asked for; move at most what it holds",
            e.account,
            e.balance,
            asset(e.assetId),
            e.needed
        )),
        E::NothingToWithdraw(e) => rejected(format!(
            "{} has nothing to withdraw in {}{}; check `earnings` first",
            e.account,
            token_label(e.token),
            if e.assetId.is_zero() {
                String::new()
            } else {
                format!(" from asset {}", e.assetId)
            }
        )),
        E::PaymentFailed(e) => rejected(format!(
            "paying {} wei to {} failed: the receiving contract refused ether; withdraw from an account that accepts it",
            e.amount, e.to
        )),
        E::FeeTooHigh(e) => rejected(format!(
            "a fee of {} basis points is above the maximum {}",
            e.bps, e.max
        )),
        E::NotFeeRecipient(e) => rejected(format!(
            "{} is not the fee recipient; sign with the fee recipient's account",
            e.caller
        )),
        E::TooManyPaymentTokens(e) => rejected(format!(
            "the marketplace already accepts the maximum of {} payment tokens",
            e.max
        )),
        E::TokenAlreadyAllowed(e) => rejected(format!("token {} is already accepted", e.token)),
        E::UnknownProposal(e) => rejected(format!(
            "proposal {} does not exist; check the id",
            e.proposalId
        )),
        E::ProposalNotOpen(e) => rejected(format!(
            "proposal {} is not open: {}",
            e.proposalId,
            match e.state {
                2 => "it was already executed",
                3 => "the asset's owner rejected it",
                4 => "its voting deadline passed (it expired); propose it again with `scal3ml propose`",
                _ => "it is in no state that takes this",
            }
        )),
        E::AlreadyVoted(e) => rejected(format!(
            "{} already voted on proposal {}; a vote cannot be changed (see the tally with `scal3ml proposal {}`)",
            e.voter, e.proposalId, e.proposalId
        )),
        E::NoVotingPower(e) => rejected(format!(
            "{} held no shares of the asset when proposal {} was made, so it cannot vote",
            e.voter, e.proposalId
        )),
        E::ProposalNotPassed(e) => rejected(format!(
            "proposal {} has {} yes votes but needs {}: it needs {} more yes shares (a majority of all shares at \
             its snapshot); wait for more votes",
            e.proposalId,
            e.yesVotes,
            e.needed,
            e.needed.saturating_sub(e.yesVotes)
        )),
        other => rejected(format!("{other:?}")),
    }
}

fn attestation_reason(e: AttestationsErrors) -> String {
    use AttestationsErrors as E;
    match e {
        E::WrongAssetKind(e) => format!(
            "asset {} has kind {} but {} was expected (0 dataset, 1 model); attest a model on a dataset",
            e.assetId, e.kind, e.expected
        ),
        E::UnknownVersion(e) => format!(
            "asset {} has {} versions, so version {} does not exist",
            e.assetId, e.versionCount, e.version
        ),
        E::EmptyMetric(_) => "the metric name is empty; name the metric".into(),
        E::EmptyReport(_) => "the report CID is empty; store the report and pass its CID".into(),
        E::UnknownAttestation(e) => {
            format!(
                "attestation {} does not exist; check the id",
                e.attestationId
            )
        }
        E::AlreadyReviewed(e) => format!(
            "{} already endorsed or disputed attestation {}",
            e.reviewer, e.attestationId
        ),
        E::OwnAttestation(e) => format!(
            "attestation {} is your own; someone else must review it",
            e.attestationId
        ),
    }
}

fn erc20_reason(e: TestTokenErrors) -> String {
    use TestTokenErrors as E;
    match e {
        E::ERC20InsufficientBalance(e) => format!(
            "{} holds {} token units but {} are needed; fund the account",
            e.sender, e.balance, e.needed
        ),
        E::ERC20InsufficientAllowance(e) => format!(
            "the marketplace may spend {} token units of the buyer but needs {}; approve it first",
            e.allowance, e.needed
        ),
        other => format!("the token refused: {other:?}"),
    }
}

/// A license duration in the contract's encodings as people read it: 0 (a listing's) and `u64::MAX` (a
/// buyer's minimum) are perpetual; whole days, hours or minutes when exact, else seconds ("1 s", "30 days").
pub fn duration_text(seconds: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(86_400, "day"), (3_600, "hour"), (60, "minute")];
    if seconds == 0 || seconds == u64::MAX {
        return "perpetual".into();
    }
    for (size, unit) in UNITS {
        if seconds.is_multiple_of(size) {
            let n = seconds / size;
            return format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
        }
    }
    format!("{seconds} s")
}

/// `ETH` for the zero address, else the address.
pub(crate) fn token_label(token: Address) -> String {
    if token == Address::ZERO {
        "ETH".into()
    } else {
        token.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::{rpc::json_rpc::ErrorPayload, sol_types::SolError, transports::TransportErrorKind};
    use scal3ml_contracts::{Marketplace, TestToken};

    /// A node's answer to a call that reverted with `data`, as geth, anvil and our devnet send it.
    fn reverted(data: Vec<u8>) -> ContractError {
        let hex = format!("\"0x{}\"", alloy::hex::encode(data));
        ContractError::TransportError(RpcError::ErrorResp(ErrorPayload {
            code: 3,
            message: "execution reverted".into(),
            data: Some(serde_json::value::RawValue::from_string(hex).unwrap()),
        }))
    }

    fn map(data: Vec<u8>) -> MarketError {
        from_contract("buy", "http://node", reverted(data))
    }

    #[test]
    fn a_price_that_rose_in_flight_keeps_its_figures() {
        let e = Marketplace::PriceTooHigh {
            price: U256::from(60),
            maxPrice: U256::from(50),
        };
        match map(e.abi_encode()) {
            MarketError::PriceTooHigh { price_raw, .. } => assert_eq!(price_raw, U256::from(60)),
            other => panic!("expected PriceTooHigh, got {other}"),
        }
    }

    #[test]
    fn changed_terms_say_what_changed() {
        let e = Marketplace::DurationTooShort {
            duration: 1,
            minDuration: 30 * 86_400,
        };
        let msg = map(e.abi_encode()).to_string();
        assert!(
            msg.contains("the license is now 1 s, not 30 days") && msg.contains("scal3ml show"),
            "{msg}"
        );
        let e = Marketplace::DurationTooShort {
            duration: 7_200,
            minDuration: u64::MAX,
        };
        let msg = map(e.abi_encode()).to_string();
        assert!(msg.contains("now 2 hours, not perpetual"), "{msg}");
        let e = Marketplace::MetadataChanged {
            current: Default::default(),
            seen: Default::default(),
        };
        assert!(map(e.abi_encode()).to_string().contains("card of asset"));
    }

    #[test]
    fn custom_errors_become_sentences() {
        let unknown = Marketplace::UnknownAsset {
            assetId: U256::from(7),
        };
        assert!(matches!(
            map(unknown.abi_encode()),
            MarketError::UnknownAsset { asset: AssetId(7) }
        ));
        let owner = Marketplace::NotAssetOwner {
            assetId: U256::from(3),
            caller: Address::repeat_byte(1),
        };
        let msg = map(owner.abi_encode()).to_string();
        assert!(msg.contains("only the owner of asset 3"), "{msg}");
        let allowance = TestToken::ERC20InsufficientAllowance {
            spender: Address::repeat_byte(2),
            allowance: U256::from(1),
            needed: U256::from(5),
        };
        let msg = map(allowance.abi_encode()).to_string();
        assert!(msg.contains("approve it first"), "{msg}");
        let msg = map(vec![0xde, 0xad, 0xbe, 0xef]).to_string();
        assert!(msg.contains("no reason the SDK knows"), "{msg}");
    }

    #[test]
    fn no_answer_is_unreachable_with_the_url() {
        let e = ContractError::TransportError(TransportErrorKind::custom_str("connection refused"));
        let msg = from_contract("buy", "http://127.0.0.1:9", e).to_string();
        assert!(
            msg.contains("cannot reach the chain at http://127.0.0.1:9")
                && msg.contains("is the node running"),
            "{msg}"
        );
    }
}
