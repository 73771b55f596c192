# Shared helpers for scripts/test and scripts/suites/*.sh. Source it; it changes nothing by itself.

# A heading on stderr, so a long CI log is easy to scan.
step() { printf '\n==> %s\n' "$*" >&2; }
note() { printf '    %s\n' "$*" >&2; }

# npm ci in a folder with a package-lock.json, skipped when node_modules already matches the lock.
npm_install() {
  local dir=$1
  if [ ! -f "$dir/node_modules/.package-lock.json" ] || ! cmp -s "$dir/package-lock.json" "$dir/node_modules/.scal3ml-lock"; then
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) && cp "$dir/package-lock.json" "$dir/node_modules/.scal3ml-lock"
  fi
}

# Debian packages, installed once (apt-get update only when something is missing).
apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

# A Python venv at .venv with the given pinned requirements; prints nothing, sets PATH.
py_venv() {
  [ -x .venv/bin/python ] || python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check "$@"
  export PATH="$PWD/.venv/bin:$PATH"
}
