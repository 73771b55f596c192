//! The one check of a signature over a 32-byte hash (an EIP-712 signing hash): who signed it, and the one
//! spelling a signature is stored in. Every signed request and document (access requests, key deposits,
//! uploads, comments, hide decisions) is checked here.

use alloy_primitives::{Address, B256, Signature, hex};

/// The address that signed `hash`, from a 65-byte `0x`-hex signature (r, s, v); the error says what is wrong.
pub fn recover(signature: &str, hash: &B256) -> Result<Address, String> {
    parse(signature)?
        .recover_address_from_prehash(hash)
        .map_err(|e| format!("no address recovers from the signature ({e})"))
}

/// A signature as stored: lowercase `0x`-hex of r, s and v (27 or 28), so one signature has one spelling.
pub fn canonical(signature: &str) -> Result<String, String> {
    Ok(format!("0x{}", hex::encode(parse(signature)?.as_bytes())))
}

fn parse(signature: &str) -> Result<Signature, String> {
    signature
        .parse()
        .map_err(|e| format!("the signature is not 65 bytes of hex ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_not_a_signature_is_named() {
        let hash = B256::repeat_byte(7);
        assert!(recover("0x1234", &hash).unwrap_err().contains("65 bytes"));
        assert!(canonical("nope").unwrap_err().contains("65 bytes"));
        let zeros = format!("0x{}", "00".repeat(65));
        assert!(recover(&zeros, &hash).is_err());
    }
}
