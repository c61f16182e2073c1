#!/bin/sh
# Installs what is missing, builds what booting needs (the kernel and its
# ISO; test.sh builds the rest), and boots Exo-OS in QEMU with COM1 (the boot
# log, then the shell) on this terminal. Extra arguments go to the launcher
# (host-tools/exo_qemu.py --help): --pvh, --microvm, --mem N, --append S,
# --gdb-port N, --kvm. Leave QEMU with `poweroff` or Ctrl-\ x (QEMU's escape
# key; Ctrl-A stays the shell's Home).
set -eu
here="$(dirname "$0")"
"$here/install-deps.sh"
"$here/build.sh" exo-image
exec /usr/bin/python3 "$here/exo_qemu.py" "$@"
