//! Integration tests of the devnet over real HTTP and WebSocket: alloy as the client (deploy, call, estimate,
//! send, events, custom errors, receipts), raw JSON-RPC for shapes and errors alloy would never send, the
//! MetaMask call sequence, persistence across restarts and a kill -9, and the execution-apis `.io` cases.

mod alloy_client;
mod bad_input;
mod io_cases;
mod metamask;
mod methods;
mod persistence;
mod raw;
