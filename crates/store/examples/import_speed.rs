//! Throughput of one file, for tuning: `cargo run --release -p scal3ml-store --example import_speed -- FILE
//! [v0|v1|2025] [threads] [STORE_DIR]`. Without STORE_DIR it hashes only; with it, it imports into an FsStore
//! there and then exports the file back, verifying every block. With ENCRYPT=1 (hash-only) the file is
//! encrypted on the way in. The side-by-side benchmark lives under bench/.

use std::fs::File;
use std::time::Instant;

use bytes::Bytes;
use scal3ml_store::import::import_file;
use scal3ml_store::{Block, FsStore, ImportOptions, add_reader, export};

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .expect("usage: import_speed FILE [v0|v1|2025] [threads] [STORE_DIR]");
    let mut opts = match args.next().as_deref() {
        Some("v0") => ImportOptions::kubo_v0(),
        Some("2025") => ImportOptions::unixfs_v1_2025(),
        _ => ImportOptions::kubo_v1(),
    };
    if let Some(t) = args.next() {
        opts = opts.with_threads(t.parse().expect("threads"));
    }
    let report = |what: &str, cid: &dyn std::fmt::Display, bytes: u64, started: Instant| {
        let secs = started.elapsed().as_secs_f64();
        println!(
            "{what} {cid} {bytes} bytes {secs:.3} s {:.2} GB/s",
            bytes as f64 / secs / 1e9
        );
    };
    let file = File::open(&path).expect("open");
    let Some(dir) = args.next() else {
        let started = Instant::now();
        let mut sink = |_: Block| Ok(());
        if std::env::var_os("ENCRYPT").is_some() {
            // encrypted hash-only import: encryption and plaintext SHA-256 in the reader thread
            let key = scal3ml_store::crypt::FileKey::generate().expect("key");
            let (reader, digest) =
                scal3ml_store::crypt::EncryptReader::new(file, &key).expect("encrypt");
            let root = import_file(reader, &opts, &mut sink).expect("import");
            let plain = digest.get().expect("digest").length;
            report("encrypted-hash-only", &root.cid, plain, started);
            return;
        }
        let root = import_file(file, &opts, &mut sink).expect("import");
        report("hash-only", &root.cid, root.size, started);
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let store = FsStore::open(&dir).expect("store");
        let started = Instant::now();
        let root = add_reader(&store, file, opts).await.expect("import");
        report("import", &root.cid, root.size, started);
        let started = Instant::now();
        let mut total = 0u64;
        let mut sink = |b: Bytes| {
            total += b.len() as u64;
            Ok(())
        };
        export::read_range(&store, &root.cid, 0, None, &mut sink)
            .await
            .expect("export");
        report("export", &root.cid, total, started);
    });
}
