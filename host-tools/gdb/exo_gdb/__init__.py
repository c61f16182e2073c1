"""gdb helpers for Exo-OS: commands that read the kernel's own data
structures through the remote link and the ELF's debug info (the shell's
views when the shell cannot answer), and pretty-printers. Loaded by
host-tools/gdb/exo.py. The pure modules (names, tsc, pagewalk, logring)
import without gdb, for tests/tools."""
from __future__ import annotations

COMMAND_MODULES = ("cmd_threads", "cmd_dmesg", "cmd_boot", "cmd_mem", "cmd_pages", "cmd_ipc", "cmd_drivers")


def register() -> list:
    """Defines the exo-* commands and the pretty-printers; returns the
    command names. Safe to call again (a re-sourced exo.py replaces both)."""
    import importlib

    import gdb.printing

    from .command import ExoCommand
    from . import printers

    names = []
    for module_name in COMMAND_MODULES:
        module = importlib.import_module(f"{__name__}.{module_name}")
        for obj in vars(module).values():
            if isinstance(obj, type) and issubclass(obj, ExoCommand) and obj is not ExoCommand:
                obj()
                names.append(obj.NAME)
    gdb.printing.register_pretty_printer(None, printers.build(), replace=True)
    return names
