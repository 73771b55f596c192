//! Gas benchmark of the Scal3ML contracts on an in-process revm chain (the `test-utils` harness of
//! `scal3ml-contracts`), printed as a markdown table beside the peers' published figures and our targets.
//!
//! Run: `cargo run --release -p scal3ml-bench-gas` (add `-- --write bench/RESULTS.md` to replace the
//! `## Contracts: gas` section there). Not a test: it never fails on a number, it reports it.

use alloy_primitives::{Address, Bytes, U256, aliases::U96, keccak256};
use alloy_sol_types::SolCall;
use scal3ml_contracts::{
    Attestations, Marketplace,
    test_utils::{Contracts, TestChain},
};
use std::fmt::Write as _;

const ETH: Address = Address::ZERO;
const PRICE: u128 = 10_000_000_000_000_000; // 0.01 ether
const DURATION: u64 = 30 * 24 * 3600;

fn cid(seed: u8) -> Bytes {
    let mut b = vec![0x01, 0x55, 0x12, 0x20];
    b.extend([seed; 32]);
    b.into()
}

struct Bench {
    chain: TestChain,
    c: Contracts,
    fresh: u64,
}

impl Bench {
    fn new() -> Self {
        let mut chain = TestChain::new(1);
        let c = chain.deploy_all();
        Self { chain, c, fresh: 0 }
    }

    /// A new funded account that has never sent a transaction or held anything.
    fn account(&mut self) -> Address {
        self.fresh += 1;
        let a = Address::left_padding_from(&(0xbe00_0000_0000u64 + self.fresh).to_be_bytes());
        self.chain.fund(a, U256::from(10u128.pow(24)));
        a
    }

    fn send<C: SolCall>(&mut self, from: Address, value: u128, call: C) -> (C::Return, u64) {
        let to = if std::any::type_name::<C>().contains("Attestations") {
            self.c.attestations
        } else {
            self.c.marketplace
        };
        let (ret, receipt) = self
            .chain
            .send(from, to, U256::from(value), &call)
            .unwrap_or_else(|e| panic!("{} failed: {e:?}", std::any::type_name::<C>()));
        (ret, receipt.gas_used)
    }

    fn params(
        &mut self,
        owner: Address,
        holders: usize,
        parents: &[U256],
    ) -> Marketplace::PublishParams {
        let mut shareholders = vec![Marketplace::Shareholder {
            account: owner,
            shares: U96::from(100),
        }];
        for _ in 1..holders {
            let account = self.account();
            shareholders.push(Marketplace::Shareholder {
                account,
                shares: U96::from(100),
            });
        }
        Marketplace::PublishParams {
            kind: 1,
            contentCid: cid(1),
            metadataCid: cid(2),
            encrypted: true,
            gatewayUrl: "https://gateway.example.org".into(),
            parents: parents
                .iter()
                .map(|&id| Marketplace::ParentRef {
                    assetId: id,
                    royaltyBps: 500,
                })
                .collect(),
            shareholders,
            listing: Marketplace::ListingTerms {
                token: ETH,
                price: PRICE,
                duration: DURATION,
            },
        }
    }

    /// Publishes from a fresh account and returns (asset id, gas).
    fn publish(&mut self, holders: usize, parents: &[U256]) -> (U256, u64) {
        let owner = self.account();
        let p = self.params(owner, holders, parents);
        self.send(owner, 0, Marketplace::publishCall { p })
    }

    /// Buys on the terms every asset here is published with: the price, 30 days, the card `cid(2)`.
    fn buy(&mut self, buyer: Address, asset: U256) -> u64 {
        self.send(
            buyer,
            PRICE,
            Marketplace::buyCall {
                assetId: asset,
                token: ETH,
                maxPrice: U256::from(PRICE),
                minDuration: DURATION,
                metadataHash: keccak256(cid(2)),
            },
        )
        .1
    }
}

struct Row {
    op: String,
    gas: u64,
    peer: &'static str,
    target: Option<u64>,
}

fn main() {
    let write = std::env::args().skip_while(|a| a != "--write").nth(1);
    let mut b = Bench::new();
    let mut rows: Vec<Row> = Vec::new();
    let mut row = |op: String, gas: u64, peer: &'static str, target: Option<u64>| {
        rows.push(Row {
            op,
            gas,
            peer,
            target,
        })
    };

    // Publish: shareholders x parents. "0 shareholders" is refused by the contract (an asset needs a holder),
    // so the smallest case is the publisher alone.
    let roots: Vec<U256> = (0..4).map(|_| b.publish(1, &[]).0).collect();
    for holders in [1usize, 2, 10] {
        for parents in [0usize, 1, 4] {
            let (_, gas) = b.publish(holders, &roots[..parents]);
            let peer = match (holders, parents) {
                (2, 0) => {
                    "0xSplits createSplit (2 recipients): 100,741; Ocean publish path: 1,175,363"
                }
                (10, 0) => "0xSplits createSplit (10 recipients): 110,802",
                _ => "",
            };
            let target = (holders == 2).then_some(250_000);
            row(
                format!("publish, {holders} shareholder(s), {parents} parent(s)"),
                gas,
                peer,
                target,
            );
        }
    }

    // Buys against the number of shareholders.
    for holders in [2usize, 10, 100, 1000] {
        let (asset, _) = b.publish(holders, &[]);
        let first = b.account();
        let gas_first = b.buy(first, asset);
        let second = b.account();
        let gas_next = b.buy(second, asset);
        let gas_renew = b.buy(second, asset);
        let peer = match holders {
            2 => "0xSplits distributeETH (2): 91,590; Ocean startOrder: 111,803",
            10 => "0xSplits distributeETH (10): 281,069",
            100 => "0xSplits distributeETH (100): 2,412,505",
            _ => "",
        };
        row(
            format!("first buy of an asset, {holders} shareholders"),
            gas_first,
            peer,
            Some(90_000),
        );
        row(
            format!("buy by another new buyer, {holders} shareholders"),
            gas_next,
            "",
            Some(90_000),
        );
        row(
            format!("renewal by the same buyer, {holders} shareholders"),
            gas_renew,
            "",
            None,
        );
    }

    // Buys through 1..4 levels of upstream (a chain: each asset has the previous one as parent).
    let mut parent = b.publish(2, &[]).0;
    for depth in 1..=4 {
        let (child, _) = b.publish(2, &[parent]);
        let buyer = b.account();
        let gas_first = b.buy(buyer, child);
        let buyer = b.account();
        let gas_next = b.buy(buyer, child);
        row(
            format!("first buy with {depth} upstream level(s)"),
            gas_first,
            "",
            None,
        );
        row(
            format!("next buy with {depth} upstream level(s)"),
            gas_next,
            "",
            None,
        );
        parent = child;
    }

    // Withdraw, share transfer, proposals, attestations.
    let owner = b.account();
    let holder = b.account();
    let mut p = b.params(owner, 1, &[]);
    p.shareholders.push(Marketplace::Shareholder {
        account: holder,
        shares: U96::from(100),
    });
    let (asset, _) = b.send(owner, 0, Marketplace::publishCall { p });
    let buyer = b.account();
    b.buy(buyer, asset);
    let (_, gas) = b.send(
        holder,
        0,
        Marketplace::withdrawCall {
            assetId: asset,
            token: ETH,
        },
    );
    row(
        "withdraw (ether, first withdrawal)".into(),
        gas,
        "",
        Some(45_000),
    );
    let buyer = b.account();
    b.buy(buyer, asset);
    let (_, gas) = b.send(
        holder,
        0,
        Marketplace::withdrawCall {
            assetId: asset,
            token: ETH,
        },
    );
    row(
        "withdraw (ether, later withdrawal)".into(),
        gas,
        "",
        Some(45_000),
    );
    let newcomer = b.account();
    let (_, gas) = b.send(
        holder,
        0,
        Marketplace::transferSharesCall {
            assetId: asset,
            to: newcomer,
            amount: U96::from(10),
        },
    );
    row("share transfer to a new holder".into(), gas, "", None);
    let (_, gas) = b.send(
        holder,
        0,
        Marketplace::transferSharesCall {
            assetId: asset,
            to: newcomer,
            amount: U96::from(10),
        },
    );
    row(
        "share transfer, later in the same pair".into(),
        gas,
        "",
        None,
    );

    let contributor = b.account();
    let (proposal, gas) = b.send(
        contributor,
        0,
        Marketplace::proposeCall {
            assetId: asset,
            contentCid: cid(3),
            metadataCid: cid(4),
            requestedShares: U96::from(20),
            descriptionCid: cid(5),
        },
    );
    row("propose".into(), gas, "", None);
    let (_, gas) = b.send(
        owner,
        0,
        Marketplace::voteCall {
            proposalId: proposal,
            support: true,
        },
    );
    row("vote".into(), gas, "", None);
    b.send(
        holder,
        0,
        Marketplace::voteCall {
            proposalId: proposal,
            support: true,
        },
    );
    let (_, gas) = b.send(
        contributor,
        0,
        Marketplace::executeCall {
            proposalId: proposal,
        },
    );
    row(
        "execute (append version, mint shares)".into(),
        gas,
        "",
        None,
    );

    let mut p = b.params(owner, 1, &[]);
    p.kind = 0;
    let (dataset, _) = b.send(owner, 0, Marketplace::publishCall { p });
    let p = b.params(owner, 1, &[]);
    let (model, _) = b.send(owner, 0, Marketplace::publishCall { p });
    let attester = b.account();
    let attest = Attestations::attestCall {
        modelAssetId: model,
        modelVersion: U256::ZERO,
        datasetAssetId: dataset,
        datasetVersion: U256::ZERO,
        metric: "accuracy".into(),
        value: alloy_primitives::I256::try_from(912_345).unwrap(),
        decimals: 6,
        reportCid: cid(6),
    };
    let (id, gas) = b.send(attester, 0, attest);
    row("attest".into(), gas, "", None);
    let reviewer = b.account();
    let (_, gas) = b.send(
        reviewer,
        0,
        Attestations::endorseCall {
            attestationId: id,
            reportCid: cid(7),
        },
    );
    row("endorse".into(), gas, "", None);

    let mut out = String::new();
    let _ = writeln!(out, "## Contracts: gas\n");
    let _ = writeln!(
        out,
        "Made by `cargo run --release -p scal3ml-bench-gas -- --write bench/RESULTS.md` (revm 43, spec OSAKA, \
         contracts/out as committed: solc 0.8.30, evmVersion shanghai, optimizer 200 runs). Gas is what the sender \
         pays: 21,000 intrinsic + calldata + execution - refunds. Every account is fresh (its first transaction, \
         cold storage), so each figure is the worst case of its row. Peers' figures are as they published them, \
         measured on their own setups. Targets are from issue 3.\n"
    );
    let _ = writeln!(out, "| operation | gas | target | peer (published) |");
    let _ = writeln!(out, "|---|---:|---|---|");
    let mut missed = 0;
    for r in &rows {
        let target = match r.target {
            Some(t) if r.gas <= t => format!("<= {} ok", group(t)),
            Some(t) => {
                missed += 1;
                format!("<= {} **MISSED**", group(t))
            }
            None => String::new(),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            r.op,
            group(r.gas),
            target,
            r.peer
        );
    }
    let _ = writeln!(
        out,
        "\nA first buy costs the same with 2 or 1000 shareholders (revenue goes into a per-share accumulator; \
         each holder withdraws alone), where 0xSplits' distribution grows linearly with recipients. \
         Targets missed: {missed}."
    );
    print!("{out}");
    if let Some(path) = write {
        let old = std::fs::read_to_string(&path).unwrap_or_else(|_| "# Benchmark results\n".into());
        let new = replace_section(&old, "## Contracts: gas", &out);
        std::fs::write(&path, new).unwrap_or_else(|e| panic!("cannot write {path}: {e}"));
        eprintln!("wrote the section to {path}");
    }
}

fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Replaces the section starting at `heading` (up to the next `## ` heading) or appends it.
fn replace_section(doc: &str, heading: &str, section: &str) -> String {
    match doc.find(heading) {
        Some(start) => {
            let rest = &doc[start + heading.len()..];
            let end = rest
                .find("\n## ")
                .map(|i| start + heading.len() + i + 1)
                .unwrap_or(doc.len());
            format!(
                "{}{}{}",
                &doc[..start],
                section.trim_end().to_string() + "\n\n",
                &doc[end..]
            )
            .trim_end()
            .to_string()
                + "\n"
        }
        None => format!("{}\n\n{}", doc.trim_end(), section),
    }
}
