#!/usr/bin/env bash
# The single bench command: installs the pinned npm dev dependencies (npm ci) and runs the harness.
# Usage: bench/run.sh [--write]   (--write updates the "## Side by side" section of BENCHMARKS.md)
# Configuration by environment variables: see bench/README.md.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -d node_modules/playwright-core ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
exec node run.mjs "$@"
