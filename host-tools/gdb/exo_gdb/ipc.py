"""IPC endpoints (kernel/ipc/endpoint.h) read from the kernel: the
registered ones, and each one's counters as Endpoint::stats() adds them up.
Shared by exo-ipc and the Endpoint pretty-printer."""
from __future__ import annotations

import dataclasses
from typing import List, Optional

import gdb

from . import target


@dataclasses.dataclass
class EndpointStats:
    name: Optional[str]
    sent: int
    calls: int
    received: int
    replies: int
    timeouts: int
    max_depth: int
    senders: int
    receivers: int
    awaiting_reply: int


def stats(ep: gdb.Value) -> EndpointStats:
    """Endpoint::stats() over the fields of one Endpoint value."""
    queues = [ep[q] for q in ("m_senders", "m_receivers", "m_reply_waiters")]
    sent, calls = target.u64(ep["m_sent"]), target.u64(ep["m_calls"])
    return EndpointStats(
        name=target.cstring(target.ptr(ep["m_name"]), 64), sent=sent, calls=calls, received=sent + calls,
        replies=target.u64(ep["m_replies"]), timeouts=sum(target.u64(q["m_timeouts"]) for q in queues),
        max_depth=max(target.u64(queues[0]["m_max_depth"]), target.u64(queues[1]["m_max_depth"])),
        senders=target.u64(queues[0]["m_list"]["m_size"]), receivers=target.u64(queues[1]["m_list"]["m_size"]),
        awaiting_reply=target.u64(queues[2]["m_list"]["m_size"]))


def registered() -> List[gdb.Value]:
    """ipc::endpoint_at(i) for every slot: the registered endpoints in order."""
    slots = target.symbol(target.G_ENDPOINTS)
    count = slots.type.range()[1] + 1
    return [slots[i].dereference() for i in range(count) if target.ptr(slots[i])]
