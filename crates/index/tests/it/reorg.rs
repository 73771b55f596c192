//! Reorgs for real: the devnet's `evm_snapshot`/`evm_revert` replace blocks the catalog has indexed.

use crate::common::*;
use alloy::{
    primitives::{B256, U256},
    providers::Provider,
};
use scal3ml_api::SearchQuery;
use scal3ml_index::Index;
use scal3ml_primitives::AssetId;

#[tokio::test]
async fn a_reorg_rolls_the_catalog_back_to_the_common_ancestor() {
    let w = World::new().await;
    let owner = w.accounts[1];
    let keep = w
        .put(&card(
            "Kept",
            "dataset",
            "survives the reorg: walrus",
            "MIT",
            &["x"],
        ))
        .await;
    let kept = publish(&w, 1, &Publish::new(owner, keep)).await;
    let index = Index::open_in_memory().unwrap();
    let mut indexer = w.indexer(index.clone());
    indexer.sync_once().await.unwrap();

    let p = w.provider(0);
    let snapshot: U256 = p
        .raw_request("evm_snapshot".into(), serde_json::json!([]))
        .await
        .unwrap();
    // On the fork that will be dropped: a paid model derived from the dataset, bought; the dataset's owner changes.
    let gone = w
        .put(&card(
            "Gone",
            "model",
            "vanishes in the reorg: narwhal",
            "MIT",
            &[],
        ))
        .await;
    let mut m = Publish::new(owner, gone);
    m.kind = 1;
    m.parents = vec![(kept, 1_000)];
    m.price = ONE_ETH;
    let dropped = publish(&w, 1, &m).await;
    ok(w.market(3)
        .buy(U256::from(dropped), ETH, U256::from(ONE_ETH), 0, B256::ZERO)
        .value(U256::from(ONE_ETH))
        .send()
        .await
        .unwrap())
    .await;
    ok(w.market(1)
        .transferFrom(owner, w.accounts[2], U256::from(kept))
        .send()
        .await
        .unwrap())
    .await;
    indexer.sync_once().await.unwrap();
    assert_eq!(
        index
            .search(&SearchQuery {
                text: Some("narwhal".into()),
                ..Default::default()
            })
            .unwrap()
            .total,
        1
    );
    assert_eq!(index.stats().unwrap().licenses, 1);

    // The chain drops those blocks and grows a longer fork with something else.
    let reverted: bool = p
        .raw_request("evm_revert".into(), serde_json::json!([snapshot]))
        .await
        .unwrap();
    assert!(reverted);
    let other = w
        .put(&card(
            "Other",
            "dataset",
            "only on the new fork: axolotl",
            "Apache-2.0",
            &[],
        ))
        .await;
    publish(&w, 2, &Publish::new(w.accounts[2], other)).await;
    let _: serde_json::Value = p
        .raw_request("anvil_mine".into(), serde_json::json!([5]))
        .await
        .unwrap();

    let report = indexer.sync_once().await.unwrap();
    assert!(report.rolled_back_to.is_some(), "{report:?}");
    let search = |t: &str| {
        index
            .search(&SearchQuery {
                text: Some(t.into()),
                ..Default::default()
            })
            .unwrap()
            .total
    };
    assert_eq!(
        (search("narwhal"), search("axolotl"), search("walrus")),
        (0, 1, 1)
    );
    assert_eq!(index.stats().unwrap().licenses, 0);
    assert_eq!(
        index.asset(AssetId(kept)).unwrap().unwrap().summary.owner,
        owner
    );
    assert!(index.lineage(AssetId(kept)).unwrap().descendants.is_empty());

    // Exactly what a fresh rebuild of the surviving chain gives.
    let fresh = Index::open_in_memory().unwrap();
    w.indexer(fresh.clone()).sync_once().await.unwrap();
    assert_eq!(
        fresh.canonical_dump().unwrap(),
        index.canonical_dump().unwrap()
    );
    w.node.shutdown().await;
}
