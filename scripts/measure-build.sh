#!/usr/bin/env bash
# scripts/measure-build.sh — compile time is a feature we measure: compiles each translation unit of
# the tests and examples alone (one at a time, nothing else running) under /usr/bin/time -v and prints
# a table of wall time, CPU time (user + system: what a busy machine does not inflate) and peak memory
# (max RSS of the compiler), with totals.
# Usage: scripts/measure-build.sh [gcc|clang] [Release|Debug]   (default: gcc Release)
# Builds in build/measure-<compiler>-<type>; installs what is missing first (ARCHETYPE_NO_DEPS=1 skips).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

compiler=${1:-gcc}
type=${2:-Release}
case $compiler in
    gcc) cxx=$(command -v g++-12 || command -v g++) ;;
    clang) cxx=$(command -v clang++-14 || command -v clang++) ;;
    *) echo "measure-build.sh: compiler is gcc or clang, not '$compiler'" >&2; exit 2 ;;
esac
if [[ ${ARCHETYPE_NO_DEPS:-0} != 1 ]]; then
    bash scripts/install-deps.sh
fi
dir=build/measure-$compiler-$type
cmake -S . -B "$dir" -G Ninja -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE="$type" \
    -DARCHETYPE_BUILD_TESTS=ON -DARCHETYPE_BUILD_EXAMPLES=ON >/dev/null

# The object files of tests/ and examples/, and the exact command ninja would run for each.
mapfile -t objects < <(ninja -C "$dir" -t targets all | sed -n 's/^\(\(tests\|examples\)\/[^:]*\.cpp\.o\): .*/\1/p' | sort)
if ((${#objects[@]} == 0)); then
    echo "measure-build.sh: no test or example objects found in $dir" >&2
    exit 1
fi

echo "compile of each translation unit alone: $("$cxx" --version | sed -n 1p), $type"
printf '%-44s %9s %9s %12s\n' "translation unit" "wall (s)" "cpu (s)" "max RSS (MB)"
total=0
total_cpu=0
failed=0
peak=0
for obj in "${objects[@]}"; do
    cmd=$(ninja -C "$dir" -t commands -s "$obj" | tail -n1)
    report=$(mktemp)
    if ! (cd "$dir" && /usr/bin/time -v -o "$report" sh -c "$cmd" >/dev/null 2>&1); then
        printf '%-44s %9s\n' "$(basename "$obj" .o)" "FAILED"
        failed=$((failed + 1))
        rm -f "$report"
        continue
    fi
    wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$report" |
        awk -F: '{s = 0; for (i = 1; i <= NF; ++i) s = s * 60 + $i; printf "%.2f", s}')
    cpu=$(awk -F': ' '/User time \(seconds\)|System time \(seconds\)/ {s += $2} END {printf "%.2f", s}' "$report")
    rss_kb=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$report")
    rm -f "$report"
    printf '%-44s %9s %9s %12d\n' "$(basename "$obj" .o)" "$wall" "$cpu" $((rss_kb / 1024))
    total=$(awk -v a="$total" -v b="$wall" 'BEGIN {printf "%.2f", a + b}')
    total_cpu=$(awk -v a="$total_cpu" -v b="$cpu" 'BEGIN {printf "%.2f", a + b}')
    ((rss_kb > peak)) && peak=$rss_kb
done
printf '%-44s %9s %9s %12d\n' "total (${#objects[@]} units, serial) / peak" "$total" "$total_cpu" $((peak / 1024))
if ((failed)); then
    echo "measure-build.sh: $failed translation units did not compile" >&2
    exit 1
fi
