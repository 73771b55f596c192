//! The IPFS trustless gateway protocol (ipfs/specs `http-gateways/trustless-gateway.md`): a server answering
//! `GET`/`HEAD /ipfs/{cid}[/path]` with single blocks (`?format=raw`) or CAR streams (`?format=car`, with
//! `dag-scope` and `entity-bytes`) from any [`BlockStore`](crate::BlockStore), and a client that fetches from any
//! trustless gateway and verifies every block it receives.
//!
//! Only verifiable responses are served: no deserialized files, so a client never has to trust this server.

pub mod client;
pub mod server;
mod traverse;

pub use client::{FetchStats, GatewayClient};
pub use server::router;
pub use traverse::{ByteRange, DagScope};

/// Media type of a single block response.
pub const RAW_MEDIA_TYPE: &str = "application/vnd.ipld.raw";
/// Media type of a CAR response, without parameters.
pub const CAR_MEDIA_TYPE: &str = "application/vnd.ipld.car";
