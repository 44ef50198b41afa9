"""All the ring's types, every field compared, in three directions: Python -> ring -> Python,
Python -> `evring tail --json` (the C decoder), and evring-sim (C services) -> Python."""
import json
import os
from collections import Counter

import pytest

import evring
from conftest import run
from values import field_value


# per direction, records of each type found equal field by field (the table printed at the end)
TABLE = {}


def expected_records(ring):
    """One record per type of the ring's own description: (type, emit keywords)."""
    out = []
    for type_id, (name, info) in enumerate(ring.schema().items()):
        kw = {f: field_value(type_id, i, spec["kind"], spec["size"]) for i, (f, spec) in enumerate(info["fields"].items())}
        kw.update(correlation_id=(1 << 64) - 1 - type_id, plan_id=1000 + type_id,
                  details=field_value(type_id, 99, "string", info["details_size"]))
        out.append((name, kw))
    return out


def emit_all(ring):
    p = ring.producer("roundtrip")
    records = expected_records(ring)
    for name, kw in records:
        assert p.emit(name, **kw) is True
    return records


def matches(ev_dict, name, kw):
    return ev_dict["type"] == name and not ev_dict["truncated"] and all(ev_dict[k] == v for k, v in kw.items())


def test_python_to_python_every_type_every_field(ring):
    records = emit_all(ring)
    events = list(ring.consume("oldest"))
    assert all(isinstance(e, evring.Event) for e in events) and len(events) == len(records)
    by_type = {e.type: e for e in events}
    ok = 0
    for name, kw in records:
        ev = by_type[name]
        assert ev.to_dict() == {**ev.to_dict(), **kw}, name
        assert all(getattr(ev, k) == v for k, v in kw.items()), name  # attribute access too
        ok += matches(ev.to_dict(), name, kw)
        TABLE.setdefault("python -> python", Counter())[name] += matches(ev.to_dict(), name, kw)
    print(f"\npython -> python: {ok}/{len(ring.types)} types, every field equal")
    assert ok == len(ring.types) == 38


def test_python_to_c_tail_json_every_type_every_field(ring, cli):
    records = emit_all(ring)
    c_side = [json.loads(line) for line in run(cli, "tail", ring.name, "--json").splitlines()]
    py_side = [e.to_dict() for e in ring.consume("oldest")]
    c_by_pos = {(d["lane"], d["seq"]): d for d in c_side}
    ok = 0
    for d in py_side:
        assert c_by_pos[(d["lane"], d["seq"])] == d  # every key, time and ids included
    for name, kw in records:
        (d,) = [d for d in c_side if d["type"] == name]
        ok += matches(d, name, kw)
        TABLE.setdefault("python -> evring tail --json", Counter())[name] += matches(d, name, kw)
    print(f"\npython -> evring tail --json: {ok}/{len(ring.types)} types, every field equal")
    assert ok == len(c_side) == 38


def test_c_sim_to_python_every_type_every_field(ring_name, cli, sim):
    ring = evring.create(ring_name, lanes=2, slots_per_lane=8192)
    run(sim, "--ring", ring_name, "--procs", "2", "--events", "3000", "--duration", "0", "--seed", "7", "--quiet")
    py_side = [e for e in ring.consume("oldest")]
    assert not any(isinstance(e, evring.Lost) for e in py_side), "the ring was sized to keep everything"
    c_side = [json.loads(line) for line in run(cli, "tail", ring_name, "--json").splitlines()]
    assert len(py_side) == len(c_side) >= 6000  # each process ends the scenario it is in
    c_by_pos = {(d["lane"], d["seq"]): d for d in c_side}
    types = set()
    for e in py_side:
        d = e.to_dict()
        assert c_by_pos[(e.lane, e.seq)] == d
        assert all(getattr(e, f) == d[f] for f in e.fields)
        types.add(e.type)
        TABLE.setdefault("evring-sim -> python", Counter())[e.type] += 1
    print(f"\nevring-sim -> python: {len(types)}/{len(ring.types)} types in {len(py_side)} records, "
          "every field equal to evring tail --json")
    assert len(types) == 38


def test_oversized_strings_are_cut_at_utf8_boundaries_and_flagged(ring, cli):
    p = ring.producer("trunc")
    size = ring.schema()["tool_retried"]["fields"]["tool"]["size"]
    room = ring.schema()["tool_retried"]["details_size"] - 1
    assert p.emit("tool_retried", tool="é" * size, details="€" * room)
    assert p.emit("tool_retried", tool="fits")
    cut, whole = list(ring.consume(merge=True))  # in emit order across lanes
    assert cut.truncated and cut.flags & 1 and not whole.truncated
    assert cut.tool == "é" * ((size - 1) // 2)  # 2-byte characters: never half of one
    assert cut.details == "€" * (room // 3)
    (c_cut, _) = [json.loads(line) for line in run(cli, "tail", ring.name, "--json").splitlines()]
    assert c_cut["truncated"] is True and c_cut["tool"] == cut.tool and c_cut["details"] == cut.details


def test_table_of_types_per_direction(ring):
    """Runs last in this file: one row per type, the records compared equal in each direction.
    EVRING_ROUNDTRIP_TABLE=FILE also writes it there (bench/results/python_roundtrip.md)."""
    if len(TABLE) < 3:
        pytest.skip("the table needs the three direction tests of this file to run first")
    dirs = list(TABLE)
    rows = [f"| type | {' | '.join(dirs)} |", "|---|" + "---|" * len(dirs)]
    rows += [f"| {t} | " + " | ".join(str(TABLE[d][t]) for d in dirs) + " |" for t in ring.types]
    rows.append("| types with every field equal | " +
                " | ".join(f"{sum(1 for t in ring.types if TABLE[d][t])}/{len(ring.types)}" for d in dirs) + " |")
    print("\n" + "\n".join(rows))
    if os.environ.get("EVRING_ROUNDTRIP_TABLE"):
        with open(os.environ["EVRING_ROUNDTRIP_TABLE"], "w") as f:
            f.write("Records of each type that came back with every field equal, per direction "
                    "(tests/python/test_roundtrip.py).\n\n" + "\n".join(rows) + "\n")
    assert len(dirs) == 3 and all(TABLE[d][t] for d in dirs for t in ring.types)
