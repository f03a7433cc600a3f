#!/usr/bin/env bash
# The GPU check, in one command, on a machine with one CUDA GPU, PyTorch 2.x (its libtorch and TorchConfig.cmake),
# cmake, ninja and nvcc, and neither Node.js nor network: unpacks the archive scripts/gpu/pack.sh wrote, builds the
# addon against the Python torch's libtorch with CUDA for this GPU's architecture, runs the checks cheapest first and
# prints ONE JSON object on stdout (progress goes to stderr). A failed check is recorded and the next one runs.
#   bash check.sh [ARCHIVE]            on the GPU machine (default ARCHIVE: mdistill-gpu-check.tar.xz beside this
#                                      script, else build-gpu/ of the repository it sits in)
#   bash check.sh --dry-run [ARCHIVE]  here, CPU only: builds without CUDA and runs (b)-(e) with the CPU as the device
# Checks: (a) the CUDA kernels' test program against its CPU reference, paper shapes included; (b) forward parity,
# device against CPU and timm, on the shared fixtures; (c) the fused loss against the naive one on the device;
# (d) one fp32 training step, device against CPU; (e) 20 bf16-autocast steps; (f) bench step paper224 at batch 128,
# --amp against the PyTorch peer eager and compiled, then fp32 against the eager peer; (g) bench loss on the device, fused against naive;
# (h) the GPU memory peak of the (f) steps and of the (g) losses.
# Env: MDISTILL_GPU_CHECK_BUDGET (seconds for everything: 540, the dry run 1800), MDISTILL_GPU_CHECK_WORK (unpack here),
#      MDISTILL_CUDA_ARCH (default: the GPU's compute capability), PYTHON (default python3), MDISTILL_GPU_CHECK_KEEP=1
#      (the dry run keeps its unpacked tree and build), MDISTILL_GPU_CHECK_RESULTS (copy every check's output and log
#      there too).
set -uo pipefail
start=$(date +%s)
script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mode=gpu
archive=""
for arg in "$@"; do
  case "$arg" in
    --dry-run) mode=dry-run ;;
    -*) echo "check.sh: unknown option '$arg' (known: --dry-run)" >&2; exit 2 ;;
    *) archive="$arg" ;;
  esac
done
if [ -z "$archive" ]; then
  for cand in "$script_dir/mdistill-gpu-check.tar.xz" "$script_dir/../../build-gpu/mdistill-gpu-check.tar.xz"; do
    [ -f "$cand" ] && { archive="$cand"; break; }
  done
fi
[ -n "$archive" ] && [ -f "$archive" ] || { echo "check.sh: no archive (run scripts/gpu/pack.sh, then pass its path)" >&2; exit 2; }
# Nine minutes on the GPU machine (16 cores); the dry run builds on whatever this machine is, so it gets longer.
default_budget=540
[ "$mode" = dry-run ] && default_budget=1800
budget="${MDISTILL_GPU_CHECK_BUDGET:-$default_budget}"
python="${PYTHON:-python3}"
jobs="$(nproc)"
say() { echo "[check $(( $(date +%s) - start ))s] $*" >&2; }
left() { echo $(( budget - ($(date +%s) - start) )); }

work="${MDISTILL_GPU_CHECK_WORK:-$(mktemp -d)}"
mkdir -p "$work"
res="$work/results"
rm -rf "$res" && mkdir -p "$res"
say "unpacking $archive into $work"
tar -xJf "$archive" -C "$work" || { echo '{"ok":false,"error":"could not unpack the archive"}'; exit 1; }
top="$work/mdistill-gpu-check"
repo="$top/repo"
export PATH="$top/node/bin:$PATH"
export MDISTILL_ADDON="$repo/build/Release/mdistill.node"
fixtures="$top/shared/fixtures"

# run NAME TIMEOUT CMD...: stdout to NAME.out (its last JSON line is the result), stderr to NAME.err, status to NAME.rc.
# The timeout is cut to what is left of the budget; a check with under 10 s left is recorded as skipped.
run() {
  local name="$1" limit="$2"
  shift 2
  local remaining
  remaining=$(left)
  if [ "$remaining" -lt 10 ]; then
    echo "budget" > "$res/$name.skipped"
    say "$name: skipped (the ${budget} s budget is spent)"
    return
  fi
  [ "$limit" -gt "$remaining" ] && limit=$remaining
  say "$name (up to ${limit} s): $*"
  timeout --kill-after=10 "$limit" "$@" > "$res/$name.out" 2> "$res/$name.err"
  echo $? > "$res/$name.rc"
}
skip() { echo "$2" > "$res/$1.skipped"; }

# ---- the environment
if [ "$mode" = gpu ]; then
  "$python" - > "$res/env.json" 2> "$res/env.err" <<'EOF'
import json, torch, torch.utils
d = {"torch": torch.__version__, "torch_cuda": torch.version.cuda, "cuda_available": torch.cuda.is_available(),
     "cmake_prefix_path": torch.utils.cmake_prefix_path,
     # libtorch's defaults, which mdistill leaves alone: fp32 matmuls without TF32.
     "tf32_matmul_default": torch.backends.cuda.matmul.allow_tf32}
if torch.cuda.is_available():
    p = torch.cuda.get_device_properties(0)
    d.update(gpu=p.name, capability=f"{p.major}.{p.minor}", gpu_memory_gib=round(p.total_memory / 2**30, 1),
             gpus=torch.cuda.device_count())
print(json.dumps(d))
EOF
  arch="${MDISTILL_CUDA_ARCH:-$("$python" -c 'import torch; c = torch.cuda.get_device_capability(0); print(f"{c[0]}{c[1]}")' 2>/dev/null ||
    nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d '. ')}"
  torch_prefix="$("$python" -c 'import torch.utils; print(torch.utils.cmake_prefix_path)' 2>/dev/null)"
  if [ -z "$arch" ] || [ -z "$torch_prefix" ]; then
    echo "{\"ok\":false,\"error\":\"no CUDA GPU or no PyTorch: $python could not give the GPU's compute capability ('$arch') and torch's cmake prefix ('$torch_prefix'); see $res/env.err\"}"
    exit 1
  fi
  device=cuda
else
  echo "{\"mode\":\"dry-run\",\"cpus\":$jobs}" > "$res/env.json"
  arch=""
  torch_prefix=""
  device=cpu
fi
node --version > "$res/node_version.txt" 2>&1

# ---- the build: the addon and the loss check program, with cmake directly (no cmake-js in the archive).
cmake_args=(-S "$repo" -B "$repo/build" -G Ninja -DCMAKE_BUILD_TYPE=Release
  "-DCMAKE_JS_INC=$repo/node_modules/node-api-headers/include;$repo/node_modules/node-addon-api"
  "-DCMAKE_LIBRARY_OUTPUT_DIRECTORY=$repo/build/Release")
if [ "$mode" = gpu ]; then
  cmake_args+=(-DMDISTILL_CUDA=on "-DCMAKE_CUDA_ARCHITECTURES=$arch" "-DCMAKE_PREFIX_PATH=$torch_prefix")
  # TorchConfig.cmake derives its own nvcc flags from this list; give it the one architecture of this GPU.
  export TORCH_CUDA_ARCH_LIST="${arch:0:${#arch}-1}.${arch: -1}"
else
  cmake_args+=(-DMDISTILL_CUDA=off)
fi
build_limit=300
[ "$mode" = dry-run ] && build_limit=1200
# ccache (when present) keys on paths relative to the unpacked repository, so a second run in another folder hits.
export CCACHE_BASEDIR="$repo"
run build "$build_limit" bash -c 'cmake "$@" && cmake --build "$0/build" --parallel '"$jobs"' --target mdistill mdistill_loss_check' \
  "$repo" "${cmake_args[@]}"
built=0
[ "$(cat "$res/build.rc" 2>/dev/null)" = 0 ] && built=1

# ---- the checks, cheapest first
if [ "$mode" = gpu ]; then
  run a_manifold_cuda_test 150 bash -c "MDISTILL_CUDA_ARCH=$arch MDISTILL_CUDA_BUILD_DIR=$work/build-cuda MDISTILL_BUILD_JOBS=$jobs \
    bash $repo/scripts/build-cuda-kernels.sh >&2 && $work/build-cuda/manifold_cuda_test"
else
  skip a_manifold_cuda_test "needs a GPU (the dry run does not build the CUDA kernels)"
fi
if [ "$built" = 1 ]; then
  run b_forward_parity 90 node "$repo/scripts/gpu/checks.mjs" forward --device "$device" --fixtures "$fixtures"
  if [ "$mode" = gpu ]; then
    run c_g_loss 150 "$repo/build/mdistill_loss_check" --device cuda
  else
    run c_g_loss 150 "$repo/build/mdistill_loss_check" --device cpu --batch 8 --tokens 49 --pairs 2 --reps 2 --warmup 1
  fi
  run d_step_vs_cpu 120 node "$repo/scripts/gpu/checks.mjs" step --device "$device"
  run e_amp_steps 120 node "$repo/scripts/gpu/checks.mjs" amp --device "$device"
  if [ "$mode" = gpu ]; then
    export MDISTILL_PEER_PYTHON="$(command -v "$python")"
    # bf16 first, against the peer eager and compiled (the goals' figures); then fp32 against the eager peer.
    run f_bench_step_amp 270 node "$repo/bench/step.mjs" --config paper224 --device cuda --batch 128 \
      --warmup 3 --steps 10 --rounds 1 --amp --peer-compile
    run f_bench_step_fp32 150 node "$repo/bench/step.mjs" --config paper224 --device cuda --batch 128 \
      --warmup 3 --steps 10 --rounds 1
  else
    skip f_bench_step_fp32 "needs a GPU"
    skip f_bench_step_amp "needs a GPU"
  fi
else
  for c in b_forward_parity c_g_loss d_step_vs_cpu e_amp_steps f_bench_step_fp32 f_bench_step_amp; do skip "$c" "the build failed"; done
fi

# ---- one JSON object: each check's own JSON (its last JSON line), or why there is none, with a log tail.
assemble() {
  cat > "$work/assemble.py" <<'EOF'
import json, os, sys
res, mode, elapsed, archive = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
def tail(path, n=40):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return ""
def last_json(path):
    for line in reversed(tail(path, 200).splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                pass
    return None
names = ["build", "a_manifold_cuda_test", "b_forward_parity", "c_g_loss", "d_step_vs_cpu", "e_amp_steps",
         "f_bench_step_fp32", "f_bench_step_amp"]
checks = {}
for name in names:
    base = os.path.join(res, name)
    if os.path.exists(base + ".skipped"):
        checks[name] = {"ok": None, "skipped": open(base + ".skipped").read().strip()}
        continue
    rc = int(open(base + ".rc").read().strip()) if os.path.exists(base + ".rc") else None
    if name == "build":
        checks[name] = {"ok": rc == 0, "rc": rc}
        if rc != 0:
            checks[name]["log_tail"] = tail(base + ".out", 60) + tail(base + ".err", 60)
        continue
    got = last_json(base + ".out")
    entry = dict(got) if isinstance(got, dict) else {"error": "no JSON result"}
    entry["rc"] = rc
    if rc in (124, 137):
        entry["error"] = "timed out"
    entry["ok"] = bool(got and got.get("ok") is True and rc == 0)
    if mode == "gpu" and got and got.get("skipped"):
        entry["ok"] = False
        entry["error"] = "the GPU check saw no CUDA device"
    if not entry["ok"]:
        entry["stderr_tail"] = tail(base + ".err", 30)
    checks[name] = entry
# (g) and (h) are figures inside (c)'s program and (f)'s benchmark: named here so the JSON reads check by check.
loss = checks.get("c_g_loss", {})
if "bench" in loss:
    checks["g_bench_loss"] = loss["bench"]
peaks = {k: checks[k].get("gpu_peak_mb") for k in ("f_bench_step_fp32", "f_bench_step_amp") if isinstance(checks.get(k), dict)}
checks["h_gpu_memory_peak_mb"] = {"step_paper224_b128": peaks,
                                  "loss_fused_extra_mb": loss.get("bench", {}).get("fused_extra_mb"),
                                  "loss_naive_extra_mb": loss.get("bench", {}).get("naive_extra_mb")}
env = last_json(os.path.join(res, "env.json")) or {"error": tail(os.path.join(res, "env.err"))}
env["node"] = tail(os.path.join(res, "node_version.txt")).strip()
ran = [c for n, c in checks.items() if n in names and c.get("ok") is not None]
ok = all(c["ok"] for c in ran) and bool(ran)
print(json.dumps({"mode": mode, "archive": os.path.basename(archive), "elapsed_s": elapsed, "env": env, "ok": ok,
                  "checks": checks}))
sys.exit(0 if ok else 1)
EOF
  "$python" "$work/assemble.py" "$res" "$mode" $(( $(date +%s) - start )) "$archive"
}
assemble
status=$?
if [ -n "${MDISTILL_GPU_CHECK_RESULTS:-}" ]; then mkdir -p "$MDISTILL_GPU_CHECK_RESULTS" && cp -r "$res"/. "$MDISTILL_GPU_CHECK_RESULTS"/; fi
# The dry run's unpacked tree and build (hundreds of MB) go; the results and logs stay.
if [ "$mode" = dry-run ] && [ "${MDISTILL_GPU_CHECK_KEEP:-0}" != 1 ]; then rm -rf "$top" "$work/build-cuda"; fi
say "done; results and logs in $res"
exit $status
