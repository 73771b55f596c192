#!/usr/bin/env bash
# Rows/s of scal3ml-eval vs onnxruntime (Python, one thread) on the committed fixtures (skl2onnx and PyTorch exports), tiled to
# ROWS rows (default 100000). Run by hand, never in CI: it builds the example in release and makes a venv from
# crates/eval/fixtures/requirements.txt (PyPI). Prints the table for `## Eval` in bench/RESULTS.md.
#   bench/eval/run.sh [ROWS] [REPEAT]
set -euo pipefail
cd "$(dirname "$0")/../.."
ROWS="${1:-100000}"
REPEAT="${2:-3}"
VENV="${EVAL_VENV:-target/eval-bench-venv}"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q -r crates/eval/fixtures/requirements.txt
fi
cargo build --release -q -p scal3ml-eval --example eval_bench
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1 /proc/loadavg)"
"$VENV/bin/python" bench/eval/bench.py --bench-bin target/release/examples/eval_bench --rows "$ROWS" --repeat "$REPEAT"
