#!/usr/bin/env bash
# Node benchmarks, run by hand (not part of scripts/test), against a fresh `scal3ml dev` (release build):
#  1. publish-to-searchable latency: `scal3ml publish --json` of a small free dataset whose name holds a word
#     found nowhere else, then `GET /api/assets?text=<word>` every few milliseconds until it is listed; the clock
#     starts when publish returns (it returns right after the receipt), p50/p99/max over PUBLISHES publishes;
#  2. the catalog is filled up to CATALOG assets (10 dev accounts publishing in parallel);
#  3. wrk -t2 -c64 --latency on the REST asset detail `/api/assets/1`, and, as the in-process baseline, on the
#     same node's trustless gateway for a block (`/ipfs/<cid>?format=raw`); prints requests/s, p99 and the ratio.
# Usage: bench/node/run.sh   (needs `cargo build --release -p scal3ml` and Debian's wrk: apt-get install -y wrk)
# Environment: PUBLISHES (50), CATALOG (1000), WRK_SECONDS (10), SCAL3ML_BIN (default target/release/scal3ml).
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${SCAL3ML_BIN:-${CARGO_TARGET_DIR:-$PWD/target}/release/scal3ml}
[ -x "$bin" ] || { echo "build first: cargo build --release -p scal3ml ($bin missing)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
command -v jq >/dev/null || { echo "jq is missing: apt-get install -y jq" >&2; exit 1; }
publishes=${PUBLISHES:-50}
catalog=${CATALOG:-1000}
seconds=${WRK_SECONDS:-10}

work=$(mktemp -d "${TMPDIR:-/tmp}/node-bench.XXXXXX")
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# Every publish is an upload from one address: lift the per-address count (docs/node.md, Uploads).
"$bin" dev --data-dir "$work/dev" --port 0 --rpc-port 0 --uploads-per-hour 1000000 >"$work/dev.out" 2>"$work/dev.err" &
pid=$!
for _ in $(seq 600); do
  grep -q '^Listening on ' "$work/dev.out" && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/dev.err" >&2; exit 1; }
  sleep 0.1
done
addr=$(sed -n 's/^Listening on //p' "$work/dev.out")
[ -n "$addr" ] || { echo "scal3ml dev did not start" >&2; cat "$work/dev.err" >&2; exit 1; }
url="http://$addr"
export SCAL3ML_NODE=$url
mkdir -p "$work/files"

# publish NAME ACCOUNT: a small free dataset named NAME, by dev account ACCOUNT; prints the publish JSON.
publish() {
  local f="$work/files/$1.csv"
  printf 'id,value\n1,%s\n' "$1" >"$f"
  "$bin" publish "$f" --kind dataset --name "$1" --license MIT --tag bench --dev-account "$2" --json
}

# 1. Publish-to-searchable latency.
: >"$work/latency"
first_cid=
for i in $(seq "$publishes"); do
  word="latw$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  out=$(publish "$word" 1)
  t0=$(date +%s%N)
  [ -n "$first_cid" ] || first_cid=$(jq -r .content_cid <<<"$out")
  until [ "$(curl -sf "$url/api/assets?text=$word" | jq .total)" -ge 1 ]; do
    [ $(( $(date +%s%N) - t0 )) -lt 30000000000 ] || { echo "$word not searchable after 30 s" >&2; exit 1; }
  done
  echo $(( ($(date +%s%N) - t0) / 1000 )) >>"$work/latency"
done
# pct P: the P-th percentile (nearest rank) of the latencies, in milliseconds.
pct() { sort -n "$work/latency" | awk -v p="$1" '{ v[NR] = $1 } END { i = int((p * NR + 99) / 100); if (i < 1) i = 1; printf "%.1f", v[i] / 1000 }'; }
p50=$(pct 50); p99=$(pct 99); max=$(pct 100)

# 2. A catalog of a realistic size: 10 lanes (one per dev account, each sequential) publish the rest.
have=$(curl -sf "$url/api/stats" | jq .assets)
rest=$(( catalog - have ))
fill_start=$(date +%s%N)
lanes=()
for lane in $(seq 0 9); do
  (
    for i in $(seq "$lane" 10 $(( rest - 1 ))); do
      publish "fill$i" "$lane" >/dev/null
    done
  ) &
  lanes+=($!)
done
for lane in "${lanes[@]}"; do wait "$lane" || { echo "a catalog lane failed" >&2; exit 1; }; done
until [ "$(curl -sf "$url/api/stats" | jq .assets)" -ge "$catalog" ]; do sleep 0.2; done
fill_secs=$(awk -v ns=$(( $(date +%s%N) - fill_start )) 'BEGIN { printf "%.0f", ns / 1e9 }')

# 3. wrk: the REST asset detail, then the trustless gateway for a block of the same node.
curl -sf "$url/api/assets/1" >/dev/null
curl -sf "$url/ipfs/$first_cid?format=raw" >/dev/null
detail_bytes=$(curl -sf "$url/api/assets/1" | wc -c)
block_bytes=$(curl -sf "$url/ipfs/$first_cid?format=raw" | wc -c)
wrk -t2 -c64 -d"${seconds}s" --latency "$url/api/assets/1" >"$work/wrk-api"
wrk -t2 -c64 -d"${seconds}s" --latency "$url/ipfs/$first_cid?format=raw" >"$work/wrk-ipfs"
rps() { awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$1"; }
p99of() { awk '$1 == "99%" { print $2 }' "$1"; }
errors() { awk '/Non-2xx|Socket errors/ { printf "%s ", $0 }' "$1"; }
api_rps=$(rps "$work/wrk-api"); ipfs_rps=$(rps "$work/wrk-ipfs")

echo "scal3ml dev ($bin), $(nproc) cores, $(date -u +%FT%TZ), wrk $(wrk -v 2>&1 | head -1 | awk '{ print $2 }')"
echo
echo "publish-to-searchable ($publishes publishes, clock from publish's return, i.e. its receipt):"
echo "  p50 ${p50} ms, p99 ${p99} ms, max ${max} ms (target: within 1000 ms)"
echo "catalog: $(curl -sf "$url/api/stats" | jq .assets) assets (filled in ${fill_secs} s)"
echo
printf '| %-44s | %10s | %9s | %-26s |\n' "wrk -t2 -c64 -d${seconds}s" "requests/s" "p99" "ratio"
printf '|%s|%s|%s|%s|\n' "----------------------------------------------" "------------" "-----------" "----------------------------"
printf '| %-44s | %10s | %9s | %-26s |\n' "GET /api/assets/1 ($detail_bytes B JSON)" "$api_rps" "$(p99of "$work/wrk-api")" \
  "$(awk -v a="$api_rps" 'BEGIN { printf "%.2fx target (>= 10000)", a / 10000 }')"
printf '| %-44s | %10s | %9s | %-26s |\n' "GET /ipfs/<cid>?format=raw ($block_bytes B block)" "$ipfs_rps" "$(p99of "$work/wrk-ipfs")" \
  "$(awk -v a="$api_rps" -v b="$ipfs_rps" 'BEGIN { printf "API = %.2fx gateway", a / b }')"
e1=$(errors "$work/wrk-api"); e2=$(errors "$work/wrk-ipfs")
[ -z "$e1$e2" ] || echo "wrk reported errors: api: ${e1:-none}; gateway: ${e2:-none}"
