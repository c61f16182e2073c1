#!/bin/sh
# Installs what is missing, builds everything, and runs every test: host unit
# tests (GoogleTest), the kernel size ceiling, and the QEMU integration tests
# (pytest on /usr/bin/python3). .ci/run calls exactly this.
set -eu
here="$(dirname "$0")"
"$here/install-deps.sh"
"$here/build.sh"
build="${EXO_BUILD_DIR:-$(cd "$here/.." && pwd)/build}"
ctest --test-dir "$build" --output-on-failure -j2
