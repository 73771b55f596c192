//! Reading the catalog through a node: `scal3ml search`, `show`, `versions`, `lineage`. Nothing here needs an
//! account.

use crate::node_client::{NodeArgs, NodeClient, emit};
use alloy::primitives::Address;
use clap::Args;
use scal3ml_api::{AssetDetail, ListingInfo, NetworkInfo, SearchQuery, Sort};
use scal3ml_primitives::{AssetId, AssetKind};

/// Flags of `scal3ml search`.
#[derive(Debug, Args)]
pub(crate) struct SearchArgs {
    /// Words to find in names, descriptions, tags, tasks, frameworks and licenses (all must occur; `word*` is a
    /// prefix). Without words, lists everything.
    words: Vec<String>,
    /// Only datasets or only models.
    #[arg(long)]
    kind: Option<AssetKind>,
    /// Only this license (SPDX id).
    #[arg(long)]
    license: Option<String>,
    /// Only assets with this tag.
    #[arg(long)]
    tag: Option<String>,
    /// Only assets at most this price, in whole tokens of --token.
    #[arg(long)]
    max_price: Option<String>,
    /// Only assets at least this price, in whole tokens of --token.
    #[arg(long)]
    min_price: Option<String>,
    /// Token of the price filters and sorts: ETH or a token symbol/address.
    #[arg(long)]
    token: Option<String>,
    /// Only free assets.
    #[arg(long)]
    free: bool,
    /// Order: relevance, newest, price_asc, price_desc or sales.
    #[arg(long, default_value = "relevance")]
    sort: Sort,
    /// Page number, from 1.
    #[arg(long, default_value_t = 1)]
    page: u32,
    /// Results per page (at most 100).
    #[arg(long, default_value_t = 20)]
    per_page: u32,
    #[command(flatten)]
    node: NodeArgs,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// Flags of `scal3ml show`, `versions` and `lineage`.
#[derive(Debug, Args)]
pub(crate) struct AssetArgs {
    /// The asset id.
    asset: u64,
    /// Also say whether this account may use it.
    #[arg(long)]
    account: Option<Address>,
    #[command(flatten)]
    node: NodeArgs,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) async fn search(args: SearchArgs) -> anyhow::Result<()> {
    let node = NodeClient::connect(&args.node).await?;
    let mut query = SearchQuery {
        text: (!args.words.is_empty()).then(|| args.words.join(" ")),
        kind: args.kind,
        license: args.license.clone(),
        tag: args.tag.clone(),
        free_only: args.free,
        sort: args.sort,
        page: args.page,
        per_page: args.per_page,
        ..SearchQuery::default()
    };
    if args.min_price.is_some() || args.max_price.is_some() || args.token.is_some() {
        let market = node.market(None).await?;
        let token = node
            .token(&market, args.token.as_deref().unwrap_or("ETH"))
            .await?;
        query.token = Some(token.address);
        if let Some(p) = &args.min_price {
            query.min_price = Some(token.parse(p)?);
        }
        if let Some(p) = &args.max_price {
            query.max_price = Some(token.parse(p)?);
        }
    }
    let page = node.api.search(&query).await?;
    emit(args.json, &page, || {
        if page.items.is_empty() {
            println!("No assets found.");
            return;
        }
        println!(
            "{:>6}  {:<8} {:<32} {:<18} {:<14} {:>5}",
            "ID", "KIND", "NAME", "PRICE", "LICENSE", "SALES"
        );
        for a in &page.items {
            println!(
                "{:>6}  {:<8} {:<32} {:<18} {:<14} {:>5}",
                a.id,
                a.kind.to_string(),
                clip(&a.name, 32),
                price_text(&node.network, &a.listings),
                clip(&a.license, 14),
                a.sales
            );
        }
        let more = if page.total_is_lower_bound { "+" } else { "" };
        println!(
            "{}{more} found; page {} of {} per page.",
            page.total, page.page, page.per_page
        );
    });
    Ok(())
}

pub(crate) async fn show(args: AssetArgs) -> anyhow::Result<()> {
    let node = NodeClient::connect(&args.node).await?;
    let detail = node.api.asset(AssetId(args.asset)).await?;
    let access = match args.account {
        Some(account) => {
            let market = node.market(None).await?;
            Some(
                market
                    .has_access(scal3ml_primitives::AssetId(args.asset), account)
                    .await?,
            )
        }
        None => None,
    };
    #[derive(serde::Serialize)]
    struct Out<'a> {
        #[serde(flatten)]
        detail: &'a AssetDetail,
        #[serde(skip_serializing_if = "Option::is_none")]
        access: Option<bool>,
    }
    emit(
        args.json,
        &Out {
            detail: &detail,
            access,
        },
        || {
            print_detail(&node.network, &detail);
            if let (Some(account), Some(ok)) = (args.account, access) {
                println!(
                    "Access for {account}: {}",
                    if ok {
                        "yes".to_string()
                    } else {
                        format!("no (buy it with `scal3ml buy {}`)", args.asset)
                    }
                );
            }
        },
    );
    Ok(())
}

fn print_detail(network: &NetworkInfo, d: &AssetDetail) {
    let s = &d.summary;
    println!(
        "Asset {} \"{}\" ({}){}",
        s.id,
        s.name,
        s.kind,
        if s.deprecated { " [deprecated]" } else { "" }
    );
    println!("  owner      {}", s.owner);
    println!("  publisher  {}", d.publisher);
    println!("  license    {}", s.license);
    if !s.tags.is_empty() {
        println!("  tags       {}", s.tags.join(", "));
    }
    println!("  price      {}", price_text(network, &s.listings));
    println!("  encrypted  {}", if s.encrypted { "yes" } else { "no" });
    println!(
        "  sales      {} ({} accounts)",
        d.licenses.purchases, d.licenses.accounts
    );
    if let Some(card) = &d.card {
        if let Some(desc) = card
            .get("description")
            .and_then(|v| v.as_str())
            .filter(|d| !d.is_empty())
        {
            println!();
            for line in desc.lines().take(20) {
                println!("  {line}");
            }
        }
        if let Some(files) = card.get("files").and_then(|v| v.as_array()) {
            println!();
            println!("Files:");
            for f in files {
                println!(
                    "  {:<40} {:>12}  {}",
                    f.get("path").and_then(|v| v.as_str()).unwrap_or("?"),
                    f.get("size").and_then(|v| v.as_u64()).unwrap_or(0),
                    f.get("cid").and_then(|v| v.as_str()).unwrap_or("?")
                );
            }
        }
    } else {
        println!("  (the card is not indexed yet)");
    }
    println!();
    println!("Versions: {}", d.versions.len());
    for v in &d.versions {
        println!(
            "  v{} {} by {} (block {})",
            v.index, v.content_cid, v.author, v.block
        );
    }
    if !d.parents.is_empty() {
        println!("Parents:");
        for p in &d.parents {
            println!(
                "  asset {} royalty {}%",
                p.asset,
                p.royalty_bps as f64 / 100.0
            );
        }
    }
    if !d.children.is_empty() {
        println!(
            "Derived assets: {}",
            d.children
                .iter()
                .map(|c| c.asset.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if !d.shareholders.is_empty() {
        println!("Shareholders:");
        for h in &d.shareholders {
            println!("  {} {}", h.holder, h.shares);
        }
    }
    if !d.attestations.is_empty() {
        println!("Evaluations:");
        for a in &d.attestations {
            println!(
                "  #{} {} = {} (decimals {}) by {}: {} endorsements, {} disputes",
                a.id, a.metric, a.value, a.decimals, a.attester, a.endorsements, a.disputes
            );
        }
    }
}

pub(crate) async fn versions(args: AssetArgs) -> anyhow::Result<()> {
    let node = NodeClient::connect(&args.node).await?;
    let versions = node.api.versions(AssetId(args.asset)).await?;
    emit(args.json, &versions, || {
        for v in &versions {
            println!(
                "v{}  content {}  card {}  by {}  block {}",
                v.index, v.content_cid, v.metadata_cid, v.author, v.block
            );
        }
    });
    Ok(())
}

pub(crate) async fn lineage(args: AssetArgs) -> anyhow::Result<()> {
    let node = NodeClient::connect(&args.node).await?;
    let lineage = node.api.lineage(AssetId(args.asset)).await?;
    emit(args.json, &lineage, || {
        println!("Ancestors of asset {}:", args.asset);
        if lineage.ancestors.is_empty() {
            println!("  (none)");
        }
        for n in &lineage.ancestors {
            println!(
                "  {}{} \"{}\"",
                "  ".repeat(n.depth.saturating_sub(1) as usize),
                n.asset,
                n.name
            );
        }
        println!("Descendants:");
        if lineage.descendants.is_empty() {
            println!("  (none)");
        }
        for n in &lineage.descendants {
            println!(
                "  {}{} \"{}\"",
                "  ".repeat(n.depth.saturating_sub(1) as usize),
                n.asset,
                n.name
            );
        }
    });
    Ok(())
}

/// "free", or each listing's price with its token's symbol.
pub(crate) fn price_text(network: &NetworkInfo, listings: &[ListingInfo]) -> String {
    if listings.is_empty() {
        return "not for sale".into();
    }
    if listings.iter().any(|l| l.price.is_zero()) {
        return "free".into();
    }
    listings
        .iter()
        .map(|l| {
            let (symbol, decimals) = if l.token == Address::ZERO {
                ("ETH".to_string(), 18)
            } else {
                network
                    .tokens
                    .iter()
                    .find(|t| t.address == l.token)
                    .map_or_else(
                        || (l.token.to_string(), 18),
                        |t| (t.symbol.clone(), t.decimals),
                    )
            };
            format!(
                "{} {symbol}",
                scal3ml_market::format_amount(l.price, decimals)
            )
        })
        .collect::<Vec<_>>()
        .join(" | ")
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(n - 1).collect();
        out.push('…');
        out
    }
}
