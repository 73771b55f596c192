//! The results table: one row per measure, one column per node, the devnet's ratios and the targets.

use std::{fmt::Write, time::Duration};

use crate::nodes::NodeKind;

/// What one node scored.
#[derive(Clone, Debug)]
pub(crate) struct Measured {
    pub(crate) transfers_per_s: f64,
    pub(crate) contract_tx_per_s: f64,
    pub(crate) eth_calls_per_s: f64,
    pub(crate) startup: Duration,
    pub(crate) rss_after_transfers: u64,
}

impl Measured {
    /// Each field's median over several runs (the upper middle one for an even count).
    pub(crate) fn median(runs: &[Self]) -> Self {
        fn mid<T: Copy + PartialOrd>(mut v: Vec<T>) -> T {
            v.sort_by(|a, b| a.partial_cmp(b).expect("figures are never NaN"));
            v[v.len() / 2]
        }
        Self {
            transfers_per_s: mid(runs.iter().map(|m| m.transfers_per_s).collect()),
            contract_tx_per_s: mid(runs.iter().map(|m| m.contract_tx_per_s).collect()),
            eth_calls_per_s: mid(runs.iter().map(|m| m.eth_calls_per_s).collect()),
            startup: mid(runs.iter().map(|m| m.startup).collect()),
            rss_after_transfers: mid(runs.iter().map(|m| m.rss_after_transfers).collect()),
        }
    }
}

struct Row {
    name: &'static str,
    value: fn(&Measured) -> f64,
    unit: fn(f64) -> String,
    /// The target: on the ratio ours / hardhat, or on our absolute value.
    target: Target,
}

enum Target {
    None,
    RatioToHardhatAtLeast(f64),
    RatioToHardhatAtMost(f64),
    BelowAbsolute(f64, &'static str),
}

fn rows() -> Vec<Row> {
    let per_s = |v: f64| format!("{v:.0}/s");
    vec![
        Row {
            name: "(a) ETH transfers, tx/s",
            value: |m| m.transfers_per_s,
            unit: per_s,
            target: Target::RatioToHardhatAtLeast(10.0),
        },
        Row {
            name: "(b) contract calls, tx/s",
            value: |m| m.contract_tx_per_s,
            unit: per_s,
            target: Target::RatioToHardhatAtLeast(10.0),
        },
        Row {
            name: "(c) eth_call, calls/s",
            value: |m| m.eth_calls_per_s,
            unit: per_s,
            target: Target::None,
        },
        Row {
            name: "(d) start-up to eth_chainId",
            value: |m| m.startup.as_secs_f64() * 1000.0,
            unit: |v| format!("{v:.0} ms"),
            target: Target::BelowAbsolute(100.0, "< 100 ms"),
        },
        Row {
            name: "(e) resident memory after (a)",
            value: |m| m.rss_after_transfers as f64 / (1024.0 * 1024.0),
            unit: |v| format!("{v:.0} MiB"),
            target: Target::RatioToHardhatAtMost(0.5),
        },
    ]
}

/// A Markdown table; ratio columns and the target check appear when the devnet and that peer were measured.
pub(crate) fn table(results: &[(NodeKind, Measured)], workload: &str) -> String {
    let find = |kind| results.iter().find(|(k, _)| *k == kind).map(|(_, m)| m);
    let ours = find(NodeKind::Devnet);
    let hardhat = find(NodeKind::Hardhat);
    let ganache = find(NodeKind::Ganache);

    let mut out = String::new();
    let _ = writeln!(out, "Workload: {workload}.\n");
    let mut header = vec!["measure".to_owned()];
    header.extend(results.iter().map(|(k, _)| k.label().to_owned()));
    if ours.is_some() && hardhat.is_some() {
        header.push("ours / hardhat".into());
    }
    if ours.is_some() && ganache.is_some() {
        header.push("ours / ganache".into());
    }
    header.push("target".into());
    header.push("met".into());
    let _ = writeln!(out, "| {} |", header.join(" | "));
    let _ = writeln!(out, "|{}", " --- |".repeat(header.len()));

    for row in rows() {
        let mut cells = vec![row.name.to_owned()];
        cells.extend(results.iter().map(|(_, m)| (row.unit)((row.value)(m))));
        let ratio = |peer: Option<&Measured>| match (ours, peer) {
            (Some(o), Some(p)) => Some((row.value)(o) / (row.value)(p)),
            _ => None,
        };
        if ours.is_some() && hardhat.is_some() {
            cells.push(format!("{:.2}x", ratio(hardhat).unwrap_or(f64::NAN)));
        }
        if ours.is_some() && ganache.is_some() {
            cells.push(format!("{:.2}x", ratio(ganache).unwrap_or(f64::NAN)));
        }
        let (target, met) = match row.target {
            Target::None => ("-".to_owned(), None),
            Target::RatioToHardhatAtLeast(x) => {
                (format!(">= {x}x hardhat"), ratio(hardhat).map(|r| r >= x))
            }
            Target::RatioToHardhatAtMost(x) => {
                (format!("<= {x}x hardhat"), ratio(hardhat).map(|r| r <= x))
            }
            Target::BelowAbsolute(limit, text) => {
                (text.to_owned(), ours.map(|o| (row.value)(o) < limit))
            }
        };
        cells.push(target);
        cells.push(match met {
            Some(true) => "yes".into(),
            Some(false) => "NO".into(),
            None => "-".into(),
        });
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(tx: f64, ms: u64, mib: u64) -> Measured {
        Measured {
            transfers_per_s: tx,
            contract_tx_per_s: tx / 2.0,
            eth_calls_per_s: tx * 3.0,
            startup: Duration::from_millis(ms),
            rss_after_transfers: mib << 20,
        }
    }

    #[test]
    fn ratios_and_targets_follow_the_figures() {
        let table = table(
            &[
                (NodeKind::Devnet, m(2000.0, 40, 50)),
                (NodeKind::Hardhat, m(100.0, 3000, 400)),
            ],
            "test",
        );
        let transfers = table.lines().find(|l| l.starts_with("| (a)")).unwrap();
        assert!(
            transfers.contains("| 2000/s | 100/s | 20.00x | >= 10x hardhat | yes |"),
            "{transfers}"
        );
        let startup = table.lines().find(|l| l.starts_with("| (d)")).unwrap();
        assert!(
            startup.contains("| 40 ms | 3000 ms | 0.01x | < 100 ms | yes |"),
            "{startup}"
        );
        let memory = table.lines().find(|l| l.starts_with("| (e)")).unwrap();
        assert!(
            memory.contains("| 50 MiB | 400 MiB | 0.12x | <= 0.5x hardhat | yes |"),
            "{memory}"
        );
    }

    #[test]
    fn median_is_taken_per_field() {
        let runs = [m(300.0, 90, 10), m(100.0, 30, 30), m(200.0, 60, 20)];
        let med = Measured::median(&runs);
        assert_eq!(med.transfers_per_s, 200.0);
        assert_eq!(med.startup, Duration::from_millis(60));
        assert_eq!(med.rss_after_transfers, 20 << 20);
    }

    #[test]
    fn a_missed_target_says_no() {
        let table = table(
            &[
                (NodeKind::Devnet, m(500.0, 150, 300)),
                (NodeKind::Hardhat, m(100.0, 3000, 400)),
            ],
            "t",
        );
        assert!(
            table
                .lines()
                .find(|l| l.starts_with("| (a)"))
                .unwrap()
                .ends_with("| NO |")
        );
        assert!(
            table
                .lines()
                .find(|l| l.starts_with("| (d)"))
                .unwrap()
                .ends_with("| NO |")
        );
        assert!(
            table
                .lines()
                .find(|l| l.starts_with("| (e)"))
                .unwrap()
                .ends_with("| NO |")
        );
    }
}
