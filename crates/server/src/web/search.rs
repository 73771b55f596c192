//! `/search`: words, filters, sorting and paging, all in the URL of a GET form, so a search is a link.

use crate::{
    api::{AppState, query},
    web::{Ctx, Layout, Nav, PageError, format, views::SummaryView},
};
use alloy::primitives::Address;
use askama::Template;
use axum::{
    extract::{Query, State},
    http::HeaderMap,
    response::Response,
};
use scal3ml_api::NetworkInfo;
use scal3ml_api::{MAX_RESULT_WINDOW, SearchQuery, Sort};
use scal3ml_primitives::AssetKind;
use std::{collections::HashMap, sync::Arc};

/// Results per page.
const PER_PAGE: u32 = 20;

/// An `<option>`.
pub(crate) struct Opt {
    pub(crate) value: String,
    pub(crate) label: String,
    pub(crate) selected: bool,
}

fn opts(choices: &[(&str, &str)], current: &str) -> Vec<Opt> {
    choices
        .iter()
        .map(|(value, label)| Opt {
            value: (*value).into(),
            label: (*label).into(),
            selected: *value == current,
        })
        .collect()
}

/// The token choices of a form: ETH, then the network's tokens by symbol.
pub(crate) fn token_opts(network: &NetworkInfo, current: &str) -> Vec<Opt> {
    std::iter::once(("ETH".to_string(), "ETH".to_string()))
        .chain(
            network
                .tokens
                .iter()
                .map(|t| (t.symbol.clone(), t.symbol.clone())),
        )
        .map(|(value, label)| Opt {
            selected: value.eq_ignore_ascii_case(current),
            value,
            label,
        })
        .collect()
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    layout: Layout,
    text: String,
    license: String,
    tag: String,
    max_price: String,
    free_only: bool,
    kinds: Vec<Opt>,
    sorts: Vec<Opt>,
    tokens: Vec<Opt>,
    /// Filters that did not parse, each a sentence; the search ran without them.
    problems: Vec<String>,
    items: Vec<SummaryView>,
    /// "12 results", "1,000+ results".
    total: String,
    /// The words matched too many assets to rank them: they come newest first.
    unranked: bool,
    page: u32,
    /// Pages when the total is exact.
    pages: Option<u64>,
    prev: Option<String>,
    next: Option<String>,
}

pub(crate) async fn page(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let ctx = Ctx::new(state, &headers);
    match build(&ctx, &params).await {
        Ok(page) => ctx.render(&page),
        Err(e) => ctx.error(e),
    }
}

fn param<'a>(params: &'a HashMap<String, String>, key: &str) -> &'a str {
    params.get(key).map_or("", |v| v.trim())
}

async fn build(ctx: &Ctx, params: &HashMap<String, String>) -> Result<SearchPage, PageError> {
    let network = &ctx.state.network;
    let mut problems = Vec::new();
    let text = param(params, "text");
    let kind_text = param(params, "kind");
    let license = param(params, "license");
    let tag = param(params, "tag");
    let max_price = param(params, "max_price");
    let token_text = param(params, "token");
    let free_only = matches!(param(params, "free_only"), "on" | "true" | "1");
    let sort_text = param(params, "sort");

    let kind = match kind_text {
        "" => None,
        k => match k.parse::<AssetKind>() {
            Ok(k) => Some(k),
            Err(_) => {
                problems.push(format!(
                    "Kind {k:?} is neither dataset nor model; showing both."
                ));
                None
            }
        },
    };
    let sort = match sort_text {
        "" | "relevance" => Sort::Relevance,
        "newest" => Sort::Newest,
        "price_asc" => Sort::PriceAsc,
        "price_desc" => Sort::PriceDesc,
        "sales" => Sort::Sales,
        s => {
            problems.push(format!(
                "Sort {s:?} is not one of the choices; sorted by relevance."
            ));
            Sort::Relevance
        }
    };
    // The token of the price filter and the price sorts: ETH unless one of the network's tokens is named.
    let (token, decimals, symbol) =
        if token_text.is_empty() || token_text.eq_ignore_ascii_case("eth") {
            (None, 18, "ETH".to_string())
        } else if let Some(t) = network.tokens.iter().find(|t| {
            t.symbol.eq_ignore_ascii_case(token_text)
                || token_text.parse::<Address>().is_ok_and(|a| a == t.address)
        }) {
            (Some(t.address), t.decimals, t.symbol.clone())
        } else {
            problems.push(format!(
                "This node takes no payment token {token_text:?}; prices are in ETH."
            ));
            (None, 18, "ETH".to_string())
        };
    let max = match max_price {
        "" => None,
        m => match scal3ml_market::parse_amount(m, decimals) {
            Ok(v) => Some(v),
            Err(e) => {
                problems.push(format!(
                    "Maximum price: {e}. Write an amount of {symbol} such as 0.5."
                ));
                None
            }
        },
    };
    let deepest = MAX_RESULT_WINDOW / PER_PAGE;
    let page = match param(params, "page") {
        "" => 1,
        p => match p.parse::<u32>() {
            Ok(p) if (1..=deepest).contains(&p) => p,
            _ => {
                problems.push(format!(
                    "Page {p:?} is not a page from 1 to {deepest}; showing page 1."
                ));
                1
            }
        },
    };
    let q = SearchQuery {
        text: (!text.is_empty()).then(|| text.to_string()),
        kind,
        license: (!license.is_empty()).then(|| license.to_string()),
        tag: (!tag.is_empty()).then(|| tag.to_string()),
        min_price: None,
        // An ETH price filter names no token, so it does not hide assets listed only in other tokens...
        max_price: max,
        // ...but a token price filter or sort means "listed in that token".
        token,
        free_only,
        sort,
        page,
        per_page: PER_PAGE,
    };
    let found = query(&ctx.state, move |i| i.search(&q)).await?;

    // Links to the neighbouring pages keep every filter as it was typed.
    let link = |page: u32| {
        let mut parts = Vec::new();
        for key in [
            "text",
            "kind",
            "license",
            "tag",
            "max_price",
            "token",
            "sort",
        ] {
            let v = param(params, key);
            if !v.is_empty() {
                parts.push(format!("{key}={}", format::url_encode(v)));
            }
        }
        if free_only {
            parts.push("free_only=on".into());
        }
        parts.push(format!("page={page}"));
        format!("/search?{}", parts.join("&"))
    };
    let shown_to = u64::from(page) * u64::from(PER_PAGE);
    let more = found.total > shown_to || found.total_is_lower_bound;
    let pages =
        (!found.total_is_lower_bound).then(|| found.total.div_ceil(u64::from(PER_PAGE)).max(1));
    let total = match (found.total, found.total_is_lower_bound) {
        (t, true) => format!(
            "{}+ results",
            format::amount_text(t.try_into().unwrap_or_default(), 0)
        ),
        (1, false) => "1 result".into(),
        (t, false) => format!(
            "{} results",
            format::amount_text(t.try_into().unwrap_or_default(), 0)
        ),
    };
    Ok(SearchPage {
        layout: ctx.layout(
            if text.is_empty() {
                "Search".to_string()
            } else {
                format!("{text} — Search")
            },
            Nav::Search,
        ),
        text: text.into(),
        license: license.into(),
        tag: tag.into(),
        max_price: max_price.into(),
        free_only,
        kinds: opts(
            &[
                ("", "Any kind"),
                ("dataset", "Datasets"),
                ("model", "Models"),
            ],
            kind_text,
        ),
        sorts: opts(
            &[
                ("relevance", "Relevance"),
                ("newest", "Newest"),
                ("price_asc", "Price, low to high"),
                ("price_desc", "Price, high to low"),
                ("sales", "Most bought"),
            ],
            if sort_text.is_empty() {
                "relevance"
            } else {
                sort_text
            },
        ),
        tokens: token_opts(network, &symbol),
        problems,
        unranked: !text.is_empty() && sort == Sort::Relevance && !found.ranked,
        items: found
            .items
            .iter()
            .map(|s| SummaryView::new(network, s, !text.is_empty()))
            .collect(),
        total,
        page,
        pages,
        prev: (page > 1).then(|| link(page - 1)),
        next: (more && page < deepest).then(|| link(page + 1)),
    })
}
