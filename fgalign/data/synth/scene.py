"""Scene graphs of the synthetic world: vocabulary, sampling, relations, referring expressions.

A scene is a plain JSON-able dict::

    {"image_id": 7, "file": "COCO_train_000000000007.png", "width": 128, "height": 128,
     "background": [236, 233, 226],
     "objects": [{"id": 0, "shape": "circle", "color": "red", "size": "large",
                  "center": [40.2, 61.0], "radius": 17.9, "angle": 3.1,
                  "box": [x1, y1, x2, y2], "polygon": [[x, y], ...], "visible": 0.93}, ...],
     "relations": {"left": [[i, j], ...], "right": ..., "above": ..., "below": ...}}

``[i, j]`` in ``relations["left"]`` means object i is left of object j (centres differ by more
than a margin, so near-ties are neither). Objects are drawn in list order (later ones on top);
sampling rejects placements that leave any object less than ``MIN_VISIBLE`` visible, and
objects of the same colour never touch (they would read as one blob).
"""
from __future__ import annotations

import math

import numpy as np

SHAPES = ("circle", "square", "triangle", "star", "cross", "diamond", "hexagon")
COLORS = {  # well separated RGB values on a pale background
    "red": (220, 30, 30),
    "green": (30, 160, 50),
    "blue": (35, 70, 225),
    "yellow": (240, 205, 0),
    "purple": (130, 40, 170),
    "orange": (245, 130, 0),
    "cyan": (0, 200, 210),
    "gray": (115, 115, 115),
}
SIZES = {"small": 0.075, "large": 0.15}  # radius as a fraction of the image side
MIN_OBJECTS, MAX_OBJECTS = 2, 6
MIN_VISIBLE = 0.7  # fraction of an object's own area that must stay visible
RELATION_MARGIN = 0.06  # centres must differ by this fraction of the side to be left/above
RELATIONS = ("left", "right", "above", "below")


def shape_polygon(shape: str, cx: float, cy: float, r: float, angle: float) -> list[list[float]]:
    """Outline of ``shape`` centred at (cx, cy) with circumradius ``r``, rotated ``angle`` degrees."""
    if shape == "circle":
        pts = [(math.cos(t), math.sin(t)) for t in np.linspace(0, 2 * math.pi, 32, endpoint=False)]
    elif shape == "square":
        s = 0.78
        pts = [(-s, -s), (s, -s), (s, s), (-s, s)]
    elif shape == "triangle":
        pts = [(math.cos(t), math.sin(t)) for t in (-math.pi / 2, math.pi / 6, 5 * math.pi / 6)]
        pts = [(x * 1.1, y * 1.1 + 0.15) for x, y in pts]
    elif shape == "star":
        pts = []
        for k in range(10):
            t = -math.pi / 2 + k * math.pi / 5
            rad = 1.05 if k % 2 == 0 else 0.45
            pts.append((rad * math.cos(t), rad * math.sin(t)))
    elif shape == "cross":
        a, b = 0.85, 0.3
        pts = [(-b, -a), (b, -a), (b, -b), (a, -b), (a, b), (b, b), (b, a), (-b, a),
               (-b, b), (-a, b), (-a, -b), (-b, -b)]
    elif shape == "diamond":
        pts = [(0, -1.05), (0.62, 0), (0, 1.05), (-0.62, 0)]
    elif shape == "hexagon":
        pts = [(math.cos(t), math.sin(t)) for t in np.linspace(0, 2 * math.pi, 6, endpoint=False)]
    else:
        raise ValueError(f"unknown shape {shape!r}; known: {SHAPES}")
    ca, sa = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    return [[round(cx + r * (x * ca - y * sa), 2), round(cy + r * (x * sa + y * ca), 2)]
            for x, y in pts]


def polygon_box(poly: list[list[float]], side: int) -> list[float]:
    """Tight [x1, y1, x2, y2] box of a polygon, clipped to the image."""
    xs, ys = [p[0] for p in poly], [p[1] for p in poly]
    clip = lambda v: round(min(max(v, 0.0), float(side)), 2)
    return [clip(min(xs)), clip(min(ys)), clip(max(xs)), clip(max(ys))]


def compute_relations(objects: list[dict], side: int) -> dict[str, list[list[int]]]:
    """Pairwise left/right/above/below relations between object centres."""
    m = RELATION_MARGIN * side
    rel: dict[str, list[list[int]]] = {k: [] for k in RELATIONS}
    for a in objects:
        for b in objects:
            if a["id"] == b["id"]:
                continue
            (ax, ay), (bx, by) = a["center"], b["center"]
            if ax < bx - m:
                rel["left"].append([a["id"], b["id"]])
            if ax > bx + m:
                rel["right"].append([a["id"], b["id"]])
            if ay < by - m:
                rel["above"].append([a["id"], b["id"]])
            if ay > by + m:
                rel["below"].append([a["id"], b["id"]])
    return rel


def related(scene: dict, rel: str, j: int) -> tuple[list[int], list[int]]:
    """Objects in relation ``rel`` to object ``j``, and the ambiguous ones (near-ties)."""
    hits = [a for a, b in scene["relations"][rel] if b == j]
    opposite = {"left": "right", "right": "left", "above": "below", "below": "above"}[rel]
    clear = set(hits) | {a for a, b in scene["relations"][opposite] if b == j} | {j}
    ambiguous = [o["id"] for o in scene["objects"] if o["id"] not in clear]
    return hits, ambiguous


def describe(obj: dict, objects: list[dict], avoid: str | None = None) -> str | None:
    """Shortest phrase ("triangle", "red triangle", "small red triangle") naming ``obj`` uniquely.

    ``avoid`` ("color", "shape" or "size") leaves that attribute out (it is what a question asks for);
    returns None when no allowed phrase is unique in the scene.
    """
    if avoid == "shape":
        keys_options = [("color",), ("size", "color")]
    else:
        keys_options = [("shape",), ("color", "shape"), ("size", "shape"), ("size", "color", "shape")]
    for keys in keys_options:
        if avoid in keys:
            continue
        same = [o for o in objects if all(o[k] == obj[k] for k in keys)]
        if len(same) == 1:
            return " ".join(obj[k] for k in keys) + ("" if keys[-1] == "shape" else " object")
    return None


def _blends(a: dict, b: dict) -> bool:
    """True when two objects of the same colour could touch (they would merge into one blob)."""
    if a["color"] != b["color"]:
        return False
    (ax, ay), (bx, by) = a["center"], b["center"]
    return math.hypot(ax - bx, ay - by) < a["radius"] * 1.1 + b["radius"] * 1.1 + 2


def sample_scene(rng: np.random.Generator, image_id: int, file: str, side: int,
                 visible_fraction) -> dict:
    """Sample a scene graph of 2-6 objects, none hidden below ``MIN_VISIBLE``.

    Args:
        rng: per-image generator (so scenes do not depend on each other).
        image_id: unique id over all splits.
        file: image file name.
        side: image side in pixels.
        visible_fraction: ``f(objects, side) -> list[float]``, the visible fraction of each
            object given the draw order (from ``render``; passed in to keep this module pure).
    """
    n = int(rng.integers(MIN_OBJECTS, MAX_OBJECTS + 1))
    objects: list[dict] = []
    for _ in range(n):
        for _attempt in range(40):
            size = str(rng.choice(list(SIZES)))
            r = SIZES[size] * side * float(rng.uniform(0.92, 1.08))
            cx, cy = (float(v) for v in rng.uniform(r + 2, side - r - 2, size=2))
            obj = {"id": len(objects), "shape": str(rng.choice(SHAPES)),
                   "color": str(rng.choice(list(COLORS))), "size": size,
                   "center": [round(cx, 2), round(cy, 2)], "radius": round(r, 2),
                   "angle": round(float(rng.uniform(-10, 10)), 2)}
            obj["polygon"] = shape_polygon(obj["shape"], cx, cy, r, obj["angle"])
            if any(_blends(obj, o) for o in objects):
                continue
            if min(visible_fraction(objects + [obj], side)) >= MIN_VISIBLE:
                objects.append(obj)
                break
    if len(objects) < MIN_OBJECTS:  # pragma: no cover - 40 tries on a free canvas never fail
        raise RuntimeError(f"could not place {MIN_OBJECTS} objects in image {image_id}")
    for o, v in zip(objects, visible_fraction(objects, side)):
        o["visible"] = round(v, 3)
        o["box"] = polygon_box(o["polygon"], side)
    bg = [int(v) for v in rng.integers(215, 245, size=3)]
    return {"image_id": image_id, "file": file, "width": side, "height": side,
            "background": bg, "objects": objects,
            "relations": compute_relations(objects, side)}
