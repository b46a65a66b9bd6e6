#!/usr/bin/env bash
# scripts/install-deps.sh — installs with apt-get (Debian 12) the packages archetype needs that are
# missing, and nothing else. apt-get update runs once, and only when something must be installed;
# sudo is used only when not running as root. Safe to run again: then it only checks.
set -euo pipefail

packages=(
    g++ clang-14 libclang-rt-14-dev  # compilers; the clang runtime has clang's sanitizers
    cmake ninja-build time           # build, and /usr/bin/time for scripts/measure-build.sh
    xtensor-dev libxsimd-dev libboost-dev zlib1g-dev  # what the library uses
    doctest-dev                      # tests
    libbenchmark-dev libdnnl-dev     # benchmarks (oneDNN is the reference they compare to)
    ocl-icd-opencl-dev               # oneDNN's CMake package file requires OpenCL (only a Recommends)
    dataset-fashion-mnist            # the data of the example (/usr/share/datasets/fashion-mnist)
)

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
        missing+=("$p")
    fi
done
if ((${#missing[@]} == 0)); then
    echo "install-deps: all ${#packages[@]} packages are installed"
    exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
    if ! command -v sudo >/dev/null; then
        echo "install-deps: missing ${missing[*]}; run as root or install sudo" >&2
        exit 1
    fi
    sudo=(sudo)
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
