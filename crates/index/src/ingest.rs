//! Applying decoded contract events to the catalog's tables, inside the writer's transaction.

use crate::{
    db::{addr, num, parse_num},
    error::IndexResult,
};
use alloy_primitives::{Address, B256, Log, U256};
use alloy_sol_types::SolEventInterface;
use rusqlite::{Connection, OptionalExtension, params};
use scal3ml_contracts::bindings::{
    attestations::Attestations::AttestationsEvents, marketplace::Marketplace::MarketplaceEvents,
};

/// Seconds a proposal stays open (the contract's VOTING_PERIOD).
const VOTING_PERIOD: u64 = 7 * 24 * 3600;

/// One log with the block it is in, as the catalog applies it.
#[derive(Debug, Clone)]
pub struct ChainLog {
    /// Block number.
    pub block: u64,
    /// Block hash.
    pub block_hash: B256,
    /// Block time (Unix seconds).
    pub time: u64,
    /// The log.
    pub log: Log,
}

/// Which contract a log came from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Contracts {
    pub(crate) marketplace: Address,
    pub(crate) attestations: Address,
}

/// Runs a statement through the connection's statement cache (ingest runs the same few statements millions
/// of times).
fn exec<P: rusqlite::Params>(conn: &Connection, sql: &str, p: P) -> rusqlite::Result<usize> {
    conn.prepare_cached(sql)?.execute(p)
}

impl crate::Index {
    /// Applies logs of the given contracts directly, in one transaction, without the undo journal and without
    /// moving the cursor. For benchmarks that build synthetic catalogs; the [`crate::Indexer`] is the way to
    /// follow a chain. Returns how many logs were known events.
    pub fn apply_logs(
        &self,
        marketplace: Address,
        attestations: Address,
        logs: &[ChainLog],
    ) -> IndexResult<u64> {
        let contracts = Contracts {
            marketplace,
            attestations,
        };
        let mut conn = self.writer();
        let tx = conn.transaction()?;
        tx.execute("UPDATE undo_ctx SET block = NULL WHERE id = 1", [])?;
        let mut known = 0;
        for l in logs {
            known += u64::from(apply(&tx, contracts, l)?);
        }
        tx.commit()?;
        Ok(known)
    }
}

fn id(v: U256) -> i64 {
    // Asset, proposal and attestation ids are sequential counters; u64 saturation only guards the cast.
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn add(
    conn: &Connection,
    sql_get: &str,
    key: &[&dyn rusqlite::ToSql],
    amount: U256,
) -> IndexResult<U256> {
    let old: Option<String> = conn
        .prepare_cached(sql_get)?
        .query_row(key, |r| r.get(0))
        .optional()?;
    let old = old
        .map(|s| parse_num(&s))
        .transpose()?
        .unwrap_or(U256::ZERO);
    Ok(old.saturating_add(amount))
}

fn bump_revenue(
    conn: &Connection,
    asset: i64,
    token: &str,
    column: &str,
    amount: U256,
) -> IndexResult<()> {
    exec(conn,
        "INSERT OR IGNORE INTO revenue (asset_id, token, credited, royalties_received, royalties_paid, withdrawn)
         VALUES (?1, ?2, ?3, ?3, ?3, ?3)",
        params![asset, token, num(U256::ZERO)],
    )?;
    let new = add(
        conn,
        &format!("SELECT {column} FROM revenue WHERE asset_id = ?1 AND token = ?2"),
        &[&asset, &token],
        amount,
    )?;
    exec(
        conn,
        &format!("UPDATE revenue SET {column} = ?3 WHERE asset_id = ?1 AND token = ?2"),
        params![asset, token, num(new)],
    )?;
    Ok(())
}

fn bump_fees(conn: &Connection, token: &str, column: &str, amount: U256) -> IndexResult<()> {
    exec(
        conn,
        "INSERT OR IGNORE INTO fees (token, charged, withdrawn) VALUES (?1, ?2, ?2)",
        params![token, num(U256::ZERO)],
    )?;
    let new = add(
        conn,
        &format!("SELECT {column} FROM fees WHERE token = ?1"),
        &[&token],
        amount,
    )?;
    exec(
        conn,
        &format!("UPDATE fees SET {column} = ?2 WHERE token = ?1"),
        params![token, num(new)],
    )?;
    Ok(())
}

fn move_shares(
    conn: &Connection,
    asset: i64,
    holder: Address,
    amount: U256,
    credit: bool,
) -> IndexResult<()> {
    let holder = addr(holder);
    let old: Option<String> = conn
        .prepare_cached("SELECT balance FROM shares WHERE asset_id = ?1 AND holder = ?2")?
        .query_row(params![asset, holder], |r| r.get(0))
        .optional()?;
    let old = old
        .map(|s| parse_num(&s))
        .transpose()?
        .unwrap_or(U256::ZERO);
    let new = if credit {
        old.saturating_add(amount)
    } else {
        old.saturating_sub(amount)
    };
    if new.is_zero() {
        exec(
            conn,
            "DELETE FROM shares WHERE asset_id = ?1 AND holder = ?2",
            params![asset, holder],
        )?;
    } else {
        exec(
            conn,
            "INSERT INTO shares (asset_id, holder, balance) VALUES (?1, ?2, ?3)
             ON CONFLICT (asset_id, holder) DO UPDATE SET balance = excluded.balance",
            params![asset, holder, num(new)],
        )?;
    }
    Ok(())
}

fn want_card(conn: &Connection, cid: &[u8]) -> IndexResult<()> {
    exec(
        conn,
        "INSERT OR IGNORE INTO cards (cid) VALUES (?1)",
        params![cid],
    )?;
    Ok(())
}

/// Applies one log. Logs of other contracts and events the catalog does not use are skipped; returns whether
/// the log was a known event.
pub(crate) fn apply(conn: &Connection, contracts: Contracts, l: &ChainLog) -> IndexResult<bool> {
    let block = l.block as i64;
    let time = l.time as i64;
    if l.log.address == contracts.marketplace {
        let Ok(event) = MarketplaceEvents::decode_log(&l.log) else {
            return Ok(false);
        };
        apply_market(conn, event.data, block, time)
    } else if l.log.address == contracts.attestations {
        let Ok(event) = AttestationsEvents::decode_log(&l.log) else {
            return Ok(false);
        };
        apply_attestation(conn, event.data, block)
    } else {
        Ok(false)
    }
}

fn apply_market(
    conn: &Connection,
    event: MarketplaceEvents,
    block: i64,
    time: i64,
) -> IndexResult<bool> {
    use MarketplaceEvents as E;
    match event {
        E::AssetPublished(e) => {
            let asset = id(e.assetId);
            exec(conn,
                "INSERT INTO assets (id, kind, owner, publisher, encrypted, gateway_url, created_block, created_time)
                 VALUES (?1, ?2, ?3, ?3, ?4, ?5, ?6, ?7)",
                params![asset, e.kind, addr(e.owner), e.encrypted, e.gatewayUrl, block, time],
            )?;
            for p in &e.parents {
                exec(
                    conn,
                    "INSERT OR REPLACE INTO lineage (child, parent, royalty_bps) VALUES (?1, ?2, ?3)",
                    params![asset, id(p.assetId), p.royaltyBps],
                )?;
            }
        }
        E::VersionAdded(e) => {
            let asset = id(e.assetId);
            exec(
                conn,
                "INSERT OR REPLACE INTO versions
                    (asset_id, idx, content_cid, metadata_cid, author, commitment, block, time)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    asset,
                    id(e.index),
                    e.contentCid.as_ref(),
                    e.metadataCid.as_ref(),
                    addr(e.author),
                    e.commitment.as_slice(),
                    block,
                    time
                ],
            )?;
            want_card(conn, &e.metadataCid)?;
            exec(
                conn,
                "UPDATE assets SET latest_version = ?2, metadata_cid = ?3 WHERE id = ?1",
                params![asset, id(e.index), e.metadataCid.as_ref()],
            )?;
        }
        E::MetadataUpdated(e) => {
            let asset = id(e.assetId);
            want_card(conn, &e.metadataCid)?;
            exec(
                conn,
                "UPDATE versions SET metadata_cid = ?2 WHERE asset_id = ?1
                   AND idx = (SELECT latest_version FROM assets WHERE id = ?1)",
                params![asset, e.metadataCid.as_ref()],
            )?;
            exec(
                conn,
                "UPDATE assets SET metadata_cid = ?2 WHERE id = ?1",
                params![asset, e.metadataCid.as_ref()],
            )?;
        }
        E::GatewayChanged(e) => {
            exec(
                conn,
                "UPDATE assets SET gateway_url = ?2 WHERE id = ?1",
                params![id(e.assetId), e.gatewayUrl],
            )?;
        }
        E::AssetDeprecated(e) => {
            exec(
                conn,
                "UPDATE assets SET deprecated = 1 WHERE id = ?1",
                params![id(e.assetId)],
            )?;
        }
        E::Transfer(e) => {
            // The mint's Transfer comes before AssetPublished, which records the same owner.
            exec(
                conn,
                "UPDATE assets SET owner = ?2 WHERE id = ?1 AND owner != ?2",
                params![id(e.tokenId), addr(e.to)],
            )?;
        }
        E::ListingSet(e) => {
            exec(conn,
                "INSERT INTO listings (asset_id, token, price, duration, active) VALUES (?1, ?2, ?3, ?4, 1)
                 ON CONFLICT (asset_id, token) DO UPDATE
                 SET price = excluded.price, duration = excluded.duration, active = 1",
                params![
                    id(e.assetId),
                    addr(e.token),
                    num(U256::from(e.price)),
                    e.duration as i64
                ],
            )?;
        }
        E::ListingRemoved(e) => {
            exec(
                conn,
                "UPDATE listings SET active = 0 WHERE asset_id = ?1 AND token = ?2",
                params![id(e.assetId), addr(e.token)],
            )?;
        }
        E::LicensePurchased(e) => {
            let asset = id(e.assetId);
            let (buyer, token) = (addr(e.buyer), addr(e.token));
            // A perpetual expiry is u64::MAX; it is stored as i64::MAX (both mean "never").
            let expiry = i64::try_from(e.expiry).unwrap_or(i64::MAX);
            let paid = add(
                conn,
                "SELECT paid FROM licenses WHERE asset_id = ?1 AND buyer = ?2 AND token = ?3",
                &[&asset, &buyer, &token],
                e.price,
            )?;
            exec(conn,
                "INSERT INTO licenses (asset_id, buyer, token, paid, expiry, purchases) VALUES (?1, ?2, ?3, ?4, ?5, 1)
                 ON CONFLICT (asset_id, buyer, token) DO UPDATE
                 SET paid = excluded.paid, expiry = excluded.expiry, purchases = purchases + 1",
                params![asset, buyer, token, num(paid), expiry],
            )?;
            // The expiry is the account's, whichever token paid for it.
            exec(
                conn,
                "UPDATE licenses SET expiry = ?3 WHERE asset_id = ?1 AND buyer = ?2 AND expiry != ?3",
                params![asset, buyer, expiry],
            )?;
            exec(
                conn,
                "UPDATE assets SET sales = sales + 1 WHERE id = ?1",
                params![asset],
            )?;
            let volume = add(
                conn,
                "SELECT volume FROM token_sales WHERE token = ?1",
                &[&token],
                e.price,
            )?;
            exec(
                conn,
                "INSERT INTO token_sales (token, sales, volume) VALUES (?1, 1, ?2)
                 ON CONFLICT (token) DO UPDATE SET sales = sales + 1, volume = excluded.volume",
                params![token, num(volume)],
            )?;
        }
        E::RevenueCredited(e) => {
            bump_revenue(conn, id(e.assetId), &addr(e.token), "credited", e.amount)?;
        }
        E::RoyaltyPaid(e) => {
            let token = addr(e.token);
            bump_revenue(conn, id(e.parentId), &token, "royalties_received", e.amount)?;
            bump_revenue(conn, id(e.childId), &token, "royalties_paid", e.amount)?;
        }
        E::FeeCharged(e) => bump_fees(conn, &addr(e.token), "charged", e.amount)?,
        E::FeesWithdrawn(e) => bump_fees(conn, &addr(e.token), "withdrawn", e.amount)?,
        E::SharesTransferred(e) => {
            let asset = id(e.assetId);
            if e.from != Address::ZERO {
                move_shares(conn, asset, e.from, e.amount, false)?;
            }
            if e.to != Address::ZERO {
                move_shares(conn, asset, e.to, e.amount, true)?;
            }
        }
        E::Withdrawn(e) => {
            bump_revenue(conn, id(e.assetId), &addr(e.token), "withdrawn", e.amount)?;
        }
        E::FeeChanged(e) => {
            for (key, value) in [
                ("fee_recipient", addr(e.recipient)),
                ("fee_bps", e.feeBps.to_string()),
            ] {
                exec(
                    conn,
                    "INSERT INTO settings (key, value) VALUES (?1, ?2)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    params![key, value],
                )?;
            }
        }
        E::PaymentTokenAllowed(e) => {
            exec(
                conn,
                "INSERT OR IGNORE INTO payment_tokens (token, block) VALUES (?1, ?2)",
                params![addr(e.token), block],
            )?;
        }
        E::ProposalCreated(e) => {
            exec(conn,
                "INSERT INTO proposals (id, asset_id, proposer, content_cid, metadata_cid, requested_shares,
                    description_cid, block, time, snapshot_block, deadline, state, yes_votes, no_votes)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 'open', ?12, ?12)",
                params![
                    id(e.proposalId),
                    id(e.assetId),
                    addr(e.proposer),
                    e.contentCid.as_ref(),
                    e.metadataCid.as_ref(),
                    num(U256::from(e.requestedShares)),
                    e.descriptionCid.as_ref(),
                    block,
                    time,
                    block - 1,
                    time + VOTING_PERIOD as i64,
                    num(U256::ZERO)
                ],
            )?;
        }
        E::VoteCast(e) => {
            let proposal = id(e.proposalId);
            let weight = U256::from(e.weight);
            exec(
                conn,
                "INSERT OR REPLACE INTO votes (proposal_id, voter, support, weight) VALUES (?1, ?2, ?3, ?4)",
                params![proposal, addr(e.voter), e.support, num(weight)],
            )?;
            let column = if e.support { "yes_votes" } else { "no_votes" };
            let total = add(
                conn,
                &format!("SELECT {column} FROM proposals WHERE id = ?1"),
                &[&proposal],
                weight,
            )?;
            exec(
                conn,
                &format!("UPDATE proposals SET {column} = ?2 WHERE id = ?1"),
                params![proposal, num(total)],
            )?;
        }
        E::ProposalExecuted(e) => {
            exec(
                conn,
                "UPDATE proposals SET state = 'executed', version_index = ?2 WHERE id = ?1",
                params![id(e.proposalId), id(e.versionIndex)],
            )?;
        }
        E::ProposalRejected(e) => {
            exec(
                conn,
                "UPDATE proposals SET state = 'rejected' WHERE id = ?1",
                params![id(e.proposalId)],
            )?;
        }
        _ => return Ok(false),
    }
    Ok(true)
}

fn apply_attestation(
    conn: &Connection,
    event: AttestationsEvents,
    block: i64,
) -> IndexResult<bool> {
    match event {
        AttestationsEvents::Attested(e) => {
            exec(conn,
                "INSERT OR REPLACE INTO attestations (id, model_asset, model_version, dataset_asset,
                    dataset_version, attester, metric, value, decimals, report_cid, block)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![
                    id(e.attestationId),
                    id(e.modelAssetId),
                    id(e.modelVersion),
                    id(e.datasetAssetId),
                    id(e.datasetVersion),
                    addr(e.attester),
                    e.metric,
                    e.value.to_string(),
                    e.decimals,
                    e.reportCid.as_ref(),
                    block
                ],
            )?;
        }
        AttestationsEvents::Reviewed(e) => {
            let attestation = id(e.attestationId);
            exec(
                conn,
                "INSERT OR REPLACE INTO reviews (attestation_id, reviewer, agrees, report_cid) VALUES (?1, ?2, ?3, ?4)",
                params![
                    attestation,
                    addr(e.reviewer),
                    e.agrees,
                    e.reportCid.as_ref()
                ],
            )?;
            let column = if e.agrees { "endorsements" } else { "disputes" };
            exec(
                conn,
                &format!("UPDATE attestations SET {column} = {column} + 1 WHERE id = ?1"),
                params![attestation],
            )?;
        }
    }
    Ok(true)
}
