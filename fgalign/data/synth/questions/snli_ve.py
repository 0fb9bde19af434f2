"""SNLI-VE-style premise/hypothesis pairs over a scene graph.

The labelling rule (what the picture can and cannot show):
    entailment     the hypothesis is true of the scene graph: an object with its colour / size /
                   shape, a count, or a left/right/above/below relation between two objects.
    contradiction  the hypothesis is false of the scene graph in exactly one family
                   (``fgalign.data.synth.contrast``): an object with the colour, the shape or the
                   size of a real object changed (no object matches the claim but that one
                   attribute), a wrong count, a flipped relation, or an object whose colour and
                   shape are both absent (existence). The family is the least used so far in
                   the split among those the scene can express, so they stay balanced; the
                   entailments use the same forms in the same proportions.
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

from fgalign.data.synth.captions import list_phrase, object_phrase
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
    return f"There is a {' '.join(words)} in the picture."


def _false_object(scene: dict, rng: np.random.Generator, family: str) -> str | None:
    """"There is a [size] colour shape in the picture." false in ``family`` alone (its
    ``mismatch`` is exactly {family}; for existence: neither the colour nor the shape is in
    the scene), or None when the scene allows no such claim."""
    objs = scene["objects"]
    say_size = family == "size" or rng.random() < 0.5
    claims = []
    if family == "existence":
        cs = [c for c in COLORS if c not in {o["color"] for o in objs}]
        ss = [x for x in SHAPES if x not in {o["shape"] for o in objs}]
        claims = [{"color": c, "shape": x} for c in cs for x in ss]
        if say_size:
            claims = [{"size": z, **c} for c in claims for z in SIZES]
    else:
        for o in objs:
            base = {"color": o["color"], "shape": o["shape"]}
            if say_size:
                base = {"size": o["size"], **base}
            values = {"color": COLORS, "shape": SHAPES, "size": SIZES}[family]
            claims += [{**base, family: v} for v in values if v != o[family]]
        want = {family}
        claims = [c for c in claims if mismatch(c, objs) == want]
    if not claims:
        return None
    return _object_statement(claims[int(rng.integers(len(claims)))])


def _true_object(scene: dict, rng: np.random.Generator, family: str) -> str:
    o = scene["objects"][int(rng.integers(len(scene["objects"])))]
    say_size = family == "size" or rng.random() < 0.5
    return f"There is {object_phrase(o, size=say_size)} in the picture."


def _flipped_relation(scene: dict, rng: np.random.Generator) -> str | None:
    objs = scene["objects"]
    facts = _relation_facts(scene)
    if not facts:
        return None
    a, rel, b = facts[int(rng.integers(len(facts)))]
    return (f"The {describe(objs[a], objs)} is {REL_PHRASE[OPPOSITE[rel]]} "
            f"the {describe(objs[b], objs)}.")


def contradiction(scene: dict, rng: np.random.Generator, balancer: FamilyBalancer) -> str:
    """A hypothesis false of the scene in one family (``contrast.FAMILIES``), chosen as the
    least used so far in the split among those the scene can express."""
    for family in balancer.order(FAMILIES, rng):
        if family == "count":
            text = _count_claim(scene, rng, true=False)
        elif family == "relation":
            text = _flipped_relation(scene, rng)
        else:
            text = _false_object(scene, rng, family)
        if text is not None:
            balancer.use(family)
            return text
    raise AssertionError("the count contradiction is always available")  # pragma: no cover


def entailment(scene: dict, rng: np.random.Generator, balancer: FamilyBalancer) -> str:
    """A true hypothesis in the same forms and proportions as the contradictions: an object
    statement for color / shape / size / existence (size always stated for size), a count,
    or a relation (an object statement when the scene has no clear relation)."""
    objs = scene["objects"]
    family = balancer.order(FAMILIES, rng)[0]
    balancer.use(family)
    if family == "count":
        return _count_claim(scene, rng, true=True)
    facts = _relation_facts(scene)
    if family == "relation" and facts:
        a, rel, b = facts[int(rng.integers(len(facts)))]
        return f"The {describe(objs[a], objs)} is {REL_PHRASE[rel]} the {describe(objs[b], objs)}."
    return _true_object(scene, rng, family)


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


def make_snli_ve(scene: dict, rng: np.random.Generator,
                 balancers: tuple[FamilyBalancer, FamilyBalancer] | None = None,
                 per_image: int = 2) -> list[dict]:
    """SNLI-VE lines (original-release keys, ``Flikr30kID`` = image file name) for one scene.

    ``balancers`` (entailment, contradiction) carry the family counts of the split so far
    (fresh ones when None).
    """
    ent_bal, con_bal = balancers or (FamilyBalancer(), FamilyBalancer())
    makers = {"entailment": lambda s, r: entailment(s, r, ent_bal), "neutral": neutral,
              "contradiction": lambda s, r: contradiction(s, r, con_bal)}
    rows = []
    for k in range(per_image):
        caption_id = f"{scene['file']}#{k}"
        s1 = premise(scene, rng)
        for label, tag in (("entailment", "e"), ("neutral", "n"), ("contradiction", "c")):
            make = makers[label]
            rows.append({"Flikr30kID": scene["file"], "sentence1": s1,
                         "sentence2": make(scene, rng), "gold_label": label,
                         "annotator_labels": [label], "captionID": caption_id,
                         "pairID": f"{caption_id}r1{tag}"})
    return rows

