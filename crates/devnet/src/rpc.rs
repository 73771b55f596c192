//! JSON-RPC methods: one `match` on the parsed [`DevnetRequest`] (see `request` for the parsing), answers in the
//! shapes of alloy-rpc-types-eth (which are geth's). Transport lives in `server`.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
};

use alloy::{
    consensus::{
        Transaction as _, TxEnvelope, TxType,
        crypto::RecoveryError,
        transaction::{Recovered, SignerRecoverable},
    },
    eips::{BlockId, BlockNumberOrTag, Decodable2718, Encodable2718},
    rpc::types::{
        Block, BlockTransactions, FeeHistory, Filter, FilterBlockOption, Header as RpcHeader,
        Log as RpcLog, Transaction as RpcTransaction, TransactionReceipt, TransactionRequest,
    },
};
use alloy_primitives::{Address, B256, U64, U256, keccak256};
use revm::context::result::ExecutionResult;
use serde_json::{Value, json};
use tokio::sync::broadcast;

use crate::{
    accounts::DevAccounts,
    chain::{Chain, StoredBlock},
    config::{DevnetConfig, MiningMode},
    error::{DevnetError, DevnetResult},
    request::DevnetRequest,
};

/// Tip the node suggests (eth_maxPriorityFeePerGas), as hardhat and anvil do: 1 gwei.
pub(crate) const SUGGESTED_TIP: u128 = 1_000_000_000;

enum FilterKind {
    Logs { filter: Box<Filter>, next: u64 },
    Blocks { next: u64 },
    PendingTransactions { next: usize },
}

/// The node: the chain, the dev accounts, filters, and the channel that announces new blocks.
pub(crate) struct Node {
    chain: Mutex<Chain>,
    accounts: DevAccounts,
    mining: MiningMode,
    filters: Mutex<HashMap<U256, FilterKind>>,
    next_filter: Mutex<u64>,
    heads: broadcast::Sender<u64>,
    /// Hashes of every transaction accepted, in order, for pending-transaction filters and subscriptions.
    accepted: Mutex<Vec<B256>>,
    pending: broadcast::Sender<B256>,
    /// Serialises eth_sendTransaction so two concurrent sends from one account never pick the same nonce.
    send_lock: Mutex<()>,
}

fn to_json<T: serde::Serialize>(value: T) -> DevnetResult<Value> {
    serde_json::to_value(value).map_err(|e| DevnetError::Internal(e.to_string()))
}

fn quantity(n: u64) -> Value {
    Value::String(format!("{n:#x}"))
}

fn rpc_logs(block: &StoredBlock) -> Vec<Vec<RpcLog>> {
    let mut index = 0u64;
    block
        .txs
        .iter()
        .enumerate()
        .map(|(i, tx)| {
            tx.receipt
                .logs
                .iter()
                .map(|log| {
                    let out = RpcLog {
                        inner: log.clone(),
                        block_hash: Some(block.hash),
                        block_number: Some(block.header.number),
                        block_timestamp: Some(block.header.timestamp),
                        transaction_hash: Some(tx.hash()),
                        transaction_index: Some(i as u64),
                        log_index: Some(index),
                        removed: false,
                    };
                    index += 1;
                    out
                })
                .collect()
        })
        .collect()
}

fn rpc_tx(block: &StoredBlock, index: usize) -> RpcTransaction {
    let tx = &block.txs[index];
    RpcTransaction {
        inner: Recovered::new_unchecked(tx.envelope.clone(), tx.sender),
        block_hash: Some(block.hash),
        block_number: Some(block.header.number),
        transaction_index: Some(index as u64),
        effective_gas_price: Some(tx.receipt.effective_gas_price),
        block_timestamp: Some(block.header.timestamp),
    }
}

fn rpc_receipt(block: &StoredBlock, index: usize) -> TransactionReceipt {
    let tx = &block.txs[index];
    let logs = rpc_logs(block).swap_remove(index);
    let consensus = tx.receipt.envelope(tx.envelope.tx_type());
    let inner = consensus.map_logs(|_| ());
    let mut logs = logs.into_iter();
    let inner = inner.map_logs(|()| logs.next().expect("same number of logs"));
    TransactionReceipt {
        inner,
        transaction_hash: tx.hash(),
        transaction_index: Some(index as u64),
        block_hash: Some(block.hash),
        block_number: Some(block.header.number),
        gas_used: tx.receipt.gas_used,
        effective_gas_price: tx.receipt.effective_gas_price,
        blob_gas_used: None,
        blob_gas_price: None,
        from: tx.sender,
        to: tx.envelope.to(),
        contract_address: tx.receipt.contract_address,
    }
}

fn rpc_block(block: &StoredBlock, full: bool) -> Block {
    let size = alloy_rlp::Encodable::length(&block.header)
        + block
            .txs
            .iter()
            .map(|t| t.envelope.encode_2718_len())
            .sum::<usize>()
        + 3;
    let transactions = if full {
        BlockTransactions::Full((0..block.txs.len()).map(|i| rpc_tx(block, i)).collect())
    } else {
        BlockTransactions::Hashes(block.txs.iter().map(|t| t.hash()).collect())
    };
    Block {
        header: RpcHeader {
            hash: block.hash,
            inner: block.header.clone(),
            total_difficulty: Some(U256::ZERO),
            size: Some(U256::from(size)),
        },
        uncles: Vec::new(),
        transactions,
        withdrawals: Some(Default::default()),
    }
}

impl Node {
    /// A node over `chain`.
    pub(crate) fn new(chain: Chain, accounts: DevAccounts, config: &DevnetConfig) -> Arc<Self> {
        let (heads, _) = broadcast::channel(1024);
        Arc::new(Self {
            chain: Mutex::new(chain),
            accounts,
            mining: config.mining,
            filters: Mutex::new(HashMap::new()),
            next_filter: Mutex::new(1),
            heads,
            send_lock: Mutex::new(()),
            accepted: Mutex::new(Vec::new()),
            pending: broadcast::channel(4096).0,
        })
    }

    /// The chain, locked.
    pub(crate) fn chain(&self) -> MutexGuard<'_, Chain> {
        self.chain.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The dev accounts.
    pub(crate) fn accounts(&self) -> &DevAccounts {
        &self.accounts
    }

    /// New head numbers as blocks are mined.
    pub(crate) fn subscribe_heads(&self) -> broadcast::Receiver<u64> {
        self.heads.subscribe()
    }

    /// Hashes of transactions as they are accepted into the pool.
    pub(crate) fn subscribe_pending(&self) -> broadcast::Receiver<B256> {
        self.pending.subscribe()
    }

    /// Mines a block now (interval mining and evm_mine).
    pub(crate) fn mine(&self, timestamp: Option<u64>) -> DevnetResult<u64> {
        let number = self.chain().mine(timestamp)?;
        let _ = self.heads.send(number);
        Ok(number)
    }

    /// A block as JSON, for subscriptions.
    pub(crate) fn block_json(&self, number: u64) -> Option<Value> {
        let chain = self.chain();
        chain
            .block(number)
            .and_then(|b| serde_json::to_value(rpc_block(b, false).header).ok())
    }

    /// Logs of a block matching a filter, as JSON, for subscriptions.
    pub(crate) fn block_logs(&self, number: u64, filter: &Filter) -> Vec<Value> {
        let chain = self.chain();
        let Some(block) = chain.block(number) else {
            return Vec::new();
        };
        rpc_logs(block)
            .into_iter()
            .flatten()
            .filter(|l| filter.matches(&l.inner))
            .filter_map(|l| serde_json::to_value(l).ok())
            .collect()
    }

    fn resolve(chain: &Chain, id: Option<BlockId>) -> DevnetResult<(u64, u64)> {
        let head = chain.head().header.number;
        let number = match id.unwrap_or_default() {
            BlockId::Hash(h) => chain
                .block_by_hash(&h.block_hash)
                .map(|b| b.header.number)
                .ok_or_else(|| {
                    DevnetError::NotFound(format!("block {} not found", h.block_hash))
                })?,
            BlockId::Number(tag) => match tag {
                BlockNumberOrTag::Earliest => 0,
                BlockNumberOrTag::Number(n) => n,
                _ => head,
            },
        };
        let version = chain.version_at(number).ok_or_else(|| {
            if number <= chain.head().header.number {
                DevnetError::NotFound(format!(
                    "missing state for block {number}: state older than the snapshot this node restarted from \
                     is not kept; query a later block"
                ))
            } else {
                DevnetError::NotFound("header not found".into())
            }
        })?;
        Ok((number, version))
    }

    fn block_number(chain: &Chain, tag: BlockNumberOrTag) -> u64 {
        match tag {
            BlockNumberOrTag::Earliest => 0,
            BlockNumberOrTag::Number(n) => n,
            _ => chain.head().header.number,
        }
    }

    /// Signs nothing, checks and submits a signed transaction; mines it at once in instant mode.
    pub(crate) fn submit(&self, envelope: TxEnvelope) -> DevnetResult<B256> {
        if matches!(envelope.tx_type(), TxType::Eip4844 | TxType::Eip7702) {
            return Err(DevnetError::TxRejected(format!(
                "transaction type not supported: {} (this chain accepts legacy, EIP-2930 and EIP-1559 transactions)",
                envelope.tx_type() as u8
            )));
        }
        let sender = envelope
            .recover_signer()
            .map_err(|e: RecoveryError| DevnetError::TxRejected(format!("invalid sender: {e}")))?;
        let hash = *envelope.tx_hash();
        let mined = {
            let mut chain = self.chain();
            let instant = self.mining == MiningMode::Instant;
            chain.validate(&envelope, sender, !instant)?;
            chain.add_to_pool(envelope, sender);
            let mined = if instant {
                Some(chain.mine_deferred(Some(hash))?)
            } else {
                None
            };
            // Announced once accepted (and, when mining instantly, once it is known to apply).
            self.accepted
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(hash);
            let _ = self.pending.send(hash);
            mined.map(|mined| (mined, chain.store()))
        };
        if let Some(((number, block_hash, end), store)) = mined {
            // Wait for the disk without holding the chain, so blocks mined meanwhile share this fsync; the
            // block (and its receipt) becomes readable only after it.
            if let (Some(store), Some(end)) = (store, end) {
                store.sync_to(end)?;
                self.chain().mark_durable(number, block_hash);
            }
            let _ = self.heads.send(number);
        }
        Ok(hash)
    }

    fn send_transaction(&self, mut request: TransactionRequest) -> DevnetResult<B256> {
        let _serial = self.send_lock.lock().unwrap_or_else(|e| e.into_inner());
        let from = request.from.ok_or_else(|| {
            DevnetError::InvalidParams("eth_sendTransaction needs a \"from\" address".into())
        })?;
        {
            let chain = self.chain();
            request.chain_id.get_or_insert(chain.chain_id());
            if request.nonce.is_none() {
                request.nonce = Some(chain.pending_nonce(&from));
            }
            if request.gas_price.is_none() && request.max_fee_per_gas.is_none() {
                let tip = request.max_priority_fee_per_gas.unwrap_or(SUGGESTED_TIP);
                request.max_priority_fee_per_gas = Some(tip);
                request.max_fee_per_gas = Some(2 * chain.next_base_fee() as u128 + tip);
            }
            if request.max_fee_per_gas.is_some() && request.max_priority_fee_per_gas.is_none() {
                request.max_priority_fee_per_gas =
                    Some(SUGGESTED_TIP.min(request.max_fee_per_gas.unwrap_or(0)));
            }
            if request.gas.is_none() {
                let (number, version) = Self::resolve(&chain, None)?;
                request.gas = Some(chain.estimate_gas(&request, number, version)?);
            }
        }
        if request.to.is_none() {
            request.to = Some(alloy_primitives::TxKind::Create);
        }
        let typed = request.build_typed_tx().map_err(|_| {
            DevnetError::InvalidParams(
                "these fields do not make a transaction: give either gasPrice or maxFeePerGas and \
                 maxPriorityFeePerGas, not a mix"
                    .into(),
            )
        })?;
        let envelope = self.accounts.sign_transaction(&from, typed)?;
        self.submit(envelope)
    }

    fn new_filter(&self, kind: FilterKind) -> Value {
        let mut next = self.next_filter.lock().unwrap_or_else(|e| e.into_inner());
        let id = U256::from(*next);
        *next += 1;
        self.filters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, kind);
        json!(id)
    }

    fn logs(chain: &Chain, filter: &Filter) -> DevnetResult<Vec<RpcLog>> {
        let head = chain.head().header.number;
        let blocks: Vec<&StoredBlock> = match &filter.block_option {
            FilterBlockOption::AtBlockHash(hash) => {
                vec![
                    chain
                        .block_by_hash(hash)
                        .ok_or_else(|| DevnetError::NotFound(format!("unknown block {hash}")))?,
                ]
            }
            FilterBlockOption::Range {
                from_block,
                to_block,
            } => {
                let from = from_block.map_or(head, |t| Self::block_number(chain, t));
                let to = to_block
                    .map_or(head, |t| Self::block_number(chain, t))
                    .min(head);
                if from > to && from <= head {
                    return Err(DevnetError::InvalidParams(format!(
                        "invalid block range params: fromBlock {from} is after toBlock {to}"
                    )));
                }
                (from..=to).filter_map(|n| chain.block(n)).collect()
            }
        };
        let mut out = Vec::new();
        for block in blocks {
            if !filter.matches_bloom(block.header.logs_bloom) {
                continue;
            }
            out.extend(
                rpc_logs(block)
                    .into_iter()
                    .flatten()
                    .filter(|l| filter.matches(&l.inner)),
            );
        }
        Ok(out)
    }

    /// Answers one parsed JSON-RPC call.
    pub(crate) fn handle(&self, request: DevnetRequest) -> DevnetResult<Value> {
        use DevnetRequest::*;
        match request {
            Web3ClientVersion => Ok(json!(concat!(
                "scal3ml-devnet/v",
                env!("CARGO_PKG_VERSION")
            ))),
            Web3Sha3(data) => Ok(json!(keccak256(data))),
            NetVersion => Ok(json!(self.chain().chain_id().to_string())),
            NetListening => Ok(json!(true)),
            NetPeerCount => Ok(quantity(0)),
            EthChainId => Ok(quantity(self.chain().chain_id())),
            EthSyncing => Ok(json!(false)),
            EthMining => Ok(json!(self.mining != MiningMode::Manual)),
            EthHashrate => Ok(quantity(0)),
            EthCoinbase => Ok(json!(Address::ZERO)),
            EthAccounts => Ok(json!(self.accounts.addresses())),
            EthBlockNumber => Ok(quantity(self.chain().head().header.number)),
            EthGasPrice => Ok(json!(U256::from(
                self.chain().next_base_fee() as u128 + SUGGESTED_TIP
            ))),
            EthMaxPriorityFeePerGas => Ok(json!(U256::from(SUGGESTED_TIP))),
            EthBlobBaseFee => Ok(quantity(1)),
            EthFeeHistory(count, newest, percentiles) => {
                self.fee_history(count, newest, percentiles)
            }
            EthGetBalance(address, block) => self.balance(address, block),
            EthGetTransactionCount(address, block) => self.transaction_count(address, block),
            EthGetCode(address, block) => self.code(address, block),
            EthGetStorageAt(address, slot, block) => self.storage_at(address, slot, block),
            EthGetBlockByNumber(number, full) => {
                let chain = self.chain();
                let block = chain.block(Self::block_number(&chain, number));
                to_json(block.map(|b| rpc_block(b, full)))
            }
            EthGetBlockByHash(hash, full) => to_json(
                self.chain()
                    .block_by_hash(&hash)
                    .map(|b| rpc_block(b, full)),
            ),
            EthGetBlockTransactionCountByNumber(number) => {
                let chain = self.chain();
                let block = chain.block(Self::block_number(&chain, number));
                Ok(block.map_or(Value::Null, |b| quantity(b.txs.len() as u64)))
            }
            EthGetBlockTransactionCountByHash(hash) => Ok(self
                .chain()
                .block_by_hash(&hash)
                .map_or(Value::Null, |b| quantity(b.txs.len() as u64))),
            EthGetUncleCount => Ok(quantity(0)),
            EthGetTransactionByHash(hash) => self.transaction_by_hash(hash),
            EthGetTransactionByBlockNumberAndIndex(number, index) => {
                let chain = self.chain();
                let block = chain.block(Self::block_number(&chain, number));
                Self::transaction_in(block, index)
            }
            EthGetTransactionByBlockHashAndIndex(hash, index) => {
                Self::transaction_in(self.chain().block_by_hash(&hash), index)
            }
            EthGetTransactionReceipt(hash) => {
                let chain = self.chain();
                to_json(chain.transaction(&hash).map(|(b, i)| rpc_receipt(b, i)))
            }
            EthGetBlockReceipts(id) => self.block_receipts(id),
            EthCall(request, block) => self.call(&request, block),
            EthEstimateGas(request, block) => {
                let chain = self.chain();
                let (number, version) = Self::resolve(&chain, block)?;
                Ok(quantity(chain.estimate_gas(&request, number, version)?))
            }
            EthSendRawTransaction(raw) => {
                let envelope = TxEnvelope::decode_2718(&mut raw.as_ref()).map_err(|e| {
                    DevnetError::TxRejected(format!("transaction could not be decoded: {e}"))
                })?;
                Ok(json!(self.submit(envelope)?))
            }
            EthSendTransaction(request) => Ok(json!(self.send_transaction(*request)?)),
            EthSign(address, data) | PersonalSign(data, address) => {
                Ok(json!(self.accounts.sign_message(&address, &data)?))
            }
            EthSignTypedDataV4(address, data) => {
                Ok(json!(self.accounts.sign_typed_data(&address, &data)?))
            }
            EthGetLogs(filter) => to_json(Self::logs(&self.chain(), &filter)?),
            EthNewFilter(filter) => {
                let next = self.chain().head().header.number + 1;
                Ok(self.new_filter(FilterKind::Logs { filter, next }))
            }
            EthNewBlockFilter => {
                let next = self.chain().head().header.number + 1;
                Ok(self.new_filter(FilterKind::Blocks { next }))
            }
            EthNewPendingTransactionFilter => {
                let next = self
                    .accepted
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .len();
                Ok(self.new_filter(FilterKind::PendingTransactions { next }))
            }
            EthGetFilterChanges(id) => self.filter_changes(id, false),
            EthGetFilterLogs(id) => self.filter_changes(id, true),
            EthUninstallFilter(id) => Ok(json!(
                self.filters
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&id)
                    .is_some()
            )),
            EvmSnapshot => Ok(json!(U256::from(self.chain().snapshot()))),
            EvmRevert(id) => Ok(json!(self.chain().revert(id.saturating_to())?)),
            EvmMine(timestamp) => {
                if let Some(ts) = timestamp {
                    self.chain().set_next_timestamp(ts)?;
                }
                self.mine(None)?;
                Ok(json!("0x0"))
            }
            AnvilMine(count) => {
                if count > 10_000 {
                    return Err(DevnetError::InvalidParams(format!(
                        "at most 10000 blocks per call (got {count})"
                    )));
                }
                for _ in 0..count {
                    self.mine(None)?;
                }
                Ok(Value::Null)
            }
            EvmIncreaseTime(seconds) => Ok(json!(self.chain().increase_time(seconds)?)),
            EvmSetNextBlockTimestamp(ts) => {
                self.chain().set_next_timestamp(ts)?;
                Ok(Value::Null)
            }
            AnvilSetBalance(address, balance) => {
                self.chain().set_balance(address, balance)?;
                Ok(Value::Null)
            }
        }
    }

    fn balance(&self, address: Address, block: Option<BlockId>) -> DevnetResult<Value> {
        let chain = self.chain();
        let (_, version) = Self::resolve(&chain, block)?;
        let account = chain.account(&address, version);
        Ok(json!(account.map(|a| a.balance).unwrap_or_default()))
    }

    fn transaction_count(&self, address: Address, block: Option<BlockId>) -> DevnetResult<Value> {
        let chain = self.chain();
        if matches!(block, Some(BlockId::Number(BlockNumberOrTag::Pending))) {
            return Ok(quantity(chain.pending_nonce(&address)));
        }
        let (_, version) = Self::resolve(&chain, block)?;
        let account = chain.account(&address, version);
        Ok(quantity(account.map(|a| a.nonce).unwrap_or_default()))
    }

    fn code(&self, address: Address, block: Option<BlockId>) -> DevnetResult<Value> {
        let chain = self.chain();
        let (_, version) = Self::resolve(&chain, block)?;
        Ok(json!(chain.code(&address, version)))
    }

    fn storage_at(
        &self,
        address: Address,
        slot: U256,
        block: Option<BlockId>,
    ) -> DevnetResult<Value> {
        let chain = self.chain();
        let (_, version) = Self::resolve(&chain, block)?;
        Ok(json!(B256::from(chain.storage(&address, slot, version))))
    }

    fn transaction_by_hash(&self, hash: B256) -> DevnetResult<Value> {
        let chain = self.chain();
        if let Some((block, index)) = chain.transaction(&hash) {
            return to_json(rpc_tx(block, index));
        }
        to_json(chain.pooled(&hash).map(|t| RpcTransaction {
            inner: Recovered::new_unchecked(t.envelope.clone(), t.sender),
            block_hash: None,
            block_number: None,
            transaction_index: None,
            effective_gas_price: None,
            block_timestamp: None,
        }))
    }

    fn transaction_in(block: Option<&StoredBlock>, index: U64) -> DevnetResult<Value> {
        let index = index.to::<usize>();
        to_json(
            block
                .filter(|b| index < b.txs.len())
                .map(|b| rpc_tx(b, index)),
        )
    }

    fn block_receipts(&self, id: BlockId) -> DevnetResult<Value> {
        let chain = self.chain();
        let block = match id {
            BlockId::Hash(h) => chain.block_by_hash(&h.block_hash),
            BlockId::Number(tag) => chain.block(Self::block_number(&chain, tag)),
        };
        to_json(block.map(|b| {
            (0..b.txs.len())
                .map(|i| rpc_receipt(b, i))
                .collect::<Vec<_>>()
        }))
    }

    fn call(&self, request: &TransactionRequest, block: Option<BlockId>) -> DevnetResult<Value> {
        let chain = self.chain();
        let (number, version) = Self::resolve(&chain, block)?;
        match chain.call(request, number, version, None)? {
            ExecutionResult::Success { output, .. } => Ok(json!(output.into_data())),
            ExecutionResult::Revert { output, .. } => Err(DevnetError::reverted(output)),
            ExecutionResult::Halt { reason, .. } => {
                Err(DevnetError::Halted(crate::chain::halt_message(&reason)))
            }
        }
    }

    /// `eth_getFilterChanges` (what is new since the last poll), or with `all` `eth_getFilterLogs` (every log
    /// the filter matches).
    fn filter_changes(&self, id: U256, all: bool) -> DevnetResult<Value> {
        let chain = self.chain();
        let mut filters = self.filters.lock().unwrap_or_else(|e| e.into_inner());
        let kind = filters
            .get_mut(&id)
            .ok_or_else(|| DevnetError::NotFound("filter not found".into()))?;
        let head = chain.head().header.number;
        match kind {
            FilterKind::Logs { filter, next } => {
                let query = if all {
                    (**filter).clone()
                } else {
                    let from = filter.get_from_block().unwrap_or(0).max(*next);
                    let to = filter.get_to_block().unwrap_or(head).min(head);
                    *next = head + 1;
                    if from > to {
                        return Ok(json!([]));
                    }
                    (**filter).clone().from_block(from).to_block(to)
                };
                to_json(Self::logs(&chain, &query)?)
            }
            FilterKind::Blocks { next } => {
                let hashes: Vec<B256> = (*next..=head)
                    .filter_map(|n| chain.block(n))
                    .map(|b| b.hash)
                    .collect();
                *next = head + 1;
                Ok(json!(hashes))
            }
            FilterKind::PendingTransactions { next } => {
                let accepted = self.accepted.lock().unwrap_or_else(|e| e.into_inner());
                let new = accepted[(*next).min(accepted.len())..].to_vec();
                *next = accepted.len();
                Ok(json!(new))
            }
        }
    }

    fn fee_history(
        &self,
        count: u64,
        newest: BlockNumberOrTag,
        percentiles: Vec<f64>,
    ) -> DevnetResult<Value> {
        let count = count.min(1024);
        if percentiles.windows(2).any(|w| w[0] > w[1])
            || percentiles.iter().any(|p| !(0.0..=100.0).contains(p))
        {
            return Err(DevnetError::InvalidParams(
                "rewardPercentiles must be increasing values between 0 and 100".into(),
            ));
        }
        let chain = self.chain();
        let newest = Self::block_number(&chain, newest).min(chain.head().header.number);
        if count == 0 {
            return to_json(FeeHistory::default());
        }
        let oldest = newest.saturating_sub(count - 1);
        let mut history = FeeHistory {
            oldest_block: oldest,
            ..Default::default()
        };
        let mut rewards = Vec::new();
        for n in oldest..=newest {
            let block = chain.block(n).expect("in range");
            let base_fee = block.header.base_fee_per_gas.unwrap_or_default();
            history.base_fee_per_gas.push(base_fee as u128);
            history
                .gas_used_ratio
                .push(block.header.gas_used as f64 / block.header.gas_limit as f64);
            history.base_fee_per_blob_gas.push(1);
            history.blob_gas_used_ratio.push(0.0);
            if !percentiles.is_empty() {
                let mut tips: Vec<(u128, u64)> = block
                    .txs
                    .iter()
                    .map(|t| {
                        (
                            t.envelope
                                .effective_tip_per_gas(base_fee)
                                .unwrap_or_default(),
                            t.receipt.gas_used,
                        )
                    })
                    .collect();
                tips.sort_unstable();
                let total: u64 = tips.iter().map(|t| t.1).sum();
                let row = percentiles
                    .iter()
                    .map(|pct| {
                        if tips.is_empty() {
                            return 0;
                        }
                        let threshold = (total as f64 * pct / 100.0) as u64;
                        let mut sum = 0;
                        for (tip, gas) in &tips {
                            sum += gas;
                            if sum >= threshold {
                                return *tip;
                            }
                        }
                        tips.last().map(|t| t.0).unwrap_or_default()
                    })
                    .collect();
                rewards.push(row);
            }
        }
        let next = match chain.block(newest + 1) {
            Some(b) => b.header.base_fee_per_gas.unwrap_or_default(),
            None => chain.next_base_fee(),
        };
        history.base_fee_per_gas.push(next as u128);
        history.base_fee_per_blob_gas.push(1);
        if !percentiles.is_empty() {
            history.reward = Some(rewards);
        }
        to_json(history)
    }
}
