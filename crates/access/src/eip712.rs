//! The EIP-712 messages the command line signs: [`AccessRequest`] (release a key, stream content) and
//! [`KeyDeposit`] (hand a content key to the gateway), their wire forms with the signature, and signing and
//! recovery. The domain is `{name: "Scal3ML Access", version: "1", chainId}`; no verifying contract, because
//! the gateway is not one: the `gateway` field (the gateway's public base URL) binds a signature to one gateway.

use alloy::signers::{SignerSync, local::PrivateKeySigner};
use alloy_primitives::{Address, B256, U256, keccak256};
use alloy_sol_types::{Eip712Domain, SolStruct, eip712_domain};
use scal3ml_primitives::AssetId;
use scal3ml_primitives::clock::now_secs;
pub use scal3ml_primitives::signature::recover;
use serde::{Deserialize, Serialize};

use crate::error::{AccessError, AccessResult};

/// The EIP-712 structs, as a wallet shows them.
pub mod typed {
    alloy_sol_types::sol! {
        /// Ask for the content key (or the content) of `asset` as `account`.
        #[derive(Debug, PartialEq, Eq, serde::Serialize)]
        struct AccessRequest {
            uint256 asset;
            address account;
            bytes32 nonce;
            uint64 expiry;
            uint256 chainId;
            string gateway;
        }

        /// Deposit the key whose keccak256 is `keyHash` for content `cid` (text form) as `depositor`.
        #[derive(Debug, PartialEq, Eq, serde::Serialize)]
        struct KeyDeposit {
            string cid;
            bytes32 keyHash;
            address depositor;
            bytes32 nonce;
            uint64 expiry;
            uint256 chainId;
            string gateway;
        }
    }
}

/// The EIP-712 domain for `chain_id`.
pub fn domain(chain_id: u64) -> Eip712Domain {
    eip712_domain! {
        name: "Scal3ML Access",
        version: "1",
        chain_id: chain_id,
    }
}

/// A gateway base URL as signed and compared: without trailing slashes.
pub fn normalize_gateway(url: &str) -> String {
    url.trim().trim_end_matches('/').to_owned()
}

/// A signed request for an asset's key or content, as sent over HTTP (JSON body of `POST /access/key`, or the
/// `x-scal3ml-access` header of a content request).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct SignedAccessRequest {
    /// The asset.
    #[schema(value_type = u64)]
    pub asset: AssetId,
    /// Who asks (must be the signer).
    #[schema(value_type = String, example = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", pattern = "^(0x)?[0-9a-fA-F]{40}$")]
    pub account: Address,
    /// 32 random bytes, single use.
    #[schema(value_type = String, pattern = "^(0x)?[0-9a-fA-F]{64}$")]
    pub nonce: B256,
    /// Unix seconds after which the request is void.
    pub expiry: u64,
    /// The chain the license lives on.
    pub chain_id: u64,
    /// The gateway's public base URL.
    pub gateway: String,
    /// 65-byte signature (r, s, v) as 0x-hex.
    pub signature: String,
}

impl SignedAccessRequest {
    /// The EIP-712 struct.
    pub fn typed(&self) -> typed::AccessRequest {
        typed::AccessRequest {
            asset: U256::from(self.asset.0),
            account: self.account,
            nonce: self.nonce,
            expiry: self.expiry,
            chainId: U256::from(self.chain_id),
            gateway: self.gateway.clone(),
        }
    }

    /// A fresh request by `account`, valid for `ttl_secs`, not signed yet (`signature` empty): what a browser
    /// wallet is asked to sign as [`SignedAccessRequest::typed_data`].
    pub fn unsigned(
        account: Address,
        chain_id: u64,
        gateway: &str,
        asset: AssetId,
        ttl_secs: u64,
    ) -> AccessResult<Self> {
        Ok(Self {
            asset,
            account,
            nonce: random_nonce()?,
            expiry: now_secs() + ttl_secs,
            chain_id,
            gateway: normalize_gateway(gateway),
            signature: String::new(),
        })
    }

    /// The request as a wallet signs it with `eth_signTypedData_v4` (see [`SignedKeyDeposit::typed_data`]).
    pub fn typed_data(&self) -> AccessResult<serde_json::Value> {
        let data =
            alloy::dyn_abi::TypedData::from_struct(&self.typed(), Some(domain(self.chain_id)));
        let mut json = serde_json::to_value(&data)
            .map_err(|e| AccessError::Sign(format!("the typed data does not serialize: {e}")))?;
        json["domain"]["chainId"] = self.chain_id.into();
        json["message"]["chainId"] = self.chain_id.into();
        Ok(json)
    }

    /// Signs a fresh request with `signer`, valid for `ttl_secs`.
    pub fn sign(
        signer: &PrivateKeySigner,
        chain_id: u64,
        gateway: &str,
        asset: AssetId,
        ttl_secs: u64,
    ) -> AccessResult<Self> {
        let mut req = Self::unsigned(signer.address(), chain_id, gateway, asset, ttl_secs)?;
        let hash = req.typed().eip712_signing_hash(&domain(chain_id));
        req.signature = sign_hash(signer, &hash)?;
        Ok(req)
    }

    /// The address the signature recovers (for the request's own chain id).
    pub fn recover(&self) -> Result<Address, String> {
        let hash = self.typed().eip712_signing_hash(&domain(self.chain_id));
        recover(&self.signature, &hash)
    }
}

/// A signed key deposit, as sent in the JSON body of `POST /access/keys`. Its `Debug` leaves the key out.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct SignedKeyDeposit {
    /// The content CID (text form) the key decrypts: the version-0 content CID of the asset about to be published.
    pub cid: String,
    /// The 16-byte content key as 32 hex characters.
    pub key: String,
    /// Who deposits (must be the signer; must become the asset's publisher for the key to be released).
    #[schema(value_type = String, pattern = "^(0x)?[0-9a-fA-F]{40}$")]
    pub depositor: Address,
    /// 32 random bytes, single use.
    #[schema(value_type = String, pattern = "^(0x)?[0-9a-fA-F]{64}$")]
    pub nonce: B256,
    /// Unix seconds after which the deposit is void.
    pub expiry: u64,
    /// The chain the asset will be published on.
    pub chain_id: u64,
    /// The gateway's public base URL.
    pub gateway: String,
    /// 65-byte signature as 0x-hex.
    pub signature: String,
}

impl std::fmt::Debug for SignedKeyDeposit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedKeyDeposit")
            .field("cid", &self.cid)
            .field("key", &"..")
            .field("depositor", &self.depositor)
            .field("nonce", &self.nonce)
            .field("expiry", &self.expiry)
            .field("chain_id", &self.chain_id)
            .field("gateway", &self.gateway)
            .finish_non_exhaustive()
    }
}

impl SignedKeyDeposit {
    /// The EIP-712 struct; `key_hash` is keccak256 of the 16 key bytes.
    pub fn typed(&self, key_hash: B256) -> typed::KeyDeposit {
        typed::KeyDeposit {
            cid: self.cid.clone(),
            keyHash: key_hash,
            depositor: self.depositor,
            nonce: self.nonce,
            expiry: self.expiry,
            chainId: U256::from(self.chain_id),
            gateway: self.gateway.clone(),
        }
    }

    /// A deposit of `key` for `cid` by `depositor`, valid for `ttl_secs`, not signed yet (`signature` empty):
    /// what a browser wallet is asked to sign as [`SignedKeyDeposit::typed_data`].
    pub fn unsigned(
        depositor: Address,
        chain_id: u64,
        gateway: &str,
        cid: &str,
        key: &[u8; 16],
        ttl_secs: u64,
    ) -> AccessResult<Self> {
        Ok(Self {
            cid: cid.to_owned(),
            key: alloy_primitives::hex::encode(key),
            depositor,
            nonce: random_nonce()?,
            expiry: now_secs() + ttl_secs,
            chain_id,
            gateway: normalize_gateway(gateway),
            signature: String::new(),
        })
    }

    /// Signs a deposit of `key` for `cid`, valid for `ttl_secs`.
    pub fn sign(
        signer: &PrivateKeySigner,
        chain_id: u64,
        gateway: &str,
        cid: &str,
        key: &[u8; 16],
        ttl_secs: u64,
    ) -> AccessResult<Self> {
        let mut dep = Self::unsigned(signer.address(), chain_id, gateway, cid, key, ttl_secs)?;
        let hash = dep
            .typed(keccak256(key))
            .eip712_signing_hash(&domain(chain_id));
        dep.signature = sign_hash(signer, &hash)?;
        Ok(dep)
    }

    /// keccak256 of the 16 key bytes (`key` is their hex).
    pub fn key_hash(&self) -> AccessResult<B256> {
        let bytes = alloy_primitives::hex::decode(&self.key)
            .ok()
            .filter(|b| b.len() == 16)
            .ok_or_else(|| AccessError::Sign("the key is not 32 hex characters".into()))?;
        Ok(keccak256(bytes))
    }

    /// The deposit as a wallet signs it with `eth_signTypedData_v4`: `{types (with EIP712Domain), primaryType:
    /// "KeyDeposit", domain: {name, version, chainId}, message}`, the types generated from [`typed::KeyDeposit`]
    /// and the domain from [`domain`]. Chain ids are JSON numbers, as wallets compare them with the chain's.
    /// A wallet's signature over it verifies as this deposit's at `POST /access/keys`.
    pub fn typed_data(&self) -> AccessResult<serde_json::Value> {
        let typed = self.typed(self.key_hash()?);
        let data = alloy::dyn_abi::TypedData::from_struct(&typed, Some(domain(self.chain_id)));
        let mut json = serde_json::to_value(&data)
            .map_err(|e| AccessError::Sign(format!("the typed data does not serialize: {e}")))?;
        json["domain"]["chainId"] = self.chain_id.into();
        json["message"]["chainId"] = self.chain_id.into();
        Ok(json)
    }
}

/// Signs `hash` as `signer`: 0x-hex of r, s and v.
pub(crate) fn sign_hash(signer: &PrivateKeySigner, hash: &B256) -> AccessResult<String> {
    let sig = signer
        .sign_hash_sync(hash)
        .map_err(|e| AccessError::Sign(e.to_string()))?;
    Ok(format!(
        "0x{}",
        alloy_primitives::hex::encode(sig.as_bytes())
    ))
}

/// 32 random bytes.
pub fn random_nonce() -> AccessResult<B256> {
    let mut b = [0u8; 32];
    getrandom::getrandom(&mut b).map_err(|e| AccessError::Sign(format!("no randomness: {e}")))?;
    Ok(B256::from(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_request_recovers_its_signer_and_not_after_a_change() {
        let signer = PrivateKeySigner::random();
        let req = SignedAccessRequest::sign(&signer, 31337, "http://gw/", AssetId(3), 60).unwrap();
        assert_eq!(req.gateway, "http://gw");
        assert_eq!(req.recover().unwrap(), signer.address());
        let mut other = req.clone();
        other.asset = AssetId(4);
        assert_ne!(other.recover().unwrap(), signer.address());
        let mut other = req.clone();
        other.chain_id = 1;
        assert_ne!(other.recover().unwrap(), signer.address());
    }

    /// What a wallet is handed for `eth_signTypedData_v4`, written out as JSON by hand and hashed by alloy's
    /// dynamic EIP-712 encoder: the same digest as our `sol!` structs give, so a wallet's signature verifies here.
    #[test]
    fn a_wallets_typed_data_json_hashes_like_our_structs() {
        let signer = PrivateKeySigner::random();
        let req =
            SignedAccessRequest::sign(&signer, 31337, "http://127.0.0.1:8080", AssetId(7), 60)
                .unwrap();
        let json = serde_json::json!({
            "types": {
                "EIP712Domain": [
                    {"name": "name", "type": "string"},
                    {"name": "version", "type": "string"},
                    {"name": "chainId", "type": "uint256"}
                ],
                "AccessRequest": [
                    {"name": "asset", "type": "uint256"},
                    {"name": "account", "type": "address"},
                    {"name": "nonce", "type": "bytes32"},
                    {"name": "expiry", "type": "uint64"},
                    {"name": "chainId", "type": "uint256"},
                    {"name": "gateway", "type": "string"}
                ]
            },
            "primaryType": "AccessRequest",
            "domain": {"name": "Scal3ML Access", "version": "1", "chainId": 31337},
            "message": {
                "asset": "7",
                "account": req.account.to_string(),
                "nonce": req.nonce.to_string(),
                "expiry": req.expiry,
                "chainId": "31337",
                "gateway": "http://127.0.0.1:8080"
            }
        });
        let typed: alloy::dyn_abi::TypedData = serde_json::from_value(json).unwrap();
        let hash = typed.eip712_signing_hash().unwrap();
        assert_eq!(hash, req.typed().eip712_signing_hash(&domain(31337)));
        assert_eq!(recover(&req.signature, &hash).unwrap(), signer.address());
    }

    /// The typed data handed to a browser wallet hashes to what the gateway verifies.
    #[test]
    fn a_deposits_typed_data_hashes_like_the_struct_the_gateway_checks() {
        let signer = PrivateKeySigner::random();
        let key = [9u8; 16];
        let dep =
            SignedKeyDeposit::sign(&signer, 31337, "http://127.0.0.1:8080/", "bafyx", &key, 60)
                .unwrap();
        let json = dep.typed_data().unwrap();
        assert_eq!(json["primaryType"], "KeyDeposit");
        assert_eq!(json["domain"]["name"], "Scal3ML Access");
        assert_eq!(json["domain"]["chainId"], 31337);
        assert_eq!(
            json["types"]["EIP712Domain"].as_array().unwrap().len(),
            3,
            "{json}"
        );
        assert_eq!(json["message"]["gateway"], "http://127.0.0.1:8080");
        let typed: alloy::dyn_abi::TypedData = serde_json::from_value(json).unwrap();
        let hash = typed.eip712_signing_hash().unwrap();
        assert_eq!(
            hash,
            dep.typed(keccak256(key))
                .eip712_signing_hash(&domain(31337))
        );
        assert_eq!(recover(&dep.signature, &hash).unwrap(), signer.address());
    }

    #[test]
    fn deposit_signature_commits_to_the_key() {
        let signer = PrivateKeySigner::random();
        let key = [7u8; 16];
        let dep = SignedKeyDeposit::sign(&signer, 31337, "http://gw", "bafy", &key, 60).unwrap();
        assert!(!format!("{dep:?}").contains("0707"), "Debug shows the key");
        let good = dep
            .typed(keccak256(key))
            .eip712_signing_hash(&domain(31337));
        assert_eq!(recover(&dep.signature, &good).unwrap(), signer.address());
        let bad = dep
            .typed(keccak256([8u8; 16]))
            .eip712_signing_hash(&domain(31337));
        assert_ne!(recover(&dep.signature, &bad).unwrap(), signer.address());
    }
}
