#!/usr/bin/env bash
# setup.sh - install every Debian package atalla-gen needs (idempotent).
#
# Quick when everything is present: it asks dpkg first and only calls apt-get
# for what is missing. Works as root or through sudo.
set -euo pipefail

PKGS=(
  build-essential cmake ninja-build pkg-config ccache python3
  # LLVM 19 (ORC, TargetMachine) and what its CMake config insists on.
  llvm-19-dev libzstd-dev zlib1g-dev libxml2-dev libffi-dev libedit-dev libncurses-dev
  # Frontend.
  libzip-dev nlohmann-json3-dev
  # Fallback and eager oracle (LibTorch 1.13). LibTorch reaches BLAS through
  # libblas.so.3, which Debian resolves by alternatives: install OpenBLAS
  # explicitly (what a fresh Debian user gets, and the fast one), so the
  # provider is a choice made here rather than an accident of what the
  # machine had. The tests pass with the reference BLAS too.
  libtorch-dev libopenblas0-pthread
  # oneDNN reference; its CMake config needs the OpenCL headers and loader.
  libdnnl-dev ocl-icd-opencl-dev opencl-c-headers
  # Tests and benchmarks.
  libgtest-dev libgmock-dev libbenchmark-dev
  # Benchmark charts (bench/plot_bench.py).
  python3-matplotlib
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PKGS[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "setup: need root or sudo to install: ${missing[*]}" >&2; exit 1
  fi
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "setup: done"
