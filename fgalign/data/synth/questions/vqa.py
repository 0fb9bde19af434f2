"""VQAv2-style questions over a scene graph, with 10 noisy "human" answers each.

Families (each needs the scene graph, and most need binding or relations):
    color     "What color is the triangle?"            (object named without its colour, uniquely)
    shape     "What shape is the red object?"          (object named without its shape, uniquely)
    count     "How many red objects are there?"        (colours, shapes, sizes, all; 0 allowed),
              "Are there more red objects than blue objects?"
    exist     "Is there a blue star?"                  (no = colour and shape both present, unbound)
    relation  "What shape is left of the green circle?" (exactly one object in that relation,
              no near-ties)
    size      "What size is the red star?", "Is the red star bigger than the blue circle?"

Each family is one contrast family of ``fgalign.data.synth.contrast`` (``exist`` → existence);
world format 1 asked "Are there more …" under size, which left size at 14.6 % of the questions.

Balancing: each family proposes every valid question of the scene; ``AnswerBalancer`` picks the
one whose answer was used least so far in that family, so answer priors stay flat.

Human disagreement: of the 10 answers, 0-4 are replaced by a synonym ("grey", "two", "big") or a
wrong neighbour ("orange" for red, 3 for 2); the gold answer always keeps a majority of ≥ 6.
"""
from __future__ import annotations

from collections import Counter

import numpy as np

from fgalign.data.formats import vqav2
from fgalign.data.synth.scene import COLORS, SHAPES, SIZES, describe, related

FAMILIES = ("color", "shape", "count", "exist", "relation", "size")
PLURAL = {"circle": "circles", "square": "squares", "triangle": "triangles", "star": "stars",
          "cross": "crosses", "diamond": "diamonds", "hexagon": "hexagons"}
REL_PHRASE = {"left": "left of", "right": "right of", "above": "above", "below": "below"}
NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven")
SYNONYMS = {"gray": ["grey"], "purple": ["violet"], "cyan": ["light blue", "turquoise"],
            "square": ["rectangle"], "diamond": ["rhombus"], "cross": ["plus"],
            "large": ["big"], "small": ["tiny"], "yes": ["yes"], "no": ["no"]}
NEIGHBOURS = {"red": ["orange", "purple"], "orange": ["red", "yellow"], "yellow": ["orange"],
              "green": ["cyan"], "cyan": ["green", "blue"], "blue": ["purple", "cyan"],
              "purple": ["blue"], "gray": ["black"], "circle": ["hexagon"],
              "hexagon": ["circle"], "square": ["diamond"], "diamond": ["square"],
              "triangle": ["diamond"], "star": ["cross"], "cross": ["star"],
              "yes": ["no"], "no": ["yes"], "small": ["large"], "large": ["small"]}
NOISE_COUNTS = (0, 0, 0, 1, 1, 2, 2, 3, 3, 4)  # how many of the 10 answers deviate


class AnswerBalancer:
    """Chooses among candidate questions the one whose answer is rarest so far (per family)."""

    def __init__(self) -> None:
        self.counts: Counter = Counter()

    def pick(self, family: str, cands: list[tuple], rng: np.random.Generator) -> tuple:
        least = min(self.counts[(family, c[1])] for c in cands)
        pool = [c for c in cands if self.counts[(family, c[1])] == least]
        chosen = pool[int(rng.integers(len(pool)))]
        self.counts[(family, chosen[1])] += 1
        return chosen


def candidates(scene: dict, family: str) -> list[tuple[str, str, str, str]]:
    """All valid ``(question, answer, question_type, answer_type)`` of one family in a scene."""
    objs = scene["objects"]
    out = []
    if family == "color":
        for o in objs:
            if d := describe(o, objs, avoid="color"):
                out.append((f"What color is the {d}?", o["color"], "what color is the", "other"))
    elif family == "shape":
        for o in objs:
            if d := describe(o, objs, avoid="shape"):
                out.append((f"What shape is the {d}?", o["shape"], "what shape is the", "other"))
    elif family == "count":
        out.append(("How many objects are there?", str(len(objs)), "how many", "number"))
        for c in COLORS:
            n = sum(o["color"] == c for o in objs)
            out.append((f"How many {c} objects are there?", str(n), "how many", "number"))
        for s in SHAPES:
            n = sum(o["shape"] == s for o in objs)
            out.append((f"How many {PLURAL[s]} are there?", str(n), "how many", "number"))
        for z in SIZES:
            n = sum(o["size"] == z for o in objs)
            out.append((f"How many {z} objects are there?", str(n), "how many", "number"))
        counts = Counter(o["color"] for o in objs)
        for c1 in sorted(counts):
            for c2 in sorted(counts):
                if counts[c1] != counts[c2]:
                    ans = "yes" if counts[c1] > counts[c2] else "no"
                    out.append((f"Are there more {c1} objects than {c2} objects?", ans,
                                "are there more", "yes/no"))
    elif family == "exist":
        present = {(o["color"], o["shape"]) for o in objs}
        colors, shapes = {o["color"] for o in objs}, {o["shape"] for o in objs}
        for c, s in sorted(present):
            out.append((f"Is there a {c} {s}?", "yes", "is there a", "yes/no"))
        for c in sorted(colors):
            for s in sorted(shapes):
                if (c, s) not in present:  # both parts are in the picture, not bound together
                    out.append((f"Is there a {c} {s}?", "no", "is there a", "yes/no"))
    elif family == "relation":
        for o in objs:
            d = describe(o, objs)
            for rel, phrase in REL_PHRASE.items():
                hits, ambiguous = related(scene, rel, o["id"])
                if d is None or len(hits) != 1 or ambiguous:
                    continue
                t = objs[hits[0]]
                out.append((f"What shape is {phrase} the {d}?", t["shape"],
                            "what shape is", "other"))
                out.append((f"What color is the object {phrase} the {d}?", t["color"],
                            "what color is the", "other"))
    elif family == "size":
        for o in objs:
            if d := describe(o, objs, avoid="size"):
                out.append((f"What size is the {d}?", o["size"], "what size is the", "other"))
        for a in objs:
            for b in objs:
                da, db = describe(a, objs, avoid="size"), describe(b, objs, avoid="size")
                if a["size"] != b["size"] and da and db:
                    ans = "yes" if a["size"] == "large" else "no"
                    out.append((f"Is the {da} bigger than the {db}?", ans, "is the", "yes/no"))
    else:
        raise ValueError(f"unknown VQA family {family!r}; known: {FAMILIES}")
    return out


def human_answers(gold: str, rng: np.random.Generator) -> tuple[list[str], list[str]]:
    """Ten human answers and their ``answer_confidence``: gold with a few synonyms ("yes")
    and wrong neighbours ("maybe")."""
    answers = [gold] * 10
    confidence = ["yes"] * 10
    n_noise = int(NOISE_COUNTS[int(rng.integers(len(NOISE_COUNTS)))])
    for k in rng.permutation(10)[:n_noise]:
        if gold.isdigit():
            n = int(gold)
            syn, wrong = [NUMBER_WORDS[n]], [str(m) for m in (n - 1, n + 1) if m >= 0]
        else:
            syn, wrong = SYNONYMS.get(gold, [gold]), NEIGHBOURS.get(gold, [gold])
        use_syn = rng.random() < 0.5
        pool = syn if use_syn else wrong
        answers[k] = pool[int(rng.integers(len(pool)))]
        confidence[k] = "yes" if use_syn else "maybe"
    return answers, confidence


def make_vqa(scene: dict, rng: np.random.Generator, balancer: AnswerBalancer,
             per_image: int = 6) -> tuple[list[dict], list[dict]]:
    """Questions and annotations (official VQAv2 entries) for one scene."""
    questions, annotations, seen = [], [], set()
    for family in [FAMILIES[i] for i in rng.permutation(len(FAMILIES))]:
        if len(questions) >= per_image:
            break
        cands = [c for c in candidates(scene, family) if c[0] not in seen]
        if not cands:
            continue
        q, a, qtype, atype = balancer.pick(family, cands, rng)
        seen.add(q)
        qid = scene["image_id"] * 1000 + len(questions)
        questions.append(vqav2.question(qid, scene["image_id"], q))
        annotations.append(vqav2.annotation(qid, scene["image_id"], qtype, atype, a,
                                            *human_answers(a, rng)))
    return questions, annotations
