"""Answer-prior baselines of the synthetic tasks: always predict the most frequent train answer.

Scores are percentages on the evaluation split, in the ``metrics.json`` convention. VQA uses the
official soft accuracy (``fgalign.metrics.vqa_accuracy``: each of the 10 humans left out in turn,
``min(1, matches / 3)``, averaged, after the official answer normalisation).
"""
from __future__ import annotations

from collections import Counter

from fgalign.metrics import vqa_accuracy


def vqa_prior(train_ann: list[dict], test_ann: list[dict]) -> dict:
    """Most frequent train answer (overall, and per answer type) scored on the test split."""
    top = Counter(a["multiple_choice_answer"] for a in train_ann).most_common(1)[0][0]
    by_type: dict[str, Counter] = {}
    for a in train_ann:
        by_type.setdefault(a["answer_type"], Counter())[a["multiple_choice_answer"]] += 1
    type_top = {t: c.most_common(1)[0][0] for t, c in sorted(by_type.items())}
    gts = [[x["answer"] for x in a["answers"]] for a in test_ann]
    score = sum(vqa_accuracy(top, g) for g in gts) / max(len(gts), 1)
    typed = sum(vqa_accuracy(type_top.get(a["answer_type"], top), g)
                for a, g in zip(test_ann, gts)) / max(len(gts), 1)
    return {"prediction": top, "score": round(100 * score, 2),
            "by_answer_type": {"prediction": type_top, "score": round(100 * typed, 2)}}


def label_prior(train_labels: list, test_labels: list) -> dict:
    """Most frequent train label, accuracy (%) on the test labels."""
    top = Counter(train_labels).most_common(1)[0][0]
    acc = sum(t == top for t in test_labels) / max(len(test_labels), 1)
    return {"prediction": top, "score": round(100 * acc, 2)}


def vcr_prior(train: list[dict], test: list[dict]) -> dict:
    """Q→A, QA→R and Q→AR accuracy (%) of always choosing the most frequent train labels."""
    qa = label_prior([r["answer_label"] for r in train], [r["answer_label"] for r in test])
    qar = label_prior([r["rationale_label"] for r in train], [r["rationale_label"] for r in test])
    both = sum(r["answer_label"] == qa["prediction"] and r["rationale_label"] == qar["prediction"]
               for r in test) / max(len(test), 1)
    return {"prediction": {"answer_label": qa["prediction"], "rationale_label": qar["prediction"]},
            "score": qa["score"], "q2a": qa["score"], "qa2r": qar["score"],
            "q2ar": round(100 * both, 2)}
