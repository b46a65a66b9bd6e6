#!/usr/bin/env bash
# scripts/main.sh — THE main-job command: installs what is missing, builds the example
# lenet_fashion_mnist (g++ 12, Release, in build/main) and runs it: LeNet-5 trained on Fashion-MNIST
# (/usr/share/datasets/fashion-mnist, from the package dataset-fashion-mnist), test accuracy per epoch.
# Extra arguments go to the program, e.g. scripts/main.sh --epochs 2 --threads 2
# Environment: ARCHETYPE_JOBS (parallel compile jobs, default 2).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install-deps.sh
cxx=$(command -v g++-12 || command -v g++)
cmake -S . -B build/main -G Ninja -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=Release \
    -DARCHETYPE_BUILD_TESTS=OFF -DARCHETYPE_BUILD_EXAMPLES=ON
cmake --build build/main -j "${ARCHETYPE_JOBS:-2}" --target lenet_fashion_mnist
exec build/main/examples/lenet_fashion_mnist "$@"
