//! Serves files through our trustless gateway, for clients no one here wrote (the interop suite points npm
//! `@helia/verified-fetch` at it).
//!
//! Usage: `gateway [--cid-version 0|1] [--chunk-size N] FILE_OR_DIR...`. Imports each path into an in-memory store,
//! binds 127.0.0.1 port 0, prints one JSON line `{"url": ..., "entries": [{"path": ..., "cid": ...}]}` on stdout,
//! then serves until killed.

use std::error::Error;
use std::sync::Arc;

use scal3ml_store::gateway::router;
use scal3ml_store::{ImportOptions, MemStore, add_path};

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let mut opts = ImportOptions::kubo_v1();
    let mut paths = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--cid-version" => {
                opts =
                    opts.with_cid_version(args.next().ok_or("--cid-version needs 0 or 1")?.parse()?)
            }
            "--chunk-size" => {
                opts =
                    opts.with_chunk_size(args.next().ok_or("--chunk-size needs a size")?.parse()?)
            }
            _ => paths.push(arg),
        }
    }
    if paths.is_empty() {
        return Err("usage: gateway [--cid-version 0|1] [--chunk-size N] FILE_OR_DIR...".into());
    }
    let store = Arc::new(MemStore::new());
    let mut entries = Vec::new();
    for path in &paths {
        let imported = add_path(store.as_ref(), path, opts.clone(), false).await?;
        entries.push(serde_json::json!({ "path": path, "cid": imported.cid.to_string() }));
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    println!("{}", serde_json::json!({ "url": url, "entries": entries }));
    axum::serve(listener, router(store)).await?;
    Ok(())
}
