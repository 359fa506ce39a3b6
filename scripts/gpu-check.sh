#!/usr/bin/env bash
# The GPU check, in one command, on a machine with an NVIDIA GPU (sm_70 or newer) and
# its driver:
#
#   ./scripts/gpu-check.sh
#
# Runs every CUDA kernel against the CPU on generated data (tolerances are stated by
# each test, most are bit for bit), then, alone on the GPU, the timing tests, which
# print the achieved bandwidth of the timed kernels against the measured
# device-to-device copy bandwidth, with the verdict on the issues' targets. Steps:
#   1. compile_all: NVRTC and ptxas for compute_70/80/90, no spills, the table of
#      registers per kernel and their caps (no device needed).
#   2. Correctness, release builds, every test but the timing ones (`timing_*`):
#      cargo test -p kernels-cuda (no_device.rs and every tests/gpu_*.rs on the
#      device), cargo test -p kernels-ffi --features cuda (the kn_cuda_* C ABI on
#      device memory against the host functions, on the NULL stream and on user
#      streams from two threads), and tests/c/test_cuda.c linked with the release
#      libkernels.a built with the cuda feature (device memory from the CUDA driver
#      API through dlopen), under UBSan (ASan's shadow memory and the CUDA driver do
#      not mix reliably).
#   3. compute-sanitizer, when it is found (KN_COMPUTE_SANITIZER, PATH, $CUDA_HOME/bin,
#      /usr/local/cuda/bin, or the PyPI wheel nvidia-cuda-sanitizer-api-cu12 installed
#      into the virtual environment beforehand; the device machine may reach no
#      registry): each tool of KN_SANITIZER_TOOLS (default memcheck racecheck
#      synccheck initcheck) over the correctness test binaries of step 2, with
#      --error-exitcode 1. The tests over 2^31 elements (`gpu_large_*`) are left out
#      there (they would take hours under the sanitizer). Absent: a SKIPPED line, not
#      a failure.
#   4. Timing, alone: cargo test --release -p kernels-cuda timing_ -- --test-threads=1,
#      each figure the best of KN_TIMING_REPS (default 3) repetitions; H2O decode
#      also prints each kernel's time from CUDA events (check, insert, partial,
#      combine, scores).
# KN_REQUIRE_GPU=1 and KN_REQUIRE_NVRTC=1 are set, so a missing driver, device, NVRTC
# or ptxas, which the normal test run reports as SKIPPED, is a failure here.
#
# Needs: the Rust toolchain and the crates of Cargo.lock (the machine may be offline:
# a filled cargo registry), a C compiler, NVRTC and ptxas: the PyPI wheels
# nvidia-cuda-nvrtc-cu12 and nvidia-cuda-nvcc-cu12, found as scripts/test-all.sh finds
# them, or a CUDA toolkit already on LD_LIBRARY_PATH / PATH (or KN_PTXAS=path/to/ptxas).
# Takes a few minutes, most of it compiling; each step is capped at
# KN_GPU_STEP_TIMEOUT seconds (default 600). Logs: target/gpu-check/*.log; a summary
# of the results is printed at the end. Exit status 0 only if every step passed.
set -uo pipefail
cd "$(dirname "$0")/.."

. scripts/cuda-tools.sh
export KN_REQUIRE_GPU=1 KN_REQUIRE_NVRTC=1
export KN_TIMING_REPS=${KN_TIMING_REPS:-3}

out=target/gpu-check
mkdir -p "$out"
rm -f "$out"/*.log
limit=${KN_GPU_STEP_TIMEOUT:-600}
passed=0
failed=0
failures=()
step() {
  local name=$1 log=$out/$2.log
  shift 2
  echo
  echo "==> $name (log: $log)"
  local start=$SECONDS
  if timeout "$limit" "$@" >"$log" 2>&1; then
    passed=$((passed + 1))
    echo "ok ($((SECONDS - start)) s)"
  else
    failed=$((failed + 1))
    failures+=("$name")
    echo "FAILED ($((SECONDS - start)) s); the end of the log:"
    tail -n 40 "$log"
  fi
}

if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem \
    --format=csv,noheader 2>&1 | sed 's/^/GPU: /'
fi

# 1. Compile check (no device needed).
step "compile_all: compute_70/80/90, no spills, registers per kernel within their caps" compile \
  cargo test --release --locked -p kernels-cuda --test compile_all -- --nocapture

# 2. Correctness: everything but the timing tests.
step "kernels-cuda tests on the device (release, timing tests left out)" cuda \
  cargo test --release --locked --no-fail-fast -p kernels-cuda -- --nocapture --skip timing_
step "kernels-ffi tests with the cuda feature (release)" ffi \
  cargo test --release --locked --no-fail-fast -p kernels-ffi --features cuda -- --nocapture

c_cuda_test() {
  cargo build --release --locked -p kernels-ffi --features cuda || return 1
  cc -std=c11 -Wall -Wextra -Werror -pedantic -fsanitize=undefined -fno-sanitize-recover=all -g \
    -Iinclude tests/c/test_cuda.c target/release/libkernels.a -lpthread -ldl -lm \
    -o "$out/test_cuda" || return 1
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 "$out/test_cuda"
}
export out
export -f c_cuda_test
step "C test of the CUDA entry points (tests/c/test_cuda.c)" c bash -c c_cuda_test

# 3. compute-sanitizer over the correctness tests, when present.
find_sanitizer() {
  if [ -n "${KN_COMPUTE_SANITIZER:-}" ]; then
    [ -x "$KN_COMPUTE_SANITIZER" ] && echo "$KN_COMPUTE_SANITIZER"
    return
  fi
  command -v compute-sanitizer 2>/dev/null && return
  local d f
  for d in "${CUDA_HOME:-}" /usr/local/cuda; do
    if [ -n "$d" ] && [ -x "$d/bin/compute-sanitizer" ]; then
      echo "$d/bin/compute-sanitizer"
      return
    fi
  done
  if d=$(py_pkg_dir nvidia.cuda_sanitizer_api); then
    f=$(find "$d" -name compute-sanitizer -type f -perm -u+x 2>/dev/null | head -n 1)
    [ -n "$f" ] && echo "$f"
  fi
}
# The test executables of both packages (built by step 2) that launch kernels, one per
# line: the libraries' unit tests, no_device, gpu_* and cuda_* (not compile_all, the
# header or the Fortran test, which run compilers).
test_binaries() {
  {
    cargo test --release --locked --no-run --message-format=json -p kernels-cuda
    cargo test --release --locked --no-run --message-format=json -p kernels-ffi --features cuda
  } 2>/dev/null | python3 -c '
import json, os, re, sys
keep = re.compile(r"^(kernels_cuda|kernels_ffi|no_device|gpu_\w+|cuda_\w+)-[0-9a-f]+$")
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    exe = m.get("executable")
    if exe and m.get("profile", {}).get("test") and keep.match(os.path.basename(exe)):
        print(exe)
'
}
sanitize() {
  local tool=$1 bin status=0
  while read -r bin; do
    echo "--- $tool: $bin"
    "$sanitizer" --tool "$tool" --error-exitcode 1 --target-processes all "$bin" \
      --test-threads=1 --skip timing_ --skip gpu_large_ || status=1
  done < <(test_binaries)
  return $status
}
sanitizer=$(find_sanitizer || true)
if [ -n "$sanitizer" ]; then
  echo
  echo "compute-sanitizer: $sanitizer ($("$sanitizer" --version 2>/dev/null | tail -n 1))"
  export sanitizer
  export -f sanitize test_binaries
  for tool in ${KN_SANITIZER_TOOLS:-memcheck racecheck synccheck initcheck}; do
    step "compute-sanitizer --tool $tool over the correctness tests" "sanitizer-$tool" \
      bash -c "sanitize $tool"
  done
else
  echo
  echo "SKIPPED: compute-sanitizer not found (a CUDA toolkit, KN_COMPUTE_SANITIZER, or the" \
    "nvidia-cuda-sanitizer-api-cu12 wheel installed into .venv beforehand)" |
    tee "$out/sanitizer.log"
fi

# 4. Timing, alone on the GPU, one test at a time.
step "timing tests alone (--test-threads=1, best of $KN_TIMING_REPS)" timing \
  cargo test --release --locked --no-fail-fast -p kernels-cuda timing_ -- --nocapture --test-threads=1

echo
echo "==> summary"
# The result lines the tests print (each GPU check prints its own, to stdout and
# stderr: shown once), the register table, then the test counts.
sed -n '/^registers per kernel/,/^test /p' "$out/compile.log" 2>/dev/null | grep -v '^test '
cat "$out"/cuda.log "$out"/ffi.log "$out"/c.log "$out"/sanitizer*.log "$out"/timing.log 2>/dev/null |
  grep -E '^(GPU |SKIPPED|kernels-cuda \[|kn_cuda_|CUDA part|test_cuda:|compute-sanitizer|=+ (ERROR|Error))|GB/s|GFLOP/s| us,|bit-identical|tolerance|FAILED|panicked' |
  awk '!seen[$0]++'
grep -h '^test result:' "$out"/compile.log "$out"/cuda.log "$out"/ffi.log "$out"/timing.log 2>/dev/null |
  awk '{ p += $4; f += $6 } END { printf "rust tests: %d passed, %d failed\n", p, f }'
if [ "$failed" -ne 0 ]; then
  printf 'failed step: %s\n' "${failures[@]}"
fi
echo "gpu-check: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
