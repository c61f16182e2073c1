"""exo-ipc: the shell's `ipc` (kernel/ipc/ipc_commands.cc): each registered
endpoint's message counters and queue depths."""
from __future__ import annotations

from . import ipc
from .command import ExoCommand

HEADER = "endpoint       sent    calls received  replies timeouts  maxq sendq recvq\n"
ROW = "%-10s %8u %8u %8u %8u %8u %5u %5u %5u\n"


class ExoIpc(ExoCommand):
    """IPC endpoints as the shell's `ipc` shows them, read from memory.

Usage: exo-ipc
Messages sent, calls, received, replies, timeouts, deepest queue, and the
threads waiting to send and to receive now."""

    NAME = "exo-ipc"
    USAGE = "exo-ipc"

    def run(self, args: list) -> str:
        if args:
            raise self.usage()
        out = [HEADER]
        for ep in ipc.registered():
            s = ipc.stats(ep)
            out.append(ROW % ("(null)" if s.name is None else s.name, s.sent, s.calls, s.received, s.replies,
                              s.timeouts, s.max_depth, s.senders, s.receivers))
        return "".join(out)
