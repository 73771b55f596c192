//! `index-bench`: the catalog's search latency over synthetic catalogs (100,000 and 1,000,000 assets built from
//! encoded contract events and generated cards) and the indexer's ingest rate of real logs read over JSON-RPC
//! from the embedded chain. No peer runs these workloads, so each figure is printed against its target.
//!
//! Usage: `index-bench [--sizes 100000,1000000] [--queries 200] [--ingest-assets 2000] [--skip-ingest]
//! [--keep DIR]`. With `--keep DIR` each catalog is kept as `DIR/catalog-<size>.sqlite`, and a catalog already
//! there is reused instead of built again (building 1,000,000 assets takes minutes).

use alloy::{
    network::EthereumWallet,
    primitives::{Address, B256, Bytes, U256, aliases::U96},
    providers::ProviderBuilder,
    signers::local::PrivateKeySigner,
};
use alloy_sol_types::SolEvent;
use scal3ml_api::{SearchQuery, Sort};
use scal3ml_contracts::{Marketplace, deploy};
use scal3ml_index::{ChainLog, Index, Indexer, IndexerConfig};
use scal3ml_primitives::{AssetKind, Cid};
use std::time::{Duration, Instant};

/// A small deterministic generator (xorshift64*), so every run builds the same catalog.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A vocabulary of pronounceable words with Zipf-distributed frequencies (s = 1), like the words of real
/// descriptions: a few very common, most rare.
struct Vocabulary {
    words: Vec<String>,
    cumulative: Vec<f64>,
}

impl Vocabulary {
    fn new(size: usize) -> Self {
        const ONSETS: &[&str] = &[
            "b", "c", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "st",
            "tr",
        ];
        const VOWELS: &[&str] = &["a", "e", "i", "o", "u", "ai", "ou"];
        let mut words = Vec::with_capacity(size);
        let mut i = 0usize;
        while words.len() < size {
            let mut w = String::new();
            let mut n = i;
            for _ in 0..3 {
                w.push_str(ONSETS[n % ONSETS.len()]);
                n /= ONSETS.len();
                w.push_str(VOWELS[n % VOWELS.len()]);
                n /= VOWELS.len();
            }
            if n > 0 {
                w.push_str(&n.to_string());
            }
            words.push(w);
            i += 1;
        }
        let mut total = 0.0;
        let cumulative = (1..=size)
            .map(|r| {
                total += 1.0 / r as f64;
                total
            })
            .collect::<Vec<_>>();
        let cumulative = cumulative.iter().map(|c| c / total).collect();
        Self { words, cumulative }
    }
    fn sample(&self, rng: &mut Rng) -> &str {
        let u = rng.unit();
        let i = self
            .cumulative
            .partition_point(|&c| c < u)
            .min(self.words.len() - 1);
        &self.words[i]
    }
}

const LICENSES: &[&str] = &[
    "MIT",
    "Apache-2.0",
    "CC-BY-4.0",
    "CC-BY-NC-4.0",
    "GPL-3.0-only",
    "BSD-3-Clause",
    "OpenRAIL-M",
    "https://example.org/licenses/research-only",
];
const TAGS: &[&str] = &[
    "vision",
    "nlp",
    "audio",
    "tabular",
    "speech",
    "translation",
    "medical",
    "finance",
    "robotics",
    "geospatial",
    "time-series",
    "code",
    "chat",
    "summarization",
    "detection",
    "segmentation",
    "ocr",
    "recommendation",
    "biology",
    "chemistry",
    "climate",
    "satellite",
    "legal",
    "education",
    "gaming",
    "music",
    "video",
    "3d",
    "graph",
    "multimodal",
    "retrieval",
    "embedding",
    "classification",
    "regression",
    "anomaly",
    "forecasting",
    "synthetic",
    "benchmark",
    "instruction",
    "safety",
];

fn cid_of(n: u64, tag: u8) -> Bytes {
    let mut b = vec![0x01, 0x55, 0x12, 0x20, tag];
    b.extend(n.to_be_bytes());
    b.extend([0u8; 23]);
    b.into()
}

fn log(address: Address, event: &impl SolEvent) -> alloy_primitives::Log {
    alloy_primitives::Log {
        address,
        data: event.encode_log_data(),
    }
}

/// Builds a catalog of `n` assets: each one's card (name, description, license, tags, task) and the events of
/// its publish (AssetPublished, SharesTransferred, VersionAdded, ListingSet) and of its sales.
fn build(index: &Index, n: u64, vocab: &Vocabulary) -> Duration {
    let market = Address::repeat_byte(0x11);
    let attest = Address::repeat_byte(0x22);
    let mut rng = Rng(0x5ca1_3a11);
    let start = Instant::now();
    const BATCH: u64 = 10_000;
    let mut id = 1u64;
    while id <= n {
        let end = (id + BATCH).min(n + 1);
        let mut logs = Vec::new();
        for asset in id..end {
            let words = |rng: &mut Rng, k: usize| {
                (0..k)
                    .map(|_| vocab.sample(rng))
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            let tags: Vec<&str> = (0..1 + rng.below(3))
                .map(|_| TAGS[rng.below(TAGS.len() as u64) as usize])
                .collect();
            let kind = rng.below(2) as u8;
            let card = serde_json::json!({
                "schema": 1,
                "name": words(&mut rng, 3),
                "kind": if kind == 1 { "model" } else { "dataset" },
                "description": words(&mut rng, 30),
                // The smaller of two draws: common licenses first, as on real hubs.
                "license": LICENSES[rng.below(LICENSES.len() as u64).min(rng.below(LICENSES.len() as u64)) as usize],
                "tags": tags,
                "task": TAGS[rng.below(TAGS.len() as u64) as usize],
                "framework": if kind == 1 { "onnx" } else { "" },
            });
            let metadata = cid_of(asset, 2);
            let cid = Cid::from_bytes(&metadata).expect("valid CID");
            index
                .add_card(&cid, card.to_string().as_bytes())
                .expect("card stored");
            let owner = Address::from_word(B256::from(U256::from(1 + rng.below(5_000))));
            let block = asset;
            let time = 1_700_000_000 + asset * 12;
            let price = if rng.below(10) < 3 {
                0u128
            } else {
                (1 + rng.below(1_000)) as u128 * 10u128.pow(15)
            };
            let mut push = |l: alloy_primitives::Log| {
                logs.push(ChainLog {
                    block,
                    block_hash: B256::ZERO,
                    time,
                    log: l,
                });
            };
            push(log(
                market,
                &Marketplace::AssetPublished {
                    assetId: U256::from(asset),
                    owner,
                    kind,
                    encrypted: price > 0,
                    gatewayUrl: String::new(),
                    parents: vec![],
                },
            ));
            push(log(
                market,
                &Marketplace::SharesTransferred {
                    assetId: U256::from(asset),
                    from: Address::ZERO,
                    to: owner,
                    amount: U256::from(100),
                },
            ));
            push(log(
                market,
                &Marketplace::VersionAdded {
                    assetId: U256::from(asset),
                    index: U256::ZERO,
                    author: owner,
                    contentCid: cid_of(asset, 1),
                    metadataCid: metadata,
                    commitment: B256::repeat_byte(7),
                },
            ));
            push(log(
                market,
                &Marketplace::ListingSet {
                    assetId: U256::from(asset),
                    token: Address::ZERO,
                    price,
                    duration: 0,
                },
            ));
            for s in 0..rng.below(4) {
                push(log(
                    market,
                    &Marketplace::LicensePurchased {
                        assetId: U256::from(asset),
                        buyer: Address::from_word(B256::from(U256::from(10_000 + s))),
                        token: Address::ZERO,
                        price: U256::from(price),
                        expiry: u64::MAX,
                    },
                ));
            }
            let _ = attest;
        }
        index
            .apply_logs(market, attest, &logs)
            .expect("synthetic logs apply");
        id = end;
    }
    start.elapsed()
}

/// Makes one query of a kind from the generator.
type MakeQuery<'a> = Box<dyn Fn(&mut Rng) -> SearchQuery + 'a>;

struct Mix {
    name: &'static str,
    latencies: Vec<Duration>,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1e3)
}

fn search_bench(index: &Index, vocab: &Vocabulary, rounds: usize) {
    let mut rng = Rng(42);
    let word = |rng: &mut Rng| vocab.words[rng.below(5_000) as usize].clone();
    let makers: Vec<(&'static str, MakeQuery<'_>)> = vec![
        (
            "one word, relevance",
            Box::new(move |r: &mut Rng| SearchQuery {
                text: Some(word(r)),
                ..Default::default()
            }),
        ),
        (
            "two words, relevance",
            Box::new(move |r: &mut Rng| SearchQuery {
                text: Some(format!("{} {}", word(r), word(r))),
                ..Default::default()
            }),
        ),
        (
            "common word (top 10), relevance",
            Box::new(move |r: &mut Rng| SearchQuery {
                text: Some(vocab.words[r.below(10) as usize].clone()),
                ..Default::default()
            }),
        ),
        (
            "browse newest",
            Box::new(|_r: &mut Rng| SearchQuery::default()),
        ),
        (
            "kind, newest",
            Box::new(|r: &mut Rng| SearchQuery {
                kind: Some(if r.below(2) == 0 {
                    AssetKind::Model
                } else {
                    AssetKind::Dataset
                }),
                ..Default::default()
            }),
        ),
        (
            "license, newest",
            Box::new(|r: &mut Rng| SearchQuery {
                license: Some(LICENSES[r.below(LICENSES.len() as u64) as usize].into()),
                ..Default::default()
            }),
        ),
        (
            "tag, most sold",
            Box::new(|r: &mut Rng| SearchQuery {
                tag: Some(TAGS[r.below(TAGS.len() as u64) as usize].into()),
                sort: Sort::Sales,
                ..Default::default()
            }),
        ),
        (
            "free only",
            Box::new(|_r: &mut Rng| SearchQuery {
                free_only: true,
                ..Default::default()
            }),
        ),
        (
            "price range, cheapest",
            Box::new(|r: &mut Rng| {
                let lo = r.below(500) as u128 * 10u128.pow(15);
                SearchQuery {
                    min_price: Some(U256::from(lo)),
                    max_price: Some(U256::from(lo + 10u128.pow(17))),
                    sort: Sort::PriceAsc,
                    ..Default::default()
                }
            }),
        ),
        (
            "word + kind + license, cheapest",
            Box::new(move |r: &mut Rng| SearchQuery {
                text: Some(word(r)),
                kind: Some(AssetKind::Model),
                license: Some("MIT".into()),
                sort: Sort::PriceAsc,
                ..Default::default()
            }),
        ),
        (
            "page 200 of newest",
            Box::new(|_r: &mut Rng| SearchQuery {
                page: 200,
                per_page: 20,
                ..Default::default()
            }),
        ),
    ];
    let mut mixes: Vec<Mix> = makers
        .iter()
        .map(|(n, _)| Mix {
            name: n,
            latencies: vec![],
        })
        .collect();
    // Warm the page cache and the statement caches once.
    for (_, make) in &makers {
        index.search(&make(&mut rng)).expect("search");
    }
    for _ in 0..rounds {
        for (i, (_, make)) in makers.iter().enumerate() {
            let query = make(&mut rng);
            let t = Instant::now();
            let page = index.search(&query).expect("search");
            mixes[i].latencies.push(t.elapsed());
            std::hint::black_box(page);
        }
    }
    let mut all = Vec::new();
    println!("| query | p50 ms | p99 ms | max ms |");
    println!("|---|---:|---:|---:|");
    for m in &mut mixes {
        m.latencies.sort();
        all.extend(m.latencies.iter().copied());
        println!(
            "| {} | {} | {} | {} |",
            m.name,
            ms(percentile(&m.latencies, 0.5)),
            ms(percentile(&m.latencies, 0.99)),
            ms(*m.latencies.last().unwrap())
        );
    }
    all.sort();
    let p99 = percentile(&all, 0.99);
    println!(
        "| **all {} queries** | **{}** | **{}** | {} |",
        all.len(),
        ms(percentile(&all, 0.5)),
        ms(p99),
        ms(*all.last().unwrap())
    );
    println!(
        "p99 {} ms against the target of 20 ms: {:.2}x the target",
        ms(p99),
        p99.as_secs_f64() * 1e3 / 20.0
    );
}

async fn ingest_bench(assets: u64) {
    let node = scal3ml_devnet::spawn(scal3ml_devnet::DevnetConfig::test())
        .await
        .expect("devnet");
    let keys = node.dev_keys();
    let url: alloy::transports::http::reqwest::Url = node.http_url().parse().expect("url");
    let signer = PrivateKeySigner::from_bytes(&keys[1].1).expect("key");
    let p = ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer))
        .connect_http(url.clone());
    let deployment = deploy(&p, keys[0].0).await.expect("deploy");
    let market = Marketplace::new(deployment.marketplace, &p);
    let buyer_signer = PrivateKeySigner::from_bytes(&keys[2].1).expect("key");
    let bp = ProviderBuilder::new()
        .wallet(EthereumWallet::from(buyer_signer))
        .connect_http(url.clone());
    let buyer_market = Marketplace::new(deployment.marketplace, &bp);
    let owner = keys[1].0;
    let start = Instant::now();
    let mut last = None;
    for i in 0..assets {
        let params = Marketplace::PublishParams {
            kind: (i % 2) as u8,
            contentCid: cid_of(i, 1),
            metadataCid: cid_of(i, 2),
            encrypted: false,
            gatewayUrl: String::new(),
            parents: vec![],
            shareholders: vec![
                Marketplace::Shareholder {
                    account: owner,
                    shares: U96::from(70),
                },
                Marketplace::Shareholder {
                    account: keys[3].0,
                    shares: U96::from(30),
                },
            ],
            listing: Marketplace::ListingTerms {
                token: Address::ZERO,
                price: 1_000,
                duration: 0,
            },
        };
        last = Some(
            market
                .publish(params)
                .send()
                .await
                .expect("publish")
                .get_receipt()
                .await
                .expect("receipt"),
        );
        if i % 2 == 0 {
            buyer_market
                .buy(
                    U256::from(i + 1),
                    Address::ZERO,
                    U256::from(1_000),
                    0,
                    B256::ZERO,
                )
                .value(U256::from(1_000))
                .send()
                .await
                .expect("buy")
                .get_receipt()
                .await
                .expect("receipt");
        }
    }
    assert!(last.is_some_and(|r| r.status()));
    eprintln!(
        "produced {assets} publishes and {} purchases in {:.1} s",
        assets.div_ceil(2),
        start.elapsed().as_secs_f64()
    );

    let reader = ProviderBuilder::new().connect_http(url);
    // How much of the time is the node and the transport: the same logs in one eth_getLogs, nothing applied.
    let t = Instant::now();
    let fetched = alloy::providers::Provider::get_logs(
        &reader,
        &alloy::rpc::types::Filter::new()
            .address(vec![deployment.marketplace, deployment.attestations])
            .from_block(0),
    )
    .await
    .expect("getLogs");
    eprintln!(
        "one eth_getLogs of all {} logs: {:.2} s",
        fetched.len(),
        t.elapsed().as_secs_f64()
    );
    // Every block is recent on a fresh devnet, so every change is journaled for reorgs (the worst case); a
    // catch-up of old blocks on a real chain journals only the last `reorg_window` blocks.
    for (label, window) in [
        ("every block journaled for reorgs", 1_024),
        ("no journaling (blocks older than the reorg window)", 0),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let index = Index::open(dir.path().join("catalog.sqlite")).expect("catalog");
        let mut config = IndexerConfig::from_manifest(&deployment.manifest).expect("manifest");
        config.reorg_window = window;
        let mut indexer = Indexer::new(reader.clone(), index.clone(), config);
        let t = Instant::now();
        let report = indexer.sync_once().await.expect("sync");
        let elapsed = t.elapsed();
        let rate = report.logs as f64 / elapsed.as_secs_f64();
        println!(
            "ingest, {label}: {} logs from {} blocks over JSON-RPC into a file catalog in {:.2} s = {:.0} events/s; target 10,000: {:.2}x the target",
            report.logs,
            report.next_block,
            elapsed.as_secs_f64(),
            rate,
            rate / 10_000.0
        );
        let stats = index.stats().expect("stats");
        assert_eq!(stats.assets, assets, "every asset indexed");
        assert_eq!(stats.licenses, assets.div_ceil(2), "every purchase indexed");
    }
    node.shutdown().await;
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let sizes: Vec<u64> = arg(&args, "--sizes")
        .unwrap_or_else(|| "100000,1000000".into())
        .split(',')
        .map(|s| s.parse().expect("--sizes takes numbers"))
        .collect();
    let rounds: usize = arg(&args, "--queries")
        .map(|s| s.parse().expect("--queries takes a number"))
        .unwrap_or(200);
    let ingest_assets: u64 = arg(&args, "--ingest-assets")
        .map(|s| s.parse().expect("a number"))
        .unwrap_or(2_000);

    if !args.iter().any(|a| a == "--skip-ingest") {
        ingest_bench(ingest_assets).await;
    }
    let keep = arg(&args, "--keep");
    let vocab = Vocabulary::new(20_000);
    for n in sizes {
        let temp = tempfile::tempdir().expect("tempdir");
        let path = match &keep {
            Some(dir) => std::path::Path::new(dir).join(format!("catalog-{n}.sqlite")),
            None => temp.path().join("catalog.sqlite"),
        };
        let reuse = keep.is_some() && path.exists();
        let index = Index::open(&path).expect("catalog");
        let built = if reuse {
            let have = index.stats().expect("stats").assets;
            assert_eq!(
                have,
                n,
                "{} holds {have} assets, not {n}: delete it",
                path.display()
            );
            "reused".to_owned()
        } else {
            format!("built in {:.0} s", build(&index, n, &vocab).as_secs_f64())
        };
        let file = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        println!("\n### {n} assets ({built}, {} MB)\n", file / 1_000_000);
        search_bench(&index, &vocab, rounds);
    }
}
