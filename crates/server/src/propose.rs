//! `POST /api/propose`: the browser's `scal3ml propose`, the upload half of a proposal. The same order as the
//! command line (crates/cli/src/commands/propose.rs) and the same upload as the browser's publish
//! ([`crate::publish`]), except that the node cannot sign:
//!
//! 1. the fields come first (account, asset, shares, message); every bad one is named in one 422 answer before
//!    any file is read;
//! 2. for an encrypted asset, the node draws a fresh key for the new version (each version has its own key,
//!    docs/access.md), which the proposer's wallet then deposits with the asset's gateway (this node);
//! 3. the files stream to a staging folder, are imported (encrypted when the asset is) with the current card,
//!    its file list replaced, and the message; all three are pinned and kept as a CAR upload is
//!    ([`crate::uploads`]: collected unless proposed);
//! 4. the answer: the CIDs, the key deposit for the new content to sign (when encrypted) and the prepared
//!    propose transaction.

use crate::{
    api::{AppState, query},
    diff,
    publish::{common_folder, deposit, one_field, stage, unreadable},
    tx::market_error,
};
use alloy::primitives::Address;
use axum::{
    Json,
    extract::{DefaultBodyLimit, Multipart, State},
    http::HeaderMap,
};
use scal3ml_api::ApiError;
use scal3ml_api::{PreparedTx, ProposeAnswer};
use scal3ml_market::publish::{self as inputs, CardFields};
use scal3ml_primitives::{AssetId, card::Card};
use scal3ml_store::{PinMode, PinStore};
use std::{
    collections::{BTreeMap, HashSet},
    sync::Arc,
};
use utoipa_axum::{router::UtoipaMethodRouterExt as _, routes};

/// The longest message a proposal carries (it is a Markdown note to voters, not a document).
const MAX_MESSAGE_BYTES: usize = 64 << 10;

pub(crate) fn routes(state: &Arc<AppState>) -> crate::api::Routes {
    // The node's own limits apply instead of axum's 2 MB default for multipart (crate::uploads, which meters
    // the body as it streams).
    let guard =
        axum::middleware::from_fn_with_state((state.clone(), "propose"), crate::uploads::guard);
    crate::api::Routes::new()
        .routes(routes!(propose).map(|r| r.route_layer(guard).layer(DefaultBodyLimit::disable())))
}

/// The fields, checked.
struct Checked {
    account: Address,
    asset: AssetId,
    requested: u64,
    message: String,
    card: Card,
    /// Whether the asset is encrypted (the new version then gets a key of its own).
    encrypted: bool,
}

/// The asset's access gateway, when it is this node; the browser flow signs nothing for another gateway.
async fn gateway_of(state: &AppState, asset: AssetId) -> Result<String, ApiError> {
    let detail = query(state, move |i| i.asset(AssetId(asset.0)))
        .await?
        .ok_or_else(|| diff::no_asset(asset.0))?;
    if !diff::gateway_is_here(state, &detail.gateway_url) {
        return Err(ApiError::bad_request(format!(
            "asset {asset}'s key is kept by {}, not by this node: propose with `scal3ml propose {asset}`, \
             which asks that gateway",
            detail.gateway_url
        ))
        .with_code("other_gateway"));
    }
    Ok(scal3ml_access::eip712::normalize_gateway(
        &state.network.node_url,
    ))
}

/// Uploads a proposed new version from a browser and answers with what the wallet signs and sends.
#[utoipa::path(post, path = "/api/propose",
    request_body(content = String, content_type = "multipart/form-data",
        description = "the fields (account, asset, shares as a count or P% of all shares after it passes, message \
            in Markdown), then one `file` part per file, its filename the path in the asset"),
    params(("x-csrf-token" = String, Header, description = "the scal3ml_csrf cookie's value")),
    responses((status = 200, body = ProposeAnswer),
        (status = 401, description = "not signed in (`unsigned_upload`): sign in with Ethereum at /access/siwe first, or send a signed UploadRequest in x-scal3ml-upload"),
        (status = 403, description = "no CSRF token, or the form's account is not the signed-in one (`account_mismatch`)"),
        (status = 429, description = "too many uploads, or over the unpublished bytes an account, an address or the node holds"),
        (status = 413, description = "larger than the node accepts"),
        (status = 422, description = "invalid_fields: `fields` names each bad field")))]
pub(crate) async fn propose(
    State(state): State<Arc<AppState>>,
    axum::Extension(ticket): axum::Extension<Arc<crate::uploads::Ticket>>,
    headers: HeaderMap,
    mut multipart: Multipart,
) -> Result<Json<ProposeAnswer>, ApiError> {
    crate::csrf::check(&headers)?;
    let staging = tempfile::tempdir()
        .map_err(|e| ApiError::internal(format!("creating a staging folder: {e}")))?;
    let root = staging.path().join("version");
    let mut form: BTreeMap<String, String> = BTreeMap::new();
    let mut checked: Option<Checked> = None;
    let mut paths: Vec<String> = Vec::new();
    let mut seen = HashSet::new();
    while let Some(field) = multipart.next_field().await.map_err(unreadable)? {
        let name = field.name().unwrap_or_default().to_string();
        if name == "file" {
            if checked.is_none() {
                checked = Some(check(&state, &form, true).await?);
                crate::publish::same_account(&ticket, checked.as_ref().map(|c| c.account))?;
            }
            paths.push(stage(field, &root, &mut seen).await?);
            continue;
        }
        if checked.is_some() {
            return Err(one_field(
                &name,
                "this field came after the files: send the fields first, then the files",
            ));
        }
        let value = field.text().await.map_err(unreadable)?;
        form.insert(name, value);
    }
    let Some(checked) = checked else {
        check(&state, &form, false).await?;
        unreachable!("check refuses a form without files");
    };

    let source = match paths.as_slice() {
        [one] => root.join(one),
        many => root.join(common_folder(many).unwrap_or_default()),
    };
    let imported = inputs::import_version(
        &state.store,
        &source,
        checked.card,
        &checked.message,
        checked.encrypted,
    )
    .await
    .map_err(|e| match e {
        scal3ml_market::MarketError::Store(_) | scal3ml_market::MarketError::Io { .. } => {
            ApiError::internal(format!("importing the new version: {e}"))
        }
        other => one_field("file", &other.to_string()),
    })?;
    let (prepared, card, card_cid, description_cid) = (
        &imported.content,
        &imported.card,
        imported.card_cid,
        imported.description_cid,
    );
    let roots = imported.roots();
    let fresh = crate::uploads::not_pinned(&state, &roots).await?;
    for cid in &roots {
        state
            .store
            .pin(cid, PinMode::Recursive)
            .await
            .map_err(|e| ApiError::internal(format!("pinning {cid}: {e}")))?;
    }
    state.uploads.commit(&ticket, &fresh).await?;

    let content_cid = prepared.root.to_string();
    let deposit = match &imported.key {
        Some(key) => Some(deposit(
            checked.account,
            state.network.chain_id,
            &state.network.node_url,
            &content_cid,
            key,
        )?),
        None => None,
    };
    let steps = state
        .market
        .with_sender(checked.account)
        .prepare_propose(
            checked.asset,
            &prepared.root,
            &card_cid,
            checked.requested,
            &description_cid,
        )
        .await
        .map_err(market_error)?;
    Ok(Json(ProposeAnswer {
        asset: checked.asset.0,
        content_cid,
        metadata_cid: card_cid.to_string(),
        description_cid: description_cid.to_string(),
        requested_shares: checked.requested,
        encrypted: imported.key.is_some(),
        files: card.files.clone(),
        deposit,
        tx: PreparedTx { steps },
    }))
}

/// Checks every field; `has_files` says whether a file part came. All problems are reported at once; the key
/// of an encrypted asset is fetched last, once the rest is right.
async fn check(
    state: &AppState,
    form: &BTreeMap<String, String>,
    has_files: bool,
) -> Result<Checked, ApiError> {
    let get = |name: &str| form.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
    let mut bad: BTreeMap<String, String> = BTreeMap::new();
    let account = match get("account").map(str::parse::<Address>) {
        Some(Ok(a)) => Some(a),
        Some(Err(_)) => {
            bad.insert(
                "account".into(),
                "not an address: 0x and 40 hex digits; connect a wallet".into(),
            );
            None
        }
        None => {
            bad.insert(
                "account".into(),
                "connect a wallet: the proposer's account is missing".into(),
            );
            None
        }
    };
    let record = match get("asset").map(str::parse::<u64>) {
        Some(Ok(id)) => match state.market.asset_record(AssetId(id)).await {
            Ok(r) if r.deprecated => {
                bad.insert(
                    "asset".into(),
                    format!("asset {id} is deprecated: it takes no more proposals"),
                );
                None
            }
            Ok(r) => Some((AssetId(id), r)),
            Err(e) => {
                bad.insert("asset".into(), format!("asset {id}: {e}"));
                None
            }
        },
        _ => {
            bad.insert(
                "asset".into(),
                "the asset id is missing or not a number".into(),
            );
            None
        }
    };
    let requested = match (&record, get("shares")) {
        (Some((_, r)), Some(text)) => match inputs::parse_requested_shares(text, r.total_shares) {
            Ok(n) => Some(n),
            Err(e) => {
                bad.insert("shares".into(), e.message);
                None
            }
        },
        (_, None) => {
            bad.insert(
                "shares".into(),
                "say how many shares you ask for: a number (1000) or a percentage of all shares after it passes (10%)"
                    .into(),
            );
            None
        }
        (None, Some(_)) => None,
    };
    let message = form.get("message").cloned().unwrap_or_default();
    if message.trim().is_empty() {
        bad.insert(
            "message".into(),
            "say what the new version changes, so shareholders can decide".into(),
        );
    } else if message.len() > MAX_MESSAGE_BYTES {
        bad.insert(
            "message".into(),
            format!(
                "at most {} KiB: link to a longer text instead",
                MAX_MESSAGE_BYTES >> 10
            ),
        );
    }
    if !has_files {
        bad.insert("file".into(), "choose the files of the new version".into());
    }
    let card = match &record {
        Some((asset, _)) => match current_card(state, *asset).await {
            Ok(card) => Some(card),
            Err(e) => {
                bad.insert("asset".into(), e);
                None
            }
        },
        None => None,
    };
    let (Some(account), Some((asset, record)), Some(requested), Some(card), true) =
        (account, record, requested, card, bad.is_empty())
    else {
        return Err(ApiError::invalid_fields(bad));
    };
    // An encrypted asset's new version gets a key of its own: whoever may read the asset when the version is
    // added may read it, and a license that ran out before then may not. Its deposit goes to this node's
    // gateway, so the asset must name it.
    if record.encrypted {
        gateway_of(state, asset).await?;
    }
    Ok(Checked {
        account,
        asset,
        requested,
        message,
        card,
        encrypted: record.encrypted,
    })
}

/// The asset's current card, its file list to be replaced by the new version's.
async fn current_card(state: &AppState, asset: AssetId) -> Result<Card, String> {
    let detail = query(state, move |i| i.asset(AssetId(asset.0)))
        .await
        .map_err(|e| e.message)?
        .ok_or_else(|| format!("asset {asset} is not in the catalog yet: try again in a moment"))?;
    let base = detail
        .card
        .map(|v| serde_json::to_vec(&v).map_err(|e| e.to_string()))
        .transpose()?
        .map(|bytes| Card::from_json(&bytes).map_err(|e| format!("the asset's current card is not valid: {e}")))
        .transpose()?
        .ok_or_else(|| format!("the node has no card for asset {asset}'s current version: propose with `scal3ml propose --card`"))?;
    let parents: Vec<(AssetId, u16)> = base
        .parents
        .iter()
        .map(|p| (p.asset, u16::try_from(p.royalty_bps).unwrap_or(u16::MAX)))
        .collect();
    CardFields {
        kind: None,
        name: None,
        description: None,
        license: None,
        tags: Vec::new(),
        task: None,
        framework: None,
    }
    .card(Some(base), &parents)
    .map_err(|e| e.message)
}
