//! Prepared transactions for browser wallets (`/api/tx/*`): the server checks and encodes each call with the
//! SDK's `prepare_*` (the same checks and calldata as the command line sends), the wallet signs and sends it.
//! Also the chain reads the pages need per account: access state and earnings. See docs/web.md.
//!
//! [`market_error`] is the one place an SDK error becomes an HTTP answer.

use crate::api::AppState;
use alloy::{
    primitives::{Address, U256},
    providers::DynProvider,
};
use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use scal3ml_api::ApiError;
use scal3ml_api::{
    AccessInfo, ApiJson, BuyBody, EarningInfo, PreparedTx, ProposalBody, VoteBody, WithdrawBody,
};
use scal3ml_market::{BuyTerms, LicenseExpiry, Market, MarketError, PreparedCall, TokenInfo};
use scal3ml_primitives::{AssetId, Cid, LicenseDuration, ProposalId};
use std::sync::Arc;
use utoipa_axum::routes;

pub(crate) fn routes() -> crate::api::Routes {
    crate::api::Routes::new()
        .routes(routes!(buy))
        .routes(routes!(withdraw))
        .routes(routes!(vote))
        .routes(routes!(execute))
        .routes(routes!(reject))
        .routes(routes!(access))
        .routes(routes!(earnings))
}

/// Maps an SDK error to the API's: the SDK's sentence as the message, under a stable code. A request the chain
/// refuses is the client's to fix (400, 404 or 409); an unreachable chain is the node's (502).
pub(crate) fn market_error(e: MarketError) -> ApiError {
    let (status, code) = match &e {
        MarketError::UnknownAsset { .. } => (StatusCode::NOT_FOUND, "unknown_asset"),
        MarketError::NotListed { .. } => (StatusCode::CONFLICT, "not_listed"),
        MarketError::InsufficientFunds { .. } => (StatusCode::CONFLICT, "insufficient_funds"),
        MarketError::PriceTooHigh { .. } => (StatusCode::CONFLICT, "price_changed"),
        MarketError::DurationChanged { .. } => (StatusCode::CONFLICT, "duration_changed"),
        MarketError::MetadataChanged { .. } => (StatusCode::CONFLICT, "card_changed"),
        MarketError::Rejected { .. } => (StatusCode::CONFLICT, "rejected"),
        MarketError::Reverted { .. } => (StatusCode::CONFLICT, "reverted"),
        MarketError::Invalid(_) | MarketError::Amount { .. } => {
            (StatusCode::BAD_REQUEST, "bad_request")
        }
        MarketError::Token { .. } => (StatusCode::BAD_REQUEST, "bad_token"),
        MarketError::Unreachable { .. } | MarketError::Rpc { .. } => {
            (StatusCode::BAD_GATEWAY, "chain_unavailable")
        }
        _ => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
    };
    ApiError::new(status, code, e.to_string())
}

/// An address from a path segment.
pub(crate) fn address(text: &str) -> Result<Address, ApiError> {
    text.parse().map_err(|_| {
        ApiError::bad_request(format!(
            "{text:?} is not an account address: expected 0x and 40 hex digits"
        ))
    })
}

/// The marketplace as `account` sends, once the chain says it can send: an account with contract code cannot
/// (EIP-3607), and the chain's refusal of the simulation would otherwise read as the chain being unavailable.
async fn market_for(state: &AppState, account: Address) -> Result<Market<DynProvider>, ApiError> {
    use alloy::providers::Provider as _;
    let code = state
        .market
        .provider()
        .get_code_at(account)
        .await
        .map_err(|e| {
            ApiError::new(
                StatusCode::BAD_GATEWAY,
                "chain_unavailable",
                format!("cannot read account {account} from the chain: {e}; try again in a moment"),
            )
        })?;
    // EIP-7702: an account that delegates to code is still an account (its code is 0xef0100 and an address).
    if !code.is_empty() && !code.starts_with(&[0xef, 0x01, 0x00]) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "contract_account",
            format!(
                "{account} is a contract, and a transaction is sent from an account without code (a wallet's): \
                 connect the wallet of the account that should send it"
            ),
        ));
    }
    Ok(state.market.with_sender(account))
}

fn steps(result: Result<Vec<PreparedCall>, MarketError>) -> Result<Json<PreparedTx>, ApiError> {
    Ok(Json(PreparedTx {
        steps: result.map_err(market_error)?,
    }))
}

/// The steps of buying a license on the terms the page showed (price, duration, card): an ERC-20 approval
/// first when the allowance is short, then the purchase, which reverts if the terms changed before it is mined.
#[utoipa::path(post, path = "/api/tx/buy", request_body = BuyBody,
    params(("x-csrf-token" = String, Header, description = "the scal3ml_csrf cookie's value")),
    responses((status = 200, body = PreparedTx), (status = 403, description = "no CSRF token"),
        (status = 400, description = "a body that does not parse, or an account that is a contract (`contract_account`)"),
        (status = 502, description = "the chain cannot be asked (`chain_unavailable`)"),
        (status = 404, description = "no such asset"),
        (status = 409, description = "not listed in this token, the terms changed since the page showed them, \
            or the account cannot pay")))]
pub(crate) async fn buy(
    State(state): State<Arc<AppState>>,
    _: crate::csrf::Csrf,
    ApiJson(b): ApiJson<BuyBody>,
) -> Result<Json<PreparedTx>, ApiError> {
    let asset = AssetId(b.asset);
    let metadata_cid: Cid = b.metadata_cid.parse().map_err(|_| {
        ApiError::bad_request(format!(
            "metadata_cid {:?} is not a CID: send the card's CID as the asset page shows it",
            b.metadata_cid
        ))
    })?;
    let max_price: U256 = b.max_price.parse().map_err(|_| {
        ApiError::bad_request(format!(
            "max_price {:?} is not a whole number of base units (wei for ETH)",
            b.max_price
        ))
    })?;
    // The terms the page showed, not the ones listed now: if they differ, the buyer is told before the
    // wallet opens, and if they change after, the purchase reverts.
    let terms = BuyTerms {
        token: b.token,
        max_price,
        duration: LicenseDuration::from_seconds(b.duration),
        metadata_cid,
    };
    let market = market_for(&state, b.account).await?;
    steps(market.prepare_buy(asset, &terms).await)
}

/// The withdrawal of the account's earnings in one token from the named assets.
#[utoipa::path(post, path = "/api/tx/withdraw", request_body = WithdrawBody,
    params(("x-csrf-token" = String, Header, description = "the scal3ml_csrf cookie's value")),
    responses((status = 200, body = PreparedTx), (status = 403, description = "no CSRF token"),
        (status = 400, description = "a body that does not parse, or an account that is a contract (`contract_account`)"),
        (status = 502, description = "the chain cannot be asked (`chain_unavailable`)"),
        (status = 409, description = "nothing to withdraw")))]
pub(crate) async fn withdraw(
    State(state): State<Arc<AppState>>,
    _: crate::csrf::Csrf,
    ApiJson(b): ApiJson<WithdrawBody>,
) -> Result<Json<PreparedTx>, ApiError> {
    let assets: Vec<AssetId> = b.assets.into_iter().map(AssetId).collect();
    steps(
        market_for(&state, b.account)
            .await?
            .prepare_withdraw(b.token, &assets)
            .await,
    )
}

/// A vote on an open proposal.
#[utoipa::path(post, path = "/api/tx/vote", request_body = VoteBody,
    params(("x-csrf-token" = String, Header, description = "the scal3ml_csrf cookie's value")),
    responses((status = 200, body = PreparedTx), (status = 403, description = "no CSRF token"),
        (status = 400, description = "a body that does not parse, or an account that is a contract (`contract_account`)"),
        (status = 502, description = "the chain cannot be asked (`chain_unavailable`)"),
        (status = 409, description = "the contract would refuse the vote")))]
pub(crate) async fn vote(
    State(state): State<Arc<AppState>>,
    _: crate::csrf::Csrf,
    ApiJson(b): ApiJson<VoteBody>,
) -> Result<Json<PreparedTx>, ApiError> {
    steps(
        market_for(&state, b.account)
            .await?
            .prepare_vote(ProposalId(b.proposal), b.support)
            .await,
    )
}

/// Executing a passed proposal.
#[utoipa::path(post, path = "/api/tx/execute", request_body = ProposalBody,
    params(("x-csrf-token" = String, Header, description = "the scal3ml_csrf cookie's value")),
    responses((status = 200, body = PreparedTx), (status = 403, description = "no CSRF token"),
        (status = 400, description = "a body that does not parse, or an account that is a contract (`contract_account`)"),
        (status = 502, description = "the chain cannot be asked (`chain_unavailable`)"),
        (status = 409, description = "the proposal has not passed, or (`no_proposal_key`) its asset is encrypted and the gateway holds no key for its content")))]
pub(crate) async fn execute(
    State(state): State<Arc<AppState>>,
    _: crate::csrf::Csrf,
    ApiJson(b): ApiJson<ProposalBody>,
) -> Result<Json<PreparedTx>, ApiError> {
    proposal_key_is_held(&state, ProposalId(b.proposal)).await?;
    steps(
        market_for(&state, b.account)
            .await?
            .prepare_execute(ProposalId(b.proposal))
            .await,
    )
}

/// For a proposal of an encrypted asset, refuses (409 `no_proposal_key`) unless the asset's gateway holds the key
/// its proposer deposited: executing it would add a version nobody can read. `scal3ml execute` asks the same.
async fn proposal_key_is_held(state: &AppState, proposal: ProposalId) -> Result<(), ApiError> {
    // The chain, not the catalog, says whose proposal it is and whether its asset is encrypted: a proposal the
    // catalog has not read yet is checked all the same.
    let info = match state.market.proposal(proposal).await {
        Ok(info) if info.proposer != alloy::primitives::Address::ZERO => info,
        // No such proposal: the contract's own refusal says it better.
        _ => return Ok(()),
    };
    if !state
        .market
        .asset_record(info.asset)
        .await
        .map_err(market_error)?
        .encrypted
    {
        return Ok(());
    }
    let asset = info.asset.0;
    let gateway = crate::api::query(state, move |i| i.asset(AssetId(asset)))
        .await?
        .map(|d| d.gateway_url)
        .filter(|g| !g.is_empty())
        .unwrap_or_else(|| state.network.node_url.clone());
    // A gateway that has not read the proposal yet answers 404 `unknown_proposal`, saying to wait a moment.
    scal3ml_access::client::AccessClient::new(&gateway, &state.http)
        .with_node_call(&state.node_call)
        .ensure_proposal_key(proposal)
        .await
        .map_err(ApiError::from)
}

/// Rejecting an open proposal (the asset's owner).
#[utoipa::path(post, path = "/api/tx/reject", request_body = ProposalBody,
    params(("x-csrf-token" = String, Header, description = "the scal3ml_csrf cookie's value")),
    responses((status = 200, body = PreparedTx), (status = 403, description = "no CSRF token"),
        (status = 400, description = "a body that does not parse, or an account that is a contract (`contract_account`)"),
        (status = 502, description = "the chain cannot be asked (`chain_unavailable`)"),
        (status = 409, description = "not the owner, or the proposal is not open")))]
pub(crate) async fn reject(
    State(state): State<Arc<AppState>>,
    _: crate::csrf::Csrf,
    ApiJson(b): ApiJson<ProposalBody>,
) -> Result<Json<PreparedTx>, ApiError> {
    steps(
        market_for(&state, b.account)
            .await?
            .prepare_reject(ProposalId(b.proposal))
            .await,
    )
}

/// An account's access to an asset, read from the chain.
#[utoipa::path(get, path = "/api/assets/{id}/access/{account}",
    params(("id" = u64, Path, description = "asset id"), ("account" = String, Path, description = "0x address", pattern = "^(0x)?[0-9a-fA-F]{40}$")),
    responses((status = 200, body = AccessInfo), (status = 400, description = "not an address"),
        (status = 404, description = "no such asset")))]
pub(crate) async fn access(
    State(state): State<Arc<AppState>>,
    Path((id, account)): Path<(u64, String)>,
) -> Result<Json<AccessInfo>, ApiError> {
    let account = address(&account)?;
    let asset = AssetId(id);
    let m = &state.market;
    // owner_of reads the record first: an unknown asset is a 404, not "no access".
    let owner = m.owner_of(asset).await.map_err(market_error)?;
    let (has_access, expiry, shares) = tokio::try_join!(
        m.has_access(asset, account),
        m.license_expiry(asset, account),
        m.shares_of(asset, account),
    )
    .map_err(market_error)?;
    Ok(Json(AccessInfo {
        has_access,
        expiry: match expiry {
            LicenseExpiry::Until(t) => Some(t),
            LicenseExpiry::None | LicenseExpiry::Perpetual => None,
        },
        perpetual: expiry == LicenseExpiry::Perpetual,
        owner: owner == account,
        shares,
    }))
}

/// What an account may withdraw now, per asset it holds shares in (or owns) and per payment token.
#[utoipa::path(get, path = "/api/accounts/{address}/earnings",
    params(("address" = String, Path, description = "0x address", pattern = "^(0x)?[0-9a-fA-F]{40}$")),
    responses((status = 200, body = [EarningInfo]), (status = 400, description = "not an address")))]
pub(crate) async fn earnings(
    State(state): State<Arc<AppState>>,
    Path(text): Path<String>,
) -> Result<Json<Vec<EarningInfo>>, ApiError> {
    let account = address(&text)?;
    let view = crate::api::query(&state, move |i| i.account(account)).await?;
    let mut assets: Vec<AssetId> = view
        .holdings
        .iter()
        .map(|h| AssetId(h.asset))
        .chain(view.assets_owned.iter().map(|a| AssetId(a.id)))
        .collect();
    assets.sort_unstable();
    assets.dedup();
    let tokens: Vec<TokenInfo> = std::iter::once(TokenInfo::eth())
        .chain(state.network.tokens.iter().map(|t| TokenInfo {
            address: t.address,
            symbol: t.symbol.clone(),
            decimals: t.decimals,
        }))
        .collect();
    let addresses: Vec<Address> = tokens.iter().map(|t| t.address).collect();
    let found = state
        .market
        .earnings(account, &assets, &addresses)
        .await
        .map_err(market_error)?;
    Ok(Json(
        found
            .into_iter()
            .map(|e| {
                let token = tokens
                    .iter()
                    .find(|t| t.address == e.token)
                    .expect("earnings are only asked for these tokens");
                EarningInfo {
                    asset: e.asset.0,
                    token: e.token,
                    symbol: token.symbol.clone(),
                    claimable: e.claimable.to_string(),
                    formatted: token.format(e.claimable),
                }
            })
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdk_errors_keep_their_sentence_under_a_stable_code() {
        let e = market_error(MarketError::UnknownAsset { asset: AssetId(9) });
        assert_eq!(
            (e.status, e.code.as_str()),
            (StatusCode::NOT_FOUND, "unknown_asset")
        );
        assert!(e.message.contains("asset 9 does not exist"), "{e}");
        let e = market_error(MarketError::Rejected {
            op: "vote",
            reason: "proposal 3 does not exist; check the id".into(),
        });
        assert_eq!(
            (e.status, e.code.as_str()),
            (StatusCode::CONFLICT, "rejected")
        );
        let e = market_error(MarketError::Unreachable {
            url: "http://x".into(),
            reason: "refused".into(),
        });
        assert_eq!(e.status, StatusCode::BAD_GATEWAY);
    }
}
