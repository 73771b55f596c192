//! Integration tests of scal3ml-primitives: cards from fixtures, as a user would bring them.

mod cards;
mod hf_cards;
