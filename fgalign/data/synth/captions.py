"""Caption corpus for backbone training: true scene captions and object-level crop captions.

Lines of ``captions_{split}.jsonl``::

    {"image": "images/COCO_train_000000000007.png", "caption": "...", "box": null}
    {"image": "images/COCO_train_000000000007.png", "caption": "a large red circle",
     "box": [x1, y1, x2, y2]}

Scene captions state only true facts (objects with colour, size and shape; counts; clear
left/right/above/below relations) in varied templates; object captions describe one object,
whose box is given for cropping ("a red circle" and "a large red circle").
"""
from __future__ import annotations

from collections import Counter

import numpy as np

from fgalign.data.synth.scene import describe

NUMBER_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven")
REL_WORDS = {"left": "to the left of", "right": "to the right of", "above": "above",
             "below": "below"}


def object_phrase(o: dict, article: bool = True, size: bool = True) -> str:
    """"a large red circle" (or without article / size)."""
    words = ([o["size"]] if size else []) + [o["color"], o["shape"]]
    return ("a " if article else "") + " ".join(words)


def list_phrase(objs: list[dict], size: bool = True) -> str:
    """"a large red circle, a small blue star and a green triangle"."""
    parts = [object_phrase(o, size=size) for o in objs]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _plural_noun(noun: str, n: int) -> str:
    if n == 1:
        return noun
    return noun + ("es" if noun.endswith(("s", "x")) else "s")


def _count_phrase(objs: list[dict], key: str) -> str:
    counts = sorted(Counter(o[key] for o in objs).items())
    parts = []
    for value, n in counts:
        noun = value if key == "shape" else f"{value} {'object' if n == 1 else 'objects'}"
        parts.append(f"{NUMBER_WORDS[n]} {_plural_noun(noun, n) if key == 'shape' else noun}")
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def scene_captions(scene: dict, rng: np.random.Generator, n: int = 4) -> list[str]:
    """``n`` distinct true captions of a scene in varied templates."""
    objs = scene["objects"]
    order = [objs[i] for i in rng.permutation(len(objs))]
    rels = [(a, r, b) for r in REL_WORDS for a, b in scene["relations"][r]
            if describe(objs[a], objs) and describe(objs[b], objs)]
    rel_text = ""
    if rels:
        a, r, b = rels[int(rng.integers(len(rels)))]
        rel_text = (f"the {describe(objs[a], objs)} is {REL_WORDS[r]} "
                    f"the {describe(objs[b], objs)}")
    templates = [
        list_phrase(order),
        f"{list_phrase(order, size=False)} on a plain background",
        f"{NUMBER_WORDS[len(objs)]} shapes: {list_phrase(order)}",
        f"a picture with {_count_phrase(objs, 'color')}",
        f"there {'is' if len(objs) == 1 else 'are'} {_count_phrase(objs, 'shape')}",
    ]
    if rel_text:
        templates += [f"{list_phrase(order)}; {rel_text}", rel_text]
    picked = [templates[i] for i in rng.permutation(len(templates))[:n]]
    return picked


def caption_rows(scene: dict, rng: np.random.Generator, n_scene: int = 4) -> list[dict]:
    """All caption lines of one scene: ``n_scene`` scene captions, then 2 per object."""
    image = f"images/{scene['file']}"
    rows = [{"image": image, "caption": c, "box": None}
            for c in scene_captions(scene, rng, n_scene)]
    for o in scene["objects"]:
        for cap in (object_phrase(o, size=False), object_phrase(o)):
            rows.append({"image": image, "caption": cap, "box": o["box"]})
    return rows
