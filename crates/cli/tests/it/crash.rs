//! `kill -9` of `scal3ml dev` in the middle of a burst of key deposits, then a restart: the gateway opens its
//! files, and every key whose publish was acknowledged is still released to a buyer.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::{DevNode, run};

const BUYER: usize = 4;

/// An asset the node acknowledged, and the bytes published under it.
type Published = (u64, Vec<u8>);

// Regression: a deposit torn by a crash stayed at the end of keys.jsonl and the next deposit was glued onto it:
// acknowledged, then lost at the next start (a buyer paid and got `no_key`).
#[test]
fn regression_kill_9_during_deposits_loses_no_acknowledged_key() {
    let work = tempfile::tempdir().unwrap();
    let node = DevNode::start(&work.path().join("node"));
    let url = node.server.url.clone();
    // (asset, the plaintext it was published with), as the node acknowledged them
    let acknowledged: Arc<Mutex<Vec<Published>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (1..=3usize)
        .map(|account| {
            let (url, acknowledged, stop) = (url.clone(), acknowledged.clone(), stop.clone());
            let root = work.path().to_path_buf();
            std::thread::spawn(move || {
                for i in 0.. {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let dir = root.join(format!("asset-{account}-{i}"));
                    std::fs::create_dir_all(&dir).unwrap();
                    let bytes: Vec<u8> = (0..20_000u32)
                        .map(|n| {
                            (n.wrapping_mul(2_654_435_761) >> 7) as u8 ^ (account * 31 + i) as u8
                        })
                        .collect();
                    std::fs::write(dir.join("data.bin"), &bytes).unwrap();
                    let out = run(
                        &url,
                        &[
                            "publish",
                            dir.to_str().unwrap(),
                            "--kind",
                            "dataset",
                            "--name",
                            &format!("crash {account} {i}"),
                            "--license",
                            "MIT",
                            "--description",
                            "published while the node is killed",
                            "--price",
                            "0.001",
                            "--dev-account",
                            &account.to_string(),
                            "--json",
                        ],
                    );
                    if !out.status.success() {
                        // The node was killed under it: not acknowledged.
                        return;
                    }
                    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
                    acknowledged
                        .lock()
                        .unwrap()
                        .push((v["asset"].as_u64().unwrap(), bytes));
                }
            })
        })
        .collect();
    let started = Instant::now();
    while acknowledged.lock().unwrap().len() < 4 {
        assert!(
            started.elapsed() < Duration::from_secs(240),
            "no publishes were acknowledged"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Mid-burst: the workers are depositing and publishing.
    let node = node.crash_and_restart();
    stop.store(true, Ordering::SeqCst);
    for w in workers {
        w.join().unwrap();
    }
    let url = node.server.url.clone();
    let acknowledged = acknowledged.lock().unwrap().clone();
    for (asset, bytes) in &acknowledged {
        let asset = asset.to_string();
        let buy = run(
            &url,
            &["buy", &asset, "--dev-account", &BUYER.to_string(), "--json"],
        );
        assert!(
            buy.status.success(),
            "buying {asset}: {}",
            String::from_utf8_lossy(&buy.stderr)
        );
        let dest = work.path().join(format!("got-{asset}"));
        let get = run(
            &url,
            &[
                "get",
                &asset,
                "-o",
                dest.to_str().unwrap(),
                "--dev-account",
                &BUYER.to_string(),
                "--json",
            ],
        );
        assert!(
            get.status.success(),
            "the key of acknowledged asset {asset} was lost: {}",
            String::from_utf8_lossy(&get.stderr)
        );
        assert_eq!(&std::fs::read(dest.join("data.bin")).unwrap(), bytes);
    }
}
