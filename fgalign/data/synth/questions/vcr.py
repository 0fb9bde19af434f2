"""VCR-style questions with object references, 4 answers and 4 rationales, over a scene graph.

Every scene object is a VCR object (``objects[i]`` = its shape name, so ``[i]`` says what the
object is but never its colour, size or where it is). Texts are token lists where ``[i]`` is an
object reference, as in the official release. Every wrong choice differs from the true one in
one contrast family (``fgalign.data.synth.contrast``):

    Q→A (``QUESTIONS``)
    color      "What color is [0] ?"  "[0] is red ." vs other colours (those in the scene first)
    shape      "What shape is the object left of [1] ?"  "It is a star ." vs other shapes: the
               shape of the only object in that relation (not [1]'s own: its name says it)
    size       "How do the sizes of [0] and [2] compare ?"  "[0] is small and [2] is large ."
               vs the three other size combinations
    count      "How many other objects have the same color as [0] ?"  "Two other objects ."
    relation   "Which object is left of [1] ?"  "[k] is left of [1] ." (the only one, no near-
               ties) vs objects that are not / the relation flipped
    existence  "What else is in the picture besides [0] ?"  "A red star ." vs colour + shape
               pairs whose colour and shape are both absent
    QA→R (``RATIONALES``; single-region color / size / count / existence, relational relation /
    shape)
    color      "[0] is red ." vs other colours
    size       "[0] is small and [2] is large ." vs the other combinations
    count      "Two red objects , including [0] ." vs other numbers
    relation   "[0] is left of [3] ." vs "[0] is right of [3] .", "[3] is left of [0] .", ...
    shape      "The object left of [0] is a star ." vs other shapes
    existence  "There is a red star in the picture besides [0] ." vs absent pairs

Exactly one answer and one rationale are true; their positions are balanced over each split.
"""
from __future__ import annotations

import re
from collections import Counter

import numpy as np

from fgalign.data.formats import vcr as vcr_format
from fgalign.data.synth.contrast import FAMILIES
from fgalign.data.synth.questions.vqa import REL_PHRASE
from fgalign.data.synth.scene import COLORS, RELATIONS, SHAPES, related

COUNT_WORDS = ("No other objects", "One other object", "Two other objects",
               "Three other objects", "Four other objects", "Five other objects")
NUMBERS = ("One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine")
OPPOSITE = {"left": "right", "right": "left", "above": "below", "below": "above"}
_REF = re.compile(r"^\[(\d+)\]$")


def tokens(text: str) -> list:
    """"What color is [0] ?" → ["What", "color", "is", [0], "?"]."""
    return [[int(m.group(1))] if (m := _REF.match(t)) else t for t in text.split()]


def orig(text: str) -> str:
    """Official ``*_orig`` rendering: references as 1-based numbers ("What color is 1?")."""
    text = re.sub(r"\[(\d+)\]", lambda m: str(int(m.group(1)) + 1), text)
    return re.sub(r" ([?.,])", r"\1", text)


def _pick(rng: np.random.Generator, items: list, k: int) -> list:
    return [items[i] for i in rng.permutation(len(items))[:k]]


def _present_first(values: list[str], present: set[str], rng: np.random.Generator, k: int
                   ) -> list[str]:
    """``k`` of ``values``: those present in the scene first (so presence alone does not tell
    the true one), then the others, each group in random order."""
    a = _pick(rng, [v for v in values if v in present], len(values))
    b = _pick(rng, [v for v in values if v not in present], len(values))
    return (a + b)[:k]


def _unique_neighbour(scene: dict, j: int) -> list[tuple[str, int]]:
    """(relation, k): k is the only object in that relation to j, with no near-ties."""
    out = []
    for rel in RELATIONS:
        hits, ambiguous = related(scene, rel, j)
        if len(hits) == 1 and not ambiguous:
            out.append((rel, hits[0]))
    return out


def _other(objs: list[dict], i: int, rng: np.random.Generator) -> int:
    rest = [o["id"] for o in objs if o["id"] != i]
    return rest[int(rng.integers(len(rest)))]


def _size_choices(objs: list[dict], i: int, m: int) -> list[str]:
    """Four statements about the sizes of [i] and [m], exactly one true (first)."""
    forms = {("small", "large"): f"[{i}] is small and [{m}] is large .",
             ("large", "small"): f"[{i}] is large and [{m}] is small .",
             ("small", "small"): f"[{i}] and [{m}] are both small .",
             ("large", "large"): f"[{i}] and [{m}] are both large ."}
    true = forms.pop((objs[i]["size"], objs[m]["size"]))
    return [true] + list(forms.values())


# ---- Q→A: (question, 4 answers with the true one first) or None; i is the referenced object


def qa_color(scene, i, rng):
    objs = scene["objects"]
    c = objs[i]["color"]
    wrong = _present_first([x for x in COLORS if x != c], {o["color"] for o in objs}, rng, 3)
    return f"What color is [{i}] ?", [f"[{i}] is {x} ." for x in [c] + wrong]


def qa_shape(scene, i, rng):
    """The shape of the object in a relation to [i] (the name of [i] itself would tell)."""
    objs = scene["objects"]
    pairs = _unique_neighbour(scene, i)
    if not pairs:
        return None
    rel, k = pairs[int(rng.integers(len(pairs)))]
    s = objs[k]["shape"]
    wrong = _present_first([x for x in SHAPES if x != s], {o["shape"] for o in objs}, rng, 3)
    return (f"What shape is the object {REL_PHRASE[rel]} [{i}] ?",
            [f"It is a {x} ." for x in [s] + wrong])


def qa_size(scene, i, rng):
    objs = scene["objects"]
    m = _other(objs, i, rng)
    return f"How do the sizes of [{i}] and [{m}] compare ?", _size_choices(objs, i, m)


def qa_count(scene, i, rng):
    objs = scene["objects"]
    c = objs[i]["color"]
    n = sum(o["color"] == c for o in objs) - 1
    lo = max(0, min(n - int(rng.integers(4)), len(COUNT_WORDS) - 4))
    answers = [f"{COUNT_WORDS[n]} ."] + [f"{COUNT_WORDS[m]} ." for m in range(lo, lo + 4) if m != n]
    return f"How many other objects have the same color as [{i}] ?", answers[:4]


def qa_relation(scene, i, rng):
    """Which object is in a relation to [i]: the wrong ones are objects that are not."""
    objs = scene["objects"]
    pairs = _unique_neighbour(scene, i)
    if not pairs:
        return None
    rel, k = pairs[int(rng.integers(len(pairs)))]
    phrase = REL_PHRASE[rel]
    wrong = [f"[{m}] is {phrase} [{i}] ." for m in (o["id"] for o in objs) if m not in (i, k)]
    wrong = _pick(rng, wrong, 3)
    wrong += [f"[{k}] is {REL_PHRASE[OPPOSITE[rel]]} [{i}] .",
              f"[{i}] is {phrase} [{k}] ."][: 3 - len(wrong)]
    if len(wrong) < 3:
        return None
    return f"Which object is {phrase} [{i}] ?", [f"[{k}] is {phrase} [{i}] ."] + wrong


def qa_existence(scene, i, rng):
    """What else is in the picture: one present object vs colour + shape pairs that are not."""
    objs = scene["objects"]
    colors, shapes = {o["color"] for o in objs}, {o["shape"] for o in objs}
    absent = [(c, x) for c in COLORS for x in SHAPES if c not in colors and x not in shapes]
    if len(absent) < 3:
        return None
    o = objs[_other(objs, i, rng)]
    wrong = _pick(rng, absent, 3)
    return (f"What else is in the picture besides [{i}] ?",
            [f"A {o['color']} {o['shape']} ." ] + [f"A {c} {x} ." for c, x in wrong])


# ---- QA→R: (true rationale, 3 false ones) about [i], or None


def why_color(scene, i, rng):
    """Single region: the colour of [i]."""
    objs = scene["objects"]
    c = objs[i]["color"]
    wrong = _present_first([x for x in COLORS if x != c], {o["color"] for o in objs}, rng, 3)
    return f"[{i}] is {c} .", [f"[{i}] is {x} ." for x in wrong]


def why_size(scene, i, rng):
    """Single regions: the sizes of [i] and one other object."""
    choices = _size_choices(scene["objects"], i, _other(scene["objects"], i, rng))
    return choices[0], choices[1:]


def why_count(scene, i, rng):
    objs = scene["objects"]
    c = objs[i]["color"]
    n = sum(o["color"] == c for o in objs)
    lo = max(1, n - int(rng.integers(4)))
    nums = [m for m in range(lo, lo + 4) if m != n][:3]
    phrase = lambda m: f"{NUMBERS[m - 1]} {c} object{'s' if m > 1 else ''} , including [{i}] ."
    return phrase(n), [phrase(m) for m in nums]


def why_relation(scene, i, rng):
    """A clear relation of [i] to another object, the wrong ones flip or swap it."""
    facts = [(rel, b) for rel in RELATIONS for a, b in scene["relations"][rel] if a == i]
    if not facts:
        return None
    rel, m = facts[int(rng.integers(len(facts)))]
    phrase, opp = REL_PHRASE[rel], REL_PHRASE[OPPOSITE[rel]]
    wrong = [f"[{i}] is {opp} [{m}] .", f"[{m}] is {phrase} [{i}] ."]
    others = [b for a, b in scene["relations"][OPPOSITE[rel]] if a == i]  # i is clearly not rel b
    if others:
        wrong.append(f"[{i}] is {phrase} [{others[int(rng.integers(len(others)))]}] .")
    else:
        cross = [r for r in RELATIONS if r not in (rel, OPPOSITE[rel]) and [i, m] in
                 scene["relations"][r]]
        if not cross:
            return None
        wrong.append(f"[{i}] is {REL_PHRASE[OPPOSITE[cross[0]]]} [{m}] .")
    return f"[{i}] is {phrase} [{m}] .", wrong


def why_shape(scene, i, rng):
    """The shape of the object in a relation to [i] (not [i]'s own: its name says it)."""
    objs = scene["objects"]
    pairs = _unique_neighbour(scene, i)
    if not pairs:
        return None
    rel, k = pairs[int(rng.integers(len(pairs)))]
    s = objs[k]["shape"]
    wrong = _present_first([x for x in SHAPES if x != s], {o["shape"] for o in objs}, rng, 3)
    text = lambda x: f"The object {REL_PHRASE[rel]} [{i}] is a {x} ."
    return text(s), [text(x) for x in wrong]


def why_existence(scene, i, rng):
    objs = scene["objects"]
    colors, shapes = {o["color"] for o in objs}, {o["shape"] for o in objs}
    absent = [(c, x) for c in COLORS for x in SHAPES if c not in colors and x not in shapes]
    if len(absent) < 3:
        return None
    o = objs[_other(objs, i, rng)]
    text = lambda c, x: f"There is a {c} {x} in the picture besides [{i}] ."
    return text(o["color"], o["shape"]), [text(c, x) for c, x in _pick(rng, absent, 3)]


QUESTIONS = {"color": qa_color, "shape": qa_shape, "size": qa_size, "count": qa_count,
             "relation": qa_relation, "existence": qa_existence}
RATIONALES = {"color": why_color, "shape": why_shape, "size": why_size, "count": why_count,
              "relation": why_relation, "existence": why_existence}


def _pick_ref(objs: list[dict], rng: np.random.Generator) -> int:
    """The object a question refers to; 70 % of the time (when possible) one whose shape is
    shared, so that its name alone ("star") does not say which object it is: only its box does."""
    shared = [o["id"] for o in objs if sum(p["shape"] == o["shape"] for p in objs) > 1]
    pool = shared if shared and rng.random() < 0.7 else [o["id"] for o in objs]
    return pool[int(rng.integers(len(pool)))]


def _balanced_label(counts: list[int], rng: np.random.Generator) -> int:
    """A position among the least used so far (updates ``counts``): labels stay balanced."""
    least = [k for k, c in enumerate(counts) if c == min(counts)]
    label = least[int(rng.integers(len(least)))]
    counts[label] += 1
    return label


def _place(choices: list[str], label: int, rng: np.random.Generator) -> list[str]:
    """``choices[0]`` (the true one) at position ``label``, the others shuffled around it."""
    rest = [choices[1:][k] for k in rng.permutation(len(choices) - 1)]
    return rest[:label] + [choices[0]] + rest[label:]


class VCRBalancer:
    """Per split: label positions and the Q→A / QA→R families used so far."""

    def __init__(self) -> None:
        self.labels = ([0] * 4, [0] * 4)
        self.q2a: Counter = Counter()
        self.qa2r: Counter = Counter()

    @staticmethod
    def order(counts: Counter, rng: np.random.Generator) -> list[str]:
        keys = rng.random(len(FAMILIES))
        return [f for _, _, f in sorted((counts[f], keys[n], f) for n, f in enumerate(FAMILIES))]


def make_vcr(scene: dict, rng: np.random.Generator, split: str, start: int,
             balancer: VCRBalancer, per_image: int = 2,
             contrasts: list[dict] | None = None) -> list[dict]:
    """Official VCR lines for one scene.

    Each question takes the Q→A family used least so far in the split that the scene can
    express, and its rationale the least used QA→R family other than the question's; every
    wrong choice differs from the true one in that family (``contrasts`` gets one record per
    wrong answer and per wrong rationale: task, annot_id, family).

    Args:
        scene: scene graph.
        rng: generator of this scene.
        split: split name (annot_id prefix).
        start: number of VCR lines already written in this split (annot_id numbering).
        balancer: label positions and family counts of the split so far (updated in place).
        per_image: questions per scene (fewer when no family has a valid question).
        contrasts: list the contrast records are appended to (None: not recorded).
    """
    objs = scene["objects"]
    rows = []
    used: set[str] = set()
    for _ in range(per_image):
        made = None
        for qfam in [f for f in balancer.order(balancer.q2a, rng) if f not in used]:
            i = _pick_ref(objs, rng)
            made = QUESTIONS[qfam](scene, i, rng)
            if made is None or len(set(made[1])) < 4:
                made = None
                continue
            for rfam in [f for f in balancer.order(balancer.qa2r, rng) if f != qfam]:
                why = RATIONALES[rfam](scene, i, rng)
                if why is not None and len({why[0], *why[1]}) == 4:
                    break
            else:
                made = None
                continue
            break
        if made is None:
            break
        used.add(qfam)
        balancer.q2a[qfam] += 1
        balancer.qa2r[rfam] += 1
        question, answers = made
        rationales = [why[0]] + list(why[1])
        a_label = _balanced_label(balancer.labels[0], rng)
        r_label = _balanced_label(balancer.labels[1], rng)
        a_choices, r_choices = _place(answers, a_label, rng), _place(rationales, r_label, rng)
        n = start + len(rows)
        annot_id = f"{split}-{n}"
        if contrasts is not None:
            contrasts += [{"task": "vcr_q2a", "id": annot_id, "family": qfam}] * 3
            contrasts += [{"task": "vcr_qa2r", "id": annot_id, "family": rfam}] * 3
        stem = scene["file"].rsplit(".", 1)[0]
        rows.append(vcr_format.annotation(
            movie="synth_shapes", objects=[o["shape"] for o in objs],
            interesting_scores=[0], answer_likelihood="likely",
            img_fn=scene["file"], metadata_fn=f"{stem}.json",
            question=tokens(question), question_orig=orig(question),
            answer_choices=[tokens(a) for a in a_choices],
            answer_label=a_label, answer_orig=orig(answers[0]),
            rationale_choices=[tokens(r) for r in r_choices],
            rationale_label=r_label, rationale_orig=orig(rationales[0]),
            img_id=f"{split}-{scene['image_id']}", question_number=len(rows),
            annot_id=annot_id, match_fold=f"{split}-{n % 5}", match_index=len(rows),
        ))
    return rows


def metadata(scene: dict) -> dict:
    """Per-image VCR metadata: boxes [x1, y1, x2, y2, score], polygon segms, names, size."""
    objs = scene["objects"]
    return vcr_format.metadata([o["box"] for o in objs], [1.0] * len(objs),
                               [[o["polygon"]] for o in objs], [o["shape"] for o in objs],
                               scene["width"], scene["height"])
