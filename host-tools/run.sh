#!/bin/sh
# Installs what is missing, builds, and boots Exo-OS in QEMU with COM1 (the
# boot log, then the shell) on this terminal. Extra arguments go to the
# launcher (host-tools/exo_qemu.py --help): --pvh, --microvm, --mem N, --append S,
# --gdb-port N, --kvm. Leave QEMU with `poweroff` or Ctrl-A X.
set -eu
here="$(dirname "$0")"
"$here/install-deps.sh"
"$here/build.sh"
exec /usr/bin/python3 "$here/exo_qemu.py" "$@"
