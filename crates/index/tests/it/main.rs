//! The catalog against the embedded chain: real transactions over JSON-RPC, real logs, cards in a block store.

mod catalog;
mod common;
mod reorg;
mod search;
