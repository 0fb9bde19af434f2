"""VQA as image-statement matching: answer vocabulary, answer-type filter, statements, results.

    ctx = prepare_vqa(train_rows, vocab_size=100)            # driver side, plain data
    rows = add_vqa_statements(rows, ctx, converter, type_filter=True)

Adds to each row: ``candidates`` (answers kept for the question, each the raw spelling
annotators used most for its normalised class, so a prediction is credited by the official
evaluator), ``statements`` (one per
candidate), ``cand_group`` (all 0), ``labels`` ([index of the candidate with the highest VQA
accuracy] or [-1]), ``answer_type_inferred`` and ``question_prefix`` (first two words). The
answer type of a question is inferred from its words, never from its own annotation: the
longest official question type (``question_type``, e.g. "what time", "how many people are")
it starts with gives the answer type train annotators' questions of that type had most often
(``prepare_vqa``), else word rules. An answer's types follow the official answer types too:
every ``answer_type`` of the train questions whose humans gave it, plus the rule type
(``answer_type_of``: "2", "2.5", "1,000", "10:30", "1/2" are number-like), so the type filter
never removes an answer humans gave to questions of that answer type or of that question type.
A filter leaving no candidate keeps the whole vocabulary.

Yes/no by verification (``tasks.vqa.yes_no="threshold"``): CLIP-style matching cannot read
negation, so "no" is scored not by its negated statement but by a threshold θ on the
affirmative statement's fused score: "yes" wins when the affirmative scores above θ. θ per
variant and question prefix is the (1 - P(yes)) quantile of the affirmative scores of the
*unlabelled* val questions, P(yes) being the train answer prior of that prefix.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np

from fgalign.metrics import normalize_answer, vqa_accuracy
from fgalign.tasks.base import question_prefix
from fgalign.variants import variant_column

ANSWER_TYPES = ("yes/no", "number", "other")
YES_NO_STARTS = {"is", "are", "was", "were", "do", "does", "did", "can", "could", "has", "have",
                 "had", "will", "would", "should", "am", "may", "might", "must"}
NUMBER_STARTS = ("how many", "what number", "how much")
NUMBER_WORDS = {"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
                "ten"}


NUMBER_LIKE = re.compile(r"\d+(?:[.,:/]\d+)*")  # 2, 2.5, 1,000 (→ 1000), 10:30, 1/2


def official_question_type(question: str, types: Any) -> str | None:
    """The longest official question type (``question_type`` values, e.g. "what color is the")
    that ``question`` starts with, word by word; None when none does."""
    words = question.lower().replace("?", " ").split()
    for n in range(len(words), 0, -1):
        head = " ".join(words[:n])
        if head in types:
            return head
    return None


def infer_answer_type(question: str, ctx: dict | None = None) -> str:
    """``yes/no`` | ``number`` | ``other`` of a question: the majority official answer type of
    its official question type in train (``ctx["question_types"]`` of ``prepare_vqa``), else
    from its first words."""
    q = question.lower().strip()
    words = q.split()
    if not words:
        return "other"
    types = (ctx or {}).get("question_types") or {}
    qt = official_question_type(q, types) if types else None
    if qt is not None:
        return types[qt]
    if q.startswith(NUMBER_STARTS):
        return "number"
    if words[0] in YES_NO_STARTS and " or " not in q:
        return "yes/no"
    return "other"


def answer_class(answer: str) -> str:
    """The normalised answer class of a raw answer (official VQA normalisation: punctuation,
    lower case, number words → digits, articles dropped, contractions)."""
    return normalize_answer(str(answer))


def answer_type_of(answer: str) -> str:
    """The answer type an answer (raw or normalised) belongs to: ``"Two"`` → number."""
    a = answer_class(answer)
    if a in ("yes", "no"):
        return "yes/no"
    if NUMBER_LIKE.fullmatch(a) or NUMBER_LIKE.fullmatch(_clean(answer)) or a in NUMBER_WORDS:
        # the class, or the raw form when normalising split it ("1/2" → "1 2")
        return "number"
    return "other"


def majority_answer(answers: list[str]) -> str:
    """Most frequent normalised answer *class* of one question's human answers (ties: first
    seen); ``""`` for none. A class, not a prediction: see ``raw_spellings``."""
    norm = [answer_class(a) for a in answers]
    return Counter(norm).most_common(1)[0][0] if norm else ""


def _clean(answer: str) -> str:
    """What the official evaluator compares when the ten answers agree: tabs and newlines as
    spaces, stripped (GT-Vision-Lab/VQA ``vqaEval.py``)."""
    return str(answer).replace("\n", " ").replace("\t", " ").strip()


def raw_spellings(rows: list[dict]) -> dict[str, str]:
    """Normalised class → its most frequent raw spelling over every human answer of ``rows``.

    The official evaluator normalises neither the prediction nor the ten answers when all ten
    are identical, so a candidate must be spelled as annotators spell it ("t-shirt", not the
    class "t shirt"). Ties: the form equal to its own lower case first, then the
    lexicographically smallest (deterministic for any row order).
    """
    counts: dict[str, Counter] = {}
    for r in rows:
        if r.get("error"):
            continue
        for a in r["target"] or ():
            raw = _clean(a)
            counts.setdefault(answer_class(raw), Counter())[raw] += 1
    return {k: min(c.items(), key=lambda kv: (-kv[1], kv[0] != kv[0].lower(), kv[0]))[0]
            for k, c in counts.items()}


def prepare_vqa(train_rows: list[dict], vocab_size: int, prefix_min: int = 10) -> dict[str, Any]:
    """Answer vocabulary: the ``vocab_size`` most frequent majority answer classes of the train
    split, each spelled as its most frequent raw form (``raw_spellings``), so that every
    candidate, and so every prediction, is a string the official evaluator can credit.

    Also, per question prefix (first two words) asked at least ``prefix_min`` times in train,
    the vocabulary answers some human gave to it (``candidates_for(..., prefix_filter=True)``);
    and from the official annotations (``question_type``, ``answer_type``, when the rows carry
    them): each answer's official answer types, each question type's majority answer type and
    the answers humans gave to it (``candidates_for(..., type_filter=True)``).

    Returns:
        ``{"answer_vocab": [raw str], "answer_classes": [normalised str], "answer_counts":
        [int], "answer_types": [str], "answer_type_sets": [[str]], "prefix_answers": {prefix:
        [raw str]}, "question_types": {question type: answer type}, "question_type_answers":
        {question type: [raw str]}}``; count ties keep the order of first occurrence.

    Raises:
        ValueError: no train question has a human answer.
    """
    pairs = [(question_prefix(r["text"]), majority_answer(r["target"])) for r in train_rows
             if not r.get("error") and r["target"]]  # (prefix, answer class) per question
    counts = Counter(a for _, a in pairs)
    counts.pop("", None)
    if not counts:
        raise ValueError("VQA answer vocabulary: the train split has no annotated question")
    top = counts.most_common(vocab_size)
    spell = raw_spellings(train_rows)
    raw = {k: spell[k] for k, _ in top}
    asked = Counter(p for p, _ in pairs)
    by_prefix: dict[str, set[str]] = {}
    official: dict[str, set[str]] = {}  # answer class → official answer types it was given for
    qtype_answers: dict[str, set[str]] = {}  # official question type → raw answers given
    qtype_atypes: dict[str, Counter] = {}  # official question type → its answer types
    for r in train_rows:
        if r.get("error") or not r["target"]:
            continue
        given = {answer_class(a) for a in r["target"]} & set(raw)  # every human answer
        p = question_prefix(r["text"])
        if asked[p] >= prefix_min and given:
            by_prefix.setdefault(p, set()).update(raw[a] for a in given)
        qt, at = str(r.get("question_type") or ""), str(r.get("answer_type") or "")
        if at:
            for a in given:
                official.setdefault(a, set()).add(at)
        if qt:
            qtype_answers.setdefault(qt, set()).update(raw[a] for a in given)
            if at:
                qtype_atypes.setdefault(qt, Counter())[at] += 1
    return {"answer_vocab": [raw[a] for a, _ in top], "answer_classes": [a for a, _ in top],
            "answer_counts": [n for _, n in top],
            "answer_types": [answer_type_of(a) for a, _ in top],
            "answer_type_sets": [sorted(official.get(a, set()) | {answer_type_of(a)})
                                 for a, _ in top],
            "prefix_answers": {p: sorted(v) for p, v in sorted(by_prefix.items())},
            "question_types": {q: c.most_common(1)[0][0] for q, c in sorted(qtype_atypes.items())},
            "question_type_answers": {q: sorted(v) for q, v in sorted(qtype_answers.items())}}


def candidates_for(question: str, ctx: dict, type_filter: bool, prefix_filter: bool = False
                   ) -> tuple[list[str], str]:
    """Answer candidates (raw spellings) of one question and its inferred answer type.

    ``type_filter`` keeps the vocabulary answers of the inferred answer type (any of an
    answer's ``answer_type_sets``) and every answer humans gave in train to the question's
    official question type; ``prefix_filter`` then keeps those given in train to questions of
    the same prefix ("what color" → colours, not shapes or sizes), when that prefix was asked
    often enough in train and one survives.
    """
    qtype = infer_answer_type(question, ctx)
    vocab = ctx["answer_vocab"]
    kept = list(vocab)
    if type_filter:
        sets = ctx.get("answer_type_sets") or [[t] for t in ctx["answer_types"]]
        qt_answers = ctx.get("question_type_answers") or {}
        qt = official_question_type(question, qt_answers) if qt_answers else None
        given = set(qt_answers.get(qt, ())) if qt else set()
        kept = [a for a, ts in zip(vocab, sets) if qtype in ts or a in given] or kept
    if prefix_filter:
        seen = set((ctx.get("prefix_answers") or {}).get(question_prefix(question), ()))
        kept = [a for a in kept if a in seen] or kept
    return kept, qtype


def class_index(candidates: list[str], cls: str) -> int:
    """Index of the first candidate whose normalised class is ``cls`` ("Yes" for "yes"), or -1."""
    return next((i for i, c in enumerate(candidates) if answer_class(c) == cls), -1)


def gold_index(candidates: list[str], answers: list[str]) -> int:
    """Index of the candidate with the highest VQA accuracy (-1 if none scores > 0)."""
    if not answers or not candidates:
        return -1
    acc = [vqa_accuracy(c, answers) for c in candidates]
    best = int(np.argmax(acc))
    return best if acc[best] > 0 else -1


def add_vqa_statements(rows: list[dict], ctx: dict, converter: Callable, type_filter: bool,
                       prefix_filter: bool = False) -> list[dict]:
    """Fill ``candidates``, ``statements``, ``cand_group``, ``labels`` (see module docstring)."""
    ok = [r for r in rows if not r.get("error")]
    for r in rows:
        r["candidates"], r["statements"], r["cand_group"], r["labels"] = [], [], [], [-1]
        r["answer_type_inferred"], r["question_prefix"] = "", question_prefix(r["text"])
    for r in ok:
        r["candidates"], r["answer_type_inferred"] = candidates_for(r["text"], ctx, type_filter,
                                                                    prefix_filter)
    if ok:
        for r, stmts in zip(ok, converter([r["text"] for r in ok], [r["candidates"] for r in ok])):
            r["statements"] = stmts
            r["cand_group"] = [0] * len(stmts)
            r["labels"] = [gold_index(r["candidates"], r["target"])]
    return rows


def yes_prior(train_rows: list[dict], ctx: dict | None = None) -> dict[str, float]:
    """P(majority answer = yes) per question prefix over yes/no-typed train questions (typed
    as ``infer_answer_type`` with the VQA context ``ctx`` types them)."""
    counts: dict[str, list[int]] = {}
    for r in train_rows:
        if r.get("error") or not r["target"] or infer_answer_type(r["text"], ctx) != "yes/no":
            continue
        c = counts.setdefault(question_prefix(r["text"]), [0, 0])
        c[0] += majority_answer(r["target"]) == "yes"
        c[1] += 1
    return {k: yes / n for k, (yes, n) in counts.items()}


def fit_yes_no(rows: list[dict], variants: list[str], p_yes: dict[str, float],
               min_rows: int = 10) -> dict[str, dict[str, float]]:
    """θ per variant and prefix (``"*"``: all prefixes) from scored, unlabelled val rows."""
    yn = [r for r in rows if not r.get("error") and r["answer_type_inferred"] == "yes/no"
          and class_index([str(c) for c in r["candidates"]], "yes") >= 0]
    overall = float(np.mean(list(p_yes.values()))) if p_yes else 0.5
    out: dict[str, dict[str, float]] = {}
    for v in variants:
        aff = {}
        for r in yn:
            yes = class_index([str(c) for c in r["candidates"]], "yes")
            s = np.asarray(r[variant_column(v)], np.float32)[yes]
            aff.setdefault(str(r["question_prefix"]), []).append(float(s))
        all_s = [x for xs in aff.values() for x in xs]
        th = {"*": float(np.quantile(all_s, 1 - overall))} if all_s else {}
        for k, xs in aff.items():
            if len(xs) >= min_rows:
                th[k] = float(np.quantile(xs, 1 - p_yes.get(k, overall)))
        out[v] = th
    return out


def apply_yes_no(fused: np.ndarray, row: dict, theta: dict[str, float]) -> np.ndarray:
    """``fused`` (C,) with the "no" candidate scored θ (yes/no questions only)."""
    no = class_index([str(c) for c in row["candidates"]], "no")
    if str(row.get("answer_type_inferred")) != "yes/no" or no < 0 or not theta:
        return fused
    fused = fused.copy()
    fused[no] = theta.get(str(row.get("question_prefix")), theta["*"])
    return fused


def prior_scores(candidates: list[str], ctx: dict) -> np.ndarray:
    """Answer-prior score of each candidate: its train frequency (C,) float32."""
    freq = dict(zip(ctx["answer_vocab"], ctx["answer_counts"]))
    return np.asarray([freq.get(c, 0) for c in candidates], np.float32)


def tag_filter_mask(candidates: list[str], answer_type: str, region_tags: list[str]
                    ) -> np.ndarray:
    """Candidates of an ``other`` question that name a word of some region tag: (C,) bool.

    Other answer types, and a question where no candidate matches, keep every candidate.
    """
    keep = np.ones(len(candidates), bool)
    if answer_type != "other":
        return keep
    words = {w for t in region_tags for w in str(t).lower().split()}
    hit = np.asarray([bool((set(c.lower().split()) | set(answer_class(c).split())) & words)
                      for c in candidates], bool)  # "T-Shirt" names tag "shirt"
    return hit if hit.any() else keep


def results_json(rows: list[dict], preds: list[int]) -> list[dict]:
    """Official VQA results format ``[{"question_id", "answer"}]`` ("" for failed rows)."""
    out = []
    for r, p in zip(rows, preds):
        ok = not r.get("error") and 0 <= p < len(r["candidates"])
        out.append({"question_id": int(r["question_id"]),
                    "answer": r["candidates"][p] if ok else ""})
    return out


_normalize = lru_cache(maxsize=100_000)(normalize_answer)  # pure; answers repeat a lot


@lru_cache(maxsize=20_000)
def _given(answers: tuple[str, ...]) -> frozenset[str]:
    """The normalised answers humans gave to one question."""
    return frozenset(_normalize(a) for a in answers)


@lru_cache(maxsize=200_000)
def _vqa_credit(candidate: str, answers: tuple[str, ...]) -> float:
    return vqa_accuracy(candidate, list(answers))


def vqa_credit(candidates: list[str], answers: list[str]) -> np.ndarray:
    """Official VQA accuracy of each candidate: (C,) float32 in [0, 1] (zeros: unannotated).

    A candidate no human gave (even after normalisation) has accuracy 0 without running the
    metric; the answers are normalised once per question, not once per candidate.
    """
    if not answers:
        return np.zeros(len(candidates), np.float32)
    key = tuple(str(a) for a in answers)
    given = _given(key)
    return np.asarray([_vqa_credit(str(c), key) if _normalize(str(c)) in given else 0.0
                       for c in candidates], np.float32)
