//! The IPFS Pinning Service API v0.1.1: its wire types ([`api`]), a client of any service ([`client`]) and the
//! same API served by our node over a block store ([`server`]).

pub mod api;
pub mod client;
pub mod server;

pub use api::{ListQuery, Pin, PinResults, PinStatus, Status};
pub use client::PinningClient;
pub use server::{PinningConfig, PinningService};
