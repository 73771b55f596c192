//! Integration tests of scal3ml-store, one module per topic.

mod stores;
mod vectors;
