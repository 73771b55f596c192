//! How commands reach a node and its chain: `--node URL` names the node (its REST API, access gateway and
//! IPFS gateway); the node tells where its chain's JSON-RPC is and which contracts to call, and
//! `--rpc-url` overrides that when the client sees the chain at another address.

use crate::wallet::SignerArgs;
use alloy::{
    network::EthereumWallet,
    providers::{DynProvider, Provider, ProviderBuilder},
};
use anyhow::Context as _;
use clap::Args;
use scal3ml_api::{NetworkInfo, NodeApi};
use scal3ml_market::{Deployment, Market};
use scal3ml_store::http::{HttpClient, HttpConfig};
use std::path::{Path, PathBuf};

/// How long an upload's signature stays valid: the node accepts at most 10 minutes, and checks it before it
/// reads the body.
const UPLOAD_SIGNATURE_TTL_SECS: u64 = 300;

/// Where the node is.
#[derive(Debug, Clone, Args)]
pub(crate) struct NodeArgs {
    /// The Scal3ML node to use (`scal3ml dev` or `scal3ml node`).
    #[arg(
        long,
        env = "SCAL3ML_NODE",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    pub(crate) node: String,
    /// The chain's JSON-RPC URL, when it differs from the one the node announces.
    #[arg(long, env = "SCAL3ML_RPC_URL", global = true)]
    pub(crate) rpc_url: Option<String>,
    /// A PEM file of an extra certificate authority to trust for https:// nodes.
    #[arg(long, env = "SCAL3ML_CA_CERT", global = true, value_name = "FILE")]
    pub(crate) ca_cert: Option<PathBuf>,
}

/// A connection to a node.
pub(crate) struct NodeClient {
    /// The node's REST API.
    pub(crate) api: NodeApi,
    /// The connection pool, for the node's access gateway and IPFS gateway.
    pub(crate) http: HttpClient,
    pub(crate) network: NetworkInfo,
    rpc_url: String,
}

impl NodeClient {
    /// The access gateway an asset names, or this node's for an asset that names none.
    pub(crate) fn gateway_of(&self, detail: &scal3ml_api::AssetDetail) -> String {
        if detail.gateway_url.is_empty() {
            self.network.node_url.clone()
        } else {
            detail.gateway_url.clone()
        }
    }

    /// Connects: asks the node for its network.
    pub(crate) async fn connect(args: &NodeArgs) -> anyhow::Result<Self> {
        let mut config = HttpConfig::new();
        if let Some(ca) = &args.ca_cert {
            config = config.with_ca_cert_file(ca)?;
        }
        let http = config.client()?;
        let api = NodeApi::new(&args.node, http.reqwest().clone());
        let network = api.network().await.map_err(|e| {
            anyhow::anyhow!(
                "{e:#}\n(is the node running? start one with `scal3ml dev`, or pass --node URL / set SCAL3ML_NODE)"
            )
        })?;
        let rpc_url = args
            .rpc_url
            .clone()
            .unwrap_or_else(|| network.rpc_url.clone());
        Ok(Self {
            api,
            http,
            network,
            rpc_url,
        })
    }

    /// Resolves `ETH`, a token symbol the node announces, or a token address to (address, symbol, decimals).
    pub(crate) async fn token(
        &self,
        market: &Market<DynProvider>,
        text: &str,
    ) -> anyhow::Result<scal3ml_market::TokenInfo> {
        if text.eq_ignore_ascii_case("eth") {
            return Ok(scal3ml_market::TokenInfo::eth());
        }
        let address = match self.network.tokens.iter().find(|t| t.symbol.eq_ignore_ascii_case(text)) {
            Some(t) => t.address,
            None => scal3ml_market::parse_token(text).map_err(|_| {
                let known: Vec<&str> = self.network.tokens.iter().map(|t| t.symbol.as_str()).collect();
                anyhow::anyhow!(
                    "unknown token {text:?}: use ETH, a token address (0x...), or one of the node's tokens: {}",
                    if known.is_empty() { "(none)".to_string() } else { known.join(", ") }
                )
            })?,
        };
        Ok(market.token_info(address).await?)
    }

    /// Uploads a CAR file, signed by `signer` (an EIP-712 upload request: the node takes uploads only from an
    /// account); the node pins its roots, and keeps them if a chain event names them within its grace period.
    pub(crate) async fn upload_car(
        &self,
        car: &Path,
        signer: &alloy::signers::local::PrivateKeySigner,
    ) -> anyhow::Result<scal3ml_api::UploadResult> {
        let signed = scal3ml_access::upload::SignedUpload::sign(
            signer,
            self.network.chain_id,
            &self.network.node_url,
            "car",
            UPLOAD_SIGNATURE_TTL_SECS,
        )?
        .header_value()?;
        let file = tokio::fs::File::open(car).await?;
        let len = file.metadata().await?.len();
        let body =
            reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::with_capacity(file, 1 << 20));
        Ok(self.api.upload_car(body, len, &signed).await?)
    }

    /// The marketplace SDK for the signer's account (or read-only for `None`, using the zero address).
    pub(crate) async fn market(
        &self,
        signer: Option<&alloy::signers::local::PrivateKeySigner>,
    ) -> anyhow::Result<Market<DynProvider>> {
        let url: reqwest::Url = self
            .rpc_url
            .parse()
            .with_context(|| format!("the chain URL {:?} is not a URL", self.rpc_url))?;
        let url = url.as_str().parse()?;
        let (provider, sender) = match signer {
            Some(s) => (
                ProviderBuilder::new()
                    .wallet(EthereumWallet::from(s.clone()))
                    .connect_http(url)
                    .erased(),
                s.address(),
            ),
            None => (
                ProviderBuilder::new().connect_http(url).erased(),
                alloy::primitives::Address::ZERO,
            ),
        };
        let deployment = Deployment {
            chain_id: self.network.chain_id,
            marketplace: self.network.marketplace,
            attestations: self.network.attestations,
        };
        Ok(Market::builder(provider, deployment, sender)
            .legacy(!self.network.eip1559)
            .rpc_url(self.rpc_url.clone())
            .connect()
            .await?)
    }

    /// The signer the flags name, checked against this node's chain.
    pub(crate) fn signer(
        &self,
        args: &SignerArgs,
    ) -> anyhow::Result<alloy::signers::local::PrivateKeySigner> {
        args.signer(self.network.chain_id)
    }

    /// A link to a transaction on the network's explorer, if it has one.
    pub(crate) fn tx_link(&self, hash: alloy::primitives::TxHash) -> Option<String> {
        self.network
            .explorer
            .as_ref()
            .map(|e| format!("{}/tx/{hash}", e.trim_end_matches('/')))
    }
}

/// Prints `value` as JSON (for `--json`) or calls `human` to print it for people.
pub(crate) fn emit<T: serde::Serialize>(json: bool, value: &T, human: impl FnOnce()) {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(value).expect("results serialize")
        );
    } else {
        human();
    }
}
