//! An in-process chain on revm that runs the compiled contracts, for tests and gas benchmarks only.
//!
//! Every [`TestChain::send`] mines its own block: the block number grows by one and the clock by
//! [`TestChain::BLOCK_TIME`] seconds before the transaction runs. [`TestChain::advance`] moves the clock
//! further. Gas price and base fee are zero, so balances change only by the value sent.

use crate::{Attestations, Marketplace, TestToken};
use alloy::sol_types::{SolCall, SolConstructor, SolInterface};
use alloy_primitives::{Address, Bytes, Log, U256};
use revm::{
    Context, DatabaseRef, ExecuteCommitEvm, ExecuteEvm, MainBuilder, MainContext, MainnetEvm,
    context::{BlockEnv, CfgEnv, TxEnv, result::ExecutionResult},
    database::{CacheDB, EmptyDB},
    primitives::TxKind,
    state::AccountInfo,
};

type Ctx = Context<BlockEnv, TxEnv, CfgEnv, CacheDB<EmptyDB>>;

/// Wei every test account starts with (1,000,000 ether).
pub const START_BALANCE: u128 = 1_000_000 * 10u128.pow(18);

/// A failed transaction or call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxError {
    /// The contract reverted with this data (a custom error, decode it with [`TxError::decode`]).
    Revert {
        /// Revert data.
        data: Bytes,
        /// Gas used.
        gas_used: u64,
    },
    /// The EVM halted (out of gas, invalid opcode, ...).
    Halt(String),
    /// The transaction was invalid (bad nonce, not enough balance).
    Invalid(String),
}

impl TxError {
    /// Decodes the revert data as one of the errors in `E` (e.g. `Marketplace::MarketplaceErrors`).
    /// Panics with the raw data if it is not a revert of that interface: tests want to see it.
    pub fn decode<E: SolInterface>(&self) -> E {
        match self {
            Self::Revert { data, .. } => E::abi_decode(data).unwrap_or_else(|e| {
                panic!(
                    "revert data {data} is not a {}: {e}",
                    std::any::type_name::<E>()
                )
            }),
            other => panic!("expected a revert, got {other:?}"),
        }
    }
}

/// What a successful transaction produced.
#[derive(Debug, Clone)]
pub struct Receipt {
    /// Gas charged to the sender (after refunds, at least the EIP-7623 calldata floor).
    pub gas_used: u64,
    /// Return data.
    pub output: Bytes,
    /// Logs emitted.
    pub logs: Vec<Log>,
}

/// Addresses of the contracts [`TestChain::deploy_all`] deployed.
#[derive(Debug, Clone, Copy)]
pub struct Contracts {
    /// The marketplace.
    pub marketplace: Address,
    /// The attestations contract.
    pub attestations: Address,
    /// A mintable ERC-20, allowed for payment in the marketplace.
    pub token: Address,
    /// The marketplace admin.
    pub admin: Address,
}

/// The in-process chain.
pub struct TestChain {
    evm: MainnetEvm<Ctx>,
    /// Funded accounts, `accounts[0]` is the usual deployer/admin.
    pub accounts: Vec<Address>,
}

impl std::fmt::Debug for TestChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestChain")
            .field("block", &self.block_number())
            .finish_non_exhaustive()
    }
}

impl TestChain {
    /// Seconds each sent transaction moves the clock.
    pub const BLOCK_TIME: u64 = 12;

    /// A chain with `accounts` funded accounts (addresses 0x1000.., deterministic).
    pub fn new(accounts: usize) -> Self {
        let ctx = Context::mainnet()
            .with_db(CacheDB::<EmptyDB>::default())
            .modify_block_chained(|b: &mut BlockEnv| {
                b.number = U256::from(1);
                b.timestamp = U256::from(1_700_000_000u64);
                b.basefee = 0;
                b.gas_limit = 60_000_000;
            })
            .modify_cfg_chained(|c: &mut CfgEnv| {
                c.chain_id = 31337;
                // Benchmarks publish with many shareholders; the EIP-7825 per-transaction cap would stop them.
                c.tx_gas_limit_cap = Some(u64::MAX);
            });
        let mut chain = Self {
            evm: ctx.build_mainnet(),
            accounts: Vec::new(),
        };
        for i in 0..accounts {
            let a = Address::with_last_byte(0).create(i as u64 + 0x1000);
            chain.fund(a, U256::from(START_BALANCE));
            chain.accounts.push(a);
        }
        chain
    }

    /// Sets an account's ether balance.
    pub fn fund(&mut self, account: Address, balance: U256) {
        let db = &mut self.evm.ctx.journaled_state.database;
        let mut info = db.basic_ref(account).ok().flatten().unwrap_or_default();
        info.balance = balance;
        db.insert_account_info(account, AccountInfo { ..info });
    }

    /// Ether balance of an account.
    pub fn balance(&self, account: Address) -> U256 {
        self.evm
            .ctx
            .journaled_state
            .database
            .basic_ref(account)
            .ok()
            .flatten()
            .map(|i| i.balance)
            .unwrap_or_default()
    }

    /// Runtime code at an address (empty if none).
    pub fn code(&self, account: Address) -> Bytes {
        let db = &self.evm.ctx.journaled_state.database;
        match db.basic_ref(account).ok().flatten() {
            Some(info) => match info.code {
                Some(code) => code.original_bytes(),
                None => db
                    .code_by_hash_ref(info.code_hash)
                    .map(|c| c.original_bytes())
                    .unwrap_or_default(),
            },
            None => Bytes::new(),
        }
    }

    /// Current block number (of the last mined block).
    pub fn block_number(&self) -> u64 {
        self.evm.ctx.block.number.to()
    }

    /// Current block timestamp.
    pub fn timestamp(&self) -> u64 {
        self.evm.ctx.block.timestamp.to()
    }

    /// Moves the clock forward without mining.
    pub fn advance(&mut self, seconds: u64) {
        self.evm.ctx.block.timestamp += U256::from(seconds);
    }

    fn nonce(&self, account: Address) -> u64 {
        self.evm
            .ctx
            .journaled_state
            .database
            .basic_ref(account)
            .ok()
            .flatten()
            .map(|i| i.nonce)
            .unwrap_or_default()
    }

    fn tx(&self, from: Address, kind: TxKind, value: U256, data: Bytes) -> TxEnv {
        TxEnv::builder()
            .caller(from)
            .kind(kind)
            .value(value)
            .data(data)
            .nonce(self.nonce(from))
            .gas_limit(50_000_000)
            .gas_price(0)
            .chain_id(Some(31337))
            .build()
            .expect("a plain legacy transaction always builds")
    }

    fn outcome(result: ExecutionResult) -> Result<Receipt, TxError> {
        match result {
            ExecutionResult::Success {
                gas, logs, output, ..
            } => Ok(Receipt {
                gas_used: gas.tx_gas_used(),
                output: output.into_data(),
                logs,
            }),
            ExecutionResult::Revert { gas, output, .. } => Err(TxError::Revert {
                data: output,
                gas_used: gas.tx_gas_used(),
            }),
            ExecutionResult::Halt { reason, .. } => Err(TxError::Halt(format!("{reason:?}"))),
        }
    }

    /// Mines a block with one transaction from `from` to `to` and commits it if it succeeds.
    pub fn send_raw(
        &mut self,
        from: Address,
        to: Address,
        value: U256,
        data: Bytes,
    ) -> Result<Receipt, TxError> {
        self.evm.ctx.block.number += U256::from(1);
        self.evm.ctx.block.timestamp += U256::from(Self::BLOCK_TIME);
        let tx = self.tx(from, TxKind::Call(to), value, data);
        let result = self
            .evm
            .transact_commit(tx)
            .map_err(|e| TxError::Invalid(format!("{e:?}")))?;
        Self::outcome(result)
    }

    /// Sends a typed call; on success returns the decoded return value and the receipt.
    pub fn send<C: SolCall>(
        &mut self,
        from: Address,
        to: Address,
        value: U256,
        call: &C,
    ) -> Result<(C::Return, Receipt), TxError> {
        let receipt = self.send_raw(from, to, value, call.abi_encode().into())?;
        let ret = C::abi_decode_returns(&receipt.output)
            .expect("the contract returned what its ABI says");
        Ok((ret, receipt))
    }

    /// Runs a typed call against the current state without committing or mining (like `eth_call`).
    pub fn call<C: SolCall>(&mut self, to: Address, call: &C) -> Result<C::Return, TxError> {
        let tx = self.tx(
            Address::ZERO,
            TxKind::Call(to),
            U256::ZERO,
            call.abi_encode().into(),
        );
        let result = self
            .evm
            .transact(tx)
            .map_err(|e| TxError::Invalid(format!("{e:?}")))?
            .result;
        let receipt = Self::outcome(result)?;
        Ok(
            C::abi_decode_returns(&receipt.output)
                .expect("the contract returned what its ABI says"),
        )
    }

    /// Deploys creation code with ABI-encoded constructor arguments appended.
    pub fn deploy(
        &mut self,
        from: Address,
        code: &Bytes,
        args: &[u8],
    ) -> Result<(Address, Receipt), TxError> {
        self.evm.ctx.block.number += U256::from(1);
        self.evm.ctx.block.timestamp += U256::from(Self::BLOCK_TIME);
        let data: Bytes = [code.as_ref(), args].concat().into();
        let tx = self.tx(from, TxKind::Create, U256::ZERO, data);
        let result = self
            .evm
            .transact_commit(tx)
            .map_err(|e| TxError::Invalid(format!("{e:?}")))?;
        let address = result.created_address();
        let receipt = Self::outcome(result)?;
        Ok((
            address.expect("a successful create has an address"),
            receipt,
        ))
    }

    /// Deploys the marketplace (admin = `accounts[0]`), the attestations contract and a test ERC-20 that the
    /// marketplace accepts.
    pub fn deploy_all(&mut self) -> Contracts {
        let admin = self.accounts[0];
        let args = Marketplace::constructorCall { admin }.abi_encode();
        let (marketplace, _) = self
            .deploy(admin, &Marketplace::BYTECODE, &args)
            .expect("Marketplace deploys");
        let args = Attestations::constructorCall { marketplace }.abi_encode();
        let (attestations, _) = self
            .deploy(admin, &Attestations::BYTECODE, &args)
            .expect("Attestations deploys");
        let args = TestToken::constructorCall {
            name_: "Test USD".into(),
            symbol_: "TUSD".into(),
        }
        .abi_encode();
        let (token, _) = self
            .deploy(admin, &TestToken::BYTECODE, &args)
            .expect("TestToken deploys");
        self.send(
            admin,
            marketplace,
            U256::ZERO,
            &Marketplace::allowPaymentTokenCall { token },
        )
        .expect("admin allows the test token");
        Contracts {
            marketplace,
            attestations,
            token,
            admin,
        }
    }
}
