#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh), then runs the whole test suite, native tests included.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npx vitest run "$@"
