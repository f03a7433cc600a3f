#!/usr/bin/env bash
# Packs everything the GPU check needs into one archive for a GPU machine that has PyTorch, cmake, ninja and nvcc
# but no Node.js and no network: a Node.js binary, the N-API headers, the native sources and build files, the
# compiled TypeScript (dist/), the production packages the checks import, and the shared fixtures and PyTorch peer.
#   scripts/gpu/pack.sh [OUT]      (default OUT: build-gpu/mdistill-gpu-check.tar.xz; fails above 60 MiB)
# Then, on the GPU machine: bash check.sh mdistill-gpu-check.tar.xz   (check.sh is scripts/gpu/check.sh; the archive
# holds a copy at mdistill-gpu-check/repo/scripts/gpu/check.sh).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="${1:-$root/build-gpu/mdistill-gpu-check.tar.xz}"
limit_mib=60
shared="$root/../shared"
node_bin="${MDISTILL_PACK_NODE:-$(node -p process.execPath)}"

[ -d "$root/dist" ] || { echo "pack: no dist/ (run npm run build:ts)" >&2; exit 1; }
[ -f "$shared/peer/torch_step.py" ] || { echo "pack: $shared/peer/torch_step.py not found (the shared reference data beside the repository)" >&2; exit 1; }

stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
top="$stage/mdistill-gpu-check"
mkdir -p "$top/repo" "$top/node/bin" "$top/shared/peer"

(cd "$root" && node scripts/gpu/packFiles.mjs) > "$stage/files.txt"
(cd "$root" && tar -cf - -T "$stage/files.txt") | tar -xf - -C "$top/repo"
cp -r "$shared/fixtures" "$top/shared/fixtures"
cp "$shared/peer/torch_step.py" "$top/shared/peer/"
# Debug symbols are most of an official Node binary; the code is the same without them.
cp "$node_bin" "$top/node/bin/node"
chmod u+w "$top/node/bin/node"
if command -v strip >/dev/null; then strip --strip-debug "$top/node/bin/node"; fi
node -p "process.version" > "$top/node/VERSION"
(cd "$root" && git rev-parse HEAD 2>/dev/null || echo unknown) > "$top/COMMIT"

mkdir -p "$(dirname "$out")"
tar -C "$stage" -cf - mdistill-gpu-check | xz -T0 -6 > "$out.partial"
mv "$out.partial" "$out"
bytes=$(stat -c %s "$out")
echo "pack: $out: $(awk -v b="$bytes" 'BEGIN { printf "%.1f MiB", b / 1048576 }') ($(wc -l < "$stage/files.txt") repository files, node $(cat "$top/node/VERSION"))"
if [ "$bytes" -gt $((limit_mib * 1048576)) ]; then
  echo "pack: the archive is larger than $limit_mib MiB" >&2
  exit 1
fi
