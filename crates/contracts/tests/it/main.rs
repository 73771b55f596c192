//! Integration tests of the Scal3ML contracts, executed on an in-process revm chain.

mod attestations;
mod common;
mod invariants;
mod manifest;
mod market;
mod proposals;
mod publish;
mod revenue;
mod rpc;
mod terms;
