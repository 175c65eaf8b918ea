#!/usr/bin/env bash
# Refresh the vendored front-end assets from the npm registry.
#
# The platform runs on closed government networks: pages never load anything from a CDN.
# Every script the browser runs is served by Django from src/yiwang/web/static/vendor/,
# and those files are committed. This script is the only way they change:
#
#   1. edit the exact versions in package.json (devDependencies, no ranges)
#   2. bash scripts/vendor-assets.sh --update   # re-resolves package-lock.json
#   3. review `git diff --stat src/yiwang/web/static/vendor`, run the browser tests, commit
#
# Without --update it runs `npm ci`, which installs exactly what package-lock.json says
# (integrity hashes checked) and fails if package.json and the lock disagree.
# See docs/frontend-assets.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENDOR="$ROOT/src/yiwang/web/static/vendor"
cd "$ROOT"

if ! command -v npm >/dev/null 2>&1; then
  echo "npm is needed to refresh vendored assets (apt-get install npm)" >&2
  exit 1
fi

if [[ "${1:-}" == "--update" ]]; then
  npm install --ignore-scripts --no-audit --no-fund
else
  npm ci --ignore-scripts --no-audit --no-fund
fi

version() { node -p "require('./node_modules/$1/package.json').version"; }

copy() {  # copy SRC DEST: fail loudly if the package layout changed
  local src="node_modules/$1" dest="$VENDOR/$2"
  if [[ ! -f "$src" ]]; then
    echo "missing $src: did the package layout change?" >&2
    exit 1
  fi
  mkdir -p "$(dirname "$dest")"
  cp "$src" "$dest"
}

# HTMX 2 (BSD Zero Clause licence)
rm -rf "$VENDOR/htmx"
copy htmx.org/dist/htmx.min.js htmx/htmx.min.js
copy htmx.org/LICENSE htmx/LICENSE
echo "htmx.org $(version htmx.org)" >"$VENDOR/htmx/VERSION"

# ECharts 5 (Apache-2.0; bundles zrender, BSD-3-Clause, and parts of d3, BSD-3-Clause)
rm -rf "$VENDOR/echarts"
copy echarts/dist/echarts.min.js echarts/echarts.min.js
copy echarts/LICENSE echarts/LICENSE
copy echarts/NOTICE echarts/NOTICE
copy echarts/licenses/LICENSE-d3 echarts/LICENSE-d3
copy zrender/LICENSE echarts/LICENSE-zrender
echo "echarts $(version echarts) (zrender $(version zrender))" >"$VENDOR/echarts/VERSION"

# A record of what is vendored, checked by src/yiwang/web/tests/test_assets.py.
(
  cd "$VENDOR"
  find . -type f ! -name SHA256SUMS | LC_ALL=C sort | sed 's|^\./||' | xargs sha256sum
) >"$VENDOR/SHA256SUMS"

echo "vendored into $VENDOR:"
cat "$VENDOR"/*/VERSION
