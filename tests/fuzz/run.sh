#!/usr/bin/env bash
# A fuzzing campaign over every libFuzzer target (README.md here). Each
# target runs for SECONDS, starting from its committed seeds
# (corpus/<name>/, only read) and from what earlier campaigns found
# (OUT/corpus/<name>/, where new inputs go). A target that crashes is
# restarted until its time is up, so one bug does not end its run. At the
# end, one line per target: executions, coverage (cov: edges, ft: features,
# from libFuzzer's last status line) and crashes, whose inputs are saved in
# OUT/artifacts/<name>/ (replay one: BUILD_DIR/tests/fuzz/clang/<name> FILE).
#
# Usage: tests/fuzz/run.sh [-t SECONDS] [-j JOBS] [-o OUT] BUILD_DIR [TARGET...]
#   -t SECONDS  per target (default 300)
#   -j JOBS     targets run at the same time (default 1)
#   -o OUT      where corpora, artifacts and logs go (default BUILD_DIR/fuzz-campaign)
#   BUILD_DIR may be new or empty: it is configured and the targets built first.
#   TARGET      only these (e.g. heap_fuzz); default all
# tests/fuzz/run.sh --smoke BUILD_DIR: ctest's fuzz_smoke; 2 s per target, two
#   at a time, over the seeds; nothing built, nothing kept unless one crashes.
# Exit status: 0 when no target crashed, 1 when one did, 2 for a usage or
# build error.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
seconds=300
jobs=1
out=""
smoke=0
usage() { sed -n '11,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [[ $# -gt 0 ]]; do
    case "$1" in
        -t) seconds="${2:?}"; shift 2 ;;
        -o) out="${2:?}"; shift 2 ;;
        -j) jobs="${2:?}"; shift 2 ;;
        --smoke) smoke=1; seconds=2; jobs=2; shift ;;
        -h|--help) usage ;;
        -*) echo "run.sh: unknown option $1" >&2; usage ;;
        *) break ;;
    esac
done
[[ $# -ge 1 ]] || usage
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: -t takes whole seconds" >&2; exit 2; }
[[ "$jobs" =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: -j takes a number of targets" >&2; exit 2; }
build="$1"
shift
mkdir -p "$build"
build="$(cd "$build" && pwd)"
targets_file="$build/tests/fuzz/clang/targets.txt"

if [[ $smoke -eq 0 ]]; then
    if [[ ! -f "$build/CMakeCache.txt" ]]; then
        cmake -S "$root" -B "$build" -G Ninja >/dev/null || exit 2
    fi
    cmake --build "$build" --target exo_fuzz >/dev/null || {
        echo "run.sh: building the fuzz targets failed (is clang-14 with libclang-rt-14-dev installed?" \
             "cmake's output says why targets are skipped)" >&2
        exit 2
    }
fi
[[ -f "$targets_file" ]] || { echo "run.sh: no fuzz targets in $build (see cmake's output)" >&2; exit 2; }

if [[ $smoke -eq 1 ]]; then
    out="$(mktemp -d)"
elif [[ -z "$out" ]]; then
    out="$build/fuzz-campaign"
fi
mkdir -p "$out/corpus" "$out/artifacts" "$out/logs"

names=()
corpora=()
while read -r name corpus; do
    if [[ $# -eq 0 ]] || [[ " $* " == *" $name "* ]]; then
        names+=("$name")
        corpora+=("$corpus")
    fi
done <"$targets_file"
for wanted in "$@"; do
    [[ " ${names[*]} " == *" $wanted "* ]] || { echo "run.sh: no target $wanted (see $targets_file)" >&2; exit 2; }
done

# Hangs count as crashes: libFuzzer saves a timeout- input.
timeout=$(( smoke ? 10 : 25 ))
max_restarts=5

# One target for its time; its line of the report goes to OUT/report.N.
fuzz_target() {
    local i="$1" name="${names[$1]}"
    local bin="$build/tests/fuzz/clang/$name"
    local seeds="$root/tests/fuzz/corpus/${corpora[$1]}"
    local found="$out/corpus/$name" artifacts="$out/artifacts/$name"
    local execs=0 cov="-" ft="-" runs=0 status n line log
    local deadline=$(( SECONDS + seconds ))
    mkdir -p "$found" "$artifacts"
    [[ -d "$seeds" ]] || seeds=""
    while (( SECONDS < deadline && runs < max_restarts )); do
        log="$out/logs/$name.$runs.log"
        runs=$(( runs + 1 ))
        status=0
        "$bin" -max_total_time=$(( deadline - SECONDS )) -timeout=$timeout -print_final_stats=1 \
            -artifact_prefix="$artifacts/" "$found" ${seeds:+"$seeds"} >"$log" 2>&1 || status=$?
        n="$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | tail -n1 | grep -o '[0-9]*$' || true)"
        execs=$(( execs + ${n:-0} ))
        line="$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -n1 || true)"
        [[ -z "$line" ]] || read -r _ cov _ ft <<<"$line"
        [[ $status -ne 0 ]] || break
        { echo "run.sh: $name crashed (log: $log):"
          grep -E 'ERROR:|invariant violated|expectation failed|runtime error|SUMMARY' "$log" | head -n 4; } >&2 || true
    done
    printf '%-24s %12s %7s %7s %8s\n' "$name" "$execs" "$cov" "$ft" "$(find "$artifacts" -type f | wc -l)" \
        >"$out/report.$i"
}

# `jobs` targets at a time.
for i in "${!names[@]}"; do
    while (( $(jobs -rp | wc -l) >= jobs )); do
        wait -n || true
    done
    fuzz_target "$i" &
done
wait

printf '%-24s %12s %7s %7s %8s\n' target execs cov ft crashes
failed=0
for i in "${!names[@]}"; do
    cat "$out/report.$i"
    [[ "$(awk '{ print $5 }' "$out/report.$i")" == 0 ]] || failed=1
    rm -f "$out/report.$i"
done
if [[ $smoke -eq 1 && $failed -eq 0 ]]; then
    rm -rf "$out"
else
    echo "artifacts (crashing inputs): $out/artifacts"
    echo "logs: $out/logs"
fi
exit $failed
