//! The unlocked dev accounts: keys derived from a BIP-39 mnemonic at m/44'/60'/0'/0/i, and the signing the
//! node does for them (eth_sendTransaction, eth_sign, personal_sign, eth_signTypedData_v4).

use alloy::{
    consensus::{SignableTransaction, TxEnvelope, TypedTransaction},
    dyn_abi::TypedData,
    signers::{
        SignerSync,
        local::{MnemonicBuilder, PrivateKeySigner, coins_bip39::English},
    },
};
use alloy_primitives::{Address, B256, Bytes};

use crate::error::{DevnetError, DevnetResult};

/// The dev accounts.
#[derive(Clone, Debug, Default)]
pub struct DevAccounts {
    signers: Vec<PrivateKeySigner>,
}

impl DevAccounts {
    /// Derives `count` accounts from `mnemonic`.
    pub fn from_mnemonic(mnemonic: &str, count: u32) -> DevnetResult<Self> {
        let mut signers = Vec::with_capacity(count as usize);
        for i in 0..count {
            let signer = MnemonicBuilder::<English>::default()
                .phrase(mnemonic)
                .index(i)
                .and_then(|b| b.build())
                .map_err(|e| {
                    DevnetError::Config(format!(
                        "cannot derive dev account {i} from the mnemonic: {e}"
                    ))
                })?;
            signers.push(signer);
        }
        Ok(Self { signers })
    }

    /// Addresses in derivation order.
    pub fn addresses(&self) -> Vec<Address> {
        self.signers.iter().map(|s| s.address()).collect()
    }

    /// (address, private key) pairs in derivation order.
    pub fn keys(&self) -> Vec<(Address, B256)> {
        self.signers
            .iter()
            .map(|s| (s.address(), s.to_bytes()))
            .collect()
    }

    fn signer(&self, address: &Address) -> DevnetResult<&PrivateKeySigner> {
        self.signers.iter().find(|s| s.address() == *address).ok_or_else(|| {
            DevnetError::TxRejected(format!(
                "unknown account {address}: only the dev accounts listed by eth_accounts are unlocked; sign the \
                 transaction yourself and use eth_sendRawTransaction"
            ))
        })
    }

    /// Signs a transaction for `from`.
    pub fn sign_transaction(
        &self,
        from: &Address,
        tx: TypedTransaction,
    ) -> DevnetResult<TxEnvelope> {
        let signer = self.signer(from)?;
        let signature = signer
            .sign_hash_sync(&tx.signature_hash())
            .map_err(|e| DevnetError::Internal(e.to_string()))?;
        Ok(tx.into_envelope(signature))
    }

    /// EIP-191 personal message signature (eth_sign and personal_sign), 65 bytes with v = 27 or 28.
    pub fn sign_message(&self, from: &Address, message: &[u8]) -> DevnetResult<Bytes> {
        let signature = self
            .signer(from)?
            .sign_message_sync(message)
            .map_err(|e| DevnetError::Internal(e.to_string()))?;
        Ok(Bytes::copy_from_slice(&signature.as_bytes()))
    }

    /// EIP-712 signature of typed data (eth_signTypedData_v4).
    pub fn sign_typed_data(&self, from: &Address, data: &TypedData) -> DevnetResult<Bytes> {
        let hash = data
            .eip712_signing_hash()
            .map_err(|e| DevnetError::InvalidParams(format!("typed data cannot be hashed: {e}")))?;
        let signature = self
            .signer(from)?
            .sign_hash_sync(&hash)
            .map_err(|e| DevnetError::Internal(e.to_string()))?;
        Ok(Bytes::copy_from_slice(&signature.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DEFAULT_MNEMONIC;

    #[test]
    fn derives_the_well_known_first_account() {
        let accounts = DevAccounts::from_mnemonic(DEFAULT_MNEMONIC, 2).unwrap();
        assert_eq!(
            accounts.addresses()[0],
            "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
                .parse::<Address>()
                .unwrap()
        );
        assert_eq!(
            accounts.keys()[0].1,
            "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
                .parse::<B256>()
                .unwrap()
        );
    }
}
