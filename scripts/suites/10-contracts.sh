#!/usr/bin/env bash
# Contracts suite: the committed contracts/out must be exactly what the pinned compiler makes of the sources,
# solhint must be clean at its recommended rules (contracts/.solhint.yaml says why any rule is off), and
# slither must find nothing of high or medium impact. The Rust tests of the contracts run in the rust suite.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib.sh

step "contracts: npm ci (solc, OpenZeppelin, solhint pinned by contracts/package-lock.json)"
npm_install contracts

step "contracts: rebuild out/ and compare byte for byte with the committed files"
node contracts/build.mjs
if ! git diff --exit-code --stat -- contracts/out || [ -n "$(git status --porcelain --untracked-files=all -- contracts/out)" ]; then
  note "contracts/out differs from what contracts/build.mjs makes of contracts/src:"
  git status --short -- contracts/out >&2
  note "run 'node contracts/build.mjs' and commit contracts/out together with the sources"
  exit 1
fi

step "contracts: solhint (recommended rules, no warnings)"
(cd contracts && npx --no-install solhint -c .solhint.yaml --max-warnings 0 -f unix 'src/**/*.sol')

step "contracts: slither (no high or medium findings)"
py_venv slither-analyzer==0.11.6
# slither's own solc download (solc-select) cannot work offline; tools/solc serves the pinned solcjs instead.
# src/test/ holds test-only contracts and is not analysed.
(cd contracts && slither src --solc-standard-json --solc tools/solc --filter-paths node_modules \
  --exclude-informational --exclude-low --exclude-optimization --fail-medium)
note "contracts: out/ reproducible, solhint clean, slither clean"
