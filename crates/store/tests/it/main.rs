//! Integration tests of scal3ml-store, one module per topic.

mod export;
mod stores;
mod vectors;
