//! Under load: 50 fresh buyer accounts buy two paid models concurrently through the SDK against `scal3ml dev`
//! (20 purchases each, alternating ETH and USDX, timed licenses that extend on every purchase). Then every
//! purchase is on the chain and in the catalog, every wei paid is in some shareholder's claim, a pool
//! remainder or the fees owed (as an independent model of the contract's rules says it must be), and the
//! catalog's counts and sums equal the chain's.

use crate::common::{DevNode, json};
use alloy::{
    network::{Ethereum, EthereumWallet, Network, TransactionBuilder},
    primitives::{Address, U256},
    providers::{DynProvider, Provider, ProviderBuilder},
    signers::local::PrivateKeySigner,
};
use scal3ml_contracts::{Marketplace, TestToken};
use scal3ml_market::{Bought, BuyTerms, Deployment, LicenseExpiry, Market};
use scal3ml_primitives::{AssetId, Cid, LicenseDuration};
use serde_json::Value;
use std::{
    collections::{BTreeMap, HashMap},
    str::FromStr,
    time::{Duration, Instant},
};

const BUYERS: usize = 50;
const PURCHASES: usize = 20;
const BPS: u64 = 10_000;
const ETH: Address = Address::ZERO;
/// Every asset published by `scal3ml publish` has this many shares (100% in basis points).
const TOTAL_SHARES: u64 = 10_000;

/// Prices chosen so that fees, royalties and per-share credits do not divide evenly.
const PRICE_A: &str = "0.012345678901234567"; // ETH
const PRICE_B: &str = "3.333333333333333333"; // USDX
const DAY: u64 = 86_400;

/// The contract's money rules, written out again from docs/contracts.md: the fee rounded down, each parent's
/// royalty rounded down and credited to the parent the same way (recursively), the rest added to the pool
/// per share with the remainder carried to the next credit.
#[derive(Default)]
struct Ledger {
    fee_bps: u64,
    parents: HashMap<AssetId, Vec<(AssetId, u64)>>,
    /// (per share, remainder) of each (asset, token) pool.
    pools: HashMap<(AssetId, Address), (U256, U256)>,
    /// Everything credited to an asset's holders (own sales and royalties received).
    credited: HashMap<(AssetId, Address), U256>,
    /// Royalties an asset's sales paid upstream.
    royalties_paid: HashMap<(AssetId, Address), U256>,
    fees: HashMap<Address, U256>,
}

impl Ledger {
    fn sale(&mut self, asset: AssetId, token: Address, price: U256) {
        let fee = price * U256::from(self.fee_bps) / U256::from(BPS);
        *self.fees.entry(token).or_default() += fee;
        self.credit(asset, token, price - fee);
    }

    fn credit(&mut self, asset: AssetId, token: Address, amount: U256) {
        let mut upstream = U256::ZERO;
        for (parent, bps) in self.parents.get(&asset).cloned().unwrap_or_default() {
            let royalty = amount * U256::from(bps) / U256::from(BPS);
            if royalty.is_zero() {
                continue;
            }
            upstream += royalty;
            self.credit(parent, token, royalty);
        }
        *self.royalties_paid.entry((asset, token)).or_default() += upstream;
        let own = amount - upstream;
        *self.credited.entry((asset, token)).or_default() += own;
        let (per_share, remainder) = self.pools.entry((asset, token)).or_default();
        let available = own + *remainder;
        *per_share += available / U256::from(TOTAL_SHARES);
        *remainder = available % U256::from(TOTAL_SHARES);
    }

    fn pool(&self, asset: AssetId, token: Address) -> (U256, U256) {
        self.pools.get(&(asset, token)).copied().unwrap_or_default()
    }

    fn get(map: &HashMap<(AssetId, Address), U256>, asset: AssetId, token: Address) -> U256 {
        map.get(&(asset, token)).copied().unwrap_or_default()
    }
}

fn wallet(rpc: &str, key: &PrivateKeySigner) -> DynProvider {
    ProviderBuilder::new()
        .wallet(EthereumWallet::from(key.clone()))
        .connect_http(rpc.parse().unwrap())
        .erased()
}

async fn get_json(http: &reqwest::Client, url: &str) -> Value {
    let resp = http
        .get(url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = resp.status();
    let body = resp.bytes().await.unwrap();
    assert!(
        status.is_success(),
        "GET {url}: {status}: {}",
        String::from_utf8_lossy(&body)
    );
    serde_json::from_slice(&body).unwrap_or_else(|e| panic!("GET {url}: not JSON ({e})"))
}

/// A big number from the API (a decimal or 0x string, or a JSON number).
fn u256(v: &Value) -> U256 {
    match v {
        Value::String(s) => {
            U256::from_str(s).unwrap_or_else(|e| panic!("{s:?} is not a number: {e}"))
        }
        Value::Number(n) => U256::from(n.as_u64().unwrap()),
        other => panic!("expected a number, got {other}"),
    }
}

fn address(v: &Value) -> Address {
    v.as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{v} is not an address"))
}

/// What each buyer did: its address and its purchases in order.
struct BuyerRun {
    account: Address,
    bought: Vec<Bought>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_buyers_buy_concurrently_and_every_wei_is_accounted_for() {
    let dir = tempfile::tempdir().unwrap();
    let node = tokio::task::block_in_place(|| DevNode::start(&dir.path().join("dev")));
    let url = node.server.url.clone();
    let http = reqwest::Client::new();
    let network = get_json(&http, &format!("{url}/api/network")).await;
    let rpc = network["rpc_url"].as_str().unwrap().to_string();
    let deployment = Deployment {
        chain_id: network["chain_id"].as_u64().unwrap(),
        marketplace: address(&network["marketplace"]),
        attestations: address(&network["attestations"]),
    };
    let usdx = address(
        &network["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["symbol"] == "USDX")
            .expect("the dev node lists USDX")["address"],
    );
    let dev: Vec<PrivateKeySigner> = (0..10).map(crate::common::dev_key).collect();
    let dev_addr: Vec<Address> = dev.iter().map(|k| k.address()).collect();

    // Three assets through the command line: a dataset P, a model A priced in ETH and a model B priced in
    // USDX, both derived from P (royalties) and each with collaborators.
    let files = dir.path().join("files");
    std::fs::create_dir_all(&files).unwrap();
    let publish = |name: &str, extra: Vec<String>| -> (AssetId, Cid) {
        let path = files.join(format!("{name}.bin"));
        std::fs::write(&path, format!("the bytes of {name}").repeat(100)).unwrap();
        let mut args: Vec<String> = [
            "publish",
            path.to_str().unwrap(),
            "--name",
            name,
            "--license",
            "MIT",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = tokio::task::block_in_place(|| json(&url, &args));
        let asset = out["asset"]
            .as_u64()
            .unwrap_or_else(|| panic!("publish printed no asset id: {out}"));
        let card: Cid = out["metadata_cid"]
            .as_str()
            .and_then(|c| c.parse().ok())
            .unwrap_or_else(|| panic!("publish printed no card CID: {out}"));
        (AssetId(asset), card)
    };
    let s = |v: &str| v.to_string();
    let (parent, _) = publish(
        "loadparent",
        vec![
            s("--kind=dataset"),
            s("--price=0.001"),
            s("--duration=30d"),
            format!("--collaborator={}=28.57", dev_addr[4]),
            s("--dev-account=3"),
        ],
    );
    let (a, card_a) = publish(
        "loadmodela",
        vec![
            s("--kind=model"),
            format!("--price={PRICE_A}"),
            s("--token=ETH"),
            s("--duration=30d"),
            format!("--collaborator={}=33.33", dev_addr[2]),
            format!("--parent={}=12.34", parent.0),
            s("--dev-account=1"),
        ],
    );
    let (b, card_b) = publish(
        "loadmodelb",
        vec![
            s("--kind=model"),
            format!("--price={PRICE_B}"),
            s("--token=USDX"),
            s("--duration=7d"),
            format!("--collaborator={}=25", dev_addr[2]),
            format!("--collaborator={}=10.5", dev_addr[6]),
            format!("--parent={}=7.5", parent.0),
            s("--dev-account=5"),
        ],
    );
    let price_a = scal3ml_market::parse_amount(PRICE_A, 18).unwrap();
    let price_b = scal3ml_market::parse_amount(PRICE_B, 18).unwrap();
    // Who holds what, as the flags above asked (the publisher keeps the rest of 10,000 shares).
    let holders: BTreeMap<AssetId, Vec<(Address, u64)>> = [
        (parent, vec![(dev_addr[3], 7143), (dev_addr[4], 2857)]),
        (a, vec![(dev_addr[1], 6667), (dev_addr[2], 3333)]),
        (
            b,
            vec![
                (dev_addr[5], 6450),
                (dev_addr[2], 2500),
                (dev_addr[6], 1050),
            ],
        ),
    ]
    .into();

    // 50 fresh accounts, each funded by a dev account with ETH and USDX through plain transfers.
    let eth_each = scal3ml_market::parse_amount("0.5", 18).unwrap();
    let usdx_each = scal3ml_market::parse_amount("40", 18).unwrap();
    let buyers: Vec<PrivateKeySigner> = (0..BUYERS).map(|_| PrivateKeySigner::random()).collect();
    let funding = dev.iter().enumerate().map(|(f, funder)| {
        let p = wallet(&rpc, funder);
        let mine: Vec<Address> = buyers
            .iter()
            .skip(f)
            .step_by(dev.len())
            .map(|k| k.address())
            .collect();
        let (usdx, eth_each, usdx_each) = (usdx, eth_each, usdx_each);
        async move {
            let token = TestToken::new(usdx, &p);
            for to in mine {
                let tx = <Ethereum as Network>::TransactionRequest::default()
                    .with_to(to)
                    .with_value(eth_each);
                let r = p
                    .send_transaction(tx)
                    .await
                    .unwrap()
                    .get_receipt()
                    .await
                    .unwrap();
                assert!(r.status(), "funding {to} with ETH failed");
                let r = token
                    .transfer(to, usdx_each)
                    .send()
                    .await
                    .unwrap()
                    .get_receipt()
                    .await
                    .unwrap();
                assert!(r.status(), "funding {to} with USDX failed");
            }
        }
    });
    spawn_all(funding).await;

    // Every buyer buys 20 times, alternating between A in ETH and B in USDX, all buyers at once.
    let started = Instant::now();
    let runs = buyers.iter().enumerate().map(|(i, key)| {
        let p = wallet(&rpc, key);
        let account = key.address();
        let (a, b, usdx, price_a, price_b) = (a, b, usdx, price_a, price_b);
        // The terms every buyer read: the price, the license (30 and 7 days) and the card of each asset.
        let terms_a = BuyTerms {
            token: ETH,
            max_price: price_a,
            duration: LicenseDuration::Seconds(30 * 86_400),
            metadata_cid: card_a,
        };
        let terms_b = BuyTerms {
            token: usdx,
            max_price: price_b,
            duration: LicenseDuration::Seconds(7 * 86_400),
            metadata_cid: card_b,
        };
        async move {
            let market = Market::builder(p, deployment, account)
                .connect()
                .await
                .unwrap();
            let mut bought = Vec::with_capacity(PURCHASES);
            for j in 0..PURCHASES {
                let (asset, terms) = if (i + j) % 2 == 0 {
                    (a, &terms_a)
                } else {
                    (b, &terms_b)
                };
                let price = terms.max_price;
                let done = market
                    .buy(asset, terms)
                    .await
                    .unwrap_or_else(|e| panic!("buyer {i} purchase {j} of asset {}: {e}", asset.0));
                assert_eq!(done.price, price);
                bought.push(done);
            }
            BuyerRun { account, bought }
        }
    });
    let runs: Vec<BuyerRun> = spawn_all(runs).await;
    let took = started.elapsed();
    let total = BUYERS * PURCHASES;
    println!(
        "load: {total} purchases by {BUYERS} buyers in {:.1} s: {:.1} purchases/s",
        took.as_secs_f64(),
        total as f64 / took.as_secs_f64()
    );

    let reader = wallet(&rpc, &dev[0]);
    let market = Market::builder(reader.clone(), deployment, dev_addr[0])
        .connect()
        .await
        .unwrap();
    let mp = Marketplace::new(deployment.marketplace, &reader);
    let usdx_token = TestToken::new(usdx, &reader);

    // Each buyer: its license extended on every purchase, its tokens down by exactly what it paid (and its
    // ether by the prices plus the gas of every transaction it sent).
    for (i, run) in runs.iter().enumerate() {
        for (asset, days) in [(a, 30), (b, 7)] {
            let mine: Vec<&Bought> = run.bought.iter().filter(|x| x.asset == asset).collect();
            assert_eq!(mine.len(), PURCHASES / 2);
            let expiry = |x: &Bought| match x.expiry {
                LicenseExpiry::Until(t) => t,
                other => panic!("buyer {i}: a timed license, not {other:?}"),
            };
            let (first, last) = (expiry(mine[0]), expiry(mine[mine.len() - 1]));
            assert_eq!(
                last - first,
                (PURCHASES as u64 / 2 - 1) * days * DAY,
                "buyer {i}: each purchase of asset {} extends the license by {days} days",
                asset.0
            );
            assert_eq!(
                market.license_expiry(asset, run.account).await.unwrap(),
                LicenseExpiry::Until(last)
            );
        }
        let gas: U256 = run
            .bought
            .iter()
            .map(|x| x.tx.fee + x.approval.map_or(U256::ZERO, |t| t.fee))
            .sum();
        let n = U256::from(PURCHASES / 2);
        assert_eq!(
            reader.get_balance(run.account).await.unwrap(),
            eth_each - price_a * n - gas
        );
        assert_eq!(
            usdx_token.balanceOf(run.account).call().await.unwrap(),
            usdx_each - price_b * n
        );
    }

    // The chain's record: one LicensePurchased per purchase, replayed through the model of the rules.
    let head = reader.get_block_number().await.unwrap();
    let events = mp
        .LicensePurchased_filter()
        .from_block(0)
        .to_block(head)
        .query()
        .await
        .unwrap();
    assert_eq!(events.len(), total, "one LicensePurchased per purchase");
    let mut ledger = Ledger {
        fee_bps: u64::from(market.fee_bps().await.unwrap()),
        parents: [(a, vec![(parent, 1234)]), (b, vec![(parent, 750)])].into(),
        ..Ledger::default()
    };
    let mut paid: HashMap<Address, U256> = HashMap::new();
    let mut sales: HashMap<(AssetId, Address), u64> = HashMap::new();
    for (e, _) in &events {
        let asset = AssetId(e.assetId.to::<u64>());
        ledger.sale(asset, e.token, e.price);
        *paid.entry(e.token).or_default() += e.price;
        *sales.entry((asset, e.token)).or_default() += 1;
    }
    let half = (total / 2) as u64;
    assert_eq!(sales, [((a, ETH), half), ((b, usdx), half)].into());
    assert_eq!(paid[&ETH], price_a * U256::from(half));
    assert_eq!(paid[&usdx], price_b * U256::from(half));

    // Every wei: per token, what buyers paid = the claims of every holder of every asset + the pools'
    // remainders + the fees owed, and that is what the marketplace holds. Each claim is what the model says.
    let held = [
        (
            ETH,
            reader.get_balance(deployment.marketplace).await.unwrap(),
        ),
        (
            usdx,
            usdx_token
                .balanceOf(deployment.marketplace)
                .call()
                .await
                .unwrap(),
        ),
    ];
    for (token, balance) in held {
        let mut accounted = mp.feesOwed(token).call().await.unwrap();
        assert_eq!(
            accounted,
            ledger.fees.get(&token).copied().unwrap_or_default(),
            "fees owed in {token}"
        );
        for (&asset, list) in &holders {
            for &(holder, shares) in list {
                assert_eq!(
                    U256::from(market.shares_of(asset, holder).await.unwrap()),
                    U256::from(shares)
                );
                let claim = market.claimable(asset, holder, token).await.unwrap();
                assert_eq!(
                    claim,
                    U256::from(shares) * ledger.pool(asset, token).0,
                    "claim of {holder} on asset {} in {token}",
                    asset.0
                );
                accounted += claim;
            }
            let pool = mp.pool(asset.to_u256(), token).call().await.unwrap();
            assert_eq!(
                (U256::from(pool.perShare), U256::from(pool.remainder)),
                ledger.pool(asset, token),
                "pool of asset {} in {token}",
                asset.0
            );
            accounted += U256::from(pool.remainder);
        }
        assert_eq!(
            accounted, paid[&token],
            "every wei paid in {token} is claimable, a remainder or a fee"
        );
        assert_eq!(
            balance, paid[&token],
            "the marketplace holds exactly what was paid in {token}"
        );
    }

    // The catalog, once it has indexed the head: the same purchases, sums, revenue and holders as the chain.
    let deadline = Instant::now() + Duration::from_secs(60);
    let stats = loop {
        let stats = get_json(&http, &format!("{url}/api/stats")).await;
        if stats["last_indexed_block"]
            .as_u64()
            .is_some_and(|b| b >= head)
        {
            break stats;
        }
        assert!(
            Instant::now() < deadline,
            "the catalog did not reach block {head}: {stats}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(stats["licenses"].as_u64(), Some(total as u64), "{stats}");
    let catalog_sales: HashMap<Address, (u64, U256)> = stats["sales"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                address(&s["token"]),
                (s["sales"].as_u64().unwrap(), u256(&s["volume"])),
            )
        })
        .collect();
    assert_eq!(
        catalog_sales,
        [(ETH, (half, paid[&ETH])), (usdx, (half, paid[&usdx]))].into(),
        "{stats}"
    );
    for (&asset, list) in &holders {
        let detail = get_json(&http, &format!("{url}/api/assets/{}", asset.0)).await;
        let bought = sales
            .iter()
            .filter(|((x, _), _)| *x == asset)
            .map(|(_, n)| n)
            .sum::<u64>();
        assert_eq!(
            detail["licenses"]["purchases"].as_u64(),
            Some(bought),
            "asset {}",
            asset.0
        );
        let buyers_of = if bought > 0 { BUYERS as u64 } else { 0 };
        assert_eq!(
            detail["licenses"]["accounts"].as_u64(),
            Some(buyers_of),
            "asset {}",
            asset.0
        );
        let mut shareholders: Vec<(Address, U256)> = detail["shareholders"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| (address(&h["holder"]), u256(&h["shares"])))
            .collect();
        shareholders.sort();
        let mut expected: Vec<(Address, U256)> =
            list.iter().map(|&(h, s)| (h, U256::from(s))).collect();
        expected.sort();
        assert_eq!(shareholders, expected, "holders of asset {}", asset.0);
        for token in [ETH, usdx] {
            let revenue = detail["revenue"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| address(&r["token"]) == token);
            let credited = Ledger::get(&ledger.credited, asset, token);
            let upstream = Ledger::get(&ledger.royalties_paid, asset, token);
            match revenue {
                Some(r) => {
                    assert_eq!(
                        u256(&r["credited"]),
                        credited,
                        "asset {} credited in {token}",
                        asset.0
                    );
                    assert_eq!(
                        u256(&r["royalties_paid"]),
                        upstream,
                        "asset {} royalties in {token}",
                        asset.0
                    );
                }
                None => assert!(
                    credited.is_zero(),
                    "asset {} has no revenue in {token} in the catalog",
                    asset.0
                ),
            }
        }
    }
    for (i, run) in runs.iter().enumerate() {
        let view = get_json(&http, &format!("{url}/api/accounts/{}", run.account)).await;
        let licenses = view["licenses"].as_array().unwrap();
        assert_eq!(licenses.len(), 2, "buyer {i}: {view}");
        for (asset, token, price) in [(a, ETH, price_a), (b, usdx, price_b)] {
            let l = licenses
                .iter()
                .find(|l| l["asset"].as_u64() == Some(asset.0))
                .unwrap_or_else(|| {
                    panic!(
                        "buyer {i} has no license for asset {} in the catalog",
                        asset.0
                    )
                });
            assert_eq!(address(&l["token"]), token);
            assert_eq!(l["purchases"].as_u64(), Some(PURCHASES as u64 / 2));
            assert_eq!(u256(&l["paid"]), price * U256::from(PURCHASES / 2));
            let chain = market.license_expiry(asset, run.account).await.unwrap();
            assert_eq!(
                l["expiry"].as_u64().map(LicenseExpiry::Until),
                Some(chain),
                "buyer {i}"
            );
        }
    }
    tokio::task::block_in_place(|| drop(node));
}

/// Runs every future as its own task, all at once, and returns their outputs in order.
async fn spawn_all<F>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}
