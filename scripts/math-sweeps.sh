#!/usr/bin/env bash
# The long accuracy sweeps of kernels-simd's vector exp and ln (the `exhaustive_*`
# tests, ignored by the default `cargo test`): every f32 input of exp_f32x8 and
# ln_f32x8, and 2^27 random inputs each of exp_f64x4 and ln_f64x4, each held to the
# measured maximum its doc comment states (kernels-simd/src/math.rs, "Accuracy, and
# what checks it"). They run twice, in release: in the default build (`wide` without
# FMA on x86_64) and with `-C target-feature=+avx2,+fma` (fused mul_add), in a target
# directory of its own so the default build is not rebuilt.
#
# Measured on 2 cores (Intel Xeon, shared with other work): 4.5 minutes in all in a CI
# run, after the test command had built the release dependencies (each pass a build
# of 0.5 to 0.7 minutes and 1.5 to 1.8 minutes of sweeps; the f32 sweeps split over
# the cores); 6.6 minutes under heavier load. CI runs it after the test command.
set -euo pipefail
cd "$(dirname "$0")/.."

target=${CARGO_TARGET_DIR:-target}
sweep() {
  cargo test --locked -p kernels-simd --release --lib -- --ignored exhaustive \
    --nocapture --test-threads 1
}

echo "==> math sweeps: default build (no FMA)"
time sweep

if [ "$(uname -m)" = x86_64 ] && grep -m1 '^flags' /proc/cpuinfo | grep -qw fma \
  && grep -m1 '^flags' /proc/cpuinfo | grep -qw avx2; then
  echo "==> math sweeps: -C target-feature=+avx2,+fma"
  time CARGO_TARGET_DIR="$target/math-fma" RUSTFLAGS="-C target-feature=+avx2,+fma" sweep
else
  echo "SKIPPED: the FMA pass of the math sweeps (this CPU lacks avx2/fma)"
  case ${CI:-} in true | 1) exit 1 ;; esac
fi
echo "math sweeps: every bound held"
