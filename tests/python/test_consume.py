"""Consumers: loss notices with exact counts, cursors saved and resumed, follow, filters."""
import os
from datetime import datetime
import threading

import pytest

import evring


def drain(consumer):
    events, lost = [], []
    for item in consumer:
        (lost if isinstance(item, evring.Lost) else events).append(item)
    return events, lost


def test_lapped_consumer_reports_losses_that_satisfy_the_loss_identity(ring_name):
    ring = evring.create(ring_name, lanes=1, slots_per_lane=64)
    c = ring.consume("oldest")  # positioned before anything is written
    p = ring.producer("flood")
    for i in range(1000):
        p.emit("tool_retried", correlation_id=i, attempt=i)
    events, lost = drain(c)
    st = c.stats()
    emitted = p.counters()["emitted"]
    assert lost and all(item.reason == "lapped" and item.lane == 0 for item in lost)
    assert len(events) + sum(item.count for item in lost) == emitted == 1000
    assert st["delivered"] + st["lost_lapped"] + st["lost_abandoned"] == st["cursor"] - st["start"] == 1000
    assert st["delivered"] == len(events) and st["lost_lapped"] == sum(item.count for item in lost)
    # what was delivered is the newest, in order, after the last loss
    assert [e.correlation_id for e in events] == list(range(1000 - len(events), 1000))
    assert lost[-1].pos + lost[-1].count == events[0].seq


def test_loss_identity_holds_per_lane_on_every_lane(ring_name):
    ring = evring.create(ring_name, lanes=4, slots_per_lane=16)
    c = ring.consume("oldest")
    producers = [ring.producer(f"p{i}") for i in range(4)]
    for i in range(2000):
        producers[i % 4].emit("plan_created", plan_id=i)
    events, lost = drain(c)
    cur = c.cursor()
    assert len(events) + sum(item.count for item in lost) == sum(cur.positions) == 2000


def test_cursor_saved_and_resumed_from_object_and_file(ring, tmp_path):
    p = ring.producer("cursor")
    for i in range(10):
        p.emit("plan_created", plan_id=i)
    c = ring.consume()
    first = [next(c).plan_id for _ in range(4)]  # stop inside a polled batch
    cur = c.cursor()
    cur.save(tmp_path / "cur")
    for i in range(10, 15):
        p.emit("plan_created", plan_id=i)
    rest = sorted(e.plan_id for e in ring.consume(cur))
    from_file = sorted(e.plan_id for e in ring.consume(tmp_path / "cur"))
    loaded = evring.Cursor.load(str(tmp_path / "cur"))
    assert loaded.positions == cur.positions and loaded.ring_id == cur.ring_id == ring.info()["ring_id"]
    assert sorted(first + rest) == list(range(15)) and rest == from_file


def test_start_latest_sees_only_new_records(ring):
    p = ring.producer("latest")
    p.emit("plan_created", plan_id=1)
    c = ring.consume("latest")
    p.emit("plan_created", plan_id=2)
    assert [e.plan_id for e in c] == [2]


def test_iterating_again_goes_on_from_where_it_ended(ring):
    p = ring.producer("again")
    c = ring.consume()
    p.emit("plan_created", plan_id=1)
    assert [e.plan_id for e in c] == [1]
    p.emit("plan_created", plan_id=2)
    assert [e.plan_id for e in c] == [2]


def test_follow_waits_for_records_from_another_thread_and_ends_on_timeout(ring):
    p = ring.producer("later")
    started = threading.Event()

    def later():
        started.wait()
        for i in range(3):
            p.emit("plan_created", plan_id=i)

    t = threading.Thread(target=later)
    t.start()
    c = ring.consume("oldest", follow=True, timeout=2.0)
    started.set()  # the follow below is already waiting or about to: both are fine
    got = [e.plan_id for e in c]
    t.join()
    assert got == [0, 1, 2]


def test_close_from_another_thread_ends_a_follow(ring):
    c = ring.consume("oldest", follow=True)
    threading.Timer(0.2, c.close).start()
    assert list(c) == []
    with pytest.raises(ValueError):
        c.cursor()


def test_filters_by_type_domain_plan_and_correlation(ring):
    p = ring.producer("filters")
    p.emit("plan_created", plan_id=1, correlation_id=5)
    p.emit("tool_retried", plan_id=1, correlation_id=6)
    p.emit("tool_invoked", plan_id=2, correlation_id=5)
    p.emit("budget_warning", plan_id=2, correlation_id=6)
    kinds = lambda **kw: sorted(e.type for e in ring.consume(**kw))
    assert kinds(types=["tool_retried", "plan_created"]) == ["plan_created", "tool_retried"]
    assert kinds(domains=["tool"]) == ["tool_invoked", "tool_retried"]
    assert kinds(plan_id=2) == ["budget_warning", "tool_invoked"]
    assert kinds(correlation_id=5, domains=["plan", "tool"]) == ["plan_created", "tool_invoked"]


def test_event_objects(ring):
    p = ring.producer("attrs")
    p.emit("tool_retried", correlation_id=3, plan_id=4, tool="t", attempt=2, backoff_ms=9, details="d")
    (ev,) = list(ring.consume())
    assert (ev.type, ev.domain, ev.correlation_id, ev.plan_id, ev.details) == ("tool_retried", "tool", 3, 4, "d")
    assert (ev.tool, ev.attempt, ev.backoff_ms, ev.fields) == ("t", 2, 9, ("attempt", "backoff_ms", "tool"))
    assert ev.producer_id == p.id and ev.flags == 0 and not ev.truncated and not ev.replayed
    assert ev.time.tzinfo is not None and int(ev.time.timestamp() * 1e6) == ev.ts_ns // 1000
    # the datetime keeps the nanoseconds, and prints them as the C decoder does
    assert isinstance(ev.time, datetime) and isinstance(ev.time, evring.Time)
    assert ev.time.ns == ev.ts_ns and ev.time.nanosecond == ev.ts_ns % 1000
    assert ev.time.isoformat().replace("+00:00", "Z") == ev.to_dict()["time"]
    assert evring.Time.from_ns(1_764_000_000_123_456_789).isoformat() == "2025-11-24T16:00:00.123456789+00:00"
    assert ev.to_dict()["time"].endswith(f"{ev.ts_ns % 10**9:09d}Z")  # ns kept
    assert "attempt" in dir(ev)
    with pytest.raises(AttributeError):
        ev.nonexistent


def test_producer_counts_drops_and_never_raises_them(ring_name):
    ring = evring.create(ring_name, lanes=1, slots_per_lane=2)
    p = ring.producer("drops")
    results = [p.emit("plan_created") for _ in range(100)]
    counters = p.counters()
    assert counters["emitted"] + counters["dropped"] == 100
    assert results.count(True) == counters["emitted"] and results.count(False) == counters["dropped"]


def test_bad_input_on_every_call(ring, ring_name, tmp_path):
    with pytest.raises(evring.Error) as e:
        evring.open(ring_name + "-missing")
    assert e.value.errno == 2
    with pytest.raises(evring.Error) as e:
        evring.create(ring_name)
    assert e.value.errno == 17
    with pytest.raises(evring.Error):
        evring.create("/bad/name")
    with pytest.raises(TypeError):
        evring.open(42)
    with pytest.raises(evring.Error):
        evring.unlink(ring_name + "-missing")
    evring.unlink(ring_name + "-missing", missing_ok=True)
    with pytest.raises(TypeError):
        ring.producer(5)
    p = ring.producer("bad")
    with pytest.raises(ValueError, match="plan_created, plan_phase_changed"):
        p.emit("no_such_type")
    with pytest.raises(TypeError, match="its fields: attempt, backoff_ms, tool"):
        p.emit("tool_retried", nope=1)
    with pytest.raises(TypeError, match="must be an int"):
        p.emit("tool_retried", attempt="2")
    with pytest.raises(TypeError, match="must be a str"):
        p.emit("tool_retried", tool=5)
    with pytest.raises(ValueError, match="out of range for u32"):
        p.emit("tool_retried", attempt=1 << 32)
    with pytest.raises(ValueError, match="out of range"):
        p.emit("tool_retried", plan_id=-1)
    with pytest.raises(TypeError):
        p.emit("tool_retried", "positional")
    with pytest.raises(TypeError):
        p.emit(7)
    with pytest.raises(TypeError, match="its fields"):
        p.emit("tool_retried", **{"to" + "ol_x": "built at run time"})
    assert p.emit("tool_retried", **{"to" + "ol": "built at run time"})
    p.close()
    with pytest.raises(ValueError, match="closed"):
        p.emit("tool_retried")
    with pytest.raises(ValueError, match="'oldest', 'latest'"):
        ring.consume("newest")
    with pytest.raises(ValueError, match="event type 'nope'"):
        ring.consume(types=["nope"])
    with pytest.raises(TypeError):
        ring.consume(types="plan_created")
    with pytest.raises(ValueError, match="domain 'nope'.*plan, decision"):
        ring.consume(domains=["nope"])
    with pytest.raises(TypeError):
        ring.consume(plan_id="7")
    with pytest.raises(evring.Error):
        ring.consume(tmp_path / "no-cursor")
    with pytest.raises(evring.Error):
        evring.Cursor.load(str(tmp_path / "no-cursor"))
    other = evring.create(ring_name + "-other", lanes=2)
    try:
        with pytest.raises(evring.Error, match="ring"):
            ring.consume(other.consume().cursor())
    finally:
        evring.unlink(ring_name + "-other")


def test_nothing_left_in_dev_shm_by_this_process():
    assert [f for f in os.listdir("/dev/shm") if f.startswith(f"evrt-py-{os.getpid()}-")] == []


def test_emit_allocates_nothing(ring):
    """No per-emit memory: neither kept (net growth) nor transient (the peak above the start, which
    one kwargs dict or bytes copy per call would raise by a few hundred bytes)."""
    import itertools
    import tracemalloc
    p = ring.producer("alloc")
    texts = ("web_search", "wéb")  # ASCII, and a str whose UTF-8 CPython caches on first use

    def burst(tool):
        for _ in itertools.repeat(None, 20_000):  # no int objects made by the loop itself
            p.emit("tool_retried", correlation_id=42, plan_id=7, tool=tool, attempt=2, backoff_ms=250, details="d")

    for tool in texts * 2:
        burst(tool)
    tracemalloc.start()
    try:
        grown, peaks = [], []
        for tool in texts * 3:
            tracemalloc.reset_peak()
            start, _ = tracemalloc.get_traced_memory()
            burst(tool)
            now, peak = tracemalloc.get_traced_memory()
            grown.append(now - start)
            peaks.append(peak - start)
    finally:
        tracemalloc.stop()
    assert max(grown) <= 256 and min(peaks) < 200, (grown, peaks)
