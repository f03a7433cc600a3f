#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh), compiles every C++ translation unit against libtorch 1.13 and 2.x
# (scripts/check-libtorch.sh: syntax only, a few minutes on 2 cores), then runs the whole test suite, native tests
# included. MDISTILL_SKIP_LIBTORCH_CHECK=1 leaves the compile check out (arguments go to vitest).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ "${MDISTILL_SKIP_LIBTORCH_CHECK:-0}" != 1 ]; then bash scripts/check-libtorch.sh; fi
npx vitest run "$@"
