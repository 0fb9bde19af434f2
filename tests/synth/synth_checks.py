"""Independent checks of synthetic texts against scene graphs, shared by the synth tests."""
from __future__ import annotations

from fgalign.data.synth.scene import COLORS, RELATION_MARGIN, SHAPES, SIZES

SPLITS = ("train", "val", "test")


def resolve(phrase: str, objects: list[dict]) -> dict:
    """The unique object named by "small red circle" / "red object" / "star" (asserts unique)."""
    words = phrase.split()
    if words[-1] == "object":
        words = words[:-1]
    attrs = {}
    for w in words:
        key = "size" if w in SIZES else "color" if w in COLORS else "shape" if w in SHAPES else None
        assert key is not None, f"unknown word {w!r} in {phrase!r}"
        attrs[key] = w
    hits = [o for o in objects if all(o[k] == v for k, v in attrs.items())]
    assert len(hits) == 1, f"{phrase!r} names {len(hits)} objects"
    return hits[0]


def clearly(rel: str, a: dict, b: dict, side: int) -> bool | None:
    """True / False when ``a rel b`` holds / fails beyond the margin, None on a near-tie."""
    axis, sign = {"left": (0, -1), "right": (0, 1), "above": (1, -1), "below": (1, 1)}[rel]
    d = sign * (a["center"][axis] - b["center"][axis])
    m = RELATION_MARGIN * side
    return True if d > m else False if d < -m else None
