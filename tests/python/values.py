"""Distinct, range-stretching values for every field of every type, from the ring's description."""

_BITS = {"u8": 8, "u16": 16, "u32": 32, "u64": 64, "i8": 8, "i16": 16, "i32": 32, "i64": 64}


def field_value(type_id, index, kind, size):
    """A value that tells fields and types apart and fits: near the top of the kind's range, a
    negative one for signed kinds, and for strings UTF-8 that fills the field exactly."""
    if kind == "string":
        text = f"{type_id}.{index}-é-"  # 'é' is two bytes: the copy must keep UTF-8 whole
        room = size - 1
        while len(text.encode()) > room:  # a short field keeps what fits
            text = text[:-1]
        while len((text + "x").encode()) <= room:
            text += "x"
        return text
    bits = _BITS[kind]
    if kind.startswith("i"):
        return -(1 << (bits - 1)) + type_id + index
    return (1 << bits) - 1 - type_id - index

