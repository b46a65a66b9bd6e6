#!/usr/bin/env bash
# scripts/main.sh — THE main-job command: installs what is missing, builds the example fashion_search
# (g++ 12, Release, in build/main) and runs it: a neural architecture search (NSGA-II, validation
# accuracy vs MACs, or vs lookup-table latency with --objective latency) over archetype::fashion_mnist_space
# on Fashion-MNIST (/usr/share/datasets/fashion-mnist, from the package dataset-fashion-mnist), validation
# held out of the training set; then a final selection by successive halving on real trainings among
# candidates from 3 MAC bands, and the winner, the best network within LeNet-5's MACs, a hand-designed
# CNN and LeNet-5 trained with one recipe and compared on the test set. About 14 minutes on 2 cores by
# default. Writes runs/fashion/: report.md, pareto.csv, pareto.svg, best.json,
# best_net.hpp, the search checkpoint and log; rerunning resumes.
# Extra arguments go to the program, e.g. scripts/main.sh --minutes 30 --out runs/fashion30 (beyond 15
# minutes the final trainings are augmented: shifts, mirroring, random erasing; see --help).
# Environment: ARCHETYPE_JOBS (parallel compile jobs, default 2).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install-deps.sh
cxx=$(command -v g++-12 || command -v g++)
cmake -S . -B build/main -G Ninja -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=Release \
    -DARCHETYPE_BUILD_TESTS=OFF -DARCHETYPE_BUILD_EXAMPLES=ON
cmake --build build/main -j "${ARCHETYPE_JOBS:-2}" --target fashion_search
exec build/main/examples/fashion_search "$@"
