"""EventBus: the platform's event-bus interface over a ring.

The platform's services call ``event_bus.emit(DomainEvent(...))`` fire-and-forget, and its
subscribers filter by event type and plan id. A DomainEvent has ``event_type`` (an enum whose values
read like ``tool.retried``), ``timestamp``, ``correlation_id`` and ``payload: dict``. Here:

- the type: the enum's value with dots as underscores (``tool.retried`` -> ``tool_retried``), its
  member name (``TOOL_RETRIED``) or the ring's name;
- payload keys that are fields of the type go to their fields (a value of the wrong type or out of
  the field's range goes to the details instead: the event is still published), ``plan_id`` and
  ``correlation_id`` (and the event's correlation_id) to the record header; everything else is
  JSON-encoded into ``details`` (cut to the details' room and flagged truncated, as any string). Ids that are not
  ints (UUIDs, strings) are hashed to 64 bits and kept verbatim in the details JSON;
- emit() never raises into the service: a failure is logged (at most once per second) and counted
  in ``bus.errors``; a drop is counted in ``bus.dropped`` and in the ring's producer table;
- subscribe() runs the handler on a consumer thread of its own; a handler's exception is logged and
  counted in ``subscription.errors`` and the next event is delivered.

The ring's timestamp (taken at emit) is the event's time on the consumer side; the DomainEvent's
own timestamp is not stored."""
import hashlib
import json
import logging
import threading
import time

from ._evring import Lost

log = logging.getLogger("evring.bus")

_HEADER = ("plan_id", "correlation_id")


def _id64(value):
    """(u64 for the header, None) for an int id; (hash, original) for anything else."""
    if value is None:
        return 0, None
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 1 << 64:
        return value, None
    text = str(value)
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little"), text


def _fits(spec, value):
    """Whether a payload value can go to a field of this kind: a value that cannot goes to the
    details with the other keys, so the event is still published."""
    kind, size = spec
    if kind == "string":
        return isinstance(value, str)
    if not isinstance(value, int) or isinstance(value, bool):
        return False
    bits = 8 * size
    return -(1 << (bits - 1)) <= value < 1 << (bits - 1) if kind.startswith("i") else 0 <= value < 1 << bits


class BusEvent:
    """What a handler receives by default: the DomainEvent shape, rebuilt from a record.

    event_type: the platform's dotted name ('tool.retried'), or a member of the enum given to
    EventBus(event_types=...); timestamp: the ring's time (UTC datetime); correlation_id; payload:
    the type's fields, plan_id, and the keys of a JSON details text (or {'details': text}).
    ``record`` is the evring.Event it was made from."""

    __slots__ = ("event_type", "timestamp", "correlation_id", "payload", "record")

    def __init__(self, event_type, timestamp, correlation_id, payload, record=None):
        self.event_type = event_type
        self.timestamp = timestamp
        self.correlation_id = correlation_id
        self.payload = payload
        self.record = record

    def __repr__(self):
        return (f"BusEvent({self.event_type!r}, {self.timestamp.isoformat()}, "
                f"correlation_id={self.correlation_id!r}, payload={self.payload!r})")


class Subscription:
    """A running subscription: dispose() stops its thread and frees its consumer."""

    def __init__(self, consumer, deliver, name):
        self.errors = 0
        self.delivered = 0
        self._consumer = consumer
        self._deliver = deliver
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self):
        try:
            self._deliver_all()
        except Exception:  # the ring failed under us (evring.Error): say so and stop
            log.exception("evring subscription stopped")

    def _deliver_all(self):
        consumer = self._consumer
        while not self._stop.is_set():
            for item in consumer:
                if self._stop.is_set():
                    return
                try:
                    self._deliver(item)
                    self.delivered += 1
                except Exception:  # isolate the platform from its handlers: log, count, go on
                    self.errors += 1
                    log.exception("evring subscription handler failed on %r", item)
            consumer.wait(0.1)  # bounded, so dispose() is seen within 100 ms

    def dispose(self):
        """Stop delivering; waits for the handler thread unless called from it. Idempotent."""
        self._stop.set()
        if threading.current_thread() is not self._thread:
            self._thread.join()
        self._consumer.close()

    @property
    def active(self):
        return self._thread.is_alive() and not self._stop.is_set()


class EventBus:
    """The platform's EventBus protocol (emit, subscribe) on an evring ring.

    EventBus(ring, service='python', event_types=None, event_factory=None): ``ring`` is an
    evring.Ring or a ring name; ``service`` the producer's name in the ring's producer table;
    ``event_types`` the platform's EventType enum, so handlers get its members as event_type;
    ``event_factory(event_type=, timestamp=, correlation_id=, payload=)`` builds what handlers
    receive (the platform's DomainEvent class; default: BusEvent)."""

    def __init__(self, ring, service="python", *, event_types=None, event_factory=None):
        from . import open as _open  # the package's open(), not the builtin
        self.ring = _open(ring) if isinstance(ring, str) else ring
        self.service = service
        self.errors = 0
        self.dropped = 0
        self._producer = self.ring.producer(service)
        self._fields = {name: {f: (spec["kind"], spec["size"]) for f, spec in info["fields"].items()}
                        for name, info in self.ring.schema().items()}
        self._types = {}
        self._event_types = event_types
        self._members = {}  # ring type name -> member of event_types
        self._factory = event_factory or BusEvent
        self._last_log = 0.0

    # emit side

    def resolve(self, event_type):
        """The ring's type name for an EventType member, its value ('tool.retried') or its name
        ('TOOL_RETRIED'); ValueError naming the ring's types when there is none."""
        try:
            return self._types[event_type]
        except (KeyError, TypeError):
            pass
        candidates = [event_type]
        for attr in ("value", "name"):
            if hasattr(event_type, attr):
                candidates.insert(0, getattr(event_type, attr))
        for c in candidates:
            if isinstance(c, str):
                name = c.replace(".", "_").replace("-", "_").lower()
                if name in self._fields:
                    try:
                        self._types[event_type] = name
                    except TypeError:
                        pass  # unhashable: resolved again next time
                    return name
        raise ValueError(f"no event type of ring {self.ring.name} for {event_type!r}; "
                         f"its types: {', '.join(self.ring.types)}")

    def encode(self, event):
        """(type, keyword arguments of Producer.emit) for a DomainEvent-shaped object."""
        name = self.resolve(event.event_type)
        fields = self._fields[name]
        payload = dict(getattr(event, "payload", None) or {})
        kw, rest = {}, {}
        corr, corr_text = _id64(payload.pop("correlation_id", getattr(event, "correlation_id", None)))
        plan, plan_text = _id64(payload.pop("plan_id", None))
        kw["correlation_id"], kw["plan_id"] = corr, plan
        if corr_text is not None:
            rest["correlation_id"] = corr_text
        if plan_text is not None:
            rest["plan_id"] = plan_text
        for key, value in payload.items():
            (kw if key in fields and _fits(fields[key], value) else rest)[key] = value
        if list(rest) == ["details"] and isinstance(rest["details"], str):
            kw["details"] = rest["details"]
        elif rest:
            kw["details"] = json.dumps(rest, separators=(",", ":"), default=str, ensure_ascii=False)
        return name, kw

    def emit(self, event):
        """Emit a DomainEvent-shaped object; never raises. True when published, False when dropped
        or refused (counted in .dropped or .errors)."""
        try:
            name, kw = self.encode(event)
            ok = self._producer.emit(name, **kw)  # holds the GIL: safe from any thread
            if not ok:
                self.dropped += 1
            return ok
        except Exception:  # fire-and-forget: the service never sees the bus fail
            self.errors += 1
            now = time.monotonic()
            if now - self._last_log >= 1.0:
                self._last_log = now
                log.exception("evring EventBus.emit failed for %r (%d errors so far)", event, self.errors)
            return False

    # subscribe side

    def decode(self, ev):
        """The handler's event for an evring.Event (see BusEvent)."""
        payload = {f: getattr(ev, f) for f in ev.fields}
        payload["plan_id"] = ev.plan_id
        correlation_id = ev.correlation_id
        details = ev.details
        if details:
            try:
                extra = json.loads(details)
            except ValueError:
                extra = None
            if isinstance(extra, dict):
                correlation_id = extra.pop("correlation_id", correlation_id)
                payload["plan_id"] = extra.pop("plan_id", payload["plan_id"])
                payload.update(extra)
            else:
                payload["details"] = details
        event_type = ev.type.replace("_", ".", 1)
        if self._event_types is not None:
            event_type = self._member(ev.type, event_type)
        return self._factory(event_type=event_type, timestamp=ev.time, correlation_id=correlation_id,
                             payload=payload)

    def _member(self, ring_name, dotted):
        if not self._members:
            for member in self._event_types:
                try:
                    self._members.setdefault(self.resolve(member), member)
                except ValueError:
                    pass  # a member the ring has no type for
        return self._members.get(ring_name, dotted)

    def subscribe(self, event_type, handler, plan_id=None, *, start="latest", on_lost=None):
        """Run handler(event) on a thread of its own for every new event of `event_type` (None: all
        types; an EventType member, its value or name, or a list of them) and of `plan_id` (None:
        all plans). Loss notices go to on_lost(lost) when given (and are logged otherwise).
        Returns a Subscription; dispose() stops it."""
        types = None
        if event_type is not None:
            many = isinstance(event_type, (list, tuple, set, frozenset))
            types = [self.resolve(t) for t in (event_type if many else [event_type])]
        consumer = self.ring.consume(start, types=types, plan_id=plan_id)  # opened here: no event missed

        def deliver(item):
            if isinstance(item, Lost):
                if on_lost is not None:
                    on_lost(item)
                else:
                    log.warning("evring subscription lost %d events (%s) in lane %d", item.count,
                                item.reason, item.lane)
                return
            handler(self.decode(item))

        return Subscription(consumer, deliver, f"evring-sub-{event_type}")

    def close(self):
        """Unregister the producer (subscriptions are disposed on their own)."""
        self._producer.close()
