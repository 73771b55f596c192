//! The node's side of discussions (the documents and the table are `scal3ml-discuss`): the routes that take,
//! check and serve comments and hide decisions ([`routes`]), and the rebuild of a lost table from the pinned
//! documents ([`rebuild`]). See docs/discussions.md.

pub(crate) mod rebuild;
pub(crate) mod routes;

pub use scal3ml_discuss::*;
