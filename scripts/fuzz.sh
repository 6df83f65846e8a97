#!/usr/bin/env bash
# Fuzzes strata's file readers with cargo-fuzz (libFuzzer + AddressSanitizer; needs the
# nightly toolchain), one target after the other:
#
#   scripts/fuzz.sh SECONDS [TARGET...]     # default: every target in fuzz/fuzz_targets
#
# Targets: idx (IDX/gzip), csv, arff, image (pictures and IDX for `strata predict`),
# model (saved model.safetensors with its embedded description), spec (TOML spec files,
# built as `strata summary` builds them). Each runs for SECONDS from its committed seeds
# (fuzz/seeds/TARGET) and the corpus it grew before (fuzz/corpus/TARGET, not committed),
# with a memory limit (an allocation above 2 GiB, or 2 GiB resident, is an
# out-of-memory failure) and a 10 s limit per input (longer is a hang). libFuzzer stops a
# target at its first failure and writes the input to fuzz/artifacts/TARGET/
# (crash-*, oom-*, timeout-*; reproduce with `cargo +nightly fuzz run TARGET FILE`).
#
# Prints one line per target: seconds run, executions, executions per second, and the
# failures found; the libFuzzer logs are in fuzz/logs/. Exits 1 when any target failed.
#
# Environment: FUZZ_JOBS_NICE (default 10) is the nice level of the build and the runs;
# RAYON_NUM_THREADS (default 1) the kernels' worker threads.
set -uo pipefail
cd "$(dirname "$0")/.."

usage() { echo "usage: scripts/fuzz.sh SECONDS [TARGET...]" >&2; exit 2; }
[[ $# -ge 1 && $1 =~ ^[0-9]+$ && $1 -gt 0 ]] || usage
SECONDS_PER_TARGET=$1
shift
ALL=$(for f in fuzz/fuzz_targets/*.rs; do basename "$f" .rs; done)
TARGETS=("$@")
[[ ${#TARGETS[@]} -gt 0 ]] || read -r -a TARGETS <<< "$(echo $ALL)"
for t in "${TARGETS[@]}"; do
    [[ -f fuzz/fuzz_targets/$t.rs ]] || { echo "unknown target '$t' (targets: $(echo $ALL))" >&2; exit 2; }
done

NICE="nice -n ${FUZZ_JOBS_NICE:-10}"
export RAYON_NUM_THREADS=${RAYON_NUM_THREADS:-1}
# strata refuses what would not fit in 1 GiB (its own memory check, as on a small machine),
# so an honest refusal is not mistaken for libFuzzer's 2 GiB allocation limit.
export STRATA_MEMORY_MB=${STRATA_MEMORY_MB:-1024}
# The same build options for `build` and `run`, so that `run` does not rebuild.
BUILD_OPTS=(--codegen-units 4)

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "the nightly toolchain is missing: rustup toolchain install nightly" >&2
    exit 2
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz"
    $NICE cargo install cargo-fuzz || exit 2
fi

mkdir -p fuzz/logs
echo "building the fuzz targets (cargo +nightly fuzz build; log: fuzz/logs/build.log)"
if ! $NICE cargo +nightly fuzz build "${BUILD_OPTS[@]}" > fuzz/logs/build.log 2>&1; then
    tail -n 30 fuzz/logs/build.log >&2
    exit 2
fi
SCRATCH=$(mktemp -d -t strata-fuzz-XXXXXX)
trap 'rm -rf "$SCRATCH"' EXIT
export STRATA_FUZZ_TMP=$SCRATCH

status=0
summary=()
for t in "${TARGETS[@]}"; do
    mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
    log=fuzz/logs/$t.log
    stamp=$SCRATCH/stamp-$t
    touch "$stamp"
    echo "fuzzing $t for ${SECONDS_PER_TARGET}s (log: $log)"
    start=$(date +%s)
    $NICE cargo +nightly fuzz run "${BUILD_OPTS[@]}" "$t" "fuzz/corpus/$t" "fuzz/seeds/$t" -- \
        -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=10 \
        -print_final_stats=1 -artifact_prefix="fuzz/artifacts/$t/" > "$log" 2>&1
    rc=$?
    wall=$(($(date +%s) - start))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    found=$(find "fuzz/artifacts/$t" -type f -newer "$stamp" \
        \( -name 'crash-*' -o -name 'oom-*' -o -name 'timeout-*' -o -name 'leak-*' \) | sort)
    nfound=$(printf '%s' "$found" | grep -c . || true)
    result=ok
    if [[ $nfound -gt 0 ]]; then
        result="FAILED: $(echo $found)"
    elif [[ $rc -ne 0 ]]; then
        result="FAILED: libFuzzer exited with $rc (see $log)"
    fi
    [[ $result == ok ]] || status=1
    line=$(printf '%-6s %6ss wall  %12s execs  %7s execs/s  %s failures  %s' \
        "$t" "$wall" "${execs:-?}" "${rate:-?}" "$nfound" "$result")
    echo "$line"
    summary+=("$line")
done

echo
echo "summary (${SECONDS_PER_TARGET}s per target):"
printf '%s\n' "${summary[@]}"
exit $status
