//! Search over a catalog large enough that the planner's choices matter (more matches than the count cap),
//! checked against the same answers computed by brute force from the generator.

use alloy::primitives::{Address, B256, Bytes, U256};
use alloy_sol_types::SolEvent;
use scal3ml_api::{SearchQuery, Sort, TOTAL_COUNT_CAP};
use scal3ml_contracts::Marketplace;
use scal3ml_index::{ChainLog, Index};
use scal3ml_primitives::{AssetKind, Cid};

const N: u64 = 2_500;

struct Asset {
    id: u64,
    kind: u8,
    price: u128,
    license: &'static str,
    tag: String,
    sales: u64,
    rare: bool,
}

fn cid(n: u64, tag: u8) -> Bytes {
    let mut b = vec![0x01, 0x55, 0x12, 0x20, tag];
    b.extend(n.to_be_bytes());
    b.extend([0u8; 23]);
    b.into()
}

fn build() -> (Index, Vec<Asset>) {
    let index = Index::open_in_memory().unwrap();
    let market = Address::repeat_byte(1);
    let mut logs = Vec::new();
    let mut assets = Vec::new();
    for id in 1..=N {
        let a = Asset {
            id,
            kind: (id % 2) as u8,
            price: if id % 5 == 0 {
                0
            } else {
                (id * 7_919 % 1_000) as u128
            },
            license: if id % 3 == 0 { "MIT" } else { "Apache-2.0" },
            tag: format!("t{}", id % 7),
            sales: id % 4,
            rare: id % 150 == 0,
        };
        let description = format!(
            "common words here{}",
            if a.rare { " and a quetzal" } else { "" }
        );
        let card = serde_json::json!({"name": format!("asset {id}"), "description": description,
            "license": a.license, "tags": [a.tag]});
        index
            .add_card(
                &Cid::from_bytes(cid(id, 2)).unwrap(),
                card.to_string().as_bytes(),
            )
            .unwrap();
        let mut push = |data| {
            logs.push(ChainLog {
                block: id,
                block_hash: B256::ZERO,
                time: id,
                log: alloy::primitives::Log {
                    address: market,
                    data,
                },
            })
        };
        let asset = U256::from(id);
        let owner = Address::repeat_byte(9);
        push(
            Marketplace::AssetPublished {
                assetId: asset,
                owner,
                kind: a.kind,
                encrypted: false,
                gatewayUrl: String::new(),
                parents: vec![],
            }
            .encode_log_data(),
        );
        push(
            Marketplace::VersionAdded {
                assetId: asset,
                index: U256::ZERO,
                author: owner,
                contentCid: cid(id, 1),
                metadataCid: cid(id, 2),
                commitment: B256::ZERO,
            }
            .encode_log_data(),
        );
        push(
            Marketplace::ListingSet {
                assetId: asset,
                token: Address::ZERO,
                price: a.price,
                duration: 0,
            }
            .encode_log_data(),
        );
        for _ in 0..a.sales {
            push(
                Marketplace::LicensePurchased {
                    assetId: asset,
                    buyer: owner,
                    token: Address::ZERO,
                    price: U256::from(a.price),
                    expiry: u64::MAX,
                }
                .encode_log_data(),
            );
        }
        assets.push(a);
    }
    index
        .apply_logs(market, Address::repeat_byte(2), &logs)
        .unwrap();
    (index, assets)
}

/// The first page a query should return, by brute force: filter, then order (ties newest first).
fn expect(
    assets: &[Asset],
    keep: impl Fn(&Asset) -> bool,
    key: impl Fn(&Asset) -> i128,
    n: usize,
) -> Vec<u64> {
    let mut hits: Vec<&Asset> = assets.iter().filter(|a| keep(a)).collect();
    hits.sort_by_key(|a| (key(a), std::cmp::Reverse(a.id)));
    hits.iter().take(n).map(|a| a.id).collect()
}

fn got(index: &Index, q: SearchQuery) -> Vec<u64> {
    index
        .search(&q)
        .unwrap()
        .items
        .iter()
        .map(|s| s.id)
        .collect()
}

#[test]
fn every_plan_returns_what_brute_force_does() {
    let (index, assets) = build();
    let all = |_: &Asset| true;

    // Many matches: counted up to the cap, walked through the price index.
    let q = SearchQuery {
        text: Some("common".into()),
        sort: Sort::PriceAsc,
        ..Default::default()
    };
    let page = index.search(&q).unwrap();
    assert_eq!(
        (page.total, page.total_is_lower_bound),
        (TOTAL_COUNT_CAP, true)
    );
    assert_eq!(
        got(&index, q),
        expect(&assets, all, |a| a.price as i128, 20)
    );
    // Many matches with a filter: the walk of the price index checks each asset against the word's matches,
    // read once from the text index.
    let models = |a: &Asset| a.kind == 1;
    let q = SearchQuery {
        text: Some("words".into()),
        kind: Some(AssetKind::Model),
        sort: Sort::PriceDesc,
        per_page: 100,
        page: 2,
        ..Default::default()
    };
    let mut want = expect(&assets, models, |a| -(a.price as i128), 200);
    assert_eq!(got(&index, q), want.split_off(100));
    // Cheapest first past the 500 free assets (one tie group, newest first) into prices shared by a few.
    let q = SearchQuery {
        sort: Sort::PriceAsc,
        per_page: 50,
        page: 10,
        ..Default::default()
    };
    let mut want = expect(&assets, all, |a| a.price as i128, 500);
    assert_eq!(got(&index, q), want.split_off(450));
    let q = SearchQuery {
        sort: Sort::PriceAsc,
        per_page: 50,
        page: 12,
        ..Default::default()
    };
    let mut want = expect(&assets, all, |a| a.price as i128, 600);
    assert_eq!(got(&index, q), want.split_off(550));
    let q = SearchQuery {
        sort: Sort::PriceDesc,
        per_page: 50,
        page: 3,
        ..Default::default()
    };
    let mut want = expect(&assets, all, |a| -(a.price as i128), 150);
    assert_eq!(got(&index, q), want.split_off(100));

    // Fewer matches than the cap: sorted directly.
    let mit = |a: &Asset| a.license == "MIT";
    let q = SearchQuery {
        text: Some("words".into()),
        license: Some("mit".into()),
        sort: Sort::Sales,
        ..Default::default()
    };
    assert_eq!(index.search(&q).unwrap().total, 833);
    assert_eq!(
        got(&index, q),
        expect(&assets, mit, |a| -(a.sales as i128), 20)
    );
    let q = SearchQuery {
        tag: Some("T3".into()),
        sort: Sort::Sales,
        ..Default::default()
    };
    assert_eq!(
        got(&index, q),
        expect(&assets, |a| a.tag == "t3", |a| -(a.sales as i128), 20)
    );
    let q = SearchQuery {
        tag: Some("t3".into()),
        ..Default::default()
    };
    assert_eq!(
        got(&index, q),
        expect(&assets, |a| a.tag == "t3", |_| 0, 20)
    );

    // Filters combined, newest first.
    let free_models = |a: &Asset| a.price == 0 && a.kind == 1;
    let q = SearchQuery {
        free_only: true,
        kind: Some(AssetKind::Model),
        ..Default::default()
    };
    assert_eq!(
        index.search(&q).unwrap().total,
        assets.iter().filter(|a| free_models(a)).count() as u64
    );
    assert_eq!(got(&index, q), expect(&assets, free_models, |_| 0, 20));
    let band = |a: &Asset| (100..=200).contains(&a.price) && a.kind == 0;
    let q = SearchQuery {
        min_price: Some(U256::from(100)),
        max_price: Some(U256::from(200)),
        kind: Some(AssetKind::Dataset),
        per_page: 100,
        ..Default::default()
    };
    assert_eq!(got(&index, q), expect(&assets, band, |_| 0, 100));

    // Relevance: a rare word ranks its few matches; the result window ends the pages.
    let q = SearchQuery {
        text: Some("quetzal".into()),
        per_page: 100,
        ..Default::default()
    };
    let page = index.search(&q).unwrap();
    assert!(page.ranked);
    for hit in &page.items {
        assert!(hit.snippet.contains("[quetzal]"), "{}", hit.snippet);
    }
    let mut ids: Vec<u64> = page.items.iter().map(|s| s.id).collect();
    ids.sort();
    assert_eq!(ids, (1..=N).filter(|i| i % 150 == 0).collect::<Vec<_>>());
    let q = SearchQuery {
        page: 1_000,
        per_page: 20,
        ..Default::default()
    };
    assert!(index.search(&q).unwrap().items.is_empty());
}
