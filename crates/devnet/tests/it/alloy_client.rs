//! alloy over HTTP against the devnet, as an application would use it.

use alloy::{
    network::{EthereumWallet, TransactionBuilder},
    primitives::{Address, U256, utils::parse_ether},
    providers::{Provider, ProviderBuilder},
    rpc::types::{Filter, TransactionRequest},
    signers::local::PrivateKeySigner,
    sol,
    sol_types::SolEvent,
};
use scal3ml_devnet::{DevnetConfig, DevnetHandle, spawn};

sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    Probe,
    "tests/it/contracts/Probe.json"
);

pub(crate) fn wallet(node: &DevnetHandle, index: usize) -> PrivateKeySigner {
    PrivateKeySigner::from_bytes(&node.dev_keys()[index].1).unwrap()
}

pub(crate) fn provider(node: &DevnetHandle, index: usize) -> impl Provider + Clone + use<> {
    ProviderBuilder::new()
        .wallet(EthereumWallet::from(wallet(node, index)))
        .connect_http(node.http_url().parse().unwrap())
}

#[tokio::test]
async fn reads_chain_id_accounts_and_balances() {
    let node = spawn(DevnetConfig::test()).await.unwrap();
    let p = provider(&node, 0);
    assert_eq!(p.get_chain_id().await.unwrap(), 31337);
    let accounts = p.get_accounts().await.unwrap();
    assert_eq!(accounts.len(), 10);
    assert_eq!(
        accounts[0],
        "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
            .parse::<Address>()
            .unwrap()
    );
    assert_eq!(
        p.get_balance(accounts[9]).await.unwrap(),
        parse_ether("10000").unwrap()
    );
    assert_eq!(p.get_block_number().await.unwrap(), 0);
}

#[tokio::test]
async fn transfer_moves_value_and_charges_gas() {
    let node = spawn(DevnetConfig::test()).await.unwrap();
    let p = provider(&node, 0);
    let from = node.dev_keys()[0].0;
    let to = Address::repeat_byte(0x42);
    let before = p.get_balance(from).await.unwrap();
    let tx = TransactionRequest::default()
        .with_to(to)
        .with_value(U256::from(12345));
    let receipt = p
        .send_transaction(tx)
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(receipt.status());
    assert_eq!(receipt.gas_used, 21_000);
    assert_eq!(receipt.block_number, Some(1));
    assert_eq!(p.get_balance(to).await.unwrap(), U256::from(12345));
    let fee = U256::from(receipt.gas_used) * U256::from(receipt.effective_gas_price);
    assert_eq!(
        p.get_balance(from).await.unwrap(),
        before - U256::from(12345) - fee
    );
    assert_eq!(p.get_transaction_count(from).await.unwrap(), 1);
    // The balance at the previous block is still the old one.
    assert_eq!(
        p.get_balance(from).block_id(0.into()).await.unwrap(),
        before
    );
    let block = p
        .get_block_by_number(1.into())
        .full()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(block.transactions.len(), 1);
    assert_eq!(
        block.header.parent_hash,
        p.get_block_by_number(0.into())
            .await
            .unwrap()
            .unwrap()
            .header
            .hash
    );
}

#[tokio::test]
async fn deploy_call_estimate_events_and_custom_errors() {
    let node = spawn(DevnetConfig::test()).await.unwrap();
    let p = provider(&node, 0);
    let me = node.dev_keys()[0].0;
    let probe = Probe::deploy(p.clone(), U256::from(7)).await.unwrap();
    assert!(!p.get_code_at(*probe.address()).await.unwrap().is_empty());
    assert_eq!(probe.count().call().await.unwrap(), U256::from(7));
    assert_eq!(probe.deployer().call().await.unwrap(), me);

    // A state-changing call with an event.
    let estimate = probe
        .store(U256::from(3), U256::from(99))
        .estimate_gas()
        .await
        .unwrap();
    let receipt = probe
        .store(U256::from(3), U256::from(99))
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(receipt.status());
    assert!(
        receipt.gas_used <= estimate,
        "estimate {estimate} below the gas used {}",
        receipt.gas_used
    );
    assert_eq!(
        probe.values(U256::from(3)).call().await.unwrap(),
        U256::from(99)
    );
    let logs = receipt.inner.logs();
    assert_eq!(logs.len(), 1);
    let event = Probe::Stored::decode_log(&logs[0].inner).unwrap();
    assert_eq!(event.by, me);
    assert_eq!(event.key, U256::from(3));
    assert_eq!(event.value, U256::from(99));
    assert_eq!(logs[0].transaction_hash, Some(receipt.transaction_hash));
    assert_eq!(logs[0].block_number, receipt.block_number);

    // eth_getLogs finds it by address and by indexed topic, and not with a wrong topic.
    let filter = Filter::new()
        .address(*probe.address())
        .event_signature(Probe::Stored::SIGNATURE_HASH)
        .from_block(0);
    assert_eq!(p.get_logs(&filter).await.unwrap().len(), 1);
    let wrong = filter.clone().topic2(U256::from(4));
    assert!(p.get_logs(&wrong).await.unwrap().is_empty());

    // Custom error: estimate fails with the revert data, which alloy decodes.
    let err = probe
        .store(U256::from(1), U256::from(5000))
        .estimate_gas()
        .await
        .unwrap_err();
    let decoded = err
        .as_decoded_error::<Probe::TooLarge>()
        .expect("custom error decodes");
    assert_eq!(decoded.value, U256::from(5000));
    assert_eq!(decoded.limit, U256::from(1000));

    // require() reason via eth_call.
    let err = probe.requireSmall(U256::from(50)).call().await.unwrap_err();
    assert!(err.to_string().contains("value too big"), "{err}");
    assert_eq!(
        probe.requireSmall(U256::from(4)).call().await.unwrap(),
        U256::from(8)
    );

    // Block context seen by the EVM matches the chain.
    let ctx = probe.context().call().await.unwrap();
    assert_eq!(ctx.chainId, U256::from(31337));
}

#[tokio::test]
async fn estimates_are_enough_for_refunds_and_nested_calls() {
    let node = spawn(DevnetConfig::test()).await.unwrap();
    let p = provider(&node, 0);
    let probe = Probe::deploy(p.clone(), U256::ZERO).await.unwrap();
    let r = probe
        .fill(U256::from(20))
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(r.status());
    // Clearing slots earns refunds: the gas used is far below what the call needs up front.
    let r = probe
        .clear(U256::from(20))
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(r.status(), "estimate too low for a refunding call");
    // A nested call forwarding value to a contract without a receive function fails; to an EOA it works.
    let eoa = Address::repeat_byte(9);
    let r = probe
        .forward(eoa)
        .value(U256::from(5))
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(r.status());
    assert_eq!(p.get_balance(eoa).await.unwrap(), U256::from(5));
    let err = probe
        .forward(*probe.address())
        .value(U256::from(5))
        .estimate_gas()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("forward failed"), "{err}");
}

#[tokio::test]
async fn receipts_carry_indices_and_contract_address() {
    let node = spawn(DevnetConfig::test()).await.unwrap();
    let p = provider(&node, 1);
    let deploy = Probe::deploy_builder(p.clone(), U256::from(1));
    let receipt = deploy.send().await.unwrap().get_receipt().await.unwrap();
    let address = receipt
        .contract_address
        .expect("creation has a contract address");
    assert_eq!(address, node.dev_keys()[1].0.create(0));
    assert_eq!(receipt.transaction_index, Some(0));
    assert_eq!(receipt.from, node.dev_keys()[1].0);
    assert_eq!(receipt.to, None);
    let tx = p
        .get_transaction_by_hash(receipt.transaction_hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(tx.block_hash, receipt.block_hash);
    let by_block = p
        .get_block_receipts(receipt.block_number.unwrap().into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_block.len(), 1);
    assert_eq!(by_block[0].transaction_hash, receipt.transaction_hash);
}
