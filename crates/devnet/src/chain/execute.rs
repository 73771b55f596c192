//! Execution without mining: the EVM environment of a block, `eth_call` and `eth_estimateGas`, and geth's
//! wording for what revm refuses or halts on.

use alloy::{
    consensus::{Transaction as _, TxEnvelope},
    rpc::types::TransactionRequest,
};
use alloy_primitives::{Address, TxKind, U256, keccak256};
use revm::{
    Context, ExecuteEvm, MainBuilder, MainContext,
    context::{
        BlockEnv, CfgEnv, TxEnv,
        result::{EVMError, ExecutionResult, InvalidTransaction},
    },
    database::CacheDB,
};

use super::{Chain, SPEC};
use crate::{
    error::{DevnetError, DevnetResult},
    state::StateAt,
};

/// geth's wording for a transaction revm refused to run.
pub(crate) fn invalid_tx_message(err: &InvalidTransaction, sender: Address) -> String {
    match err {
        InvalidTransaction::NonceTooLow { tx, state } => {
            format!("nonce too low: address {sender}, tx: {tx} state: {state}")
        }
        InvalidTransaction::NonceTooHigh { tx, state } => {
            format!("nonce too high: address {sender}, tx: {tx} state: {state}")
        }
        InvalidTransaction::LackOfFundForMaxFee { fee, balance } => {
            format!(
                "insufficient funds for gas * price + value: address {sender} have {balance} want {fee}"
            )
        }
        InvalidTransaction::CallGasCostMoreThanGasLimit {
            initial_gas,
            gas_limit,
        } => {
            format!("intrinsic gas too low: gas {gas_limit}, minimum needed {initial_gas}")
        }
        InvalidTransaction::GasFloorMoreThanGasLimit {
            gas_floor,
            gas_limit,
        } => {
            format!(
                "insufficient gas for floor data gas cost: gas {gas_limit}, minimum needed {gas_floor}"
            )
        }
        InvalidTransaction::GasPriceLessThanBasefee => {
            "max fee per gas less than block base fee".to_owned()
        }
        InvalidTransaction::PriorityFeeGreaterThanMaxFee => {
            "max priority fee per gas higher than max fee per gas".to_owned()
        }
        InvalidTransaction::CallerGasLimitMoreThanBlock => "exceeds block gas limit".to_owned(),
        InvalidTransaction::CreateInitCodeSizeLimit => "max initcode size exceeded".to_owned(),
        InvalidTransaction::InvalidChainId | InvalidTransaction::MissingChainId => {
            "invalid chain id for signer".to_owned()
        }
        InvalidTransaction::RejectCallerWithCode => format!("sender not an eoa: address {sender}"),
        other => other.to_string(),
    }
}

pub(super) fn evm_error(
    err: EVMError<crate::state::StateReadError>,
    sender: Address,
) -> DevnetError {
    match err {
        EVMError::Transaction(t) => DevnetError::TxRejected(invalid_tx_message(&t, sender)),
        EVMError::Header(h) => DevnetError::Internal(h.to_string()),
        other => DevnetError::Internal(other.to_string()),
    }
}

/// revm's view of a signed transaction.
pub(crate) fn tx_env(envelope: &TxEnvelope, sender: Address) -> TxEnv {
    TxEnv {
        tx_type: envelope.tx_type() as u8,
        caller: sender,
        gas_limit: envelope.gas_limit(),
        gas_price: envelope.max_fee_per_gas(),
        kind: envelope.kind(),
        value: envelope.value(),
        data: envelope.input().clone(),
        nonce: envelope.nonce(),
        chain_id: envelope.chain_id(),
        access_list: envelope.access_list().cloned().unwrap_or_default(),
        gas_priority_fee: envelope.max_priority_fee_per_gas(),
        ..Default::default()
    }
}

impl Chain {
    pub(super) fn block_env(&self, number: u64, timestamp: u64, base_fee: u64) -> BlockEnv {
        BlockEnv {
            number: U256::from(number),
            beneficiary: Address::ZERO,
            timestamp: U256::from(timestamp),
            gas_limit: self.genesis.gas_limit,
            basefee: base_fee,
            difficulty: U256::ZERO,
            prevrandao: Some(keccak256(number.to_be_bytes())),
            ..Default::default()
        }
    }

    pub(super) fn cfg(&self) -> CfgEnv {
        let mut cfg = CfgEnv::new_with_spec(SPEC);
        cfg.chain_id = self.genesis.chain_id;
        cfg.tx_gas_limit_cap = Some(u64::MAX);
        cfg
    }

    /// Executes a call against the state at `version` without committing anything.
    pub(crate) fn call(
        &self,
        request: &TransactionRequest,
        number: u64,
        version: u64,
        gas: Option<u64>,
    ) -> DevnetResult<ExecutionResult> {
        let block = self
            .block(number)
            .ok_or_else(|| DevnetError::NotFound("header not found".into()))?;
        let from = request.from.unwrap_or_default();
        let mut cfg = self.cfg();
        cfg.disable_nonce_check = true;
        cfg.disable_base_fee = true;
        cfg.disable_block_gas_limit = true;
        let gas_price = request.gas_price.or(request.max_fee_per_gas).unwrap_or(0);
        if gas_price == 0 {
            cfg.disable_fee_charge = true;
        }
        let env = TxEnv {
            tx_type: if request.max_fee_per_gas.is_some() {
                2
            } else if request.access_list.is_some() {
                1
            } else {
                0
            },
            caller: from,
            gas_limit: gas.or(request.gas).unwrap_or(self.genesis.gas_limit),
            gas_price,
            kind: request.to.unwrap_or(TxKind::Create),
            value: request.value.unwrap_or_default(),
            data: request.input.input().cloned().unwrap_or_default(),
            nonce: 0,
            chain_id: Some(self.genesis.chain_id),
            access_list: request.access_list.clone().unwrap_or_default(),
            gas_priority_fee: request
                .max_priority_fee_per_gas
                .filter(|_| request.max_fee_per_gas.is_some()),
            ..Default::default()
        };
        let header = &block.header;
        // A call at the head runs as if in the next block, like geth's "pending" view.
        let env_block = if number == self.head().header.number {
            self.block_env(number + 1, self.next_timestamp(), self.next_base_fee())
        } else {
            self.block_env(
                number,
                header.timestamp,
                header.base_fee_per_gas.unwrap_or_default(),
            )
        };
        let db = CacheDB::new(StateAt {
            history: &self.history,
            version,
            hashes: &self.hashes,
        });
        let mut evm = Context::mainnet()
            .with_db(db)
            .with_cfg(cfg)
            .with_block(env_block)
            .build_mainnet();
        evm.transact(env)
            .map(|o| o.result)
            .map_err(|e| evm_error(e, from))
    }

    /// Estimates the gas a transaction needs: the smallest limit (within 1.5%, as geth) at which it succeeds.
    pub(crate) fn estimate_gas(
        &self,
        request: &TransactionRequest,
        number: u64,
        version: u64,
    ) -> DevnetResult<u64> {
        let cap = request.gas.unwrap_or(self.genesis.gas_limit);
        let first = self.call(request, number, version, Some(cap))?;
        let used = match first {
            ExecutionResult::Success { .. } => first.tx_gas_used(),
            ExecutionResult::Revert { output, .. } => return Err(DevnetError::reverted(output)),
            ExecutionResult::Halt { reason, .. } => {
                return Err(DevnetError::Halted(match reason {
                    revm::context::result::HaltReason::OutOfGas(_) => {
                        format!("gas required exceeds allowance ({cap})")
                    }
                    other => halt_message(&other),
                }));
            }
        };
        let ok = |gas: u64| {
            matches!(
                self.call(request, number, version, Some(gas)),
                Ok(ExecutionResult::Success { .. })
            )
        };
        // Most transactions succeed with exactly what they used (no refund, no 63/64 reservation at play).
        if used < cap && ok(used) {
            return Ok(used);
        }
        let mut lo = used.saturating_sub(1);
        let mut hi = cap;
        let optimistic = (used + 2_300) * 64 / 63;
        if optimistic < hi {
            if ok(optimistic) {
                hi = optimistic;
            } else {
                lo = optimistic;
            }
        }
        while lo + 1 < hi {
            if (hi - lo) as f64 / hi as f64 <= 0.015 {
                break;
            }
            let mid = lo + (hi - lo) / 2;
            if ok(mid) { hi = mid } else { lo = mid }
        }
        Ok(hi)
    }
}

/// geth's wording for an execution that halted.
pub(crate) fn halt_message(reason: &revm::context::result::HaltReason) -> String {
    use revm::context::result::{HaltReason, OutOfGasError};
    match reason {
        HaltReason::OutOfGas(
            OutOfGasError::Basic | OutOfGasError::Memory | OutOfGasError::MemoryLimit,
        ) => "out of gas".to_owned(),
        HaltReason::OutOfGas(_) => "out of gas".to_owned(),
        HaltReason::OpcodeNotFound | HaltReason::InvalidFEOpcode => "invalid opcode".to_owned(),
        HaltReason::StackOverflow => "stack limit reached 1024".to_owned(),
        HaltReason::StackUnderflow => "stack underflow".to_owned(),
        HaltReason::CreateContractSizeLimit => "max code size exceeded".to_owned(),
        HaltReason::OutOfFunds => "insufficient funds for transfer".to_owned(),
        other => format!("execution halted: {other:?}"),
    }
}
