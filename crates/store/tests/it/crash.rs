//! A writer killed with SIGKILL mid-import leaves only whole, verifiable blocks: the test re-runs this test
//! binary as the writer, kills it while it writes, then checks every block the store shows.

use std::io::Cursor;
use std::process::Command;
use std::time::{Duration, Instant};

use scal3ml_store::{BlockStore, FsStore, ImportOptions, PinStore, add_reader};

const CHILD_ENV: &str = "SCAL3ML_STORE_CRASH_CHILD";

#[tokio::test]
async fn blocks_are_whole_or_absent_after_kill_9() {
    if let Some(dir) = std::env::var_os(CHILD_ENV) {
        // The writer: import distinct files forever until killed.
        let store = FsStore::open(dir).unwrap();
        for round in 0u64.. {
            let data: Vec<u8> = (0..2_000_000u64)
                .map(|i| (i.wrapping_mul(round + 7) >> 3) as u8)
                .collect();
            let opts = ImportOptions::kubo_v1().with_chunk_size(65_536);
            add_reader(&store, Cursor::new(data), opts).await.unwrap();
        }
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "crash::blocks_are_whole_or_absent_after_kill_9",
            "--nocapture",
        ])
        .env(CHILD_ENV, dir.path())
        .spawn()
        .unwrap();
    // Let it write a while (at least a few dozen blocks), then SIGKILL it.
    let started = Instant::now();
    loop {
        std::thread::sleep(Duration::from_millis(50));
        // count block files directly: opening the store here would clear the writer's temp files
        let count: usize = std::fs::read_dir(dir.path().join("blocks"))
            .map(|shards| {
                shards
                    .flatten()
                    .filter_map(|s| std::fs::read_dir(s.path()).ok())
                    .map(|d| d.count())
                    .sum()
            })
            .unwrap_or(0);
        if count >= 40 || started.elapsed() > Duration::from_secs(60) {
            break;
        }
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();

    let store = FsStore::open(dir.path()).unwrap();
    let blocks = store.list().await.unwrap();
    assert!(
        blocks.len() >= 40,
        "the writer wrote only {} blocks in 60 s",
        blocks.len()
    );
    for (cid, _) in &blocks {
        store
            .get(cid)
            .await
            .unwrap_or_else(|e| panic!("block {cid} after kill -9: {e}"));
    }
    assert_eq!(
        std::fs::read_dir(dir.path().join("tmp")).unwrap().count(),
        0,
        "open clears half-written files"
    );
}
