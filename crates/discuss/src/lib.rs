//! Discussions: comments on an asset or on one of its proposals, signed by their author with EIP-712, stored
//! as raw blocks in the node's block store (the block's CID is the comment's id) and kept in a table of their
//! own ([`store::Discussions`]) for threads. The asset's owner can hide a comment with a signed [`HideDoc`]:
//! the comment stays stored and listed, marked hidden, and its signature still verifies. See
//! docs/discussions.md.
//!
//! This crate defines the signed documents and the table once, for the node (which verifies them and serves the
//! routes, crates/server/src/discuss), the command line (which signs them) and the browser (which is handed
//! [`CommentDoc::typed_data`] to sign with `eth_signTypedData_v4`). No HTTP here.

pub mod store;

use alloy::{
    primitives::{Address, B256, U256},
    signers::{SignerSync, local::PrivateKeySigner},
    sol_types::{Eip712Domain, SolStruct, eip712_domain},
};
use scal3ml_primitives::signature::{canonical, recover};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The longest comment body, in characters.
pub const MAX_BODY_CHARS: usize = 10_000;
/// How far a document's `created_at` may be from the node's clock, in seconds.
pub const CLOCK_SKEW_SECS: u64 = 600;

/// The EIP-712 structs, as a wallet shows them.
pub mod typed {
    alloy::sol_types::sol! {
        /// A comment on `assetId` (on its proposal `proposalId`, or on the asset itself when 0), replying to
        /// the comment whose CID is `parent` (or to nothing when empty).
        #[derive(Debug, PartialEq, Eq, serde::Serialize)]
        struct Comment {
            uint256 assetId;
            uint256 proposalId;
            string parent;
            string body;
            uint64 createdAt;
        }

        /// The asset owner's decision to hide (or, with `hidden` false, show again) the comment `comment`.
        #[derive(Debug, PartialEq, Eq, serde::Serialize)]
        struct Hide {
            string comment;
            bool hidden;
            uint64 createdAt;
        }
    }
}

/// The EIP-712 domain of discussions on the marketplace `marketplace` of chain `chain_id`.
pub fn domain(chain_id: u64, marketplace: Address) -> Eip712Domain {
    eip712_domain! {
        name: "Scal3ML Discussions",
        version: "1",
        chain_id: chain_id,
        verifying_contract: marketplace,
    }
}

/// A signed comment: what is stored (as the JSON of this struct, fields in this order) and what its CID names.
/// It carries everything needed to verify it: the domain (chain and marketplace), the signed fields, the
/// author and the signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentDoc {
    /// The chain of the EIP-712 domain.
    pub chain_id: u64,
    /// The marketplace contract: the domain's verifying contract.
    #[schema(value_type = String, pattern = "^(0x)?[0-9a-fA-F]{40}$")]
    pub marketplace: Address,
    /// The asset discussed.
    pub asset: u64,
    /// The proposal discussed, or 0 for the asset itself.
    pub proposal: u64,
    /// The CID of the comment this replies to, or "" for a new thread.
    pub parent: String,
    /// Markdown, 1 to 10,000 characters.
    pub body: String,
    /// Unix seconds when it was written (within 10 minutes of the node's clock when posted).
    pub created_at: u64,
    /// Who wrote and signed it.
    #[schema(value_type = String, pattern = "^(0x)?[0-9a-fA-F]{40}$")]
    pub author: Address,
    /// The 65-byte EIP-712 signature (r, s, v) as 0x-hex; "" in an unsigned document.
    pub signature: String,
}

impl CommentDoc {
    /// The EIP-712 struct.
    pub fn typed(&self) -> typed::Comment {
        typed::Comment {
            assetId: U256::from(self.asset),
            proposalId: U256::from(self.proposal),
            parent: self.parent.clone(),
            body: self.body.clone(),
            createdAt: self.created_at,
        }
    }

    /// The digest the author signs.
    pub fn signing_hash(&self) -> B256 {
        self.typed()
            .eip712_signing_hash(&domain(self.chain_id, self.marketplace))
    }

    /// Signs the document as `signer` (who becomes its author).
    pub fn sign(mut self, signer: &PrivateKeySigner) -> Result<Self, String> {
        self.author = signer.address();
        self.signature = sign_hash(signer, &self.signing_hash())?;
        Ok(self)
    }

    /// The address the signature recovers.
    pub fn recover(&self) -> Result<Address, String> {
        recover(&self.signature, &self.signing_hash())
    }

    /// What a wallet signs with `eth_signTypedData_v4`.
    pub fn typed_data(&self) -> serde_json::Value {
        typed_data(&self.typed(), self.chain_id, self.marketplace)
    }

    /// The stored bytes: this struct's JSON with the signature in its one canonical spelling, so the same
    /// comment posted twice is the same block.
    pub fn canonical_bytes(&self) -> Result<Vec<u8>, String> {
        let mut doc = self.clone();
        doc.signature = canonical(&self.signature)?;
        serde_json::to_vec(&doc).map_err(|e| format!("the comment does not serialize: {e}"))
    }
}

/// A signed decision of an asset's owner to hide (or show again) a comment. Stored beside the comment as a raw
/// block of its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HideDoc {
    /// The chain of the EIP-712 domain.
    pub chain_id: u64,
    /// The marketplace contract: the domain's verifying contract.
    #[schema(value_type = String, pattern = "^(0x)?[0-9a-fA-F]{40}$")]
    pub marketplace: Address,
    /// The comment's CID.
    pub comment: String,
    /// true hides the comment, false shows it again.
    pub hidden: bool,
    /// Unix seconds when it was decided (within 10 minutes of the node's clock, and later than the decision
    /// it replaces).
    pub created_at: u64,
    /// The asset's owner, who signs.
    #[schema(value_type = String, pattern = "^(0x)?[0-9a-fA-F]{40}$")]
    pub owner: Address,
    /// The 65-byte EIP-712 signature as 0x-hex; "" in an unsigned document.
    pub signature: String,
}

impl HideDoc {
    /// The EIP-712 struct.
    pub fn typed(&self) -> typed::Hide {
        typed::Hide {
            comment: self.comment.clone(),
            hidden: self.hidden,
            createdAt: self.created_at,
        }
    }

    /// The digest the owner signs.
    pub fn signing_hash(&self) -> B256 {
        self.typed()
            .eip712_signing_hash(&domain(self.chain_id, self.marketplace))
    }

    /// Signs the decision as `signer` (who must be the asset's owner).
    pub fn sign(mut self, signer: &PrivateKeySigner) -> Result<Self, String> {
        self.owner = signer.address();
        self.signature = sign_hash(signer, &self.signing_hash())?;
        Ok(self)
    }

    /// The address the signature recovers.
    pub fn recover(&self) -> Result<Address, String> {
        recover(&self.signature, &self.signing_hash())
    }

    /// What a wallet signs with `eth_signTypedData_v4`.
    pub fn typed_data(&self) -> serde_json::Value {
        typed_data(&self.typed(), self.chain_id, self.marketplace)
    }

    /// The stored bytes (see [`CommentDoc::canonical_bytes`]).
    pub fn canonical_bytes(&self) -> Result<Vec<u8>, String> {
        let mut doc = self.clone();
        doc.signature = canonical(&self.signature)?;
        serde_json::to_vec(&doc).map_err(|e| format!("the decision does not serialize: {e}"))
    }
}

/// `{types (with EIP712Domain), primaryType, domain, message}` generated from the `sol!` struct and the domain;
/// chain ids as JSON numbers, as wallets compare them with the chain's.
fn typed_data<T: SolStruct + Serialize>(
    value: &T,
    chain_id: u64,
    marketplace: Address,
) -> serde_json::Value {
    let data = alloy::dyn_abi::TypedData::from_struct(value, Some(domain(chain_id, marketplace)));
    let mut json = serde_json::to_value(&data).expect("typed data serializes");
    json["domain"]["chainId"] = chain_id.into();
    json
}

/// Signs `hash` as `signer`: 0x-hex of r, s and v.
fn sign_hash(signer: &PrivateKeySigner, hash: &B256) -> Result<String, String> {
    let sig = signer.sign_hash_sync(hash).map_err(|e| e.to_string())?;
    Ok(format!(
        "0x{}",
        alloy::primitives::hex::encode(sig.as_bytes())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> CommentDoc {
        CommentDoc {
            chain_id: 31337,
            marketplace: Address::repeat_byte(0x11),
            asset: 3,
            proposal: 0,
            parent: String::new(),
            body: "Nice *data*".into(),
            created_at: 1_700_000_000,
            author: Address::ZERO,
            signature: String::new(),
        }
    }

    #[test]
    fn a_signed_comment_recovers_its_author_and_not_after_a_change() {
        let signer = PrivateKeySigner::random();
        let signed = doc().sign(&signer).unwrap();
        assert_eq!(signed.recover().unwrap(), signer.address());
        for change in [
            |d: &mut CommentDoc| d.body.push('!'),
            |d: &mut CommentDoc| d.asset = 4,
            |d: &mut CommentDoc| d.proposal = 1,
            |d: &mut CommentDoc| d.parent = "bafk".into(),
            |d: &mut CommentDoc| d.created_at += 1,
            |d: &mut CommentDoc| d.chain_id = 1,
            |d: &mut CommentDoc| d.marketplace = Address::repeat_byte(0x22),
        ] {
            let mut other = signed.clone();
            change(&mut other);
            assert_ne!(other.recover().unwrap(), signer.address(), "{other:?}");
        }
    }

    /// What the browser signs hashes to what the node verifies.
    #[test]
    fn the_typed_data_a_wallet_signs_hashes_like_the_struct() {
        let signer = PrivateKeySigner::random();
        let signed = doc().sign(&signer).unwrap();
        let json = signed.typed_data();
        assert_eq!(json["primaryType"], "Comment");
        assert_eq!(json["domain"]["name"], "Scal3ML Discussions");
        assert_eq!(json["domain"]["chainId"], 31337);
        assert_eq!(
            json["types"]["EIP712Domain"].as_array().unwrap().len(),
            4,
            "{json}"
        );
        let typed: alloy::dyn_abi::TypedData = serde_json::from_value(json).unwrap();
        assert_eq!(typed.eip712_signing_hash().unwrap(), signed.signing_hash());

        let hide = HideDoc {
            chain_id: 31337,
            marketplace: Address::repeat_byte(0x11),
            comment: "bafkrei".into(),
            hidden: true,
            created_at: 5,
            owner: Address::ZERO,
            signature: String::new(),
        }
        .sign(&signer)
        .unwrap();
        let typed: alloy::dyn_abi::TypedData = serde_json::from_value(hide.typed_data()).unwrap();
        assert_eq!(typed.eip712_signing_hash().unwrap(), hide.signing_hash());
        assert_eq!(hide.recover().unwrap(), signer.address());
    }

    #[test]
    fn canonical_bytes_do_not_depend_on_how_the_signature_is_spelled() {
        let signed = doc().sign(&PrivateKeySigner::random()).unwrap();
        let mut upper = signed.clone();
        upper.signature = format!("0x{}", signed.signature[2..].to_uppercase());
        assert_eq!(
            upper.canonical_bytes().unwrap(),
            signed.canonical_bytes().unwrap()
        );
    }
}
