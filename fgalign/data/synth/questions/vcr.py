"""VCR-style questions with object references, 4 answers and 4 rationales, over a scene graph.

Every scene object is a VCR object (``objects[i]`` = its shape name, so ``[i]`` says what the
object is but never its colour or where it is). Texts are token lists where ``[i]`` is an
object reference, as in the official release. Families:

    color     "What color is [0] ?"          answers "[0] is red ." (1 true, 3 other colours);
              rationales about how many objects share that colour ("[0] and [2] are both red .")
    relation  "Which object is left of [1] ?" answers "[k] is left of [1] ." (the only object in
              that relation, no near-ties) vs other objects / absent objects; rationales about
              positions ("[k] is the only object left of [1] .", "[1] is left of [k] .")
    count     "How many other objects have the same color as [0] ?" answers "Two other objects ."
              rationales "[0] and [3] share the color red ." / "[0] is the only red object ."

Exactly one answer and one rationale are true; their positions are balanced over each split.
"""
from __future__ import annotations

import re

import numpy as np

from fgalign.data.synth.questions.vqa import REL_PHRASE
from fgalign.data.synth.scene import COLORS, RELATIONS, SHAPES, related

FAMILIES = ("color", "relation", "count")
COUNT_WORDS = ("No other objects", "One other object", "Two other objects",
               "Three other objects", "Four other objects", "Five other objects")
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


def _color_family(scene, i, rng):
    objs = scene["objects"]
    c = objs[i]["color"]
    wrong = _pick(rng, [x for x in COLORS if x != c], 3)
    question = f"What color is [{i}] ?"
    answers = [f"[{i}] is {x} ." for x in [c] + wrong]
    same = [o["id"] for o in objs if o["color"] == c and o["id"] != i]
    others = [o["id"] for o in objs if o["color"] != c]
    n = len(same) + 1
    true = [f"[{i}] and [{k}] are both {c} ." for k in same] or [f"[{i}] is the only {c} object ."]
    false = [f"[{i}] and [{k}] are both {c} ." for k in others]
    false += [f"There are {m} {c} objects , and [{i}] is one of them ." for m in (n + 1, n + 2)]
    if same:
        false.append(f"[{i}] is the only {c} object .")
    return question, answers, true, false


def _relation_family(scene, j, rng):
    objs = scene["objects"]
    rels = [r for r in RELATIONS if (h := related(scene, r, j)) and len(h[0]) == 1 and not h[1]]
    if not rels:
        return None
    rel = rels[int(rng.integers(len(rels)))]
    k = related(scene, rel, j)[0][0]
    phrase = REL_PHRASE[rel]
    others = [o["id"] for o in objs if o["id"] not in (j, k)]
    absent = [f"The {c} {s} is {phrase} [{j}] ." for c in COLORS for s in SHAPES
              if not any(o["color"] == c and o["shape"] == s for o in objs)]
    wrong = [f"[{m}] is {phrase} [{j}] ." for m in others]
    wrong = _pick(rng, wrong, 3) + _pick(rng, absent, 3 - min(3, len(wrong)))
    answers = [f"[{k}] is {phrase} [{j}] ."] + wrong
    true = [f"[{k}] is the only object {phrase} [{j}] ."]
    false = [f"[{k}] is {REL_PHRASE[OPPOSITE[rel]]} [{j}] .", f"[{j}] is {phrase} [{k}] ."]
    false += [f"[{m}] is the only object {phrase} [{j}] ." for m in others]
    return f"Which object is {phrase} [{j}] ?", answers, true, false


def _count_family(scene, i, rng):
    objs = scene["objects"]
    c = objs[i]["color"]
    same = [o["id"] for o in objs if o["color"] == c and o["id"] != i]
    others = [o for o in objs if o["color"] != c]
    n = len(same)
    lo = max(0, min(n - int(rng.integers(4)), len(COUNT_WORDS) - 4))
    answers = [f"{COUNT_WORDS[n]} ."] + [f"{COUNT_WORDS[m]} ." for m in range(lo, lo + 4) if m != n]
    true = [f"[{i}] and [{k}] share the color {c} ." for k in same] or \
           [f"[{i}] is the only {c} object ."]
    false = [f"[{i}] and [{o['id']}] share the color {c} ." for o in others]
    false += [f"[{i}] and [{o['id']}] share the color {o['color']} ." for o in others]
    if same:
        false.append(f"[{i}] is the only {c} object .")
    return f"How many other objects have the same color as [{i}] ?", answers[:4], true, false


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


def make_vcr(scene: dict, rng: np.random.Generator, split: str, start: int,
             label_counts: tuple[list[int], list[int]], per_image: int = 2) -> list[dict]:
    """Official VCR lines for one scene.

    Args:
        scene: scene graph.
        rng: generator of this scene.
        split: split name (annot_id prefix).
        start: number of VCR lines already written in this split (annot_id numbering).
        label_counts: per-position counts of true answers and rationales so far in the split,
            updated in place so that ``answer_label`` and ``rationale_label`` stay balanced.
        per_image: questions per scene (fewer when a family has no valid question).
    """
    objs = scene["objects"]
    rows = []
    for family in [FAMILIES[f] for f in rng.permutation(len(FAMILIES))]:
        if len(rows) >= per_image:
            break
        i = _pick_ref(objs, rng)
        made = {"color": _color_family, "relation": _relation_family,
                "count": _count_family}[family](scene, i, rng)
        if made is None or len(made[3]) < 3 or len(made[1]) < 4:
            continue
        question, answers, true, false = made
        rationales = _pick(rng, true, 1) + _pick(rng, false, 3)
        a_label, r_label = _balanced_label(label_counts[0], rng), _balanced_label(label_counts[1], rng)
        a_choices, r_choices = _place(answers, a_label, rng), _place(rationales, r_label, rng)
        n = start + len(rows)
        stem = scene["file"].rsplit(".", 1)[0]
        rows.append({
            "movie": "synth_shapes", "objects": [o["shape"] for o in objs],
            "interesting_scores": [0], "answer_likelihood": "likely",
            "img_fn": scene["file"], "metadata_fn": f"{stem}.json",
            "question": tokens(question), "question_orig": orig(question),
            "answer_choices": [tokens(a) for a in a_choices],
            "answer_label": a_label, "answer_orig": orig(answers[0]),
            "rationale_choices": [tokens(r) for r in r_choices],
            "rationale_label": r_label, "rationale_orig": orig(rationales[0]),
            "img_id": f"{split}-{scene['image_id']}", "question_number": len(rows),
            "annot_id": f"{split}-{n}", "match_fold": f"{split}-{n % 5}", "match_index": len(rows),
        })
    return rows


def metadata(scene: dict) -> dict:
    """Per-image VCR metadata: boxes [x1, y1, x2, y2, score], polygon segms, names, size."""
    objs = scene["objects"]
    return {"boxes": [o["box"] + [1.0] for o in objs],
            "segms": [[o["polygon"]] for o in objs],
            "names": [o["shape"] for o in objs],
            "width": scene["width"], "height": scene["height"]}
