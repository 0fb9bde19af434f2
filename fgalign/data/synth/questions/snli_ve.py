"""SNLI-VE-style premise/hypothesis pairs over a scene graph.

The labelling rule (what the picture can and cannot show):
    entailment     the hypothesis is true of the scene graph: an object with its colour / size /
                   shape, a count, or a left/right/above/below relation between two objects.
    contradiction  the hypothesis is false of the scene graph: a wrong attribute binding (a colour
                   of the scene put on another object's shape), a wrong count, a flipped relation,
                   or an object (colour + shape) that is not in the picture.
    neutral        the hypothesis names an object that IS in the picture, correctly, and states a
                   property that a flat drawing of coloured shapes cannot show: material ("made of
                   wood"), weight, temperature, ownership, intent or purpose, what happened before.
                   The picture neither confirms nor refutes it.

Each scene gets ``per_image`` captions; each caption (the premise, ``sentence1``: every object of
the scene with its colour, size and shape, plus one relation) gets one hypothesis of each label,
as in SNLI-VE, so the three labels are exactly balanced.
"""
from __future__ import annotations

import numpy as np

from fgalign.data.synth.captions import list_phrase, object_phrase
from fgalign.data.synth.questions.vqa import NUMBER_WORDS, PLURAL, REL_PHRASE
from fgalign.data.synth.scene import COLORS, SHAPES, describe

NEUTRAL_PREDICATES = (
    "is made of wood", "is made of metal", "is made of plastic", "is made of glass",
    "is heavy", "is very light", "is warm to the touch", "is cold", "belongs to a child",
    "was drawn by a teacher", "was put there on purpose", "is somebody's favourite",
    "was moved a moment ago", "is new", "is fragile", "smells of paint",
)
OPPOSITE = {"left": "right", "right": "left", "above": "below", "below": "above"}


def _maybe_size(rng: np.random.Generator) -> str:
    """"small " / "large " / "": contradictions mention sizes as often as entailments do."""
    return ("", "", "small ", "large ")[int(rng.integers(4))]


def _count_claim(scene: dict, rng: np.random.Generator, true: bool) -> str:
    """"There are two stars." / "There are no red objects.", true or false of the scene.

    The number is drawn first (0-3) and an attribute is then found whose count matches it (or,
    for a false claim, misses it, by one when possible), so the number word says nothing about
    the label.
    """
    objs = scene["objects"]
    for m in rng.permutation(4):
        opts = [(key, v) for key, vals in (("color", COLORS), ("shape", SHAPES)) for v in vals
                if (sum(o[key] == v for o in objs) == m) == true]
        near = [(k, v) for k, v in opts if abs(sum(o[k] == v for o in objs) - m) == 1]
        opts = near or opts
        if opts:
            key, v = opts[int(rng.integers(len(opts)))]
            break
    word = "no" if m == 0 else NUMBER_WORDS[m]
    verb = "is" if m == 1 else "are"
    if key == "color":
        return f"There {verb} {word} {v} object{'' if m == 1 else 's'}."
    return f"There {verb} {word} {v if m == 1 else PLURAL[v]}."


def _relation_facts(scene: dict) -> list[tuple[int, str, int]]:
    """(a, rel, b) with a, b uniquely describable and the relation clear of near-ties."""
    objs = scene["objects"]
    out = []
    for rel in REL_PHRASE:
        for a, b in scene["relations"][rel]:
            if describe(objs[a], objs) and describe(objs[b], objs):
                out.append((a, rel, b))
    return out


def entailment(scene: dict, rng: np.random.Generator) -> str:
    objs = scene["objects"]
    kind = ["object", "count", "relation"][int(rng.integers(3))]
    facts = _relation_facts(scene)
    if kind == "relation" and facts:
        a, rel, b = facts[int(rng.integers(len(facts)))]
        return f"The {describe(objs[a], objs)} is {REL_PHRASE[rel]} the {describe(objs[b], objs)}."
    if kind == "count":
        return _count_claim(scene, rng, true=True)
    o = objs[int(rng.integers(len(objs)))]
    return f"There is {object_phrase(o, size=bool(rng.random() < 0.5))} in the picture."


def contradiction(scene: dict, rng: np.random.Generator) -> str:
    objs = scene["objects"]
    present = {(o["color"], o["shape"]) for o in objs}
    kinds = ["binding", "count", "relation", "absent"]
    for kind in [kinds[i] for i in rng.permutation(len(kinds))]:
        if kind == "binding":
            swaps = [(c, o["shape"]) for o in objs for c in sorted({p["color"] for p in objs})
                     if (c, o["shape"]) not in present]
            if swaps:
                c, s = swaps[int(rng.integers(len(swaps)))]
                return f"There is a {_maybe_size(rng)}{c} {s} in the picture."
        elif kind == "count":
            return _count_claim(scene, rng, true=False)
        elif kind == "relation":
            facts = _relation_facts(scene)
            if facts:
                a, rel, b = facts[int(rng.integers(len(facts)))]
                da, db = describe(objs[a], objs), describe(objs[b], objs)
                return f"The {da} is {REL_PHRASE[OPPOSITE[rel]]} the {db}."
        else:
            absent = [(c, s) for c in COLORS for s in SHAPES
                      if c not in {o["color"] for o in objs} and s not in {o["shape"] for o in objs}]
            c, s = absent[int(rng.integers(len(absent)))]
            return f"There is a {_maybe_size(rng)}{c} {s} in the picture."
    raise AssertionError("the count contradiction is always available")  # pragma: no cover


def neutral(scene: dict, rng: np.random.Generator) -> str:
    objs = scene["objects"]
    named = [(o, d) for o in objs if (d := describe(o, objs))]
    o, d = named[int(rng.integers(len(named)))] if named else (objs[0], None)
    pred = NEUTRAL_PREDICATES[int(rng.integers(len(NEUTRAL_PREDICATES)))]
    subject = f"The {d}" if d else f"One {o['color']} {o['shape']}"
    return f"{subject} {pred}."


def premise(scene: dict, rng: np.random.Generator) -> str:
    """A true caption listing every object and, when there is one, a clear relation."""
    objs = scene["objects"]
    order = [objs[i] for i in rng.permutation(len(objs))]
    text = f"A picture of {list_phrase(order)}."
    facts = _relation_facts(scene)
    if facts:
        a, rel, b = facts[int(rng.integers(len(facts)))]
        text += f" The {describe(objs[a], objs)} is {REL_PHRASE[rel]} the {describe(objs[b], objs)}."
    return text


def make_snli_ve(scene: dict, rng: np.random.Generator, per_image: int = 2) -> list[dict]:
    """SNLI-VE lines (original-release keys, ``Flikr30kID`` = image file name) for one scene."""
    rows = []
    for k in range(per_image):
        caption_id = f"{scene['file']}#{k}"
        s1 = premise(scene, rng)
        for label, make, tag in (("entailment", entailment, "e"),
                                 ("neutral", neutral, "n"),
                                 ("contradiction", contradiction, "c")):
            rows.append({"Flikr30kID": scene["file"], "sentence1": s1,
                         "sentence2": make(scene, rng), "gold_label": label,
                         "annotator_labels": [label], "captionID": caption_id,
                         "pairID": f"{caption_id}r1{tag}"})
    return rows

