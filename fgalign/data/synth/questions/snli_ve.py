"""SNLI-VE-style premise/hypothesis pairs over a scene graph.

The labelling rule (what the picture can and cannot show):
    entailment     the hypothesis is true of the scene graph: an object with its colour / size /
                   shape, a count, or a left/right/above/below relation between two objects.
    contradiction  the hypothesis is false of the scene graph in exactly one family
                   (``fgalign.data.synth.contrast``): a real object with its colour, shape or
                   size changed (no object matches the claim but in that one attribute), a
                   wrong count, a flipped relation, or an object whose colour and shape are
                   both absent (existence). The entailment of the same caption is its minimal
                   pair: the same statement with that family true (``hypothesis_pair``), so
                   only that family's words separate them. The family is the least used so far
                   in the split among those the scene can express, so families stay balanced.
    neutral        the hypothesis names an object that IS in the picture, correctly, and states a
                   property that a flat drawing of coloured shapes cannot show: material ("made of
                   wood"), weight, temperature, ownership, intent or purpose, what happened before.
                   The picture neither confirms nor refutes it.

Each scene gets ``per_image`` captions; each caption (the premise, ``sentence1``: every object of
the scene with its colour, size and shape, plus one relation) gets one hypothesis of each label,
as in SNLI-VE, so the three labels are exactly balanced.
"""
from __future__ import annotations

from collections import Counter

import numpy as np

from fgalign.data.formats import snli_ve as snli_ve_format
from fgalign.data.synth.captions import list_phrase
from fgalign.data.synth.contrast import FAMILIES, mismatch
from fgalign.data.synth.questions.vqa import NUMBER_WORDS, PLURAL, REL_PHRASE
from fgalign.data.synth.scene import COLORS, SHAPES, SIZES, describe

NEUTRAL_PREDICATES = (
    "is made of wood", "is made of metal", "is made of plastic", "is made of glass",
    "is heavy", "is very light", "is warm to the touch", "is cold", "belongs to a child",
    "was drawn by a teacher", "was put there on purpose", "is somebody's favourite",
    "was moved a moment ago", "is new", "is fragile", "smells of paint",
)
OPPOSITE = {"left": "right", "right": "left", "above": "below", "below": "above"}


def _relation_facts(scene: dict) -> list[tuple[int, str, int]]:
    """(a, rel, b) with a, b uniquely describable and the relation clear of near-ties."""
    objs = scene["objects"]
    out = []
    for rel in REL_PHRASE:
        for a, b in scene["relations"][rel]:
            if describe(objs[a], objs) and describe(objs[b], objs):
                out.append((a, rel, b))
    return out


class FamilyBalancer:
    """Per split: among the families a scene can express, the one used least so far."""

    def __init__(self) -> None:
        self.counts: Counter = Counter()

    def order(self, families: tuple[str, ...], rng: np.random.Generator) -> list[str]:
        """``families`` from least to most used (random among ties)."""
        keys = rng.random(len(families))
        return [f for _, _, f in sorted((self.counts[f], keys[i], f)
                                        for i, f in enumerate(families))]

    def use(self, family: str) -> None:
        self.counts[family] += 1


def _object_statement(claim: dict[str, str]) -> str:
    words = [claim[k] for k in ("size", "color", "shape") if k in claim]
    return f"There is a {' '.join(words)} in the picture."  # "a" always, as object_phrase


def _object_pair(scene: dict, rng: np.random.Generator, family: str) -> tuple[str, str] | None:
    """(true, false) object statements, the false one false in ``family`` alone (its
    ``mismatch`` is exactly {family}): a real object with that one attribute changed; for
    existence, a real object vs one whose colour and shape are both absent. None when the
    scene allows no such pair."""
    objs = scene["objects"]
    say_size = family == "size" or rng.random() < 0.5
    keys = ("size", "color", "shape") if say_size else ("color", "shape")
    pairs = []
    for o in objs:
        true = {k: o[k] for k in keys}
        if family == "existence":
            cs = [c for c in COLORS if c not in {p["color"] for p in objs}]
            ss = [x for x in SHAPES if x not in {p["shape"] for p in objs}]
            pairs += [(true, {**true, "color": c, "shape": x}) for c in cs for x in ss]
        else:
            values = {"color": COLORS, "shape": SHAPES, "size": SIZES}[family]
            pairs += [(true, {**true, family: v}) for v in values if v != o[family]
                      if mismatch({**true, family: v}, objs) == {family}]
    if not pairs:
        return None
    true, false = pairs[int(rng.integers(len(pairs)))]
    return _object_statement(true), _object_statement(false)


def _count_pair(scene: dict, rng: np.random.Generator) -> tuple[str, str]:
    """"There are two stars." / "There are three stars.": the same attribute, the true count
    and a wrong one (by one when possible)."""
    objs = scene["objects"]
    opts = [("color", c) for c in COLORS] + [("shape", x) for x in SHAPES]
    key, v = opts[int(rng.integers(len(opts)))]
    n = sum(o[key] == v for o in objs)
    wrong = [m for m in (n - 1, n + 1) if 0 <= m <= 3] or [m for m in range(4) if m != n]
    return _count_text(key, v, n), _count_text(key, v, wrong[int(rng.integers(len(wrong)))])


def _count_text(key: str, v: str, m: int) -> str:
    word = "no" if m == 0 else NUMBER_WORDS[m]
    verb = "is" if m == 1 else "are"
    if key == "color":
        return f"There {verb} {word} {v} object{'' if m == 1 else 's'}."
    return f"There {verb} {word} {v if m == 1 else PLURAL[v]}."


def _relation_pair(scene: dict, rng: np.random.Generator) -> tuple[str, str] | None:
    objs = scene["objects"]
    facts = _relation_facts(scene)
    if not facts:
        return None
    a, rel, b = facts[int(rng.integers(len(facts)))]
    da, db = describe(objs[a], objs), describe(objs[b], objs)
    return (f"The {da} is {REL_PHRASE[rel]} the {db}.",
            f"The {da} is {REL_PHRASE[OPPOSITE[rel]]} the {db}.")


def hypothesis_pair(scene: dict, rng: np.random.Generator, balancer: FamilyBalancer
                    ) -> tuple[str, str]:
    """(entailed, contradicted) hypotheses of one caption: a minimal pair that differs in one
    contrast family (``contrast.FAMILIES``), the family used least so far in the split among
    those the scene can express. The entailed one is the contradicted one with that family
    set to the truth, so the only words that separate them are that family's."""
    for family in balancer.order(FAMILIES, rng):
        if family == "count":
            pair = _count_pair(scene, rng)
        elif family == "relation":
            pair = _relation_pair(scene, rng)
        else:
            pair = _object_pair(scene, rng, family)
        if pair is not None:
            balancer.use(family)
            return pair
    raise AssertionError("the count pair is always available")  # pragma: no cover


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


def make_snli_ve(scene: dict, rng: np.random.Generator, balancer: FamilyBalancer | None = None,
                 per_image: int = 2) -> list[dict]:
    """SNLI-VE lines (original-release keys, ``Flikr30kID`` = image file name) for one scene.

    ``balancer`` carries the family counts of the split so far (a fresh one when None).
    """
    balancer = balancer or FamilyBalancer()
    rows = []
    for k in range(per_image):
        s1 = premise(scene, rng)
        entailed, contradicted = hypothesis_pair(scene, rng, balancer)
        texts = {"entailment": entailed, "neutral": neutral(scene, rng),
                 "contradiction": contradicted}
        for label in ("entailment", "neutral", "contradiction"):
            rows.append(snli_ve_format.pair(scene["file"], k, 1, s1, texts[label], label))
    return rows

