//! Hash-only, store and export throughput of one file, for tuning: `cargo run --release -p scal3ml-store
//! --example import_speed -- FILE [v0|v1|2025] [threads]`. The side-by-side benchmark lives under bench/.

use std::fs::File;
use std::io::BufReader;
use std::time::Instant;

use scal3ml_store::import::import_file;
use scal3ml_store::{Block, ImportOptions};

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .expect("usage: import_speed FILE [v0|v1|2025] [threads]");
    let mut opts = match args.next().as_deref() {
        Some("v0") => ImportOptions::kubo_v0(),
        Some("2025") => ImportOptions::unixfs_v1_2025(),
        _ => ImportOptions::kubo_v1(),
    };
    if let Some(t) = args.next() {
        opts = opts.with_threads(t.parse().expect("threads"));
    }
    let started = Instant::now();
    let file = File::open(&path).expect("open");
    let mut sink = |_: Block| Ok(());
    let root =
        import_file(BufReader::with_capacity(1 << 20, file), &opts, &mut sink).expect("import");
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{} {} bytes {:.3} s {:.2} GB/s",
        root.cid,
        root.size,
        secs,
        root.size as f64 / secs / 1e9
    );
}
