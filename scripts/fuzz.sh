#!/usr/bin/env bash
# Runs every cargo-fuzz target (fuzz/Cargo.toml) for a fixed budget each:
# KN_FUZZ_SECONDS, default 20. CI runs it after the test command. The committed
# corpus (fuzz/corpus/<target>) seeds each run and is never written to: new inputs
# go to target/fuzz-corpus/<target>, a crash to fuzz/artifacts/<target>/ (both
# ignored by git). The corpus is also replayed without a fuzzer by `cargo test`
# (tests/tests/fuzz_corpus.rs), so a committed reproducer stays a regression test.
# Needs the nightly toolchain and cargo-fuzz (scripts/setup.sh --fuzz installs both);
# without them it says SKIPPED, and fails in CI mode (CI=true).
#
# Takes about 12 x the budget divided by the cores (KN_FUZZ_JOBS targets run at a
# time, default one per core), plus one build of the targets (ASan, release: 3.7
# minutes from scratch on 2 cores).
set -uo pipefail
cd "$(dirname "$0")/.."

secs=${KN_FUZZ_SECONDS:-20}
if ! rustup run nightly rustc --version >/dev/null 2>&1 || ! cargo fuzz --version >/dev/null 2>&1; then
  echo "SKIPPED: fuzzing (needs the nightly toolchain and cargo-fuzz: scripts/setup.sh --fuzz)"
  case ${CI:-} in true | 1) exit 1 ;; esac
  exit 0
fi

echo "==> fuzz: build every target"
cargo +nightly fuzz build || exit 1
targets=$(cargo +nightly fuzz list) || exit 1
logs=target/fuzz-logs
mkdir -p "$logs"
# One target per core at a time (libFuzzer runs on one core).
jobs=${KN_FUZZ_JOBS:-$(nproc)}
fuzz_one() {
  local t=$1 scratch=target/fuzz-corpus/$1
  mkdir -p "$scratch" "fuzz/corpus/$t"
  # -timeout: one input running 60 s is a hang (every target's sizes are small).
  cargo +nightly fuzz run "$t" "$scratch" "fuzz/corpus/$t" -- \
    -max_total_time="$secs" -timeout=60 -print_final_stats=1 >"$logs/$t.log" 2>&1
  echo $? >"$logs/$t.rc"
}
echo "==> fuzz: $(wc -w <<<"$targets") targets, ${secs} s each, $jobs at a time"
for t in $targets; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
    wait -n
  done
  fuzz_one "$t" &
done
wait
failed=()
for t in $targets; do
  if [ "$(cat "$logs/$t.rc")" = 0 ]; then
    runs=$(grep -o 'Done [0-9]* runs in [0-9]* second(s)' "$logs/$t.log" | tail -n 1)
    cov=$(grep -o 'cov: [0-9]*' "$logs/$t.log" | tail -n 1)
    echo "fuzz $t: ${runs:-no summary}, ${cov:-no coverage figure}, no crash"
  else
    echo "FAILED: fuzz $t; from its log ($logs/$t.log):"
    grep -E -A2 "panicked at|ERROR: (AddressSanitizer|libFuzzer)" "$logs/$t.log" | head -n 30
    grep -E "^SUMMARY|Test unit written to|^Base64:|^stat::" "$logs/$t.log"
    echo "reproduce: cargo +nightly fuzz run $t fuzz/artifacts/$t/<file>; or copy the file"
    echo "into fuzz/corpus/$t/ and run cargo test -p kernels-tests --test fuzz_corpus"
    failed+=("$t")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: ${#failed[@]} target(s) failed: ${failed[*]}"
  exit 1
fi
echo "fuzz: $(wc -w <<<"$targets") targets, ${secs} s each, no crash"
