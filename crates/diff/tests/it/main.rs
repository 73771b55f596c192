//! Integration tests of scal3ml-diff: small files generated in temporary folders, and the eval fixtures.

mod models;
mod tables;
mod tree;
