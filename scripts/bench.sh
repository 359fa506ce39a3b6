#!/usr/bin/env bash
# Benchmarks, single thread: ./scripts/bench.sh [FAMILY ...]   (default: every family)
#
# Runs each family's benchmark twice, in a portable build and in a
# `-C target-cpu=native` build (wide picks its instruction set at compile time), and
# writes target/bench/{portable,native}/report.md. Peers in Python (numpy and the
# libraries listed in bench/requirements.txt) come from a virtual environment under
# target/bench-venv; benchmarks find its interpreter in KN_PYTHON.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=target/bench-venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r bench/requirements.txt
export KN_PYTHON="$PWD/$venv/bin/python"
# One thread everywhere, ours and the peers' BLAS. Some machines set OpenBLAS core-type
# overrides for old OpenBLAS builds; they slow a current numpy, so not here.
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE

echo "== portable build =="
cargo run --release --locked -p kernels-tour -- bench "$@" --out target/bench/portable
echo
echo "== native build (-C target-cpu=native) =="
RUSTFLAGS="-C target-cpu=native" CARGO_TARGET_DIR=target/native \
  cargo run --release --locked -p kernels-tour -- bench "$@" --out target/bench/native
