//! The hostile-content corpus (testdata/hostile/) against the store's consumers: `get_to_path` (what `scal3ml
//! store get` writes), the bounded reader (what the node reads content through) and `ls`. Every case is refused
//! with an error naming why, and a file planted beside the destination is untouched.

use std::path::Path;

use scal3ml_store::export::{self, GetOptions};
use scal3ml_store::hostile::{self, Case};
use scal3ml_store::reader::{self, Budget, FileReader, Limits};
use scal3ml_store::{MemStore, StoreError, car};

const VICTIM: &[u8] = b"the victim's own bytes\n";

fn corpus_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/hostile")
}

async fn load(case: &Case) -> MemStore {
    let store = MemStore::new();
    let bytes = case.car();
    car::import_car(&store, std::io::Cursor::new(bytes))
        .await
        .unwrap_or_else(|e| panic!("{}: the CAR imports: {e}", case.name));
    store
}

#[test]
fn the_committed_corpus_is_what_the_generator_makes() {
    // testdata/hostile/ is rebuilt by `cargo run -p scal3ml-store --example hostile_corpus`
    for case in hostile::corpus() {
        let path = corpus_dir().join(format!("{}.car", case.name));
        let committed = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            committed == case.car(),
            "{} differs from the generator",
            path.display()
        );
        assert!(
            committed.len() < 1 << 20,
            "{} is small: {} bytes",
            case.name,
            committed.len()
        );
    }
    let truncated = std::fs::read(corpus_dir().join("truncated.car")).unwrap();
    assert_eq!(truncated, hostile::truncated_car());
}

#[tokio::test]
async fn regression_get_to_path_refuses_every_hostile_case_and_touches_nothing_outside() {
    // get_to_path created the DAG's symlinks and wrote files through a symlink of the same name
    for symlinks in [false, true] {
        for case in hostile::corpus() {
            let store = load(&case).await;
            let out = tempfile::tempdir().unwrap();
            let victim = out.path().join("victim");
            std::fs::write(&victim, VICTIM).unwrap();
            let dest = out.path().join("dest");
            let opts = GetOptions::default().with_symlinks(symlinks);
            let result = export::get_to_path(&store, &case.root, &dest, &opts).await;
            let err = result.expect_err(&format!("{} (symlinks {symlinks}) is refused", case.name));
            assert!(!err.to_string().is_empty());
            assert_eq!(
                std::fs::read(&victim).unwrap(),
                VICTIM,
                "{}: the victim is untouched",
                case.name
            );
            let outside: Vec<_> = std::fs::read_dir(out.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .filter(|n| n != "victim" && n != "dest")
                .collect();
            assert!(
                outside.is_empty(),
                "{}: wrote {outside:?} beside dest",
                case.name
            );
            assert!(
                !Path::new("/nonexistent/scal3ml-hostile").exists(),
                "{}: nothing written at the absolute target",
                case.name
            );
        }
    }
}

#[tokio::test]
async fn symlinks_that_stay_inside_are_written_only_when_asked() {
    let case = hostile::corpus()
        .into_iter()
        .find(|c| c.name == "symlink-chain")
        .unwrap();
    let store = load(&case).await;
    let out = tempfile::tempdir().unwrap();
    let err = export::get_to_path(
        &store,
        &case.root,
        &out.path().join("d"),
        &GetOptions::default().with_symlinks(true),
    )
    .await
    .unwrap_err();
    // `a -> .` stays inside; `b -> a/../../victim` climbs out through it and is refused by name
    assert!(
        matches!(&err, StoreError::Refused { entry, reason } if entry == "b" && reason.contains("outside")),
        "{err}"
    );
}

#[tokio::test]
async fn regression_duplicate_names_are_refused_also_after_hamt_flattening() {
    // names were never checked for duplicates, so a file was written through a symlink of the same name
    for name in ["duplicate-names", "duplicate-names-hamt"] {
        let case = hostile::corpus()
            .into_iter()
            .find(|c| c.name == name)
            .unwrap();
        let store = load(&case).await;
        let err = export::ls(&store, &case.root).await.unwrap_err();
        assert!(
            matches!(&err, StoreError::Refused { reason, .. } if reason.contains("two entries")),
            "{name}: {err}"
        );
    }
}

#[tokio::test]
async fn regression_a_hamt_linking_one_shard_from_every_slot_stops_early() {
    // flattening visited every path through the shards: 2^32 entries from a few blocks
    let case = hostile::corpus()
        .into_iter()
        .find(|c| c.name == "huge-fanout-hamt")
        .unwrap();
    let store = load(&case).await;
    let started = std::time::Instant::now();
    assert!(export::ls(&store, &case.root).await.is_err());
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
}

/// Reads every file of `case` through the bounded reader, as the node's diff does.
async fn read_all(case: &Case, limits: Limits) -> Result<u64, String> {
    let store = std::sync::Arc::new(load(case).await);
    let budget = Budget::new(limits);
    let files = reader::walk(store.as_ref(), &case.root, &budget)
        .await
        .map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let mut total = 0;
        for f in &files {
            let mut r = FileReader::new(store.clone(), f, budget.clone(), runtime.clone());
            total += std::io::copy(&mut r, &mut std::io::sink()).map_err(|e| e.to_string())?;
        }
        Ok(total)
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regression_the_bounded_reader_refuses_every_hostile_case() {
    // the node's diff budgeted by declared sizes and Tsize, and wrote content to disk to read it
    let limits = Limits::default()
        .with_max_bytes(64 << 20)
        .with_max_entries(10_000);
    for case in hostile::corpus() {
        let result = read_all(&case, limits).await;
        assert!(
            result.is_err(),
            "{} is refused, not read ({result:?})",
            case.name
        );
    }
    // and an honest folder reads whole, every byte counted once per pass
    let store = std::sync::Arc::new(MemStore::new());
    let src = tempfile::tempdir().unwrap();
    std::fs::write(src.path().join("a.csv"), b"x,y\n1,2\n").unwrap();
    std::fs::create_dir(src.path().join("sub")).unwrap();
    std::fs::write(src.path().join("sub/b.bin"), vec![7u8; 3_000_000]).unwrap();
    let root = scal3ml_store::add_path(
        store.as_ref(),
        src.path(),
        scal3ml_store::ImportOptions::kubo_v1(),
        false,
    )
    .await
    .unwrap();
    let budget = Budget::new(limits);
    let files = reader::walk(store.as_ref(), &root.cid, &budget)
        .await
        .unwrap();
    let paths: Vec<_> = files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["a.csv", "sub/b.bin"]);
    let runtime = tokio::runtime::Handle::current();
    let b = files[1].clone();
    let read = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Seek, SeekFrom};
        let mut r = FileReader::new(store, &b, budget.clone(), runtime);
        r.seek(SeekFrom::End(-4)).unwrap();
        let mut tail = Vec::new();
        r.read_to_end(&mut tail).unwrap();
        (tail, budget.bytes_read())
    })
    .await
    .unwrap();
    assert_eq!(read.0, vec![7u8; 4]);
    assert_eq!(
        read.1, 4,
        "a seek to the end reads only the bytes asked for"
    );
}

#[tokio::test]
async fn a_truncated_car_is_refused() {
    let store = MemStore::new();
    let err = car::import_car(&store, std::io::Cursor::new(hostile::truncated_car()))
        .await
        .unwrap_err();
    assert!(!err.to_string().is_empty());
}

#[tokio::test]
async fn the_gateway_serves_each_hostile_dag_once_per_block() {
    // a CAR of a DAG that links one block 2^40 times holds that block once, whatever the DAG declares
    use axum::body::Body;
    use axum::http::{Request, header};
    use tower::ServiceExt;
    for case in hostile::corpus() {
        let store: std::sync::Arc<dyn scal3ml_store::BlockStore> =
            std::sync::Arc::new(load(&case).await);
        let request = Request::get(format!("/ipfs/{}?format=car", case.root))
            .header(header::ACCEPT, "application/vnd.ipld.car")
            .body(Body::empty())
            .unwrap();
        let started = std::time::Instant::now();
        let response = scal3ml_store::gateway::router(store)
            .oneshot(request)
            .await
            .unwrap();
        let body = axum::body::to_bytes(response.into_body(), 64 << 20)
            .await
            .unwrap();
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "{}",
            case.name
        );
        let mut car = car::CarReader::new(std::io::Cursor::new(body)).unwrap();
        let mut blocks = 0;
        while car.next_block().unwrap().is_some() {
            blocks += 1;
        }
        assert!(
            blocks <= case.blocks.len(),
            "{}: {blocks} blocks for {}",
            case.name,
            case.blocks.len()
        );
    }
}
