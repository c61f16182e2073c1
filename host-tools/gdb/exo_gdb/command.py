"""What every exo-* command shares: registration under one help class,
output through gdb.write, and errors said in one line (an unreadable page
or a missing symbol is a message, not a Python traceback)."""
from __future__ import annotations

import gdb


class ExoCommand(gdb.Command):
    """Subclasses set NAME, USAGE and a docstring (gdb's `help NAME`) and
    implement run(args: list[str]) -> str, the whole output."""

    NAME = ""
    USAGE = ""

    def __init__(self) -> None:
        super().__init__(self.NAME, gdb.COMMAND_USER)

    def invoke(self, argument: str, from_tty: bool) -> None:
        self.dont_repeat()
        if not gdb.selected_inferior().threads():
            # Without a target gdb would read the ELF's zero-filled .bss.
            raise gdb.GdbError(f"{self.NAME}: no kernel attached (target remote HOST:PORT first)")
        try:
            text = self.run(gdb.string_to_argv(argument))
        except gdb.MemoryError as e:
            raise gdb.GdbError(f"{self.NAME}: kernel memory unreadable: {e}") from None
        except (gdb.GdbError, gdb.error) as e:
            raise gdb.GdbError(f"{self.NAME}: {e}") from None
        gdb.write(text)

    def run(self, args: list) -> str:
        raise NotImplementedError

    def usage(self) -> gdb.GdbError:
        return gdb.GdbError(f"usage: {self.USAGE}")
