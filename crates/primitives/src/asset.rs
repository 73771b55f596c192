//! Asset ids and kinds.

use crate::{PrimitivesError, PrimitivesResult};
use alloy_primitives::U256;
use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};

/// A `u64` id the contracts assign (a `uint256` on chain), as its own type so one kind of id cannot be passed
/// for another. Serialized as the bare number.
macro_rules! chain_id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub u64);

        impl $name {
            /// The id as the contracts' `uint256`.
            pub fn to_u256(self) -> U256 {
                U256::from(self.0)
            }
        }

        impl From<$name> for U256 {
            fn from(id: $name) -> Self {
                id.to_u256()
            }
        }

        impl TryFrom<U256> for $name {
            type Error = PrimitivesError;
            fn try_from(value: U256) -> PrimitivesResult<Self> {
                u64::try_from(value)
                    .map($name)
                    .map_err(|_| PrimitivesError::IdTooLarge(value))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.trim().parse().map($name)
            }
        }
    };
}

chain_id_type!(
    /// The id of an asset: the ERC-721 token id the marketplace contract assigned (sequential from 1).
    AssetId
);
chain_id_type!(
    /// The id of a proposal for a new version of an asset (sequential from 1, across assets).
    ProposalId
);
chain_id_type!(
    /// The id of an evaluation attestation in the attestations contract (sequential from 1).
    AttestationId
);

/// What an asset holds. On chain: `Dataset` = 0, `Model` = 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AssetKind {
    /// A dataset.
    Dataset,
    /// A model.
    Model,
}

impl AssetKind {
    /// The on-chain enum value.
    pub fn to_u8(self) -> u8 {
        match self {
            Self::Dataset => 0,
            Self::Model => 1,
        }
    }
}

impl TryFrom<u8> for AssetKind {
    type Error = PrimitivesError;
    fn try_from(value: u8) -> PrimitivesResult<Self> {
        match value {
            0 => Ok(Self::Dataset),
            1 => Ok(Self::Model),
            other => Err(PrimitivesError::AssetKind(other.to_string())),
        }
    }
}

impl fmt::Display for AssetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Dataset => "dataset",
            Self::Model => "model",
        })
    }
}

impl FromStr for AssetKind {
    type Err = PrimitivesError;
    fn from_str(s: &str) -> PrimitivesResult<Self> {
        match s.to_ascii_lowercase().as_str() {
            "dataset" => Ok(Self::Dataset),
            "model" => Ok(Self::Model),
            _ => Err(PrimitivesError::AssetKind(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_round_trips_through_text_and_chain_value() {
        for kind in [AssetKind::Dataset, AssetKind::Model] {
            assert_eq!(kind.to_string().parse::<AssetKind>().unwrap(), kind);
            assert_eq!(AssetKind::try_from(kind.to_u8()).unwrap(), kind);
        }
        assert!(AssetKind::try_from(2).is_err());
        assert!("tokenizer".parse::<AssetKind>().is_err());
    }

    #[test]
    fn asset_id_converts_to_and_from_u256() {
        assert_eq!(AssetId::try_from(U256::from(7)).unwrap(), AssetId(7));
        let as_u256: U256 = AssetId(7).into();
        assert_eq!(as_u256, U256::from(7));
        assert!(AssetId::try_from(U256::MAX).is_err());
    }
}
