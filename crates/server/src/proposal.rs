//! `GET /api/proposals/{id}`: one proposal with what a voter needs to decide: its votes, the tally against
//! the majority it needs (the chain's `totalAtSnapshot`, read live, as is whether it expired), its description
//! from the block store, and what passing would change in the asset's shares. The proposals page renders the
//! same [`ProposalDetail`].

use crate::api::{AppState, query};
use alloy::primitives::{Address, U256};
use axum::{
    Json,
    extract::{Path, State},
};
use scal3ml_api::ApiError;
use scal3ml_api::{ProposalDetail, ProposalStatus, ShareChange, Shareholder};
use scal3ml_primitives::{AssetId, ProposalId};
use scal3ml_store::{StoreError, export};
use std::sync::Arc;

/// Largest description returned inline (a description is a Markdown message, not a document).
const MAX_DESCRIPTION_BYTES: u64 = 64 << 10;

/// Basis points of `part` in `whole`, rounded down.
fn bps(part: U256, whole: U256) -> u64 {
    if whole.is_zero() {
        return 0;
    }
    (part * U256::from(10_000u64) / whole).to::<u64>()
}

/// The share table if `requested` new shares go to `proposer`.
pub(crate) fn share_change(
    holders: &[Shareholder],
    proposer: Address,
    requested: U256,
) -> Vec<ShareChange> {
    let total_now: U256 = holders.iter().fold(U256::ZERO, |a, h| a + h.shares);
    let total_after = total_now + requested;
    let mut out: Vec<ShareChange> = holders
        .iter()
        .map(|h| {
            let after = if h.holder == proposer {
                h.shares + requested
            } else {
                h.shares
            };
            ShareChange {
                holder: h.holder,
                proposer: h.holder == proposer,
                shares_now: h.shares,
                shares_after: after,
                bps_now: bps(h.shares, total_now),
                bps_after: bps(after, total_after),
            }
        })
        .collect();
    if !out.iter().any(|c| c.proposer) && !requested.is_zero() {
        out.push(ShareChange {
            holder: proposer,
            proposer: true,
            shares_now: U256::ZERO,
            shares_after: requested,
            bps_now: 0,
            bps_after: bps(requested, total_after),
        });
    }
    out
}

/// Builds the detail of proposal `id`; `Ok(None)` if the catalog does not have it.
pub(crate) async fn detail_of(
    state: &Arc<AppState>,
    id: u64,
) -> Result<Option<ProposalDetail>, ApiError> {
    let found = query(state, move |i| {
        let Some((p, votes)) = i.proposal(ProposalId(id))? else {
            return Ok(None);
        };
        let holders = i
            .asset(AssetId(p.asset))?
            .map(|d| d.shareholders)
            .unwrap_or_default();
        Ok(Some((p, votes, holders)))
    })
    .await?;
    let Some((proposal, votes, holders)) = found else {
        return Ok(None);
    };
    let chain = state
        .market
        .proposal(ProposalId(id))
        .await
        .map_err(crate::tx::market_error)?;
    let total_at_snapshot = U256::from(chain.total_at_snapshot);
    let needed = total_at_snapshot / U256::from(2u64) + U256::from(1u64);
    let yes = U256::from(chain.yes_votes);
    let no = U256::from(chain.no_votes);
    let status = match chain.state {
        1 if yes >= needed => ProposalStatus::Passed,
        1 => ProposalStatus::Open,
        2 => ProposalStatus::Executed,
        3 => ProposalStatus::Rejected,
        _ => ProposalStatus::Expired,
    };
    let total_now: U256 = holders.iter().fold(U256::ZERO, |a, h| a + h.shares);
    let requested = proposal.requested_shares;
    let share_change = if status.is_live() {
        share_change(&holders, proposal.proposer, requested)
    } else {
        Vec::new()
    };
    let description = description(state, &proposal.description_cid).await;
    Ok(Some(ProposalDetail {
        status,
        total_at_snapshot,
        needed,
        not_voted: total_at_snapshot.saturating_sub(yes + no),
        votes,
        description,
        total_now,
        total_after: total_now + requested,
        share_change,
        proposal,
    }))
}

/// The description text, if the node holds it and it is small UTF-8.
async fn description(state: &AppState, cid: &str) -> Option<String> {
    let cid: scal3ml_store::Cid = cid.parse().ok()?;
    match export::cat_to_vec(&state.store, &cid, MAX_DESCRIPTION_BYTES).await {
        Ok(bytes) => String::from_utf8(bytes).ok(),
        Err(StoreError::NotFound { .. } | StoreError::LimitExceeded { .. }) => None,
        Err(e) => {
            tracing::warn!(target: "server::proposal", %cid, error = %e, "reading a description");
            None
        }
    }
}

/// One proposal: votes, the tally against the majority it needs, its description and the share change.
#[utoipa::path(get, path = "/api/proposals/{id}", params(("id" = u64, Path, description = "proposal id")),
    responses((status = 200, body = ProposalDetail), (status = 404, description = "no such proposal"),
        (status = 502, description = "the chain did not answer")))]
pub(crate) async fn detail(
    State(state): State<Arc<AppState>>,
    Path(id): Path<u64>,
) -> Result<Json<ProposalDetail>, ApiError> {
    detail_of(&state, id).await?.map(Json).ok_or_else(|| {
        ApiError::not_found(
            "no_such_proposal",
            format!(
                "no proposal {id} in the catalog: list an asset's proposals with `scal3ml proposals <asset>`, \
                 or wait a moment if it was just made"
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holder(byte: u8, shares: u64) -> Shareholder {
        Shareholder {
            holder: Address::repeat_byte(byte),
            shares: U256::from(shares),
        }
    }

    #[test]
    fn a_new_proposer_is_added_and_everyone_else_is_diluted() {
        let holders = [holder(1, 7_000), holder(2, 3_000)];
        let table = share_change(&holders, Address::repeat_byte(9), U256::from(1_111u64));
        assert_eq!(table.len(), 3);
        assert_eq!((table[0].bps_now, table[0].bps_after), (7_000, 6_300));
        assert_eq!((table[1].bps_now, table[1].bps_after), (3_000, 2_700));
        assert!(table[2].proposer);
        assert_eq!(table[2].shares_after, U256::from(1_111u64));
        assert_eq!(table[2].bps_after, 999);
    }

    #[test]
    fn a_holder_who_proposes_keeps_one_row() {
        let holders = [holder(1, 5_000), holder(2, 5_000)];
        let table = share_change(&holders, Address::repeat_byte(2), U256::from(10_000u64));
        assert_eq!(table.len(), 2);
        assert!(table[1].proposer);
        assert_eq!(table[1].shares_after, U256::from(15_000u64));
        assert_eq!(table[1].bps_after, 7_500);
    }
}
