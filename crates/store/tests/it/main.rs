//! Integration tests of scal3ml-store, one module per topic.

mod age;
mod car;
mod crash;
mod crypt;
mod export;
mod fuzz;
mod gateway;
mod hostile;
mod import;
mod kubo;
mod pinning;
mod stores;
mod tls;
mod vectors;
