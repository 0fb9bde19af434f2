"""Contrast table of the synthetic tasks: which attribute family separates true from false.

Families (``FAMILIES``): ``color``, ``shape``, ``size``, ``count``, ``relation``, ``existence``.
One *contrast* is one (true candidate, false candidate) distinction a model must make:

    vqa        one per question: the family the question asks about (``vqa_family``, from
               the question text alone: "How many …" / "Are there more …" → count, "Is there
               a …" → existence, "… left of the …" → relation, "What size …" / "… bigger
               than …" → size, "What color …" → color, "What shape …" → shape).
    snli_ve    one per contradiction pair: the family the hypothesis falsifies
               (``snli_ve_family``, from the hypothesis and the scene graph).
    vcr_q2a    one per wrong answer choice: the family in which it differs from the true one.
    vcr_qa2r   one per wrong rationale choice: likewise (tagged by the generator that wrote it).

``table(records)`` counts contrasts per task and family and gives shares (% of the task's
contrasts); the shares are what "balanced" is judged on (≥ ``MIN_SHARE`` % in each family the
task can express).
"""
from __future__ import annotations

import re
from collections import Counter

FAMILIES = ("color", "shape", "size", "count", "relation", "existence")
TASK_KEYS = ("vqa", "snli_ve", "vcr_q2a", "vcr_qa2r")
MIN_SHARE = 15.0  # % of a task's contrasts each expressible family must reach
_REL = re.compile(r"\b(left of|right of|above|below)\b")
_NUM = ("no", "zero", "one", "two", "three", "four", "five", "six", "seven")


def vqa_family(question: str) -> str:
    """Family of a VQA question of the synthetic world (see the module docstring).

    Raises:
        ValueError: a question none of the world's templates produces.
    """
    q = question.strip()
    if q.startswith(("How many", "Are there more")):
        return "count"
    if q.startswith("Is there a"):
        return "existence"
    if q.startswith("What size") or " bigger than " in q or " smaller than " in q:
        return "size"
    if _REL.search(q):
        return "relation"
    if q.startswith("What color"):
        return "color"
    if q.startswith("What shape"):
        return "shape"
    raise ValueError(f"no contrast family for VQA question {question!r}")


def _object_claim(words: list[str], scene: dict) -> dict[str, str]:
    """{"size"?: .., "color": .., "shape": ..} of "a [size] color shape" words."""
    sizes = {"small", "large"}
    claim = {}
    if words and words[0] in sizes:
        claim["size"] = words.pop(0)
    if len(words) != 2:
        raise ValueError(f"not an object phrase: {' '.join(words)!r}")
    claim["color"], claim["shape"] = words
    return claim


def mismatch(claim: dict[str, str], objects: list[dict]) -> set[str] | None:
    """Attributes of ``claim`` that some object fails on *alone*; None when one matches it all."""
    if any(all(o[k] == v for k, v in claim.items()) for o in objects):
        return None
    return {k for o in objects for k in claim
            if o[k] != claim[k] and all(o[j] == claim[j] for j in claim if j != k)}


def object_family(claim: dict[str, str], objects: list[dict]) -> str | None:
    """Family a false object claim falsifies; None when an object matches it (claim is true).

    The attributes of the claim that some object of the scene fails on *alone* (it matches
    every other stated attribute) are the candidates (``mismatch``): one → that family; none
    (no object shares all but one attribute, e.g. neither the colour nor the shape is in the
    scene) → ``existence``; several (a binding: a red circle and a blue star for "a red star")
    → ``color`` (the colour of the scene put on another object's shape).
    """
    off = mismatch(claim, objects)
    if off is None:
        return None
    if not off:
        return "existence"
    if len(off) == 1:
        return next(iter(off))
    return "color"


def snli_ve_family(hypothesis: str, scene: dict) -> str:
    """Family a contradiction hypothesis falsifies, from its text and the scene graph.

    Forms: "There is/are <number> …" → count; "The X is <relation> the Y." → relation;
    "There is a [size] color shape in the picture." → ``object_family``.

    Raises:
        ValueError: a hypothesis of no known form, or an object claim that is true.
    """
    h = hypothesis.strip().rstrip(".")
    words = h.split()
    if len(words) > 2 and words[0] == "There" and words[1] in ("is", "are") and words[2] in _NUM:
        return "count"
    if words[0] == "The" and _REL.search(h):
        return "relation"
    m = re.fullmatch(r"There is an? (.+) in the picture", h)
    if m:
        fam = object_family(_object_claim(m.group(1).split(), scene), scene["objects"])
        if fam is None:
            raise ValueError(f"contradiction {hypothesis!r} is true of its scene")
        return fam
    raise ValueError(f"no contrast family for SNLI-VE hypothesis {hypothesis!r}")


def table(records: list[dict]) -> dict:
    """Counts and shares per task and family.

    Args:
        records: ``{"task": one of TASK_KEYS, "family": one of FAMILIES, ...}`` per contrast.

    Returns:
        ``{task: {"n": N, "counts": {family: n}, "share": {family: % (2 dp)}}}`` over the tasks
        present, every family listed (0 when absent).
    """
    out = {}
    for task in TASK_KEYS:
        c = Counter(r["family"] for r in records if r["task"] == task)
        n = sum(c.values())
        if not n:
            continue
        out[task] = {"n": n, "counts": {f: c[f] for f in FAMILIES},
                     "share": {f: round(100.0 * c[f] / n, 2) for f in FAMILIES}}
    return out


def read_contrasts(root, split: str) -> dict[str, dict[str, str]] | None:
    """The family of each instance of a world's ``contrasts_<split>.jsonl``, per task key.

    Returns:
        ``{task key: {instance id (str): family}}``; an instance whose contrasts disagree (a
        VCR question with wrong answers of two families) gets ``"mixed"``. None when ``root``
        has no such file (a real dataset).
    """
    import json
    from pathlib import Path

    path = Path(root) / f"contrasts_{split}.jsonl"
    if not path.is_file():
        return None
    out: dict[str, dict[str, str]] = {}
    with open(path) as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                fams = out.setdefault(str(r["task"]), {})
                key = str(r["id"])
                fams[key] = r["family"] if fams.get(key, r["family"]) == r["family"] else "mixed"
    return out


def format_table(contrast: dict) -> str:
    """Markdown table: one row per task, one column per family (share %, count)."""
    head = "| task | n | " + " | ".join(FAMILIES) + " |"
    lines = [head, "|" + "---|" * (len(FAMILIES) + 2)]
    for task, t in contrast.items():
        if task not in TASK_KEYS:
            continue
        cells = [f"{t['share'][f]:.1f}" for f in FAMILIES]
        lines.append(f"| {task} | {t['n']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
