//! Evaluation attestations: attest, endorse, dispute.

use crate::common::*;
use alloy_primitives::{Address, I256, U256};
use scal3ml_contracts::{
    Attestations::{self, AttestationsErrors as E},
    Marketplace,
};

fn attest_call(model: U256, dataset: U256) -> Attestations::attestCall {
    Attestations::attestCall {
        modelAssetId: model,
        modelVersion: U256::ZERO,
        datasetAssetId: dataset,
        datasetVersion: U256::ZERO,
        metric: "accuracy".into(),
        value: I256::try_from(912_345).unwrap(),
        decimals: 6,
        reportCid: cid(40),
    }
}

fn send<C: alloy_sol_types::SolCall>(
    w: &mut World,
    from: Address,
    call: C,
) -> Result<
    (C::Return, scal3ml_contracts::test_utils::Receipt),
    scal3ml_contracts::test_utils::TxError,
> {
    let to = w.c.attestations;
    w.chain.send(from, to, U256::ZERO, &call)
}

fn err<C: alloy_sol_types::SolCall>(w: &mut World, from: Address, call: C) -> E {
    match send(w, from, call) {
        Ok(_) => panic!("expected a revert"),
        Err(e) => e.decode::<E>(),
    }
}

fn setup(w: &mut World) -> (U256, U256) {
    let o = w.a[1];
    let dataset = w.publish_simple(o, &[(o, 1)], 0);
    let mut p = w.params(o);
    p.kind = 1;
    let model = w.publish(o, p);
    (model, dataset)
}

#[test]
fn attest_then_endorse_and_dispute() {
    let mut w = World::new();
    let (model, dataset) = setup(&mut w);
    let (alice, bob, carol) = (w.a[2], w.a[3], w.a[4]);
    let (id, r) = send(&mut w, alice, attest_call(model, dataset)).unwrap();
    assert_eq!(id, U256::from(1));
    let e = &r
        .logs
        .iter()
        .find_map(|l| <Attestations::Attested as alloy_sol_types::SolEvent>::decode_log(l).ok())
        .unwrap()
        .data;
    assert_eq!(
        (
            e.modelAssetId,
            e.datasetAssetId,
            e.attester,
            e.metric.as_str()
        ),
        (model, dataset, alice, "accuracy")
    );
    assert_eq!(
        (e.value, e.decimals, e.reportCid.clone()),
        (I256::try_from(912_345).unwrap(), 6, cid(40))
    );

    send(
        &mut w,
        bob,
        Attestations::endorseCall {
            attestationId: id,
            reportCid: cid(41),
        },
    )
    .unwrap();
    let r = send(
        &mut w,
        carol,
        Attestations::disputeCall {
            attestationId: id,
            reportCid: cid(42),
        },
    )
    .unwrap()
    .1;
    let rev = &r
        .logs
        .iter()
        .find_map(|l| <Attestations::Reviewed as alloy_sol_types::SolEvent>::decode_log(l).ok())
        .unwrap()
        .data;
    assert_eq!(
        (rev.reviewer, rev.agrees, rev.reportCid.clone()),
        (carol, false, cid(42))
    );
    let att = w.c.attestations;
    let rec = w
        .chain
        .call(att, &Attestations::attestationCall { attestationId: id })
        .unwrap();
    assert_eq!(
        (rec.attester, rec.endorsements, rec.disputes),
        (alice, 1, 1)
    );
    assert!(
        w.chain
            .call(
                att,
                &Attestations::hasReviewedCall {
                    attestationId: id,
                    reviewer: bob
                }
            )
            .unwrap()
    );
    assert_eq!(
        w.chain
            .call(att, &Attestations::MARKETPLACECall {})
            .unwrap(),
        w.c.marketplace
    );
}

#[test]
fn attestation_reverts_explain_themselves() {
    let mut w = World::new();
    let (model, dataset) = setup(&mut w);
    let (alice, bob) = (w.a[2], w.a[3]);
    assert_eq!(
        err(&mut w, alice, attest_call(dataset, dataset)),
        E::WrongAssetKind(Attestations::WrongAssetKind {
            assetId: dataset,
            kind: 0,
            expected: 1
        })
    );
    assert_eq!(
        err(&mut w, alice, attest_call(model, model)),
        E::WrongAssetKind(Attestations::WrongAssetKind {
            assetId: model,
            kind: 1,
            expected: 0
        })
    );
    let mut call = attest_call(model, dataset);
    call.modelVersion = U256::from(1);
    assert_eq!(
        err(&mut w, alice, call),
        E::UnknownVersion(Attestations::UnknownVersion {
            assetId: model,
            version: U256::from(1),
            versionCount: U256::from(1)
        })
    );
    let mut call = attest_call(model, dataset);
    call.metric = String::new();
    assert_eq!(
        err(&mut w, alice, call),
        E::EmptyMetric(Attestations::EmptyMetric {})
    );
    let mut call = attest_call(model, dataset);
    call.reportCid = Default::default();
    assert_eq!(
        err(&mut w, alice, call),
        E::EmptyReport(Attestations::EmptyReport {})
    );
    // An unknown asset surfaces the marketplace's own error.
    let missing = U256::from(99);
    let data = match send(&mut w, alice, attest_call(missing, dataset)).unwrap_err() {
        scal3ml_contracts::test_utils::TxError::Revert { data, .. } => data,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        <Marketplace::MarketplaceErrors as alloy_sol_types::SolInterface>::abi_decode(&data)
            .unwrap(),
        Marketplace::MarketplaceErrors::UnknownAsset(Marketplace::UnknownAsset {
            assetId: missing
        })
    );

    let id = send(&mut w, alice, attest_call(model, dataset)).unwrap().0;
    assert_eq!(
        err(
            &mut w,
            alice,
            Attestations::endorseCall {
                attestationId: id,
                reportCid: cid(1)
            }
        ),
        E::OwnAttestation(Attestations::OwnAttestation { attestationId: id })
    );
    assert_eq!(
        err(
            &mut w,
            bob,
            Attestations::disputeCall {
                attestationId: id,
                reportCid: Default::default()
            }
        ),
        E::EmptyReport(Attestations::EmptyReport {})
    );
    send(
        &mut w,
        bob,
        Attestations::endorseCall {
            attestationId: id,
            reportCid: cid(1),
        },
    )
    .unwrap();
    assert_eq!(
        err(
            &mut w,
            bob,
            Attestations::disputeCall {
                attestationId: id,
                reportCid: cid(2)
            }
        ),
        E::AlreadyReviewed(Attestations::AlreadyReviewed {
            attestationId: id,
            reviewer: bob
        })
    );
    assert_eq!(
        err(
            &mut w,
            bob,
            Attestations::endorseCall {
                attestationId: missing,
                reportCid: cid(2)
            }
        ),
        E::UnknownAttestation(Attestations::UnknownAttestation {
            attestationId: missing
        })
    );
    let att = w.c.attestations;
    assert_eq!(
        w.chain
            .call(
                att,
                &Attestations::attestationCall {
                    attestationId: missing
                }
            )
            .unwrap_err()
            .decode::<E>(),
        E::UnknownAttestation(Attestations::UnknownAttestation {
            attestationId: missing
        })
    );
}
