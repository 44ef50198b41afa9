"""evring.Time: the time of a record as a UTC datetime that keeps its nanoseconds."""
from datetime import datetime, timezone

_NS = 1_000_000_000


class Time(datetime):
    """A UTC ``datetime`` (microseconds, as datetime holds) that keeps the record's exact stamp:
    ``.ns`` is nanoseconds since the epoch, ``.nanosecond`` the 0-999 ns below ``.microsecond``,
    and ``isoformat()``/``str()`` print all nine digits, as the C decoder's JSON does. Arithmetic
    and comparisons are datetime's (microseconds); compare ``.ns`` for the exact order."""

    __slots__ = ("ns",)

    @classmethod
    def from_ns(cls, ns: int) -> "Time":
        sec, rem = divmod(ns, _NS)
        u = datetime.fromtimestamp(sec, timezone.utc)
        t = datetime.__new__(cls, u.year, u.month, u.day, u.hour, u.minute, u.second, rem // 1000, timezone.utc)
        t.ns = ns
        return t

    @property
    def nanosecond(self) -> int:
        return self.ns % 1000

    def isoformat(self, sep: str = "T", timespec: str = "auto") -> str:
        if timespec not in ("auto", "nanoseconds"):
            return datetime.isoformat(self, sep, timespec)
        base = datetime.isoformat(self, sep, "seconds")  # ...T12:34:56+00:00
        return f"{base[:-6]}.{self.ns % _NS:09d}{base[-6:]}"

    def __str__(self) -> str:
        return self.isoformat(" ")

    def __repr__(self) -> str:
        return f"evring.Time.from_ns({self.ns})  # {self.isoformat()}"

    def __reduce__(self):
        return (Time.from_ns, (self.ns,))
