//! The indexer: follows the chain with `eth_getLogs` in adaptive block ranges, checks block hashes for reorgs
//! and rolls the catalog back to the common ancestor, then fetches the cards of new versions.

use crate::{
    card::CardSource,
    db::{Index, addr, rollback_to},
    error::{IndexError, IndexResult},
    ingest::{self, ChainLog, Contracts},
};
use alloy::{
    eips::BlockNumberOrTag,
    providers::Provider,
    rpc::types::{Filter, Log},
};
use alloy_primitives::{Address, B256};
use rusqlite::{OptionalExtension, params};
use scal3ml_contracts::DeploymentManifest;
use std::{collections::HashMap, future::Future, sync::Arc, time::Duration};

/// How the indexer follows a chain.
#[derive(Debug, Clone)]
pub struct IndexerConfig {
    /// The marketplace contract.
    pub marketplace: Address,
    /// The attestations contract.
    pub attestations: Address,
    /// First block to read (the deployment block is a good choice; 0 always works).
    pub start_block: u64,
    /// Blocks a block must be buried under before it is indexed: 0 on the dev chain, 2-12 on real chains.
    pub confirmations: u64,
    /// Pause between polls of the chain head in [`Indexer::run`].
    pub poll_interval: Duration,
    /// First `eth_getLogs` range, in blocks; halved on errors, doubled while answers are small.
    pub initial_range: u64,
    /// Largest `eth_getLogs` range.
    pub max_range: u64,
    /// How many recent blocks can be rolled back (older changes are not journaled).
    pub reorg_window: u64,
}

impl IndexerConfig {
    /// Follows the given contracts from block 0, with no confirmations and a 100 ms poll (a local chain).
    pub fn new(marketplace: Address, attestations: Address) -> Self {
        Self {
            marketplace,
            attestations,
            start_block: 0,
            confirmations: 0,
            poll_interval: Duration::from_millis(100),
            initial_range: 1_000,
            max_range: 10_000,
            reorg_window: 1_024,
        }
    }

    /// Follows the contracts of a deployment manifest from the block the marketplace was deployed in.
    pub fn from_manifest(manifest: &DeploymentManifest) -> IndexResult<Self> {
        let get = |name: &str| {
            manifest
                .contracts
                .get(name)
                .ok_or_else(|| IndexError::WrongChain {
                    stored: format!("a deployment manifest without {name}"),
                    given: "a manifest with Marketplace and Attestations".into(),
                })
        };
        let market = get("Marketplace")?;
        let attest = get("Attestations")?;
        Ok(Self::new(market.address, attest.address)
            .with_start_block(market.block_number.min(attest.block_number)))
    }

    /// Sets the first block to read.
    pub fn with_start_block(mut self, block: u64) -> Self {
        self.start_block = block;
        self
    }

    /// Sets the confirmation depth.
    pub fn with_confirmations(mut self, confirmations: u64) -> Self {
        self.confirmations = confirmations;
        self
    }

    /// Sets the poll interval.
    pub fn with_poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// Sets the largest `eth_getLogs` range (and the first, if it was larger).
    pub fn with_max_range(mut self, blocks: u64) -> Self {
        self.max_range = blocks.max(1);
        self.initial_range = self.initial_range.min(self.max_range);
        self
    }

    fn contracts(&self) -> Contracts {
        Contracts {
            marketplace: self.marketplace,
            attestations: self.attestations,
        }
    }
}

/// What one [`Indexer::sync_once`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Logs applied.
    pub logs: u64,
    /// Blocks whose changes were rolled back after a reorg (0 when none happened).
    pub rolled_back_to: Option<u64>,
    /// The next block to read after this sync.
    pub next_block: u64,
    /// Cards fetched and stored (or found unusable).
    pub cards: usize,
}

/// Follows the chain into an [`Index`].
pub struct Indexer<P> {
    provider: P,
    index: Index,
    config: IndexerConfig,
    cards: Option<Arc<dyn CardSource>>,
    range: u64,
    started: bool,
}

impl<P: Provider> Indexer<P> {
    /// An indexer over `provider` writing into `index`.
    pub fn new(provider: P, index: Index, config: IndexerConfig) -> Self {
        let range = config.initial_range.clamp(1, config.max_range.max(1));
        Self {
            provider,
            index,
            config,
            cards: None,
            range,
            started: false,
        }
    }

    /// Fetches cards from `source` (without one, assets are indexed without text).
    pub fn with_cards(mut self, source: Arc<dyn CardSource>) -> Self {
        self.cards = Some(source);
        self
    }

    /// The catalog this indexer writes.
    pub fn index(&self) -> &Index {
        &self.index
    }

    fn rpc(method: &'static str) -> impl Fn(alloy::transports::TransportError) -> IndexError {
        move |e| IndexError::Rpc {
            method,
            message: e.to_string(),
        }
    }

    async fn header(&self, number: u64) -> IndexResult<(B256, u64)> {
        let block = self
            .provider
            .get_block_by_number(BlockNumberOrTag::Number(number))
            .await
            .map_err(Self::rpc("eth_getBlockByNumber"))?
            .ok_or(IndexError::MissingBlock { number })?;
        Ok((block.header.hash, block.header.timestamp))
    }

    /// Creates the cursor on first use, or checks that the catalog belongs to this chain and these contracts.
    async fn start(&mut self) -> IndexResult<()> {
        if self.started {
            return Ok(());
        }
        let chain_id = self
            .provider
            .get_chain_id()
            .await
            .map_err(Self::rpc("eth_chainId"))?;
        let anchor = match self.config.start_block.checked_sub(1) {
            Some(n) => Some((n, self.header(n).await?.0)),
            None => None,
        };
        let index = self.index.clone();
        let config = self.config.clone();
        blocking(move || {
            let conn = index.writer();
            let stored: Option<(i64, String, String)> = conn
                .query_row(
                    "SELECT chain_id, marketplace, attestations FROM cursor",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            let given = (
                chain_id as i64,
                addr(config.marketplace),
                addr(config.attestations),
            );
            match stored {
                Some(stored) if stored != given => Err(IndexError::WrongChain {
                    stored: format!(
                        "chain {} (marketplace {}, attestations {})",
                        stored.0, stored.1, stored.2
                    ),
                    given: format!(
                        "chain {} (marketplace {}, attestations {})",
                        given.0, given.1, given.2
                    ),
                }),
                Some(_) => Ok(()),
                None => {
                    conn.execute(
                        "INSERT INTO cursor (id, chain_id, marketplace, attestations, start_block, next_block)
                         VALUES (1, ?1, ?2, ?3, ?4, ?4)",
                        params![given.0, given.1, given.2, config.start_block as i64],
                    )?;
                    if let Some((n, hash)) = anchor {
                        conn.execute(
                            "INSERT OR REPLACE INTO blocks (number, hash) VALUES (?1, ?2)",
                            params![n as i64, hash.as_slice()],
                        )?;
                    }
                    Ok(())
                }
            }
        })
        .await?;
        self.started = true;
        Ok(())
    }

    /// Reads the chain up to its head (less the confirmation depth), rolling back first if the chain no
    /// longer holds the blocks the catalog was built from; then fetches due cards.
    pub async fn sync_once(&mut self) -> IndexResult<SyncReport> {
        self.start().await?;
        let mut report = SyncReport::default();
        let head = self
            .provider
            .get_block_number()
            .await
            .map_err(Self::rpc("eth_blockNumber"))?;
        let safe = head.saturating_sub(self.config.confirmations);
        loop {
            if let Some(ancestor) = self.check_reorg().await? {
                report.rolled_back_to = Some(ancestor);
            }
            let next = self.index.next_block()?.unwrap_or(self.config.start_block);
            report.next_block = next;
            if next > safe {
                break;
            }
            let to = safe.min(next + self.range - 1);
            let (to_hash, _) = self.header(to).await?;
            let filter = Filter::new()
                .address(vec![self.config.marketplace, self.config.attestations])
                .from_block(next)
                .to_block(to);
            let logs = match self.provider.get_logs(&filter).await {
                Ok(logs) => logs,
                Err(e) => {
                    if self.range == 1 {
                        return Err(Self::rpc("eth_getLogs")(e));
                    }
                    self.range = (self.range / 2).max(1);
                    tracing::debug!(target: "index::sync", next, to, range = self.range, error = %e, "getLogs failed; smaller range");
                    continue;
                }
            };
            // A log of block `to` from another fork means the chain moved under us: read the range again.
            if logs
                .iter()
                .any(|l| l.block_number == Some(to) && l.block_hash != Some(to_hash))
            {
                continue;
            }
            let chain_logs = self.to_chain_logs(logs).await?;
            let n = chain_logs.len() as u64;
            self.apply(chain_logs, next, to, to_hash, head).await?;
            report.logs += n;
            report.next_block = to + 1;
            tracing::debug!(target: "index::sync", from = next, to, logs = n, "synced logs");
            if n < 5_000 {
                self.range = (self.range * 2).min(self.config.max_range);
            }
        }
        if let Some(source) = &self.cards {
            report.cards = self.index.fetch_cards(source.as_ref()).await?;
        }
        Ok(report)
    }

    /// Runs [`Self::sync_once`] every poll interval until `shutdown` completes. Errors are logged and retried
    /// at the next poll (a node that is down for a while does not stop the indexer).
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) {
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            match self.sync_once().await {
                Ok(r) if r.logs > 0 || r.rolled_back_to.is_some() => {
                    tracing::debug!(target: "index::sync", logs = r.logs, next = r.next_block, rolled_back_to = ?r.rolled_back_to, "indexed");
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(target: "index::sync", error = %e, "indexing failed; retrying")
                }
            }
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(self.config.poll_interval) => {}
            }
        }
    }

    /// Compares the newest remembered block with the chain; on a mismatch walks back to the newest block both
    /// agree on and rolls the catalog back to it.
    async fn check_reorg(&mut self) -> IndexResult<Option<u64>> {
        let index = self.index.clone();
        let stored: Vec<(u64, B256)> = blocking(move || {
            let conn = index.writer();
            let mut stmt = conn.prepare("SELECT number, hash FROM blocks ORDER BY number DESC")?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((r.get::<_, i64>(0)? as u64, r.get::<_, Vec<u8>>(1)?))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows
                .into_iter()
                .map(|(n, h)| (n, B256::from_slice(&h)))
                .collect())
        })
        .await?;
        let Some(&(newest, newest_hash)) = stored.first() else {
            return Ok(None);
        };
        if self.chain_hash(newest).await? == Some(newest_hash) {
            return Ok(None);
        }
        let mut ancestor = None;
        for &(n, hash) in &stored[1..] {
            if self.chain_hash(n).await? == Some(hash) {
                ancestor = Some(n);
                break;
            }
        }
        let Some(ancestor) = ancestor else {
            return Err(IndexError::ReorgTooDeep {
                oldest: stored.last().map(|s| s.0).unwrap_or(0),
                retained: self.config.reorg_window,
            });
        };
        let index = self.index.clone();
        let undone = blocking(move || {
            let mut conn = index.writer();
            let tx = conn.transaction()?;
            let undone = rollback_to(&tx, ancestor)?;
            tx.commit()?;
            Ok(undone)
        })
        .await?;
        tracing::info!(target: "index::sync", ancestor, newest, undone, "chain reorganised; catalog rolled back");
        Ok(Some(ancestor))
    }

    async fn chain_hash(&self, number: u64) -> IndexResult<Option<B256>> {
        match self
            .provider
            .get_block_by_number(BlockNumberOrTag::Number(number))
            .await
            .map_err(Self::rpc("eth_getBlockByNumber"))?
        {
            Some(block) => Ok(Some(block.header.hash)),
            None => Ok(None),
        }
    }

    /// Orders logs and fills in block timestamps the node did not send.
    async fn to_chain_logs(&self, mut logs: Vec<Log>) -> IndexResult<Vec<ChainLog>> {
        logs.retain(|l| !l.removed);
        logs.sort_by_key(|l| (l.block_number, l.log_index));
        let mut times: HashMap<u64, u64> = HashMap::new();
        let mut out = Vec::with_capacity(logs.len());
        for l in logs {
            let (Some(block), Some(block_hash)) = (l.block_number, l.block_hash) else {
                continue; // pending logs have no block; they are read again once mined
            };
            let time = match l.block_timestamp {
                Some(t) => t,
                None => match times.get(&block) {
                    Some(t) => *t,
                    None => {
                        let t = self.header(block).await?.1;
                        times.insert(block, t);
                        t
                    }
                },
            };
            out.push(ChainLog {
                block,
                block_hash,
                time,
                log: l.inner,
            });
        }
        Ok(out)
    }

    /// Applies one range in one transaction: the logs, the hashes of their blocks and of `to`, the cursor, and
    /// the pruning of journal entries too old to be reorged.
    async fn apply(
        &self,
        logs: Vec<ChainLog>,
        from: u64,
        to: u64,
        to_hash: B256,
        head: u64,
    ) -> IndexResult<()> {
        let index = self.index.clone();
        let contracts = self.config.contracts();
        let window = self.config.reorg_window;
        blocking(move || {
            let mut conn = index.writer();
            let tx = conn.transaction()?;
            let oldest_kept = head.saturating_sub(window);
            let mut current = None;
            for l in &logs {
                if current != Some(l.block) {
                    current = Some(l.block);
                    let journal = (l.block > oldest_kept).then_some(l.block as i64);
                    tx.prepare_cached("UPDATE undo_ctx SET block = ?1 WHERE id = 1")?
                        .execute(params![journal])?;
                    tx.prepare_cached(
                        "INSERT OR REPLACE INTO blocks (number, hash) VALUES (?1, ?2)",
                    )?
                    .execute(params![l.block as i64, l.block_hash.as_slice()])?;
                }
                ingest::apply(&tx, contracts, l)?;
            }
            tx.execute("UPDATE undo_ctx SET block = NULL WHERE id = 1", [])?;
            tx.execute(
                "INSERT OR REPLACE INTO blocks (number, hash) VALUES (?1, ?2)",
                params![to as i64, to_hash.as_slice()],
            )?;
            tx.execute(
                "UPDATE cursor SET next_block = ?1",
                params![(to + 1) as i64],
            )?;
            tx.execute(
                "DELETE FROM undo WHERE block <= ?1",
                params![oldest_kept as i64],
            )?;
            tx.execute(
                "DELETE FROM blocks WHERE number <= ?1 AND number < ?2",
                params![oldest_kept as i64, to as i64],
            )?;
            tx.commit()?;
            let _ = from;
            Ok(())
        })
        .await
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> IndexResult<T> + Send + 'static,
) -> IndexResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| IndexError::Task(e.to_string()))?
}
