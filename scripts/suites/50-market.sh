#!/usr/bin/env bash
# The marketplace story against an independent chain: hardhat node (npm, pinned in tests/interop/chain) with the
# contracts deployed by `scal3ml deploy` and `scal3ml node` in front of it; the same story `cargo test` plays on
# `scal3ml dev` (crates/cli/tests/it/story.rs). It is an ignored test in `cargo test` because it needs the npm
# packages this script installs.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib.sh

step "market: npm ci (tests/interop/chain, for hardhat)"
npm_install tests/interop/chain

step "market: the marketplace story on hardhat node"
export HARDHAT_DISABLE_TELEMETRY_PROMPT=true
# --workspace, not -p scal3ml: the same feature set as the Rust suite's build, so nothing is compiled again.
cargo test --workspace --locked --test it -- --ignored --exact story::the_marketplace_story_on_hardhat
