//! Content: prepare a file or folder (encrypted or not), download it back verified, resumably, refusing
//! corrupt blocks and hashes that do not match the card.

use bytes::Bytes;
use scal3ml_market::{
    MarketError,
    content::{self, Downloaded, FileEntry, Prepared, Progress},
};
use scal3ml_store::{
    BlockStore, MemStore, add_path,
    crypt::FileKey,
    export,
    gateway::{GatewayClient, router},
    testing::noise,
};
use sha2::{Digest, Sha256};
use std::{fs, path::Path, sync::Arc};

fn sha_hex(data: &[u8]) -> String {
    alloy::hex::encode(Sha256::digest(data))
}

/// A folder with a nested subfolder; the big file spans several chunks and encryption segments.
fn sample_folder(root: &Path) -> Vec<(&'static str, Vec<u8>)> {
    let files = vec![
        ("README.md", b"# A dataset\n".to_vec()),
        ("data/train.csv", noise(700_000, 1)),
        ("data/test.csv", noise(3_000, 2)),
        ("empty.txt", Vec::new()),
    ];
    for (path, data) in &files {
        let p = root.join(path);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, data).unwrap();
    }
    files
}

async fn get(
    source: &dyn BlockStore,
    prepared: &Prepared,
    key: Option<&FileKey>,
    dest: &Path,
) -> Result<Downloaded, MarketError> {
    let mut last = None;
    let mut progress = |p: Progress<'_>| last = Some((p.total_done, p.total_size));
    let out = content::download(
        source,
        &prepared.root,
        key,
        &prepared.files,
        dest,
        &mut progress,
    )
    .await;
    if out.is_ok() {
        let (done, total) = last.expect("progress was reported");
        assert_eq!(done, total, "progress ends at the total");
    }
    out
}

#[tokio::test]
async fn a_folder_round_trips_with_kubo_cids_when_plain() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("dataset");
    let files = sample_folder(&src);
    let store = MemStore::new();
    let prepared = content::prepare(&store, &src, None).await.unwrap();

    // The store's importer reproduces Kubo's CIDs (its golden vectors); the prepared root must be the same.
    let reference = add_path(&MemStore::new(), &src, content::import_options(), false)
        .await
        .unwrap();
    assert_eq!(prepared.root, reference.cid);
    assert!(!prepared.single_file);
    let mut paths: Vec<_> = files.iter().map(|(p, _)| p.to_string()).collect();
    paths.sort();
    assert_eq!(
        prepared
            .files
            .iter()
            .map(|f| f.path.clone())
            .collect::<Vec<_>>(),
        paths
    );
    for (path, data) in &files {
        let entry = prepared.files.iter().find(|f| f.path == *path).unwrap();
        assert_eq!(entry.size, data.len() as u64, "{path}");
        assert_eq!(entry.sha256, sha_hex(data), "{path}");
        assert_eq!(
            export::cat_to_vec(&store, &entry.cid, u64::MAX)
                .await
                .unwrap(),
            *data
        );
    }

    let dest = dir.path().join("out");
    let done = get(&store, &prepared, None, &dest).await.unwrap();
    assert_eq!(done.written.len(), files.len());
    for (path, data) in &files {
        assert_eq!(fs::read(dest.join(path)).unwrap(), *data, "{path}");
    }
}

#[tokio::test]
async fn an_encrypted_folder_round_trips_through_a_gateway_and_hides_the_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("model");
    let files = sample_folder(&src);
    let store = Arc::new(MemStore::new());
    let key = FileKey::generate().unwrap();
    let prepared = content::prepare(store.as_ref(), &src, Some(&key))
        .await
        .unwrap();

    let plain = add_path(&MemStore::new(), &src, content::import_options(), false)
        .await
        .unwrap();
    assert_ne!(prepared.root, plain.cid, "encrypted content has other CIDs");
    let train = prepared
        .files
        .iter()
        .find(|f| f.path == "data/train.csv")
        .unwrap();
    assert_eq!(
        train.sha256,
        sha_hex(&files[1].1),
        "the card hashes the plaintext"
    );
    let stored = export::cat_to_vec(store.as_ref(), &train.cid, u64::MAX)
        .await
        .unwrap();
    assert!(stored.len() > files[1].1.len());
    assert!(
        !stored.windows(64).any(|w| w == &files[1].1[1000..1064]),
        "plaintext leaked into the stored bytes"
    );

    // Fetch through a trustless gateway over HTTP, as a buyer would.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let served: Arc<dyn BlockStore> = store.clone();
    tokio::spawn(async move { axum::serve(listener, router(served)).await.unwrap() });
    let gateway = GatewayClient::new(format!("http://{addr}"));

    let dest = dir.path().join("out");
    get(&gateway, &prepared, Some(&key), &dest).await.unwrap();
    for (path, data) in &files {
        assert_eq!(fs::read(dest.join(path)).unwrap(), *data, "{path}");
    }

    // The wrong key opens nothing and writes nothing.
    let other = dir.path().join("wrong-key");
    let err = get(
        &gateway,
        &prepared,
        Some(&FileKey::generate().unwrap()),
        &other,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, MarketError::Store(_)), "{err}");
    assert!(!other.join("README.md").exists());
}

#[tokio::test]
async fn a_single_file_is_written_as_a_file_encrypted_or_not() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("model.safetensors");
    let data = noise(300_000, 9);
    fs::write(&src, &data).unwrap();
    for key in [None, Some(FileKey::generate().unwrap())] {
        let store = MemStore::new();
        let prepared = content::prepare(&store, &src, key.as_ref()).await.unwrap();
        assert!(prepared.single_file);
        assert_eq!(prepared.files.len(), 1);
        assert_eq!(prepared.files[0].path, "model.safetensors");
        assert_eq!(prepared.files[0].cid, prepared.root);
        assert_eq!(prepared.files[0].size, data.len() as u64);
        let dest = dir.path().join(format!("got-{}", key.is_some()));
        get(&store, &prepared, key.as_ref(), &dest).await.unwrap();
        assert_eq!(
            fs::read(&dest).unwrap(),
            data,
            "encrypted: {}",
            key.is_some()
        );
    }
}

#[tokio::test]
async fn a_corrupted_block_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("weights.bin");
    let data = noise(600_000, 4);
    fs::write(&src, &data).unwrap();
    let store = MemStore::new();
    let prepared = content::prepare(&store, &src, None).await.unwrap();

    // Replace the second chunk (a raw leaf) with other bytes under the same CID.
    let leaves = export::ls(&store, &prepared.root).await;
    assert!(leaves.is_err(), "a file is not a directory");
    let root_block = store.get(&prepared.root).await.unwrap();
    let links = scal3ml_store::dagpb::links_of(&prepared.root, &root_block).unwrap();
    let victim = links[1];
    let mut bad = store.get(&victim).await.unwrap().to_vec();
    bad[10] ^= 0xff;
    store.put_unchecked(victim, Bytes::from(bad));

    let dest = dir.path().join("weights-out.bin");
    let err = get(&store, &prepared, None, &dest).await.unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, MarketError::Store(_)), "{msg}");
    assert!(
        msg.contains(&victim.to_string()),
        "names the bad block: {msg}"
    );
    assert!(!dest.exists(), "a file was written from corrupt content");
}

#[tokio::test]
async fn a_hash_that_differs_from_the_card_is_an_error_and_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("a.txt");
    fs::write(&src, b"the real bytes").unwrap();
    let store = MemStore::new();
    let mut prepared = content::prepare(&store, &src, None).await.unwrap();
    prepared.files[0].sha256 = sha_hex(b"what the card claims");
    let dest = dir.path().join("a-out.txt");
    let err = get(&store, &prepared, None, &dest).await.unwrap_err();
    match &err {
        MarketError::HashMismatch {
            expected, actual, ..
        } => {
            assert_eq!(*expected, sha_hex(b"what the card claims"));
            assert_eq!(*actual, sha_hex(b"the real bytes"));
        }
        other => panic!("expected HashMismatch, got {other}"),
    }
    assert!(!dest.exists());
    assert!(!dir.path().join("a-out.txt.part").exists());
}

#[tokio::test]
async fn an_interrupted_download_resumes_where_it_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("ds");
    let files = sample_folder(&src);
    let store = MemStore::new();
    let key = FileKey::generate().unwrap();
    let prepared = content::prepare(&store, &src, Some(&key)).await.unwrap();
    let dest = dir.path().join("out");
    get(&store, &prepared, Some(&key), &dest).await.unwrap();

    // Simulate an interruption: train.csv only partly written (as a .part), test.csv missing.
    let train = &files[1].1;
    fs::remove_file(dest.join("data/train.csv")).unwrap();
    fs::write(dest.join("data/train.csv.part"), &train[..200_000]).unwrap();
    fs::remove_file(dest.join("data/test.csv")).unwrap();

    let again = get(&store, &prepared, Some(&key), &dest).await.unwrap();
    assert_eq!(again.written, vec!["data/test.csv", "data/train.csv"]);
    assert_eq!(again.skipped, vec!["README.md", "empty.txt"]);
    assert_eq!(
        again.bytes_written,
        (train.len() - 200_000 + files[2].1.len()) as u64,
        "only the missing tail was fetched"
    );
    for (path, data) in &files {
        assert_eq!(fs::read(dest.join(path)).unwrap(), *data, "{path}");
    }
    assert!(!dest.join("data/train.csv.part").exists());

    // A damaged .part is caught by the hash, removed, and the next run starts over.
    fs::remove_file(dest.join("data/train.csv")).unwrap();
    let mut damaged = train[..100_000].to_vec();
    damaged[5] ^= 1;
    fs::write(dest.join("data/train.csv.part"), &damaged).unwrap();
    let err = get(&store, &prepared, Some(&key), &dest).await.unwrap_err();
    assert!(matches!(err, MarketError::HashMismatch { .. }), "{err}");
    assert!(!dest.join("data/train.csv.part").exists());
    get(&store, &prepared, Some(&key), &dest).await.unwrap();
    assert_eq!(fs::read(dest.join("data/train.csv")).unwrap(), *train);
}

#[tokio::test]
async fn bad_paths_are_refused_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let store = MemStore::new();

    let missing = content::prepare(&store, &dir.path().join("nope"), None)
        .await
        .unwrap_err()
        .to_string();
    assert!(missing.contains("does not exist"), "{missing}");

    let empty = dir.path().join("empty");
    fs::create_dir_all(empty.join("sub")).unwrap();
    let msg = content::prepare(&store, &empty, None)
        .await
        .unwrap_err()
        .to_string();
    assert!(msg.contains("no files"), "{msg}");

    let with_link = dir.path().join("linked");
    fs::create_dir(&with_link).unwrap();
    fs::write(with_link.join("a.txt"), b"a").unwrap();
    std::os::unix::fs::symlink("/etc/hostname", with_link.join("b.txt")).unwrap();
    let msg = content::prepare(&store, &with_link, None)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("symbolic link") && msg.contains("b.txt"),
        "{msg}"
    );

    let with_fifo = dir.path().join("fifo");
    fs::create_dir(&with_fifo).unwrap();
    let status = std::process::Command::new("mkfifo")
        .arg(with_fifo.join("pipe"))
        .status()
        .unwrap();
    assert!(status.success());
    let msg = content::prepare(&store, &with_fifo, None)
        .await
        .unwrap_err()
        .to_string();
    assert!(msg.contains("special file"), "{msg}");
}

#[tokio::test]
async fn a_card_path_that_escapes_the_destination_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("ds");
    sample_folder(&src);
    let store = MemStore::new();
    let mut prepared = content::prepare(&store, &src, None).await.unwrap();
    prepared.files[0] = FileEntry {
        path: "../escaped.txt".into(),
        ..prepared.files[0].clone()
    };
    let err = get(&store, &prepared, None, &dir.path().join("out"))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("../escaped.txt"), "{err}");
    assert!(!dir.path().join("escaped.txt").exists());
}

// Regression (issue 17): `get` resumed `.part` files and created the card's folders through whatever was at
// those paths, so a symlink planted in the destination (by another user of a shared folder, or an earlier
// hostile download) redirected the write to a file outside it. Both are refused, naming the path, and the file
// outside is untouched.
#[tokio::test]
async fn symlinks_planted_in_the_destination_are_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("ds");
    sample_folder(&src);
    let store = MemStore::new();
    let prepared = content::prepare(&store, &src, None).await.unwrap();
    let outside = dir.path().join("victim.txt");
    fs::write(&outside, b"precious").unwrap();

    // A `.part` that is a symlink to the victim.
    let out = dir.path().join("out-part");
    fs::create_dir_all(out.join("data")).unwrap();
    std::os::unix::fs::symlink(&outside, out.join("data/train.csv.part")).unwrap();
    let err = get(&store, &prepared, None, &out)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("train.csv.part"), "{err}");
    assert_eq!(fs::read(&outside).unwrap(), b"precious");

    // A folder of the card's paths that is a symlink out of the destination.
    let out = dir.path().join("out-folder");
    let elsewhere = dir.path().join("elsewhere");
    fs::create_dir_all(&out).unwrap();
    fs::create_dir_all(&elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, out.join("data")).unwrap();
    let err = get(&store, &prepared, None, &out)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("data/"), "{err}");
    assert_eq!(
        fs::read_dir(&elsewhere).unwrap().count(),
        0,
        "nothing written through the link"
    );
    assert_eq!(fs::read(&outside).unwrap(), b"precious");
}
