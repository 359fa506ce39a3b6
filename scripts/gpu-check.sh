#!/usr/bin/env bash
# The GPU check, in one command, on a machine with an NVIDIA GPU (sm_70 or newer) and
# its driver:
#
#   ./scripts/gpu-check.sh
#
# Runs every CUDA kernel against the CPU on generated data (tolerances are stated by
# each test, most are bit for bit) and prints the achieved bandwidth of the timed
# kernels against the measured device-to-device copy bandwidth, with the verdict on the
# issue's targets. Steps:
#   1. cargo test --release -p kernels-cuda -- --nocapture (every test file, even when
#      one fails): compile_all (NVRTC and ptxas for compute_70/80/90, no spills),
#      no_device.rs and every tests/gpu_*.rs of the package, on the device.
#   2. cargo test --release -p kernels-ffi --features cuda: the kn_cuda_* C ABI on
#      device memory against the host functions.
#   3. tests/c/test_cuda.c, linked with the release libkernels.a built with the cuda
#      feature (device memory from the CUDA driver API through dlopen), under UBSan
#      (ASan's shadow memory and the CUDA driver do not mix reliably).
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

out=target/gpu-check
mkdir -p "$out"
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
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | sed 's/^/GPU: /'
fi

step "kernels-cuda tests on the device (release)" cuda \
  cargo test --release --locked --no-fail-fast -p kernels-cuda -- --nocapture
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

echo
echo "==> summary"
# The result lines the tests print (each GPU check prints its own, to stdout and
# stderr: shown once), then the test counts.
cat "$out"/cuda.log "$out"/ffi.log "$out"/c.log 2>/dev/null |
  grep -E '^(GPU |SKIPPED|kernels-cuda \[|kn_cuda_|CUDA part|test_cuda:)|GB/s|bit-identical|tolerance|FAILED|panicked' |
  awk '!seen[$0]++'
grep -h '^test result:' "$out"/cuda.log "$out"/ffi.log 2>/dev/null |
  awk '{ p += $4; f += $6 } END { printf "rust tests: %d passed, %d failed\n", p, f }'
if [ "$failed" -ne 0 ]; then
  printf 'failed step: %s\n' "${failures[@]}"
fi
echo "gpu-check: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
