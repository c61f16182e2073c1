"""Exo-OS gdb helpers: `source host-tools/gdb/exo.py` in gdb (host-tools/exo
gdb does it for you). Commands: exo-threads [--bt], exo-dmesg, exo-boot,
exo-mem, exo-pages [VADDR], exo-ipc, exo-drivers; `help user-defined` lists
them. They read kernel memory, so they work whichever stub gdb is attached
to (ours on COM2, or QEMU's -s / -gdb) and when the kernel has panicked."""
import os
import sys

import gdb

_here = os.path.dirname(os.path.abspath(__file__))
if _here not in sys.path:
    sys.path.insert(0, _here)
# Sourcing again picks up edited modules: forget the loaded ones first.
for _name in [n for n in sys.modules if n == "exo_gdb" or n.startswith("exo_gdb.")]:
    del sys.modules[_name]

import exo_gdb  # noqa: E402

gdb.write("exo: gdb helpers loaded: " + ", ".join(exo_gdb.register()) + " (help user-defined)\n")
