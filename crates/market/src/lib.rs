//! The Scal3ML marketplace SDK: every marketplace operation (publish, buy, withdraw, listings, shares,
//! proposals, attestations) over any alloy [`Provider`](alloy::providers::Provider), with errors that say what
//! to do, decimal amounts and tokens ([`parse_amount`], [`TokenInfo`]), and asset content ([`content`]:
//! preparing a file or folder for publishing, encrypted or not, and downloading it verified and resumable).
//! The CLI, the load test and the web server all go through it.
//!
//! It is not the indexer (search and history come from `scal3ml-index`), not the access gateway (key custody
//! is `scal3ml-access`) and holds no keys: the provider's wallet signs. See docs/sdk.md for a guide.

// MarketError carries the figures a user needs (amounts, symbols, accounts) by value so callers can match on
// them; it is returned only on the cold path, next to network round trips that dwarf moving it.
#![allow(clippy::result_large_err)]

mod amount;
pub mod content;
mod error;
mod market;
mod prepare;
pub mod publish;
mod types;

pub use amount::{TokenInfo, format_amount, parse_amount, parse_token};
pub use error::{MarketError, MarketResult, duration_text};
pub use market::{Market, MarketBuilder};
pub use prepare::PreparedCall;
pub use types::{
    AssetRecord, AttestRequest, Bought, BuyTerms, Deployment, Earning, LicenseExpiry, ProposalInfo,
    PublishRequest, Published, TxInfo, Withdrawal,
};

#[cfg(test)]
mod tests {
    #[test]
    fn the_guide_shows_the_example_as_it_is() {
        let guide = include_str!("../../../docs/sdk.md");
        let example = include_str!("../examples/quickstart.rs");
        assert!(
            guide.contains(example),
            "docs/sdk.md must hold crates/market/examples/quickstart.rs verbatim; copy it in again"
        );
    }
}
