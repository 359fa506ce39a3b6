#!/usr/bin/env bash
# Installs what the test command (scripts/test-all.sh) needs on a fresh machine, and
# nothing that is already there, so that running it again costs seconds. test-all.sh
# runs it first; CI (.ci/run) runs it with --fuzz. It needs the Rust toolchain
# (rustup) and, for the system packages, a Debian or Ubuntu machine with apt-get (as
# root, or with sudo).
#
#   - rustup: the thumbv7em-none-eabihf target; rustfmt, clippy and llvm-tools.
#   - apt-get: gcc-arm-none-eabi, libnewlib-arm-none-eabi and qemu-system-arm (the
#     firmware demo), openmpi-bin and libopenmpi-dev (the MPI test), valgrind,
#     pkg-config, cmake and gfortran (the install and consumer tests), a C++
#     compiler where there is none, and python3-venv where Python cannot make a
#     virtual environment.
#   - a virtual environment, .venv at the repository root (KN_VENV overrides it),
#     with the PyPI wheels nvidia-cuda-nvrtc-cu12 and nvidia-cuda-nvcc-cu12: NVRTC and
#     ptxas, so the CUDA kernels are compiled for sm_90 without a GPU.
#     scripts/cuda-tools.sh finds them there (or in the system Python's packages).
#   - with --fuzz: the nightly toolchain and cargo-fuzz (scripts/fuzz.sh).
#
# Usage: scripts/setup.sh [--fuzz]
set -euo pipefail
cd "$(dirname "$0")/.."

fuzz=0
for arg in "$@"; do
  case $arg in
    --fuzz) fuzz=1 ;;
    *)
      echo "usage: $0 [--fuzz]" >&2
      exit 2
      ;;
  esac
done

say() { echo "setup: $*"; }

if ! command -v rustup >/dev/null 2>&1; then
  say "rustup not found: install Rust from https://rustup.rs first" >&2
  exit 1
fi

# Rust target and components (rustup does nothing for those already installed).
if ! rustup target list --installed | grep -qx thumbv7em-none-eabihf; then
  rustup target add thumbv7em-none-eabihf
fi
out=$(rustup component add rustfmt clippy llvm-tools 2>&1) || {
  echo "$out"
  exit 1
}
grep -v 'is up to date' <<<"$out" || true

# System packages, each installed only when missing: asked of dpkg where there is
# one, else judged by the command it provides ("-" for a library: not checked).
missing=()
need() {
  local package=$1 command=$2
  if command -v dpkg-query >/dev/null 2>&1; then
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null)" = installed ] ||
      missing+=("$package")
  elif [ "$command" != - ] && ! command -v "$command" >/dev/null 2>&1; then
    missing+=("$package")
  fi
}
need gcc-arm-none-eabi arm-none-eabi-gcc
need libnewlib-arm-none-eabi -
need qemu-system-arm qemu-system-arm
need openmpi-bin mpirun
need libopenmpi-dev mpicc
need valgrind valgrind
need pkg-config pkg-config
need cmake cmake
need gfortran gfortran
command -v c++ >/dev/null 2>&1 || need g++ c++
command -v python3 >/dev/null 2>&1 || need python3 python3

apt_install() {
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
      sudo=(sudo)
    else
      say "not root and no sudo: install these packages, then run again: $*" >&2
      return 1
    fi
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    say "no apt-get on this machine: install the equivalents of these Debian packages, then run again: $*" >&2
    return 1
  fi
  say "apt-get install $*"
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "$@" >/dev/null
}
if [ ${#missing[@]} -gt 0 ]; then
  apt_install "${missing[@]}"
fi

# NVRTC and ptxas in the project's virtual environment (PEP 668: a stock Debian
# Python refuses pip installs into the system). Debian's python3 makes one only
# with python3-venv (ensurepip).
venv=${KN_VENV:-.venv}
wheels=(nvidia-cuda-nvrtc-cu12 nvidia-cuda-nvcc-cu12)
if ! "$venv/bin/python" -c 'import nvidia.cuda_nvrtc, nvidia.cuda_nvcc' >/dev/null 2>&1; then
  say "python3 -m venv $venv; pip install ${wheels[*]}"
  if ! [ -x "$venv/bin/pip" ]; then
    rm -rf "$venv"
    if ! python3 -m venv "$venv"; then
      rm -rf "$venv"
      apt_install python3-venv
      python3 -m venv "$venv"
    fi
  fi
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${wheels[@]}"
fi

if [ "$fuzz" = 1 ]; then
  if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    rustup toolchain install nightly --profile minimal
  fi
  if ! cargo fuzz --version >/dev/null 2>&1; then
    # No prebuilt binary is on a package registry; built from crates.io (about
    # 1.5 minutes on 2 cores).
    say "cargo install cargo-fuzz"
    cargo install cargo-fuzz --locked
  fi
fi
say "done"
