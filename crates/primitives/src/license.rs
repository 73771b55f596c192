//! Prices, payment tokens and license terms.

use alloy_primitives::{Address, U256};
use serde::{Deserialize, Serialize};

/// An amount in the smallest unit of its token (wei for ether).
pub type Amount = U256;

/// What a listing is paid in. On chain ether is the zero address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PaymentToken {
    /// Native ether.
    Eth,
    /// An ERC-20 token the marketplace admin allowed.
    Erc20(Address),
}

impl PaymentToken {
    /// The address the contracts use for this token (zero for ether).
    pub fn address(self) -> Address {
        match self {
            Self::Eth => Address::ZERO,
            Self::Erc20(a) => a,
        }
    }
}

impl From<Address> for PaymentToken {
    fn from(a: Address) -> Self {
        if a == Address::ZERO {
            Self::Eth
        } else {
            Self::Erc20(a)
        }
    }
}

/// How long a license lasts. On chain a duration of 0 seconds means perpetual.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LicenseDuration {
    /// Never expires.
    Perpetual,
    /// Expires this many seconds after purchase (renewals extend an unexpired license).
    Seconds(u64),
}

impl LicenseDuration {
    /// The contracts' encoding: 0 for perpetual.
    pub fn to_seconds(self) -> u64 {
        match self {
            Self::Perpetual => 0,
            Self::Seconds(s) => s,
        }
    }

    /// Decodes the contracts' encoding.
    pub fn from_seconds(seconds: u64) -> Self {
        if seconds == 0 {
            Self::Perpetual
        } else {
            Self::Seconds(seconds)
        }
    }
}

/// The terms of one listing: price, token and license duration. Price 0 makes the asset free for everyone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LicenseTerms {
    /// What the price is paid in.
    pub token: PaymentToken,
    /// Price in the token's smallest unit.
    pub price: Amount,
    /// How long a bought license lasts.
    pub duration: LicenseDuration,
}

impl LicenseTerms {
    /// Whether everyone may use the asset without buying.
    pub fn is_free(&self) -> bool {
        self.price.is_zero()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_encodings_round_trip() {
        assert_eq!(LicenseDuration::from_seconds(0), LicenseDuration::Perpetual);
        assert_eq!(LicenseDuration::from_seconds(60).to_seconds(), 60);
        assert_eq!(PaymentToken::from(Address::ZERO), PaymentToken::Eth);
        let a = Address::repeat_byte(7);
        assert_eq!(PaymentToken::from(a).address(), a);
    }

    #[test]
    fn price_zero_is_free() {
        let t = LicenseTerms {
            token: PaymentToken::Eth,
            price: U256::ZERO,
            duration: LicenseDuration::Perpetual,
        };
        assert!(t.is_free());
        assert!(
            !LicenseTerms {
                price: U256::from(1),
                ..t
            }
            .is_free()
        );
    }
}
