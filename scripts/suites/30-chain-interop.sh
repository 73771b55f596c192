#!/usr/bin/env bash
# Chain interop: viem, ethers v6 and web3.js v4 each play one scenario against `hardhat node` (the reference) and
# against `scal3ml devnet`, and must observe the same results (tests/interop/chain/README.md). Builds the debug
# binary (after the Rust suite only a link step; a release build would compile every dependency again), installs
# the pinned npm packages (no compiler, browser or telemetry download), runs node's test runner.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib.sh

target=${CARGO_TARGET_DIR:-$PWD/target}
step "chain interop: cargo build --workspace --all-targets (the Rust suite's build, so only a link step after it)"
cargo build --workspace --all-targets --locked
export SCAL3ML_BIN="$target/debug/scal3ml"

step "chain interop: npm ci (tests/interop/chain)"
npm_install tests/interop/chain

step "chain interop: viem, ethers, web3.js against hardhat node and scal3ml devnet"
export HARDHAT_DISABLE_TELEMETRY_PROMPT=true
cd tests/interop/chain
node --test --test-concurrency=1 test/
