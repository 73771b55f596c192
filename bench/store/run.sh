#!/usr/bin/env bash
# Store benchmark, run by hand (not part of scripts/test): one 1 GiB random file, side by side in one run:
#   openssl dgst -sha256 (one core's SHA-NI speed), our CIDv1 import hash-only and into the on-disk store,
#   npm ipfs-unixfs-importer with the same settings into a black hole and into blockstore-fs, our encrypted
#   import, our verified export (cat > /dev/null). Wall time and peak RSS of each via /usr/bin/time.
# Usage: bench/store/run.sh [SIZE_MIB]   (default 1024; needs `cargo build --release -p scal3ml` and
#        `npm ci` in tests/interop/store). Prints a table with ratios against the issue's targets.
# On ext4, creating files is slow for a few minutes after many files were deleted (the inode allocator checks
# and skips recently deleted inodes, up to 25% of the store import's CPU in a profile): wait five minutes after a
# previous run, which deletes its stores at the end, before measuring the store rows again.
set -euo pipefail
cd "$(dirname "$0")/../.."
size_mib=${1:-1024}
bin=${SCAL3ML_BIN:-${CARGO_TARGET_DIR:-$PWD/target}/release/scal3ml}
[ -x "$bin" ] || { echo "build first: cargo build --release -p scal3ml ($bin missing)" >&2; exit 1; }
js_dir=${STORE_JS_DIR:-tests/interop/store}
[ -d "$js_dir/node_modules" ] || { echo "run npm ci in tests/interop/store first" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/store-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
input="$work/input.bin"
head -c $((size_mib * 1024 * 1024)) /dev/urandom >"$input"
bytes=$(stat -c %s "$input")

declare -A secs rss out
# run NAME CMD...: wall seconds and peak RSS (KiB) of CMD, the last line of its stdout kept in out[NAME];
# with STDOUT=/dev/null the output is discarded instead (the export, whose output is the 1 GiB file).
run() {
  local name=$1; shift
  sync
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" >"${STDOUT:-$work/out}" 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
  read -r secs[$name] rss[$name] <"$work/time"
  out[$name]=$(tail -1 "${STDOUT:-$work/out}")
}

run openssl openssl dgst -sha256 "$input"
run hash "$bin" store add --only-hash -Q --no-progress --cid-version 1 "$input"
# On ext4 each store created costs more than the one before (inode allocation), so the encrypted import runs
# between two plain ones and is compared with their mean.
run store "$bin" store --repo "$work/repo" add -Q --no-progress --cid-version 1 "$input"
run encrypt "$bin" store --repo "$work/repo-enc" add -Q --no-progress --cid-version 1 --encrypt "$input"
run store-again "$bin" store --repo "$work/repo-again" add -Q --no-progress --cid-version 1 "$input"
run js-blackhole node "$js_dir/bench-import.mjs" blackhole "$input"
run js-fs node "$js_dir/bench-import.mjs" fs "$input" "$work/js-blocks"
run encrypt-hash "$bin" store add --only-hash -Q --no-progress --cid-version 1 --encrypt "$input"
STDOUT=/dev/null run export "$bin" store --repo "$work/repo" cat "${out[store]}"
run get "$bin" store --repo "$work/repo" get -o "$work/exported.bin" "${out[store]}"
cmp -s "$input" "$work/exported.bin" || { echo "store get wrote different bytes" >&2; exit 1; }

[ "${out[hash]}" = "${out[store]}" ] && [ "${out[hash]}" = "${out[js-blackhole]}" ] && [ "${out[hash]}" = "${out[js-fs]}" ] ||
  { echo "CIDs differ: ours ${out[hash]} / ${out[store]}, js ${out[js-blackhole]} / ${out[js-fs]}" >&2; exit 1; }

rate() { awk -v b="$bytes" -v s="$1" 'BEGIN { printf "%.0f", b / s / 1e6 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", b / a }'; }
echo "input: $size_mib MiB random, CID ${out[hash]}, $(nproc) cores, $(date -u +%FT%TZ)"
printf '| %-42s | %8s | %8s | %9s | %-34s |\n' "run" "seconds" "MB/s" "peak RSS" "ratio (target)"
printf '|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..44})" "----------" "----------" "-----------" "$(printf -- '-%.0s' {1..36})"
row() { printf '| %-42s | %8s | %8s | %6s MiB | %-34s |\n' "$1" "${secs[$2]}" "$(rate "${secs[$2]}")" "$((rss[$2] / 1024))" "$3"; }
row "openssl dgst -sha256" openssl "reference"
row "scal3ml store add --only-hash (CIDv1)" hash "$(ratio "${secs[hash]}" "${secs[openssl]}") openssl (>= 1.6x), $(ratio "${secs[hash]}" "${secs[js-blackhole]}") js (>= 2.5x)"
row "scal3ml store add into the on-disk store" store "$(ratio "${secs[store]}" "${secs[js-fs]}") js-fs (>= 1.5x)"
row "ipfs-unixfs-importer, black hole" js-blackhole "reference"
row "ipfs-unixfs-importer, blockstore-fs" js-fs "reference"
plain_mean=$(awk -v a="${secs[store]}" -v b="${secs[store-again]}" 'BEGIN { printf "%.2f", (a + b) / 2 }')
row "scal3ml store add, again after --encrypt" store-again "for the mean with the first: $plain_mean s"
row "scal3ml store add --encrypt" encrypt "$(ratio "${secs[encrypt]}" "$plain_mean") plain (>= 0.8x)"
row "scal3ml store add --encrypt --only-hash" encrypt-hash "$(ratio "${secs[encrypt-hash]}" "${secs[hash]}") plain hash-only (information)"
row "scal3ml store cat > /dev/null (verified export)" export "$(rate "${secs[export]}") MB/s (>= 1000 MB/s)"
row "scal3ml store get -o FILE (export to disk)" get "for information"
echo "peak RSS target for the 1 GiB import: under 64 MiB (hash-only ${rss[hash]} KiB, store ${rss[store]} KiB)"
