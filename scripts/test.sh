#!/usr/bin/env bash
# scripts/test.sh — THE test command: installs what is missing, then configures, builds and runs every
# test (ctest) in one or more configurations, each with -Wall -Wextra -Werror:
#   gcc         g++ 12, Release (-O3), examples and benchmarks built too (the default; ctest runs a
#               short benchmark smoke test). Examples are compiled at -O1 here: no test runs them, they
#               are built to check that they compile warning-free (scripts/main.sh builds them at -O3).
#   clang-asan  clang++ 14, Debug (-O0: compiles twice as fast as -O1, which CI's time needs more than
#               faster tests), AddressSanitizer + UndefinedBehaviorSanitizer, tests only
#   clang       clang++ 14, Release, tests only
#   asan        g++ 12, Debug, AddressSanitizer + UndefinedBehaviorSanitizer, tests only
# --all runs gcc and clang-asan: both compilers, and the sanitizers, in CI's time (clang and asan are
# there for local use).
# Usage: scripts/test.sh [--all | --config NAME ...] [--no-deps] [-- extra ctest arguments]
# Environment: ARCHETYPE_TEST_CONFIGS="gcc clang asan" (instead of --config), ARCHETYPE_JOBS (default 2),
#              ARCHETYPE_SHARED_DATA (default ../shared/data beside the repository).
# Builds in build/test-<config>. Prints per configuration the build and test times and the slowest
# translation units, and ends with the line "N passed, N failed" summed over the configurations
# (a test whose executable does not build fails as "Not Run"; a configuration that does not configure, or
# whose only build failure is not a test, counts as one failure). Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD

configs=()
deps=1
ctest_extra=()
while (($#)); do
    case $1 in
        --all) configs=(gcc clang-asan) ;;
        --config) configs+=("$2"); shift ;;
        --no-deps) deps=0 ;;
        --) shift; ctest_extra=("$@"); break ;;
        -h|--help) awk 'NR > 1 && /^#/ { print substr($0, 3); next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) echo "test.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
    shift
done
if ((${#configs[@]} == 0)); then
    read -r -a configs <<<"${ARCHETYPE_TEST_CONFIGS:-gcc}"
fi
jobs=${ARCHETYPE_JOBS:-2}

if ((deps)); then
    bash scripts/install-deps.sh
fi

pick() {  # first of the named programs that exists
    for p in "$@"; do
        if command -v "$p" >/dev/null; then command -v "$p"; return; fi
    done
    echo "test.sh: none of $* is installed" >&2
    return 1
}

shared_args=()
if [[ -n ${ARCHETYPE_SHARED_DATA:-} ]]; then
    shared_args=(-DARCHETYPE_SHARED_DATA_DIR="$ARCHETYPE_SHARED_DATA")
fi

total_passed=0
total_failed=0
summary=()

run_config() {
    local name=$1 cxx type
    local -a extra=()
    case $name in
        gcc) cxx=$(pick g++-12 g++); type=Release
             extra=(-DARCHETYPE_BUILD_BENCHMARKS=ON -DARCHETYPE_EXAMPLE_FLAGS=-O1) ;;
        clang-asan) cxx=$(pick clang++-14 clang++); type=Debug
             extra=(-DARCHETYPE_SANITIZE=ON -DARCHETYPE_BUILD_EXAMPLES=OFF) ;;
        clang) cxx=$(pick clang++-14 clang++); type=Release; extra=(-DARCHETYPE_BUILD_EXAMPLES=OFF) ;;
        asan) cxx=$(pick g++-12 g++); type=Debug; extra=(-DARCHETYPE_SANITIZE=ON -DARCHETYPE_BUILD_EXAMPLES=OFF) ;;
        *) echo "test.sh: unknown configuration '$name' (gcc, clang-asan, clang or asan)" >&2; return 2 ;;
    esac
    local dir=build/test-$name
    echo
    echo "=== $name: $("$cxx" --version | sed -n 1p), $type${extra:+, ${extra[*]}} in $dir"
    local t0 t1 t2
    t0=$(date +%s)
    if ! cmake -S . -B "$dir" -G Ninja -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE="$type" \
            -DARCHETYPE_BUILD_TESTS=ON "${extra[@]}" "${shared_args[@]}"; then
        echo "=== $name: configure FAILED"
        total_failed=$((total_failed + 1))
        summary+=("$(printf '%-10s configure FAILED' "$name")")
        return 0
    fi
    # Keep going past a broken target: its tests then fail in ctest ("Not Run"), the others still run.
    local build_status="build"
    if ! cmake --build "$dir" -j "$jobs" -- -k 0; then
        echo "=== $name: build FAILED (see above); running the tests that did build"
        build_status="BUILD FAILED"
    fi
    t1=$(date +%s)
    echo "=== $name: slowest compile steps (s, from .ninja_log)"
    awk -F'\t' '!/^#/ && $4 ~ /\.o$/ {printf "%8.1f  %s\n", ($2 - $1) / 1000, $4}' "$dir/.ninja_log" |
        sort -rn | sed -n 1,8p  # sed reads all: head could stop sort with SIGPIPE (pipefail)

    local log=$dir/ctest-output.txt
    local -a env=()
    if [[ $name == *asan ]]; then
        env=(ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1:check_initialization_order=1
             UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1)
    fi
    (cd "$dir" && env "${env[@]}" ctest --output-on-failure --no-tests=error --timeout 900 -j "$jobs" "${ctest_extra[@]}") \
        2>&1 | tee "$log" || true
    t2=$(date +%s)
    local line passed failed
    line=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n1 || true)
    if [[ $line =~ ([0-9]+)\ tests?\ failed\ out\ of\ ([0-9]+) ]]; then
        failed=${BASH_REMATCH[1]}
        passed=$((BASH_REMATCH[2] - failed))
    else
        echo "=== $name: ctest ran no test or did not finish"
        passed=0
        failed=1
    fi
    if [[ $build_status != build ]] && ((failed == 0)); then
        failed=1  # a target that is not a test (an example) failed to build
    fi
    total_passed=$((total_passed + passed))
    total_failed=$((total_failed + failed))
    summary+=("$(printf '%-10s %s %4ds  tests %4ds  %d passed, %d failed' \
        "$name" "$build_status" $((t1 - t0)) $((t2 - t1)) "$passed" "$failed")")
}

start=$(date +%s)
for c in "${configs[@]}"; do
    run_config "$c"
done

echo
echo "=== summary (total $(($(date +%s) - start)) s)"
printf '%s\n' "${summary[@]}"
echo "${total_passed} passed, ${total_failed} failed"
((total_failed == 0))
