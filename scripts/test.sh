#!/bin/sh
# Installs every package the tests need, builds Portcullis twice (a normal
# build and one with AddressSanitizer + UndefinedBehaviorSanitizer) and runs
# the whole suite (CUnit units, integration tests, fuzz smoke runs) in both.
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
jobs=$(nproc)

run_suite() {
    dir=$1; label=$2; target=$3; shift 3
    # Tests are switched on explicitly: a build/ left configured by the quick
    # start (tests off) must not turn this into a run of nothing.
    cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPORTCULLIS_TESTS=ON "$@" >/dev/null
    cmake --build "$dir" -j"$jobs" --target "$target"
    (cd "$dir" && ctest --output-on-failure --no-tests=error -j"$jobs" --timeout 600 $label)
}

echo "== normal build =="
run_suite build "-LE fuzz" all
echo "== ASan + UBSan build =="
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
run_suite build-sanitize "-LE fuzz" all -DPORTCULLIS_SANITIZE=ON -DPORTCULLIS_BENCH=OFF
unset ASAN_OPTIONS UBSAN_OPTIONS
echo "== fuzz harnesses (clang, libFuzzer, 20 s each) =="
CC=clang run_suite build-fuzz "-L fuzz" fuzzers -DPORTCULLIS_FUZZ=ON -DPORTCULLIS_BENCH=OFF \
    -DPORTCULLIS_TESTS=ON -DPORTCULLIS_FUZZ_SECONDS=20
