#!/bin/sh
# Configures (once) and builds Exo-OS into $EXO_BUILD_DIR (default build/).
# Without arguments it builds everything, host unit tests included (test.sh);
# with target names only those: run.sh asks for exo-image (exo-kernel.elf,
# exo-kernel, exo.iso), so a first boot does not wait for GoogleTest.
set -eu
repo="$(cd "$(dirname "$0")/.." && pwd)"
build="${EXO_BUILD_DIR:-$repo/build}"
if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$repo" -B "$build" -G Ninja
fi
cmake --build "$build" ${1:+--target} "$@"
