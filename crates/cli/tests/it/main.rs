//! The `scal3ml` binary as users run it: real processes, temporary data directories, the node over HTTP.

mod api;
mod common;
mod crash;
mod diff;
mod discuss;
mod errors;
mod eval;
mod eval_published;
mod hostile;
mod layers;
mod load;
mod proposals;
mod story;
mod uploads;
mod web_api;
mod web_pages;
