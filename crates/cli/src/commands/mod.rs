//! One module per `scal3ml` subcommand.

pub(crate) mod account;
pub(crate) mod catalog;
pub(crate) mod deploy;
pub(crate) mod dev;
pub(crate) mod devnet;
pub(crate) mod diff;
pub(crate) mod discuss;
pub(crate) mod eval;
pub(crate) mod get;
pub(crate) mod leaderboard;
pub(crate) mod node;
pub(crate) mod propose;
pub(crate) mod publish;
pub(crate) mod store;
pub(crate) mod trade;
