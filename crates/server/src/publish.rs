//! `POST /api/publish`: the browser's `scal3ml publish`. The same flow as the command line
//! (crates/cli/src/commands/publish.rs), with the same parsing and card building (`scal3ml_market::publish`),
//! except that the node cannot sign: it imports and pins the content and the card, then hands back what the
//! wallet signs (the key deposit, as EIP-712 typed data) and sends (the publish transaction).
//!
//! 1. the card fields come first in the form; all of them are checked before any file is read, and every bad
//!    one is named in one 422 `invalid_fields` answer;
//! 2. the `file` parts stream to a staging folder (their names are paths inside the asset: no `..`, no absolute
//!    paths, no empty components); one file publishes as a file, several as a folder;
//! 3. the content is imported into the node's store (encrypted under a fresh key when priced), the card
//!    stored, both pinned and kept as a CAR upload is ([`crate::uploads`]: collected unless published);
//! 4. the answer: the CIDs, the files, the deposit to sign (when encrypted) and the prepared transaction.

use crate::{api::AppState, tx::market_error};
use alloy::primitives::{Address, U256};
use axum::{
    Json,
    extract::{DefaultBodyLimit, Multipart, State, multipart::Field},
    http::HeaderMap,
};
use scal3ml_access::eip712::SignedKeyDeposit;
use scal3ml_api::ApiError;
use scal3ml_api::{PreparedTx, PublishAnswer, ToSign};
use scal3ml_market::{
    TokenInfo,
    publish::{self as inputs, CardFields, InputError},
};
use scal3ml_primitives::{
    AssetId, AssetKind, LicenseDuration, LicenseTerms, PaymentToken,
    card::{Card, CardError},
};
use scal3ml_store::{PinMode, PinStore, crypt::FileKey};
use std::{
    collections::{BTreeMap, HashSet},
    path::{Path, PathBuf},
    sync::Arc,
};
use tokio::io::AsyncWriteExt as _;
use utoipa_axum::{router::UtoipaMethodRouterExt as _, routes};

/// How long the deposit the wallet signs stays valid: the gateway accepts at most 10 minutes.
pub(crate) const DEPOSIT_TTL_SECS: u64 = 600;

pub(crate) fn routes(state: &Arc<AppState>) -> crate::api::Routes {
    // The node's own limits apply instead of axum's 2 MB default for multipart (crate::uploads, which meters
    // the body as it streams).
    let guard =
        axum::middleware::from_fn_with_state((state.clone(), "publish"), crate::uploads::guard);
    crate::api::Routes::new()
        .routes(routes!(publish).map(|r| r.route_layer(guard).layer(DefaultBodyLimit::disable())))
}

/// The text fields of the form, as sent.
#[derive(Debug, Default)]
struct Form {
    text: BTreeMap<String, String>,
    tags: Vec<String>,
    collaborators: Vec<String>,
    parents: Vec<String>,
    readme: Option<String>,
}

impl Form {
    fn get(&self, name: &str) -> Option<&str> {
        self.text
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }
}

/// Everything but the files, checked.
struct Checked {
    account: Address,
    card: Card,
    token: TokenInfo,
    price: U256,
    duration: LicenseDuration,
    collaborators: Vec<(Address, u64)>,
    parents: Vec<(AssetId, u16)>,
}

/// Publishes a file or folder from a browser: imports and pins it, and answers with what the wallet signs and
/// sends.
#[utoipa::path(post, path = "/api/publish",
    request_body(content = String, content_type = "multipart/form-data",
        description = "the card fields (account, kind, name, description, license, tags, task, framework, price, \
            token, duration, repeated collaborator ADDRESS=PERCENT, repeated parent ID=PERCENT, optional readme \
            file), then one `file` part per file, its filename the path in the asset"),
    params(("x-csrf-token" = String, Header, description = "the scal3ml_csrf cookie's value")),
    responses((status = 200, body = PublishAnswer),
        (status = 401, description = "not signed in (`unsigned_upload`): sign in with Ethereum at /access/siwe first, or send a signed UploadRequest in x-scal3ml-upload"),
        (status = 403, description = "no CSRF token, or the form's account is not the signed-in one (`account_mismatch`)"),
        (status = 429, description = "too many uploads, or over the unpublished bytes an account, an address or the node holds"),
        (status = 413, description = "larger than the node accepts"),
        (status = 422, description = "invalid_fields: `fields` names each bad field")))]
pub(crate) async fn publish(
    State(state): State<Arc<AppState>>,
    axum::Extension(ticket): axum::Extension<Arc<crate::uploads::Ticket>>,
    headers: HeaderMap,
    mut multipart: Multipart,
) -> Result<Json<PublishAnswer>, ApiError> {
    crate::csrf::check(&headers)?;
    let staging = tempfile::tempdir()
        .map_err(|e| ApiError::internal(format!("creating a staging folder: {e}")))?;
    let root = staging.path().join("asset");
    let mut form = Form::default();
    let mut checked: Option<Checked> = None;
    let mut paths: Vec<String> = Vec::new();
    let mut seen = HashSet::new();
    while let Some(field) = multipart.next_field().await.map_err(unreadable)? {
        let name = field.name().unwrap_or_default().to_string();
        if name == "file" {
            if checked.is_none() {
                checked = Some(check(&state, &form, true).await?);
                same_account(&ticket, checked.as_ref().map(|c| c.account))?;
            }
            let path = stage(field, &root, &mut seen).await?;
            paths.push(path);
            continue;
        }
        if checked.is_some() {
            return Err(one_field(
                &name,
                "this field came after the files: send the card fields first, then the files",
            ));
        }
        let value = field.text().await.map_err(unreadable)?;
        match name.as_str() {
            "readme" => form.readme = Some(value).filter(|v| !v.trim().is_empty()),
            "collaborator" => form.collaborators.extend(lines(&value)),
            "parent" => form.parents.extend(lines(&value)),
            "tags" => form.tags.extend(
                value
                    .split([',', '\n'])
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_string),
            ),
            _ => {
                form.text.insert(name, value);
            }
        }
    }
    let Some(checked) = checked else {
        // No file at all: the fields' problems and that one, together.
        check(&state, &form, false).await?;
        unreachable!("check refuses a form without files");
    };

    // One file is published as that file, several as a folder (the chosen folder's own name is not a path
    // component, as with `scal3ml publish DIR`).
    let source = match paths.as_slice() {
        [one] => root.join(one),
        many => root.join(common_folder(many).unwrap_or_default()),
    };
    let encrypted = !checked.price.is_zero();
    let packaged = inputs::package(&state.store, &source, checked.card, encrypted)
        .await
        .map_err(|e| match e {
            inputs::PackageError::Content(e) => one_field("file", &e.to_string()),
            inputs::PackageError::Card(e) => card_fields(&e, &form),
        })?;
    let roots = [packaged.root, packaged.card_cid];
    let fresh = crate::uploads::not_pinned(&state, &roots).await?;
    for cid in &roots {
        state
            .store
            .pin(cid, PinMode::Recursive)
            .await
            .map_err(|e| ApiError::internal(format!("pinning {cid}: {e}")))?;
    }
    state.uploads.commit(&ticket, &fresh).await?;

    let content_cid = packaged.root.to_string();
    let node_url = &state.network.node_url;
    let deposit = match &packaged.key {
        Some(key) => Some(deposit(
            checked.account,
            state.network.chain_id,
            node_url,
            &content_cid,
            key,
        )?),
        None => None,
    };
    let listing = LicenseTerms {
        token: PaymentToken::from(checked.token.address),
        price: checked.price,
        duration: checked.duration,
    };
    let request = inputs::publish_request(
        &packaged,
        checked.account,
        &checked.collaborators,
        checked.parents,
        listing,
        node_url,
    )
    .map_err(market_error)?;
    let steps = state
        .market
        .with_sender(checked.account)
        .prepare_publish(request)
        .await
        .map_err(market_error)?;
    Ok(Json(PublishAnswer {
        content_cid,
        metadata_cid: packaged.card_cid.to_string(),
        encrypted,
        files: packaged.card.files,
        deposit,
        tx: PreparedTx { steps },
    }))
}

/// Refuses a form whose `account` is not the one that signed the upload (or holds the session).
pub(crate) fn same_account(
    ticket: &crate::uploads::Ticket,
    account: Option<Address>,
) -> Result<(), ApiError> {
    let signed = ticket.uploader.account;
    match account {
        Some(a) if a != signed => Err(ApiError::new(
            axum::http::StatusCode::FORBIDDEN,
            "account_mismatch",
            format!(
                "the form is for account {a}, but the upload is signed by {signed}: sign in with {a} (or choose \
                 {signed} in your wallet) and send it again"
            ),
        )),
        _ => Ok(()),
    }
}

/// The deposit of `key` for `cid` by `account`, for its wallet to sign.
pub(crate) fn deposit(
    account: Address,
    chain_id: u64,
    gateway: &str,
    cid: &str,
    key: &FileKey,
) -> Result<ToSign, ApiError> {
    let dep = SignedKeyDeposit::unsigned(account, chain_id, gateway, cid, &key.0, DEPOSIT_TTL_SECS)
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let typed_data = dep
        .typed_data()
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let mut body = serde_json::to_value(&dep)
        .map_err(|e| ApiError::internal(format!("the deposit does not serialize: {e}")))?;
    if let Some(body) = body.as_object_mut() {
        body.remove("signature");
    }
    Ok(ToSign { typed_data, body })
}

/// Checks every field; `has_files` says whether a file part came. All problems are reported at once.
async fn check(state: &AppState, form: &Form, has_files: bool) -> Result<Checked, ApiError> {
    let mut bad = BTreeMap::new();
    let mut note = |e: InputError| {
        bad.entry(e.field.to_string()).or_insert(e.message);
    };
    let account = match form.get("account").map(str::parse::<Address>) {
        Some(Ok(a)) => Some(a),
        Some(Err(_)) => {
            note(input(
                "account",
                "not an address: 0x and 40 hex digits; connect a wallet",
            ));
            None
        }
        None => {
            note(input(
                "account",
                "connect a wallet: the publisher's account is missing",
            ));
            None
        }
    };
    let kind = match form.get("kind").map(str::parse::<AssetKind>) {
        Some(Ok(k)) => Some(k),
        Some(Err(_)) => {
            note(input("kind", "choose dataset or model"));
            None
        }
        None => None,
    };
    let token = match token(state, form.get("token").unwrap_or("ETH")) {
        Ok(t) => Some(t),
        Err(e) => {
            note(e);
            None
        }
    };
    let price_text = form.get("price").unwrap_or("0");
    let price = token.as_ref().and_then(|t| match t.parse(price_text) {
        Ok(p) if u128::try_from(p).is_ok() => Some(p),
        Ok(_) => {
            note(input("price", "is too large"));
            None
        }
        Err(e) => {
            note(input("price", &e.to_string()));
            None
        }
    });
    let duration = inputs::parse_duration(form.get("duration").unwrap_or("perpetual"))
        .map_err(&mut note)
        .ok();
    // Checked even without a valid account, so every bad field is named at once.
    let collaborators =
        inputs::parse_collaborators(&form.collaborators, account.unwrap_or_default())
            .map_err(&mut note)
            .ok();
    let parents = inputs::parse_parents(&form.parents).map_err(&mut note).ok();
    let base = match &form.readme {
        Some(text) => match Card::from_hf_readme(text, kind) {
            Ok((card, _warnings)) => Some(card),
            Err(e) => {
                note(input("readme", &e.to_string()));
                None
            }
        },
        None => None,
    };
    let fields = CardFields {
        kind,
        name: form.get("name").map(str::to_string),
        description: form
            .text
            .get("description")
            .cloned()
            .filter(|d| !d.is_empty()),
        license: form.get("license").map(str::to_string),
        tags: form.tags.clone(),
        task: form.get("task").map(str::to_string),
        framework: form.get("framework").map(str::to_string),
    };
    let card = if form.readme.is_some() && base.is_none() {
        None
    } else {
        fields
            .card(base, parents.as_deref().unwrap_or_default())
            .map_err(&mut note)
            .ok()
    };
    if !has_files {
        note(input("file", "choose at least one file to publish"));
    }
    if let Some(card) = &card
        && let Err(e) = inputs::check_card(card)
    {
        for (field, message) in card_messages(&e, form) {
            bad.entry(field).or_insert(message);
        }
    }
    if let Some(parents) = &parents {
        for &(parent, _) in parents {
            if let Err(e) = state.market.asset_record(parent).await {
                bad.entry("parent".into())
                    .or_insert_with(|| format!("parent {parent}: {e}"));
            }
        }
    }
    match (
        account,
        card,
        token,
        price,
        duration,
        collaborators,
        parents,
    ) {
        (
            Some(account),
            Some(card),
            Some(token),
            Some(price),
            Some(duration),
            Some(collaborators),
            Some(parents),
        ) if bad.is_empty() => Ok(Checked {
            account,
            card,
            token,
            price,
            duration,
            collaborators,
            parents,
        }),
        _ => Err(ApiError::invalid_fields(bad)),
    }
}

fn input(field: &'static str, message: &str) -> InputError {
    InputError {
        field,
        message: message.to_string(),
    }
}

/// ETH (the zero address, empty, or `ETH`), a token symbol the node lists, or its address.
fn token(state: &AppState, text: &str) -> Result<TokenInfo, InputError> {
    let listed = state.network.tokens.iter().map(|t| TokenInfo {
        address: t.address,
        symbol: t.symbol.clone(),
        decimals: t.decimals,
    });
    let mut all = std::iter::once(TokenInfo::eth()).chain(listed);
    let found = match text.parse::<Address>() {
        Ok(address) => all.find(|t| t.address == address),
        Err(_) => all.find(|t| t.symbol.eq_ignore_ascii_case(text)),
    };
    found.ok_or_else(|| {
        let known: Vec<String> = std::iter::once("ETH".to_string())
            .chain(state.network.tokens.iter().map(|t| t.symbol.clone()))
            .collect();
        input(
            "token",
            &format!(
                "{text:?} is not a payment token of this marketplace; use one of {}",
                known.join(", ")
            ),
        )
    })
}

/// A card's invalid fields as the form's: `tags[2]` is `tags`, `parents[0].royalty_bps` is `parent`; what a
/// README set is the README's.
fn card_messages(e: &CardError, form: &Form) -> Vec<(String, String)> {
    match e {
        CardError::Invalid(errors) => errors
            .iter()
            .map(|fe| {
                let head = fe
                    .field
                    .split(['[', '.'])
                    .next()
                    .unwrap_or_default()
                    .to_string();
                let field = match head.as_str() {
                    "parents" => "parent".to_string(),
                    "files" => "file".to_string(),
                    "name" | "license" | "tags" | "description" | "task" | "framework" | "kind"
                        if form.get(&head).is_some() || form.readme.is_none() =>
                    {
                        head
                    }
                    _ if form.readme.is_some() => "readme".to_string(),
                    _ => head,
                };
                (field, fe.to_string())
            })
            .collect(),
        other => vec![("readme".into(), other.to_string())],
    }
}

fn card_fields(e: &CardError, form: &Form) -> ApiError {
    let mut fields = BTreeMap::new();
    for (field, message) in card_messages(e, form) {
        fields.entry(field).or_insert(message);
    }
    ApiError::invalid_fields(fields)
}

pub(crate) fn one_field(field: &str, message: &str) -> ApiError {
    ApiError::invalid_fields(BTreeMap::from([(field.to_string(), message.to_string())]))
}

pub(crate) fn unreadable(e: axum::extract::multipart::MultipartError) -> ApiError {
    ApiError::new(
        e.status(),
        "bad_request",
        format!(
            "the upload is not a readable multipart form: {}",
            e.body_text()
        ),
    )
}

/// Non-empty trimmed lines: a textarea of `ADDRESS=PERCENT` lines counts as repeated fields.
fn lines(value: &str) -> impl Iterator<Item = String> + '_ {
    value
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
}

/// A file part's name as a path inside the asset: `/`-separated, relative, no empty, `.` or `..` components.
fn asset_path(name: &str) -> Result<PathBuf, String> {
    if name.is_empty() {
        return Err("a file part has no filename: name each file by its path in the asset".into());
    }
    if name.starts_with('/') || name.contains('\\') || name.contains('\0') {
        return Err(format!(
            "{name:?} is not a relative path: write paths inside the asset with `/` (data/train.csv)"
        ));
    }
    let mut path = PathBuf::new();
    for part in name.split('/') {
        if part.is_empty() || part == "." || part == ".." {
            return Err(format!(
                "{name:?} has an empty, `.` or `..` component: name files by their path inside the asset"
            ));
        }
        path.push(part);
    }
    Ok(path)
}

/// Streams one file part to `root/<its path>`; returns the path.
pub(crate) async fn stage(
    mut field: Field<'_>,
    root: &Path,
    seen: &mut HashSet<String>,
) -> Result<String, ApiError> {
    let name = field.file_name().unwrap_or_default().to_string();
    let rel = asset_path(&name).map_err(|m| one_field("file", &m))?;
    if !seen.insert(name.clone()) {
        return Err(one_field(
            "file",
            &format!("two files are named {name:?}: each path in the asset must be unique"),
        ));
    }
    let target = root.join(&rel);
    let clash = |e: std::io::Error| {
        one_field(
            "file",
            &format!(
                "{name:?} cannot be written next to the other files ({e}): a file and a folder share a name"
            ),
        )
    };
    if let Some(parent) = target.parent() {
        tokio::fs::create_dir_all(parent).await.map_err(clash)?;
    }
    let mut file = tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&target)
        .await
        .map_err(clash)?;
    while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
        file.write_all(&chunk)
            .await
            .map_err(|e| ApiError::internal(format!("staging {name:?}: {e}")))?;
    }
    file.flush()
        .await
        .map_err(|e| ApiError::internal(format!("staging {name:?}: {e}")))?;
    Ok(name)
}

/// The folder every path is in, when they all share a first component (the folder a browser was given).
pub(crate) fn common_folder(paths: &[String]) -> Option<String> {
    let first = paths.first()?.split_once('/')?.0;
    paths
        .iter()
        .all(|p| p.split_once('/').is_some_and(|(head, _)| head == first))
        .then(|| first.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_paths_inside_the_asset() {
        assert_eq!(
            asset_path("a/b.csv").unwrap(),
            PathBuf::from("a").join("b.csv")
        );
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../b",
            "a//b",
            "./a",
            "a\\b",
            "a/",
        ] {
            assert!(asset_path(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn a_chosen_folder_is_not_a_path_component() {
        let s = |v: &[&str]| v.iter().map(|p| p.to_string()).collect::<Vec<_>>();
        assert_eq!(common_folder(&s(&["m/a", "m/sub/b"])).as_deref(), Some("m"));
        assert_eq!(common_folder(&s(&["m/a", "n/b"])), None);
        assert_eq!(common_folder(&s(&["a", "b"])), None);
    }
}
