//! The node's routes called in-process: the router a running node serves ([`scal3ml_server::Node::router`]),
//! driven with tower's `oneshot` against an in-process devnet, route by route, refusals included. The user
//! stories over a real socket and the binary stay in crates/cli/tests/it.

mod client;
mod common;
mod openapi;
mod refusals;
