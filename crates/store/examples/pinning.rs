//! Serves the IPFS Pinning Service API over an in-memory store, for clients and checkers no one here wrote (the
//! interop suite runs schemathesis against it with the OpenAPI document in tests/interop/store/).
//!
//! Usage: `pinning TOKEN`. Binds 127.0.0.1 port 0, prints the base URL on stdout, serves until killed.

use std::error::Error;
use std::sync::Arc;

use scal3ml_store::MemStore;
use scal3ml_store::pinning::{PinningConfig, PinningService};

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let token = std::env::args().nth(1).ok_or("usage: pinning TOKEN")?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let delegate = format!("/ip4/127.0.0.1/tcp/{}/http", addr.port());
    let service = PinningService::new(
        Arc::new(MemStore::new()),
        PinningConfig::new(token, delegate),
    )?;
    println!("http://{addr}");
    axum::serve(listener, service.router()).await?;
    Ok(())
}
