"""EventBus with stand-ins shaped like the platform's DomainEvent and EventType."""
import enum
import json
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import pytest

import evring


class EventType(str, enum.Enum):  # the platform's shape: values read like "tool.retried"
    PLAN_CREATED = "plan.created"
    TOOL_RETRIED = "tool.retried"
    CHECKPOINT_RESTORED = "checkpoint.restored"
    BUDGET_WARNING = "budget.warning"
    NOT_IN_RING = "nothing.here"


@dataclass
class DomainEvent:
    event_type: EventType
    timestamp: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    correlation_id: Any = None
    payload: dict = field(default_factory=dict)


class Collector:
    def __init__(self, n):
        self.items, self.n, self.done = [], n, threading.Event()

    def __call__(self, event):
        self.items.append(event)
        if len(self.items) >= self.n:
            self.done.set()

    def wait(self):
        assert self.done.wait(10), f"got {len(self.items)} of {self.n}"
        return self.items


def test_emit_maps_type_fields_header_and_details(ring):
    bus = evring.EventBus(ring, service="planner")
    assert bus.emit(DomainEvent(EventType.TOOL_RETRIED, correlation_id=42,
                                payload={"plan_id": 7, "tool": "web_search", "attempt": 2, "backoff_ms": 250,
                                         "reason": "429", "retry_after": 1.5}))
    assert bus.emit(DomainEvent("checkpoint.restored", payload={"sandbox_id": 3, "checkpoint_id": 4}))
    assert bus.emit(DomainEvent("BUDGET_WARNING", payload={"details": "plain text"}))
    a, b, c = list(ring.consume(merge=True))  # in emit order, whichever CPU (lane) each went to
    assert (a.type, a.correlation_id, a.plan_id, a.tool, a.attempt, a.backoff_ms) == \
        ("tool_retried", 42, 7, "web_search", 2, 250)
    assert json.loads(a.details) == {"reason": "429", "retry_after": 1.5}
    assert (b.type, b.sandbox_id, b.checkpoint_id, b.details) == ("checkpoint_restored", 3, 4, "")
    assert (c.type, c.details) == ("budget_warning", "plain text")


def test_emit_accepts_enum_value_name_and_ring_name(ring):
    bus = evring.EventBus(ring)
    for t in (EventType.PLAN_CREATED, "plan.created", "PLAN_CREATED", "plan_created"):
        assert bus.emit(DomainEvent(t, payload={"plan_name": "p"}))
    assert [e.type for e in ring.consume()] == ["plan_created"] * 4


def test_emit_never_raises_and_counts_errors(ring, caplog):
    bus = evring.EventBus(ring)
    bad = [DomainEvent(EventType.NOT_IN_RING), object(), None, DomainEvent(42),
           DomainEvent("tool_retried", payload=["not", "a", "dict"])]
    for event in bad:
        assert bus.emit(event) is False
    assert bus.errors == len(bad) and list(ring.consume()) == []
    assert "evring EventBus.emit failed" in caplog.text


def test_field_values_that_do_not_fit_go_to_details(ring):
    bus = evring.EventBus(ring)
    assert bus.emit(DomainEvent("tool_retried", payload={"attempt": "two", "backoff_ms": -1, "tool": 5}))
    (ev,) = list(ring.consume())
    assert (ev.attempt, ev.backoff_ms, ev.tool) == (0, 0, "")
    assert json.loads(ev.details) == {"attempt": "two", "backoff_ms": -1, "tool": 5} and bus.errors == 0


def test_long_details_are_truncated_and_flagged(ring):
    bus = evring.EventBus(ring)
    assert bus.emit(DomainEvent(EventType.TOOL_RETRIED, payload={"tool": "t", "log": "x" * 500}))
    (ev,) = list(ring.consume())
    assert ev.truncated and ev.details.startswith('{"log":"xxx') and len(ev.details) < 500


def test_non_integer_ids_are_hashed_and_kept_in_details(ring):
    bus = evring.EventBus(ring)
    got = Collector(1)
    sub = bus.subscribe(EventType.PLAN_CREATED, got)
    bus.emit(DomainEvent(EventType.PLAN_CREATED, correlation_id="req-17", payload={"plan_id": "plan-a"}))
    (event,) = got.wait()
    sub.dispose()
    assert event.correlation_id == "req-17" and event.payload["plan_id"] == "plan-a"
    corr = uuid.UUID(int=12345)  # a UUID's text may not fit the details: its 64-bit hash is stable
    bus.emit(DomainEvent(EventType.TOOL_RETRIED, correlation_id=corr))
    bus.emit(DomainEvent(EventType.TOOL_RETRIED, correlation_id=str(corr)))
    first, a, b = list(ring.consume(merge=True))
    assert first.correlation_id != 0 and first.plan_id != 0 and a.correlation_id == b.correlation_id != 0


def test_subscribe_filters_by_type_and_plan_and_rebuilds_the_event(ring):
    bus = evring.EventBus(ring, service="svc", event_types=EventType, event_factory=DomainEvent)
    retried, plan7, everything = Collector(2), Collector(2), Collector(4)
    subs = [bus.subscribe(EventType.TOOL_RETRIED, retried), bus.subscribe(None, plan7, plan_id=7),
            bus.subscribe(None, everything)]
    bus.emit(DomainEvent(EventType.TOOL_RETRIED, correlation_id=1, payload={"plan_id": 7, "tool": "a", "note": "n"}))
    bus.emit(DomainEvent(EventType.PLAN_CREATED, correlation_id=2, payload={"plan_id": 8, "plan_name": "x"}))
    bus.emit(DomainEvent(EventType.TOOL_RETRIED, correlation_id=3, payload={"plan_id": 8, "tool": "b"}))
    bus.emit(DomainEvent(EventType.PLAN_CREATED, correlation_id=4, payload={"plan_id": 7, "plan_name": "y"}))
    r = retried.wait()
    assert [e.correlation_id for e in r] == [1, 3] and all(isinstance(e, DomainEvent) for e in r)
    assert r[0].event_type is EventType.TOOL_RETRIED and r[0].payload["tool"] == "a" and r[0].payload["note"] == "n"
    assert r[0].payload["plan_id"] == 7 and r[0].timestamp.tzinfo is not None
    assert [e.correlation_id for e in plan7.wait()] == [1, 4]
    assert len(everything.wait()) == 4
    for s in subs:
        s.dispose()


def test_dispose_stops_delivery_and_is_idempotent(ring):
    bus = evring.EventBus(ring)
    got = Collector(1)
    sub = bus.subscribe("plan.created", got)
    bus.emit(DomainEvent(EventType.PLAN_CREATED))
    got.wait()
    sub.dispose()
    assert not sub.active
    bus.emit(DomainEvent(EventType.PLAN_CREATED))
    sub.dispose()
    assert len(got.items) == 1


def test_dispose_from_inside_a_handler(ring):
    bus = evring.EventBus(ring)
    holder, done = {}, threading.Event()

    def handler(event):
        holder["sub"].dispose()
        done.set()

    holder["sub"] = bus.subscribe(None, handler)
    bus.emit(DomainEvent(EventType.PLAN_CREATED))
    assert done.wait(10)
    holder["sub"]._thread.join(5)
    assert not holder["sub"].active


def test_handler_exceptions_are_isolated(ring, caplog):
    bus = evring.EventBus(ring)
    got = Collector(2)

    def flaky(event):
        got(event)
        if len(got.items) == 1:
            raise RuntimeError("handler bug")

    sub = bus.subscribe(None, flaky)
    bus.emit(DomainEvent(EventType.PLAN_CREATED))
    bus.emit(DomainEvent(EventType.BUDGET_WARNING))
    got.wait()
    sub.dispose()
    assert sub.errors == 1 and sub.delivered == 1 and "handler bug" in caplog.text


def test_subscribe_rejects_unknown_types_naming_the_ring_types(ring):
    bus = evring.EventBus(ring)
    with pytest.raises(ValueError, match="its types: plan_created"):
        bus.subscribe(EventType.NOT_IN_RING, print)
    with pytest.raises(TypeError):
        bus.subscribe(None, print, plan_id="seven")
