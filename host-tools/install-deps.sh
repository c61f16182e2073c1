#!/bin/sh
# Installs the Debian 12 packages Exo-OS needs to build, boot and test,
# skipping what is already there. Uses sudo when not run as root.
set -eu

PACKAGES="cmake ninja-build g++ binutils python3 qemu-system-x86 grub-pc-bin grub-common
xorriso mtools gdb libgtest-dev python3-serial python3-matplotlib python3-pytest
clang-14 libclang-rt-14-dev"

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

if [ -z "$missing" ]; then
    exit 0
fi

echo "install-deps: installing:$missing" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
