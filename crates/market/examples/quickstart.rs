//! Publish a paid file, buy it, download it and withdraw the revenue, on the embedded chain.
//! Run: cargo run -p scal3ml-market --example quickstart
use alloy::{
    network::EthereumWallet,
    providers::{DynProvider, Provider, ProviderBuilder},
    signers::local::PrivateKeySigner,
};
use scal3ml_market::{
    BuyTerms, Deployment, Market, PublishRequest, TokenInfo, content, parse_amount,
};
use scal3ml_primitives::{AssetKind, LicenseDuration, LicenseTerms, PaymentToken};
use scal3ml_store::{MemStore, crypt::FileKey};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A chain with the contracts on it (on a real chain: load the DeploymentManifest instead).
    let node = scal3ml_devnet::spawn(scal3ml_devnet::DevnetConfig::test()).await?;
    let keys = node.dev_keys();
    let wallet = |i: usize| -> Result<DynProvider, Box<dyn std::error::Error>> {
        let signer = PrivateKeySigner::from_bytes(&keys[i].1)?;
        Ok(ProviderBuilder::new()
            .wallet(EthereumWallet::from(signer))
            .connect_http(node.http_url().parse()?)
            .erased())
    };
    let deployed = scal3ml_contracts::deploy(&wallet(0)?, keys[0].0).await?;
    let deployment = Deployment::from(&deployed);

    // The publisher encrypts a file under a fresh asset key and publishes it for 0.05 ETH.
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("model.bin");
    std::fs::write(&file, b"weights")?;
    let store = MemStore::new();
    let key = FileKey::generate()?;
    let prepared = content::prepare(&store, &file, Some(&key)).await?;
    let root = prepared.root;
    let publisher = Market::connect(wallet(1)?, deployment, keys[1].0).await?;
    let price = parse_amount("0.05", 18)?;
    let published = publisher
        .publish(PublishRequest {
            kind: AssetKind::Model,
            content_cid: root,
            metadata_cid: root, // a real publish stores the card and names its CID here
            encrypted: true,
            gateway_url: "http://127.0.0.1:8080/access".into(),
            parents: vec![],
            shareholders: vec![(keys[1].0, 100)],
            listing: LicenseTerms {
                token: PaymentToken::Eth,
                price,
                duration: LicenseDuration::Perpetual,
            },
        })
        .await?;
    println!(
        "published asset {} in block {}",
        published.asset, published.tx.block
    );

    // A buyer reads the listing and the card, then pays on those terms (the SDK checks them, the price and
    // the balance first; the contract refuses the purchase if the owner changes them meanwhile), then fetches
    // and decrypts.
    let buyer = Market::connect(wallet(2)?, deployment, keys[2].0).await?;
    let listing = buyer
        .listing(published.asset, PaymentToken::Eth.address())
        .await?
        .ok_or("not for sale in ETH")?;
    let terms = BuyTerms::new(&listing, root); // the card the buyer read (the stand-in above)
    let bought = buyer.buy(published.asset, &terms).await?;
    println!(
        "bought for {} ETH: {:?}",
        TokenInfo::eth().format(bought.price),
        bought.expiry
    );
    let dest = dir.path().join("downloaded.bin");
    content::download(
        &store,
        &prepared.root,
        Some(&key),
        &prepared.files,
        &dest,
        &mut |_| {},
    )
    .await?;
    assert_eq!(std::fs::read(&dest)?, b"weights");

    // The publisher withdraws what the sale earned.
    let paid = publisher
        .withdraw(published.asset, PaymentToken::Eth.address())
        .await?;
    println!("withdrew {} ETH", TokenInfo::eth().format(paid.amount));
    println!(
        "publisher balance: {}",
        publisher.provider().get_balance(keys[1].0).await?
    );
    node.shutdown().await;
    Ok(())
}
