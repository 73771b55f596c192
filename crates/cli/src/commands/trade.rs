//! The money side: `scal3ml buy`, `access`, `earnings`, `withdraw`, `shares transfer`, `listing set-price`,
//! `deprecate`. Each sends at most the transactions it names, through the SDK, from the account the signer
//! flags choose.

use crate::{
    commands::publish::parse_duration,
    node_client::{NodeArgs, NodeClient, emit},
    wallet::SignerArgs,
};
use alloy::primitives::{Address, U256};
use anyhow::Context as _;
use clap::{Args, Subcommand};
use scal3ml_market::{BuyTerms, LicenseExpiry, TokenInfo, duration_text};
use scal3ml_primitives::{AssetId, Cid, LicenseTerms, PaymentToken};
use serde::Serialize;

/// Flags of `scal3ml buy`.
#[derive(Debug, Args)]
pub(crate) struct BuyArgs {
    /// The asset id.
    asset: u64,
    /// Pay in: ETH, a token symbol the node lists, or a token address.
    #[arg(long, default_value = "ETH")]
    token: String,
    /// The most you accept to pay, in whole tokens [default: the price shown]. The purchase carries the
    /// price, the license duration and the card shown before it: if the owner changes any of them while it is
    /// in flight, it fails instead of selling you something else.
    #[arg(long)]
    max_price: Option<String>,
    #[command(flatten)]
    signer: SignerArgs,
    #[command(flatten)]
    node: NodeArgs,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// Flags of `scal3ml access`.
#[derive(Debug, Args)]
pub(crate) struct AccessArgs {
    /// The asset id.
    asset: u64,
    /// The account to ask about [default: the signer's].
    #[arg(long)]
    account: Option<Address>,
    #[command(flatten)]
    signer: SignerArgs,
    #[command(flatten)]
    node: NodeArgs,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// Flags of `scal3ml earnings` and `withdraw`.
#[derive(Debug, Args)]
pub(crate) struct EarningsArgs {
    /// Only these assets [default: every asset the account holds shares in].
    #[arg(long = "asset")]
    assets: Vec<u64>,
    /// Only this token: ETH, a token symbol or an address [default: ETH and every token the node lists].
    #[arg(long)]
    token: Option<String>,
    /// The account to report on (earnings only) [default: the signer's].
    #[arg(long)]
    account: Option<Address>,
    #[command(flatten)]
    signer: SignerArgs,
    #[command(flatten)]
    node: NodeArgs,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// `scal3ml shares ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum SharesCommand {
    /// Move revenue shares of an asset to another account (revenue earned so far stays with you).
    Transfer(SharesTransferArgs),
}

/// Flags of `scal3ml shares transfer`.
#[derive(Debug, Args)]
pub(crate) struct SharesTransferArgs {
    /// The asset id.
    asset: u64,
    /// The receiving account.
    to: Address,
    /// How many shares (an asset has 10000 when published: one is 0.01 %); or a percentage like 5%.
    amount: String,
    #[command(flatten)]
    signer: SignerArgs,
    #[command(flatten)]
    node: NodeArgs,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// `scal3ml listing ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum ListingCommand {
    /// Set (or create) the price of an asset in one token.
    SetPrice(SetPriceArgs),
}

/// Flags of `scal3ml listing set-price`.
#[derive(Debug, Args)]
pub(crate) struct SetPriceArgs {
    /// The asset id.
    asset: u64,
    /// The new price in whole tokens (0 makes it free for everyone).
    price: String,
    /// The token: ETH, a token symbol or an address.
    #[arg(long, default_value = "ETH")]
    token: String,
    /// License duration: perpetual, or a number with s, m, h or d.
    #[arg(long, default_value = "perpetual")]
    duration: String,
    #[command(flatten)]
    signer: SignerArgs,
    #[command(flatten)]
    node: NodeArgs,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// Flags of `scal3ml deprecate`.
#[derive(Debug, Args)]
pub(crate) struct DeprecateArgs {
    /// The asset id.
    asset: u64,
    #[command(flatten)]
    signer: SignerArgs,
    #[command(flatten)]
    node: NodeArgs,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) async fn buy(args: BuyArgs) -> anyhow::Result<()> {
    let node = NodeClient::connect(&args.node).await?;
    let signer = node.signer(&args.signer)?;
    let market = node.market(Some(&signer)).await?;
    let token = node.token(&market, &args.token).await?;
    let asset = AssetId(args.asset);
    market.asset_record(asset).await?;
    // What the buyer is shown is what the purchase carries: the listing (from the chain) and the card (its
    // CID from the node's index). If the index lags behind a change, the purchase is refused, not misdirected.
    let Some(listing) = market.listing(asset, token.address).await? else {
        anyhow::bail!(
            "asset {asset} is not for sale in {}: see its prices with `scal3ml show {asset}`",
            token.symbol
        );
    };
    let detail = node.api.asset(asset).await?;
    let card = detail.versions.last().with_context(|| {
        format!("the node lists no version of asset {asset} yet; wait for it to index the asset and run again")
    })?;
    let metadata_cid: Cid = card.metadata_cid.parse().with_context(|| {
        format!(
            "the node gave {:?} as the card of asset {asset}, which is not a CID",
            card.metadata_cid
        )
    })?;
    let mut terms = BuyTerms::new(&listing, metadata_cid);
    if let Some(p) = &args.max_price {
        terms.max_price = token
            .parse(p)
            .with_context(|| format!("--max-price {p:?}"))?;
    }
    if !args.json {
        let s = &detail.summary;
        eprintln!("asset {asset} \"{}\" ({}, {})", s.name, s.kind, s.license);
        eprintln!("  card      {}", terms.metadata_cid);
        eprintln!(
            "  price     {} {}",
            token.format(listing.price),
            token.symbol
        );
        eprintln!(
            "  duration  {}",
            duration_text(listing.duration.to_seconds())
        );
        eprintln!(
            "buying as {} for at most {} {}, on this card and at least this duration",
            signer.address(),
            token.format(terms.max_price),
            token.symbol
        );
    }
    let bought = market.buy(asset, &terms).await?;
    #[derive(Serialize)]
    struct Out<'a> {
        #[serde(flatten)]
        bought: &'a scal3ml_market::Bought,
        price_text: String,
        symbol: &'a str,
        explorer: Option<String>,
    }
    let out = Out {
        bought: &bought,
        price_text: token.format(bought.price),
        symbol: &token.symbol,
        explorer: node.tx_link(bought.tx.hash),
    };
    emit(args.json, &out, || {
        println!(
            "Bought a license to asset {asset} for {} {}",
            out.price_text, token.symbol
        );
        println!("  license   {}", expiry_text(bought.expiry));
        if let Some(a) = &bought.approval {
            println!("  approval  {}", a.hash);
        }
        println!("  tx        {} (block {})", bought.tx.hash, bought.tx.block);
        println!("Download it with `scal3ml get {asset} -o PATH`.");
    });
    Ok(())
}

pub(crate) async fn access(args: AccessArgs) -> anyhow::Result<()> {
    let node = NodeClient::connect(&args.node).await?;
    let account = match args.account {
        Some(a) => a,
        None => node
            .signer(&args.signer)
            .context("say whose access to check: --account ADDRESS, or a signer flag")?
            .address(),
    };
    let market = node.market(None).await?;
    let asset = AssetId(args.asset);
    market.asset_record(asset).await?;
    let allowed = market.has_access(asset, account).await?;
    let license = market.license_expiry(asset, account).await?;
    #[derive(Serialize)]
    struct Out {
        asset: AssetId,
        account: Address,
        access: bool,
        license: LicenseExpiry,
    }
    let out = Out {
        asset,
        account,
        access: allowed,
        license,
    };
    emit(args.json, &out, || {
        if allowed {
            println!("{account} may use asset {asset} ({})", expiry_text(license));
        } else {
            println!(
                "{account} may not use asset {asset} ({}): buy a license with `scal3ml buy {asset}`",
                expiry_text(license)
            );
        }
    });
    if !allowed && !args.json {
        std::process::exit(1);
    }
    Ok(())
}

/// One line of `earnings`.
#[derive(Debug, Serialize)]
struct EarningLine {
    asset: AssetId,
    token: Address,
    symbol: String,
    claimable: U256,
    claimable_text: String,
}

/// The (asset, token) pairs to look at for `account`.
async fn claims(
    node: &NodeClient,
    market: &scal3ml_market::Market<alloy::providers::DynProvider>,
    account: Address,
    assets: &[u64],
    token: Option<&str>,
) -> anyhow::Result<(Vec<AssetId>, Vec<TokenInfo>)> {
    let assets: Vec<AssetId> = if assets.is_empty() {
        let view = node.api.account(account).await?;
        view.holdings.iter().map(|h| AssetId(h.asset)).collect()
    } else {
        assets.iter().copied().map(AssetId).collect()
    };
    let tokens = match token {
        Some(t) => vec![node.token(market, t).await?],
        None => {
            let mut v = vec![TokenInfo::eth()];
            for t in &node.network.tokens {
                v.push(TokenInfo {
                    address: t.address,
                    symbol: t.symbol.clone(),
                    decimals: t.decimals,
                });
            }
            v
        }
    };
    Ok((assets, tokens))
}

pub(crate) async fn earnings(args: EarningsArgs) -> anyhow::Result<()> {
    let node = NodeClient::connect(&args.node).await?;
    let account = match args.account {
        Some(a) => a,
        None => node
            .signer(&args.signer)
            .context("say whose earnings to show: --account ADDRESS, or a signer flag")?
            .address(),
    };
    let market = node.market(None).await?;
    let (assets, tokens) =
        claims(&node, &market, account, &args.assets, args.token.as_deref()).await?;
    let addresses: Vec<Address> = tokens.iter().map(|t| t.address).collect();
    let found = market.earnings(account, &assets, &addresses).await?;
    let lines: Vec<EarningLine> = found
        .iter()
        .map(|e| {
            let t = tokens
                .iter()
                .find(|t| t.address == e.token)
                .expect("asked for this token");
            EarningLine {
                asset: e.asset,
                token: e.token,
                symbol: t.symbol.clone(),
                claimable: e.claimable,
                claimable_text: t.format(e.claimable),
            }
        })
        .collect();
    emit(args.json, &lines, || {
        if lines.is_empty() {
            println!("Nothing to withdraw for {account}.");
            return;
        }
        println!("Claimable by {account}:");
        for l in &lines {
            println!("  asset {:>6}  {} {}", l.asset, l.claimable_text, l.symbol);
        }
        for t in &tokens {
            let sum: U256 = lines
                .iter()
                .filter(|l| l.token == t.address)
                .map(|l| l.claimable)
                .sum();
            if !sum.is_zero() {
                println!("  total         {} {}", t.format(sum), t.symbol);
            }
        }
        println!("Withdraw with `scal3ml withdraw`.");
    });
    Ok(())
}

pub(crate) async fn withdraw(args: EarningsArgs) -> anyhow::Result<()> {
    let node = NodeClient::connect(&args.node).await?;
    let signer = node.signer(&args.signer)?;
    let market = node.market(Some(&signer)).await?;
    let (assets, tokens) = claims(
        &node,
        &market,
        signer.address(),
        &args.assets,
        args.token.as_deref(),
    )
    .await?;
    #[derive(Serialize)]
    struct Out {
        token: Address,
        symbol: String,
        amount: U256,
        amount_text: String,
        assets: Vec<AssetId>,
        tx: alloy::primitives::TxHash,
    }
    let mut done = Vec::new();
    for t in &tokens {
        let owed = market
            .earnings(signer.address(), &assets, &[t.address])
            .await?;
        if owed.is_empty() {
            continue;
        }
        let ids: Vec<AssetId> = owed.iter().map(|e| e.asset).collect();
        let w = market.withdraw_many(&ids, t.address).await?;
        done.push(Out {
            token: t.address,
            symbol: t.symbol.clone(),
            amount: w.amount,
            amount_text: t.format(w.amount),
            assets: ids,
            tx: w.tx.hash,
        });
    }
    emit(args.json, &done, || {
        if done.is_empty() {
            println!("Nothing to withdraw for {}.", signer.address());
        }
        for d in &done {
            println!(
                "Withdrew {} {} from {} asset(s) (tx {})",
                d.amount_text,
                d.symbol,
                d.assets.len(),
                d.tx
            );
        }
    });
    Ok(())
}

pub(crate) async fn shares(cmd: SharesCommand) -> anyhow::Result<()> {
    let SharesCommand::Transfer(args) = cmd;
    let node = NodeClient::connect(&args.node).await?;
    let signer = node.signer(&args.signer)?;
    let market = node.market(Some(&signer)).await?;
    let amount = if args.amount.ends_with('%') {
        scal3ml_market::publish::parse_percent(&args.amount, "shares")?
            * scal3ml_market::publish::TOTAL_SHARES
            / 10_000
    } else {
        args.amount
            .parse::<u64>()
            .ok()
            .filter(|&n| n > 0)
            .with_context(|| {
                format!(
                    "{:?} is not a number of shares (or a percentage like 5%)",
                    args.amount
                )
            })?
    };
    let tx = market
        .transfer_shares(AssetId(args.asset), args.to, amount)
        .await?;
    emit(args.json, &tx, || {
        println!(
            "Moved {amount} shares of asset {} to {} (tx {})",
            args.asset, args.to, tx.hash
        );
    });
    Ok(())
}

pub(crate) async fn listing(cmd: ListingCommand) -> anyhow::Result<()> {
    let ListingCommand::SetPrice(args) = cmd;
    let node = NodeClient::connect(&args.node).await?;
    let signer = node.signer(&args.signer)?;
    let market = node.market(Some(&signer)).await?;
    let token = node.token(&market, &args.token).await?;
    let price = token
        .parse(&args.price)
        .with_context(|| format!("price {:?}", args.price))?;
    let duration = parse_duration(&args.duration)?;
    let tx = market
        .set_listing(
            AssetId(args.asset),
            LicenseTerms {
                token: PaymentToken::from(token.address),
                price,
                duration,
            },
        )
        .await?;
    emit(args.json, &tx, || {
        println!(
            "Asset {} now costs {} {} (tx {})",
            args.asset,
            token.format(price),
            token.symbol,
            tx.hash
        );
    });
    Ok(())
}

pub(crate) async fn deprecate(args: DeprecateArgs) -> anyhow::Result<()> {
    let node = NodeClient::connect(&args.node).await?;
    let signer = node.signer(&args.signer)?;
    let market = node.market(Some(&signer)).await?;
    let tx = market.deprecate(AssetId(args.asset)).await?;
    emit(args.json, &tx, || {
        println!(
            "Asset {} is deprecated: no more sales; licenses stay valid (tx {})",
            args.asset, tx.hash
        );
    });
    Ok(())
}

fn expiry_text(e: LicenseExpiry) -> String {
    match e {
        LicenseExpiry::None => "no license".into(),
        LicenseExpiry::Perpetual => "perpetual license".into(),
        LicenseExpiry::Until(t) => {
            let now = scal3ml_primitives::clock::now_secs();
            let when = chrono::DateTime::from_timestamp(t as i64, 0).map_or_else(
                || t.to_string(),
                |d| d.format("%Y-%m-%d %H:%M UTC").to_string(),
            );
            if t > now {
                format!("license until {when}")
            } else {
                format!("license expired {when}")
            }
        }
    }
}
