//! The Scal3ML catalog: follows the marketplace and attestations contracts over any alloy provider
//! (`eth_getLogs` in adaptive block ranges, a confirmation depth, reorgs detected by block hash and rolled back
//! exactly through an undo journal) into SQLite, fetches each version's card through a [`CardSource`], and
//! answers the queries the REST API and the command line need: full-text search with filters and sorts,
//! asset detail, versions, lineage, accounts, stats. A rebuild from block 0 yields the same catalog.
//!
//! This crate is not the source of truth: the chain is. It never sends transactions and never decides who
//! may access what (the access gateway asks the chain). It does not fetch content, only card JSON, and does
//! not validate cards beyond reading the fields it indexes.

mod card;
mod db;
mod error;
mod ingest;
mod leaderboard;
mod query;
mod schema;
mod sync;

pub use card::{BoxError, CardFuture, CardSource};
pub use db::{IDLE_READERS, Index};
pub use error::{IndexError, IndexResult};
pub use ingest::ChainLog;
pub use leaderboard::decimal_text;
pub use query::AssetContent;
pub use sync::{Indexer, IndexerConfig, SyncReport};
