//! Content-addressed storage for Scal3ML, byte-compatible with IPFS: UnixFS import and export that give the
//! same CIDs as Kubo, block stores (on disk and in memory), CAR files and streaming encryption for paid assets.
//! It knows nothing of chains, assets or licenses; callers hand it bytes and get CIDs back, and the reverse.
//!
//! The contract every backend implements is [`BlockStore`] (get/put/has/delete over verified [`Block`]s);
//! local stores also implement [`PinStore`] (pins, gc, stats). See [`store`] for the design.

pub mod block;
pub mod car;
pub mod cid;
pub mod crypt;
pub mod dagpb;
pub mod error;
pub mod export;
pub mod gateway;
#[cfg(feature = "test-utils")]
pub mod hostile;
pub mod http;
pub mod reader;
pub mod store;
#[cfg(feature = "test-utils")]
pub mod testing;
pub mod varint;

pub use block::{Block, MAX_BLOCK_SIZE};
pub use cid::{Cid, CidExt, Codec};
pub use error::{StoreError, StoreResult};
pub use store::{
    BlockStore, BoxFuture, FsStore, GcReport, MemStore, PinMode, PinStore, StoreStats,
};
pub mod import;
pub mod kubo;
pub mod pinning;
pub mod unixfs;

pub use import::{ImportOptions, Imported, add_path, add_reader, hash_path};
