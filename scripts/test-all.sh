#!/usr/bin/env bash
# Every check of the project, in one command (the README's test command):
#   formatting and lints, the Rust test suite (unit, property, header, CUDA compile;
#   the SIMD agreement tests once more per lower instruction set level;
#   the ffi also with its cuda feature), the C and C++ tests under AddressSanitizer and
#   UBSan and once under valgrind memcheck, the no_std/no-allocator proof for
#   thumbv7em-none-eabihf, the fuzz targets' build, and a quick run of the tour.
# It first runs scripts/setup.sh, which installs what is missing (rustup target and
# components, the Debian packages, NVRTC and ptxas in .venv) and does nothing on a
# machine that has it all; KN_SETUP=0 skips that.
# The checks that need a GPU skip loudly here; scripts/gpu-check.sh runs them.
# Any other check that cannot run says SKIPPED, and the run ends with the list of
# what was skipped. In CI mode (CI=true, as CI services set it) a step that skips
# anything but a GPU check fails.
set -uo pipefail
cd "$(dirname "$0")/.."

ci=0
case ${CI:-} in
  true | 1)
    ci=1
    # Missing tools are failures, not skips.
    export KN_REQUIRE_NVRTC=1 KN_REQUIRE_VALGRIND=1 KN_REQUIRE_FIRMWARE=1 KN_REQUIRE_MPI=1 \
      KN_REQUIRE_CONSUMER=1
    ;;
esac

if [ "${KN_SETUP:-1}" != 0 ]; then
  echo "==> set-up (scripts/setup.sh)"
  if ! scripts/setup.sh; then
    echo "set-up failed: the steps whose tools are missing will say SKIPPED (or fail in CI mode)"
  fi
fi

passed=0
failed=0
failures=()
logs=target/test-all
mkdir -p "$logs"
: >"$logs/skipped.txt"
# SKIPPED lines of checks that need hardware the machine lacks, the only ones CI mode
# accepts: a GPU (a CUDA device: kernels-cuda/tests/common, kernels-ffi/tests/cuda_*,
# tests/c/test_cuda.c) or an instruction set of the CPU (AVX-512 on an AVX2 machine:
# lower_simd_levels below names it).
hardware_skips='SKIPPED: GPU check |SKIPPED: [a-z_:]+: (no CUDA device|a CUDA device is present)|SKIPPED: CUDA part of the C tests: no device|SKIPPED: the [A-Z0-9+ -]+ kernels \(this CPU lacks'
# Each step's wall time, listed at the end: where the test command's time goes.
: >"$logs/times.txt"
step() {
  local name=$1
  shift
  echo
  echo "==> $name"
  local started=$SECONDS
  "$@" 2>&1 | tee "$logs/step.log"
  local ok=${PIPESTATUS[0]}
  printf '%6d s  %s\n' "$((SECONDS - started))" "$name" >>"$logs/times.txt"
  # Each SKIPPED line once (the Rust tests write theirs to both streams, possibly
  # after the harness's "test name ... ").
  local skipped
  skipped=$(grep -oE 'SKIPPED.*' "$logs/step.log" | sort -u)
  if [ -n "$skipped" ]; then
    awk -v step="[$name] " '{ print step $0 }' <<<"$skipped" >>"$logs/skipped.txt"
    local not_hardware
    not_hardware=$(grep -Ev "$hardware_skips" <<<"$skipped")
    if [ "$ok" -eq 0 ] && [ "$ci" = 1 ] && [ -n "$not_hardware" ]; then
      echo "CI mode (CI=true): only checks that need hardware this machine lacks may be skipped; this step skipped:"
      echo "$not_hardware"
      ok=1
    fi
  fi
  if [ "$ok" -eq 0 ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    failures+=("$name")
    echo "FAILED: $name"
  fi
}

# NVRTC and ptxas from the PyPI wheels, when installed. Tests that need them say
# loudly when they skip (KN_REQUIRE_NVRTC=1 turns a skip into a failure, as CI does).
. scripts/cuda-tools.sh
echo "NVRTC: ${nvrtc_dir:-not found}; ptxas: ${KN_PTXAS:-not found}"

# A check whose tools are missing says SKIPPED loudly and passes, unless the named
# KN_REQUIRE_* variable is 1 (CI mode sets them all): then it fails.
have_tools() {
  local require=$1 why=$2
  shift 2
  local tool
  for tool in "$@"; do
    if ! command -v "$tool" >/dev/null 2>&1; then
      if [ "${!require:-0}" = 1 ]; then
        echo "$tool not found, and $require=1: $why"
        return 2
      fi
      echo "SKIPPED: $tool not found ($why)"
      return 1
    fi
  done
}

step "rustfmt" cargo fmt --all --check
step "clippy" cargo clippy --workspace --all-targets --locked -- -D warnings
step "cargo test" cargo test --workspace --locked
# The hot kernels pick their instruction set at run time; the run above used the
# highest this machine has. The tests that compare SIMD with the scalar reference run
# again at each lower level (KN_SIMD caps it). A level this CPU lacks cannot be tested
# here at all: it is named as SKIPPED, so a green run on such a machine does not claim
# it.
lower_simd_levels() {
  local level ok=0 flags
  flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null)
  if [ "$(uname -m)" = x86_64 ]; then
    case " $flags " in
      *" avx2 "*" fma "* | *" fma "*" avx2 "*) echo "AVX2+FMA: available, tested" ;;
      *) echo "SKIPPED: the AVX2+FMA kernels (this CPU lacks avx2/fma; they run nowhere in this test run)" ;;
    esac
    case " $flags " in
      *" avx512f "*) echo "AVX-512: available, tested (the default level of the run above)" ;;
      *) echo "SKIPPED: the AVX-512 kernels (this CPU lacks avx512f; they run nowhere in this test run)" ;;
    esac
  else
    echo "SKIPPED: the AVX2 and AVX-512 kernels (not an x86_64 machine: only the portable level exists)"
  fi
  for level in portable avx2; do
    echo "-- KN_SIMD=$level"
    KN_SIMD=$level cargo test --locked -p kernels-tests --test simd_vs_scalar \
      --test sinkhorn --test unbalanced --test batch --test sns --test h2o --test linattn --test cg \
      --test sor --test golden || ok=1
  done
  return $ok
}
step "SIMD agreement at the lower instruction set levels" lower_simd_levels
# The kn_cuda_* entry points are compiled for real only with the ffi's `cuda` feature.
step "cargo test (kernels-ffi with the cuda feature)" cargo test -p kernels-ffi --features cuda --locked
step "clippy (cuda feature)" cargo clippy -p kernels-ffi -p kernels-cuda --features kernels-ffi/cuda \
  --all-targets --locked -- -D warnings

c_tests() {
  local out=target/ctests
  mkdir -p "$out"
  # With the cuda feature, so that tests/c/test_cuda.c runs the real kn_cuda_* path (on a
  # machine with a GPU) or checks KN_ERR_UNSUPPORTED (without one).
  cargo build -p kernels-ffi --features cuda --locked || return 1
  local lib=target/debug/libkernels.a
  local san=(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g)
  local libs=(-lpthread -ldl -lm)
  # protect_shadow_gap=0: the CUDA driver maps memory where ASan would reserve its gap.
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:protect_shadow_gap=0
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  # Every C and C++ program under tests/ is built strictly and run; each kernel family
  # adds its own file.
  local src exe
  for src in tests/c/*.c; do
    exe="$out/$(basename "$src" .c)"
    cc -std=c11 -Wall -Wextra -Werror -pedantic "${san[@]}" -Iinclude \
      "$src" "$lib" "${libs[@]}" -o "$exe" || return 1
    "$exe" || return 1
  done
  for src in tests/cpp/*.cpp; do
    exe="$out/$(basename "$src" .cpp)_cpp"
    c++ -std=c++17 -Wall -Wextra -Werror -pedantic "${san[@]}" -Iinclude \
      "$src" "$lib" "${libs[@]}" -o "$exe" || return 1
    "$exe" || return 1
  done
  # The header alone must be valid C99 and C++11, and the shared library must link.
  echo '#include "kernels.h"' | cc -std=c99 -Wall -Wextra -Werror -pedantic -Iinclude -x c -fsyntax-only - || return 1
  echo '#include "kernels.h"' | c++ -std=c++11 -Wall -Wextra -Werror -pedantic -Iinclude -x c++ -fsyntax-only - || return 1
  cc -std=c11 -Wall -Wextra -Werror -Iinclude tests/c/test_status.c -Ltarget/debug -lkernels \
    -Wl,-rpath,"$PWD/target/debug" -o "$out/test_status_shared" || return 1
  "$out/test_status_shared" >/dev/null
}
step "C and C++ tests (ASan + UBSan, static and shared library)" c_tests

# The same C and C++ tests once more, built without sanitizers (they replace malloc and
# cannot run under valgrind), under valgrind memcheck: any invalid access, use of
# uninitialised memory or leak fails the step (the thread pool's never-joined workers
# excepted: tests/c/valgrind.supp). The library is the default build (no
# cuda feature: the CUDA driver does not run under valgrind), so test_cuda.c checks
# the KN_ERR_UNSUPPORTED path here.
valgrind_tests() {
  have_tools KN_REQUIRE_VALGRIND "apt-get install valgrind" valgrind
  case $? in 1) return 0 ;; 2) return 1 ;; esac
  cargo build -p kernels-ffi --locked || return 1
  local out=target/valgrind lib=target/debug/libkernels.a libs=(-lpthread -ldl -lm)
  local vg=(valgrind -q --error-exitcode=1 --leak-check=full --suppressions=tests/c/valgrind.supp)
  mkdir -p "$out"
  local src exe
  for src in tests/c/*.c tests/cpp/*.cpp; do
    exe="$out/$(basename "$src")"
    case $src in
      *.c) cc -std=c11 -Wall -Wextra -Werror -pedantic -g -Iinclude "$src" "$lib" "${libs[@]}" -o "$exe" ;;
      *) c++ -std=c++17 -Wall -Wextra -Werror -pedantic -g -Iinclude "$src" "$lib" "${libs[@]}" -o "$exe" ;;
    esac || return 1
    "${vg[@]}" "$exe" >/dev/null || { echo "valgrind: $exe failed"; return 1; }
  done
  echo "valgrind memcheck: no errors in $(ls tests/c/*.c tests/cpp/*.cpp | wc -l) C/C++ test programs"
}
step "C and C++ tests under valgrind memcheck" valgrind_tests

no_std_proof() {
  local target=thumbv7em-none-eabihf
  cargo build --locked --release --target $target -p kernels-core -p kernels-simd || return 1
  local firmware=(--locked --release --target $target -p kernels-ffi --no-default-features
    --features panic-handler)
  cargo clippy "${firmware[@]}" -- -D warnings || return 1
  cargo build "${firmware[@]}" || return 1
  CARGO_TARGET_DIR=target/link-check cargo build --release --target $target \
    --manifest-path firmware/link-check/Cargo.toml || return 1
  local nm
  nm=$(find "$(rustc --print sysroot)" -name llvm-nm -type f | head -n 1)
  if [ -z "$nm" ]; then
    echo "llvm-nm not found: rustup component add llvm-tools"
    return 1
  fi
  local lib=target/$target/release/libkernels.a
  local bad
  bad=$("$nm" --undefined-only "$lib" 2>/dev/null | grep -E '(__rust_(alloc|dealloc|realloc|alloc_zeroed)|__rg_alloc|\b(malloc|calloc|realloc|free|posix_memalign|aligned_alloc)\b)' | sort -u)
  if [ -n "$bad" ]; then
    echo "the firmware library needs an allocator:"
    echo "$bad"
    return 1
  fi
  echo "no allocator symbols in $lib; the no_main link check linked $(ls target/link-check/$target/release/kernels-link-check)"
}
step "no_std and no-allocator proof (thumbv7em-none-eabihf)" no_std_proof

firmware_qemu() {
  have_tools KN_REQUIRE_FIRMWARE \
    "apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm" \
    arm-none-eabi-gcc qemu-system-arm
  case $? in 1) return 0 ;; 2) return 1 ;; esac
  firmware/qemu/run.sh
}
step "firmware demo on a Cortex-M4 under QEMU, compared with the host" firmware_qemu

# MPI programs under tests/mpi (the LASP-2 state reduction across ranks), run on 4
# ranks of this machine.
mpi_tests() {
  have_tools KN_REQUIRE_MPI "apt-get install openmpi-bin libopenmpi-dev" mpicc mpirun
  case $? in 1) return 0 ;; 2) return 1 ;; esac
  cargo build -p kernels-ffi --locked || return 1
  local out=target/mpitests src exe
  mkdir -p "$out"
  for src in tests/mpi/*.c; do
    exe="$out/$(basename "$src" .c)"
    mpicc -std=c11 -Wall -Wextra -Werror -pedantic -Iinclude "$src" target/debug/libkernels.a \
      -lpthread -ldl -lm -o "$exe" || return 1
    timeout 300 mpirun --allow-run-as-root --oversubscribe -np 4 "$exe" || return 1
  done
}
step "MPI tests (OpenMPI, 4 ranks)" mpi_tests

# Install into a temporary prefix; C (pkg-config), C++ (CMake) and Fortran programs use it.
step "install and consumer tests (pkg-config, CMake, Fortran)" scripts/consumer-test.sh
step "fuzz targets build" cargo check --manifest-path fuzz/Cargo.toml --bins
step "tour (quick)" cargo run --locked --release -p kernels-tour -- --quick --out target/tour-quick

echo
echo "time per step:"
cat "$logs/times.txt"
if [ -s "$logs/skipped.txt" ]; then
  echo "skipped in this run (the GPU checks run in scripts/gpu-check.sh):"
  cat "$logs/skipped.txt"
fi
if [ "$failed" -ne 0 ]; then
  printf 'failed step: %s\n' "${failures[@]}"
fi
echo "test-all: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
