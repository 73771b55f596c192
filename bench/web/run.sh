#!/usr/bin/env bash
# Web page benchmark, run by hand (not part of scripts/test): the server-side render of the asset page with
# 100,000 assets indexed, beside the same node's JSON asset detail (`/api/assets/{id}`, the same catalog query
# without the HTML) as the in-process baseline, plus the weight of every page type.
#  1. `index-bench --sizes 100000 --keep DIR` builds (or reuses) the synthetic 100,000-asset catalog;
#  2. `scal3ml dev` starts once to deploy, stops, gets that catalog as its own, and starts again;
#  3. wrk -t1 -c1 (one request at a time: the render time a reader waits for) and wrk -t2 -c16 (under load) on
#     `/assets/<random id>` and on `/api/assets/<random id>`; prints p50/p99/req/s and the page/JSON ratio;
#  4. the bytes of each page type as served (no images on any page).
# Usage: bench/web/run.sh   (needs `cargo build --release -p scal3ml -p scal3ml-bench-index` and Debian's wrk and jq)
# Environment: CATALOG_DIR (where the catalog is kept, default /tmp/scal3ml-web-bench), WRK_SECONDS (10).
set -euo pipefail
cd "$(dirname "$0")/../.."
target=${CARGO_TARGET_DIR:-$PWD/target}/release
bin=$target/scal3ml
for b in "$bin" "$target/index-bench"; do
  [ -x "$b" ] || { echo "build first: cargo build --release -p scal3ml -p scal3ml-bench-index ($b missing)" >&2; exit 1; }
done
for t in wrk jq; do command -v $t >/dev/null || { echo "$t is missing: apt-get install -y $t" >&2; exit 1; }; done
keep=${CATALOG_DIR:-/tmp/scal3ml-web-bench}
seconds=${WRK_SECONDS:-10}
assets=100000
mkdir -p "$keep"
"$target/index-bench" --sizes $assets --queries 1 --skip-ingest --keep "$keep" >/dev/null

work=$(mktemp -d "${TMPDIR:-/tmp}/web-bench.XXXXXX")
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

start_dev() {
  : >"$work/dev.out"
  "$bin" dev --data-dir "$work/dev" --port 0 --rpc-port 0 >"$work/dev.out" 2>"$work/dev.err" &
  pid=$!
  for _ in $(seq 600); do
    grep -q '^Listening on ' "$work/dev.out" && break
    kill -0 "$pid" 2>/dev/null || { cat "$work/dev.err" >&2; exit 1; }
    sleep 0.1
  done
  addr=$(sed -n 's/^Listening on //p' "$work/dev.out")
  [ -n "$addr" ] || { echo "scal3ml dev did not start" >&2; cat "$work/dev.err" >&2; exit 1; }
  url="http://$addr"
}
# The synthetic catalog has no cursor, so the node's indexer adopts it for the dev chain, on which nothing has
# been published: the 100,000 assets stay exactly as built.
start_dev
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
rm -f "$work/dev/index/catalog.sqlite"*
cp "$keep/catalog-$assets.sqlite" "$work/dev/index/catalog.sqlite"
start_dev
have=$(curl -sf "$url/api/stats" | jq .assets)
[ "$have" -eq $assets ] || { echo "the node sees $have assets, not $assets" >&2; exit 1; }

cat >"$work/page.lua" <<LUA
math.randomseed(7)
request = function() return wrk.format("GET", "/assets/" .. math.random(1, $assets)) end
LUA
sed 's#"/assets/"#"/api/assets/"#' "$work/page.lua" >"$work/json.lua"

# run SCRIPT THREADS CONNECTIONS: "req/s p50_ms p99_ms" from wrk --latency.
run() {
  wrk -t"$2" -c"$3" -d"${seconds}s" --latency -s "$1" "$url" >"$work/wrk.out"
  local rps p50 p99
  rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk.out")
  p50=$(awk '$1 == "50%" {print $2}' "$work/wrk.out")
  p99=$(awk '$1 == "99%" {print $2}' "$work/wrk.out")
  grep -q 'Non-2xx' "$work/wrk.out" && { echo "wrk saw errors:" >&2; cat "$work/wrk.out" >&2; exit 1; }
  echo "$rps $(to_ms "$p50") $(to_ms "$p99")"
}
# to_ms 1.23ms|456.00us|1.2s -> milliseconds.
to_ms() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000; printf "%.2f", n }'; }

echo "## Web: asset page render with $assets assets (wrk ${seconds}s per row)"
echo
echo "| what | req/s | p50 ms | p99 ms | p99 vs the JSON detail | target |"
echo "|---|---:|---:|---:|---:|---|"
for load in "1 1" "2 16"; do
  read -r t c <<<"$load"
  read -r prps pp50 pp99 <<<"$(run "$work/page.lua" "$t" "$c")"
  read -r jrps jp50 jp99 <<<"$(run "$work/json.lua" "$t" "$c")"
  ratio=$(awk -v a="$pp99" -v b="$jp99" 'BEGIN { printf "%.2fx", a / b }')
  echo "| \`/assets/{id}\` page, -c$c | $prps | $pp50 | $pp99 | $ratio | p99 <= 10 ms |"
  echo "| \`/api/assets/{id}\` JSON, -c$c | $jrps | $jp50 | $jp99 | 1.00x | |"
done
echo
echo "| page | HTML bytes (with every static file: CSS and all JS) | target |"
echo "|---|---:|---|"
weight() {
  local html assets total=0 n
  html=$(curl -sf "$url$1" | tee "$work/page.html" | wc -c)
  total=$html
  # Every static file, whether the page names it or app.js imports it (wallet.js; devwallet.js on the dev chain).
  for a in $(cd crates/server/static && ls); do
    n=$(curl -sf "$url/static/$a" | wc -c); total=$((total + n))
  done
  echo "| \`$1\` | $html ($total) | <= 100 KB |"
}
for p in / "/search?text=$(curl -sf "$url/api/assets/1" | jq -r '.summary.name | split(" ")[0]')" /assets/1 /assets/1/proposals /publish /dashboard; do
  weight "$p"
done
