//! JSON-RPC calls parsed into [`DevnetRequest`], one variant per supported method with its parameters typed
//! (alloy's types), as anvil's `EthRequest` does. Parsing takes two steps: the method name first, so an unknown
//! method answers -32601 whatever its parameters, then the positional parameters, so bad ones answer -32602
//! naming the argument. Answering lives in `rpc`.
//!
//! Unlike anvil this is not a `#[serde(tag = "method", content = "params")]` derive: serde's messages for a
//! tuple ("invalid length 0, expected a tuple of size 2") name neither the argument nor what it is for, and
//! telling an unknown method from bad parameters would mean reading serde's message (anvil looks for "unknown
//! variant" in it). Each method's arguments are read by position instead, each error saying which argument
//! (`argument 1 (address) is missing or malformed: ...`).

use alloy::{
    dyn_abi::TypedData,
    eips::{BlockId, BlockNumberOrTag},
    rpc::types::{Filter, TransactionRequest},
};
use alloy_primitives::{Address, B256, Bytes, U64, U256};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{DevnetError, DevnetResult};

/// One JSON-RPC call of a supported method, its parameters parsed. A variant with an alias answers to both
/// names.
#[derive(Clone, Debug)]
pub(crate) enum DevnetRequest {
    /// `web3_clientVersion`
    Web3ClientVersion,
    /// `web3_sha3(data)`
    Web3Sha3(Bytes),
    /// `net_version`
    NetVersion,
    /// `net_listening`
    NetListening,
    /// `net_peerCount`
    NetPeerCount,
    /// `eth_chainId`
    EthChainId,
    /// `eth_syncing`
    EthSyncing,
    /// `eth_mining`
    EthMining,
    /// `eth_hashrate`
    EthHashrate,
    /// `eth_coinbase`
    EthCoinbase,
    /// `eth_accounts`
    EthAccounts,
    /// `eth_blockNumber`
    EthBlockNumber,
    /// `eth_gasPrice`
    EthGasPrice,
    /// `eth_maxPriorityFeePerGas`
    EthMaxPriorityFeePerGas,
    /// `eth_blobBaseFee`
    EthBlobBaseFee,
    /// `eth_feeHistory(blockCount, newestBlock, rewardPercentiles?)`
    EthFeeHistory(u64, BlockNumberOrTag, Vec<f64>),
    /// `eth_getBalance(address, block?)`
    EthGetBalance(Address, Option<BlockId>),
    /// `eth_getTransactionCount(address, block?)`
    EthGetTransactionCount(Address, Option<BlockId>),
    /// `eth_getCode(address, block?)`
    EthGetCode(Address, Option<BlockId>),
    /// `eth_getStorageAt(address, slot, block?)`
    EthGetStorageAt(Address, U256, Option<BlockId>),
    /// `eth_getBlockByNumber(number, full?)`
    EthGetBlockByNumber(BlockNumberOrTag, bool),
    /// `eth_getBlockByHash(hash, full?)`
    EthGetBlockByHash(B256, bool),
    /// `eth_getBlockTransactionCountByNumber(number)`
    EthGetBlockTransactionCountByNumber(BlockNumberOrTag),
    /// `eth_getBlockTransactionCountByHash(hash)`
    EthGetBlockTransactionCountByHash(B256),
    /// `eth_getUncleCountByBlockNumber` and `eth_getUncleCountByBlockHash` (always 0; parameters ignored)
    EthGetUncleCount,
    /// `eth_getTransactionByHash(hash)`
    EthGetTransactionByHash(B256),
    /// `eth_getTransactionByBlockNumberAndIndex(number, index)`
    EthGetTransactionByBlockNumberAndIndex(BlockNumberOrTag, U64),
    /// `eth_getTransactionByBlockHashAndIndex(hash, index)`
    EthGetTransactionByBlockHashAndIndex(B256, U64),
    /// `eth_getTransactionReceipt(hash)`
    EthGetTransactionReceipt(B256),
    /// `eth_getBlockReceipts(block)`
    EthGetBlockReceipts(BlockId),
    /// `eth_call(transaction, block?)` (a third parameter, state overrides, is ignored)
    EthCall(Box<TransactionRequest>, Option<BlockId>),
    /// `eth_estimateGas(transaction, block?)`
    EthEstimateGas(Box<TransactionRequest>, Option<BlockId>),
    /// `eth_sendRawTransaction(signed transaction)`
    EthSendRawTransaction(Bytes),
    /// `eth_sendTransaction(transaction)`
    EthSendTransaction(Box<TransactionRequest>),
    /// `eth_sign(address, message)`
    EthSign(Address, Bytes),
    /// `personal_sign(message, address)`
    PersonalSign(Bytes, Address),
    /// `eth_signTypedData_v4(address, typed data)`, alias `eth_signTypedData`; the typed data as an object or
    /// as a JSON string
    EthSignTypedDataV4(Address, Box<TypedData>),
    /// `eth_getLogs(filter)`
    EthGetLogs(Box<Filter>),
    /// `eth_newFilter(filter)`
    EthNewFilter(Box<Filter>),
    /// `eth_newBlockFilter`
    EthNewBlockFilter,
    /// `eth_newPendingTransactionFilter`
    EthNewPendingTransactionFilter,
    /// `eth_getFilterChanges(filter id)`
    EthGetFilterChanges(U256),
    /// `eth_getFilterLogs(filter id)`
    EthGetFilterLogs(U256),
    /// `eth_uninstallFilter(filter id)`
    EthUninstallFilter(U256),
    /// `evm_snapshot`
    EvmSnapshot,
    /// `evm_revert(snapshot id)`
    EvmRevert(U256),
    /// `evm_mine(timestamp?)`: the timestamp as a number, a quantity or `{"timestamp": n}`
    EvmMine(Option<u64>),
    /// `anvil_mine(blocks?)`, alias `hardhat_mine`; one block when absent
    AnvilMine(u64),
    /// `evm_increaseTime(seconds)`
    EvmIncreaseTime(u64),
    /// `evm_setNextBlockTimestamp(timestamp)`
    EvmSetNextBlockTimestamp(u64),
    /// `anvil_setBalance(address, balance)`, alias `hardhat_setBalance`
    AnvilSetBalance(Address, U256),
}

impl DevnetRequest {
    /// Parses a call: the method name first (unknown: [`DevnetError::MethodNotFound`], -32601), then its
    /// positional parameters (wrong: [`DevnetError::InvalidParams`], -32602, naming the argument). Where a
    /// method has several arguments they are read in the order its answer used to read them, so the argument
    /// named when more than one is wrong stays the same.
    pub(crate) fn parse(method: &str, params: &[Value]) -> DevnetResult<Self> {
        use DevnetRequest::*;
        Ok(match method {
            "web3_clientVersion" => Web3ClientVersion,
            "web3_sha3" => Web3Sha3(p(params, 0, "data")?),
            "net_version" => NetVersion,
            "net_listening" => NetListening,
            "net_peerCount" => NetPeerCount,
            "eth_chainId" => EthChainId,
            "eth_syncing" => EthSyncing,
            "eth_mining" => EthMining,
            "eth_hashrate" => EthHashrate,
            "eth_coinbase" => EthCoinbase,
            "eth_accounts" => EthAccounts,
            "eth_blockNumber" => EthBlockNumber,
            "eth_gasPrice" => EthGasPrice,
            "eth_maxPriorityFeePerGas" => EthMaxPriorityFeePerGas,
            "eth_blobBaseFee" => EthBlobBaseFee,
            "eth_feeHistory" => {
                let count = number_or_quantity(params, 0, "blockCount")?;
                let newest = p(params, 1, "newestBlock")?;
                let percentiles = opt(params, 2, "rewardPercentiles")?.unwrap_or_default();
                EthFeeHistory(count, newest, percentiles)
            }
            "eth_getBalance" => EthGetBalance(p(params, 0, "address")?, opt(params, 1, "block")?),
            "eth_getTransactionCount" => {
                EthGetTransactionCount(p(params, 0, "address")?, opt(params, 1, "block")?)
            }
            "eth_getCode" => EthGetCode(p(params, 0, "address")?, opt(params, 1, "block")?),
            "eth_getStorageAt" => {
                let address = p(params, 0, "address")?;
                let slot = p(params, 1, "slot")?;
                EthGetStorageAt(address, slot, opt(params, 2, "block")?)
            }
            "eth_getBlockByNumber" => {
                let full = opt(params, 1, "full transactions")?.unwrap_or(false);
                EthGetBlockByNumber(p(params, 0, "block number")?, full)
            }
            "eth_getBlockByHash" => {
                let full = opt(params, 1, "full transactions")?.unwrap_or(false);
                EthGetBlockByHash(p(params, 0, "block hash")?, full)
            }
            "eth_getBlockTransactionCountByNumber" => {
                EthGetBlockTransactionCountByNumber(p(params, 0, "block number")?)
            }
            "eth_getBlockTransactionCountByHash" => {
                EthGetBlockTransactionCountByHash(p(params, 0, "block hash")?)
            }
            "eth_getUncleCountByBlockNumber" | "eth_getUncleCountByBlockHash" => EthGetUncleCount,
            "eth_getTransactionByHash" => {
                EthGetTransactionByHash(p(params, 0, "transaction hash")?)
            }
            "eth_getTransactionByBlockNumberAndIndex" => {
                let index = p(params, 1, "index")?;
                EthGetTransactionByBlockNumberAndIndex(p(params, 0, "block number")?, index)
            }
            "eth_getTransactionByBlockHashAndIndex" => {
                let index = p(params, 1, "index")?;
                EthGetTransactionByBlockHashAndIndex(p(params, 0, "block hash")?, index)
            }
            "eth_getTransactionReceipt" => {
                EthGetTransactionReceipt(p(params, 0, "transaction hash")?)
            }
            "eth_getBlockReceipts" => EthGetBlockReceipts(p(params, 0, "block")?),
            "eth_call" => EthCall(p(params, 0, "transaction")?, opt(params, 1, "block")?),
            "eth_estimateGas" => {
                EthEstimateGas(p(params, 0, "transaction")?, opt(params, 1, "block")?)
            }
            "eth_sendRawTransaction" => EthSendRawTransaction(p(params, 0, "signed transaction")?),
            "eth_sendTransaction" => EthSendTransaction(p(params, 0, "transaction")?),
            "eth_sign" => EthSign(p(params, 0, "address")?, p(params, 1, "message")?),
            "personal_sign" => PersonalSign(p(params, 0, "message")?, p(params, 1, "address")?),
            "eth_signTypedData_v4" | "eth_signTypedData" => {
                let address = p(params, 0, "address")?;
                let data = match params.get(1) {
                    Some(Value::String(s)) => serde_json::from_str(s).map_err(|e| {
                        DevnetError::InvalidParams(format!(
                            "argument 2 (typed data) is not EIP-712 JSON: {e}"
                        ))
                    })?,
                    _ => p(params, 1, "typed data")?,
                };
                EthSignTypedDataV4(address, data)
            }
            "eth_getLogs" => EthGetLogs(p(params, 0, "filter")?),
            "eth_newFilter" => EthNewFilter(p(params, 0, "filter")?),
            "eth_newBlockFilter" => EthNewBlockFilter,
            "eth_newPendingTransactionFilter" => EthNewPendingTransactionFilter,
            "eth_getFilterChanges" => EthGetFilterChanges(p(params, 0, "filter id")?),
            "eth_getFilterLogs" => EthGetFilterLogs(p(params, 0, "filter id")?),
            "eth_uninstallFilter" => EthUninstallFilter(p(params, 0, "filter id")?),
            "evm_snapshot" => EvmSnapshot,
            "evm_revert" => EvmRevert(p(params, 0, "snapshot id")?),
            "evm_mine" => EvmMine(match params.first() {
                Some(Value::Object(o)) => o.get("timestamp").and_then(Value::as_u64),
                Some(Value::Null) | None => None,
                Some(_) => Some(number_or_quantity(params, 0, "timestamp")?),
            }),
            "anvil_mine" | "hardhat_mine" => {
                AnvilMine(if params.first().is_some_and(|v| !v.is_null()) {
                    number_or_quantity(params, 0, "blocks")?
                } else {
                    1
                })
            }
            "evm_increaseTime" => EvmIncreaseTime(number_or_quantity(params, 0, "seconds")?),
            "evm_setNextBlockTimestamp" => {
                EvmSetNextBlockTimestamp(number_or_quantity(params, 0, "timestamp")?)
            }
            "anvil_setBalance" | "hardhat_setBalance" => {
                AnvilSetBalance(p(params, 0, "address")?, p(params, 1, "balance")?)
            }
            other => return Err(DevnetError::MethodNotFound(other.to_owned())),
        })
    }
}

/// The required argument at `index` (0-based), named `name` in the error.
fn p<T: DeserializeOwned>(params: &[Value], index: usize, name: &str) -> DevnetResult<T> {
    let value = params.get(index).cloned().unwrap_or(Value::Null);
    serde_json::from_value(value).map_err(|e| {
        DevnetError::InvalidParams(format!(
            "argument {} ({name}) is missing or malformed: {e}",
            index + 1
        ))
    })
}

/// The optional argument at `index`: absent or `null` is `None`.
fn opt<T: DeserializeOwned>(params: &[Value], index: usize, name: &str) -> DevnetResult<Option<T>> {
    match params.get(index) {
        None | Some(Value::Null) => Ok(None),
        Some(_) => p(params, index, name).map(Some),
    }
}

/// A count given as a JSON number or a hex quantity string (feeHistory's blockCount, evm_increaseTime).
fn number_or_quantity(params: &[Value], index: usize, name: &str) -> DevnetResult<u64> {
    match params.get(index) {
        Some(Value::Number(n)) => n.as_u64().ok_or_else(|| {
            DevnetError::InvalidParams(format!(
                "argument {} ({name}) must be a non-negative integer",
                index + 1
            ))
        }),
        _ => p::<U64>(params, index, name).map(|v| v.to::<u64>()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(method: &str, params: Value) -> DevnetResult<DevnetRequest> {
        DevnetRequest::parse(method, params.as_array().unwrap())
    }

    #[test]
    fn an_unknown_method_is_not_found_whatever_its_params() {
        for params in [json!([]), json!(["0x1234", {"x": 1}])] {
            let err = parse("eth_frobnicate", params).unwrap_err().to_rpc();
            assert_eq!(err.code, -32601);
            assert_eq!(
                err.message,
                "the method eth_frobnicate does not exist/is not available"
            );
        }
    }

    #[test]
    fn a_bad_argument_is_invalid_params_naming_it() {
        let err = parse("eth_getBalance", json!(["not an address", "latest"]))
            .unwrap_err()
            .to_rpc();
        assert_eq!(err.code, -32602);
        assert!(
            err.message
                .starts_with("invalid params: argument 1 (address) is missing or malformed: "),
            "{}",
            err.message
        );
        let err = parse("eth_getStorageAt", json!([Address::ZERO]))
            .unwrap_err()
            .to_rpc();
        assert_eq!(err.code, -32602);
        assert!(err.message.contains("argument 2 (slot)"), "{}", err.message);
    }

    #[test]
    fn params_are_typed() {
        let address = Address::repeat_byte(1);
        assert!(matches!(
            parse("eth_getBalance", json!([address])).unwrap(),
            DevnetRequest::EthGetBalance(a, None) if a == address
        ));
        assert!(matches!(
            parse("hardhat_setBalance", json!([address, "0x2a"])).unwrap(),
            DevnetRequest::AnvilSetBalance(a, b) if a == address && b == U256::from(42)
        ));
        assert!(matches!(
            parse("anvil_mine", json!([])).unwrap(),
            DevnetRequest::AnvilMine(1)
        ));
        assert!(matches!(
            parse("evm_mine", json!([{"timestamp": 7}])).unwrap(),
            DevnetRequest::EvmMine(Some(7))
        ));
        assert!(matches!(
            parse("eth_getBlockByNumber", json!(["latest"])).unwrap(),
            DevnetRequest::EthGetBlockByNumber(BlockNumberOrTag::Latest, false)
        ));
    }
}
