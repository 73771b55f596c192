//! Private keys from text.

use alloy_primitives::B256;
use alloy_signer_local::PrivateKeySigner;

use crate::{AccountsError, AccountsResult};

/// The environment variable a private key is read from unless another is named.
pub const DEFAULT_KEY_ENV: &str = "SCAL3ML_PRIVATE_KEY";

/// A private key from text: 64 hex digits, with or without `0x`. The error never repeats the text.
pub fn parse_private_key(text: &str) -> AccountsResult<PrivateKeySigner> {
    let text = text.trim();
    let digits = text.strip_prefix("0x").unwrap_or(text);
    let all_hex = digits.bytes().all(|b| b.is_ascii_hexdigit());
    if digits.len() != 64 || !all_hex {
        return Err(AccountsError::KeyFormat {
            chars: text.chars().count(),
            not_hex: if all_hex { "" } else { ", not all hex" },
        });
    }
    let key: B256 = digits.parse().expect("64 hex digits are 32 bytes");
    PrivateKeySigner::from_bytes(&key).map_err(|_| AccountsError::KeyOutOfRange)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_private_key_is_refused_without_repeating_it() {
        let secret = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff8g";
        let err = format!("{:#}", parse_private_key(secret).unwrap_err());
        assert!(!err.contains("ac0974"), "{err}");
        assert!(
            err.contains("64 hex digits") && err.contains("not all hex"),
            "{err}"
        );
        assert!(
            parse_private_key(&"0".repeat(64))
                .unwrap_err()
                .to_string()
                .contains("not a valid secp256k1")
        );
    }
}
