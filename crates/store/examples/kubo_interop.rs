//! Drives [`KuboClient`] against a running node that serves the Kubo RPC API (in the interop suite: npm `ipfs`
//! 0.66, js-ipfs) and checks every call: add with our import settings gives the CIDs our importer gives, cat,
//! dag import of a CAR we wrote, pin add, id, and the generic block store suite
//! ([`scal3ml_store::testing::block_store_suite`], over block get/put/stat/rm) that every backend runs.
//!
//! Usage: `cargo run -p scal3ml-store --example kubo_interop -- http://127.0.0.1:5001`. Exits non-zero on the
//! first mismatch (a failed suite check panics with its name); prints `kubo interop: N passed, 0 failed` at the
//! end.

use std::error::Error;
use std::time::Duration;

use scal3ml_store::kubo::{AddOptions, KuboClient};
use scal3ml_store::testing::{Capabilities, NETWORK_BLOCK_LIMIT, block_store_suite, noise};
use scal3ml_store::{BlockStore, Cid, Codec, ImportOptions, MemStore, add_reader, car};

macro_rules! check {
    ($passed:ident, $cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+).into());
        }
        $passed += 1;
    };
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let api = std::env::args()
        .nth(1)
        .ok_or("usage: kubo_interop <api-url>")?;
    let kubo = KuboClient::new(&api).with_read_timeout(Duration::from_secs(2));
    let mut passed = 0u32;

    let id = kubo.id().await?;
    check!(passed, !id.id.is_empty(), "id: empty peer id");
    eprintln!("node {} ({})", id.id, id.agent_version);

    // add: the node's CIDs equal ours for the same settings, across chunk-count boundaries.
    let cases: [(usize, u8, usize); 7] = [
        (0, 0, 262_144),
        (1, 1, 262_144),
        (262_144, 0, 262_144),
        (262_145, 1, 262_144),
        (174 * 1024, 1, 1024),
        (2 * 174 * 1024 + 333, 0, 1024),
        (2 * 174 * 1024 + 333, 1, 1024),
    ];
    for (i, (size, version, chunk)) in cases.into_iter().enumerate() {
        let data = noise(size, i as u64);
        let ours = add_reader(
            &MemStore::new(),
            std::io::Cursor::new(data.clone()),
            ImportOptions::default()
                .with_cid_version(version)
                .with_chunk_size(chunk),
        )
        .await?
        .cid;
        let options = AddOptions {
            cid_version: version,
            chunker: format!("size-{chunk}"),
            ..AddOptions::default()
        };
        let added = kubo.add_bytes("file.bin", data.clone(), &options).await?;
        let theirs: Cid = added.last().ok_or("add: no answer")?.hash.parse()?;
        check!(
            passed,
            ours == theirs,
            "add {size} bytes v{version} chunk {chunk}: ours {ours}, node {theirs}"
        );

        let back = kubo.cat(&theirs, None, None).await?;
        check!(
            passed,
            back.as_ref() == data.as_slice(),
            "cat {theirs}: {} bytes back of {size}",
            back.len()
        );
        if size > 100 {
            let part = kubo.cat(&theirs, Some(50), Some(40)).await?;
            check!(
                passed,
                part.as_ref() == &data[50..90],
                "cat range of {theirs}"
            );
        }
    }

    // add from a file on disk, streamed.
    let dir = std::env::temp_dir().join(format!("kubo-interop-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("streamed.bin");
    let data = noise(700_000, 99);
    std::fs::write(&path, &data)?;
    let added = kubo.add_file(&path, &AddOptions::v1()).await?;
    let ours = add_reader(
        &MemStore::new(),
        std::io::Cursor::new(data),
        ImportOptions::kubo_v1(),
    )
    .await?
    .cid;
    check!(
        passed,
        added.last().map(|a| a.hash.clone()) == Some(ours.to_string()),
        "add_file: {added:?} vs {ours}"
    );
    std::fs::remove_dir_all(&dir)?;

    // only-hash stores nothing; wrap-with-directory answers with the directory last.
    let data = noise(3000, 42);
    let options = AddOptions {
        only_hash: true,
        ..AddOptions::v1()
    };
    let hashed: Cid = kubo
        .add_bytes("h.bin", data.clone(), &options)
        .await?
        .last()
        .ok_or("add")?
        .hash
        .parse()?;
    check!(
        passed,
        !kubo.has(&hashed).await?,
        "only-hash stored {hashed}"
    );
    let options = AddOptions {
        wrap_with_directory: true,
        ..AddOptions::v1()
    };
    let lines = kubo.add_bytes("w.bin", data, &options).await?;
    let wrapper: Cid = lines.last().ok_or("add")?.hash.parse()?;
    check!(
        passed,
        lines.len() == 2 && lines[1].name.is_empty() && wrapper.codec() == Codec::DagPb,
        "wrap: {lines:?}"
    );

    // The BlockStore contract over the node: the generic suite every backend runs (scal3ml_store::testing).
    // A node can store and delete blocks; the test has no way to corrupt its storage, so the suite reports
    // that check as not run. js-ipfs refuses any HTTP body over 1 MiB ("413 Payload Too Large: ... maximum
    // allowed: 1048576"), so a 1 MiB block plus its multipart framing cannot reach it (Kubo takes 1 MiB blocks):
    // it is declared with 1 KiB less, and the 1 MiB check is reported as not run. Set KUBO_INTEROP_FULL_BLOCKS=1
    // against a real Kubo node to run it.
    let mut caps = Capabilities::read_write();
    if std::env::var_os("KUBO_INTEROP_FULL_BLOCKS").is_none() {
        caps = caps.with_largest_block(NETWORK_BLOCK_LIMIT - 1024);
    }
    let report = block_store_suite(&kubo, caps).await;
    eprintln!("block store suite against {api}:\n{report}");
    passed += report.passed.len() as u32;

    // dag import of a CAR we wrote, then pin add and cat through the node.
    let source = MemStore::new();
    let data = noise(50_000, 11);
    let root = add_reader(
        &source,
        std::io::Cursor::new(data.clone()),
        ImportOptions::kubo_v1().with_chunk_size(4096),
    )
    .await?
    .cid;
    let mut car_bytes = Vec::new();
    car::export_car(&source, &[root], &mut car_bytes).await?;
    let roots = kubo.dag_import(car_bytes, true).await?;
    check!(
        passed,
        roots == vec![root],
        "dag import roots {roots:?}, expected [{root}]"
    );
    let pins = kubo.pin_add(&root, true).await?;
    check!(
        passed,
        pins.iter()
            .any(|p| p.parse::<Cid>().ok().map(|c| c.to_v1()) == Some(root.to_v1())),
        "pin add: {pins:?}"
    );
    let back = kubo.cat(&root, None, None).await?;
    check!(
        passed,
        back.as_ref() == data.as_slice(),
        "cat of the imported DAG"
    );

    println!("kubo interop: {passed} passed, 0 failed");
    Ok(())
}
