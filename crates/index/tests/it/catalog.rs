//! The catalog follows a marketplace story: publish with cards, buy, move shares, withdraw, transfer the
//! asset, propose and vote, attest and review. Then: what a user would ask of it.

use crate::common::*;
use alloy::{
    primitives::{B256, U256, aliases::U96},
    providers::Provider,
};
use scal3ml_api::{SearchQuery, Sort};
use scal3ml_contracts::Attestations;
use scal3ml_index::{Index, IndexError, Indexer};
use scal3ml_primitives::AssetId;
use scal3ml_primitives::AssetKind;
use scal3ml_store::MemStore;
use std::time::Duration;

fn q(text: &str) -> SearchQuery {
    SearchQuery {
        text: Some(text.into()),
        ..SearchQuery::default()
    }
}

fn ids(index: &Index, query: &SearchQuery) -> Vec<u64> {
    index
        .search(query)
        .unwrap()
        .items
        .iter()
        .map(|s| s.id)
        .collect()
}

#[tokio::test]
async fn catalog_matches_the_chain_and_finds_assets_by_their_cards() {
    let w = World::new().await;
    let a = &w.accounts;
    let (publisher, partner, buyer, proposer, reviewer, new_owner, receiver) =
        (a[1], a[2], a[3], a[4], a[5], a[6], a[7]);

    // A free dataset, and a paid model derived from it (5% royalty), 70/30 between publisher and partner.
    let dataset_card = w
        .put(&card(
            "Tiny Shakespeare",
            "dataset",
            "Character-level corpus of the collected plays, for language modelling.",
            "CC-BY-4.0",
            &["text", "NLP"],
        ))
        .await;
    let dataset = publish(&w, 1, &Publish::new(publisher, dataset_card)).await;
    let model_card = w
        .put(&card(
            "Zebra Detector",
            "model",
            "Finds zebras in savanna photographs. Trained on drone imagery.",
            "MIT",
            &["vision", "wildlife"],
        ))
        .await;
    let mut p = Publish::new(publisher, model_card);
    p.kind = 1;
    p.content = content_cid(7);
    p.parents = vec![(dataset, 500)];
    p.holders = vec![(publisher, 70), (partner, 30)];
    p.price = ONE_ETH;
    let model = publish(&w, 1, &p).await;

    let index = Index::open_in_memory().unwrap();
    let mut indexer = w.indexer(index.clone());
    let report = indexer.sync_once().await.unwrap();
    assert!(report.logs > 0 && report.cards == 2, "{report:?}");

    // Found by a word of the description, with a highlighted snippet; filters narrow as they should.
    let page = index.search(&q("zebras")).unwrap();
    assert_eq!(page.total, 1);
    let hit = &page.items[0];
    assert_eq!(
        (hit.id, hit.name.as_str(), hit.kind),
        (model, "Zebra Detector", AssetKind::Model)
    );
    assert!(hit.snippet.contains("[zebras]"), "{}", hit.snippet);
    assert_eq!(hit.listings[0].price, U256::from(ONE_ETH));
    assert_eq!(ids(&index, &q("shakespeare")), vec![dataset]);
    assert_eq!(ids(&index, &q("nonexistentword")), Vec::<u64>::new());
    assert_eq!(ids(&index, &SearchQuery::default()), vec![model, dataset]);
    let kind = |k| SearchQuery {
        kind: Some(k),
        ..SearchQuery::default()
    };
    assert_eq!(ids(&index, &kind(AssetKind::Dataset)), vec![dataset]);
    assert_eq!(ids(&index, &kind(AssetKind::Model)), vec![model]);
    let license = |l: &str| SearchQuery {
        license: Some(l.into()),
        ..SearchQuery::default()
    };
    assert_eq!(ids(&index, &license("mit")), vec![model]);
    assert_eq!(ids(&index, &license("CC-BY-4.0")), vec![dataset]);
    assert_eq!(
        ids(&index, &license("CC-BY")),
        Vec::<u64>::new(),
        "licenses match exactly"
    );
    let tag = |t: &str| SearchQuery {
        tag: Some(t.into()),
        ..SearchQuery::default()
    };
    assert_eq!(ids(&index, &tag("nlp")), vec![dataset]);
    assert_eq!(
        ids(&index, &tag("wild")),
        Vec::<u64>::new(),
        "tags match whole"
    );
    let free = SearchQuery {
        free_only: true,
        ..SearchQuery::default()
    };
    assert_eq!(ids(&index, &free), vec![dataset]);
    let cheap = SearchQuery {
        max_price: Some(U256::from(ONE_ETH / 2)),
        ..SearchQuery::default()
    };
    assert_eq!(ids(&index, &cheap), vec![dataset]);
    let dear = SearchQuery {
        sort: Sort::PriceDesc,
        ..SearchQuery::default()
    };
    assert_eq!(ids(&index, &dear), vec![model, dataset]);
    let paged = SearchQuery {
        per_page: 1,
        page: 2,
        ..SearchQuery::default()
    };
    let page = index.search(&paged).unwrap();
    assert_eq!(
        (page.total, page.items.len(), page.items[0].id),
        (2, 1, dataset)
    );

    // Buy, move shares, withdraw, transfer the asset, propose and vote, attest and review.
    let before = w
        .market(1)
        .claimable(U256::from(model), publisher, ETH)
        .call()
        .await
        .unwrap();
    assert_eq!(before, U256::ZERO);
    ok(w.market(3)
        .buy(U256::from(model), ETH, U256::from(ONE_ETH), 0, B256::ZERO)
        .value(U256::from(ONE_ETH))
        .send()
        .await
        .unwrap())
    .await;
    ok(w.market(2)
        .transferShares(U256::from(model), receiver, U96::from(10))
        .send()
        .await
        .unwrap())
    .await;
    let owed = w
        .market(1)
        .claimable(U256::from(model), publisher, ETH)
        .call()
        .await
        .unwrap();
    ok(w.market(1)
        .withdraw(U256::from(model), ETH)
        .send()
        .await
        .unwrap())
    .await;
    ok(w.market(1)
        .transferFrom(publisher, new_owner, U256::from(model))
        .send()
        .await
        .unwrap())
    .await;
    let v1 = w
        .put(&card(
            "Zebra Detector v2",
            "model",
            "Finds zebras and okapis.",
            "MIT",
            &["vision"],
        ))
        .await;
    let proposal = w
        .market(4)
        .propose(
            U256::from(model),
            content_cid(8),
            v1.clone(),
            U96::from(5),
            content_cid(9),
        )
        .call()
        .await
        .unwrap();
    ok(w.market(4)
        .propose(
            U256::from(model),
            content_cid(8),
            v1,
            U96::from(5),
            content_cid(9),
        )
        .send()
        .await
        .unwrap())
    .await;
    ok(w.market(1).vote(proposal, true).send().await.unwrap()).await;
    ok(w.market(4).execute(proposal).send().await.unwrap()).await;
    let attest = Attestations::new(w.deployment.attestations, w.provider(4));
    ok(attest
        .attest(
            U256::from(model),
            U256::ZERO,
            U256::from(dataset),
            U256::ZERO,
            "accuracy".into(),
            alloy::primitives::I256::try_from(9312).unwrap(),
            4,
            content_cid(10),
        )
        .send()
        .await
        .unwrap())
    .await;
    let review = Attestations::new(w.deployment.attestations, w.provider(5));
    ok(review
        .endorse(U256::from(1), content_cid(11))
        .send()
        .await
        .unwrap())
    .await;

    indexer.sync_once().await.unwrap();

    // Counts and balances equal the chain's.
    let licenses = index.licenses_count(AssetId(model)).unwrap();
    assert_eq!((licenses.accounts, licenses.purchases), (1, 1));
    let stats = index.stats().unwrap();
    assert_eq!(
        (stats.assets, stats.datasets, stats.models, stats.licenses),
        (2, 1, 1, 1)
    );
    assert_eq!(stats.sales[0].volume, U256::from(ONE_ETH));
    assert_eq!(
        stats.last_indexed_block,
        Some(w.provider(0).get_block_number().await.unwrap())
    );
    let detail = index.asset(AssetId(model)).unwrap().unwrap();
    assert_eq!(
        detail.summary.owner, new_owner,
        "owner follows the ERC-721 transfer"
    );
    assert_eq!(detail.publisher, publisher);
    assert_eq!(detail.summary.sales, 1);
    assert_eq!(
        detail.summary.name, "Zebra Detector v2",
        "the card follows the latest version"
    );
    assert_eq!(detail.card.as_ref().unwrap()["license"], "MIT");
    assert_eq!(detail.versions.len(), 2);
    assert_eq!(detail.parents.len(), 1);
    assert_eq!(
        (detail.parents[0].asset, detail.parents[0].royalty_bps),
        (dataset, 500)
    );
    for s in &detail.shareholders {
        let chain = w
            .market(0)
            .sharesOf(U256::from(model), s.holder)
            .call()
            .await
            .unwrap();
        assert_eq!(U256::from(chain), s.shares, "shares of {}", s.holder);
    }
    let holders: Vec<_> = detail
        .shareholders
        .iter()
        .map(|s| (s.holder, s.shares.to::<u64>()))
        .collect();
    assert_eq!(
        holders,
        vec![
            (publisher, 70),
            (partner, 20),
            (receiver, 10),
            (proposer, 5)
        ]
    );
    let revenue = &detail.revenue[0];
    assert_eq!(revenue.withdrawn, owed);
    assert_eq!(revenue.royalties_paid, U256::from(ONE_ETH / 20));
    let parent = index.asset(AssetId(dataset)).unwrap().unwrap();
    assert_eq!(
        parent.revenue[0].royalties_received,
        U256::from(ONE_ETH / 20)
    );
    assert_eq!(parent.children[0].asset, model);
    let lineage = index.lineage(AssetId(model)).unwrap();
    assert_eq!(
        lineage
            .ancestors
            .iter()
            .map(|n| (n.asset, n.depth))
            .collect::<Vec<_>>(),
        vec![(dataset, 1)]
    );
    assert_eq!(
        index.lineage(AssetId(dataset)).unwrap().descendants[0].name,
        "Zebra Detector v2"
    );
    let proposals = index.proposals(AssetId(model)).unwrap();
    assert_eq!(
        (
            proposals[0].state.as_str(),
            proposals[0].version_index,
            proposals[0].votes
        ),
        ("executed", Some(1), 1)
    );
    assert_eq!(proposals[0].yes_votes, U256::from(70));
    let attestations = index.attestations(AssetId(dataset)).unwrap();
    assert_eq!(
        (
            attestations[0].metric.as_str(),
            attestations[0].value.as_str(),
            attestations[0].endorsements
        ),
        ("accuracy", "9312", 1)
    );
    assert_eq!(attestations[0].reviews[0].reviewer, reviewer);
    let account = index.account(buyer).unwrap();
    assert_eq!(
        (account.licenses[0].asset, account.licenses[0].expiry),
        (model, None)
    );
    assert_eq!(index.account(new_owner).unwrap().assets_owned[0].id, model);
    assert_eq!(
        index.account(receiver).unwrap().holdings[0].shares,
        U256::from(10)
    );
    let content = index.asset_content(AssetId(model)).unwrap().unwrap();
    let cid = |n| {
        scal3ml_primitives::Cid::from_bytes(content_cid(n))
            .unwrap()
            .to_string()
    };
    let cids: Vec<&str> = content
        .versions
        .iter()
        .map(|v| v.content_cid.as_str())
        .collect();
    assert_eq!(cids, [cid(7), cid(8)]);
    assert_eq!(content.versions[0].author, publisher);
    assert!(index.asset(AssetId(999)).unwrap().is_none());

    // The old card's words no longer find the model; the new ones do.
    assert_eq!(ids(&index, &q("okapis")), vec![model]);
    assert_eq!(ids(&index, &q("drone")), Vec::<u64>::new());

    // A rebuild from block 0 yields the same catalog.
    let rebuilt = Index::open_in_memory().unwrap();
    w.indexer(rebuilt.clone()).sync_once().await.unwrap();
    assert_eq!(
        rebuilt.canonical_dump().unwrap(),
        index.canonical_dump().unwrap()
    );
    w.node.shutdown().await;
}

#[tokio::test]
async fn a_missing_or_broken_card_does_not_stop_ingestion() {
    let w = World::new().await;
    let owner = w.accounts[1];
    // A card whose CID is known but whose bytes are not in the store yet, and one that is not JSON.
    let elsewhere = MemStore::new();
    let late_card = card(
        "Late Card",
        "dataset",
        "Arrives after the asset, about quokkas.",
        "MIT",
        &[],
    );
    let late = put_into(&elsewhere, &late_card).await;
    let broken = w.put(b"this is not json").await;
    let first = publish(&w, 1, &Publish::new(owner, late)).await;
    let second = publish(&w, 1, &Publish::new(owner, broken)).await;
    let index = Index::open_in_memory().unwrap();
    let mut indexer = w.indexer(index.clone());
    indexer.sync_once().await.unwrap();
    for id in [first, second] {
        let s = index.summary(AssetId(id)).unwrap().unwrap();
        assert!(!s.card_indexed && s.name.is_empty(), "{s:?}");
    }
    assert_eq!(index.search(&SearchQuery::default()).unwrap().total, 2);
    assert!(index.search(&q("quokkas")).unwrap().items.is_empty());

    // The card arrives; the next retry (after a back-off of one or two seconds) indexes it.
    w.put(&late_card).await;
    tokio::time::sleep(Duration::from_millis(3_100)).await;
    indexer.sync_once().await.unwrap();
    assert_eq!(ids(&index, &q("quokkas")), vec![first]);
    assert!(
        !index
            .summary(AssetId(second))
            .unwrap()
            .unwrap()
            .card_indexed
    );
    w.node.shutdown().await;
}

#[tokio::test]
async fn resumes_from_its_cursor_after_a_restart() {
    let w = World::new().await;
    let owner = w.accounts[1];
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("catalog.sqlite");
    let c1 = w
        .put(&card("First", "dataset", "alpha words", "MIT", &[]))
        .await;
    publish(&w, 1, &Publish::new(owner, c1)).await;
    {
        let index = Index::open(&path).unwrap();
        w.indexer(index).sync_once().await.unwrap();
    }
    let c2 = w
        .put(&card("Second", "dataset", "beta words", "MIT", &[]))
        .await;
    publish(&w, 1, &Publish::new(owner, c2)).await;

    let index = Index::open(&path).unwrap();
    let resumed_at = index.next_block().unwrap().unwrap();
    let report = w.indexer(index.clone()).sync_once().await.unwrap();
    // Only the second publish's logs are read again: Transfer, AssetPublished, SharesTransferred,
    // VersionAdded, ListingSet.
    assert_eq!(report.logs, 5, "{report:?} (resumed at {resumed_at})");
    assert_eq!(index.search(&q("words")).unwrap().total, 2);
    let fresh = Index::open_in_memory().unwrap();
    w.indexer(fresh.clone()).sync_once().await.unwrap();
    assert_eq!(
        fresh.canonical_dump().unwrap(),
        index.canonical_dump().unwrap()
    );

    // The same file cannot be used for other contracts.
    let other = w.config().marketplace.create(1);
    let mut config = w.config();
    config.marketplace = other;
    let err = Indexer::new(w.provider(0), index, config)
        .sync_once()
        .await
        .unwrap_err();
    assert!(matches!(err, IndexError::WrongChain { .. }), "{err}");
    w.node.shutdown().await;
}

#[tokio::test]
async fn markdown_descriptions_are_searched_and_shown_as_their_words() {
    let w = World::new().await;
    let markdown =
        "# Penguins\n\nCounts **penguins** in [colony photos](https://example.org/colonies).";
    let cid = w
        .put(&card(
            "Penguin Counter",
            "model",
            markdown,
            "MIT",
            &["vision"],
        ))
        .await;
    let id = publish(&w, 1, &Publish::new(w.accounts[1], cid)).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("catalog.sqlite");
    let plain = "Penguins Counts penguins in colony photos.";
    let check = |index: &Index| {
        let page = index.search(&q("penguins")).unwrap();
        assert_eq!(page.items.len(), 1);
        assert_eq!(page.items[0].id, id);
        let marked = &page.items[0].snippet;
        assert_eq!(marked.replace(['[', ']'], ""), plain, "{marked}");
        assert!(marked.contains("[penguins]"), "{marked}");
        let listed = index.search(&SearchQuery::default()).unwrap();
        assert_eq!(listed.items[0].snippet, plain);
        assert!(
            ids(index, &q("example")).is_empty(),
            "a link's target is not searched"
        );
    };
    {
        let index = Index::open(&path).unwrap();
        w.indexer(index.clone()).sync_once().await.unwrap();
        check(&index);
    }

    // A catalog written before (schema version 1) kept the Markdown; opening it reads the cards again.
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute("UPDATE cards SET description = ?1", [markdown])
            .unwrap();
        conn.execute_batch(
            "DELETE FROM asset_fts;
             INSERT INTO asset_fts (rowid, name, description, tags, task, framework, license)
                 SELECT a.id, c.name, c.description, c.tags, c.task, c.framework, c.license
                 FROM assets a JOIN cards c ON c.cid = a.metadata_cid;
             PRAGMA user_version = 1;",
        )
        .unwrap();
    }
    let index = Index::open(&path).unwrap();
    check(&index);
}
