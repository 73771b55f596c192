//! One module per `scal3ml` subcommand.

pub(crate) mod dev;
pub(crate) mod devnet;
pub(crate) mod node;
pub(crate) mod store;
