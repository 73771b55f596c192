//! Integration tests of the devnet over real HTTP: alloy as the client, plus raw JSON-RPC for shapes and
//! errors alloy would never send.

mod raw;
