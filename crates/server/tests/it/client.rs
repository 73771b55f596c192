//! [`scal3ml_api::NodeApi`] against a running node over a socket: each typed method reaches its route and reads
//! its answer, and a refusal arrives as the node's code and message.

use crate::common::TestNode;
use scal3ml_api::{ClientError, LeaderboardQuery, NodeApi, SearchQuery};
use scal3ml_primitives::{AssetId, AttestationId, ProposalId};

#[tokio::test(flavor = "multi_thread")]
async fn the_typed_client_reads_each_route_and_the_refusals() {
    let node = TestNode::start().await;
    let api = NodeApi::new(&format!("{}/", node.node.url()), reqwest::Client::new());

    let network = api.network().await.unwrap();
    assert_ne!(network.marketplace, alloy::primitives::Address::ZERO);
    assert_eq!(
        network.node_url.trim_end_matches('/'),
        node.node.url().trim_end_matches('/')
    );
    let page = api.search(&SearchQuery::default()).await.unwrap();
    assert_eq!((page.total, page.items.len()), (0, 0));
    assert!(api.stats().await.unwrap().assets == 0);
    assert!(api.proposals(AssetId(1)).await.unwrap().is_empty());
    let someone = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
        .parse()
        .unwrap();
    assert!(api.account(someone).await.unwrap().assets_owned.is_empty());

    // Refusals carry the node's status, code and message.
    let refused = |e: ClientError| (e.status(), e.code().map(str::to_owned), e.to_string());
    let (status, code, message) = refused(api.asset(AssetId(7)).await.unwrap_err());
    assert_eq!(
        (status, code.as_deref()),
        (Some(404), Some("no_such_asset"))
    );
    assert!(message.contains("scal3ml search"), "{message}");
    let (status, code, _) = refused(api.proposal(ProposalId(9)).await.unwrap_err());
    assert_eq!(status, Some(404), "{code:?}");
    let (status, code, _) = refused(api.attestation(AttestationId(3)).await.unwrap_err());
    assert_eq!(
        (status, code.as_deref()),
        (Some(404), Some("no_such_attestation"))
    );
    let (status, _, _) = refused(
        api.leaderboard(AssetId(5), &LeaderboardQuery::default())
            .await
            .unwrap_err(),
    );
    assert_eq!(status, Some(404));
    // A comment id is one path segment, whatever it holds: it cannot reach another route.
    let e = api.comment("../../network").await.unwrap_err();
    assert_ne!(e.code(), None, "{e}");
    assert_ne!(e.status(), Some(200));

    // A node that is not there.
    let gone = NodeApi::new("http://127.0.0.1:9", reqwest::Client::new());
    let e = gone.network().await.unwrap_err();
    assert!(matches!(e, ClientError::Unreachable { .. }), "{e}");
    assert!(
        e.to_string()
            .starts_with("cannot reach the node at http://127.0.0.1:9/api/network"),
        "{e}"
    );
}
