//! Bindings generated at compile time from the committed artifacts in `contracts/out`. Each contract sits in
//! its own module because the attestations ABI names the marketplace's types, which `sol!` turns into a
//! `Marketplace` item of its own.
#![allow(missing_docs, unreachable_pub, clippy::too_many_arguments)]

/// The marketplace contract.
pub mod marketplace {
    alloy::sol!(
        #[sol(rpc, all_derives)]
        Marketplace,
        "../../contracts/out/Marketplace.json"
    );
}

/// The attestations contract.
pub mod attestations {
    alloy::sol!(
        #[sol(rpc, all_derives)]
        Attestations,
        "../../contracts/out/Attestations.json"
    );
}

/// The test ERC-20 (tests and the dev chain only).
pub mod test_token {
    alloy::sol!(
        #[sol(rpc, all_derives)]
        TestToken,
        "../../contracts/out/TestToken.json"
    );
}

/// A misbehaving contract account (tests only): refuses ether or re-enters on receipt.
pub mod probe_account {
    alloy::sol!(
        #[sol(rpc, all_derives)]
        ProbeAccount,
        "../../contracts/out/ProbeAccount.json"
    );
}

/// A fee-on-transfer ERC-20 (tests only): burns 1 % of every transfer.
pub mod fee_token {
    alloy::sol!(
        #[sol(rpc, all_derives)]
        FeeToken,
        "../../contracts/out/FeeToken.json"
    );
}

pub use attestations::Attestations;
pub use fee_token::FeeToken;
pub use marketplace::Marketplace;
pub use probe_account::ProbeAccount;
pub use test_token::TestToken;
