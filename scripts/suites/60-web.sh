#!/usr/bin/env bash
# The web pages in a real browser: Debian's headless Chromium driven by playwright-core (pinned in tests/web;
# it never downloads a browser) against `scal3ml dev`, with a test wallet injected where a wallet extension would
# be. Publish through the form (files, a folder, bad fields), find, buy in ETH and in an ERC-20, download and
# compare bytes, earnings and withdraw, vote on and execute a proposal; reading without JavaScript; axe-core on
# every page type; phone width; the dev wallet and chain switching (docs/web.md lists them). Screenshots land in
# target/web-screenshots/. Builds the debug binary (after the Rust suite only a link step).
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib.sh

target=${CARGO_TARGET_DIR:-$PWD/target}
step "web: Debian's chromium"
apt_install chromium
export CHROMIUM_PATH=${CHROMIUM_PATH:-/usr/bin/chromium}

step "web: cargo build --workspace --all-targets (the Rust suite's build, so only a link step after it)"
cargo build --workspace --all-targets --locked
export SCAL3ML_BIN="$target/debug/scal3ml"

step "web: npm ci (tests/web: playwright-core, axe-core)"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
npm_install tests/web

step "web: the pages in headless Chromium (screenshots in $target/web-screenshots)"
cd tests/web
node --test --test-concurrency=1 test/
