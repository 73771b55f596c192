//! The access gateway's integration tests: the embedded chain in-process with the contracts deployed, and the
//! gateway served over HTTP on 127.0.0.1 port 0 (`gateway.rs` calls it as a library, without HTTP).

mod bounds;
mod common;
mod content;
mod gateway;
mod release;
mod siwe;
