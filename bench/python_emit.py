#!/usr/bin/env python3
"""Python emit and consume cost, beside what a Python service would otherwise use to publish an
event (not a test: no assertion, figures only).

Usage: PYTHONPATH=build/release/python python3 bench/python_emit.py [--rounds 7] [--n 200000]
Writes bench/results/python.md and python.csv.

Each round runs every method once on the same event, in turn (interleaved, so a noisy neighbour
hits all of them alike); figures are medians over rounds, ratios are medians of per-round ratios.
  evring            Producer.emit('tool_retried', correlation_id=, plan_id=, tool=, attempt=, backoff_ms=)
  EventBus          EventBus.emit(DomainEvent(...)): the platform's interface, in Python
  mp.Queue.put      multiprocessing.Queue.put(dict), a child process draining it
  zmq PUB send_json pyzmq PUB over ipc, a child SUB process draining it
  logging           logging.Logger.info of the event dict, to a FileHandler
Consumer: a Python loop over Ring.consume() draining records (attribute read on each).
"""
import argparse
import dataclasses
import datetime
import enum
import logging
import multiprocessing as mp
import os
import platform
import statistics
import sys
import tempfile
import time

import evring

try:
    import zmq
except ImportError:  # Debian python3-zmq
    zmq = None

EVENT = dict(correlation_id=42, plan_id=7, tool="web_search", attempt=2, backoff_ms=250)


def drain_queue(q):
    while q.get() is not None:
        pass


def drain_zmq(addr, ready):
    ctx = zmq.Context()
    s = ctx.socket(zmq.SUB)
    s.setsockopt(zmq.SUBSCRIBE, b"")
    s.setsockopt(zmq.RCVHWM, 0)
    s.connect(addr)
    ready.set()
    while s.recv() != b"stop":
        pass


def timed(fn, n):
    t0 = time.perf_counter_ns()
    fn(n)
    return (time.perf_counter_ns() - t0) / n


class EventType(str, enum.Enum):
    TOOL_RETRIED = "tool.retried"


@dataclasses.dataclass
class DomainEvent:
    event_type: EventType
    timestamp: datetime.datetime
    correlation_id: int
    payload: dict


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"))
    a = ap.parse_args()
    name = f"/evrt-pybench-{os.getpid()}-0"
    ring = evring.create(name, lanes=1, slots_per_lane=1 << 20)
    tmp = tempfile.TemporaryDirectory()
    children = []
    try:
        p = ring.producer("bench")
        bus = evring.EventBus(ring, service="bench-bus")
        ev = DomainEvent(EventType.TOOL_RETRIED, datetime.datetime.now(datetime.timezone.utc), 42,
                         {"plan_id": 7, "tool": "web_search", "attempt": 2, "backoff_ms": 250})

        def evring_emit(n):
            emit = p.emit
            for _ in range(n):
                emit("tool_retried", correlation_id=42, plan_id=7, tool="web_search", attempt=2, backoff_ms=250)

        def bus_emit(n):
            emit = bus.emit
            for _ in range(n):
                emit(ev)

        q = mp.Queue()
        children.append(mp.Process(target=drain_queue, args=(q,), daemon=True))
        children[-1].start()

        def queue_put(n):
            put = q.put
            for _ in range(n):
                put({"type": "tool_retried", **EVENT})

        log = logging.getLogger("bench")
        log.propagate = False
        handler = logging.FileHandler(os.path.join(tmp.name, "events.log"))
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)

        def log_info(n):
            info = log.info
            for _ in range(n):
                info("%s", {"type": "tool_retried", **EVENT})

        methods = {"evring emit": evring_emit, "EventBus.emit(DomainEvent)": bus_emit, "mp.Queue.put": queue_put,
                   "logging FileHandler": log_info}
        if zmq:
            ctx = zmq.Context()
            pub = ctx.socket(zmq.PUB)
            pub.setsockopt(zmq.SNDHWM, 0)
            addr = f"ipc://{tmp.name}/pub"
            pub.bind(addr)
            ready = mp.Event()
            children.append(mp.Process(target=drain_zmq, args=(addr, ready), daemon=True))
            children[-1].start()
            ready.wait(10)
            time.sleep(0.3)  # the subscription reaches the PUB socket

            def zmq_send(n):
                send = pub.send_json
                for _ in range(n):
                    send({"type": "tool_retried", **EVENT})

            methods["zmq PUB send_json"] = zmq_send

        slow = {"EventBus.emit(DomainEvent)", "logging FileHandler"}  # fewer calls: they cost microseconds
        calls = {m: a.n // 10 if m in slow else a.n for m in methods}
        evring_emit(1 << 20)  # warm-up: every slot of the ring touched once (page faults)
        for m, fn in methods.items():
            fn(calls[m] // 10)
        per = {m: [] for m in methods}
        drain = []
        for r in range(a.rounds):
            for m, fn in methods.items():
                per[m].append(timed(fn, calls[m]))
            # consumer: the records this round wrote (the ring holds 1 Mi: nothing is lapped)
            c = ring.consume("latest")
            evring_emit(500_000)
            t0 = time.perf_counter_ns()
            k = 0
            for e in c:
                k += e.lane >= 0
            drain.append(k / ((time.perf_counter_ns() - t0) / 1e9))
            print(f"round {r + 1}/{a.rounds}: " + ", ".join(f"{m} {per[m][-1]:.0f} ns" for m in methods) +
                  f", drain {drain[-1] / 1e6:.2f} M/s", file=sys.stderr)
        if zmq:
            pub.send(b"stop")
        q.put(None)
        report(a, per, drain)
    finally:
        for ch in children:
            ch.join(5)
            if ch.is_alive():
                ch.kill()
        evring.unlink(name)
        tmp.cleanup()


def report(a, per, drain):
    med = {m: statistics.median(v) for m, v in per.items()}
    base = per["evring emit"]
    ratio = {m: statistics.median(x / y for x, y in zip(v, base)) for m, v in per.items()}
    rows = []
    for m in per:
        note = "" if m == "evring emit" else f"{ratio[m]:.1f}x evring's cost"
        if m != "evring emit" and m != "EventBus.emit(DomainEvent)":
            note += " (target >= 5x)"
        rows.append(("emit", m, "ns/op", med[m], note))
    rows.append(("emit", "evring emit target", "ns/op", 1000.0, "<= 1 us per typed emit: " +
                 ("met" if med["evring emit"] <= 1000 else "missed")))
    d = statistics.median(drain)
    rows.append(("consume", "Python loop over Ring.consume()", "events/s", d,
                 "target >= 1 M/s: " + ("met" if d >= 1e6 else "missed")))
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    head = (f"Machine: {os.cpu_count()} CPUs, {cpu}, Python {platform.python_version()}. {a.rounds} interleaved "
            f"rounds of {a.n} calls per method ({a.n // 10} for EventBus and logging); medians, and medians of "
            "per-round ratios. Baselines publish the same event as a dict.\n")
    md = [head, "| section | what | metric | value | note |", "|---|---|---|---|---|"]
    md += [f"| {s} | {w} | {m} | {v:,.1f} | {n} |" for s, w, m, v, n in rows]
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "python.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    with open(os.path.join(a.out, "python.csv"), "w") as f:
        f.write("section,name,metric,value,note\n")
        f.writelines(f'{s},"{w}",{m},{v:.3f},"{n}"\n' for s, w, m, v, n in rows)
    print("\n".join(md))


if __name__ == "__main__":
    main()
