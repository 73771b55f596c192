//! scal3ml-server: the HTTP side of a Scal3ML node and the node that runs it. One port serves the REST API
//! (`/api`), the access gateway (`/access`), the trustless gateway (`/ipfs`), `/health` and Prometheus
//! `/metrics`; [`Node::start`] opens the block store, the catalog and the key vault under a data directory,
//! follows the chain with the indexer, and serves until shut down.
//!
//! It does not run a chain (the embedded one is `scal3ml-devnet`, started by `scal3ml dev`) and holds no
//! marketplace rules: reads come from the catalog (`scal3ml-index`), key release from `scal3ml-access`, and
//! transactions are sent by clients through the SDK (`scal3ml-market`).

mod api;
mod catalog;
mod csrf;
mod devrpc;
mod diff;
pub mod discuss;
mod metrics;
mod node;
mod proposal;
mod propose;
mod publish;
mod replicate;
mod tx;
mod uploads;
mod web;

pub use diff::AssetDiff;
pub use node::{Node, NodeConfig, NodeError};
pub use uploads::UploadLimits;
