//! Integration tests of the marketplace SDK: one binary, a module per topic.

mod chain;
mod common;
mod content;
mod prepare;
