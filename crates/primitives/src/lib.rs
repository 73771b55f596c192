//! Shared value types of Scal3ML: asset ids, asset kinds, content identifiers as bytes and text, license terms
//! and amounts. Every other crate speaks in these types. This crate does no I/O and knows no chain or store.
