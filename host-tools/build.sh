#!/bin/sh
# Configures (once) and builds Exo-OS into build/: exo-kernel.elf, exo-kernel, exo.iso
# and the host unit tests.
set -eu
cd "$(dirname "$0")/.."
if [ ! -f build/build.ninja ]; then
    cmake -S . -B build -G Ninja
fi
cmake --build build
