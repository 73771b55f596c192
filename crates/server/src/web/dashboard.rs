//! `/dashboard?account=0x...`: what an account owns, the licenses it bought, the shares it holds and what it
//! may withdraw, per asset and token, with a Withdraw button per token. The address comes from the URL (a GET
//! form), so the page reads without a wallet; the wallet script fills the form with the connected account.

use crate::{
    api::{AppState, query},
    web::{Ctx, Layout, Nav, PageError, format, views::SummaryView},
};
use alloy::primitives::{Address, U256};
use askama::Template;
use axum::{
    extract::{Query, State},
    http::HeaderMap,
    response::Response,
};
use futures_util::future::join_all;
use scal3ml_api::{AccountView, AssetSummary};
use scal3ml_primitives::AssetId;
use std::{
    collections::{BTreeMap, HashMap},
    sync::Arc,
};

/// Holdings whose earnings are read from the chain (one `claimable` call per holding and token); an account
/// with more is told so.
const MAX_EARNING_ASSETS: usize = 40;
/// Assets named in the holdings and licenses lists (one catalog lookup each).
const MAX_NAMED: usize = 100;

struct LicenseView {
    asset: u64,
    name: String,
    paid: String,
    purchases: u64,
    expiry: String,
    expired: bool,
}

struct HoldingView {
    asset: u64,
    name: String,
    shares: String,
    percent: String,
}

struct EarningRow {
    asset: u64,
    name: String,
    amount: String,
}

struct TokenEarnings {
    token: String,
    symbol: String,
    total: String,
    /// Asset ids with something to claim, comma separated, for `data-assets`.
    assets: String,
    rows: Vec<EarningRow>,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    layout: Layout,
    account: String,
    problem: Option<String>,
    view: Option<AccountPage>,
}

struct AccountPage {
    short: String,
    owned: Vec<SummaryView>,
    licenses: Vec<LicenseView>,
    holdings: Vec<HoldingView>,
    earnings: Vec<TokenEarnings>,
    earnings_error: Option<String>,
    earnings_capped: bool,
}

pub(crate) async fn page(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let ctx = Ctx::new(state, &headers);
    let account = params.get("account").map_or("", |a| a.trim()).to_string();
    let (problem, view) = if account.is_empty() {
        (None, None)
    } else {
        match account.parse::<Address>() {
            Err(_) => (
                Some(format!(
                    "{account:?} is not an address: an address is 0x and 40 hex digits."
                )),
                None,
            ),
            Ok(address) => match build(&ctx, address).await {
                Ok(view) => (None, Some(view)),
                Err(e) => return ctx.error(e),
            },
        }
    };
    let title = if view.is_some() {
        format!("Dashboard · {account}")
    } else {
        "Dashboard".into()
    };
    let page = DashboardPage {
        layout: ctx.layout(title, Nav::Dashboard),
        account,
        problem,
        view,
    };
    ctx.render(&page)
}

async fn build(ctx: &Ctx, address: Address) -> Result<AccountPage, PageError> {
    let (view, known): (AccountView, BTreeMap<u64, (AssetSummary, U256)>) =
        query(&ctx.state, move |i| {
            let view = i.account(address)?;
            // Names and share totals of the assets the account holds or licensed, each read once.
            let mut ids: Vec<u64> = view
                .holdings
                .iter()
                .map(|h| h.asset)
                .chain(view.licenses.iter().map(|l| l.asset))
                .collect();
            ids.sort_unstable();
            ids.dedup();
            let mut known = BTreeMap::new();
            for id in ids.into_iter().take(MAX_NAMED) {
                if let Some(d) = i.asset(AssetId(id))? {
                    let total = d.shareholders.iter().fold(U256::ZERO, |a, h| a + h.shares);
                    known.insert(id, (d.summary, total));
                }
            }
            Ok((view, known))
        })
        .await?;
    let network = &ctx.state.network;
    let name = |id: u64| {
        known
            .get(&id)
            .map(|(s, _)| s.name.clone())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| format!("Asset {id}"))
    };
    let now = scal3ml_primitives::clock::now_secs();
    let licenses = view
        .licenses
        .iter()
        .map(|l| LicenseView {
            asset: l.asset,
            name: name(l.asset),
            paid: format::price(network, l.token, l.paid),
            purchases: l.purchases,
            expiry: l.expiry.map_or_else(|| "perpetual".into(), format::time),
            expired: l.expiry.is_some_and(|e| e <= now),
        })
        .collect();
    let holdings = view
        .holdings
        .iter()
        .map(|h| HoldingView {
            asset: h.asset,
            name: name(h.asset),
            shares: format::amount_text(h.shares, 0),
            percent: known
                .get(&h.asset)
                .map_or_else(String::new, |(_, total)| format::percent(h.shares, *total)),
        })
        .collect();

    // Earnings: what the contract says the account may withdraw now, per holding and token.
    let tokens: Vec<Address> = std::iter::once(Address::ZERO)
        .chain(network.tokens.iter().map(|t| t.address))
        .collect();
    let assets: Vec<u64> = view
        .holdings
        .iter()
        .map(|h| h.asset)
        .take(MAX_EARNING_ASSETS)
        .collect();
    let market = &ctx.state.market;
    let reads = assets
        .iter()
        .flat_map(|&a| tokens.iter().map(move |&t| (a, t)))
        .map(|(a, t)| async move { (a, t, market.claimable(AssetId(a), address, t).await) });
    let mut earnings = Vec::new();
    let mut earnings_error = None;
    let mut per_token: BTreeMap<usize, Vec<(u64, U256)>> = BTreeMap::new();
    for (asset, token, result) in join_all(reads).await {
        match result {
            Ok(v) if !v.is_zero() => {
                let slot = tokens.iter().position(|t| *t == token).unwrap_or(0);
                per_token.entry(slot).or_default().push((asset, v));
            }
            Ok(_) => {}
            Err(e) => {
                earnings_error = Some(format!(
                    "Some earnings could not be read from the chain: {e}"
                ))
            }
        }
    }
    for (slot, rows) in per_token {
        let token = tokens[slot];
        let total = rows.iter().fold(U256::ZERO, |a, (_, v)| a + *v);
        earnings.push(TokenEarnings {
            token: token.to_checksum(None),
            symbol: format::token(network, token).0,
            total: format::money(network, token, total),
            assets: rows
                .iter()
                .map(|(a, _)| a.to_string())
                .collect::<Vec<_>>()
                .join(","),
            rows: rows
                .iter()
                .map(|(a, v)| EarningRow {
                    asset: *a,
                    name: name(*a),
                    amount: format::money(network, token, *v),
                })
                .collect(),
        });
    }
    Ok(AccountPage {
        short: format::short_address(address),
        owned: view
            .assets_owned
            .iter()
            .map(|s| SummaryView::new(network, s, false))
            .collect(),
        licenses,
        holdings,
        earnings,
        earnings_error,
        earnings_capped: view.holdings.len() > MAX_EARNING_ASSETS,
    })
}
