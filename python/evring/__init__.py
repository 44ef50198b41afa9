"""evring: emit into and consume from an evring ring (lock-free events in POSIX shared memory).

Producers::

    ring = evring.open("/events")                  # or evring.create("/events")
    p = ring.producer("planner")
    p.emit("tool_retried", correlation_id=42, plan_id=7, tool="web_search", attempt=2, backoff_ms=250)

Consumers::

    for item in ring.consume(start="oldest", follow=True, types=["tool_retried"]):
        if isinstance(item, evring.Lost): ...      # item.count positions of item.lane were lost
        else: print(item.type, item.tool, item.time)

Types and fields come from the ring's own description (``ring.schema()``), never from a table
compiled into this module. ``aconsume`` is the asyncio form; ``EventBus`` adapts the platform's
``event_bus.emit(DomainEvent(...))`` / ``subscribe(...)`` interface.
"""
from ._evring import (Consumer, Cursor, Error, Event, Lost, Producer, Ring, create, open,
                      unlink)
from ._aio import aconsume
from ._bus import EventBus, Subscription
from ._time import Time

__all__ = ["Consumer", "Cursor", "Error", "Event", "EventBus", "Lost", "Producer", "Ring",
           "Subscription", "Time", "aconsume", "create", "open", "unlink"]

